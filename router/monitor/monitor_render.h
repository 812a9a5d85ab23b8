/* The bodies of the monitoring endpoints, rendered from a statistics snapshot
 * (router/stats.h). Pure functions: no I/O, no clock, no global state, so any
 * thread may call them and tests feed them hand-filled snapshots. Field names
 * follow nats-server 2.9's /varz, /connz, /subsz and /accountz where the
 * concept is the same, so dashboards made for nats-server read them. */
#ifndef ROUTER_MONITOR_MONITOR_RENDER_H
#define ROUTER_MONITOR_MONITOR_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "router/monitor/stats.h"

/* Figures of the process that a snapshot does not hold; the caller reads them
 * (router/monitor.c from /proc). Borrowed by the renderers. */
struct monitor_proc {
	uint64_t rss_bytes;    /* resident memory */
	double cpu_percent;    /* of one core, since the previous sample */
	double cpu_seconds;    /* user + system since the process started */
	int cores;             /* online CPUs */
	const char *http_host; /* where monitoring listens; may be NULL */
	int http_port;
};

/* /connz orders, named as nats-server names them (plus ringbus's "drops"). */
enum monitor_sort {
	MONITOR_SORT_CID = 0, /* ascending */
	MONITOR_SORT_START,   /* ascending */
	MONITOR_SORT_SUBS,    /* descending from here on, unless noted */
	MONITOR_SORT_PENDING,
	MONITOR_SORT_MSGS_TO,
	MONITOR_SORT_MSGS_FROM,
	MONITOR_SORT_BYTES_TO,
	MONITOR_SORT_BYTES_FROM,
	MONITOR_SORT_LAST,   /* most recent activity first */
	MONITOR_SORT_IDLE,   /* longest idle first */
	MONITOR_SORT_UPTIME, /* shortest uptime first, as nats-server */
	MONITOR_SORT_DROPS,
};

/* nats-server's default page size. */
#define MONITOR_CONNZ_LIMIT 1024

/* The query of one /connz request. */
struct monitor_connz_opts {
	uint64_t offset;
	uint64_t limit;
	enum monitor_sort sort;
	bool auth; /* each connection's authorized_user and account */
	int acc;   /* 0: every connection; n + 1: those of account n; -1: an unknown one (none) */
};

/* The raw values of a /connz query (borrowed; NULL or "" when absent). */
struct monitor_connz_query {
	const char *offset;
	const char *limit;
	const char *sort;
	const char *auth;
};

/* Fills @o from @q. As nats-server: a negative offset is 0, a limit of 0 or
 * less is MONITOR_CONNZ_LIMIT, auth is a boolean as Go's strconv.ParseBool
 * reads one ("1", "t", "true", "0", "f", "false", ...). Returns 0, or -EINVAL
 * with a message for the client in @err (@cap bytes, NUL-terminated). */
RB_MUST_CHECK int monitor_connz_parse(const struct monitor_connz_query *q,
                                      struct monitor_connz_opts *o, char *err, size_t cap);

/* Each renderer borrows @st (and @p) and returns 0 with *@out, a heap
 * NUL-terminated body that the caller frees with free(), or -ENOMEM. */

/* /varz: the server, its settings and totals. */
RB_MUST_CHECK int monitor_render_varz(const struct stats *st, const struct monitor_proc *p,
                                      char **out);

/* /connz: one page of st->conns in the order @o asks for (ties by cid). */
RB_MUST_CHECK int monitor_render_connz(const struct stats *st, const struct monitor_connz_opts *o,
                                       char **out);

/* /accountz: the accounts' names, or with @name (borrowed; NULL or "": the
 * names) the detail of that account, which needs st->account_figures.
 * Returns -ENOENT when there is no account @name (nats-server answers 400
 * "Account NAME does not exist"). */
RB_MUST_CHECK int monitor_render_accountz(const struct stats *st, const char *name, char **out);

/* /subsz: the subscription index, summed over the shards. */
RB_MUST_CHECK int monitor_render_subsz(const struct stats *st, char **out);

/* /shardz, /ioz, /admissionz: ringbus's own, one object per part. */
RB_MUST_CHECK int monitor_render_shardz(const struct stats *st, char **out);
RB_MUST_CHECK int monitor_render_ioz(const struct stats *st, char **out);
RB_MUST_CHECK int monitor_render_admissionz(const struct stats *st, char **out);
/* /servicez: queue groups as services (router/service.h). */
RB_MUST_CHECK int monitor_render_servicez(const struct stats *st, char **out);

/* /metrics: Prometheus text exposition format 0.0.4. */
RB_MUST_CHECK int monitor_render_metrics(const struct stats *st, const struct monitor_proc *p,
                                         char **out);

/* Writes @wall_ns (CLOCK_REALTIME) as nats-server writes times: RFC 3339 in
 * UTC with the nanoseconds' trailing zeros dropped
 * ("2024-01-02T03:04:05.1234Z", or no fraction at all when it is zero) into
 * @buf (@cap bytes, at least 32 for the whole). Returns the length. */
size_t monitor_fmt_time(uint64_t wall_ns, char *buf, size_t cap);

/* Writes a duration as nats-server writes uptimes: whole seconds split into
 * "1y2d3h4m5s" with leading zero units left out ("0s", "59s", "1m0s"). Returns
 * the length. */
size_t monitor_fmt_uptime(uint64_t ns, char *buf, size_t cap);

/* Writes @s as the inside of a Prometheus label value (backslash, double
 * quote and line feed escaped). Returns the length it needs, as snprintf;
 * @buf is NUL-terminated when @cap > 0. */
size_t monitor_prom_escape(const char *s, char *buf, size_t cap);

/* Names of the kinds of bytes held (struct stats' bytes_held_by). */
extern const char *const monitor_held_kinds[STATS_HELD_KINDS];

#endif /* ROUTER_MONITOR_MONITOR_RENDER_H */
