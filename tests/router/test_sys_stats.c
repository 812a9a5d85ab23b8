/* The $SYS.RINGBUS.<id>.STATS document on hand-filled snapshots (fields,
 * exact counters, rates from the previous collection or from the start,
 * "slowest" only when some output is pending), the order STATS_SLOWEST
 * keeps, the one-slot mailbox, the timer, and the stats_interval setting. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "router/monitor/sys_stats.h"
#include "tests/router/config_util.h"
#include "tests/json_member.h"

#define S       1000000000ull
#define T0      1700000000ull /* 2023-11-14T22:13:20Z */
#define NSHARDS 2
#define BIG     UINT64_C(9007199254740993) /* 2^53 + 1: a double would round it */

static struct stats_shard shards[NSHARDS] = {
    {.queue_batches = 3, .msgs = 100, .deliveries = 250},
    {.queue_batches = 0, .msgs = 7, .deliveries = 0},
};
static struct stats_admission policies[1] = {
    {.name = "default", .action = "defer", .admitted = 11, .dropped_new = 2, .disconnects = 1},
};

/* A snapshot 10 s after the start. */
static void fill(struct stats *st)
{
	memset(st, 0, sizeof(*st));
	st->now_ns = (T0 + 10) * S + 500000000;
	st->start_ns = T0 * S;
	st->server_id = "NSERVERID";
	st->server_name = NULL;
	st->version = "2.9.10";
	st->ringbus_version = "0.2.0";
	st->in_msgs = 3000;
	st->out_msgs = BIG;
	st->in_bytes = 30000;
	st->out_bytes = 0;
	st->slow_consumers = 4;
	st->connections = 6;
	st->nshards = NSHARDS;
	st->shards = shards;
	st->nadmission = 1;
	st->admission = policies;
}

static cJSON *render(const struct sys_stats_doc *d)
{
	char *out;
	size_t len;
	cr_assert_eq(sys_stats_render(d, &out, &len), 0);
	cr_assert_eq(len, strlen(out));
	cr_assert_null(strchr(out, '\n'), "one line");
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	free(out);
	return j;
}

Test(sys_stats, document_has_the_fields_named_as_varz_shardz_admissionz)
{
	struct stats st;
	fill(&st);
	struct sys_stats_doc d = {.st = &st, .at_ns = 42 * S, .interval_ms = 1000, .skipped = 3};
	cJSON *j = render(&d);
	cr_expect_str_eq(str(j, "server_id"), "NSERVERID");
	cr_expect_str_eq(str(j, "server_name"), "NSERVERID", "the id when no name is set");
	cr_expect_str_eq(str(j, "version"), "2.9.10");
	cr_expect_str_eq(str(j, "ringbus_version"), "0.2.0");
	cr_expect_str_eq(str(j, "now"), "2023-11-14T22:13:30.5Z");
	cr_expect_eq(num(j, "uptime_s"), 10);
	cr_expect_eq(num(j, "interval_ms"), 1000);
	cr_expect_eq(num(j, "in_msgs"), 3000);
	cr_expect_eq(num(j, "slow_consumers"), 4);
	cr_expect_eq(num(j, "connections"), 6);
	cr_expect_eq(num(j, "skipped"), 3);
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shards");
	cr_assert_eq(cJSON_GetArraySize(sh), NSHARDS);
	const cJSON *s0 = cJSON_GetArrayItem(sh, 0), *s1 = cJSON_GetArrayItem(sh, 1);
	cr_expect_eq(num(s0, "shard"), 0);
	cr_expect_eq(num(s0, "queue_batches"), 3);
	cr_expect_eq(num(s0, "msgs"), 100);
	cr_expect_eq(num(s0, "deliveries"), 250);
	cr_expect_eq(num(s1, "shard"), 1);
	const cJSON *ad = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "admission"), 0);
	cr_assert_not_null(ad);
	cr_expect_str_eq(str(ad, "name"), "default");
	cr_expect_str_eq(str(ad, "action"), "defer");
	cr_expect_eq(num(ad, "admitted"), 11);
	cr_expect_eq(num(ad, "dropped_new"), 2);
	cr_expect_eq(num(ad, "no_progress_closes"), 0);
	cr_expect_eq(num(ad, "disconnects"), 1);
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(j, "slowest"), "none has output pending");
	cJSON_Delete(j);
}

Test(sys_stats, counters_above_2_pow_53_are_exact_digits)
{
	struct stats st;
	fill(&st);
	struct sys_stats_doc d = {.st = &st, .interval_ms = 1000};
	char *out;
	size_t len;
	cr_assert_eq(sys_stats_render(&d, &out, &len), 0);
	cr_expect_not_null(strstr(out, "\"out_msgs\":9007199254740993,"), "%s", out);
	free(out);
}

Test(sys_stats, rates_are_from_the_previous_collection)
{
	struct stats st;
	fill(&st);
	struct sys_stats_doc d = {
	    .st = &st,
	    .at_ns = 100 * S,
	    .prev = {.at_ns = 98 * S, .in_msgs = 1000, .in_bytes = 29999, .out_msgs = BIG},
	    .interval_ms = 2000,
	};
	cJSON *j = render(&d);
	cr_expect_eq(num(j, "in_msgs_per_s"), 1000.0, "2000 more in 2 s");
	cr_expect_eq(num(j, "in_bytes_per_s"), 0.5);
	cr_expect_eq(num(j, "out_msgs_per_s"), 0.0);
	cr_expect_eq(num(j, "out_bytes_per_s"), 0.0);
	cJSON_Delete(j);
}

