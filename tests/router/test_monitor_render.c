/* The monitoring renderers on hand-filled snapshots: nats-server's time and
 * duration formats, /connz's query, order and paging, every JSON endpoint's
 * fields, and /metrics through the Prometheus format checker (itself tested
 * here on texts it must refuse). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "router/monitor/monitor_render.h"
#include "router/service.h"
#include "tests/router/prom_check.h"
#include "tests/json_member.h"

#define S        1000000000ull
#define T0       1700000000ull /* 2023-11-14T22:13:20Z */
#define BIG_CID  UINT64_C(0x0100000100000002)
#define NCONNS   5
#define NSHARDS  3
#define NIO      2
#define NPOLICY  2
#define ODD_NAME "orders.\"x\"\\y\nz"

/* ---- formats ---- */

struct time_case {
	uint64_t ns;
	const char *want;
};

static const struct time_case time_cases[] = {
    {0, "1970-01-01T00:00:00Z"},
    {1, "1970-01-01T00:00:00.000000001Z"},
    {1500000000ull, "1970-01-01T00:00:01.5Z"},
    {T0 * S, "2023-11-14T22:13:20Z"},
    {T0 * S + 123456789, "2023-11-14T22:13:20.123456789Z"},
    {T0 * S + 120000000, "2023-11-14T22:13:20.12Z"},
};

Test(monitor_render, times_are_rfc3339_utc_with_trailing_zeros_dropped)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(time_cases); i++) {
		char buf[48];
		size_t n = monitor_fmt_time(time_cases[i].ns, buf, sizeof(buf));
		cr_expect_str_eq(buf, time_cases[i].want, "%" PRIu64 " ns", time_cases[i].ns);
		cr_expect_eq(n, strlen(time_cases[i].want));
	}
}

static const struct time_case uptime_cases[] = {
    {0, "0s"},
    {999999999, "0s"},
    {59 * S + 999, "59s"},
    {60 * S, "1m0s"},
    {3600 * S, "1h0m0s"},
    {3723 * S + S / 2, "1h2m3s"},
    {86400 * S + 3661 * S, "1d1h1m1s"},
    {365 * 86400 * S, "1y0d0h0m0s"},
    {(366 * 86400 + 7) * S, "1y1d0h0m7s"},
};

Test(monitor_render, uptimes_are_written_as_nats_server_writes_them)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(uptime_cases); i++) {
		char buf[48];
		monitor_fmt_uptime(uptime_cases[i].ns, buf, sizeof(buf));
		cr_expect_str_eq(buf, uptime_cases[i].want, "%" PRIu64 " ns", uptime_cases[i].ns);
	}
}

struct escape_case {
	const char *in;
	const char *want;
};

static const struct escape_case escape_cases[] = {
    {"", ""},           {"orders.>", "orders.>"}, {"a\"b", "a\\\"b"},
    {"a\\b", "a\\\\b"}, {"a\nb", "a\\nb"},        {"\xc3\xa9\t", "\xc3\xa9\t"},
};

Test(monitor_render, label_values_escape_backslash_quote_and_line_feed)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(escape_cases); i++) {
		char buf[64];
		size_t n = monitor_prom_escape(escape_cases[i].in, buf, sizeof(buf));
		cr_expect_str_eq(buf, escape_cases[i].want);
		cr_expect_eq(n, strlen(escape_cases[i].want));
	}
	char small[4];
	cr_expect_eq(monitor_prom_escape("a\"b\"", small, sizeof(small)), 6);
	cr_expect_eq(strlen(small), 3, "truncated, still terminated");
}

/* ---- /connz query ---- */

struct parse_case {
	const char *offset, *limit, *sort;
	int ret;
	uint64_t want_offset, want_limit;
	enum monitor_sort want_sort;
	const char *err_has; /* text the 400 message must contain */
};

