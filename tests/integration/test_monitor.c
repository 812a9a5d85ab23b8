/* The monitoring endpoint (-m PORT) under real traffic. The nats-server
 * compatible endpoints (/varz, /connz, /subsz, /healthz, 400 and 404) are
 * checked against both servers, so the tests test what nats-server does;
 * ringbus's own endpoints, /metrics (through a Prometheus format checker) and
 * the 405 for other methods are checked against ringbus only. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/http_get.h"
#include "tests/integration/itest.h"
#include "tests/router/prom_check.h"
#include "tests/json_member.h"

#define N_MSGS      100
#define PAYLOAD     "0123456789"
#define START_TRIES 5

static uint16_t mon_port;

/* Waits (bounded) until the server has closed the connection the harness
 * opened to see it accept, so that the tests count only their own. */
static void wait_no_connections(void)
{
	for (int i = 0; i < HTTP_WAIT_MS / 10; i++) {
		struct http_resp r;
		int ret = http_request(mon_port, "GET", "/varz", &r);
		cr_assert_eq(ret, 0, "GET /varz: %s", strerror(-ret));
		cJSON *j = cJSON_Parse(r.body);
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "connections");
		bool idle = cJSON_IsNumber(n) && n->valuedouble == 0;
		cJSON_Delete(j);
		http_resp_fini(&r);
		if (idle)
			return;
		usleep(10000);
	}
	cr_assert_fail("the server still counts connections before the test opened any");
}

/* Starts the server with monitoring on a free port; a port lost to a race
 * makes the server exit at start, and another is tried. */
static void monitor_setup(void)
{
	int r = -EIO;
	for (int i = 0; i < START_TRIES; i++) {
		int p = harness_free_port();
		cr_assert_gt(p, 0, "no free port: %s", strerror(-p));
		char port[12];
		snprintf(port, sizeof port, "%d", p);
		const char *args[] = {"-m", port, NULL};
		struct harness_opts o = {.args = args};
		r = harness_server_start(&itest_srv, &o);
		if (r == 0) {
			mon_port = (uint16_t)p;
			r = http_wait_listening(mon_port, HTTP_WAIT_MS);
			cr_assert_eq(r, 0, "monitoring port %d never accepted", p);
			wait_no_connections();
			return;
		}
		if (r != -ECHILD)
			break;
	}
	cr_assert_fail("cannot start the server with -m: %s", strerror(-r));
}

TestSuite(monitor, .init = monitor_setup, .fini = itest_teardown, .timeout = 120);

static bool is_ringbus(void)
{
	return itest_srv.kind == HARNESS_RINGBUS;
}

/* GETs @path and expects @status. With @keep, hands the response over
 * there and returns NULL; otherwise returns a 200 body parsed as JSON (owned
 * by the caller), or NULL for other statuses. */
static cJSON *get(const char *path, int status, struct http_resp *keep)
{
	struct http_resp r;
	int ret = http_request(mon_port, "GET", path, &r);
	cr_assert_eq(ret, 0, "GET %s: %s", path, strerror(-ret));
	cr_assert_eq(r.status, status, "GET %s: status %d, body %s", path, r.status, r.body);
	if (r.content_length >= 0)
		cr_expect_eq((size_t)r.content_length, r.len, "GET %s: Content-Length", path);
	cJSON *j = NULL;
	if (status == 200 && !keep) {
		j = cJSON_Parse(r.body);
		cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
	}
	if (keep)
		*keep = r;
	else
		http_resp_fini(&r);
	return j;
}

/* A number member read fresh from @path. */
static double fetch(const char *path, const char *key)
{
	cJSON *j = get(path, 200, NULL);
	double v = num(j, key);
	cJSON_Delete(j);
	return v;
}

static void receive(struct raw_conn *c, int n)
{
	for (int i = 0; i < n; i++) {
		struct raw_msg m;
		ITEST_RAW_OK(c, raw_read_msg(c, &m, RAW_WAIT_MS));
		raw_msg_fini(&m);
	}
}

/* Publishes n messages on @subject from @c, reads the @echoed of them that
 * come back to @c itself (they precede the PONG), and waits for the PONG. */
