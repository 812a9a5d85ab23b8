/* Accounts from one configuration file, the same for both servers
 * (nats-server 2.9.10's answers in ../shared/NATS-CONFIG-NOTES.md, section
 * 5): isolation between accounts and from `$G`, stream imports with a prefix
 * and with `to`, an export restricted to named accounts, no_auth_user
 * naming an account's user, /connz's "account", reloads, and the imports
 * refused at start. Service imports: test_accounts_services.c.
 *
 * "Not delivered" is shown with a sentinel: the forbidden message is sent,
 * then an allowed one, and the first thing received must be the allowed one.
 * Where the forbidden message and the sentinel cannot come from one
 * publisher, the forbidden one's publisher first waits for its PONG. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/http_get.h"
#include "tests/integration/accounts_fixture.h"
#include "tests/integration/itest.h"

TestSuite(accounts, .fini = itest_teardown, .timeout = 120);

/* B publishes on 64 subjects; A's `>` and `*.x`, C's `>` and `$G`'s `>` see
 * none of it, while B's own `*.x` gets all 64 in order. */
Test(accounts, nothing_published_in_one_account_reaches_another)
{
	start(accounts_conf);
	struct raw_conn *a = login("a"), *b = login("b"), *c = login("c"), *g = login("g");
	roundtrip(a, "SUB > 1\r\nSUB *.x 2\r\n");
	roundtrip(c, "SUB > 1\r\n");
	roundtrip(g, "SUB > 1\r\n");
	roundtrip(b, "SUB *.x 1\r\n");
	for (int i = 0; i < N_SUBJECTS; i++) {
		char body[8];
		int len = snprintf(body, sizeof body, "%d", i);
		ITEST_RAW_OK(b, raw_sendf(b, "PUB t%d.x %d\r\n%s\r\n", i, len, body));
	}
	ITEST_SEND(b, "PING\r\n");
	for (int i = 0; i < N_SUBJECTS; i++) {
		struct raw_msg m;
		char subject[16], body[8];
		snprintf(subject, sizeof subject, "t%d.x", i);
		snprintf(body, sizeof body, "%d", i);
		ITEST_RAW_OK(b, raw_read_msg(b, &m, WAIT_MS));
		cr_expect_str_eq(m.subject, subject);
		cr_expect_str_eq(m.data, body);
		raw_msg_fini(&m);
	}
	ITEST_EXPECT(b, "PONG\r\n");
	/* each account's own sentinel, published after B's PONG */
	struct raw_conn *const watchers[] = {a, c, g};
	const char *const names[] = {"A", "C", "$G"};
	for (int i = 0; i < 3; i++) {
		ITEST_SEND(watchers[i], "PUB end 3\r\nend\r\n");
		expect_first(watchers[i], "end", names[i]);
	}
	raw_close(g);
	raw_close(c);
	raw_close(b);
	raw_close(a);
}

/* A, B, C and `$G` subscribe to the same 64 subjects and each publishes on
 * them: every account gets its own 64 messages and nobody else's. */
Test(accounts, the_same_subjects_in_different_accounts_stay_apart)
{
	start(accounts_conf);
	const char *const users[] = {"a", "b", "c", "g"};
	struct raw_conn *conns[4];
	char subs[N_SUBJECTS * 24];
	size_t n = 0;
	for (int i = 0; i < N_SUBJECTS; i++)
		n += (size_t)snprintf(subs + n, sizeof subs - n, "SUB s%d %d\r\n", i, i + 1);
	snprintf(subs + n, sizeof subs - n, "SUB end 100\r\n");
	for (int u = 0; u < 4; u++) {
		conns[u] = login(users[u]);
		roundtrip(conns[u], subs);
	}
	for (int u = 0; u < 4; u++) {
		struct raw_conn *c = conns[u];
		for (int i = 0; i < N_SUBJECTS; i++)
			ITEST_RAW_OK(c, raw_sendf(c, "PUB s%d 1\r\n%s\r\n", i, users[u]));
		ITEST_SEND(c, "PING\r\n");
		for (int i = 0; i < N_SUBJECTS; i++) {
			struct raw_msg m;
			char subject[16];
			snprintf(subject, sizeof subject, "s%d", i);
			ITEST_RAW_OK(c, raw_read_msg(c, &m, WAIT_MS));
			cr_expect_str_eq(m.subject, subject, "user %s", users[u]);
			cr_expect_str_eq(m.data, users[u], "user %s got another's %s", users[u],
			                 m.subject);
			raw_msg_fini(&m);
		}
		ITEST_EXPECT(c, "PONG\r\n");
	}
	/* what the later publishers sent would come before each one's sentinel */
	for (int u = 0; u < 4; u++) {
		ITEST_SEND(conns[u], "PUB end 3\r\nend\r\n");
		expect_first(conns[u], "end", users[u]);
		raw_close(conns[u]);
	}
}