static const struct parse_case parse_cases[] = {
    {NULL, NULL, NULL, 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_CID, NULL},
    {"", "", "", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_CID, NULL},
    {"3", "2", "msgs_to", 0, 3, 2, MONITOR_SORT_MSGS_TO, NULL},
    {"-5", "0", "cid", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_CID, NULL},
    {"+7", "-1", "start", 0, 7, MONITOR_CONNZ_LIMIT, MONITOR_SORT_START, NULL},
    {NULL, "9223372036854775807", "subs", 0, 0, 9223372036854775807ull, MONITOR_SORT_SUBS, NULL},
    {NULL, NULL, "pending", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_PENDING, NULL},
    {NULL, NULL, "msgs_from", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_MSGS_FROM, NULL},
    {NULL, NULL, "bytes_to", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_BYTES_TO, NULL},
    {NULL, NULL, "bytes_from", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_BYTES_FROM, NULL},
    {NULL, NULL, "last", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_LAST, NULL},
    {NULL, NULL, "idle", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_IDLE, NULL},
    {NULL, NULL, "uptime", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_UPTIME, NULL},
    {NULL, NULL, "drops", 0, 0, MONITOR_CONNZ_LIMIT, MONITOR_SORT_DROPS, NULL},
    {"x", NULL, NULL, -EINVAL, 0, 0, 0, "'offset'"},
    {NULL, "x", NULL, -EINVAL, 0, 0, 0, "'limit'"},
    {NULL, "2.5", NULL, -EINVAL, 0, 0, 0, "'limit'"},
    {NULL, " 3", NULL, -EINVAL, 0, 0, 0, "'limit'"},
    {NULL, "-", NULL, -EINVAL, 0, 0, 0, "'limit'"},
    {NULL, "9223372036854775808", NULL, -EINVAL, 0, 0, 0, "'limit'"},
    {NULL, NULL, "bogus", -EINVAL, 0, 0, 0, "invalid sorting option: bogus"},
    {NULL, NULL, "CID", -EINVAL, 0, 0, 0, "invalid sorting option: CID"},
    {NULL, NULL, "rtt", -EINVAL, 0, 0, 0, "invalid sorting option: rtt"},
    {NULL, NULL, "stop", -EINVAL, 0, 0, 0, "only valid on closed connections"},
    {NULL, NULL, "reason", -EINVAL, 0, 0, 0, "only valid on closed connections"},
};

Test(monitor_render, connz_query_takes_nats_server_defaults_and_refuses_bad_values)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct monitor_connz_opts o;
		char err[160] = "";
		const struct monitor_connz_query q = {c->offset, c->limit, c->sort, NULL};
		int r = monitor_connz_parse(&q, &o, err, sizeof(err));
		cr_expect_eq(r, c->ret, "case %zu: returned %d", i, r);
		if (r != 0) {
			cr_expect(strstr(err, c->err_has) != NULL, "case %zu: message '%s'", i,
			          err);
			continue;
		}
		cr_expect_eq(o.offset, c->want_offset, "case %zu offset", i);
		cr_expect_eq(o.limit, c->want_limit, "case %zu limit", i);
		cr_expect_eq(o.sort, c->want_sort, "case %zu sort", i);
	}
}

/* ---- a hand-filled snapshot ---- */

static struct stats_conn fx_conns[NCONNS];
static struct stats_shard fx_shards[NSHARDS];
static struct stats_io fx_io[NIO];
static struct stats_admission fx_adm[NPOLICY];
static struct svc_view fx_svc[1] = {{.name = "svc.req workers",
                                     .members = 4,
                                     .limit = 8,
                                     .requests = 10,
                                     .replies = 7,
                                     .busy = 2,
                                     .expired = 1,
                                     .abandoned = 3,
                                     .outstanding = 2,
                                     .lat_sum_us = 7000,
                                     .lat_bucket = {1, 2, 4}}};

/* Values chosen so that every sort order is distinct (see connz_sorts). */
static void fx_conn(int i, uint64_t cid, uint64_t start_s, uint64_t last_s, uint32_t subs,
                    uint64_t pending, uint64_t out_msgs, uint64_t in_msgs, uint64_t out_bytes,
                    uint64_t in_bytes, uint64_t drops, const char *name)
{
	struct stats_conn *c = &fx_conns[i];
	memset(c, 0, sizeof(*c));
	c->cid = cid;
	snprintf(c->ip, sizeof(c->ip), "127.0.0.%d", i + 1);
	c->port = (uint16_t)(1000 + i);
	c->start_ns = (T0 + start_s) * S;
	c->last_activity_ns = (T0 + last_s) * S;
	c->subscriptions = subs;
	c->pending_bytes = pending;
	c->out_msgs = out_msgs;
	c->in_msgs = in_msgs;
	c->out_bytes = out_bytes;
	c->in_bytes = in_bytes;
	c->drops = drops;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->lang, sizeof(c->lang), "%s", name[0] ? "C" : "");
	snprintf(c->version, sizeof(c->version), "%s", name[0] ? "3.4.1" : "");
}

