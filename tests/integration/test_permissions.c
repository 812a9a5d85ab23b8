/* Per-user permissions from one configuration file, the same for both
 * servers (nats-server 2.9.10's answers in ../shared/NATS-CONFIG-NOTES.md):
 * publish and subscribe as a subject, a list or {allow, deny}; queue
 * entries; allow_responses; default_permissions. Each violation is one
 * -ERR with nats-server's text, the connection stays up, and a denied
 * subject inside an allowed pattern is never delivered. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/integration/nats_sign.h"

TestSuite(permissions, .fini = itest_teardown, .timeout = 60);

static const char conf[] =
    "authorization {\n"
    "  users = [\n"
    "    {user: pub, password: p, permissions: {publish: \"foo.>\", subscribe: \"_INBOX.>\"}}\n"
    "    {user: mix, password: m, permissions: {\n"
    "       publish: [\"a\", \"b.*\"], subscribe: {allow: \"x.>\", deny: \"x.secret\"}}}\n"
    "    {user: wrk, password: w, permissions: {subscribe: [\"jobs.* workers\", \"plain\"]}}\n"
    "    {user: svc, password: s, permissions: {subscribe: \"svc\",\n"
    "       allow_responses: {max: 2, expires: \"1s\"}}}\n"
    "    {user: all, password: a, permissions: {}}\n"
    "  ]\n"
    "}\n";

static void start(const char *text)
{
	struct harness_opts opts = {.config = text};
	itest_start(&opts);
}

static struct raw_conn *login(const char *user, const char *pass)
{
	char json[160];
	snprintf(json, sizeof json,
	         "{\"verbose\":false,\"pedantic\":false,\"user\":\"%s\",\"pass\":\"%s\"}", user,
	         pass);
	return itest_raw(json);
}

/* Sends @ops then PING, and reads to the PONG: the -ERR lines in between
 * are joined into @errs ("" when none). Fails the test if the connection
 * closes (a violation must keep it). */
static void roundtrip(struct raw_conn *c, const char *ops, char *errs, size_t cap)
{
	ITEST_RAW_OK(c, raw_send_str(c, ops));
	ITEST_RAW_OK(c, raw_send_str(c, "PING\r\n"));
	errs[0] = 0;
	char line[512];
	for (;;) {
		ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
		if (!strcmp(line, "PONG"))
			return;
		if (!strncmp(line, "-ERR", 4)) {
			size_t n = strlen(errs);
			snprintf(errs + n, cap - n, "%s%s", n ? "|" : "", line);
		}
	}
}

#define PUB_VIOLATION(s) "-ERR 'Permissions Violation for Publish to \"" s "\"'"
#define SUB_VIOLATION(s) "-ERR 'Permissions Violation for Subscription to \"" s "\"'"

