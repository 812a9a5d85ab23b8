/* Accounts in the monitoring renderers, on hand-filled snapshots: /connz's
 * auth=1 (authorized_user, account), /accountz's list and detail with
 * exports and imports written as nats-server 2.9.10 writes them, /varz's
 * system_account and the per-account gauges of /metrics. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "router/conf/config.h"
#include "router/monitor/monitor_render.h"
#include "tests/router/prom_check.h"
#include "tests/json_member.h"

#define S  1000000000ull
#define T0 1700000000ull /* 2023-11-14T22:13:20Z */

/* ---- /connz?auth= ---- */

struct auth_case {
	const char *auth;
	int ret;
	bool want;
};

/* Go's strconv.ParseBool, which nats-server reads auth with */
static const struct auth_case auth_cases[] = {
    {NULL, 0, false},         {"", 0, false},        {"1", 0, true},
    {"t", 0, true},           {"T", 0, true},        {"TRUE", 0, true},
    {"true", 0, true},        {"True", 0, true},     {"0", 0, false},
    {"f", 0, false},          {"F", 0, false},       {"FALSE", 0, false},
    {"false", 0, false},      {"False", 0, false},   {"yes", -EINVAL, false},
    {"tRUE", -EINVAL, false}, {"2", -EINVAL, false}, {"true ", -EINVAL, false},
};

Test(monitor_accounts, connz_auth_is_a_boolean_as_go_reads_one)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(auth_cases); i++) {
		const struct monitor_connz_query q = {.auth = auth_cases[i].auth};
		struct monitor_connz_opts o;
		char err[160] = "";
		int r = monitor_connz_parse(&q, &o, err, sizeof(err));
		cr_expect_eq(r, auth_cases[i].ret, "case %zu: returned %d", i, r);
		if (r == 0)
			cr_expect_eq(o.auth, auth_cases[i].want, "case %zu", i);
	}
	const struct monitor_connz_query q = {.auth = "yes"};
	struct monitor_connz_opts o;
	char err[160] = "";
	cr_assert_eq(monitor_connz_parse(&q, &o, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "Error decoding boolean for 'auth': strconv.ParseBool: parsing "
	                      "\"yes\": invalid syntax");
}

/* ---- a snapshot with accounts $G, A, B, SYS ---- */

static struct config_export fx_exports_a[] = {
    {.subject = "news.>"},
    {.subject = "help.>", .service = true, .accounts = {(char *[]){"B", "SYS"}, 2}},
};

static struct config_import fx_imports_b[] = {
    {.service = true, .account = "A", .subject = "help.>", .to = "ask.>"},
    {.account = "A", .subject = "news.>", .prefix = "fromA"},
    {.account = "A", .subject = "news.x", .to = "got.x"},
    {.service = true, .account = "A", .subject = "help.>"},
    {.account = "A", .subject = "news.y"},
    {.account = "GONE", .subject = "old.>"},
};

static struct config_account fx_cfg[] = {
    {.name = "A", .exports = fx_exports_a, .nexports = 2},
    {.name = "B", .imports = fx_imports_b, .nimports = 6},
    {.name = "SYS"},
};

static struct stats_account fx_accounts[] = {
    {.name = "$G", .connections = 1, .subscriptions = 0},
    {.name = "A", .cfg = &fx_cfg[0], .connections = 2, .subscriptions = 5},
    {.name = "B", .cfg = &fx_cfg[1], .connections = 1, .subscriptions = 1},
    {.name = "SYS", .cfg = &fx_cfg[2], .connections = 0, .subscriptions = 0},
};

#define NCONNS 5
static struct stats_conn fx_conns[NCONNS];

static void fx_conn(int i, const char *name, const char *user, uint16_t account)
{
	struct stats_conn *c = &fx_conns[i];
	memset(c, 0, sizeof(*c));
	c->cid = (uint64_t)i + 1;
	c->port = (uint16_t)(1000 + i);
	c->start_ns = T0 * S;
	c->last_activity_ns = T0 * S;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->version, sizeof(c->version), "1.0");
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->account = account;
}

static struct stats fixture(void)
{
	fx_conn(0, "in-a", "a", 1);
	fx_conn(1, "anonymous", "", 0);
	fx_conn(2, "global-user", "u", 0);
	fx_conn(3, "nkey", "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4", 2);
	fx_conn(4, "bad-index", "x", 9); /* an index past the table names no account */
	return (struct stats){
	    .now_ns = (T0 + 60) * S,
	    .start_ns = T0 * S + 5,
	    .server_id = "NTESTSERVERID",
	    .version = "2.9.10",
	    .host = "127.0.0.1",
	    .nconns = NCONNS,
	    .conns = fx_conns,
	    .naccounts = 4,
	    .accounts = fx_accounts,
	    .system_account = "SYS",
	    .account_figures = true,
	};
}