static struct stats fixture(void)
{
	fx_conn(0, 5, 100, 900, 2, 10, 40, 1, 400, 700, 0, "c0");
	fx_conn(1, BIG_CID, 300, 500, 7, 0, 10, 30, 1000, 300, 5, "c\"1\\\xc3\xa9");
	fx_conn(2, 3, 200, 950, 0, 50, 20, 20, 200, 200, 1, "c2");
	fx_conn(3, 9, 500, 700, 4, 30, 0, 10, 0, 100, 0, "");
	fx_conn(4, 7, 400, 600, 4, 20, 30, 0, 300, 0, 9, "c4");
	for (int i = 0; i < NSHARDS; i++) {
		uint64_t k = (uint64_t)i + 1;
		fx_shards[i] = (struct stats_shard){.queue_batches = k,
		                                    .msgs = 100 * k,
		                                    .deliveries = 200 * k,
		                                    .batches = 10 * k,
		                                    .inline_runs = 5 * k,
		                                    .busy_ns = k * S / 2,
		                                    .subscriptions = 3 * k,
		                                    .sub_inserts = 4 * k,
		                                    .sub_removes = k,
		                                    .matches = 50 * k,
		                                    .cache_hits = 25 * k};
	}
	for (int i = 0; i < NIO; i++) {
		uint64_t k = (uint64_t)i + 1;
		fx_io[i] = (struct stats_io){.connections = (uint32_t)(2 * k),
		                             .total_connections = 10 * k,
		                             .recv_completions = 1000 * k,
		                             .send_completions = 900 * k,
		                             .bytes_in = 12345 * k,
		                             .bytes_out = 54321 * k,
		                             .enobufs = 3 * k,
		                             .lent = 5 * k,
		                             .wakeups = 77 * k,
		                             .in_msgs = 111 * k,
		                             .out_msgs = 222 * k,
		                             .slow_consumers = k};
	}
	for (int i = 0; i < NPOLICY; i++) {
		uint64_t k = (uint64_t)i + 1;
		fx_adm[i] = (struct stats_admission){.admitted = 1 * k,
		                                     .deferred = 2 * k,
		                                     .deferred_ns = 3 * k * S,
		                                     .dropped_new = 4 * k,
		                                     .dropped_old = 5 * k,
		                                     .busy_replies = 6 * k,
		                                     .disconnects = 7 * k,
		                                     .high_crossings = 8 * k};
	}
	snprintf(fx_adm[0].name, sizeof(fx_adm[0].name), "default");
	snprintf(fx_adm[0].action, sizeof(fx_adm[0].action), "disconnect");
	snprintf(fx_adm[1].name, sizeof(fx_adm[1].name), "%s", ODD_NAME);
	snprintf(fx_adm[1].action, sizeof(fx_adm[1].action), "drop-new");
	return (struct stats){
	    .now_ns = (T0 + 3723) * S + S / 2,
	    .start_ns = T0 * S,
	    .server_id = "NTESTSERVERID",
	    .version = "0.1.0",
	    .host = "127.0.0.1",
	    .port = 4222,
	    .max_payload = 1048576,
	    .max_pending = 67108864,
	    .max_connections = 65536,
	    .ping_interval_ms = 120000,
	    .ping_max = 2,
	    .in_msgs = 333,
	    .in_bytes = 4444,
	    .out_msgs = 555,
	    .out_bytes = 6666,
	    .connections = 6,
	    .total_connections = 30,
	    .slow_consumers = 3,
	    .subscriptions = 18,
	    .bytes_held = 8192,
	    .bytes_held_by = {4096, 2048, 1536, 512},
	    .nio = NIO,
	    .io = fx_io,
	    .nshards = NSHARDS,
	    .shards = fx_shards,
	    .nadmission = NPOLICY,
	    .admission = fx_adm,
	    .nservices = 1,
	    .services = fx_svc,
	    .nconns = NCONNS,
	    .conns = fx_conns,
	};
}

static const struct monitor_proc fx_proc = {
    .rss_bytes = 123456789,
    .cpu_percent = 12.5,
    .cpu_seconds = 3.25,
    .cores = 2,
    .http_host = "127.0.0.1",
    .http_port = 8222,
};

/* Parses a rendered body, freeing it. */
static cJSON *parse_body(char *body)
{
	cr_assert_not_null(body);
	cJSON *j = cJSON_Parse(body);
	cr_assert_not_null(j, "not JSON: %s", body);
	free(body);
	return j;
}

