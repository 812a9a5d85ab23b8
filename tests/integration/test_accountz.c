/* Accounts in monitoring, against both servers: /connz?auth=1 (each
 * connection's authorized_user and account), /accountz (the list, one
 * account's detail, 400 for an unknown one), /varz's system_account and,
 * on ringbus, the per-account gauges of /metrics.
 *
 * Where the servers differ, each test says what each one shows: without
 * accounts { } nats-server still has a system account "$SYS", ringbus none;
 * nats-server counts its own internal subscriptions in an account's, and
 * shows a token as the authorized user, which ringbus never shows.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/http_get.h"
#include "tests/integration/itest.h"
#include "tests/router/prom_check.h"
#include "tests/json_member.h"

static uint16_t mon_port;

TestSuite(accountz, .fini = itest_teardown, .timeout = 120);

static bool is_ringbus(void)
{
	return itest_srv.kind == HARNESS_RINGBUS;
}

/* GETs @path and expects @status. Returns the 200 body parsed as JSON
 * (owned by the caller); with @keep, hands the response over there instead
 * and returns NULL. */
static cJSON *get(const char *path, int status, struct http_resp *keep)
{
	struct http_resp r;
	int ret = http_request(mon_port, "GET", path, &r);
	cr_assert_eq(ret, 0, "GET %s: %s", path, strerror(-ret));
	cr_assert_eq(r.status, status, "GET %s: status %d, body %s", path, r.status, r.body);
	cJSON *j = NULL;
	if (keep) {
		*keep = r;
		return NULL;
	}
	if (status == 200) {
		j = cJSON_Parse(r.body);
		cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
	}
	http_resp_fini(&r);
	return j;
}

/* Waits (bounded) until the server has closed the connection the harness
 * opened to see it accept, so that the tests count only their own. */
static void wait_no_connections(void)
{
	for (int i = 0; i < HTTP_WAIT_MS / 10; i++) {
		cJSON *j = get("/varz", 200, NULL);
		bool idle = num(j, "connections") == 0;
		cJSON_Delete(j);
		if (idle)
			return;
		usleep(10000);
	}
	cr_assert_fail("the server still counts connections before the test opened any");
}

/* Starts the server with monitoring and @config (may be NULL). */
static void start(const char *config)
{
	mon_port = itest_start_monitored(NULL, config);
	cr_assert_eq(http_wait_listening(mon_port, HTTP_WAIT_MS), 0, "monitoring never listened");
	wait_no_connections();
}

/* A raw client named @name logged in as @user (NULL: no credentials, or
 * @user as a token when @pass is NULL), with a subscription to each of
 * @subs (NULL-terminated, may be NULL). */
static struct raw_conn *client(const char *name, const char *user, const char *pass,
                               const char *const *subs)
{
	char json[256];
	int n = snprintf(json, sizeof json, "{\"verbose\":false,\"pedantic\":false,\"name\":\"%s\"",
	                 name);
	if (user && pass)
		n += snprintf(json + n, sizeof json - (size_t)n, ",\"user\":\"%s\",\"pass\":\"%s\"",
		              user, pass);
	else if (user)
		n += snprintf(json + n, sizeof json - (size_t)n, ",\"auth_token\":\"%s\"", user);
	snprintf(json + n, sizeof json - (size_t)n, "}");
	struct raw_conn *c = itest_raw(json);
	for (int i = 0; subs && subs[i]; i++)
		ITEST_RAW_OK(c, raw_sendf(c, "SUB %s %d\r\n", subs[i], i + 1));
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	return c;
}

/* The connection named @name in /connz body @j. */
static const cJSON *conn_named(const cJSON *j, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, member(j, "connections"))
	{
		const cJSON *n = member(c, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return c;
	}
	cr_assert_fail("no connection named %s", name);
	return NULL;
}

/* Whether array @a holds the string @s. */
static bool has_string(const cJSON *a, const char *s)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, a)
	{
		if (cJSON_IsString(v) && !strcmp(v->valuestring, s))
			return true;
	}
	return false;
}