/* ---- stream imports ---- */

/* A's news.tech reaches A's subscriber as itself and B as fromA.news.tech;
 * B's own news.> does not get it (B sees it under the prefix only). */
Test(accounts, a_stream_import_with_a_prefix_delivers_under_the_prefix_only)
{
	start(accounts_conf);
	struct raw_conn *a = login("a"), *a2 = login("a2"), *b = login("b");
	roundtrip(a, "SUB news.tech 1\r\n");
	roundtrip(b, "SUB fromA.> 1\r\nSUB news.> 2\r\n");
	ITEST_SEND(a2, "PUB news.tech 4\r\ntech\r\nPUB news.end 3\r\nend\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(a, raw_read_msg(a, &m, WAIT_MS));
	cr_expect_str_eq(m.subject, "news.tech");
	cr_expect_str_eq(m.data, "tech");
	raw_msg_fini(&m);
	char seen[512];
	collect(b, "fromA.news.end", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "[fromA.news.tech 1 tech]");
	raw_close(b);
	raw_close(a2);
	raw_close(a);
}

/* C imports news.sports as "sports": A's news.sports reaches C as sports,
 * A's news.tech (not imported) not at all. */
Test(accounts, a_stream_import_with_to_maps_the_subject)
{
	start(accounts_conf);
	struct raw_conn *a = login("a"), *c = login("c");
	roundtrip(c, "SUB > 1\r\n");
	ITEST_SEND(a, "PUB news.tech 1\r\nt\r\nPUB news.sports 6\r\nsports\r\n");
	char seen[512], payload[16];
	collect(c, "sports", seen, sizeof seen, payload, sizeof payload);
	cr_expect_str_eq(seen, "", "news.tech must not reach C");
	cr_expect_str_eq(payload, "sports");
	ITEST_SEND(a, "PUB news.sports 2\r\nsp\r\nPUB news.sports.x 1\r\nx\r\n"
	              "PUB news.sports 2\r\nsq\r\n");
	collect(c, "sports", seen, sizeof seen, payload, sizeof payload);
	cr_expect_str_eq(seen, "");
	cr_expect_str_eq(payload, "sp");
	collect(c, "sports", seen, sizeof seen, payload, sizeof payload);
	cr_expect_str_eq(seen, "", "news.sports.x is not news.sports");
	cr_expect_str_eq(payload, "sq");
	raw_close(c);
	raw_close(a);
}

/* priv.> is exported to B only, and B imports priv.x only: priv.x reaches
 * B, priv.y does not; C (not allowed, and no import) gets neither. */
Test(accounts, a_restricted_export_reaches_the_importer_it_names)
{
	start(accounts_conf);
	struct raw_conn *a = login("a"), *b = login("b"), *c = login("c");
	roundtrip(b, "SUB > 1\r\n");
	roundtrip(c, "SUB > 1\r\n");
	ITEST_SEND(a, "PUB priv.y 1\r\ny\r\nPUB priv.x 1\r\nx\r\nPUB news.sports 1\r\ns\r\n");
	char seen[512], payload[16];
	collect(b, "priv.x", seen, sizeof seen, payload, sizeof payload);
	cr_expect_str_eq(seen, "", "priv.y is not imported by B");
	cr_expect_str_eq(payload, "x");
	collect(b, "fromA.news.sports", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "");
	expect_first(c, "sports", "priv.* must not reach C");
	raw_close(c);
	raw_close(b);
	raw_close(a);
}

/* ---- start-up errors ---- */

/* Writes @text to a new temporary file whose name goes to @path. */
static void write_temp(char *path, size_t cap, const char *text)
{
	snprintf(path, cap, "/tmp/ringbus-acc-XXXXXX.conf");
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	size_t len = strlen(text);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* A configuration the server must refuse, and nats-server's words for it. */
struct refusal {
	const char *accounts; /* inside accounts { }, after A and B */
	const char *error;
};

static const struct refusal refusals[] = {
    {"C: { users: [{user: c, password: c}]\n"
     "     imports: [{stream: {account: A, subject: \"priv.>\"}}] }",
     "Error adding stream import \"priv.>\": stream import not authorized"},
    {"C: { users: [{user: c, password: c}]\n"
     "     imports: [{stream: {account: A, subject: \"priv.x\"}}] }",
     "Error adding stream import \"priv.x\": stream import not authorized"},
    {"C: { users: [{user: c, password: c}]\n"
     "     imports: [{service: {account: A, subject: \"priv.x\"}}] }",
     "Error adding service import \"priv.x\": service import not authorized"},
    {"C: { users: [{user: c, password: c}]\n"
     "     imports: [{stream: {account: Z, subject: \"news.>\"}}] }",
     "\"Z\" account not defined for stream import"},
    {"C: { users: [{user: c, password: c}]\n"
     "     imports: [{service: {account: Z, subject: \"help.>\"}}] }",
     "\"Z\" account not defined for service import"},
    {"$G: { users: [{user: c, password: c}] }", "\"$G\" is a Reserved Account"},
    {"\"$G\": { users: [{user: c, password: c}] }", "\"$G\" is a Reserved Account"},
};

/* Each refused configuration makes the server exit non-zero at start with
 * nats-server's text, and -t says the same. (An import with both prefix and
 * to is left out: nats-server 2.9.10 refuses it or not depending on the
 * order Go's map gives the two keys, differently from run to run.) */
Test(accounts, imports_that_are_not_allowed_refuse_the_start)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		char text[1024], path[64], out[4096], port[12];
		snprintf(text, sizeof text,
		         "accounts {\n"
		         "  A: { users: [{user: a, password: a}]\n"
		         "       exports: [{stream: \"news.>\"}, {service: \"help.>\"},\n"
		         "                 {stream: \"priv.>\", accounts: [B]}] }\n"
		         "  B: { users: [{user: b, password: b}] }\n"
		         "  %s\n"
		         "}\n",
		         refusals[i].accounts);
		write_temp(path, sizeof path, text);
		int p = harness_free_port();
		cr_assert_gt(p, 0);
		snprintf(port, sizeof port, "%d", p);
		const char *run[] = {"-c", path, "-a", "127.0.0.1", "-p", port, NULL};
		int r = harness_run(run, out, sizeof out);
		cr_expect(r > 0, "case %zu: exit %d (want non-zero): %s", i, r, out);
		cr_expect(strstr(out, refusals[i].error), "case %zu: want '%s' in: %s", i,
		          refusals[i].error, out);
		const char *check[] = {"-t", "-c", path, NULL};
		r = harness_run(check, out, sizeof out);
		cr_expect(r > 0, "case %zu: -t exit %d (want non-zero): %s", i, r, out);
		cr_expect(strstr(out, refusals[i].error), "case %zu: -t: want '%s' in: %s", i,
		          refusals[i].error, out);
		unlink(path);
	}
}
/* ---- no_auth_user ---- */