Test(monitor_render, varz_has_nats_server_fields_and_units)
{
	struct stats st = fixture();
	char *body = NULL;
	cr_assert_eq(monitor_render_varz(&st, &fx_proc, &body), 0);
	cJSON *j = parse_body(body);
	cr_expect_str_eq(str(j, "server_id"), "NTESTSERVERID");
	cr_expect_str_eq(str(j, "version"), "0.1.0");
	cr_expect_str_eq(str(j, "host"), "127.0.0.1");
	cr_expect_eq(num(j, "port"), 4222);
	cr_expect_eq(num(j, "max_payload"), 1048576);
	cr_expect_eq(num(j, "max_pending"), 67108864);
	cr_expect_eq(num(j, "max_connections"), 65536);
	cr_expect_eq(num(j, "ping_interval"), 120e9, "nanoseconds, as nats-server");
	cr_expect_eq(num(j, "ping_max"), 2);
	cr_expect_str_eq(str(j, "start"), "2023-11-14T22:13:20Z");
	cr_expect_str_eq(str(j, "now"), "2023-11-14T23:15:23.5Z");
	cr_expect_str_eq(str(j, "uptime"), "1h2m3s");
	cr_expect_eq(num(j, "connections"), 6);
	cr_expect_eq(num(j, "total_connections"), 30);
	cr_expect_eq(num(j, "in_msgs"), 333);
	cr_expect_eq(num(j, "out_msgs"), 555);
	cr_expect_eq(num(j, "in_bytes"), 4444);
	cr_expect_eq(num(j, "out_bytes"), 6666);
	cr_expect_eq(num(j, "slow_consumers"), 3);
	cr_expect_eq(num(j, "subscriptions"), 18);
	cr_expect_eq(num(j, "mem"), 123456789);
	cr_expect_eq(num(j, "cores"), 2);
	cr_expect_eq(num(j, "cpu"), 12.5);
	cr_expect_str_eq(str(j, "http_host"), "127.0.0.1");
	cr_expect_eq(num(j, "http_port"), 8222);
	cr_expect_eq(num(j, "io_threads"), NIO);
	cr_expect_eq(num(j, "shards"), NSHARDS);
	cr_expect_eq(num(j, "bytes_held"), 8192);
	cJSON_Delete(j);
}

/* The order of the connections in a /connz body, as fixture indexes (port - 1000). */
static void connz_order(const cJSON *j, int *idx, int *n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "connections");
	cr_assert(cJSON_IsArray(a));
	*n = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, a)
	{
		idx[(*n)++] = (int)num(c, "port") - 1000;
	}
}

struct sort_case {
	enum monitor_sort sort;
	int want[NCONNS];
};

static const struct sort_case sort_cases[] = {
    {MONITOR_SORT_CID, {2, 0, 4, 3, 1}},      {MONITOR_SORT_START, {0, 2, 1, 4, 3}},
    {MONITOR_SORT_SUBS, {1, 4, 3, 0, 2}},     {MONITOR_SORT_PENDING, {2, 3, 4, 0, 1}},
    {MONITOR_SORT_MSGS_TO, {0, 4, 2, 1, 3}},  {MONITOR_SORT_MSGS_FROM, {1, 2, 3, 0, 4}},
    {MONITOR_SORT_BYTES_TO, {1, 0, 4, 2, 3}}, {MONITOR_SORT_BYTES_FROM, {0, 1, 2, 3, 4}},
    {MONITOR_SORT_LAST, {2, 0, 3, 4, 1}},     {MONITOR_SORT_IDLE, {1, 4, 3, 0, 2}},
    {MONITOR_SORT_UPTIME, {3, 4, 1, 2, 0}},   {MONITOR_SORT_DROPS, {4, 1, 2, 0, 3}},
};

Test(monitor_render, connz_sorts_in_every_order_with_ties_by_cid)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(sort_cases); i++) {
		struct stats st = fixture();
		struct monitor_connz_opts o = {.limit = MONITOR_CONNZ_LIMIT,
		                               .sort = sort_cases[i].sort};
		char *body = NULL;
		cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
		cJSON *j = parse_body(body);
		int idx[NCONNS + 1], n;
		connz_order(j, idx, &n);
		cr_assert_eq(n, NCONNS);
		for (int k = 0; k < NCONNS; k++)
			cr_expect_eq(idx[k], sort_cases[i].want[k], "sort %d position %d: conn %d",
			             (int)sort_cases[i].sort, k, idx[k]);
		cJSON_Delete(j);
	}
}