/* ---- without accounts { } ---- */

Test(accountz, connz_auth_without_authorization_shows_no_user_nor_account)
{
	start(NULL);
	struct raw_conn *c = client("plain", NULL, NULL, NULL);
	const char *const paths[] = {"/connz?auth=1", "/connz?auth=true", "/connz"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		cJSON *j = get(paths[i], 200, NULL);
		const cJSON *k = conn_named(j, "plain");
		cr_expect_null(member(k, "authorized_user"), "%s", paths[i]);
		cr_expect_null(member(k, "account"), "%s: $G is left out", paths[i]);
		cJSON_Delete(j);
	}
	struct http_resp r;
	get("/connz?auth=yes", 400, &r);
	cr_expect_str_eq(r.body, "Error decoding boolean for 'auth': strconv.ParseBool: "
	                         "parsing \"yes\": invalid syntax");
	http_resp_fini(&r);
	raw_close(c);
}

Test(accountz, connz_auth_names_the_users_of_authorization_and_no_account)
{
	start("authorization { users: [{user: u1, password: p1}, {user: u2, password: p2}] }\n"
	      "no_auth_user: u2\n");
	struct raw_conn *a = client("with-user", "u1", "p1", NULL);
	struct raw_conn *b = client("anonymous", NULL, NULL, NULL);
	cJSON *j = get("/connz?auth=1", 200, NULL);
	const cJSON *k = conn_named(j, "with-user");
	cr_expect_str_eq(str(k, "authorized_user"), "u1");
	cr_expect_null(member(k, "account"));
	k = conn_named(j, "anonymous");
	cr_expect_str_eq(str(k, "authorized_user"), "u2", "logged in as the no_auth_user");
	cr_expect_null(member(k, "account"));
	cJSON_Delete(j);
	j = get("/connz", 200, NULL);
	cr_expect_null(member(conn_named(j, "with-user"), "authorized_user"), "only with auth=1");
	cJSON_Delete(j);
	raw_close(a);
	raw_close(b);
}

Test(accountz, connz_auth_shows_a_token_only_on_nats_server)
{
	start("authorization { token: s3cret }\n");
	struct raw_conn *c = client("token", "s3cret", NULL, NULL);
	cJSON *j = get("/connz?auth=1", 200, NULL);
	const cJSON *k = conn_named(j, "token");
	if (is_ringbus())
		cr_expect_null(member(k, "authorized_user"), "ringbus never shows a secret");
	else
		cr_expect_str_eq(str(k, "authorized_user"), "s3cret", "nats-server 2.9.10 does");
	cJSON_Delete(j);
	raw_close(c);
}

Test(accountz, accountz_without_accounts_lists_the_global_account)
{
	start(NULL);
	cJSON *j = get("/accountz", 200, NULL);
	cr_expect_gt(strlen(str(j, "server_id")), 0);
	(void)str(j, "now");
	const cJSON *list = member(j, "accounts");
	cr_expect(has_string(list, "$G"));
	cJSON *v = get("/varz", 200, NULL);
	if (is_ringbus()) {
		cr_expect_eq(cJSON_GetArraySize(list), 1, "$G alone");
		cr_expect_null(member(j, "system_account"), "none unless configured");
		cr_expect_null(member(v, "system_account"));
	} else {
		cr_expect(has_string(list, "$SYS"));
		cr_expect_str_eq(str(j, "system_account"), "$SYS", "nats-server always has one");
		cr_expect_str_eq(str(v, "system_account"), "$SYS");
	}
	cJSON_Delete(v);
	cJSON_Delete(j);
	/* acc= empty is the list too */
	j = get("/accountz?acc=", 200, NULL);
	cr_expect(has_string(member(j, "accounts"), "$G"));
	cr_expect_null(member(j, "account_detail"));
	cJSON_Delete(j);
}

