/* ringbus-load: a load generator for any NATS server (subcommands pubsub,
 * reqrep, pub, sub); see docs/LOAD.md. */
#include <stdio.h>
#include <string.h>

#include "tools/load/flags.h"
#include "tools/load/run.h"

static void usage(FILE *out)
{
	fputs("usage: ringbus-load <command> [options]\n"
	      "Load generator for ringbus and any NATS-protocol server, with honest latency.\n"
	      "commands:\n"
	      "  pubsub   publishers and subscribers in one process (fan-out, queue groups)\n"
	      "  reqrep   request/reply round trips\n"
	      "  pub      publishers only (pair with sub in another process)\n"
	      "  sub      subscribers only\n"
	      "ringbus-load <command> --help lists each command's options.\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum load_mode mode;
	} commands[] = {
	    {"pubsub", LOAD_PUBSUB},
	    {"reqrep", LOAD_REQREP},
	    {"pub", LOAD_PUB},
	    {"sub", LOAD_SUB},
	};
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ringbus-load %s\n", RINGBUS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		struct load_config cfg;
		int rc = load_flags_parse(&cfg, commands[i].mode, argc - 1, argv + 1);
		if (rc)
			return rc > 0 ? 0 : 2;
		return run_main(&cfg);
	}
	fprintf(stderr, "ringbus-load: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
