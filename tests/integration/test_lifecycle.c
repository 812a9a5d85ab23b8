/* Connection lifecycle: subscribers that close, reset or half-close (with
 * undelivered data pending) leave a server that still routes, and clients
 * that vanish at any point of the handshake do no harm. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

#include <criterion/parameterized.h>

TestSuite(lifecycle, .init = itest_setup, .fini = itest_teardown, .timeout = 120);

#define Q          ITEST_QUIET
#define ROUNDS     10
#define PER_ROUND  10
#define BURST      8
#define BURST_SIZE 65536

enum leave_how { LEAVE_CLOSE, LEAVE_RESET, LEAVE_HALF_CLOSE };
static const char *const leave_names[] = {"close", "reset", "half-close"};

static struct raw_conn *subscriber(const char *subs)
{
	struct raw_conn *c = itest_raw(Q);
	ITEST_SEND(c, subs);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	return c;
}

static void leave(struct raw_conn *c, enum leave_how how)
{
	switch (how) {
	case LEAVE_CLOSE:
		raw_close(c);
		break;
	case LEAVE_RESET:
		raw_abort(c);
		break;
	case LEAVE_HALF_CLOSE:
		ITEST_RAW_OK(c, raw_shutdown_write(c));
		/* The server treats end of input as the client leaving, and closes. */
		raw_set_auto_pong(c, false);
		{
			/* Drain whatever was still queued to it, then expect the close. */
			char sink[256];
			ssize_t n;
			while ((n = raw_read_line(c, sink, sizeof sink, RAW_WAIT_MS)) >= 0)
				;
			cr_assert_eq(n, -ECONNRESET,
			             "half-closed client not closed by the server: %s", raw_why(c));
		}
		raw_close(c);
		break;
	}
}

ParameterizedTestParameters(lifecycle, a_subscriber_that_leaves_does_not_disturb_routing)
{
	static enum leave_how hows[] = {LEAVE_CLOSE, LEAVE_RESET, LEAVE_HALF_CLOSE};
	return cr_make_param_array(enum leave_how, hows, sizeof hows / sizeof hows[0]);
}

ParameterizedTest(enum leave_how *how, lifecycle, a_subscriber_that_leaves_does_not_disturb_routing)
{
	const char *name = leave_names[*how];
	struct raw_conn *stay = subscriber("SUB gone.x 1\r\nSUB gone.> 2\r\n");
	struct raw_conn *pub = itest_raw(Q);
	char *burst = malloc(BURST_SIZE);
	cr_assert_not_null(burst);
	memset(burst, 'b', BURST_SIZE);
	for (int round = 0; round < ROUNDS; round++) {
		char subs[160];
		snprintf(subs, sizeof subs,
		         "SUB gone.x 1\r\nSUB gone.* 2\r\nSUB gone.x q 3\r\nSUB burst.%d 4\r\n",
		         round);
		struct raw_conn *goer = subscriber(subs);
		/* Leave undelivered data queued towards the subscriber that goes. */
		for (int k = 0; k < BURST; k++) {
			ITEST_RAW_OK(pub, raw_sendf(pub, "PUB burst.%d %d\r\n", round, BURST_SIZE));
			ITEST_RAW_OK(pub, raw_send(pub, burst, BURST_SIZE));
			ITEST_SEND(pub, "\r\n");
		}
		ITEST_SEND(pub, "PING\r\n");
		ITEST_EXPECT(pub, "PONG\r\n");
		leave(goer, *how);

		for (int i = 0; i < PER_ROUND; i++)
			ITEST_RAW_OK(pub, raw_sendf(pub, "PUB gone.x %d\r\n%04d\r\n", 4,
			                            round * PER_ROUND + i));
		ITEST_SEND(pub, "PING\r\n");
		cr_assert_eq(raw_expect_str(pub, "PONG\r\n"), 0, "%s round %d: flush: %s", name,
		             round, raw_why(pub));
		int next[3] = {0, round * PER_ROUND, round * PER_ROUND};
		for (int i = 0; i < 2 * PER_ROUND; i++) {
			struct raw_msg m;
			int r = raw_read_msg(stay, &m, RAW_WAIT_MS);
			cr_assert_eq(r, 0, "%s round %d: remaining subscriber: %s", name, round,
			             raw_why(stay));
			int sid = atoi(m.sid);
			cr_assert(sid == 1 || sid == 2, "sid %s", m.sid);
			cr_assert_eq(atoi(m.data), next[sid], "%s round %d sid %d: got %s", name,
			             round, sid, m.data);
			next[sid]++;
			raw_msg_fini(&m);
		}
	}
	free(burst);
	/* New connections are still served. */
	struct raw_conn *late = itest_raw(Q);
	ITEST_SEND(late, "PING\r\n");
	ITEST_EXPECT(late, "PONG\r\n");
	raw_close(late);
	raw_close(stay);
	raw_close(pub);
}

