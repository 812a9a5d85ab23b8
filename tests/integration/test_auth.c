/* Authentication with --user/--pass and --auth: INFO advertises it, wrong or
 * missing credentials get -ERR 'Authorization Violation' and a close, silent
 * clients time out, and libnats connects with the right credentials. */
#include <cjson/cJSON.h>
#include <string.h>

#include "tests/integration/itest.h"

static void start_with_user(void)
{
	static const char *const args[] = {"--user", "alice", "--pass", "s3cret", NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
}

static void start_with_token(void)
{
	static const char *const args[] = {"--auth", "t0ken", NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
}

TestSuite(auth_user, .init = start_with_user, .fini = itest_teardown, .timeout = 60);
TestSuite(auth_token, .init = start_with_token, .fini = itest_teardown, .timeout = 60);

#define VIOLATION "-ERR 'Authorization Violation'\r\n"

/* Connects, checks that INFO requires auth, sends CONNECT json and PING. */
static struct raw_conn *connect_with(const char *json)
{
	char info[8192];
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_line(c, info, sizeof info, RAW_WAIT_MS));
	cr_assert(strncmp(info, "INFO ", 5) == 0, "first line: %s", info);
	cJSON *j = cJSON_Parse(info + 5);
	cr_assert_not_null(j, "INFO is not JSON: %s", info);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "auth_required")),
	          "INFO must say auth_required: %s", info);
	cJSON_Delete(j);
	ITEST_RAW_OK(c, raw_sendf(c, "CONNECT %s\r\nPING\r\n", json));
	return c;
}

static void expect_violation(const char *json)
{
	struct raw_conn *c = connect_with(json);
	cr_assert_eq(raw_expect_str(c, VIOLATION), 0, "CONNECT %s: %s", json, raw_why(c));
	cr_assert_eq(raw_expect_eof(c, RAW_WAIT_MS), 0, "CONNECT %s must close: %s", json,
	             raw_why(c));
	raw_close(c);
}

static void expect_accepted(const char *json)
{
	struct raw_conn *c = connect_with(json);
	cr_assert_eq(raw_expect_str(c, "PONG\r\n"), 0, "CONNECT %s: %s", json, raw_why(c));
	ITEST_SEND(c, "SUB a 1\r\nPUB a 2\r\nok\r\n");
	ITEST_EXPECT(c, "MSG a 1 2\r\nok\r\n");
	raw_close(c);
}

Test(auth_user, right_user_and_password_are_accepted)
{
	expect_accepted(
	    "{\"verbose\":false,\"pedantic\":false,\"user\":\"alice\",\"pass\":\"s3cret\"}");
}

Test(auth_user, missing_or_wrong_credentials_are_refused)
{
	expect_violation("{\"verbose\":false}");
	expect_violation("{\"verbose\":false,\"user\":\"alice\",\"pass\":\"wrong\"}");
	expect_violation("{\"verbose\":false,\"user\":\"bob\",\"pass\":\"s3cret\"}");
	expect_violation("{\"verbose\":false,\"user\":\"alice\"}");
	expect_violation("{\"verbose\":false,\"auth_token\":\"s3cret\"}");
}

Test(auth_user, operations_before_connect_are_refused)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, VIOLATION);
	ITEST_RAW_OK(c, raw_expect_eof(c, RAW_WAIT_MS));
	raw_close(c);
}

Test(auth_user, a_client_that_never_connects_times_out)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_RAW_OK(c, raw_expect(c, "-ERR 'Authentication Timeout'\r\n", 31, 15000));
	ITEST_RAW_OK(c, raw_expect_eof(c, RAW_WAIT_MS));
	raw_close(c);
}

Test(auth_user, libnats_connects_with_user_info_and_fails_without)
{
	natsOptions *opts = NULL;
	ITEST_NATS_OK(natsOptions_Create(&opts));
	ITEST_NATS_OK(natsOptions_SetUserInfo(opts, "alice", "s3cret"));
	natsConnection *nc = itest_nats(opts);
	natsSubscription *sub = itest_sub(nc, "auth.ok", NULL);
	ITEST_NATS_OK(natsConnection_PublishString(nc, "auth.ok", "yes"));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, RAW_WAIT_MS));
	cr_assert_str_eq(natsMsg_GetData(m), "yes");
	natsMsg_Destroy(m);

	natsConnection *bad = NULL;
	ITEST_NATS_OK(natsOptions_SetUserInfo(opts, "alice", "nope"));
	ITEST_NATS_OK(natsOptions_SetURL(opts, itest_srv.url));
	ITEST_NATS_OK(natsOptions_SetAllowReconnect(opts, false));
	natsStatus s = natsConnection_Connect(&bad, opts);
	cr_assert_neq(s, NATS_OK, "a wrong password must not connect");
	natsConnection_Destroy(bad);
	natsOptions_Destroy(opts);
}

Test(auth_token, right_token_is_accepted)
{
	expect_accepted("{\"verbose\":false,\"pedantic\":false,\"auth_token\":\"t0ken\"}");
}

Test(auth_token, missing_or_wrong_token_is_refused)
{
	expect_violation("{\"verbose\":false}");
	expect_violation("{\"verbose\":false,\"auth_token\":\"t0ke\"}");
	expect_violation("{\"verbose\":false,\"user\":\"t0ken\",\"pass\":\"t0ken\"}");
}

Test(auth_token, libnats_connects_with_the_token)
{
	natsOptions *opts = NULL;
	ITEST_NATS_OK(natsOptions_Create(&opts));
	ITEST_NATS_OK(natsOptions_SetToken(opts, "t0ken"));
	natsConnection *nc = itest_nats(opts);
	natsOptions_Destroy(opts);
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, RAW_WAIT_MS));
}