/* Parses a rendered body, freeing it. */
static cJSON *parse_body(char *body)
{
	cr_assert_not_null(body);
	cJSON *j = cJSON_Parse(body);
	cr_assert_not_null(j, "not JSON: %s", body);
	free(body);
	return j;
}

/* The position of member @key among @o's members, or -1. */
static int member_pos(const cJSON *o, const char *key)
{
	int i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, o)
	{
		if (!strcmp(m->string, key))
			return i;
		i++;
	}
	return -1;
}

static cJSON *connz(bool auth)
{
	struct stats st = fixture();
	struct monitor_connz_opts o = {.limit = MONITOR_CONNZ_LIMIT, .auth = auth};
	char *body = NULL;
	cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
	return parse_body(body);
}

Test(monitor_accounts, connz_auth_names_the_user_and_any_account_but_the_global_one)
{
	cJSON *j = connz(true);
	const cJSON *a = member(j, "connections");
	cr_assert_eq(cJSON_GetArraySize(a), NCONNS);
	const cJSON *c = cJSON_GetArrayItem(a, 0);
	cr_expect_str_eq(str(c, "authorized_user"), "a");
	cr_expect_str_eq(str(c, "account"), "A");
	/* where nats-server puts them: after the client's name and version */
	cr_expect_lt(member_pos(c, "version"), member_pos(c, "authorized_user"));
	cr_expect_lt(member_pos(c, "authorized_user"), member_pos(c, "account"));
	c = cJSON_GetArrayItem(a, 1);
	cr_expect_null(member(c, "authorized_user"), "no user: left out");
	cr_expect_null(member(c, "account"), "$G: left out, as nats-server");
	c = cJSON_GetArrayItem(a, 2);
	cr_expect_str_eq(str(c, "authorized_user"), "u");
	cr_expect_null(member(c, "account"));
	c = cJSON_GetArrayItem(a, 3);
	cr_expect_str_eq(str(c, "authorized_user"),
	                 "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4");
	cr_expect_str_eq(str(c, "account"), "B");
	c = cJSON_GetArrayItem(a, 4);
	cr_expect_null(member(c, "account"));
	cJSON_Delete(j);
}

Test(monitor_accounts, connz_without_auth_shows_neither_user_nor_account)
{
	cJSON *j = connz(false);
	const cJSON *c;
	cJSON_ArrayForEach(c, member(j, "connections"))
	{
		cr_expect_null(member(c, "authorized_user"), "cid %g", num(c, "cid"));
		cr_expect_null(member(c, "account"), "cid %g", num(c, "cid"));
	}
	cJSON_Delete(j);
}

/* ---- /accountz ---- */

static cJSON *accountz(const struct stats *st, const char *name)
{
	char *body = NULL;
	cr_assert_eq(monitor_render_accountz(st, name, &body), 0, "acc=%s", name);
	return parse_body(body);
}

/* The array @key of @o as "x,y,z". */
static void names(const cJSON *o, const char *key, char *out, size_t cap)
{
	const cJSON *a = member(o, key);
	cr_assert(cJSON_IsArray(a), "%s is not an array", key);
	size_t n = 0;
	out[0] = '\0';
	const cJSON *v;
	cJSON_ArrayForEach(v, a)
	{
		cr_assert(cJSON_IsString(v));
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", v->valuestring);
	}
}

Test(monitor_accounts, accountz_lists_every_account_and_names_the_system_one)
{
	struct stats st = fixture();
	const char *const asked[] = {NULL, ""}; /* acc= empty is the list, as nats-server */
	for (size_t i = 0; i < RB_ARRAY_LEN(asked); i++) {
		cJSON *j = accountz(&st, asked[i]);
		cr_expect_str_eq(str(j, "server_id"), "NTESTSERVERID");
		cr_expect_str_eq(str(j, "now"), "2023-11-14T22:14:20Z");
		cr_expect_str_eq(str(j, "system_account"), "SYS");
		char list[128];
		names(j, "accounts", list, sizeof(list));
		cr_expect_str_eq(list, "$G,A,B,SYS");
		cr_expect_null(member(j, "account_detail"));
		cJSON_Delete(j);
	}
}

Test(monitor_accounts, accountz_without_accounts_lists_the_global_one_and_no_system_account)
{
	struct stats_account g = {.name = "$G"};
	struct stats st = {.server_id = "N", .naccounts = 1, .accounts = &g};
	cJSON *j = accountz(&st, NULL);
	cr_expect_null(member(j, "system_account"), "ringbus has none unless configured");
	char list[32];
	names(j, "accounts", list, sizeof(list));
	cr_expect_str_eq(list, "$G");
	cJSON_Delete(j);
}

