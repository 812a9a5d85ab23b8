/* JSON bodies of /varz, /subsz, /shardz, /ioz and /admissionz, the time and
 * duration formats nats-server uses, and the JSON helpers of the renderers. */
#include "router/monitor/monitor_render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/monitor/monitor_int.h"
#include "router/service.h"

#define NS_PER_S 1000000000u

size_t monitor_fmt_time(uint64_t wall_ns, char *buf, size_t cap)
{
	time_t secs = (time_t)(wall_ns / NS_PER_S);
	unsigned frac = (unsigned)(wall_ns % NS_PER_S);
	struct tm tm;
	char date[24];
	char digits[16] = "";
	if (!gmtime_r(&secs, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	if (frac) {
		int n = snprintf(digits, sizeof(digits), ".%09u", frac);
		while (n > 1 && digits[n - 1] == '0')
			digits[--n] = '\0';
	}
	int n = snprintf(buf, cap, "%s%sZ", date, digits);
	return n < 0 ? 0 : (size_t)n;
}

size_t monitor_fmt_uptime(uint64_t ns, char *buf, size_t cap)
{
	uint64_t s = ns / NS_PER_S;
	uint64_t m = s / 60, h = m / 60, d = h / 24, y = d / 365;
	int n;
	if (y)
		n = snprintf(buf, cap,
		             "%" PRIu64 "y%" PRIu64 "d%" PRIu64 "h%" PRIu64 "m%" PRIu64 "s", y,
		             d % 365, h % 24, m % 60, s % 60);
	else if (d)
		n = snprintf(buf, cap, "%" PRIu64 "d%" PRIu64 "h%" PRIu64 "m%" PRIu64 "s", d,
		             h % 24, m % 60, s % 60);
	else if (h)
		n = snprintf(buf, cap, "%" PRIu64 "h%" PRIu64 "m%" PRIu64 "s", h, m % 60, s % 60);
	else if (m)
		n = snprintf(buf, cap, "%" PRIu64 "m%" PRIu64 "s", m, s % 60);
	else
		n = snprintf(buf, cap, "%" PRIu64 "s", s);
	return n < 0 ? 0 : (size_t)n;
}

/* ---- JSON helpers (router/monitor_int.h) ---- */

static void monitor_json_check(const void *added, bool *ok)
{
	if (!added)
		*ok = false;
}

void monitor_json_u64(cJSON *o, const char *key, uint64_t v, bool *ok)
{
	char digits[24];
	snprintf(digits, sizeof(digits), "%" PRIu64, v);
	monitor_json_check(cJSON_AddRawToObject(o, key, digits), ok);
}

void monitor_json_i64(cJSON *o, const char *key, int64_t v, bool *ok)
{
	char digits[24];
	snprintf(digits, sizeof(digits), "%" PRId64, v);
	monitor_json_check(cJSON_AddRawToObject(o, key, digits), ok);
}

void monitor_json_num(cJSON *o, const char *key, double v, bool *ok)
{
	monitor_json_check(cJSON_AddNumberToObject(o, key, v), ok);
}

void monitor_json_str(cJSON *o, const char *key, const char *v, bool *ok)
{
	monitor_json_check(cJSON_AddStringToObject(o, key, v ? v : ""), ok);
}

void monitor_json_time(cJSON *o, const char *key, uint64_t wall_ns, bool *ok)
{
	char buf[48];
	monitor_fmt_time(wall_ns, buf, sizeof(buf));
	monitor_json_str(o, key, buf, ok);
}

void monitor_json_uptime(cJSON *o, const char *key, uint64_t ns, bool *ok)
{
	char buf[48];
	monitor_fmt_uptime(ns, buf, sizeof(buf));
	monitor_json_str(o, key, buf, ok);
}

cJSON *monitor_json_begin(const struct stats *st)
{
	cJSON *root = cJSON_CreateObject();
	bool ok = root != NULL;
	if (ok) {
		monitor_json_str(root, "server_id", st->server_id, &ok);
		monitor_json_time(root, "now", st->now_ns, &ok);
	}
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int monitor_json_finish(cJSON *root, bool ok, char **out)
{
	*out = NULL;
	if (root && ok)
		*out = cJSON_Print(root);
	cJSON_Delete(root);
	return *out ? 0 : -ENOMEM;
}

/* ---- endpoints ---- */

static uint64_t monitor_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

int monitor_render_varz(const struct stats *st, const struct monitor_proc *p, char **out)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	if (!ok)
		return monitor_json_finish(o, ok, out);
	monitor_json_str(o, "server_id", st->server_id, &ok);
	monitor_json_str(o, "server_name", st->server_name ? st->server_name : st->server_id, &ok);
	monitor_json_str(o, "version", st->version, &ok);
	if (st->ringbus_version)
		monitor_json_str(o, "ringbus_version", st->ringbus_version, &ok);
	monitor_json_u64(o, "proto", 1, &ok);
	monitor_json_str(o, "host", st->host, &ok);
	monitor_json_i64(o, "port", st->port, &ok);
	monitor_json_u64(o, "max_connections", st->max_connections, &ok);
	/* nats-server writes durations as nanoseconds */
	monitor_json_u64(o, "ping_interval", st->ping_interval_ms * 1000000u, &ok);
	monitor_json_u64(o, "ping_max", st->ping_max, &ok);
	monitor_json_str(o, "http_host", p->http_host, &ok);
	monitor_json_i64(o, "http_port", p->http_port, &ok);
	monitor_json_u64(o, "max_payload", st->max_payload, &ok);
	monitor_json_u64(o, "max_pending", st->max_pending, &ok);
	monitor_json_time(o, "start", st->start_ns, &ok);
	monitor_json_time(o, "now", st->now_ns, &ok);
	monitor_json_uptime(o, "uptime", monitor_since(st->now_ns, st->start_ns), &ok);
	monitor_json_u64(o, "mem", p->rss_bytes, &ok);
	monitor_json_i64(o, "cores", p->cores, &ok);
	monitor_json_num(o, "cpu", p->cpu_percent, &ok);
	monitor_json_u64(o, "connections", st->connections, &ok);
	monitor_json_u64(o, "total_connections", st->total_connections, &ok);
	monitor_json_u64(o, "in_msgs", st->in_msgs, &ok);
	monitor_json_u64(o, "out_msgs", st->out_msgs, &ok);
	monitor_json_u64(o, "in_bytes", st->in_bytes, &ok);
	monitor_json_u64(o, "out_bytes", st->out_bytes, &ok);
	monitor_json_u64(o, "slow_consumers", st->slow_consumers, &ok);
	monitor_json_u64(o, "subscriptions", st->subscriptions, &ok);
	if (st->cluster) {
		cJSON *c = cJSON_AddObjectToObject(o, "cluster");
		ok = ok && c;
		if (c) {
			monitor_json_str(c, "name", st->cluster_name, &ok);
			monitor_json_i64(c, "cluster_port", st->cluster_port, &ok);
		}
	}
	monitor_json_u64(o, "routes", st->routes, &ok);
	monitor_json_u64(o, "leafnodes", st->leafnodes, &ok);
	/* only when configured: nats-server always has one ("$SYS" by default) */
	if (st->system_account)
		monitor_json_str(o, "system_account", st->system_account, &ok);
	/* ringbus's own */
	monitor_json_i64(o, "io_threads", st->nio, &ok);
	monitor_json_i64(o, "shards", st->nshards, &ok);
	monitor_json_u64(o, "bytes_held", st->bytes_held, &ok);
	return monitor_json_finish(o, ok, out);
}

int monitor_render_subsz(const struct stats *st, char **out)
{
	uint64_t inserts = 0, removes = 0, matches = 0, hits = 0;
	for (int i = 0; i < st->nshards; i++) {
		inserts += st->shards[i].sub_inserts;
		removes += st->shards[i].sub_removes;
		matches += st->shards[i].matches;
		hits += st->shards[i].cache_hits;
	}
	cJSON *o = monitor_json_begin(st);
	bool ok = o != NULL;
	if (!ok)
		return monitor_json_finish(o, ok, out);
	monitor_json_u64(o, "num_subscriptions", st->subscriptions, &ok);
	uint64_t cache = 0;
	for (int i = 0; i < st->nshards; i++)
		cache += st->shards[i].cache_entries;
	monitor_json_u64(o, "num_cache", cache, &ok);
	monitor_json_u64(o, "num_inserts", inserts, &ok);
	monitor_json_u64(o, "num_removes", removes, &ok);
	monitor_json_u64(o, "num_matches", matches, &ok);
	monitor_json_num(o, "cache_hit_rate", matches ? (double)hits / (double)matches : 0.0, &ok);
	return monitor_json_finish(o, ok, out);
}

cJSON *monitor_json_array(cJSON *root, const char *key, bool *ok)
{
	cJSON *a = cJSON_AddArrayToObject(root, key);
	monitor_json_check(a, ok);
	return a;
}

cJSON *monitor_json_item(cJSON *a, bool *ok)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		*ok = false;
		return NULL;
	}
	return o;
}

