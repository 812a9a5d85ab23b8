/* The figures ringbus publishes on $SYS.RINGBUS.<server_id>.STATS every
 * stats_interval (docs/OPERATIONS.md, "Live figures on $SYS"): the
 * document's fields and types, counters that follow the traffic, the
 * busiest connection in "slowest", nothing when turned off, and the system
 * account's users alone receiving it when accounts are configured.
 * Counts, not timings: every wait is a bound, never an expectation. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/json_member.h"

TestSuite(sys_stats, .fini = itest_teardown, .timeout = 120);

#define SUBJECT "$SYS.RINGBUS.*.STATS"
/* Several intervals of the default 1 s: a bound, not an expectation. */
#define DOC_WAIT_MS 5000
#define N_MSGS      1000

static void start(const char *const *args, const char *config)
{
	struct harness_opts opts = {.args = args, .config = config};
	itest_start(&opts);
}

/* A raw client logged in with @connect_json; INFO's server_id goes to @id
 * (caller storage of @cap bytes, may be NULL). Owned by the caller. */
static struct raw_conn *client(const char *connect_json, char *id, size_t cap)
{
	struct raw_conn *c = itest_raw_open();
	char info[4096];
	ITEST_RAW_OK(c, raw_handshake(c, connect_json, info, sizeof info));
	if (id) {
		cJSON *j = cJSON_Parse(info);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "server_id");
		cr_assert(cJSON_IsString(v), "INFO without server_id: %s", info);
		snprintf(id, cap, "%s", v->valuestring);
		cJSON_Delete(j);
	}
	return c;
}

/* Sends @ops then PING and waits for the PONG. */
static void roundtrip(struct raw_conn *c, const char *ops)
{
	ITEST_SEND(c, ops);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
}

/* The next message on @c, which must be a document: returned parsed (the
 * caller deletes it); its subject must name @id when @id is not NULL. */
static cJSON *next_doc(struct raw_conn *c, const char *id)
{
	struct raw_msg m;
	ITEST_RAW_OK(c, raw_read_msg(c, &m, DOC_WAIT_MS));
	char want[128];
	snprintf(want, sizeof want, "$SYS.RINGBUS.%s.STATS", id ? id : "");
	if (id)
		cr_assert_str_eq(m.subject, want);
	cJSON *j = cJSON_Parse(m.data);
	cr_assert_not_null(j, "not JSON: %.200s", m.data);
	raw_msg_fini(&m);
	return j;
}

/* Every array member of @o named @key is an array of objects with the
 * number members @nums (NULL-terminated); returns its length. */
static int objects(const cJSON *o, const char *key, const char *const *nums)
{
	const cJSON *a = member(o, key);
	cr_assert(cJSON_IsArray(a), "\"%s\" is not an array", key);
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
	{
		cr_assert(cJSON_IsObject(it), "an item of \"%s\" is not an object", key);
		for (int i = 0; nums[i]; i++)
			(void)num(it, nums[i]);
	}
	return cJSON_GetArraySize(a);
}

/* The fields of a document and their types. */
static void check_fields(const cJSON *d, const char *id)
{
	cr_expect_str_eq(str(d, "server_id"), id, "server_id as INFO's");
	(void)str(d, "server_name");
	cr_expect_str_eq(str(d, "version"), "2.9.10", "the nats-server version INFO shows");
	cr_expect_gt(strlen(str(d, "ringbus_version")), 0);
	const char *now = str(d, "now");
	cr_expect(strlen(now) >= 20 && now[10] == 'T' && now[strlen(now) - 1] == 'Z',
	          "now is RFC 3339 in UTC: %s", now);
	static const char *const totals[] = {
	    "uptime_s",       "interval_ms",    "in_msgs",         "out_msgs",
	    "in_bytes",       "out_bytes",      "slow_consumers",  "in_msgs_per_s",
	    "out_msgs_per_s", "in_bytes_per_s", "out_bytes_per_s", "connections",
	};
	for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
		cr_expect_geq(num(d, totals[i]), 0, "%s", totals[i]);
	static const char *const shard[] = {"shard", "queue_batches", "msgs", "deliveries", NULL};
	cr_expect_gt(objects(d, "shards", shard), 0, "one item per shard");
	static const char *const adm[] = {"admitted",    "deferred",    "dropped_new",
	                                  "dropped_old", "disconnects", NULL};
	cr_expect_gt(objects(d, "admission", adm), 0, "at least the default policy");
	(void)str(cJSON_GetArrayItem(member(d, "admission"), 0), "name");
	const cJSON *slow = member(d, "slowest");
	if (slow) {
		static const char *const sl[] = {"cid", "pending_bytes", NULL};
		cr_expect_leq(objects(d, "slowest", sl), 5);
	}
}

/* Two documents (every second, asked for: without a system account the
 * default is off), their fields, and in_msgs following 1000 messages
 * published between them. */