struct page_case {
	uint64_t offset, limit;
	int n;     /* connections in the page */
	int first; /* fixture index of the first, in cid order */
};

static const struct page_case page_cases[] = {
    {0, MONITOR_CONNZ_LIMIT, 5, 2},
    {0, 2, 2, 2},
    {1, 2, 2, 0},
    {3, 10, 2, 3},
    {4, 1, 1, 1},
    {5, 1, 0, -1},
    {99, 5, 0, -1},
};

Test(monitor_render, connz_pages_with_offset_and_limit)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(page_cases); i++) {
		const struct page_case *c = &page_cases[i];
		struct stats st = fixture();
		struct monitor_connz_opts o = {.offset = c->offset, .limit = c->limit};
		char *body = NULL;
		cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
		cJSON *j = parse_body(body);
		cr_expect_eq(num(j, "num_connections"), c->n, "case %zu", i);
		cr_expect_eq(num(j, "total"), NCONNS, "case %zu", i);
		cr_expect_eq(num(j, "offset"), (double)c->offset, "case %zu", i);
		cr_expect_eq(num(j, "limit"), (double)c->limit, "case %zu", i);
		int idx[NCONNS + 1], n;
		connz_order(j, idx, &n);
		cr_expect_eq(n, c->n, "case %zu", i);
		if (n)
			cr_expect_eq(idx[0], c->first, "case %zu", i);
		cJSON_Delete(j);
	}
}

Test(monitor_render, connz_writes_each_connection_exactly)
{
	struct stats st = fixture();
	struct monitor_connz_opts o = {.limit = MONITOR_CONNZ_LIMIT};
	char *body = NULL;
	cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
	/* an id above 2^53 survives: written as exact digits */
	char big[32];
	snprintf(big, sizeof(big), "%" PRIu64, BIG_CID);
	cr_expect(strstr(body, big) != NULL, "cid %s not in %s", big, body);
	cJSON *j = parse_body(body);
	cr_expect_str_eq(str(j, "server_id"), "NTESTSERVERID");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "connections");
	const cJSON *c0 = cJSON_GetArrayItem(a, 1); /* cid 5 */
	cr_expect_eq(num(c0, "cid"), 5);
	cr_expect_str_eq(str(c0, "ip"), "127.0.0.1");
	cr_expect_eq(num(c0, "port"), 1000);
	cr_expect_str_eq(str(c0, "start"), "2023-11-14T22:15:00Z");
	cr_expect_str_eq(str(c0, "last_activity"), "2023-11-14T22:28:20Z");
	cr_expect_str_eq(str(c0, "uptime"), "1h0m23s");
	cr_expect_str_eq(str(c0, "idle"), "47m3s");
	cr_expect_eq(num(c0, "pending_bytes"), 10);
	cr_expect_eq(num(c0, "in_msgs"), 1);
	cr_expect_eq(num(c0, "out_msgs"), 40);
	cr_expect_eq(num(c0, "in_bytes"), 700);
	cr_expect_eq(num(c0, "out_bytes"), 400);
	cr_expect_eq(num(c0, "subscriptions"), 2);
	cr_expect_eq(num(c0, "drops"), 0);
	cr_expect_str_eq(str(c0, "name"), "c0");
	cr_expect_str_eq(str(c0, "lang"), "C");
	cr_expect_str_eq(str(c0, "version"), "3.4.1");
	const cJSON *c1 = cJSON_GetArrayItem(a, 4);
	cr_expect_str_eq(str(c1, "name"), "c\"1\\\xc3\xa9", "escaped and read back");
	const cJSON *c3 = cJSON_GetArrayItem(a, 3); /* cid 9, no name */
	cr_expect_eq(num(c3, "cid"), 9);
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(c3, "name"), "empty name left out");
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(c3, "lang"));
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(c3, "version"));
	cJSON_Delete(j);
}

Test(monitor_render, subsz_sums_the_shards)
{
	struct stats st = fixture();
	char *body = NULL;
	cr_assert_eq(monitor_render_subsz(&st, &body), 0);
	cJSON *j = parse_body(body);
	cr_expect_eq(num(j, "num_subscriptions"), 18);
	cr_expect_eq(num(j, "num_inserts"), 4 * (1 + 2 + 3));
	cr_expect_eq(num(j, "num_removes"), 1 + 2 + 3);
	cr_expect_eq(num(j, "num_matches"), 50 * (1 + 2 + 3));
	cr_expect_eq(num(j, "cache_hit_rate"), 0.5);
	cr_expect(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "num_cache")));
	cJSON_Delete(j);
}