static void publish(struct raw_conn *c, const char *subject, int n, int echoed)
{
	for (int i = 0; i < n; i++)
		ITEST_RAW_OK(
		    c, raw_sendf(c, "PUB %s %zu\r\n%s\r\n", subject, strlen(PAYLOAD), PAYLOAD));
	ITEST_SEND(c, "PING\r\n");
	receive(c, echoed);
	ITEST_EXPECT(c, "PONG\r\n");
}

/* A raw client named @name with @nsubs subscriptions mon.<name>.<i>. */
static struct raw_conn *named_client(const char *name, int nsubs)
{
	char json[160];
	snprintf(json, sizeof json,
	         "{\"verbose\":false,\"pedantic\":false,\"name\":\"%s\",\"lang\":\"itest\","
	         "\"version\":\"9.8.7\"}",
	         name);
	struct raw_conn *c = itest_raw(json);
	for (int i = 0; i < nsubs; i++)
		ITEST_RAW_OK(c, raw_sendf(c, "SUB mon.%s.%d %d\r\n", name, i, i + 1));
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	return c;
}

Test(monitor, healthz_says_ok)
{
	struct http_resp r;
	get("/healthz", 200, &r);
	cJSON *j = cJSON_Parse(r.body);
	cr_assert_not_null(j, "%s", r.body);
	cr_expect_str_eq(str(j, "status"), "ok");
	char type[64];
	cr_expect_gt(http_header(&r, "Content-Type", type, sizeof type), 0);
	cr_expect(strstr(type, "application/json") != NULL, "%s", type);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

Test(monitor, varz_describes_the_server_and_counts_traffic)
{
	cJSON *j = get("/varz", 200, NULL);
	cr_expect_gt(strlen(str(j, "server_id")), 0);
	cr_expect_gt(strlen(str(j, "version")), 0);
	cr_expect_eq(num(j, "port"), itest_srv.port);
	cr_expect_eq(num(j, "max_payload"), 1048576);
	cr_expect_gt(num(j, "max_pending"), 0);
	cr_expect_gt(num(j, "max_connections"), 0);
	cr_expect_eq(num(j, "ping_interval"), 120e9, "nanoseconds, as nats-server");
	cr_expect_eq(num(j, "ping_max"), 2);
	cr_expect_gt(num(j, "mem"), 0);
	cr_expect_geq(num(j, "cores"), 1);
	cr_expect_geq(num(j, "cpu"), 0);
	(void)num(j, "slow_consumers");
	(void)num(j, "subscriptions");
	int y, mo, d, h, mi, s;
	cr_expect_eq(sscanf(str(j, "start"), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s),
	             6, "start is RFC 3339: %s", str(j, "start"));
	cr_expect_eq(sscanf(str(j, "now"), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s), 6);
	cr_expect_eq(str(j, "uptime")[strlen(str(j, "uptime")) - 1], 's');
	double in0 = num(j, "in_msgs"), out0 = num(j, "out_msgs"), inb0 = num(j, "in_bytes");
	double conns0 = num(j, "connections"), total0 = num(j, "total_connections");
	cJSON_Delete(j);

	struct raw_conn *sub = itest_raw(ITEST_QUIET);
	ITEST_SEND(sub, "SUB mon.varz 1\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	struct raw_conn *pub = itest_raw(ITEST_QUIET);
	publish(pub, "mon.varz", N_MSGS, 0);
	receive(sub, N_MSGS);

	j = get("/varz", 200, NULL);
	cr_expect_eq(num(j, "in_msgs") - in0, N_MSGS);
	cr_expect_eq(num(j, "out_msgs") - out0, N_MSGS);
	cr_expect_geq(num(j, "in_bytes") - inb0, N_MSGS * strlen(PAYLOAD));
	cr_expect_eq(num(j, "connections") - conns0, 2);
	cr_expect_eq(num(j, "total_connections") - total0, 2);
	cJSON_Delete(j);
	raw_close(sub);
	raw_close(pub);
}

/* The connection of /connz body @j whose name is @name. */
static const cJSON *conn_named(const cJSON *j, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "connections"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return c;
	}
	cr_assert_fail("no connection named %s", name);
	return NULL;
}

/* The names of the connections in /connz body @j, in order, joined by ','. */
static void names(const cJSON *j, char *out, size_t cap)
{
	out[0] = '\0';
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "connections"))
	{
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? "," : "", str(c, "name"));
	}
}