Test(sys_stats, documents_follow_the_traffic)
{
	start(NULL, "ringbus { stats_interval: \"1s\" }\n");
	char id[64];
	struct raw_conn *sub = client(ITEST_QUIET, id, sizeof id);
	struct raw_conn *pub = client(ITEST_QUIET, NULL, 0);
	roundtrip(sub, "SUB " SUBJECT " 1\r\n");
	cJSON *first = next_doc(sub, id);
	check_fields(first, id);
	cr_expect_eq(num(first, "interval_ms"), 1000);
	double before = num(first, "in_msgs");
	for (int i = 0; i < N_MSGS; i++)
		ITEST_SEND(pub, "PUB load.x 5\r\nhello\r\n");
	ITEST_SEND(pub, "PING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	/* A document collected before the PONG may still be on its way. */
	double grew = 0, last = before;
	for (int i = 0; i < 4 && grew < N_MSGS; i++) {
		cJSON *d = next_doc(sub, id);
		check_fields(d, id);
		double in = num(d, "in_msgs");
		cr_expect_geq(in, last, "in_msgs never goes down");
		last = in;
		grew = in - before;
		cJSON_Delete(d);
	}
	cr_expect_geq(grew, N_MSGS, "in_msgs grew by %.0f", grew);
	cJSON_Delete(first);
	raw_close(pub);
	raw_close(sub);
}

/* A subscriber that reads nothing while 16 MB are sent to it is named in
 * "slowest" with its pending bytes. */
Test(sys_stats, slowest_names_the_connection_with_output_pending)
{
	static const char *const args[] = {"--stats-interval", "200ms", NULL};
	/* a subscriber high mark above what is sent: no deferring, no closing */
	start(args, "ringbus { admission { subscriber_high: 48MB, subscriber_low: 40MB } }\n");
	char id[64];
	struct raw_conn *watch = client(ITEST_QUIET, id, sizeof id);
	struct raw_conn *slow =
	    client("{\"verbose\":false,\"pedantic\":false,\"name\":\"slowpoke\"}", NULL, 0);
	struct raw_conn *pub = client(ITEST_QUIET, NULL, 0);
	int small = 4096;
	cr_assert_eq(setsockopt(raw_fd(slow), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	roundtrip(slow, "SUB big 1\r\n");
	roundtrip(watch, "SUB " SUBJECT " 1\r\n");
	static char body[256 * 1024];
	memset(body, 'x', sizeof body);
	for (int i = 0; i < 64; i++) {
		ITEST_RAW_OK(pub, raw_sendf(pub, "PUB big %zu\r\n", sizeof body));
		ITEST_RAW_OK(pub, raw_send(pub, body, sizeof body));
		ITEST_SEND(pub, "\r\n");
	}
	ITEST_SEND(pub, "PING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	bool seen = false;
	for (int i = 0; i < 10 && !seen; i++) {
		cJSON *d = next_doc(watch, id);
		const cJSON *top = cJSON_GetArrayItem(member(d, "slowest"), 0);
		if (top && !strcmp(str(top, "name"), "slowpoke")) {
			seen = true;
			cr_expect_gt(num(top, "pending_bytes"), 0);
			cr_expect_gt(num(top, "cid"), 0);
		}
		cJSON_Delete(d);
	}
	cr_expect(seen, "no document named slowpoke in \"slowest\"");
	raw_abort(slow);
	raw_close(pub);
	raw_close(watch);
}

/* Without a system account and without stats_interval (the default), as
 * with "0s": nothing arrives within 3 s in $G; the sentinel published after
 * the wait is the first message. */
static void check_nothing(const char *conf)
{
	start(NULL, conf);
	struct raw_conn *c = client(ITEST_QUIET, NULL, 0);
	roundtrip(c, "SUB " SUBJECT " 1\r\nSUB sentinel 2\r\n");
	sleep(3);
	ITEST_SEND(c, "PUB sentinel 2\r\nok\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(c, raw_read_msg(c, &m, DOC_WAIT_MS));
	cr_expect_str_eq(m.subject, "sentinel", "a document came first: %.80s", m.data);
	raw_msg_fini(&m);
	raw_close(c);
}

Test(sys_stats, off_publishes_nothing)
{
	check_nothing("ringbus { stats_interval: \"0s\" }\n");
}

Test(sys_stats, nothing_in_the_global_account_by_default)
{
	check_nothing(NULL);
}

#define ACCOUNTS                                                                                   \
	"accounts {\n"                                                                             \
	"  A: { users: [{user: a, password: a}] }\n"                                               \
	"  SYS: { users: [{user: sys, password: sys}] }\n"                                         \
	"}\n"                                                                                      \
	"system_account: SYS\n"                                                                    \
	"ringbus { stats_interval: \"200ms\" }\n"

#define LOGIN(u) "{\"verbose\":false,\"pedantic\":false,\"user\":\"" u "\",\"pass\":\"" u "\"}"

/* With accounts, the documents go to the system account only: its user
 * receives two, A's user none before its sentinel. */
Test(sys_stats, only_the_system_account_receives_them)
{
	start(NULL, ACCOUNTS);
	char id[64];
	struct raw_conn *a = client(LOGIN("a"), id, sizeof id);
	struct raw_conn *sys = client(LOGIN("sys"), NULL, 0);
	roundtrip(a, "SUB " SUBJECT " 1\r\nSUB sentinel 2\r\n");
	roundtrip(sys, "SUB " SUBJECT " 1\r\n");
	for (int i = 0; i < 2; i++) {
		cJSON *d = next_doc(sys, id);
		check_fields(d, id);
		cJSON_Delete(d);
	}
	ITEST_SEND(a, "PUB sentinel 2\r\nok\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(a, raw_read_msg(a, &m, DOC_WAIT_MS));
	cr_expect_str_eq(m.subject, "sentinel", "account A received %s", m.subject);
	raw_msg_fini(&m);
	raw_close(sys);
	raw_close(a);
}
