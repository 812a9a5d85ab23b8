/* The monitoring HTTP endpoint (-m PORT): /varz, /connz, /subsz, /healthz,
 * /accountz, ringbus's own /shardz, /ioz, /admissionz, and /metrics in
 * Prometheus text format. Runs on its own thread (libmicrohttpd), off the
 * hot path; reads the server only through stats_collect(). */
#ifndef ROUTER_MONITOR_MONITOR_H
#define ROUTER_MONITOR_MONITOR_H

#include "core/compiler.h"

struct server;
struct monitor;

/* Starts serving on @host:@port. Returns 0 and *@out, or -errno after
 * logging why. */
RB_MUST_CHECK int monitor_start(struct server *s, const char *host, int port, struct monitor **out);

/* Stops serving and frees @m. NULL is a no-op. */
void monitor_stop(struct monitor *m);

#endif /* ROUTER_MONITOR_MONITOR_H */
