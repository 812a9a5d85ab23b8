/* Publish/subscribe through libnats: fan-out, wildcard matching, queue
 * groups, auto-unsubscribe, echo=false, per-publisher order and the flush
 * barrier that makes a new subscription visible to other publishers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

TestSuite(pubsub, .init = itest_setup, .fini = itest_teardown, .timeout = 120);

#define WAIT_MS  5000
#define QUIET_MS 250 /* how long "nothing more arrives" is watched */

/* Receives one message on sub and checks its subject and data. */
static void expect_msg(natsSubscription *sub, const char *subject, const char *data)
{
	natsMsg *m = NULL;
	natsStatus s = natsSubscription_NextMsg(&m, sub, WAIT_MS);
	cr_assert_eq(s, NATS_OK, "expected %s on %s: %s", data, subject, natsStatus_GetText(s));
	cr_assert_str_eq(natsMsg_GetSubject(m), subject);
	cr_assert_eq((size_t)natsMsg_GetDataLength(m), strlen(data));
	cr_assert(memcmp(natsMsg_GetData(m), data, strlen(data)) == 0, "data of %s", subject);
	natsMsg_Destroy(m);
}

/* After a flush of the publisher and a quiet period, checks that nothing more
 * has reached any of the n subscriptions. */
static void expect_nothing(natsConnection *publisher, natsSubscription *const *subs, size_t n)
{
	ITEST_NATS_OK(natsConnection_FlushTimeout(publisher, WAIT_MS));
	nats_Sleep(QUIET_MS);
	for (size_t i = 0; i < n; i++) {
		uint64_t queued = 0;
		ITEST_NATS_OK(natsSubscription_QueuedMsgs(subs[i], &queued));
		cr_assert_eq(queued, 0, "%llu unexpected messages on %s",
		             (unsigned long long)queued, natsSubscription_GetSubject(subs[i]));
	}
}

Test(pubsub, a_message_reaches_every_matching_subscriber_once)
{
	natsConnection *a = itest_nats(NULL), *b = itest_nats(NULL), *pub = itest_nats(NULL);
	natsSubscription *sa = itest_sub(a, "fan.out", NULL);
	natsSubscription *sb = itest_sub(b, "fan.out", NULL);
	natsSubscription *sb2 = itest_sub(b, "fan.out", NULL);
	natsSubscription *own = itest_sub(pub, "fan.out", NULL);
	natsSubscription *other = itest_sub(a, "fan.other", NULL);
	ITEST_NATS_OK(natsConnection_PublishString(pub, "fan.out", "hello"));
	natsSubscription *all[] = {sa, sb, sb2, own};
	for (size_t i = 0; i < 4; i++)
		expect_msg(all[i], "fan.out", "hello");
	natsSubscription *rest[] = {sa, sb, sb2, own, other};
	expect_nothing(pub, rest, 5);
}

/* Which of the published subjects each pattern must receive (bit i: subject i). */
static const char *const wild_subjects[] = {"w",     "w.a",     "w.b",   "w.a.c",
                                            "w.b.c", "w.b.c.d", "x.b.c", "wx.a"};
static const struct {
	const char *pattern;
	unsigned mask;
} wild_table[] = {
    {"w", 0x01},     {"*", 0x01},     {"w.*", 0x06},   {"w.>", 0x3e},     {"w.*.c", 0x18},
    {"w.b.>", 0x30}, {"*.b.c", 0x50}, {"*.*.*", 0x58}, {">", 0xff},       {"w.b.c", 0x10},
    {"*.>", 0xfe},   {"*.a", 0x82},   {"w.*.>", 0x38}, {"*.*.c.*", 0x20},
};

