/* Scale: a thousand concurrent connections that all receive one message,
 * a hundred thousand subscriptions on one connection, and fifty libnats
 * connections sharing a subject. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

TestSuite(scale, .init = itest_setup, .fini = itest_teardown, .timeout = 240);

#define Q           ITEST_QUIET
#define CONNS       1000
#define SUBS        100000
#define SAMPLE_STEP 997
#define BIG_WAIT_MS 60000

Test(scale, a_thousand_connections_all_receive_one_message)
{
	static struct raw_conn *conns[CONNS];
	for (int i = 0; i < CONNS; i++) {
		conns[i] = itest_raw_open();
		cr_assert_geq(raw_read_until(conns[i], "\r\n", NULL, 0, RAW_WAIT_MS), 0,
		              "connection %d: no INFO: %s", i, raw_why(conns[i]));
		cr_assert_eq(
		    raw_sendf(conns[i], "CONNECT %s\r\nSUB all.hello %d\r\nPING\r\n", Q, i), 0,
		    "connection %d: %s", i, raw_why(conns[i]));
	}
	for (int i = 0; i < CONNS; i++)
		cr_assert_eq(raw_expect_str(conns[i], "PONG\r\n"), 0, "connection %d: %s", i,
		             raw_why(conns[i]));
	struct raw_conn *pub = itest_raw(Q);
	ITEST_SEND(pub, "PUB all.hello 5\r\nhello\r\nPING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	char want[64];
	for (int i = 0; i < CONNS; i++) {
		snprintf(want, sizeof want, "MSG all.hello %d 5\r\nhello\r\n", i);
		cr_assert_eq(raw_expect_str(conns[i], want), 0, "connection %d: %s", i,
		             raw_why(conns[i]));
	}
	/* Every connection is still served after the fan-out. */
	for (int i = 0; i < CONNS; i++)
		cr_assert_eq(raw_send_str(conns[i], "PING\r\n"), 0, "connection %d", i);
	for (int i = 0; i < CONNS; i++) {
		cr_assert_eq(raw_expect_str(conns[i], "PONG\r\n"), 0, "connection %d: %s", i,
		             raw_why(conns[i]));
		raw_close(conns[i]);
	}
	raw_close(pub);
}

/* Publishes one message to s.<i> for every sampled i, then PING/PONG. */
static int publish_samples(struct raw_conn *pub)
{
	int n = 0;
	for (int i = 0; i < SUBS; i += SAMPLE_STEP, n++)
		ITEST_RAW_OK(
		    pub, raw_sendf(pub, "PUB s.%d %d\r\n%d\r\n", i, snprintf(NULL, 0, "%d", i), i));
	ITEST_RAW_OK(pub, raw_sendf(pub, "PUB s.%d 5\r\n%d\r\nPING\r\n", SUBS - 1, SUBS - 1));
	ITEST_EXPECT(pub, "PONG\r\n");
	return n + 1;
}

Test(scale, a_hundred_thousand_subscriptions_on_one_connection)
{
	struct raw_conn *sub = itest_raw(Q);
	size_t cap = (size_t)SUBS * 24, len = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (int i = 0; i < SUBS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "SUB s.%d %d\r\n", i, i);
	ITEST_RAW_OK(sub, raw_send(sub, buf, len));
	ITEST_SEND(sub, "PING\r\n");
	ITEST_RAW_OK(sub, raw_expect(sub, "PONG\r\n", 6, BIG_WAIT_MS));

	struct raw_conn *pub = itest_raw(Q);
	int n = publish_samples(pub);
	static unsigned char seen[SUBS];
	for (int k = 0; k < n; k++) {
		struct raw_msg m;
		ITEST_RAW_OK(sub, raw_read_msg(sub, &m, RAW_WAIT_MS));
		int i = atoi(m.data);
		char subject[32];
		snprintf(subject, sizeof subject, "s.%d", i);
		cr_assert(i >= 0 && i < SUBS && (i % SAMPLE_STEP == 0 || i == SUBS - 1),
		          "unexpected payload %s", m.data);
		cr_assert_str_eq(m.subject, subject);
		cr_assert_eq(atoi(m.sid), i, "subject %s delivered to sid %s", m.subject, m.sid);
		cr_assert(!seen[i], "%s delivered twice", m.subject);
		seen[i] = 1;
		raw_msg_fini(&m);
	}

	/* Remove them all again, pipelined; then nothing reaches the old sids. */
	len = 0;
	for (int i = 0; i < SUBS; i++)
		len += (size_t)snprintf(buf + len, cap - len, "UNSUB %d\r\n", i);
	ITEST_RAW_OK(sub, raw_send(sub, buf, len));
	ITEST_SEND(sub, "PING\r\n");
	ITEST_RAW_OK(sub, raw_expect(sub, "PONG\r\n", 6, BIG_WAIT_MS));
	free(buf);
	/* The same connection publishes the samples, then subscribes to
	 * everything: its operations apply in order, so only the last message
	 * may arrive, and a stale sid would show up for s.0 first. */
	publish_samples(sub);
	ITEST_SEND(sub, "SUB > all\r\nPUB s.0 3\r\nnew\r\n");
	ITEST_EXPECT(sub, "MSG s.0 all 3\r\nnew\r\n");
	raw_close(sub);
	raw_close(pub);
}

Test(scale, fifty_libnats_connections_share_a_subject)
{
	enum { N = 50 };
	natsSubscription *subs[N];
	for (int i = 0; i < N; i++)
		subs[i] = itest_sub(itest_nats(NULL), "shared.news", NULL);
	natsConnection *pub = itest_nats(NULL);
	for (int k = 0; k < 10; k++)
		ITEST_NATS_OK(natsConnection_PublishString(pub, "shared.news", "extra"));
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < 10; k++) {
			natsMsg *m = NULL;
			natsStatus s = natsSubscription_NextMsg(&m, subs[i], RAW_WAIT_MS);
			cr_assert_eq(s, NATS_OK, "subscriber %d message %d: %s", i, k,
			             natsStatus_GetText(s));
			cr_assert_str_eq(natsMsg_GetData(m), "extra");
			natsMsg_Destroy(m);
		}
	}
}