/* The @i-th object of array @key in @j. */
static const cJSON *part(const cJSON *j, const char *key, int i, int n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
	cr_assert(cJSON_IsArray(a), "%s is not an array", key);
	cr_assert_eq(cJSON_GetArraySize(a), n, "%s has %d items", key, cJSON_GetArraySize(a));
	return cJSON_GetArrayItem(a, i);
}

Test(monitor_render, shardz_ioz_admissionz_and_servicez_list_every_part)
{
	struct stats st = fixture();
	char *body = NULL;
	cr_assert_eq(monitor_render_shardz(&st, &body), 0);
	cJSON *j = parse_body(body);
	cr_expect_eq(num(j, "num_shards"), NSHARDS);
	const cJSON *sh = part(j, "shards", 2, NSHARDS);
	cr_expect_eq(num(sh, "shard"), 2);
	cr_expect_eq(num(sh, "queue_batches"), 3);
	cr_expect_eq(num(sh, "msgs"), 300);
	cr_expect_eq(num(sh, "deliveries"), 600);
	cr_expect_eq(num(sh, "batches"), 30);
	cr_expect_eq(num(sh, "inline_runs"), 15);
	cr_expect_eq(num(sh, "busy_ns"), 1.5e9);
	cr_expect_eq(num(sh, "subscriptions"), 9);
	cr_expect_eq(num(sh, "matches"), 150);
	cr_expect_eq(num(sh, "cache_hits"), 75);
	cJSON_Delete(j);

	cr_assert_eq(monitor_render_ioz(&st, &body), 0);
	j = parse_body(body);
	cr_expect_eq(num(j, "num_io_threads"), NIO);
	const cJSON *io = part(j, "io_threads", 1, NIO);
	cr_expect_eq(num(io, "io"), 1);
	cr_expect_eq(num(io, "connections"), 4);
	cr_expect_eq(num(io, "recv_completions"), 2000);
	cr_expect_eq(num(io, "send_completions"), 1800);
	cr_expect_eq(num(io, "in_bytes"), 24690);
	cr_expect_eq(num(io, "out_bytes"), 108642);
	cr_expect_eq(num(io, "enobufs"), 6);
	cr_expect_eq(num(io, "lent_buffers"), 10);
	cr_expect_eq(num(io, "wakeups"), 154);
	cJSON_Delete(j);

	cr_assert_eq(monitor_render_admissionz(&st, &body), 0);
	j = parse_body(body);
	cr_expect_eq(num(j, "num_policies"), NPOLICY);
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(j, "bytes_held_by");
	cr_assert(cJSON_IsObject(by), "bytes_held_by");
	static const char *const kinds[] = {"batches", "output", "stash", "tls"};
	static const double held[] = {4096, 2048, 1536, 512};
	for (size_t i = 0; i < RB_ARRAY_LEN(kinds); i++)
		cr_expect_eq(num(by, kinds[i]), held[i], "bytes_held_by.%s", kinds[i]);
	const cJSON *ad = part(j, "policies", 1, NPOLICY);
	cr_expect_str_eq(str(ad, "name"), ODD_NAME);
	cr_expect_str_eq(str(ad, "action"), "drop-new");
	static const char *const fields[] = {"admitted",      "deferred",     "dropped_new",
	                                     "dropped_old",   "busy_replies", "disconnects",
	                                     "high_crossings"};
	static const double want[] = {2, 4, 8, 10, 12, 14, 16};
	for (size_t i = 0; i < RB_ARRAY_LEN(fields); i++)
		cr_expect_eq(num(ad, fields[i]), want[i], "%s", fields[i]);
	cr_expect_eq(num(ad, "deferred_ns"), 6e9);
	cJSON_Delete(j);

	cr_assert_eq(monitor_render_servicez(&st, &body), 0);
	j = parse_body(body);
	const cJSON *sv = part(j, "services", 0, 1);
	cr_expect_str_eq(str(sv, "subject"), "svc.req");
	cr_expect_str_eq(str(sv, "queue"), "workers");
	static const char *const svc_fields[] = {"requests", "replies",   "busy",
	                                         "expired",  "abandoned", "outstanding"};
	static const double svc_want[] = {10, 7, 2, 1, 3, 2};
	for (size_t i = 0; i < RB_ARRAY_LEN(svc_fields); i++)
		cr_expect_eq(num(sv, svc_fields[i]), svc_want[i], "%s", svc_fields[i]);
	cJSON_Delete(j);
}