static uint16_t local_port(struct raw_conn *c)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	cr_assert_eq(getsockname(raw_fd(c), (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

Test(monitor, connz_shows_each_connection_with_its_subscriptions_and_traffic)
{
	struct raw_conn *a = named_client("a", 1);
	struct raw_conn *b = named_client("b", 2);
	struct raw_conn *c = named_client("c", 3);
	publish(a, "mon.nobody", 3, 0);
	publish(b, "mon.b.0", 1, 1); /* b receives its own message */

	cJSON *j = get("/connz", 200, NULL);
	cr_expect_eq(num(j, "num_connections"), 3);
	cr_expect_eq(num(j, "total"), 3);
	cr_expect_eq(num(j, "offset"), 0);
	cr_expect_eq(num(j, "limit"), 1024);
	struct raw_conn *conns[] = {a, b, c};
	const char *const nm[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		const cJSON *o = conn_named(j, nm[i]);
		cr_expect_eq(num(o, "subscriptions"), i + 1, "%s", nm[i]);
		cr_expect_str_eq(str(o, "ip"), "127.0.0.1");
		cr_expect_eq(num(o, "port"), local_port(conns[i]), "%s", nm[i]);
		cr_expect_str_eq(str(o, "lang"), "itest");
		cr_expect_str_eq(str(o, "version"), "9.8.7");
		cr_expect_gt(num(o, "cid"), 0);
		(void)num(o, "pending_bytes");
		(void)str(o, "start");
		(void)str(o, "last_activity");
	}
	cr_expect_eq(num(conn_named(j, "a"), "in_msgs"), 3);
	cr_expect_eq(num(conn_named(j, "a"), "in_bytes"), 3 * strlen(PAYLOAD));
	cr_expect_eq(num(conn_named(j, "b"), "out_msgs"), 1);
	cr_expect_eq(num(conn_named(j, "b"), "out_bytes"), strlen(PAYLOAD));
	cr_expect_eq(num(conn_named(j, "c"), "in_msgs"), 0);
	if (is_ringbus())
		cr_expect_eq(num(conn_named(j, "c"), "drops"), 0);
	cJSON_Delete(j);
	raw_close(a);
	raw_close(b);
	raw_close(c);
}

struct order_case {
	const char *query;
	const char *want; /* names, in order */
	int num, offset, limit;
};

static const struct order_case order_cases[] = {
    {"/connz?sort=cid", "a,b,c", 3, 0, 1024},
    {"/connz?sort=start", "a,b,c", 3, 0, 1024},
    {"/connz?sort=subs", "c,b,a", 3, 0, 1024},
    {"/connz?sort=msgs_from", "a,c,b", 3, 0, 1024},
    {"/connz?sort=bytes_from", "a,c,b", 3, 0, 1024},
    {"/connz?sort=subs&limit=1&offset=1", "b", 1, 1, 1},
    {"/connz?sort=subs&offset=2", "a", 1, 2, 1024},
    {"/connz?limit=2", "a,b", 2, 0, 2},
    {"/connz?offset=5", "", 0, 5, 1024},
    {"/connz?offset=-1&limit=0", "a,b,c", 3, 0, 1024},
};

Test(monitor, connz_sorts_and_pages)
{
	struct raw_conn *a = named_client("a", 1);
	struct raw_conn *b = named_client("b", 2);
	struct raw_conn *c = named_client("c", 3);
	publish(a, "mon.nobody", 3, 0);
	publish(c, "mon.nobody", 2, 0);
	publish(b, "mon.nobody", 1, 0);
	for (size_t i = 0; i < sizeof order_cases / sizeof order_cases[0]; i++) {
		const struct order_case *k = &order_cases[i];
		cJSON *j = get(k->query, 200, NULL);
		char got[64];
		names(j, got, sizeof got);
		cr_expect_str_eq(got, k->want, "%s", k->query);
		cr_expect_eq(num(j, "num_connections"), k->num, "%s", k->query);
		cr_expect_eq(num(j, "total"), 3, "%s", k->query);
		cr_expect_eq(num(j, "offset"), k->offset, "%s", k->query);
		cr_expect_eq(num(j, "limit"), k->limit, "%s", k->query);
		cJSON_Delete(j);
	}
	raw_close(a);
	raw_close(b);
	raw_close(c);
}

struct bad_case {
	const char *query;
	const char *says; /* the 400 body must contain it */
};

static const struct bad_case bad_cases[] = {
    {"/connz?sort=bogus", "bogus"},  {"/connz?sort=stop", "closed connections"},
    {"/connz?limit=x", "limit"},     {"/connz?limit=2.5", "limit"},
    {"/connz?offset=abc", "offset"}, {"/connz?limit=99999999999999999999", "limit"},
};

Test(monitor, connz_answers_bad_parameters_with_400)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct http_resp r;
		get(bad_cases[i].query, 400, &r);
		cr_expect(strstr(r.body, bad_cases[i].says) != NULL, "%s: body '%s'",
		          bad_cases[i].query, r.body);
		http_resp_fini(&r);
	}
}

Test(monitor, unknown_paths_are_404)
{
	static const char *const paths[] = {"/nope", "/connz/", "/varz/x", "/VARZ", "/healthzz"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		get(paths[i], 404, NULL);
}

Test(monitor, subsz_counts_subscriptions_and_matches)
{
	cJSON *j = get("/subsz", 200, NULL);
	double subs0 = num(j, "num_subscriptions"), ins0 = num(j, "num_inserts");
	double rem0 = num(j, "num_removes"), match0 = num(j, "num_matches");
	(void)num(j, "num_cache");
	cJSON_Delete(j);

	struct raw_conn *c = named_client("s", 4);
	ITEST_SEND(c, "UNSUB 1\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	publish(c, "mon.s.1", 1, 1);

	j = get("/subsz", 200, NULL);
	cr_expect_eq(num(j, "num_subscriptions") - subs0, 3);
	cr_expect_eq(num(j, "num_inserts") - ins0, 4);
	cr_expect_eq(num(j, "num_removes") - rem0, 1);
	cr_expect_geq(num(j, "num_matches") - match0, 1);
	double rate = num(j, "cache_hit_rate");
	cr_expect(rate >= 0 && rate <= 1, "cache_hit_rate %f", rate);
	cJSON_Delete(j);
	raw_close(c);
}

/* ---- ringbus only ---- */

static void ringbus_only(void)
{
	if (!is_ringbus())
		cr_skip_test("ringbus's own endpoint or behaviour");
}

Test(monitor, methods_other_than_get_and_head_are_405)
{
	ringbus_only();
	static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		struct http_resp r;
		cr_assert_eq(http_request(mon_port, methods[i], "/varz", &r), 0);
		cr_expect_eq(r.status, 405, "%s: %d", methods[i], r.status);
		char allow[64] = "";
		cr_expect_gt(http_header(&r, "Allow", allow, sizeof allow), 0, "%s", methods[i]);
		cr_expect(strstr(allow, "GET") != NULL, "Allow: %s", allow);
		http_resp_fini(&r);
	}
	struct http_resp r;
	cr_assert_eq(http_request(mon_port, "HEAD", "/varz", &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.len, 0, "HEAD has no body");
	cr_expect_gt(r.content_length, 0, "HEAD tells the body's length");
	http_resp_fini(&r);
}

/* Sums member @key over the objects of array @arr in @path. */
static double sum(const char *path, const char *arr, const char *key, int *n)
{
	cJSON *j = get(path, 200, NULL);
	double s = 0;
	const cJSON *o;
	*n = 0;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, arr))
	{
		s += num(o, key);
		(*n)++;
	}
	cJSON_Delete(j);
	return s;
}

Test(monitor, shardz_and_ioz_count_the_messages_they_carry)
{
	ringbus_only();
	int nsh, nio;
	double sh_msgs0 = sum("/shardz", "shards", "msgs", &nsh);
	double io_in0 = sum("/ioz", "io_threads", "in_msgs", &nio);
	double io_conns0 = sum("/ioz", "io_threads", "connections", &nio);
	cr_expect_eq(nsh, fetch("/shardz", "num_shards"));
	cr_expect_eq(nsh, fetch("/varz", "shards"));
	cr_expect_eq(nio, fetch("/ioz", "num_io_threads"));
	cr_expect_geq(nio, 1);

	struct raw_conn *sub = named_client("z", 1);
	publish(sub, "mon.z.0", N_MSGS, N_MSGS);

	cr_expect_eq(sum("/shardz", "shards", "msgs", &nsh) - sh_msgs0, N_MSGS);
	cr_expect_geq(sum("/shardz", "shards", "deliveries", &nsh), N_MSGS);
	cr_expect_geq(sum("/shardz", "shards", "subscriptions", &nsh), 1);
	cr_expect_eq(sum("/ioz", "io_threads", "in_msgs", &nio) - io_in0, N_MSGS);
	cr_expect_eq(sum("/ioz", "io_threads", "connections", &nio) - io_conns0, 1);
	cr_expect_gt(sum("/ioz", "io_threads", "recv_completions", &nio), 0);
	cr_expect_gt(sum("/ioz", "io_threads", "send_completions", &nio), 0);
	raw_close(sub);
}

Test(monitor, admissionz_lists_the_default_policy)
{
	ringbus_only();
	cJSON *j = get("/admissionz", 200, NULL);
	cr_expect_geq(num(j, "num_policies"), 1);
	const cJSON *p;
	bool found = false;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "policies"))
	{
		static const char *const counters[] = {
		    "admitted",    "deferred",     "deferred_ns", "dropped_new",
		    "dropped_old", "busy_replies", "disconnects", "high_crossings"};
		for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
			(void)num(p, counters[i]);
		(void)str(p, "action");
		found |= !strcmp(str(p, "name"), "default");
	}
	cr_expect(found, "no policy named default");
	cJSON_Delete(j);
}