/* The fields of an account's detail both servers show alike. */
static void expect_plain_account(const cJSON *d, const char *name)
{
	cr_expect_str_eq(str(d, "account_name"), name);
	(void)str(d, "update_time");
	cr_expect_not(boolean(d, "expired"));
	cr_expect(boolean(d, "complete"));
	cr_expect_not(boolean(d, "jetstream_enabled"));
	cr_expect_eq(num(d, "leafnode_connections"), 0);
}

/* An account's subscriptions: its clients' on ringbus; nats-server adds its
 * own internal ones (system imports). */
static void expect_subscriptions(const cJSON *d, double clients)
{
	if (is_ringbus())
		cr_expect_eq(num(d, "subscriptions"), clients);
	else
		cr_expect_geq(num(d, "subscriptions"), clients);
}

/* /accountz?acc=@acc once its client_connections is @want, or the last one
 * read after HTTP_WAIT_MS: nats-server takes a closed connection out of
 * /varz before it takes it out of its account (the harness's own probe,
 * seen gone by wait_no_connections(), was once still counted in $G). */
static cJSON *accountz_with_clients(const char *acc, double want)
{
	char path[128];
	snprintf(path, sizeof path, "/accountz?acc=%s", acc);
	for (int i = 0;; i++) {
		cJSON *j = get(path, 200, NULL);
		const cJSON *d = member(j, "account_detail");
		const cJSON *n = member(d, "client_connections");
		if ((cJSON_IsNumber(n) && n->valuedouble == want) || i >= HTTP_WAIT_MS / 10)
			return j;
		cJSON_Delete(j);
		usleep(10000);
	}
}

Test(accountz, accountz_of_the_global_account_counts_its_connections)
{
	start(NULL);
	const char *const one[] = {"g.a", NULL}, *const two[] = {"g.b", "g.c.>", NULL};
	struct raw_conn *a = client("a", NULL, NULL, one);
	struct raw_conn *b = client("b", NULL, NULL, two);
	cJSON *j = accountz_with_clients("$G", 2);
	cr_expect_null(member(j, "accounts"));
	const cJSON *d = member(j, "account_detail");
	cr_assert(cJSON_IsObject(d), "no account_detail");
	expect_plain_account(d, "$G");
	cr_expect_eq(num(d, "client_connections"), 2);
	expect_subscriptions(d, 3);
	cr_expect_null(member(d, "exports"));
	cr_expect_null(member(d, "is_system"));
	cJSON_Delete(j);
	raw_close(a);
	raw_close(b);
}

Test(accountz, accountz_of_an_unknown_account_is_400)
{
	start(NULL);
	struct http_resp r;
	get("/accountz?acc=NOPE", 400, &r);
	cr_expect_str_eq(r.body, "Account NOPE does not exist");
	char type[64] = "";
	http_header(&r, "Content-Type", type, sizeof type);
	cr_expect(strstr(type, "text/plain") != NULL, "%s", type);
	http_resp_fini(&r);
}

/* ---- with accounts { } ---- */

static const char acc_config[] =
    "accounts {\n"
    "  A: { users: [{user: a, password: a}],\n"
    "       exports: [{stream: \"news.>\"}, {service: \"help.>\"}] }\n"
    "  B: { users: [{user: b, password: b}],\n"
    "       imports: [{stream: {account: A, subject: \"news.>\"}, prefix: \"fromA\"},\n"
    "                 {service: {account: A, subject: \"help.>\"}, to: \"ask.>\"}] }\n"
    "  SYS: { users: [{user: sys, password: sys}] }\n"
    "}\n"
    "system_account: SYS\n";

/* Starts the server with the accounts and a client in each: a (2
 * subscriptions), b (1), sys (none); their connections in @c. */
static void start_accounts(struct raw_conn *c[3])
{
	start(acc_config);
	const char *const subs_a[] = {"news.x", "help.>", NULL};
	const char *const subs_b[] = {"fromA.>", NULL};
	c[0] = client("ca", "a", "a", subs_a);
	c[1] = client("cb", "b", "b", subs_b);
	c[2] = client("csys", "sys", "sys", NULL);
}