Test(monitor_accounts, accountz_detail_has_nats_server_fields)
{
	struct stats st = fixture();
	cJSON *j = accountz(&st, "A");
	cr_expect_str_eq(str(j, "system_account"), "SYS");
	cr_expect_null(member(j, "accounts"));
	const cJSON *d = member(j, "account_detail");
	cr_assert(cJSON_IsObject(d));
	cr_expect_str_eq(str(d, "account_name"), "A");
	cr_expect_str_eq(str(d, "update_time"), "2023-11-14T22:13:20.000000005Z",
	                 "accounts are made at start");
	cr_expect_null(member(d, "is_system"), "left out when false, as nats-server");
	cr_expect_not(boolean(d, "expired"));
	cr_expect(boolean(d, "complete"));
	cr_expect_not(boolean(d, "jetstream_enabled"));
	cr_expect_eq(num(d, "leafnode_connections"), 0);
	cr_expect_eq(num(d, "client_connections"), 2);
	cr_expect_eq(num(d, "subscriptions"), 5);
	cr_expect_null(member(d, "imports"), "none: left out");
	/* services before streams, as nats-server */
	const cJSON *e = member(d, "exports");
	cr_assert_eq(cJSON_GetArraySize(e), 2);
	const cJSON *x = cJSON_GetArrayItem(e, 0);
	cr_expect_str_eq(str(x, "subject"), "help.>");
	cr_expect_str_eq(str(x, "type"), "service");
	cr_expect_str_eq(str(x, "response_type"), "Singleton");
	char list[32];
	names(x, "approved_accounts", list, sizeof(list));
	cr_expect_str_eq(list, "B,SYS");
	x = cJSON_GetArrayItem(e, 1);
	cr_expect_str_eq(str(x, "subject"), "news.>");
	cr_expect_str_eq(str(x, "type"), "stream");
	cr_expect_null(member(x, "response_type"));
	cr_expect_null(member(x, "approved_accounts"), "anyone may import: left out");
	cJSON_Delete(j);
}

struct import_case {
	const char *subject, *account, *local_subject, *to, *type;
	bool invalid;
};

/* Streams before services, each in the order of the settings. A stream's
 * subject is the exporter's, local_subject where it appears; a service's
 * subject is where it is published here, "to" the exporter's subject. */
static const struct import_case import_cases[] = {
    {"news.>", "A", "fromA.news.>", NULL, "stream", false},
    {"news.x", "A", "got.x", NULL, "stream", false},
    {"news.y", "A", "news.y", NULL, "stream", false},
    {"old.>", "GONE", "old.>", NULL, "stream", true},
    {"ask.>", "A", NULL, "help.>", "service", false},
    {"help.>", "A", NULL, "help.>", "service", false},
};

Test(monitor_accounts, accountz_detail_writes_imports_as_nats_server)
{
	struct stats st = fixture();
	cJSON *j = accountz(&st, "B");
	const cJSON *d = member(j, "account_detail");
	cr_expect_eq(num(d, "client_connections"), 1);
	cr_expect_null(member(d, "exports"), "none: left out");
	const cJSON *a = member(d, "imports");
	cr_assert_eq(cJSON_GetArraySize(a), (int)RB_ARRAY_LEN(import_cases));
	for (size_t i = 0; i < RB_ARRAY_LEN(import_cases); i++) {
		const struct import_case *c = &import_cases[i];
		const cJSON *im = cJSON_GetArrayItem(a, (int)i);
		cr_expect_str_eq(str(im, "subject"), c->subject, "import %zu", i);
		cr_expect_str_eq(str(im, "account"), c->account, "import %zu", i);
		cr_expect_str_eq(str(im, "type"), c->type, "import %zu", i);
		if (c->local_subject)
			cr_expect_str_eq(str(im, "local_subject"), c->local_subject, "import %zu",
			                 i);
		else
			cr_expect_null(member(im, "local_subject"), "import %zu", i);
		if (c->to)
			cr_expect_str_eq(str(im, "to"), c->to, "import %zu", i);
		else
			cr_expect_null(member(im, "to"), "import %zu", i);
		cr_expect_eq(boolean(im, "invalid"), c->invalid, "import %zu", i);
		cr_expect_not(boolean(im, "share"), "import %zu", i);
		cr_expect_not(boolean(im, "tracking"), "import %zu", i);
	}
	cJSON_Delete(j);
}