Test(pubsub, wildcards_match_whole_tokens)
{
	const size_t nsub = sizeof wild_table / sizeof wild_table[0];
	const size_t nsubj = sizeof wild_subjects / sizeof wild_subjects[0];
	natsConnection *sc = itest_nats(NULL), *pub = itest_nats(NULL);
	natsSubscription *subs[sizeof wild_table / sizeof wild_table[0]];
	for (size_t i = 0; i < nsub; i++)
		subs[i] = itest_sub(sc, wild_table[i].pattern, NULL);
	for (size_t k = 0; k < nsubj; k++)
		ITEST_NATS_OK(
		    natsConnection_PublishString(pub, wild_subjects[k], wild_subjects[k]));
	ITEST_NATS_OK(natsConnection_FlushTimeout(pub, WAIT_MS));
	for (size_t i = 0; i < nsub; i++) {
		unsigned want = wild_table[i].mask, got = 0;
		for (int n = __builtin_popcount(want); n > 0; n--) {
			natsMsg *m = NULL;
			natsStatus s = natsSubscription_NextMsg(&m, subs[i], WAIT_MS);
			cr_assert_eq(s, NATS_OK, "%s: missing messages (got mask 0x%x of 0x%x)",
			             wild_table[i].pattern, got, want);
			size_t k = 0;
			while (k < nsubj && strcmp(wild_subjects[k], natsMsg_GetSubject(m)) != 0)
				k++;
			cr_assert_lt(k, nsubj, "unknown subject %s", natsMsg_GetSubject(m));
			cr_assert(!(got & (1u << k)), "%s: %s twice", wild_table[i].pattern,
			          wild_subjects[k]);
			cr_assert(want & (1u << k), "%s must not match %s", wild_table[i].pattern,
			          wild_subjects[k]);
			got |= 1u << k;
			natsMsg_Destroy(m);
		}
	}
	expect_nothing(pub, subs, nsub);
}

Test(pubsub, a_queue_group_delivers_each_message_to_exactly_one_member)
{
	enum { MEMBERS = 3, COUNT = 3000 };
	natsConnection *pub = itest_nats(NULL);
	natsSubscription *members[MEMBERS];
	for (int i = 0; i < MEMBERS; i++)
		members[i] = itest_sub(itest_nats(NULL), "q.work", "workers");
	natsSubscription *watcher = itest_sub(itest_nats(NULL), "q.work", NULL);
	natsSubscription *other_group = itest_sub(itest_nats(NULL), "q.work", "auditors");
	char buf[16];
	for (int n = 0; n < COUNT; n++) {
		snprintf(buf, sizeof buf, "%d", n);
		ITEST_NATS_OK(natsConnection_PublishString(pub, "q.work", buf));
	}
	ITEST_NATS_OK(natsConnection_FlushTimeout(pub, WAIT_MS));

	static unsigned char seen[COUNT];
	int per_member[MEMBERS] = {0}, total = 0;
	int64_t deadline = nats_Now() + 30000;
	while (total < COUNT && nats_Now() < deadline) {
		for (int i = 0; i < MEMBERS; i++) {
			natsMsg *m = NULL;
			while (natsSubscription_NextMsg(&m, members[i], 20) == NATS_OK) {
				int n = atoi(natsMsg_GetData(m));
				natsMsg_Destroy(m);
				cr_assert(n >= 0 && n < COUNT && !seen[n],
				          "message %d twice or unknown", n);
				seen[n] = 1;
				per_member[i]++;
				total++;
			}
		}
	}
	cr_assert_eq(total, COUNT, "the group received %d of %d", total, COUNT);
	for (int i = 0; i < MEMBERS; i++) {
		cr_assert_geq(per_member[i], COUNT / (2 * MEMBERS),
		              "member %d got %d of %d: not spread over the group", i, per_member[i],
		              COUNT);
	}
	expect_nothing(pub, members, MEMBERS);
	/* A plain subscriber and another group each still see every message. */
	natsSubscription *full[] = {watcher, other_group};
	for (int k = 0; k < 2; k++) {
		for (int n = 0; n < COUNT; n++) {
			natsMsg *m = NULL;
			ITEST_NATS_OK(natsSubscription_NextMsg(&m, full[k], WAIT_MS));
			natsMsg_Destroy(m);
		}
	}
	expect_nothing(pub, full, 2);
}

Test(pubsub, auto_unsubscribe_stops_after_max_messages)
{
	natsConnection *sc = itest_nats(NULL), *pub = itest_nats(NULL);
	natsSubscription *sub = NULL;
	ITEST_NATS_OK(natsConnection_SubscribeSync(&sub, sc, "auto.five"));
	itest_track_sub(sub);
	ITEST_NATS_OK(natsSubscription_AutoUnsubscribe(sub, 5));
	ITEST_NATS_OK(natsConnection_FlushTimeout(sc, WAIT_MS));
	natsSubscription *watcher = itest_sub(sc, "auto.five", NULL);
	for (int i = 0; i < 10; i++)
		ITEST_NATS_OK(natsConnection_PublishString(pub, "auto.five", "m"));
	ITEST_NATS_OK(natsConnection_FlushTimeout(pub, WAIT_MS));
	/* The watcher sees all ten, so all ten reached the connection. */
	for (int i = 0; i < 10; i++)
		expect_msg(watcher, "auto.five", "m");
	for (int i = 0; i < 5; i++)
		expect_msg(sub, "auto.five", "m");
	natsMsg *m = NULL;
	natsStatus s = natsSubscription_NextMsg(&m, sub, QUIET_MS);
	cr_assert_neq(s, NATS_OK, "a sixth message was delivered");
	natsMsg_Destroy(m);
}