static void close_all(struct raw_conn *c[3])
{
	for (int i = 0; i < 3; i++)
		raw_close(c[i]);
}

Test(accountz, connz_auth_shows_each_connection_user_and_account)
{
	struct raw_conn *c[3];
	start_accounts(c);
	static const char *const want[][3] = {
	    {"ca", "a", "A"}, {"cb", "b", "B"}, {"csys", "sys", "SYS"}};
	cJSON *j = get("/connz?auth=1", 200, NULL);
	for (size_t i = 0; i < 3; i++) {
		const cJSON *k = conn_named(j, want[i][0]);
		cr_expect_str_eq(str(k, "authorized_user"), want[i][1]);
		cr_expect_str_eq(str(k, "account"), want[i][2]);
	}
	cJSON_Delete(j);
	j = get("/connz", 200, NULL);
	cr_expect_null(member(conn_named(j, "ca"), "account"), "only with auth=1");
	cJSON_Delete(j);
	close_all(c);
}

Test(accountz, accountz_lists_the_accounts_and_the_system_one)
{
	struct raw_conn *c[3];
	start_accounts(c);
	cJSON *j = get("/accountz", 200, NULL);
	cr_expect_str_eq(str(j, "system_account"), "SYS");
	const cJSON *list = member(j, "accounts");
	/* nats-server's order is a map's: compare as a set */
	cr_expect_eq(cJSON_GetArraySize(list), 4);
	static const char *const names[] = {"$G", "A", "B", "SYS"};
	for (size_t i = 0; i < 4; i++)
		cr_expect(has_string(list, names[i]), "no %s", names[i]);
	cJSON_Delete(j);
	j = get("/varz", 200, NULL);
	cr_expect_str_eq(str(j, "system_account"), "SYS");
	cJSON_Delete(j);
	close_all(c);
}

/* The export of @d with subject @subject. */
static const cJSON *export_of(const cJSON *d, const char *subject)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, member(d, "exports"))
	{
		if (!strcmp(str(e, "subject"), subject))
			return e;
	}
	cr_assert_fail("no export %s", subject);
	return NULL;
}

Test(accountz, accountz_detail_shows_connections_and_exports)
{
	struct raw_conn *c[3];
	start_accounts(c);
	cJSON *j = get("/accountz?acc=A", 200, NULL);
	cr_expect_str_eq(str(j, "system_account"), "SYS");
	const cJSON *d = member(j, "account_detail");
	cr_assert(cJSON_IsObject(d), "no account_detail");
	expect_plain_account(d, "A");
	cr_expect_null(member(d, "is_system"));
	cr_expect_eq(num(d, "client_connections"), 1);
	expect_subscriptions(d, 2);
	cr_expect_eq(cJSON_GetArraySize(member(d, "exports")), 2);
	const cJSON *e = export_of(d, "help.>");
	cr_expect_str_eq(str(e, "type"), "service");
	cr_expect_str_eq(str(e, "response_type"), "Singleton");
	e = export_of(d, "news.>");
	cr_expect_str_eq(str(e, "type"), "stream");
	cr_expect_null(member(e, "response_type"));
	cJSON_Delete(j);

	j = get("/accountz?acc=SYS", 200, NULL);
	d = member(j, "account_detail");
	cr_expect(boolean(d, "is_system"));
	cr_expect_eq(num(d, "client_connections"), 1);
	cJSON_Delete(j);
	close_all(c);
}

/* The import of @d from account A with subject @subject (nats-server adds
 * imports of its system account's services: not looked at). */
static const cJSON *import_of(const cJSON *d, const char *subject)
{
	const cJSON *im;
	cJSON_ArrayForEach(im, member(d, "imports"))
	{
		const cJSON *s = member(im, "subject"), *a = member(im, "account");
		if (cJSON_IsString(s) && cJSON_IsString(a) && !strcmp(a->valuestring, "A") &&
		    !strcmp(s->valuestring, subject))
			return im;
	}
	cr_assert_fail("no import %s from A", subject);
	return NULL;
}