static double metric(const char *text, const char *name, const char *labels)
{
	double v = -1;
	cr_assert_eq(prom_value(text, name, labels, &v), 0, "no sample %s{%s}", name, labels);
	return v;
}

Test(monitor_render, metrics_are_valid_prometheus_text_with_the_snapshot_values)
{
	struct stats st = fixture();
	char *text = NULL;
	cr_assert_eq(monitor_render_metrics(&st, &fx_proc, &text), 0);
	char why[256] = "";
	size_t n = 0;
	cr_assert_eq(prom_check(text, why, sizeof(why), &n), 0, "%s\n%s", why, text);
	cr_expect_gt(n, 60);
	cr_expect_eq(metric(text, "ringbus_in_msgs_total", ""), 333);
	cr_expect_eq(metric(text, "ringbus_out_bytes_total", ""), 6666);
	cr_expect_eq(metric(text, "ringbus_connections", ""), 6);
	cr_expect_eq(metric(text, "ringbus_connections_total", ""), 30);
	cr_expect_eq(metric(text, "ringbus_start_time_seconds", ""), (double)T0);
	cr_expect_eq(metric(text, "ringbus_process_resident_memory_bytes", ""), 123456789);
	cr_expect_eq(metric(text, "ringbus_process_cpu_seconds_total", ""), 3.25);
	cr_expect_eq(metric(text, "ringbus_info", "server_id=\"NTESTSERVERID\",version=\"0.1.0\""),
	             1);
	cr_expect_eq(metric(text, "ringbus_shard_busy_seconds_total", "shard=\"2\""), 1.5);
	cr_expect_eq(metric(text, "ringbus_shard_msgs_total", "shard=\"0\""), 100);
	cr_expect_eq(metric(text, "ringbus_io_connections", "io=\"1\""), 4);
	cr_expect_eq(metric(text, "ringbus_io_enobufs_total", "io=\"0\""), 3);
	cr_expect_eq(metric(text, "ringbus_io_lent_buffers_total", "io=\"1\""), 10);
	cr_expect_eq(metric(text, "ringbus_bytes_held_by_kind", "kind=\"stash\""), 1536);
	cr_expect_eq(metric(text, "ringbus_bytes_held_by_kind", "kind=\"tls\""), 512);
	cr_expect_eq(metric(text, "ringbus_admission_dropped_new_total", "policy=\"default\""), 4);
	cr_expect_eq(metric(text, "ringbus_admission_dropped_new_total",
	                    "policy=\"orders.\\\"x\\\"\\\\y\\nz\""),
	             8);
	cr_expect_eq(metric(text, "ringbus_admission_deferred_seconds_total",
	                    "policy=\"orders.\\\"x\\\"\\\\y\\nz\""),
	             6);
	cr_expect_eq(metric(text, "ringbus_service_busy_total", "service=\"svc.req workers\""), 2);
	cr_expect_eq(metric(text, "ringbus_service_abandoned_total", "service=\"svc.req workers\""),
	             3);
	/* the histogram's buckets are cumulative */
	cr_expect_eq(metric(text, "ringbus_service_reply_seconds_bucket",
	                    "service=\"svc.req workers\",le=\"0.001\""),
	             3);
	cr_expect_eq(metric(text, "ringbus_service_reply_seconds_bucket",
	                    "service=\"svc.req workers\",le=\"+Inf\""),
	             7);
	cr_expect_eq(
	    metric(text, "ringbus_service_reply_seconds_count", "service=\"svc.req workers\""), 7);
	free(text);
}