/* no_auth_user: a puts a client without credentials in A: INFO does not ask
 * for authentication, it sees A's traffic and its news.* reaches B through
 * the import, B's traffic does not reach it; wrong credentials still fail. */
Test(accounts, a_client_without_credentials_is_in_the_no_auth_users_account)
{
	start(accounts_no_auth_conf);
	struct raw_conn *anon = itest_raw_open();
	char info[2048];
	ITEST_RAW_OK(anon, raw_handshake(anon, ITEST_QUIET, info, sizeof info));
	cr_expect_null(strstr(info, "auth_required"), "%s", info);
	struct raw_conn *a2 = login("a2"), *b = login("b");
	roundtrip(anon, "SUB > 1\r\n");
	roundtrip(a2, "SUB > 1\r\n");
	roundtrip(b, "SUB > 1\r\n");
	ITEST_SEND(anon, "PUB y 1\r\ny\r\nPUB news.anon 1\r\nn\r\n");
	char seen[512];
	collect(b, "fromA.news.anon", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "", "B sees A's news only, under the prefix");
	collect(a2, "news.anon", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "[y 1 y]", "A's user sees the anonymous client's y");
	collect(anon, "news.anon", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "[y 1 y]");
	/* B's own traffic, then A's sentinel */
	ITEST_SEND(b, "PUB z 1\r\nz\r\nPING\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(b, raw_read_msg(b, &m, WAIT_MS));
	cr_expect_str_eq(m.subject, "z");
	raw_msg_fini(&m);
	ITEST_EXPECT(b, "PONG\r\n");
	ITEST_SEND(a2, "PUB end 3\r\nend\r\n");
	expect_first(anon, "end", "the anonymous client");
	expect_first(a2, "end", "A");
	/* wrong credentials are not turned into the no_auth_user */
	struct raw_conn *w = itest_raw_open();
	char line[256];
	ITEST_RAW_OK(w, raw_read_line(w, line, sizeof line, WAIT_MS));
	ITEST_SEND(w, "CONNECT {\"verbose\":false,\"user\":\"b\",\"pass\":\"no\"}\r\nPING\r\n");
	ITEST_RAW_OK(w, raw_read_line(w, line, sizeof line, WAIT_MS));
	cr_expect_str_eq(line, "-ERR 'Authorization Violation'");
	raw_close(w);
	raw_close(b);
	raw_close(a2);
	raw_close(anon);
}

/* ---- monitoring ---- */

static cJSON *get_json(uint16_t port, const char *path)
{
	struct http_resp r;
	int ret = http_request(port, "GET", path, &r);
	cr_assert_eq(ret, 0, "GET %s: %s", path, strerror(-ret));
	cr_assert_eq(r.status, 200, "GET %s: status %d, body %s", path, r.status, r.body);
	cJSON *j = cJSON_Parse(r.body);
	cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
	http_resp_fini(&r);
	return j;
}

/* The "account" of the /connz connection whose authorized_user is @user:
 * "" when the field is absent, NULL when there is no such connection. */
static const char *account_of(const cJSON *j, const char *user)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "connections"))
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "authorized_user");
		if (!cJSON_IsString(u) || strcmp(u->valuestring, user))
			continue;
		const cJSON *acc = cJSON_GetObjectItemCaseSensitive(c, "account");
		return cJSON_IsString(acc) ? acc->valuestring : "";
	}
	return NULL;
}