Test(pubsub, no_echo_hides_only_the_connections_own_messages)
{
	natsOptions *opts = NULL;
	ITEST_NATS_OK(natsOptions_Create(&opts));
	ITEST_NATS_OK(natsOptions_SetNoEcho(opts, true));
	natsConnection *quiet = itest_nats(opts);
	natsOptions_Destroy(opts);
	natsConnection *loud = itest_nats(NULL);
	natsSubscription *qs = itest_sub(quiet, "echo.x", NULL);
	natsSubscription *ls = itest_sub(loud, "echo.x", NULL);
	ITEST_NATS_OK(natsConnection_PublishString(quiet, "echo.x", "mine"));
	ITEST_NATS_OK(natsConnection_FlushTimeout(quiet, WAIT_MS));
	ITEST_NATS_OK(natsConnection_PublishString(loud, "echo.x", "theirs"));
	/* The other connection sees both, in either order (two publishers). */
	bool mine = false, theirs = false;
	for (int i = 0; i < 2; i++) {
		natsMsg *m = NULL;
		ITEST_NATS_OK(natsSubscription_NextMsg(&m, ls, WAIT_MS));
		mine |= strcmp(natsMsg_GetData(m), "mine") == 0;
		theirs |= strcmp(natsMsg_GetData(m), "theirs") == 0;
		natsMsg_Destroy(m);
	}
	cr_assert(mine && theirs, "the echoing connection must get both messages");
	expect_msg(qs, "echo.x", "theirs");
	ITEST_NATS_OK(natsConnection_FlushTimeout(quiet, WAIT_MS));
	natsSubscription *both[] = {qs, ls};
	expect_nothing(loud, both, 2);
}

Test(pubsub, order_is_kept_per_publisher_and_subject)
{
	enum { PUBS = 2, SUBJECTS = 2, PER = 2500 };
	natsConnection *sc = itest_nats(NULL);
	natsSubscription *sub = itest_sub(sc, "ord.>", NULL);
	natsConnection *pubs[PUBS];
	for (int p = 0; p < PUBS; p++)
		pubs[p] = itest_nats(NULL);
	char subj[32], data[32];
	for (int n = 0; n < PER; n++) {
		for (int p = 0; p < PUBS; p++) {
			for (int s = 0; s < SUBJECTS; s++) {
				snprintf(subj, sizeof subj, "ord.%d", s);
				snprintf(data, sizeof data, "%d %d", p, n);
				ITEST_NATS_OK(natsConnection_PublishString(pubs[p], subj, data));
			}
		}
	}
	int next[PUBS][SUBJECTS] = {{0}};
	for (int i = 0; i < PUBS * SUBJECTS * PER; i++) {
		natsMsg *m = NULL;
		natsStatus st = natsSubscription_NextMsg(&m, sub, WAIT_MS);
		cr_assert_eq(st, NATS_OK, "message %d of %d: %s", i, PUBS * SUBJECTS * PER,
		             natsStatus_GetText(st));
		int s = -1, p = -1, n = -1;
		cr_assert_eq(sscanf(natsMsg_GetSubject(m), "ord.%d", &s), 1);
		cr_assert_eq(sscanf(natsMsg_GetData(m), "%d %d", &p, &n), 2);
		cr_assert(p >= 0 && p < PUBS && s >= 0 && s < SUBJECTS, "bad message");
		cr_assert_eq(n, next[p][s], "publisher %d subject %d: got %d, expected %d", p, s, n,
		             next[p][s]);
		next[p][s]++;
		natsMsg_Destroy(m);
	}
	expect_nothing(pubs[0], &sub, 1);
}

