/* Limits set in the configuration file, with nats-server's errors: maximum
 * subscriptions per connection (the connection stays), maximum payload and
 * maximum connections (the connection closes; the one refused gets INFO
 * first). Both servers read the same "key: value" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/integration/itest.h"

TestSuite(limits, .fini = itest_teardown, .timeout = 60);

Test(limits, max_subscriptions_refuses_the_next_one_and_keeps_the_connection)
{
	struct harness_opts opts = {.config = "max_subscriptions: 3\n"};
	itest_start(&opts);
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	ITEST_SEND(c, "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	ITEST_SEND(c, "SUB d 4\r\n");
	ITEST_EXPECT(c, "-ERR 'maximum subscriptions exceeded'\r\n");
	/* still open, and the first three still work */
	ITEST_SEND(c, "PUB c 2\r\nhi\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG c 3 2\r\nhi\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	/* after an UNSUB there is room again */
	ITEST_SEND(c, "UNSUB 1\r\nSUB e 5\r\nPUB e 1\r\nx\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG e 5 1\r\nx\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(limits, max_payload_from_the_file_is_advertised_and_enforced)
{
	struct harness_opts opts = {.config = "max_payload: 1024\n"};
	itest_start(&opts);
	struct raw_conn *c = NULL;
	ITEST_RAW_OK(c, raw_connect(itest_srv.port, &c));
	char info[4096];
	ITEST_RAW_OK(c, raw_handshake(c, ITEST_QUIET, info, sizeof info));
	cr_assert(strstr(info, "\"max_payload\":1024"), "INFO does not advertise it: %s", info);
	ITEST_SEND(c, "PUB a 1025\r\n");
	ITEST_EXPECT(c, "-ERR 'Maximum Payload Violation'\r\n");
	ITEST_RAW_OK(c, raw_expect_eof(c, 5000));
	raw_close(c);
}

/* One of the admitted connections. The harness's readiness probe (a connect
 * and close) may still count against the limit for a moment on nats-server,
 * which notices the close asynchronously, so a refusal is retried for a while
 * before it counts as a failure. */
static struct raw_conn *admitted(void)
{
	for (int attempt = 0;; attempt++) {
		struct raw_conn *c = NULL;
		ITEST_RAW_OK(c, raw_connect(itest_srv.port, &c));
		if (raw_handshake(c, ITEST_QUIET, NULL, 0) >= 0)
			return c;
		char why[256];
		snprintf(why, sizeof why, "%s", raw_why(c));
		raw_close(c);
		cr_assert(strstr(why, "maximum connections exceeded") && attempt < 250,
		          "an admitted connection failed its handshake: %s", why);
		nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
	}
}

Test(limits, max_connections_refuses_the_one_over)
{
	struct harness_opts opts = {.config = "max_connections: 4\n"};
	itest_start(&opts);
	struct raw_conn *c[4];
	for (int i = 0; i < 4; i++)
		c[i] = admitted();
	/* The one over the limit gets INFO, which clients parse first, then the
	 * error, then the close. */
	struct raw_conn *extra = NULL;
	ITEST_RAW_OK(extra, raw_connect(itest_srv.port, &extra));
	char line[2048];
	ITEST_RAW_OK(extra, raw_read_line(extra, line, sizeof line, 5000));
	cr_assert(strncmp(line, "INFO {", 6) == 0 && strstr(line, "\"max_payload\":"),
	          "the fifth connection got no INFO first: %s", line);
	ITEST_EXPECT(extra, "-ERR 'maximum connections exceeded'\r\n");
	ITEST_RAW_OK(extra, raw_expect_eof(extra, 5000));
	raw_close(extra);
	/* the four admitted ones still work */
	ITEST_SEND(c[0], "SUB z 1\r\nPING\r\n");
	ITEST_EXPECT(c[0], "PONG\r\n");
	ITEST_SEND(c[3], "PUB z 1\r\nq\r\nPING\r\n");
	ITEST_EXPECT(c[3], "PONG\r\n");
	ITEST_EXPECT(c[0], "MSG z 1 1\r\nq\r\n");
	for (int i = 0; i < 4; i++)
		raw_close(c[i]);
}