/* /connz?auth=1 names each client's user and account (none for `$G`);
 * plain /connz shows neither; ?acc=B keeps B's connections only. */
Test(accounts, connz_with_auth_shows_each_connections_account)
{
	uint16_t mon = itest_start_monitored(NULL, accounts_conf);
	cr_assert_eq(http_wait_listening(mon, HTTP_WAIT_MS), 0);
	struct raw_conn *a = login("a"), *b = login("b"), *g = login("g");
	cJSON *j = get_json(mon, "/connz?auth=1");
	const char *acc = account_of(j, "a");
	cr_expect(acc && !strcmp(acc, "A"), "a: %s", acc ? acc : "(no connection)");
	acc = account_of(j, "b");
	cr_expect(acc && !strcmp(acc, "B"), "b: %s", acc ? acc : "(no connection)");
	acc = account_of(j, "g");
	cr_expect(acc && !strcmp(acc, ""), "g ($G) has no account field: %s",
	          acc ? acc : "(no connection)");
	cJSON_Delete(j);
	j = get_json(mon, "/connz");
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "connections"))
	{
		cr_expect_null(cJSON_GetObjectItemCaseSensitive(c, "account"));
		cr_expect_null(cJSON_GetObjectItemCaseSensitive(c, "authorized_user"));
	}
	cJSON_Delete(j);
	j = get_json(mon, "/connz?auth=1&acc=B");
	const cJSON *num = cJSON_GetObjectItemCaseSensitive(j, "num_connections");
	cr_expect(cJSON_IsNumber(num) && num->valueint == 1, "num_connections");
	acc = account_of(j, "b");
	cr_expect(acc && !strcmp(acc, "B"), "acc=B: %s", acc ? acc : "(no connection)");
	cJSON_Delete(j);
	raw_close(g);
	raw_close(b);
	raw_close(a);
}