int monitor_render_shardz(const struct stats *st, char **out)
{
	cJSON *root = monitor_json_begin(st);
	bool ok = root != NULL;
	if (ok)
		monitor_json_i64(root, "num_shards", st->nshards, &ok);
	cJSON *a = ok ? monitor_json_array(root, "shards", &ok) : NULL;
	for (int i = 0; ok && i < st->nshards; i++) {
		const struct stats_shard *sh = &st->shards[i];
		cJSON *o = monitor_json_item(a, &ok);
		if (!o)
			break;
		monitor_json_i64(o, "shard", i, &ok);
		monitor_json_u64(o, "queue_batches", sh->queue_batches, &ok);
		monitor_json_u64(o, "msgs", sh->msgs, &ok);
		monitor_json_u64(o, "deliveries", sh->deliveries, &ok);
		monitor_json_u64(o, "batches", sh->batches, &ok);
		monitor_json_u64(o, "inline_runs", sh->inline_runs, &ok);
		monitor_json_u64(o, "busy_ns", sh->busy_ns, &ok);
		monitor_json_u64(o, "subscriptions", sh->subscriptions, &ok);
		monitor_json_u64(o, "sub_inserts", sh->sub_inserts, &ok);
		monitor_json_u64(o, "sub_removes", sh->sub_removes, &ok);
		monitor_json_u64(o, "matches", sh->matches, &ok);
		monitor_json_u64(o, "cache_hits", sh->cache_hits, &ok);
	}
	return monitor_json_finish(root, ok, out);
}