static double scrape(const char *name, const char *labels, size_t *nsamples)
{
	struct http_resp r;
	get("/metrics", 200, &r);
	char type[96] = "";
	cr_expect_gt(http_header(&r, "Content-Type", type, sizeof type), 0);
	cr_expect(!strncmp(type, "text/plain; version=0.0.4", 25), "Content-Type %s", type);
	char why[256] = "";
	cr_assert_eq(prom_check(r.body, why, sizeof why, nsamples), 0, "%s\n%s", why, r.body);
	double v = -1;
	cr_assert_eq(prom_value(r.body, name, labels, &v), 0, "no %s{%s}", name, labels);
	http_resp_fini(&r);
	return v;
}

Test(monitor, metrics_are_valid_prometheus_text_that_follows_traffic)
{
	ringbus_only();
	size_t n0 = 0, n1 = 0;
	double in0 = scrape("ringbus_in_msgs_total", "", &n0);
	double sh0 = scrape("ringbus_shard_msgs_total", "shard=\"0\"", &n0);
	struct raw_conn *sub = named_client("m", 1);
	publish(sub, "mon.m.0", N_MSGS, N_MSGS);
	cr_expect_eq(scrape("ringbus_in_msgs_total", "", &n1) - in0, N_MSGS);
	cr_expect_geq(scrape("ringbus_out_msgs_total", "", &n1), N_MSGS);
	cr_expect_geq(scrape("ringbus_shard_msgs_total", "shard=\"0\"", &n1), sh0);
	cr_expect_eq(scrape("ringbus_connections", "", &n1), 1);
	cr_expect_geq(scrape("ringbus_io_connections", "io=\"0\"", &n1), 0);
	cJSON *j = get("/admissionz", 200, NULL);
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "policies"), 0);
	char labels[160];
	snprintf(labels, sizeof labels, "policy=\"%s\",action=\"%s\"", str(first, "name"),
	         str(first, "action"));
	cJSON_Delete(j);
	cr_expect_eq(scrape("ringbus_admission_policy_info", labels, &n1), 1);
	cr_expect_eq(n0, n1, "the same series in every scrape");
	raw_close(sub);
}
