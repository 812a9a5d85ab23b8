/* /metrics: the snapshot in Prometheus text exposition format 0.0.4. Every
 * family has its HELP and TYPE lines before its samples; counters end in
 * _total; per-shard, per-I/O-thread, per-account and per-policy series carry
 * a label. */
#include "router/monitor/monitor_render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/service.h"

#define NS_PER_S 1000000000u

/* A growing text buffer. Owner: one renderer call. */
struct monitor_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

RB_PRINTF(2, 3) static void monitor_buf_printf(struct monitor_buf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

size_t monitor_prom_escape(const char *s, char *buf, size_t cap)
{
	size_t n = 0, w = 0; /* needed, written: an escape that does not fit ends the copy */
	for (; *s; s++) {
		const char *rep = NULL;
		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '"')
			rep = "\\\"";
		else if (*s == '\n')
			rep = "\\n";
		size_t k = rep ? 2 : 1;
		if (w == n && n + k < cap) {
			memcpy(buf + n, rep ? rep : s, k);
			w += k;
		}
		n += k;
	}
	if (cap)
		buf[w] = '\0';
	return n;
}

/* Writes the HELP and TYPE lines of one family. */
static void monitor_family(struct monitor_buf *b, const char *name, const char *type,
                           const char *help)
{
	monitor_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample with an unsigned value; @labels ("" or "{...}") already escaped. */
static void monitor_u64(struct monitor_buf *b, const char *name, const char *labels, uint64_t v)
{
	monitor_buf_printf(b, "%s%s %" PRIu64 "\n", name, labels, v);
}

/* One sample of nanoseconds, written in seconds with every digit kept. */
static void monitor_secs(struct monitor_buf *b, const char *name, const char *labels, uint64_t ns)
{
	monitor_buf_printf(b, "%s%s %" PRIu64 ".%09" PRIu64 "\n", name, labels, ns / NS_PER_S,
	                   ns % NS_PER_S);
}

/* How a table entry reads its field. */
enum monitor_field { MF_U64, MF_U32, MF_NS };

/* One family of a per-part table. */
struct monitor_metric {
	const char *name;
	const char *type;
	const char *help;
	size_t offset;
	enum monitor_field field;
};

#define MM(n, t, h, s, f, k)                                                                       \
	{                                                                                          \
		"ringbus_" n, t, h, offsetof(struct s, f), k                                       \
	}

static const struct monitor_metric monitor_shard_metrics[] = {
    MM("shard_queue_batches", "gauge", "Message batches waiting in the shard's ring.", stats_shard,
       queue_batches, MF_U64),
    MM("shard_msgs_total", "counter", "Messages matched by the shard.", stats_shard, msgs, MF_U64),
    MM("shard_deliveries_total", "counter", "Deliveries produced by the shard.", stats_shard,
       deliveries, MF_U64),
    MM("shard_batches_total", "counter", "Batches the shard has run.", stats_shard, batches,
       MF_U64),
    MM("shard_inline_runs_total", "counter",
       "Batches run by an I/O thread instead of the shard's worker.", stats_shard, inline_runs,
       MF_U64),
    MM("shard_busy_seconds_total", "counter", "Time spent running the shard.", stats_shard, busy_ns,
       MF_NS),
    MM("shard_subscriptions", "gauge",
       "Subscriptions in the shard's index (wildcards are in every shard).", stats_shard,
       subscriptions, MF_U64),
    MM("shard_sub_inserts_total", "counter", "Subscriptions inserted into the shard's index.",
       stats_shard, sub_inserts, MF_U64),
    MM("shard_sub_removes_total", "counter", "Subscriptions removed from the shard's index.",
       stats_shard, sub_removes, MF_U64),
    MM("shard_matches_total", "counter", "Subject lookups in the shard's index.", stats_shard,
       matches, MF_U64),
    MM("shard_cache_hits_total", "counter", "Lookups answered by the shard's match cache.",
       stats_shard, cache_hits, MF_U64),
};

static const struct monitor_metric monitor_io_metrics[] = {
    MM("io_connections", "gauge",
       "Connections open on the I/O thread (clients, route and leaf links).", stats_io, connections,
       MF_U32),
    MM("io_connections_total", "counter", "Client connections accepted by the I/O thread.",
       stats_io, total_connections, MF_U64),
    MM("io_recv_completions_total", "counter", "Receive completions reaped.", stats_io,
       recv_completions, MF_U64),
    MM("io_send_completions_total", "counter", "Send completions reaped.", stats_io,
       send_completions, MF_U64),
    MM("io_in_bytes_total", "counter", "Bytes received from clients.", stats_io, bytes_in, MF_U64),
    MM("io_out_bytes_total", "counter", "Bytes sent to clients.", stats_io, bytes_out, MF_U64),
    MM("io_in_msgs_total", "counter", "Messages published by the thread's clients.", stats_io,
       in_msgs, MF_U64),
    MM("io_out_msgs_total", "counter", "Messages delivered to the thread's clients.", stats_io,
       out_msgs, MF_U64),
    MM("io_enobufs_total", "counter", "Multishot receives ended for want of provided buffers.",
       stats_io, enobufs, MF_U64),
    MM("io_lent_buffers_total", "counter",
       "Receive buffers kept until the payloads left in them were delivered.", stats_io, lent,
       MF_U64),
    MM("io_wakeups_total", "counter", "Cross-thread wake-ups received.", stats_io, wakeups, MF_U64),
    MM("io_slow_consumers_total", "counter", "Clients closed as slow consumers.", stats_io,
       slow_consumers, MF_U64),
};

static const struct monitor_metric monitor_adm_metrics[] = {
    MM("admission_admitted_total", "counter", "Messages admitted while a mark was crossed.",
       stats_admission, admitted, MF_U64),
    MM("admission_deferred_total", "counter", "Publisher pauses.", stats_admission, deferred,
       MF_U64),
    MM("admission_deferred_seconds_total", "counter", "Time publishers were paused.",
       stats_admission, deferred_ns, MF_NS),
    MM("admission_dropped_new_total", "counter", "Messages dropped on arrival.", stats_admission,
       dropped_new, MF_U64),
    MM("admission_dropped_old_total", "counter", "Queued messages dropped to make room.",
       stats_admission, dropped_old, MF_U64),
    MM("admission_busy_replies_total", "counter", "Dropped requests answered with status 503.",
       stats_admission, busy_replies, MF_U64),
    MM("admission_stalls_total", "counter",
       "Subscribers that stopped holding publishers back: no progress for defer_max.",
       stats_admission, stalls, MF_U64),
    MM("admission_no_progress_closes_total", "counter",
       "Subscribers closed for no progress in write_deadline.", stats_admission, no_progress,
       MF_U64),
    MM("admission_disconnects_total", "counter", "Subscribers closed by the policy.",
       stats_admission, disconnects, MF_U64),
    MM("admission_high_crossings_total", "counter", "Times a high-water mark was crossed.",
       stats_admission, high_crossings, MF_U64),
};

static const struct monitor_metric monitor_svc_metrics[] = {
    MM("service_members", "gauge", "Queue subscriptions of the service.", svc_view, members,
       MF_U32),
    MM("service_max_inflight", "gauge", "Requests a member holds at the most (0: no limit).",
       svc_view, limit, MF_U32),
    MM("service_requests_total", "counter", "Requests handed to members.", svc_view, requests,
       MF_U64),
    MM("service_replies_total", "counter", "Replies members published.", svc_view, replies, MF_U64),
    MM("service_outstanding", "gauge", "Requests in flight at the members.", svc_view, outstanding,
       MF_U64),
    MM("service_waiting", "gauge", "Requests waiting at the router for a member.", svc_view,
       waiting, MF_U64),
    MM("service_queued_total", "counter", "Requests that waited at the router.", svc_view, queued,
       MF_U64),
    MM("service_busy_total", "counter", "Requests answered busy (503): every member full.",
       svc_view, busy, MF_U64),
    MM("service_expired_total", "counter", "Requests without a reply within request_expiry.",
       svc_view, expired, MF_U64),
    MM("service_abandoned_total", "counter",
       "Requests in flight when their member left (closed or unsubscribed).", svc_view, abandoned,
       MF_U64),
};

/* The reply latency of each service, as a Prometheus histogram. */
static void monitor_svc_hist(struct monitor_buf *b, const struct stats *st)
{
	static const char name[] = "ringbus_service_reply_seconds";
	monitor_family(b, name, "histogram",
	               "Time from a request's delivery to a member to its reply, as the router "
	               "sees it.");
	for (size_t i = 0; i < st->nservices; i++) {
		const struct svc_view *v = &st->services[i];
		char svc[160];
		monitor_prom_escape(v->name, svc, sizeof(svc));
		uint64_t cum = 0;
		for (uint32_t k = 0; k <= SVC_BUCKETS; k++) {
			cum += v->lat_bucket[k];
			if (k < SVC_BUCKETS)
				monitor_buf_printf(
				    b, "%s_bucket{service=\"%s\",le=\"%g\"} %" PRIu64 "\n", name,
				    svc, svc_bucket_us[k] / 1e6, cum);
			else
				monitor_buf_printf(
				    b, "%s_bucket{service=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name,
				    svc, cum);
		}
		monitor_buf_printf(b, "%s_sum{service=\"%s\"} %.6f\n", name, svc,
		                   (double)v->lat_sum_us / 1e6);
		monitor_buf_printf(b, "%s_count{service=\"%s\"} %" PRIu64 "\n", name, svc, cum);
	}
}

/* Writes every family of @tab for @n parts laid out @stride bytes apart from
 * @base, labelled @label="<index>" or, with @names, @label="<escaped name>"
 * where the name is a string at offset @name_off of each part. */
static void monitor_table(struct monitor_buf *b, const struct monitor_metric *tab, size_t ntab,
                          const void *base, size_t stride, int n, const char *label,
                          size_t name_off, bool names)
{
	for (size_t m = 0; m < ntab; m++) {
		monitor_family(b, tab[m].name, tab[m].type, tab[m].help);
		for (int i = 0; i < n; i++) {
			const char *part = (const char *)base + (size_t)i * stride;
			char val[160], labels[192];
			if (names)
				monitor_prom_escape(part + name_off, val, sizeof(val));
			else
				snprintf(val, sizeof(val), "%d", i);
			snprintf(labels, sizeof(labels), "{%s=\"%s\"}", label, val);
			const char *f = part + tab[m].offset;
			if (tab[m].field == MF_U32) {
				uint32_t v;
				memcpy(&v, f, sizeof(v));
				monitor_u64(b, tab[m].name, labels, v);
			} else {
				uint64_t v;
				memcpy(&v, f, sizeof(v));
				if (tab[m].field == MF_NS)
					monitor_secs(b, tab[m].name, labels, v);
				else
					monitor_u64(b, tab[m].name, labels, v);
			}
		}
	}
}

/* Families of one unlabelled sample. */
static void monitor_one(struct monitor_buf *b, const char *name, const char *type, const char *help,
                        uint64_t v)
{
	monitor_family(b, name, type, help);
	monitor_u64(b, name, "", v);
}

static void monitor_server(struct monitor_buf *b, const struct stats *st,
                           const struct monitor_proc *p)
{
	char id[160], ver[96];
	monitor_prom_escape(st->server_id ? st->server_id : "", id, sizeof(id));
	/* ringbus's own version here; the one clients see is in /varz */
	const char *v = st->ringbus_version ? st->ringbus_version : st->version;
	monitor_prom_escape(v ? v : "", ver, sizeof(ver));
	monitor_family(b, "ringbus_info", "gauge",
	               "Constant 1, labelled with the server's identity.");
	monitor_buf_printf(b, "ringbus_info{server_id=\"%s\",version=\"%s\"} 1\n", id, ver);
	monitor_family(b, "ringbus_start_time_seconds", "gauge",
	               "Start of the server, seconds since the Unix epoch.");
	monitor_secs(b, "ringbus_start_time_seconds", "", st->start_ns);
	monitor_one(b, "ringbus_connections", "gauge", "Client connections open.", st->connections);
	monitor_one(b, "ringbus_routes", "gauge", "Cluster routes registered.", st->routes);
	monitor_one(b, "ringbus_leafnodes", "gauge", "Leaf node connections joined to hubs.",
	            st->leafnodes);
	monitor_one(b, "ringbus_connections_total", "counter", "Client connections accepted.",
	            st->total_connections);
	monitor_one(b, "ringbus_in_msgs_total", "counter", "Messages published by clients.",
	            st->in_msgs);
	monitor_one(b, "ringbus_out_msgs_total", "counter", "Messages delivered to clients.",
	            st->out_msgs);
	monitor_one(b, "ringbus_in_bytes_total", "counter", "Bytes received from clients.",
	            st->in_bytes);
	monitor_one(b, "ringbus_out_bytes_total", "counter", "Bytes sent to clients.",
	            st->out_bytes);
	monitor_one(b, "ringbus_slow_consumers_total", "counter",
	            "Clients closed as slow consumers.", st->slow_consumers);
	monitor_one(b, "ringbus_permission_violations_total", "counter",
	            "Publishes and subscriptions refused by permissions.", st->perm_violations);
	monitor_one(b, "ringbus_subscriptions", "gauge",
	            "Subscriptions of the open connections (each counted once).",
	            st->subscriptions);
	monitor_one(b, "ringbus_bytes_held", "gauge",
	            "Bytes held for messages: batches, output buffers, TLS relays (the "
	            "process admission mark's measure).",
	            st->bytes_held);
	monitor_family(b, "ringbus_bytes_held_by_kind", "gauge",
	               "Bytes held for messages by where they are; stash (input read by "
	               "paused connections) is outside the process mark.");
	for (int k = 0; k < STATS_HELD_KINDS; k++) {
		char labels[48];
		snprintf(labels, sizeof(labels), "{kind=\"%s\"}", monitor_held_kinds[k]);
		monitor_u64(b, "ringbus_bytes_held_by_kind", labels, st->bytes_held_by[k]);
	}
	monitor_one(b, "ringbus_max_connections", "gauge", "Configured connection limit.",
	            st->max_connections);
	monitor_one(b, "ringbus_max_payload_bytes", "gauge", "Configured largest message payload.",
	            st->max_payload);
	monitor_one(b, "ringbus_process_resident_memory_bytes", "gauge",
	            "Resident memory of the process.", p->rss_bytes);
	monitor_family(b, "ringbus_process_cpu_seconds_total", "counter",
	               "User and system CPU time of the process.");
	monitor_buf_printf(b, "ringbus_process_cpu_seconds_total %.6f\n", p->cpu_seconds);
}

/* Per-account gauges, when accounts { } are configured and counted. */
static void monitor_accounts(struct monitor_buf *b, const struct stats *st)
{
	static const char *const names[] = {"ringbus_account_connections",
	                                    "ringbus_account_subscriptions"};
	static const char *const helps[] = {"Client connections open in the account.",
	                                    "Subscriptions of the account's client connections."};
	if (st->naccounts < 2 || !st->account_figures)
		return;
	for (size_t m = 0; m < RB_ARRAY_LEN(names); m++) {
		monitor_family(b, names[m], "gauge", helps[m]);
		for (int i = 0; i < st->naccounts; i++) {
			const struct stats_account *a = &st->accounts[i];
			if (a->gone)
				continue;
			char name[160], labels[192];
			monitor_prom_escape(a->name ? a->name : "", name, sizeof(name));
			snprintf(labels, sizeof(labels), "{account=\"%s\"}", name);
			monitor_u64(b, names[m], labels, m ? a->subscriptions : a->connections);
		}
	}
}

int monitor_render_metrics(const struct stats *st, const struct monitor_proc *p, char **out)
{
	struct monitor_buf b = {.cap = 16384};
	b.p = malloc(b.cap);
	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';
	monitor_server(&b, st, p);
	monitor_table(&b, monitor_io_metrics, RB_ARRAY_LEN(monitor_io_metrics), st->io,
	              sizeof(*st->io), st->nio, "io", 0, false);
	monitor_table(&b, monitor_shard_metrics, RB_ARRAY_LEN(monitor_shard_metrics), st->shards,
	              sizeof(*st->shards), st->nshards, "shard", 0, false);
	monitor_accounts(&b, st);
	if (st->nadmission > 0) {
		monitor_family(&b, "ringbus_admission_policy_info", "gauge",
		               "Constant 1 per admission policy, labelled with its action.");
		for (int i = 0; i < st->nadmission; i++) {
			char name[160], action[48];
			monitor_prom_escape(st->admission[i].name, name, sizeof(name));
			monitor_prom_escape(st->admission[i].action, action, sizeof(action));
			monitor_buf_printf(
			    &b, "ringbus_admission_policy_info{policy=\"%s\",action=\"%s\"} 1\n",
			    name, action);
		}
		monitor_table(&b, monitor_adm_metrics, RB_ARRAY_LEN(monitor_adm_metrics),
		              st->admission, sizeof(*st->admission), st->nadmission, "policy",
		              offsetof(struct stats_admission, name), true);
	}
	if (st->nservices > 0) {
		monitor_table(&b, monitor_svc_metrics, RB_ARRAY_LEN(monitor_svc_metrics),
		              st->services, sizeof(*st->services), (int)st->nservices, "service",
		              offsetof(struct svc_view, name), true);
		monitor_svc_hist(&b, st);
	}
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	return 0;
}
