/* The monitoring HTTP endpoint (-m PORT): /varz, /connz, /subsz, /healthz,
 * /accountz, /routez, /leafz, ringbus's own /shardz, /ioz, /admissionz,
 * /servicez, /metrics in Prometheus text format, and the dashboard's page
 * (/dashboard, built into the binary; its figures come over WebSocket from
 * $SYS.RINGBUS.<id>.STATS). Runs on its own thread (libmicrohttpd), off the
 * hot path; reads the server through stats_collect(), the route manager's
 * tables and the generation of the settings it holds (and the WebSocket
 * listener's address for the dashboard). */
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