int monitor_render_ioz(const struct stats *st, char **out)
{
	cJSON *root = monitor_json_begin(st);
	bool ok = root != NULL;
	if (ok)
		monitor_json_i64(root, "num_io_threads", st->nio, &ok);
	cJSON *a = ok ? monitor_json_array(root, "io_threads", &ok) : NULL;
	for (int i = 0; ok && i < st->nio; i++) {
		const struct stats_io *io = &st->io[i];
		cJSON *o = monitor_json_item(a, &ok);
		if (!o)
			break;
		monitor_json_i64(o, "io", i, &ok);
		monitor_json_u64(o, "connections", io->connections, &ok);
		monitor_json_u64(o, "total_connections", io->total_connections, &ok);
		monitor_json_u64(o, "recv_completions", io->recv_completions, &ok);
		monitor_json_u64(o, "send_completions", io->send_completions, &ok);
		monitor_json_u64(o, "in_bytes", io->bytes_in, &ok);
		monitor_json_u64(o, "out_bytes", io->bytes_out, &ok);
		monitor_json_u64(o, "in_msgs", io->in_msgs, &ok);
		monitor_json_u64(o, "out_msgs", io->out_msgs, &ok);
		monitor_json_u64(o, "enobufs", io->enobufs, &ok);
		monitor_json_u64(o, "lent_buffers", io->lent, &ok);
		monitor_json_u64(o, "wakeups", io->wakeups, &ok);
		monitor_json_u64(o, "slow_consumers", io->slow_consumers, &ok);
	}
	return monitor_json_finish(root, ok, out);
}

