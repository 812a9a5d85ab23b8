/* A connection that ends (a protocol error, a payload over max_payload, a
 * half-close) still gets what it published to itself before it ended, in
 * order and before the -ERR, as nats-server sends it. Against both servers. */
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

TestSuite(close_flush, .init = itest_setup, .fini = itest_teardown, .timeout = 60);

#define OWN 100

/* A subscriber of "x" that publishes OWN messages to itself, then @tail, all
 * in one write. */
static struct raw_conn *publish_to_self(const char *tail)
{
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	char buf[OWN * 16 + 256];
	size_t n = (size_t)snprintf(buf, sizeof buf, "SUB x 1\r\n");
	for (int i = 0; i < OWN; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "PUB x 3\r\n%03d\r\n", i);
	n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", tail);
	ITEST_RAW_OK(c, raw_send(c, buf, n));
	return c;
}

/* Reads OWN messages 000..099 in order. */
static void expect_own(struct raw_conn *c)
{
	for (int i = 0; i < OWN; i++) {
		struct raw_msg m;
		ITEST_RAW_OK(c, raw_read_msg(c, &m, RAW_WAIT_MS));
		char want[4];
		snprintf(want, sizeof want, "%03d", i);
		cr_assert_str_eq(m.data, want, "message %d of %d", i, OWN);
		raw_msg_fini(&m);
	}
}

Test(close_flush, own_messages_come_before_unknown_protocol_operation)
{
	struct raw_conn *c = publish_to_self("BOGUS\r\n");
	expect_own(c);
	ITEST_EXPECT(c, "-ERR 'Unknown Protocol Operation'\r\n");
	ITEST_RAW_OK(c, raw_expect_eof(c, RAW_WAIT_MS));
	raw_close(c);
}

Test(close_flush, own_messages_come_before_maximum_payload_violation)
{
	struct raw_conn *c = publish_to_self("PUB x 2000000\r\n");
	expect_own(c);
	ITEST_EXPECT(c, "-ERR 'Maximum Payload Violation'\r\n");
	ITEST_RAW_OK(c, raw_expect_eof(c, RAW_WAIT_MS));
	raw_close(c);
}

Test(close_flush, own_messages_come_before_the_close_after_a_half_close)
{
	struct raw_conn *c = publish_to_self("");
	ITEST_RAW_OK(c, raw_shutdown_write(c));
	expect_own(c);
	ITEST_RAW_OK(c, raw_expect_eof(c, RAW_WAIT_MS));
	raw_close(c);
}

Test(close_flush, a_half_closed_publisher_reaches_other_subscribers_too)
{
	struct raw_conn *sub = itest_raw(ITEST_QUIET);
	ITEST_SEND(sub, "SUB x 9\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	struct raw_conn *c = publish_to_self("");
	ITEST_RAW_OK(c, raw_shutdown_write(c));
	expect_own(c);
	expect_own(sub);
	raw_close(c);
	raw_close(sub);
}
