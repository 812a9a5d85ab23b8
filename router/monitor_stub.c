/* Stand-in for router/monitor.c while it is being written: -m is refused. */
#include <errno.h>
#include <stddef.h>

#include "core/log.h"
#include "router/monitor.h"

int monitor_start(struct server *s, const char *host, int port, struct monitor **out)
{
	(void)s;
	(void)host;
	(void)port;
	*out = NULL;
	log_error("monitoring is not built into this binary");
	return -ENOTSUP;
}

void monitor_stop(struct monitor *m)
{
	(void)m;
}