Test(accountz, accountz_detail_shows_imports_as_nats_server)
{
	struct raw_conn *c[3];
	start_accounts(c);
	cJSON *j = get("/accountz?acc=B", 200, NULL);
	const cJSON *d = member(j, "account_detail");
	cr_assert(cJSON_IsObject(d), "no account_detail");
	expect_plain_account(d, "B");
	cr_expect_eq(num(d, "client_connections"), 1);
	expect_subscriptions(d, 1);
	cr_expect_null(member(d, "exports"));
	/* a stream: the exporter's subject, and where it appears here */
	const cJSON *im = import_of(d, "news.>");
	cr_expect_str_eq(str(im, "type"), "stream");
	cr_expect_str_eq(str(im, "local_subject"), "fromA.news.>");
	cr_expect_null(member(im, "to"));
	cr_expect_not(boolean(im, "invalid"));
	cr_expect_not(boolean(im, "share"));
	cr_expect_not(boolean(im, "tracking"));
	/* a service: where it is asked here, and the exporter's subject */
	im = import_of(d, "ask.>");
	cr_expect_str_eq(str(im, "type"), "service");
	cr_expect_str_eq(str(im, "to"), "help.>");
	cr_expect_not(boolean(im, "invalid"));
	cJSON_Delete(j);
	close_all(c);
}

/* The value of sample @name{@labels} of /metrics, checked as valid text. */
static double scrape(const char *name, const char *labels)
{
	struct http_resp r;
	get("/metrics", 200, &r);
	char why[256] = "";
	cr_assert_eq(prom_check(r.body, why, sizeof why, NULL), 0, "%s", why);
	double v = -1;
	int ret = prom_value(r.body, name, labels, &v);
	http_resp_fini(&r);
	cr_assert_eq(ret, 0, "no sample %s{%s}", name, labels);
	return v;
}

Test(accountz, metrics_count_each_account_on_ringbus)
{
	if (harness_kind_from_env() != HARNESS_RINGBUS)
		cr_skip_test("ringbus's own /metrics");
	struct raw_conn *c[3];
	start_accounts(c);
	cr_expect_eq(scrape("ringbus_account_connections", "account=\"A\""), 1);
	cr_expect_eq(scrape("ringbus_account_subscriptions", "account=\"A\""), 2);
	cr_expect_eq(scrape("ringbus_account_subscriptions", "account=\"B\""), 1);
	cr_expect_eq(scrape("ringbus_account_connections", "account=\"$G\""), 0);
	close_all(c);
}

Test(accountz, metrics_have_no_account_gauges_without_accounts)
{
	if (harness_kind_from_env() != HARNESS_RINGBUS)
		cr_skip_test("ringbus's own /metrics");
	start(NULL);
	struct http_resp r;
	get("/metrics", 200, &r);
	cr_expect_null(strstr(r.body, "ringbus_account_"));
	http_resp_fini(&r);
}

/* Permission violations are counted in ringbus's /metrics. */
Test(accountz, metrics_count_permission_violations_on_ringbus)
{
	if (harness_kind_from_env() != HARNESS_RINGBUS)
		cr_skip_test("ringbus's own /metrics");
	start("authorization { users: [{user: p, password: p, permissions: {publish: \"ok.>\"}}] "
	      "}\n");
	double before = scrape("ringbus_permission_violations_total", "");
	struct raw_conn *c = itest_raw("{\"verbose\":false,\"user\":\"p\",\"pass\":\"p\"}");
	ITEST_RAW_OK(c, raw_send_str(c, "PUB no.1 1\r\nx\r\nPUB no.2 1\r\nx\r\nPUB ok.1 1\r\nx\r\n"
	                                "SUB no 1\r\nPING\r\n"));
	ITEST_RAW_OK(c, raw_read_until(c, "PONG\r\n", NULL, 0, RAW_WAIT_MS));
	cr_expect_eq(scrape("ringbus_permission_violations_total", "") - before, 2,
	             "two publishes refused (the subscription is allowed)");
	raw_close(c);
}