const char *const monitor_held_kinds[STATS_HELD_KINDS] = {"batches", "output", "stash", "tls"};

int monitor_render_admissionz(const struct stats *st, char **out)
{
	cJSON *root = monitor_json_begin(st);
	bool ok = root != NULL;
	if (ok) {
		monitor_json_u64(root, "bytes_held", st->bytes_held, &ok);
		cJSON *by = cJSON_AddObjectToObject(root, "bytes_held_by");
		ok = ok && by;
		for (int k = 0; ok && k < STATS_HELD_KINDS; k++)
			monitor_json_u64(by, monitor_held_kinds[k], st->bytes_held_by[k], &ok);
		monitor_json_i64(root, "num_policies", st->nadmission, &ok);
	}
	cJSON *a = ok ? monitor_json_array(root, "policies", &ok) : NULL;
	for (int i = 0; ok && i < st->nadmission; i++) {
		const struct stats_admission *ad = &st->admission[i];
		cJSON *o = monitor_json_item(a, &ok);
		if (!o)
			break;
		monitor_json_admission(o, ad, &ok);
	}
	return monitor_json_finish(root, ok, out);
}

void monitor_json_admission(cJSON *o, const struct stats_admission *ad, bool *ok)
{
	monitor_json_str(o, "name", ad->name, ok);
	monitor_json_str(o, "action", ad->action, ok);
	monitor_json_u64(o, "admitted", ad->admitted, ok);
	monitor_json_u64(o, "deferred", ad->deferred, ok);
	monitor_json_u64(o, "deferred_ns", ad->deferred_ns, ok);
	monitor_json_u64(o, "dropped_new", ad->dropped_new, ok);
	monitor_json_u64(o, "dropped_old", ad->dropped_old, ok);
	monitor_json_u64(o, "busy_replies", ad->busy_replies, ok);
	monitor_json_u64(o, "stalls", ad->stalls, ok);
	monitor_json_u64(o, "no_progress_closes", ad->no_progress, ok);
	monitor_json_u64(o, "disconnects", ad->disconnects, ok);
	monitor_json_u64(o, "high_crossings", ad->high_crossings, ok);
}

int monitor_render_servicez(const struct stats *st, char **out)
{
	cJSON *root = monitor_json_begin(st);
	bool ok = root != NULL;
	if (ok)
		monitor_json_u64(root, "num_services", st->nservices, &ok);
	cJSON *a = ok ? monitor_json_array(root, "services", &ok) : NULL;
	for (size_t i = 0; ok && i < st->nservices; i++) {
		const struct svc_view *v = &st->services[i];
		cJSON *o = monitor_json_item(a, &ok);
		if (!o)
			break;
		const char *sp = strchr(v->name, ' ');
		char subject[SVC_NAME_MAX];
		snprintf(subject, sizeof(subject), "%.*s", sp ? (int)(sp - v->name) : 0, v->name);
		monitor_json_str(o, "subject", subject, &ok);
		monitor_json_str(o, "queue", sp ? sp + 1 : v->name, &ok);
		monitor_json_u64(o, "members", v->members, &ok);
		monitor_json_u64(o, "max_inflight", v->limit, &ok);
		monitor_json_u64(o, "requests", v->requests, &ok);
		monitor_json_u64(o, "replies", v->replies, &ok);
		monitor_json_i64(o, "outstanding", v->outstanding, &ok);
		monitor_json_i64(o, "waiting", v->waiting, &ok);
		monitor_json_u64(o, "queued", v->queued, &ok);
		monitor_json_u64(o, "busy", v->busy, &ok);
		monitor_json_u64(o, "expired", v->expired, &ok);
		monitor_json_u64(o, "abandoned", v->abandoned, &ok);
		monitor_json_u64(o, "over_limit", v->over, &ok);
		monitor_json_num(o, "reply_p50_ms", v->p50_ms, &ok);
		monitor_json_num(o, "reply_p90_ms", v->p90_ms, &ok);
		monitor_json_num(o, "reply_p99_ms", v->p99_ms, &ok);
	}
	return monitor_json_finish(root, ok, out);
}