Test(permissions, publish_outside_the_allow_list_is_refused_and_the_connection_stays)
{
	start(conf);
	struct raw_conn *c = login("pub", "p");
	char errs[1024];
	roundtrip(c, "PUB foo.bar 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	roundtrip(c, "PUB bar 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("bar"));
	roundtrip(c, "PUB bar 1\r\nx\r\nPUB bar 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("bar") "|" PUB_VIOLATION("bar"), "one -ERR each time");
	roundtrip(c, "PUB foo.baz 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "", "still connected and allowed");
	raw_close(c);
}

Test(permissions, a_subscription_must_lie_inside_an_allowed_pattern)
{
	start(conf);
	struct raw_conn *c = login("pub", "p");
	char errs[1024];
	roundtrip(c, "SUB _INBOX.* 1\r\nSUB _INBOX.a.b 2\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	roundtrip(c, "SUB > 3\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, SUB_VIOLATION(">"));
	roundtrip(c, "SUB foo.bar 4\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, SUB_VIOLATION("foo.bar"));
	raw_close(c);
}

Test(permissions, deny_wins_and_a_denied_subject_is_not_delivered_inside_an_allowed_pattern)
{
	start(conf);
	struct raw_conn *m = login("mix", "m"), *a = login("all", "a");
	char errs[1024];
	roundtrip(m, "SUB x.> 1\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	roundtrip(m, "SUB x.secret 2\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, SUB_VIOLATION("x.secret"));
	roundtrip(a, "PUB x.secret 1\r\ns\r\nPUB x.open 1\r\no\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	struct raw_msg msg;
	ITEST_RAW_OK(m, raw_read_msg(m, &msg, RAW_WAIT_MS));
	cr_expect_str_eq(msg.subject, "x.open", "x.secret must not be delivered, got %s",
	                 msg.subject);
	raw_msg_fini(&msg);
	roundtrip(m, "PUB a 1\r\nx\r\nPUB b.c 1\r\nx\r\nPUB b 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("b"), "a list: a and b.* only");
	raw_close(a);
	raw_close(m);
}

Test(permissions, a_queue_entry_allows_only_that_queue)
{
	start(conf);
	struct raw_conn *c = login("wrk", "w");
	char errs[1024];
	roundtrip(c, "SUB jobs.a workers 1\r\nSUB plain 2\r\nSUB plain any 3\r\n", errs,
	          sizeof errs);
	cr_expect_str_eq(errs, "");
	roundtrip(c, "SUB jobs.a other 4\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "-ERR 'Permissions Violation for Subscription to \"jobs.a\" using "
	                       "queue \"other\"'");
	roundtrip(c, "SUB jobs.a 5\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, SUB_VIOLATION("jobs.a"));
	raw_close(c);
}

Test(permissions, allow_responses_lets_a_responder_answer_max_times_within_expires)
{
	start(conf);
	struct raw_conn *s = login("svc", "s"), *a = login("all", "a");
	char errs[1024];
	roundtrip(s, "SUB svc 1\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	roundtrip(a,
	          "SUB _INBOX.r.* 9\r\nPUB svc _INBOX.r.1 1\r\nq\r\nPUB svc _INBOX.r.2 1\r\nq\r\n",
	          errs, sizeof errs);
	struct raw_msg msg;
	for (int i = 0; i < 2; i++) {
		ITEST_RAW_OK(s, raw_read_msg(s, &msg, RAW_WAIT_MS));
		raw_msg_fini(&msg);
	}
	/* publishing is denied but for the replies; two replies to one request */
	roundtrip(s, "PUB other 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("other"));
	roundtrip(s, "PUB _INBOX.r.1 1\r\n1\r\nPUB _INBOX.r.1 1\r\n2\r\nPUB _INBOX.r.1 1\r\n3\r\n",
	          errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("_INBOX.r.1"), "the third reply is refused");
	for (int i = 0; i < 2; i++) {
		ITEST_RAW_OK(a, raw_read_msg(a, &msg, RAW_WAIT_MS));
		cr_expect_str_eq(msg.subject, "_INBOX.r.1");
		raw_msg_fini(&msg);
	}
	/* the other request's reply, after its 1 s: refused */
	usleep(1500 * 1000);
	roundtrip(s, "PUB _INBOX.r.2 4\r\nlate\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("_INBOX.r.2"));
	raw_close(a);
	raw_close(s);
}

Test(permissions, default_permissions_apply_to_users_without_their_own)
{
	start("authorization {\n"
	      "  default_permissions: {publish: \"def.>\"}\n"
	      "  users = [ {user: d, password: d}\n"
	      "            {user: own, password: o, permissions: {publish: \"own\"}} ]\n"
	      "}\n");
	struct raw_conn *d = login("d", "d"), *o = login("own", "o");
	char errs[1024];
	roundtrip(d, "PUB def.x 1\r\nx\r\nPUB own 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("own"));
	roundtrip(o, "PUB own 1\r\nx\r\nPUB def.x 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("def.x"));
	raw_close(o);
	raw_close(d);
}

Test(permissions, verbose_clients_get_the_err_instead_of_ok)
{
	start(conf);
	struct raw_conn *c =
	    itest_raw("{\"verbose\":true,\"pedantic\":false,\"user\":\"pub\",\"pass\":\"p\"}");
	ITEST_RAW_OK(c, raw_send_str(c, "PUB bar 1\r\nx\r\nPUB foo.a 1\r\nx\r\nPING\r\n"));
	char line[256];
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
	cr_expect_str_eq(line, PUB_VIOLATION("bar"));
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
	cr_expect_str_eq(line, "+OK");
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
	cr_expect_str_eq(line, "PONG");
	raw_close(c);
}

/* ---- NKeys ---- */

/* The key pair of seed bytes 0..31 (../shared/NATS-CONFIG-NOTES.md). */
#define NKEY_SEED "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y"
#define NKEY_PUB  "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK"

static const char nkey_conf[] = "authorization { users: [\n"
                                "  {nkey: " NKEY_PUB ", permissions: {publish: \"n.>\"}}\n"
                                "  {user: plain, password: p}\n"
                                "] }\n";

Test(permissions, an_nkey_user_logs_in_with_libnats_and_keeps_its_permissions)
{
	start(nkey_conf);
	/* signed by nats_sign.c: libnats 3.4.1 drops 1 signature in 256 */
	static struct nsign sign;
	natsOptions *o = NULL;
	ITEST_NATS_OK(natsOptions_Create(&o));
	ITEST_NATS_OK(nsign_use_nkey(o, &sign, NKEY_PUB, NKEY_SEED));
	natsConnection *nc = itest_nats(o);
	natsOptions_Destroy(o);
	ITEST_NATS_OK(natsConnection_PublishString(nc, "n.x", "ok"));
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, 5000));
	/* a plain user still logs in beside it; INFO carries a 15-character nonce */
	struct raw_conn *c = itest_raw_open();
	char info[2048];
	ITEST_RAW_OK(c, raw_handshake(c, "{\"verbose\":false,\"user\":\"plain\",\"pass\":\"p\"}",
	                              info, sizeof info));
	const char *n = strstr(info, "\"nonce\":\"");
	cr_assert_not_null(n, "%s", info);
	const char *end = strchr(n + 9, '"');
	cr_expect_eq(end - (n + 9), 15, "%s", info);
	raw_close(c);
}

/* A wrong or missing signature is refused as nats-server refuses it. */
Test(permissions, an_nkey_login_with_a_bad_signature_is_refused)
{
	start(nkey_conf);
	static const char *const bad[] = {
	    "{\"verbose\":false,\"nkey\":\"" NKEY_PUB "\",\"sig\":\""
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "\"}",
	    "{\"verbose\":false,\"nkey\":\"" NKEY_PUB "\"}",
	    "{\"verbose\":false,\"nkey\":\"UNKNOWN\",\"sig\":\"AAAA\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct raw_conn *c = itest_raw_open();
		char line[256];
		ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS)); /* INFO */
		ITEST_RAW_OK(c, raw_sendf(c, "CONNECT %s\r\nPING\r\n", bad[i]));
		ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
		cr_expect_str_eq(line, "-ERR 'Authorization Violation'", "case %zu", i);
		raw_close(c);
	}
}

/* no_auth_user: a client without credentials is that user, with its
 * permissions; INFO says no authentication is needed; wrong credentials
 * still fail. */
Test(permissions, a_client_without_credentials_becomes_the_no_auth_user)
{
	start("no_auth_user: anon\n"
	      "authorization { users: [\n"
	      "  {user: anon, password: x, permissions: {publish: \"a.>\"}}\n"
	      "  {user: full, password: f}\n"
	      "] }\n");
	struct raw_conn *c = itest_raw_open();
	char info[2048], errs[512];
	ITEST_RAW_OK(c,
	             raw_handshake(c, "{\"verbose\":false,\"pedantic\":false}", info, sizeof info));
	cr_expect_null(strstr(info, "auth_required"), "%s", info);
	roundtrip(c, "PUB a.x 1\r\nx\r\nPUB b 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, PUB_VIOLATION("b"), "the no_auth_user's permissions");
	raw_close(c);
	struct raw_conn *f = login("full", "f");
	roundtrip(f, "PUB b 1\r\nx\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	raw_close(f);
	c = itest_raw_open();
	char line[256];
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
	ITEST_RAW_OK(c,
	             raw_send_str(c, "CONNECT {\"verbose\":false,\"user\":\"full\",\"pass\":\"no\"}"
	                             "\r\nPING\r\n"));
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
	cr_expect_str_eq(line, "-ERR 'Authorization Violation'");
	raw_close(c);
}

/* A reload that changes a user's permissions applies to the connected
 * client: a subscription no longer allowed is removed and the client told
 * (nats-server 2.9.10: "... Subscription to \"a.x\" (sid \"1\")"). */
Test(permissions, a_reload_applies_new_permissions_to_connected_clients)
{
	start("authorization { users: [ {user: u, password: p, permissions: {subscribe: \"a.>\", "
	      "publish: \">\"}} ] }\n");
	struct raw_conn *c = login("u", "p");
	char errs[1024];
	roundtrip(c, "SUB a.x 1\r\nSUB a.y 2\r\n", errs, sizeof errs);
	cr_expect_str_eq(errs, "");
	FILE *f = fopen(itest_srv.conf_path, "w");
	cr_assert_not_null(f);
	fputs("authorization { users: [ {user: u, password: p, permissions: {subscribe: [\"b.>\", "
	      "\"a.y\"], publish: \">\"}} ] }\n",
	      f);
	fclose(f);
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	char line[512];
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, 10000));
	cr_expect_str_eq(line,
	                 "-ERR 'Permissions Violation for Subscription to \"a.x\" (sid \"1\")'");
	/* a.x is no longer delivered, a.y still is, and b.* may be subscribed now */
	ITEST_RAW_OK(c,
	             raw_send_str(c, "SUB b.z 3\r\nPUB a.x 1\r\nx\r\nPUB a.y 1\r\ny\r\nPING\r\n"));
	char seen[256] = "";
	for (;;) {
		ITEST_RAW_OK(c, raw_read_line(c, line, sizeof line, RAW_WAIT_MS));
		if (!strcmp(line, "PONG"))
			break;
		if (!strncmp(line, "MSG ", 4) || !strncmp(line, "-ERR", 4))
			snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "[%.60s]", line);
	}
	cr_expect_str_eq(seen, "[MSG a.y 2 1]");
	raw_close(c);
}

/* Reply subjects that servers hand out ("_R_." of service imports, "_GR_."
 * of gateways, "$JS.ACK." of JetStream) are refused from any client, with
 * or without permissions; the message is dropped, the connection kept. */
Test(permissions, reserved_reply_subjects_are_refused_from_clients)
{
	start(conf);
	struct raw_conn *c = login("all", "a"), *sub = login("all", "a");
	char errs[1024];
	roundtrip(sub, "SUB r 1\r\n", errs, sizeof errs);
	roundtrip(c,
	          "PUB r _R_.abc 1\r\nx\r\nPUB r _GR_.abc 1\r\ny\r\n"
	          "PUB r $JS.ACK.a.b 1\r\nz\r\nPUB r _R_ 1\r\nw\r\n",
	          errs, sizeof errs);
	cr_expect_str_eq(errs,
	                 "-ERR 'Permissions Violation for Publish with Reply of \"_R_.abc\"'|"
	                 "-ERR 'Permissions Violation for Publish with Reply of \"_GR_.abc\"'|"
	                 "-ERR 'Permissions Violation for Publish with Reply of \"$JS.ACK.a.b\"'");
	struct raw_msg msg;
	ITEST_RAW_OK(sub, raw_read_msg(sub, &msg, RAW_WAIT_MS));
	cr_expect_str_eq(msg.data, "w", "only the message with reply _R_ (no dot) is delivered");
	raw_msg_fini(&msg);
	raw_close(sub);
	raw_close(c);
}

/* A reload that removes a user closes its connections; one that changes a
 * user's password answers its connections -ERR 'Authorization Violation'
 * and closes them; a user whose entry did not change stays connected (and
 * is not checked again), as nats-server does. */
Test(permissions, a_reload_closes_removed_users_and_changed_passwords)
{
	start("authorization { users: [ {user: u1, password: p1}, {user: u2, password: p2},\n"
	      "  {user: u3, password: p3} ] }\n");
	struct raw_conn *c1 = login("u1", "p1"), *c2 = login("u2", "p2"), *c3 = login("u3", "p3");
	char errs[256];
	roundtrip(c3, "SUB keep 1\r\n", errs, sizeof errs);
	FILE *f = fopen(itest_srv.conf_path, "w");
	cr_assert_not_null(f);
	fputs("authorization { users: [ {user: u2, password: changed}, {user: u3, password: p3} ] "
	      "}\n",
	      f);
	fclose(f);
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	/* u1 is gone: closed (nothing required before the close) */
	char line[256];
	ssize_t r;
	while ((r = raw_read_line(c1, line, sizeof line, 10000)) > 0)
		;
	cr_expect_neq(r, -ETIMEDOUT, "the removed user's connection stayed open");
	/* u2's password changed: told, then closed */
	ITEST_RAW_OK(c2, raw_read_line(c2, line, sizeof line, 10000));
	cr_expect_str_eq(line, "-ERR 'Authorization Violation'");
	cr_expect_eq(raw_expect_eof(c2, 10000), 0, "u2 was not closed");
	/* u3 is unchanged: still served */
	ITEST_RAW_OK(c3, raw_send_str(c3, "PUB keep 1\r\nx\r\n"));
	struct raw_msg m;
	ITEST_RAW_OK(c3, raw_read_msg(c3, &m, RAW_WAIT_MS));
	cr_expect_str_eq(m.subject, "keep");
	raw_msg_fini(&m);
	raw_close(c1);
	raw_close(c2);
	raw_close(c3);
}