Test(lifecycle, clients_vanishing_during_the_handshake_do_no_harm)
{
	for (int i = 0; i < 60; i++) {
		struct raw_conn *c = itest_raw_open();
		switch (i % 6) {
		case 0: /* before reading INFO */
			raw_close(c);
			break;
		case 1:
			raw_abort(c);
			break;
		case 2: /* in the middle of CONNECT */
			raw_send_str(c, "CONNECT {\"verb");
			raw_abort(c);
			break;
		case 3: /* in the middle of a payload */
			raw_send_str(c, "CONNECT {}\r\nPUB x 10\r\n12345");
			raw_close(c);
			break;
		case 4: /* half-closed before CONNECT */
			raw_shutdown_write(c);
			raw_expect_eof(c, RAW_WAIT_MS);
			raw_close(c);
			break;
		default: /* subscribed, then gone without UNSUB */
			raw_send_str(c, "CONNECT " Q "\r\nSUB v.> 1\r\nSUB v.a q 2\r\n");
			raw_abort(c);
			break;
		}
	}
	struct raw_conn *sub = itest_raw(Q);
	ITEST_SEND(sub, "SUB v.a 9\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	struct raw_conn *pub = itest_raw(Q);
	ITEST_SEND(pub, "PUB v.a 2\r\nok\r\nPING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	ITEST_EXPECT(sub, "MSG v.a 9 2\r\nok\r\n");
	raw_close(sub);
	raw_close(pub);
}

Test(lifecycle, a_libnats_subscriber_that_closes_is_forgotten)
{
	natsConnection *pub = itest_nats(NULL), *stay = itest_nats(NULL);
	natsSubscription *kept = itest_sub(stay, "lc.>", NULL);
	for (int round = 0; round < 5; round++) {
		natsConnection *goer = NULL;
		natsOptions *opts = NULL;
		ITEST_NATS_OK(natsOptions_Create(&opts));
		ITEST_NATS_OK(natsOptions_SetURL(opts, itest_srv.url));
		ITEST_NATS_OK(natsOptions_SetAllowReconnect(opts, false));
		ITEST_NATS_OK(natsConnection_Connect(&goer, opts));
		natsOptions_Destroy(opts);
		natsSubscription *s = NULL;
		ITEST_NATS_OK(natsConnection_SubscribeSync(&s, goer, "lc.x"));
		ITEST_NATS_OK(natsConnection_FlushTimeout(goer, RAW_WAIT_MS));
		natsConnection_Close(goer);
		natsSubscription_Destroy(s);
		natsConnection_Destroy(goer);
		ITEST_NATS_OK(natsConnection_PublishString(pub, "lc.x", "still"));
		ITEST_NATS_OK(natsConnection_FlushTimeout(pub, RAW_WAIT_MS));
		natsMsg *m = NULL;
		ITEST_NATS_OK(natsSubscription_NextMsg(&m, kept, RAW_WAIT_MS));
		cr_assert_str_eq(natsMsg_GetData(m), "still");
		natsMsg_Destroy(m);
	}
}
