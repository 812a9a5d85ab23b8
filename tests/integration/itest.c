/* Criterion glue for the integration tests: per-test server start and stop,
 * raw and libnats connections, and teardown of what the test left open. */
#include "tests/integration/itest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "tests/integration/nats_sign.h"

#define ITEST_MAX_CONNS       64
#define ITEST_MAX_SUBS        4096
#define ITEST_NATS_TIMEOUT_MS 5000
#define ITEST_CLOSE_WAIT_MS   5000

struct harness_server itest_srv;

/* libnats objects of the running test. Owner: the test's main thread. */
static natsConnection *itest_conns[ITEST_MAX_CONNS];
static size_t itest_nconns;
static natsSubscription *itest_subs[ITEST_MAX_SUBS];
static size_t itest_nsubs;
static bool itest_nats_used;

/* Criterion 2.4 ignores assertions in .fini: report and end the test process
 * abnormally, which Criterion counts as a failure, and print the marker that
 * ctest's FAIL_REGULAR_EXPRESSION also catches. */
__attribute__((format(printf, 1, 2), noreturn)) static void itest_fail_in_teardown(const char *fmt,
                                                                                   ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ITEST TEARDOWN FAILURE: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fflush(stderr);
	abort();
}

void itest_start(const struct harness_opts *opts)
{
	int r = harness_server_start(&itest_srv, opts);
	cr_assert_eq(r, 0, "cannot start the server under test (%s): %s",
	             getenv("RINGBUS_TEST_SERVER") ? getenv("RINGBUS_TEST_SERVER") : "unset",
	             strerror(-r));
}

uint16_t itest_start_monitored(const char *const *args, const char *config)
{
	for (int tries = 0; tries < 5; tries++) {
		int port = harness_free_port();
		cr_assert_gt(port, 0, "no free port: %s", strerror(-port));
		char text[12];
		snprintf(text, sizeof text, "%d", port);
		const char *all[11] = {"-m", text};
		int n = 2;
		for (int i = 0; args && args[i] && n < 10; i++)
			all[n++] = args[i];
		all[n] = NULL;
		struct harness_opts opts = {.args = all, .config = config};
		if (harness_server_start(&itest_srv, &opts) == 0)
			return (uint16_t)port;
	}
	cr_assert_fail("cannot start the server with monitoring");
	return 0;
}

void itest_setup(void)
{
	itest_start(NULL);
}

void itest_teardown(void)
{
	for (size_t i = itest_nsubs; i > 0; i--)
		natsSubscription_Destroy(itest_subs[i - 1]);
	for (size_t i = itest_nconns; i > 0; i--) {
		natsConnection_Close(itest_conns[i - 1]);
		natsConnection_Destroy(itest_conns[i - 1]);
	}
	itest_nsubs = itest_nconns = 0;
	natsStatus closed = NATS_OK;
	if (itest_nats_used)
		closed = nats_CloseAndWait(ITEST_CLOSE_WAIT_MS);
	if (itest_srv.pid <= 0)
		return;
	char why[160];
	int r = harness_server_stop(&itest_srv, why, sizeof why);
	if (r != 0)
		itest_fail_in_teardown("the server under test %s", why);
	if (closed != NATS_OK)
		itest_fail_in_teardown("libnats did not close: %s", natsStatus_GetText(closed));
}

struct raw_conn *itest_raw_open(void)
{
	struct raw_conn *c = NULL;
	int r = raw_connect(itest_srv.port, &c);
	cr_assert_eq(r, 0, "raw connect to port %u: %s", itest_srv.port, strerror(-r));
	return c;
}

struct raw_conn *itest_raw(const char *connect_json)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_handshake(c, connect_json, NULL, 0));
	return c;
}

natsConnection *itest_nats(natsOptions *opts)
{
	natsOptions *own = NULL;
	natsConnection *nc = NULL;
	cr_assert_lt(itest_nconns, (size_t)ITEST_MAX_CONNS, "too many libnats connections");
	itest_nats_used = true;
	if (opts == NULL) {
		ITEST_NATS_OK(natsOptions_Create(&own));
		opts = own;
	}
	ITEST_NATS_OK(natsOptions_SetURL(opts, itest_srv.url));
	ITEST_NATS_OK(natsOptions_SetTimeout(opts, ITEST_NATS_TIMEOUT_MS));
	ITEST_NATS_OK(natsOptions_SetAllowReconnect(opts, false));
	natsStatus s = nsign_connect(&nc, opts);
	natsOptions_Destroy(own);
	cr_assert_eq(s, NATS_OK, "libnats connect to %s: %s", itest_srv.url, natsStatus_GetText(s));
	itest_conns[itest_nconns++] = nc;
	return nc;
}

void itest_track_sub(natsSubscription *sub)
{
	cr_assert_lt(itest_nsubs, (size_t)ITEST_MAX_SUBS, "too many libnats subscriptions");
	itest_subs[itest_nsubs++] = sub;
}

natsSubscription *itest_sub(natsConnection *nc, const char *subject, const char *queue)
{
	natsSubscription *sub = NULL;
	if (queue != NULL)
		ITEST_NATS_OK(natsConnection_QueueSubscribeSync(&sub, nc, subject, queue));
	else
		ITEST_NATS_OK(natsConnection_SubscribeSync(&sub, nc, subject));
	itest_track_sub(sub);
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, ITEST_NATS_TIMEOUT_MS));
	return sub;
}

void itest_certs_make(char *dir, size_t cap, const char *name)
{
	snprintf(dir, cap, "/tmp/ringbus-%s-XXXXXX", name);
	cr_assert_not_null(mkdtemp(dir));
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sh %s %s", RINGBUS_TLS_CERTS_SH, dir);
	cr_assert_eq(system(cmd), 0, "%s failed (is the openssl command installed?)", cmd);
}

void itest_certs_remove(const char *dir)
{
	if (!dir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	int r = system(cmd);
	(void)r;
}
