/* The ringbus binary: the settings, -t, --signal, logging, the pid file,
 * and the server until it stops. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "router/conf/config.h"
#include "router/server.h"
#include "router/sigcmd.h"

/* -t / --check-config: nats-server's words, on stderr; warnings fail it, as
 * there. */
static int main_check(const struct config *cfg)
{
	if (cfg->warnings) {
		fprintf(stderr, "ringbus: configuration file %s has %d warning%s\n",
		        cfg->config_file, cfg->warnings, cfg->warnings == 1 ? "" : "s");
		return 1;
	}
	/* on stderr, as nats-server's */
	fprintf(stderr, "ringbus: configuration file %s is valid\n", cfg->config_file);
	return 0;
}

/* Logging as configured. Returns 0 or 1 (exit status) after saying why. */
static int main_logging(const struct config *cfg)
{
	if (cfg->trace)
		log_set_level(LOG_TRACE);
	else if (cfg->debug)
		log_set_level(LOG_DEBUG);
	log_set_time(cfg->logtime);
	int ret = cfg->log_file ? log_open(cfg->log_file) : 0;
	if (ret) {
		fprintf(stderr, "ringbus: cannot open log file %s: %s\n", cfg->log_file,
		        strerror(-ret));
		return 1;
	}
	return 0;
}

/* Writes the pid file as nats-server does: the bare number, no newline. */
static int main_write_pid(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%d", (int)getpid()) < 0 || fclose(f) != 0) {
		log_error("Could not write pidfile: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* No fastbins: freed small chunks are merged as they are freed, not all
	 * at once by the next large allocation (malloc_consolidate), which
	 * after a connection with a million subscriptions closed held up
	 * whichever thread allocated next for a quarter of a second. */
	mallopt(M_MXFAST, 0);
	/* Keep freed memory in the arenas (SERVER_ARENA_KEEP, router/server.h)
	 * instead of glibc's 128 KiB: each free trimmed the thread's arena
	 * (MADV_DONTNEED) and the next allocation faulted the pages in again,
	 * zeroed: 9% of the server's time at 1->1 1 KiB (docs/PERFORMANCE.md).
	 * Fixing the trim threshold turns off the adaptive mmap threshold, so
	 * that one is fixed too: output buffers up to 4 MiB come from the
	 * arenas. */
	mallopt(M_TRIM_THRESHOLD, (int)SERVER_ARENA_KEEP);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	struct config cfg;
	config_init(&cfg);
	int ret = config_parse_args(&cfg, argc, argv);
	if (ret == 0 && cfg.signal) {
		ret = sigcmd_send(cfg.signal, cfg.pid_file) ? 1 : 0;
		config_fini(&cfg);
		return ret;
	}
	if (ret == 0)
		ret = config_validate(&cfg);
	if (ret != 0 || cfg.check_config) {
		int status = ret < 0 ? 1 : ret == 0 ? main_check(&cfg) : 0;
		config_fini(&cfg);
		return status;
	}
	if (main_logging(&cfg)) {
		config_fini(&cfg);
		return 1;
	}
	server_block_signals();
	srandom((unsigned)getpid());
	config_log(&cfg);
	char *pid_file = cfg.pid_file ? strdup(cfg.pid_file) : NULL;

	struct server *s;
	ret = server_new(&cfg, &s);
	config_fini(&cfg);
	if (ret || (pid_file && main_write_pid(pid_file))) {
		if (!ret)
			server_free(s);
		free(pid_file);
		return 1;
	}
	server_set_args(s, argc, argv);
	ret = server_run(s);
	server_free(s);
	if (pid_file)
		unlink(pid_file);
	free(pid_file);
	log_info("stopped");
	return ret ? 1 : 0;
}