Test(sys_stats, first_rates_are_since_the_start)
{
	struct stats st;
	fill(&st);
	struct sys_stats_doc d = {.st = &st, .at_ns = 5 * S, .interval_ms = 1000};
	cJSON *j = render(&d);
	/* 3000 in 10.5 s */
	cr_expect_eq(num(j, "in_msgs_per_s"), 285.714);
	cJSON_Delete(j);
}

Test(sys_stats, slowest_lists_pending_output_most_first)
{
	struct stats st;
	fill(&st);
	struct stats_conn c = {0};
	const uint64_t pending[] = {5, 0, 900, 40, 900, 7, 1, 3};
	for (size_t i = 0; i < RB_ARRAY_LEN(pending); i++) {
		c.cid = 10 - i;
		c.pending_bytes = pending[i];
		snprintf(c.name, sizeof(c.name), "c%zu", i);
		stats_slowest_add(st.slowest, &st.nslowest, &c);
	}
	cr_assert_eq(st.nslowest, STATS_SLOWEST_MAX);
	/* 900 (cid 6, then 8: ties by cid), 40, 7, 5 */
	const uint64_t cids[] = {6, 8, 7, 5, 10};
	for (size_t i = 0; i < STATS_SLOWEST_MAX; i++)
		cr_expect_eq(st.slowest[i].cid, cids[i], "place %zu", i);
	struct sys_stats_doc d = {.st = &st, .interval_ms = 1000};
	cJSON *j = render(&d);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "slowest");
	cr_assert_eq(cJSON_GetArraySize(a), STATS_SLOWEST_MAX);
	const cJSON *top = cJSON_GetArrayItem(a, 0);
	cr_expect_eq(num(top, "cid"), 6);
	cr_expect_str_eq(str(top, "name"), "c4");
	cr_expect_eq(num(top, "pending_bytes"), 900);
	cJSON_Delete(j);
}

Test(sys_stats, mailbox_keeps_the_newest_and_counts_the_replaced)
{
	struct sys_stats_box b;
	sys_stats_box_init(&b, "NID");
	cr_expect_str_eq(b.subject, "$SYS.RINGBUS.NID.STATS");
	size_t len;
	cr_expect(!sys_stats_box_full(&b));
	cr_expect_null(sys_stats_box_take(&b, &len));
	cr_expect(!sys_stats_box_post(&b, strdup("one"), 3));
	cr_expect(sys_stats_box_full(&b));
	cr_expect(sys_stats_box_post(&b, strdup("two!"), 4), "one was never taken");
	char *m = sys_stats_box_take(&b, &len);
	cr_expect_str_eq(m, "two!");
	cr_expect_eq(len, 4);
	cr_expect(!sys_stats_box_full(&b));
	free(m);
	cr_expect(!sys_stats_box_post(&b, strdup("left"), 4));
	sys_stats_box_fini(&b); /* frees "left" (LeakSanitizer would say) */
}

Test(sys_stats, timer_waits_for_the_next_interval)
{
	struct sys_stats_timer tm;
	sys_stats_timer_init(&tm, 1000, 10 * S);
	cr_expect_eq(sys_stats_timer_wait_ms(&tm, 10 * S), 1000);
	cr_expect_eq(sys_stats_timer_wait_ms(&tm, 10 * S + 1), 1000, "rounded up");
	cr_expect_eq(sys_stats_timer_wait_ms(&tm, 11 * S), 0);
	sys_stats_timer_init(&tm, 0, 10 * S);
	cr_expect_eq(sys_stats_timer_wait_ms(&tm, 99 * S), INT64_MAX, "off");
	sys_stats_tick(NULL, &tm, 99 * S); /* off: touches no server */
}

/* ---- the setting ---- */

struct interval_case {
	const char *text;
	int ret;
	uint32_t ms;
};

static const struct interval_case interval_cases[] = {
    {"ringbus { stats_interval: \"250ms\" }\n", 0, 250},
    {"ringbus { stats_interval: \"100ms\" }\n", 0, 100},
    {"ringbus { stats_interval: \"0s\" }\n", 0, 0},
    {"\n", 0, 0},                                         /* default: off... */
    {"accounts { S: {} }\nsystem_account: S\n", 0, 1000}, /* ...but with one */
    {"ringbus { stats_interval: \"99ms\" }\n", -EINVAL, 0},
};

Test(sys_stats, stats_interval_is_off_or_at_least_100ms)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(interval_cases); i++) {
		const struct interval_case *k = &interval_cases[i];
		struct config c;
		cr_expect_eq(cfgt_load(&c, k->text), k->ret, "%s", k->text);
		if (k->ret == 0) {
			cr_expect_eq(config_validate(&c), 0, "%s", k->text);
			cr_expect_eq(c.stats_interval_ms, k->ms, "%s", k->text);
		} else
			cr_expect(cfgt_reported("minimum is 100ms"), "%s", k->text);
		config_fini(&c);
	}
	struct config c;
	static const char *const args[] = {"--stats-interval", "2s", NULL};
	cr_expect_eq(cfgt_args(&c, args), 0);
	cr_expect_eq(config_validate(&c), 0);
	cr_expect_eq(c.stats_interval_ms, 2000u);
	config_fini(&c);
}