Test(pubsub, a_flushed_subscription_sees_the_next_publish_of_any_connection)
{
	natsConnection *a = itest_nats(NULL), *b = itest_nats(NULL);
	char subj[32];
	for (int i = 0; i < 200; i++) {
		natsSubscription *sub = NULL;
		snprintf(subj, sizeof subj, "fb.%d.x", i);
		ITEST_NATS_OK(natsConnection_SubscribeSync(&sub, a, subj));
		ITEST_NATS_OK(natsConnection_FlushTimeout(a, WAIT_MS));
		ITEST_NATS_OK(natsConnection_PublishString(b, subj, "now"));
		natsMsg *m = NULL;
		natsStatus s = natsSubscription_NextMsg(&m, sub, WAIT_MS);
		natsMsg_Destroy(m);
		natsSubscription_Unsubscribe(sub);
		natsSubscription_Destroy(sub);
		cr_assert_eq(s, NATS_OK, "round %d: publish after flush was not delivered: %s", i,
		             natsStatus_GetText(s));
	}
}

Test(pubsub, a_flushed_publish_reaches_the_subscribers_of_that_moment)
{
	/* Raw subscriber: its UNSUB goes out only after the publisher's flush. */
	struct raw_conn *sub = itest_raw(ITEST_QUIET);
	natsConnection *pub = itest_nats(NULL);
	char line[96];
	for (int i = 0; i < 50; i++) {
		ITEST_RAW_OK(sub, raw_sendf(sub, "SUB pf.%d %d\r\nPING\r\n", i, i));
		ITEST_EXPECT(sub, "PONG\r\n");
		snprintf(line, sizeof line, "pf.%d", i);
		ITEST_NATS_OK(natsConnection_PublishString(pub, line, "x"));
		ITEST_NATS_OK(natsConnection_FlushTimeout(pub, WAIT_MS));
		ITEST_RAW_OK(sub, raw_sendf(sub, "UNSUB %d\r\nPING\r\n", i));
		snprintf(line, sizeof line, "MSG pf.%d %d 1\r\nx\r\n", i, i);
		char before[256];
		cr_assert_geq(raw_read_until(sub, line, before, sizeof before, WAIT_MS), 0,
		              "round %d: flushed message lost: %s", i, raw_why(sub));
		if (strstr(before, "PONG\r\n") == NULL)
			ITEST_RAW_OK(sub, raw_read_until(sub, "PONG\r\n", NULL, 0, WAIT_MS));
	}
	raw_close(sub);
}

/* Large payloads, written back to back by libnats, cross the server's
 * receive buffers: every byte of every one arrives as sent, in order
 * (ringbus hands a payload the parser assembled to the batch in the
 * parser's buffer instead of copying it: router/client_pub.c). */
static unsigned char pattern_byte(int i, size_t j)
{
	return (unsigned char)((size_t)i * 131u + j * 7u + (j >> 8));
}

Test(pubsub, large_payloads_across_receive_buffers_arrive_intact)
{
	enum { N = 300 };
	natsConnection *sc = itest_nats(NULL), *pc = itest_nats(NULL);
	natsSubscription *sub = itest_sub(sc, "big", NULL);
	ITEST_NATS_OK(natsSubscription_SetPendingLimits(sub, -1, -1));
	size_t cap = 40000;
	unsigned char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (int i = 0; i < N; i++) {
		size_t len = 4000 + (size_t)i * 97 % 33000; /* 4,000 to 36,999 bytes */
		for (size_t j = 0; j < len; j++)
			buf[j] = pattern_byte(i, j);
		ITEST_NATS_OK(natsConnection_Publish(pc, "big", buf, (int)len));
	}
	ITEST_NATS_OK(natsConnection_FlushTimeout(pc, WAIT_MS));
	for (int i = 0; i < N; i++) {
		natsMsg *m = NULL;
		natsStatus st = natsSubscription_NextMsg(&m, sub, WAIT_MS);
		cr_assert_eq(st, NATS_OK, "message %d of %d: %s", i, N, natsStatus_GetText(st));
		size_t len = 4000 + (size_t)i * 97 % 33000;
		cr_assert_eq((size_t)natsMsg_GetDataLength(m), len, "message %d", i);
		const unsigned char *d = (const unsigned char *)natsMsg_GetData(m);
		size_t bad = len;
		for (size_t j = 0; j < len && bad == len; j++)
			if (d[j] != pattern_byte(i, j))
				bad = j;
		cr_assert_eq(bad, len, "message %d differs at byte %zu of %zu", i, bad, len);
		natsMsg_Destroy(m);
	}
	free(buf);
}
