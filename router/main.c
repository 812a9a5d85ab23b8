/* The ringbus binary: configuration, logging, and the server until a signal. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "router/config.h"
#include "router/server.h"

int main(int argc, char **argv)
{
	/* No fastbins: freed small chunks are merged as they are freed, not all
	 * at once by the next large allocation (malloc_consolidate), which
	 * after a connection with a million subscriptions closed held up
	 * whichever thread allocated next for a quarter of a second. */
	mallopt(M_MXFAST, 0);
	struct config cfg;
	config_init(&cfg);
	int ret = config_parse_args(&cfg, argc, argv);
	if (ret == 0)
		ret = config_validate(&cfg);
	if (ret != 0 || cfg.check_config) {
		if (ret == 0)
			printf("configuration OK\n");
		config_fini(&cfg);
		return ret < 0 ? 1 : 0;
	}

	if (cfg.trace)
		log_set_level(LOG_TRACE);
	else if (cfg.debug)
		log_set_level(LOG_DEBUG);
	if (cfg.log_file && (ret = log_open(cfg.log_file)) != 0) {
		fprintf(stderr, "ringbus: cannot open log file %s: %s\n", cfg.log_file,
		        strerror(-ret));
		config_fini(&cfg);
		return 1;
	}
	config_log(&cfg);

	struct server *s;
	ret = server_new(&cfg, &s);
	config_fini(&cfg);
	if (ret)
		return 1;
	server_set_args(s, argc, argv);
	ret = server_run(s);
	server_free(s);
	log_info("stopped");
	return ret ? 1 : 0;
}