Test(monitor_render, an_empty_snapshot_renders_everywhere)
{
	struct stats st = {.server_id = "N", .version = "0.1.0", .host = "::"};
	struct monitor_proc p = {0};
	char *body = NULL;
	int (*const plain[])(const struct stats *,
	                     char **) = {monitor_render_subsz, monitor_render_shardz,
	                                 monitor_render_ioz, monitor_render_admissionz};
	for (size_t i = 0; i < RB_ARRAY_LEN(plain); i++) {
		cr_assert_eq(plain[i](&st, &body), 0);
		cJSON_Delete(parse_body(body));
	}
	cr_assert_eq(monitor_render_varz(&st, &p, &body), 0);
	cJSON *j = parse_body(body);
	cr_expect_str_eq(str(j, "uptime"), "0s");
	cJSON_Delete(j);
	struct monitor_connz_opts o = {.limit = MONITOR_CONNZ_LIMIT};
	cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
	j = parse_body(body);
	cr_expect_eq(num(j, "total"), 0);
	cJSON_Delete(j);
	cr_assert_eq(monitor_render_metrics(&st, &p, &body), 0);
	char why[256] = "";
	cr_expect_eq(prom_check(body, why, sizeof(why), NULL), 0, "%s", why);
	free(body);
}

/* ---- the checker itself ---- */

#define HG(n, t) "# HELP " n " h\n# TYPE " n " " t "\n"

struct prom_case {
	const char *text;
	const char *why_has; /* NULL: valid */
};

static const struct prom_case prom_cases[] = {
    {HG("a_total", "counter") "a_total 1\n" HG("b", "gauge") "b{x=\"1\",y=\"a\\\"\\\\\\n\"} NaN\n"
                                                             "b{x=\"2\",} +Inf 1700000000000\n"
                                                             "# free comment\n\n"
                                                             "b{x=\"3\"} -1.5e-3\n",
     NULL},
    {"x 1\n", "without HELP and TYPE"},
    {"# TYPE a gauge\na 1\n", "without HELP and TYPE"},
    {"# HELP a h\na 1\n", "without HELP and TYPE"},
    {HG("a_total", "counter") "a_total -1\n", "negative"},
    {HG("a", "counter") "a 1\n", "does not end in _total"},
    {HG("a", "gauge") "a one\n", "not a float"},
    {HG("a", "gauge") "a 0x10\n", "not a float"},
    {HG("a", "gauge") "a\n", "expected a space"},
    {"# HELP 1a h\n", "bad metric name"},
    {HG("a", "gauge") "a{x=\"1\"} 1\na{x=\"1\"} 2\n", "repeated"},
    {HG("a", "gauge") "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n", "repeated"},
    {HG("a", "gauge") "a{x=\"\\q\"} 1\n", "bad escape"},
    {HG("a", "gauge") "a{x=\"1\",x=\"2\"} 1\n", "label x repeated"},
    {HG("a", "gauge") "a{__x=\"1\"} 1\n", "reserved"},
    {HG("a", "gauge") "a{x=1} 1\n", "expected =\""},
    {HG("a", "gauge") "a{x=\"1\" 1\n", "expected , or }"},
    {HG("a", "gauge") "a{1x=\"1\"} 1\n", "bad label name"},
    {HG("a", "gauge") "a 1 x\n", "bad timestamp"},
    {HG("a", "gauge") "a 1 2 3\n", "trailing text"},
    {HG("a", "gauge") "a 1", "line feed"},
    {HG("a", "gauge") "a 1\n" HG("b", "gauge") "b 1\na 2\n", "not contiguous"},
    {"# HELP a h\n# HELP a h\n", "second HELP"},
    {"# TYPE a gauge\n# TYPE a gauge\n", "second TYPE"},
    {"# HELP a h\n# TYPE a widget\n", "unknown TYPE"},
};

Test(monitor_render, prometheus_checker_refuses_what_the_format_forbids)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(prom_cases); i++) {
		char why[256] = "";
		size_t n = 0;
		int r = prom_check(prom_cases[i].text, why, sizeof(why), &n);
		if (!prom_cases[i].why_has) {
			cr_expect_eq(r, 0, "case %zu refused: %s", i, why);
			cr_expect_eq(n, 4, "case %zu samples", i);
		} else {
			cr_expect_neq(r, 0, "case %zu accepted", i);
			cr_expect(strstr(why, prom_cases[i].why_has) != NULL,
			          "case %zu: '%s' lacks '%s'", i, why, prom_cases[i].why_has);
		}
	}
	double v = 0;
	cr_expect_eq(prom_value(prom_cases[0].text, "b", "x=\"3\"", &v), 0);
	cr_expect_eq(v, -1.5e-3);
	cr_expect_neq(prom_value(prom_cases[0].text, "b", "x=\"9\"", &v), 0);
	cr_expect_neq(prom_value(prom_cases[0].text, "c", "", &v), 0);
}
