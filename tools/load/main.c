/* ringbus-load: a load generator for any NATS server (subcommands pubsub,
 * reqrep, pub, sub); see docs/LOAD.md. */
#include <stdio.h>
#include <string.h>

#include "tools/load/flags.h"
#include "tools/load/run.h"

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
		load_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		load_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--help_man")) { /* the build writes ringbus-load.1 */
		load_flags_man(stdout);
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
	load_usage(stderr);
	return 2;
}