Test(monitor_accounts, accountz_detail_marks_the_system_account)
{
	struct stats st = fixture();
	cJSON *j = accountz(&st, "SYS");
	const cJSON *d = member(j, "account_detail");
	cr_expect(boolean(d, "is_system"));
	cr_expect_lt(member_pos(d, "update_time"), member_pos(d, "is_system"));
	cr_expect_lt(member_pos(d, "is_system"), member_pos(d, "expired"));
	cr_expect_null(member(d, "exports"));
	cr_expect_null(member(d, "imports"));
	cJSON_Delete(j);
	j = accountz(&st, "$G");
	d = member(j, "account_detail");
	cr_expect_str_eq(str(d, "account_name"), "$G");
	cr_expect_eq(num(d, "client_connections"), 1);
	cr_expect_null(member(d, "is_system"));
	cJSON_Delete(j);
}

Test(monitor_accounts, accountz_of_an_unknown_account_is_enoent)
{
	struct stats st = fixture();
	char *body = (char *)1;
	cr_expect_eq(monitor_render_accountz(&st, "NOPE", &body), -ENOENT);
	cr_expect_null(body);
	cr_expect_eq(monitor_render_accountz(&st, "a", &body), -ENOENT, "names are exact");
}

/* ---- /varz, /metrics ---- */

static const struct monitor_proc fx_proc = {.cores = 1, .http_host = "127.0.0.1"};

Test(monitor_accounts, varz_names_the_system_account_only_when_there_is_one)
{
	struct stats st = fixture();
	char *body = NULL;
	cr_assert_eq(monitor_render_varz(&st, &fx_proc, &body), 0);
	cJSON *j = parse_body(body);
	cr_expect_str_eq(str(j, "system_account"), "SYS");
	cJSON_Delete(j);
	st.system_account = NULL;
	cr_assert_eq(monitor_render_varz(&st, &fx_proc, &body), 0);
	j = parse_body(body);
	cr_expect_null(member(j, "system_account"));
	cJSON_Delete(j);
}

static char *metrics(const struct stats *st)
{
	char *text = NULL;
	cr_assert_eq(monitor_render_metrics(st, &fx_proc, &text), 0);
	char why[256] = "";
	cr_assert_eq(prom_check(text, why, sizeof(why), NULL), 0, "%s\n%s", why, text);
	return text;
}

Test(monitor_accounts, metrics_have_a_gauge_per_account_when_accounts_are_configured)
{
	struct stats st = fixture();
	char *text = metrics(&st);
	static const char *const labels[] = {"account=\"$G\"", "account=\"A\"", "account=\"B\"",
	                                     "account=\"SYS\""};
	for (size_t i = 0; i < RB_ARRAY_LEN(labels); i++) {
		double v = -1;
		cr_expect_eq(prom_value(text, "ringbus_account_connections", labels[i], &v), 0);
		cr_expect_eq(v, fx_accounts[i].connections, "%s", labels[i]);
		cr_expect_eq(prom_value(text, "ringbus_account_subscriptions", labels[i], &v), 0);
		cr_expect_eq(v, (double)fx_accounts[i].subscriptions, "%s", labels[i]);
	}
	free(text);
}

Test(monitor_accounts, metrics_have_no_account_gauges_without_accounts_or_their_figures)
{
	struct stats st = fixture();
	st.account_figures = false;
	char *text = metrics(&st);
	cr_expect_null(strstr(text, "ringbus_account_"), "figures not collected");
	free(text);
	st = fixture();
	st.naccounts = 1;
	text = metrics(&st);
	cr_expect_null(strstr(text, "ringbus_account_"), "$G alone: no accounts configured");
	free(text);
}

/* acc=NAME (monitor.c resolves it to index + 1): that account's connections
 * only, total and num_connections counting them; an unknown one: none. */
Test(monitor_accounts, connz_acc_keeps_one_accounts_connections)
{
	struct stats st = fixture();
	struct monitor_connz_opts o = {.limit = MONITOR_CONNZ_LIMIT, .auth = true, .acc = 0 + 1};
	char *body = NULL;
	cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
	cJSON *j = parse_body(body);
	const cJSON *a = member(j, "connections");
	cr_assert_eq(cJSON_GetArraySize(a), 2, "the two $G connections");
	cr_expect_str_eq(str(cJSON_GetArrayItem(a, 0), "name"), "anonymous");
	cr_expect_str_eq(str(cJSON_GetArrayItem(a, 1), "name"), "global-user");
	cr_expect_eq(member(j, "total")->valueint, 2);
	cJSON_Delete(j);
	o.acc = -1;
	cr_assert_eq(monitor_render_connz(&st, &o, &body), 0);
	j = parse_body(body);
	cr_expect_eq(cJSON_GetArraySize(member(j, "connections")), 0);
	cr_expect_eq(member(j, "total")->valueint, 0);
	cJSON_Delete(j);
}