/* A publish through an import is checked as the subject the client sent:
 * the subject it maps to in the other account is not one the client may
 * now publish to in its own (a check remembered with the wrong subject
 * would let it). */
Test(accounts, an_import_does_not_lend_its_mapped_subject_to_the_publishers_permissions)
{
	start(accounts_conf);
	struct raw_conn *bp = login("bp");
	ITEST_SEND(bp, "PUB ask.q 1\r\nx\r\nPUB help.q 1\r\ny\r\nPUB ask.q 1\r\nz\r\nPING\r\n");
	ITEST_EXPECT(bp, "-ERR 'Permissions Violation for Publish to \"help.q\"'\r\n");
	ITEST_EXPECT(bp, "PONG\r\n");
	raw_close(bp);
}

/* ---- reload ---- */

static void rewrite_config(const char *text)
{
	FILE *f = fopen(itest_srv.conf_path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
}

/* True once user @user (password the same) is let in: the reload that
 * made it was applied. Bounded. */
static bool wait_login(const char *user)
{
	char json[160];
	snprintf(json, sizeof json, "{\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}", user,
	         user);
	for (int i = 0; i < 100; i++) {
		struct raw_conn *c = itest_raw_open();
		char line[256];
		bool in = raw_read_line(c, line, sizeof line, RAW_WAIT_MS) > 0 &&
		          raw_sendf(c, "CONNECT %s\r\nPING\r\n", json) == 0 &&
		          raw_read_line(c, line, sizeof line, RAW_WAIT_MS) > 0 &&
		          !strcmp(line, "PONG");
		raw_close(c);
		if (in)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* A reload changes the accounts of a running server: a new import delivers
 * to a subscriber that was already there, a new account takes logins, and
 * a client whose user moved to another account is closed (it logs in again
 * into the new one), as nats-server does. */
Test(accounts, a_reload_changes_accounts_for_connected_clients)
{
	start("accounts {\n"
	      "  A: { users: [{user: a, password: a}], exports: [{stream: \"news.>\"}] }\n"
	      "  B: { users: [{user: b, password: b}, {user: m, password: m}] }\n"
	      "}\n");
	struct raw_conn *a = login("a"), *b = login("b"), *m = login("m");
	roundtrip(b, "SUB fromA.> 1\r\nSUB b.end 2\r\n");
	roundtrip(a, "PUB news.x 6\r\nbefore\r\n");
	roundtrip(m, "PUB b.end 1\r\ne\r\n");
	expect_first(b, "b.end", "no import yet");
	rewrite_config(
	    "accounts {\n"
	    "  A: { users: [{user: a, password: a}], exports: [{stream: \"news.>\"}] }\n"
	    "  B: { users: [{user: b, password: b}]\n"
	    "       imports: [{stream: {account: A, subject: \"news.>\"}, prefix: fromA}] }\n"
	    "  C: { users: [{user: m, password: m}] }\n"
	    "  D: { users: [{user: d, password: d}] }\n"
	    "}\n");
	cr_assert(wait_login("d"), "the reload was not applied within 10 s");
	/* m moved from B to C: closed (what comes before the close is not checked) */
	char line[256];
	ssize_t r;
	while ((r = raw_read_line(m, line, sizeof line, 10000)) > 0)
		;
	cr_expect_neq(r, -ETIMEDOUT, "the moved user's connection stayed open");
	raw_close(m);
	/* the new import reaches the subscriber that was there before */
	roundtrip(a, "PUB news.x 5\r\nafter\r\n");
	char payload[32];
	char seen[256];
	collect(b, "fromA.news.x", seen, sizeof seen, payload, sizeof payload);
	cr_expect_str_eq(payload, "after");
	/* m, logged in again, is in C now: B's subjects are not its */
	struct raw_conn *m2 = login("m"), *d = login("d");
	roundtrip(m2, "SUB > 1\r\n");
	roundtrip(b, "PUB b.only 1\r\nx\r\n");
	ITEST_SEND(m2, "PUB m.end 1\r\ne\r\n");
	expect_first(m2, "m.end", "B's message reached m in C");
	raw_close(d);
	raw_close(m2);
	raw_close(b);
	raw_close(a);
}
