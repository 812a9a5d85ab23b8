/* Clusters over NATS's route protocol (issue 16): ringbus nodes with each
 * other and beside nats-server nodes, every node on its own loopback ports,
 * clients on different nodes (libnats). Each topology is named by its nodes'
 * kinds: "rr" two ringbus nodes, "nr" nats-server then ringbus, ...; the
 * second node dials the first. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "http_get.h"
#include "multi.h"
#include "raw.h"

#define NODES_MAX 3
#define WAIT_MS   8000 /* interest and routes form well within this on loopback */

struct node {
	struct harness_server srv;
	int mport; /* monitoring port, 0: none */
	enum harness_kind kind;
	int cport;
	char name[16];
	char routes[128];
};

static struct node nodes[NODES_MAX];
static int nnodes;
static const char *node_config; /* every node's configuration file, or NULL */

static void node_start(struct node *n)
{
	char cluster[64];
	snprintf(cluster, sizeof(cluster), "nats://127.0.0.1:%d", n->cport);
	char mport[16];
	const char *args[14] = {"--cluster", cluster, "--cluster_name", "itest", "-n", n->name};
	int k = 6;
	if (n->mport) {
		snprintf(mport, sizeof(mport), "%d", n->mport);
		args[k++] = "-m";
		args[k++] = mport;
	}
	if (n->routes[0]) {
		args[k++] = "--routes";
		args[k++] = n->routes;
	}
	args[k] = NULL;
	struct harness_opts o = {.args = args, .config = node_config};
	int ret = harness_server_start_kind(&n->srv, n->kind, &o);
	cr_assert_eq(ret, 0, "start %s: %d", n->name, ret);
}

/* Starts nodes of @kinds ("rnr": ringbus, nats-server, ringbus); node i > 0
 * dials node @hub (or, with @hub -1, every node before it). */
static void cluster_start(const char *kinds, int hub)
{
	nnodes = (int)strlen(kinds);
	for (int i = 0; i < nnodes; i++) {
		struct node *n = &nodes[i];
		memset(n, 0, sizeof(*n));
		n->kind = kinds[i] == 'r' ? HARNESS_RINGBUS : HARNESS_NATS_SERVER;
		n->cport = harness_free_port();
		cr_assert_gt(n->cport, 0);
		snprintf(n->name, sizeof(n->name), "%c%d", kinds[i], i);
		size_t len = 0;
		for (int j = 0; j < i; j++)
			if (hub < 0 || j == hub)
				len += (size_t)snprintf(n->routes + len, sizeof(n->routes) - len,
				                        "%snats://127.0.0.1:%d", len ? "," : "",
				                        nodes[j].cport);
	}
	for (int i = 0; i < nnodes; i++)
		node_start(&nodes[i]);
}

/* A client of node @i, logged in as @user (password: the same) when not NULL. */
static natsConnection *connect_as(int i, const char *user)
{
	return multi_connect(nodes[i].srv.url, user);
}

static natsConnection *connect_to(int i)
{
	return connect_as(i, NULL);
}

static void teardown(void)
{
	multi_close_all();
	bool ok = true;
	char why[128];
	for (int i = 0; i < nnodes; i++)
		if (nodes[i].srv.pid > 0 && harness_server_stop(&nodes[i].srv, why, sizeof(why))) {
			fprintf(stderr, "ITEST TEARDOWN FAILURE: %s %s\n", nodes[i].name, why);
			ok = false;
		}
	nnodes = 0;
	node_config = NULL;
	cr_expect(ok, "every node stopped cleanly");
}

static void await_route(natsConnection *pub, natsSubscription *sub, const char *subject)
{
	multi_await(pub, sub, subject, WAIT_MS);
}

/* Subscribes on node @at and waits until node @from's client can reach it. */
static natsSubscription *sub_and_wait(natsConnection *at, natsConnection *from, const char *subject,
                                      const char *probe)
{
	natsSubscription *sub = NULL, *p = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, at, subject), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, at, probe), NATS_OK);
	natsConnection_Flush(at);
	await_route(from, p, probe);
	natsSubscription_Destroy(p);
	return sub;
}

static void check_pubsub(int a, int b)
{
	natsConnection *na = connect_to(a), *nb = connect_to(b);
	natsSubscription *sub = sub_and_wait(na, nb, "x.>", "probe.ab");
	for (int i = 0; i < 200; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		cr_assert_eq(natsConnection_PublishString(nb, i % 2 ? "x.odd" : "x.even.n", buf),
		             NATS_OK);
	}
	natsConnection_Flush(nb);
	for (int i = 0; i < 200; i++) {
		natsMsg *m = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK, "message %d of 200",
		             i);
		cr_assert_eq(atoi(natsMsg_GetData(m)), i, "in order across the route");
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
}

static void check_queue_once(int members_at, int other, int pub_at)
{
	natsConnection *m1 = connect_to(members_at), *m2 = connect_to(other);
	natsConnection *pub = connect_to(pub_at);
	natsSubscription *q[4] = {0}, *p = NULL;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(
		    natsConnection_QueueSubscribeSync(&q[i], i < 2 ? m1 : m2, "work", "wq"),
		    NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, m1, "probe.q1"), NATS_OK);
	natsConnection_Flush(m1);
	natsConnection_Flush(m2);
	await_route(pub, p, "probe.q1");
	natsSubscription_Destroy(p);
	cr_assert_eq(natsConnection_SubscribeSync(&p, m2, "probe.q2"), NATS_OK);
	natsConnection_Flush(m2);
	await_route(pub, p, "probe.q2");
	natsSubscription_Destroy(p);
	enum { N = 1000 };
	static bool seen[N];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		natsConnection_PublishString(pub, "work", buf);
	}
	natsConnection_Flush(pub);
	int got = 0, dups = 0;
	int64_t deadline = nats_Now() + 10000;
	for (bool quiet = false; !quiet;) {
		/* until all arrived, then once more to catch a duplicate */
		quiet = got >= N || nats_Now() > deadline;
		for (int i = 0; i < 4; i++) {
			natsMsg *m = NULL;
			while (natsSubscription_NextMsg(&m, q[i], quiet ? 200 : 10) == NATS_OK) {
				int v = atoi(natsMsg_GetData(m));
				if (v >= 0 && v < N) {
					dups += seen[v];
					seen[v] = true;
				}
				got++;
				natsMsg_Destroy(m);
			}
		}
	}
	cr_assert_eq(dups, 0, "each message to one member in the whole cluster");
	cr_assert_eq(got, N, "every message delivered once (got %d of %d)", got, N);
	for (int i = 0; i < 4; i++)
		natsSubscription_Destroy(q[i]);
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	char reply[64];
	const char *v = NULL;
	natsMsgHeader_Get(msg, "X-Id", &v);
	snprintf(reply, sizeof(reply), "re:%s:%s", natsMsg_GetData(msg), v ? v : "-");
	natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
	natsMsg_Destroy(msg);
}

static void check_request(int responder_at, int requester_at)
{
	natsConnection *rs = connect_to(responder_at), *rq = connect_to(requester_at);
	natsSubscription *svc = NULL, *p = NULL;
	cr_assert_eq(
	    natsConnection_QueueSubscribe(&svc, rs, "svc.echo", "workers", on_request, NULL),
	    NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, rs, "probe.req"), NATS_OK);
	natsConnection_Flush(rs);
	await_route(rq, p, "probe.req");
	natsSubscription_Destroy(p);
	for (int i = 0; i < 20; i++) {
		natsMsg *req = NULL, *rep = NULL;
		char data[16], want[64];
		snprintf(data, sizeof(data), "%d", i);
		cr_assert_eq(natsMsg_Create(&req, "svc.echo", NULL, data, (int)strlen(data)),
		             NATS_OK);
		natsMsgHeader_Set(req, "X-Id", "h1");
		natsStatus s = natsConnection_RequestMsg(&rep, rq, req, 5000);
		cr_assert_eq(s, NATS_OK, "request %d across the route: %s", i,
		             natsStatus_GetText(s));
		snprintf(want, sizeof(want), "re:%d:h1", i);
		cr_assert_str_eq(natsMsg_GetData(rep), want, "the reply, headers crossed too");
		natsMsg_Destroy(req);
		natsMsg_Destroy(rep);
	}
	/* nobody anywhere: the requester's node answers no responders at once */
	natsMsg *rep = NULL;
	natsStatus s = natsConnection_RequestString(&rep, rq, "svc.nobody", "x", 3000);
	cr_assert_eq(s, NATS_NO_RESPONDERS, "no responders across the cluster: %s",
	             natsStatus_GetText(s));
	natsSubscription_Destroy(svc);
}

static void check_all(void)
{
	check_pubsub(0, 1);
	check_pubsub(1, 0);
	check_queue_once(1, 1, 0); /* members only on the far node */
	check_queue_once(0, 1, 0); /* members on both: local ones preferred, once each */
	check_request(1, 0);
	check_request(0, 1);
}

TestSuite(cluster, .fini = teardown, .timeout = 120);

Test(cluster, two_ringbus_nodes)
{
	cluster_start("rr", 0);
	check_all();
}

Test(cluster, nats_server_then_ringbus)
{
	cluster_start("nr", 0);
	check_all();
}

Test(cluster, ringbus_then_nats_server)
{
	cluster_start("rn", 0);
	check_all();
}

/* Node 2 knows only node 0; it meets node 1 through gossip, so a message
 * from node 2 reaches a subscriber on node 1 directly (one hop). */
static void check_gossip(const char *kinds)
{
	cluster_start(kinds, 0);
	natsConnection *n1 = connect_to(1), *n2 = connect_to(2);
	natsSubscription *sub = sub_and_wait(n1, n2, "g.x", "probe.g");
	natsConnection_PublishString(n2, "g.x", "hello");
	natsConnection_Flush(n2);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
	cr_assert_str_eq(natsMsg_GetData(m), "hello");
	natsMsg_Destroy(m);
	cr_assert_neq(natsSubscription_NextMsg(&m, sub, 300), NATS_OK, "exactly once");
	natsSubscription_Destroy(sub);
}

Test(cluster, three_ringbus_nodes_meet_by_gossip)
{
	check_gossip("rrr");
}

Test(cluster, two_nats_servers_and_ringbus)
{
	check_gossip("nnr");
}

Test(cluster, nats_server_and_two_ringbus)
{
	check_gossip("nrr");
}

/* A node killed and started again: interest made while it was away reaches
 * it when it returns, and clients learn the other nodes from INFO. */
Test(cluster, node_killed_and_restarted)
{
	cluster_start("rr", 0);
	char info[4096] = "";
	kill(nodes[1].srv.pid, SIGKILL);
	char why[128];
	harness_server_stop(&nodes[1].srv, why, sizeof(why));
	natsConnection *n0 = connect_to(0);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, n0, "back.x"), NATS_OK);
	natsConnection_Flush(n0);
	node_start(&nodes[1]);
	natsConnection *n1 = connect_to(1);
	await_route(n1, sub, "back.x");
	natsSubscription_Destroy(sub);
	/* connect_urls: node 0's INFO lists node 1's client port once the route is up */
	char want[32];
	snprintf(want, sizeof(want), "127.0.0.1:%u", nodes[1].srv.port);
	bool listed = false;
	for (int i = 0; i < 50 && !listed; i++) {
		struct raw_conn *rc = NULL;
		cr_assert_eq(raw_connect(nodes[0].srv.port, &rc), 0);
		if (raw_read_line(rc, info, sizeof(info), 5000) > 0)
			listed = strstr(info, "\"connect_urls\"") && strstr(info, want);
		raw_close(rc);
		if (!listed)
			usleep(100 * 1000);
	}
	cr_assert(listed, "INFO of node 0 lists node 1 in connect_urls: %s", info);
}

/* The top-level number @key of the JSON @body, -1 when there is none. */
static long json_count(const char *body, const char *key)
{
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, key);
	long v = cJSON_IsNumber(n) ? (long)n->valuedouble : -1;
	cJSON_Delete(j);
	return v;
}

/* /routez and /varz on both kinds show the route (ringbus: the same keys
 * nats-server shows, plus the cluster block). */
static void check_routez(const char *kinds)
{
	nnodes = 0;
	cluster_start(kinds, 0);
	/* restart node 0 with monitoring: node 1 dials it again */
	char why[128];
	harness_server_stop(&nodes[0].srv, why, sizeof(why));
	nodes[0].mport = harness_free_port();
	node_start(&nodes[0]);
	cr_assert_eq(http_wait_listening((uint16_t)nodes[0].mport, 5000), 0);
	bool seen = false;
	struct http_resp r;
	for (int64_t end = nats_Now() + WAIT_MS; !seen && nats_Now() < end;) {
		cr_assert_eq(http_request((uint16_t)nodes[0].mport, "GET", "/routez", &r), 0);
		seen = r.body && strstr(r.body, "\"remote_id\"");
		http_resp_fini(&r);
		if (!seen)
			nats_Sleep(100);
	}
	cr_assert(seen, "/routez of %s lists the route", nodes[0].name);
	cr_assert_eq(http_request((uint16_t)nodes[0].mport, "GET", "/varz", &r), 0);
	cr_assert(r.body && strstr(r.body, "\"cluster\"") && strstr(r.body, "\"itest\""),
	          "/varz names the cluster: %s", r.body ? r.body : "");
	http_resp_fini(&r);
	/* The route is no client: /varz counts none and /connz lists none once
	 * the harness's probe connection is gone. */
	bool none = false;
	for (int64_t end = nats_Now() + WAIT_MS; !none && nats_Now() < end;) {
		cr_assert_eq(http_request((uint16_t)nodes[0].mport, "GET", "/varz", &r), 0);
		none = json_count(r.body, "connections") == 0;
		http_resp_fini(&r);
		if (!none)
			nats_Sleep(100);
	}
	cr_assert(none, "/varz of %s counts the route as a client connection", nodes[0].name);
	cr_assert_eq(http_request((uint16_t)nodes[0].mport, "GET", "/connz", &r), 0);
	cr_assert(json_count(r.body, "num_connections") == 0 && !strstr(r.body, "\"cid\""),
	          "/connz lists the route: %s", r.body ? r.body : "");
	http_resp_fini(&r);
}

Test(cluster, routez_and_varz_on_ringbus)
{
	check_routez("rr");
}

Test(cluster, routez_and_varz_on_nats_server)
{
	check_routez("nr");
}

/* ---- queue weights ---- */

/* Node 0 publishes to a group with no member there, 3 members on node 1 and
 * 1 on node 2 (a full mesh of @kinds): nats-server picks a route in
 * proportion to the members it announced (RS+ ... <weight>), so node 1's
 * members get about 3 of 4 messages; every message reaches one member. */
static void check_weights(const char *kinds)
{
	enum { N = 4000 };
	cluster_start(kinds, -1);
	natsConnection *pub = connect_to(0), *b = connect_to(1), *c = connect_to(2);
	natsSubscription *q[4] = {NULL}, *pb = NULL, *pc = NULL;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(natsConnection_QueueSubscribeSync(&q[i], i < 3 ? b : c, "wq.x", "grp"),
		             NATS_OK);
	/* probes subscribed after the members: once node 0 sees them, it has
	 * seen the members' interest, weights included */
	cr_assert_eq(natsConnection_SubscribeSync(&pb, b, "probe.wb"), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&pc, c, "probe.wc"), NATS_OK);
	natsConnection_Flush(b);
	natsConnection_Flush(c);
	await_route(pub, pb, "probe.wb");
	await_route(pub, pc, "probe.wc");
	for (int i = 0; i < N; i++)
		cr_assert_eq(natsConnection_PublishString(pub, "wq.x", "x"), NATS_OK);
	cr_assert_eq(natsConnection_FlushTimeout(pub, WAIT_MS), NATS_OK);
	int got[4] = {0}, total = 0;
	for (int64_t end = nats_Now() + WAIT_MS; total < N && nats_Now() < end;)
		for (int i = 0; i < 4; i++) {
			natsMsg *m = NULL;
			while (natsSubscription_NextMsg(&m, q[i], 50) == NATS_OK) {
				natsMsg_Destroy(m);
				got[i]++;
				total++;
			}
		}
	int at_b = got[0] + got[1] + got[2], at_c = got[3];
	cr_assert_eq(total, N,
	             "%s: every message to one member (got %d: %d on node 1, %d on node 2)", kinds,
	             total, at_b, at_c);
	cr_expect(at_c * 2 < at_b && at_c * 8 > N,
	          "%s: node 1 (3 members) got %d, node 2 (1 member) %d: not in proportion 3:1",
	          kinds, at_b, at_c);
	for (int i = 0; i < 4; i++)
		natsSubscription_Destroy(q[i]);
	natsSubscription_Destroy(pb);
	natsSubscription_Destroy(pc);
}

Test(cluster, queue_weights_on_nats_servers)
{
	check_weights("nnn");
}

Test(cluster, queue_weights_on_ringbus_nodes)
{
	check_weights("rrr");
}

Test(cluster, queue_weights_a_ringbus_node_reads)
{
	check_weights("rnn");
}

Test(cluster, queue_weights_a_ringbus_node_announces)
{
	check_weights("nrr");
}

/* ---- accounts across a route ---- */

/* Each node reads the same accounts: A exports news.> and help.>; B imports
 * news.> under fromA and help.> as ask.>. */
static const char accounts_conf[] =
    "accounts {\n"
    "  A: { users: [{user: a, password: a}]\n"
    "       exports: [{stream: \"news.>\"}, {service: \"help.>\"}] }\n"
    "  B: { users: [{user: b, password: b}]\n"
    "       imports: [{stream: {account: A, subject: \"news.>\"}, prefix: \"fromA\"}\n"
    "                 {service: {account: A, subject: \"help.>\"}, to: \"ask.>\"}] }\n"
    "}\n";

/* The next message of @sub has payload @want (within WAIT_MS). */
static void expect_next(natsSubscription *sub, const char *want, const char *why)
{
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, WAIT_MS), NATS_OK, "%s: nothing came", why);
	cr_expect_str_eq(natsMsg_GetData(m), want, "%s", why);
	natsMsg_Destroy(m);
}

static void on_help(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	char reply[96];
	snprintf(reply, sizeof(reply), "%s:%s", natsMsg_GetSubject(msg), natsMsg_GetData(msg));
	natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
	natsMsg_Destroy(msg);
}

/* Two nodes of @kinds with accounts: a subject of A stays in A across the
 * route, A's stream reaches B on the other node once under its prefix, and
 * B's requests through the service import are answered by A's responder on
 * the other node, both ways round (and one with no responder times out). */
static void check_accounts(const char *kinds)
{
	node_config = accounts_conf;
	cluster_start(kinds, 0);
	natsConnection *a0 = connect_as(0, "a"), *a1 = connect_as(1, "a");
	natsConnection *b0 = connect_as(0, "b"), *b1 = connect_as(1, "b");
	/* isolation: B's x never reaches A's x on the other node */
	natsSubscription *ax = sub_and_wait(a0, a1, "x", "probe.a");
	natsConnection_PublishString(b1, "x", "from b");
	natsConnection_Flush(b1);
	natsConnection_PublishString(a1, "x", "from a");
	natsConnection_Flush(a1);
	expect_next(ax, "from a", "A's subscriber: B's message came first");
	/* the stream import: once, under the prefix, across the route */
	natsSubscription *bs = sub_and_wait(b0, b1, "fromA.news.>", "probe.b");
	for (int i = 0; i < 20; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		natsConnection_PublishString(a1, "news.t", buf);
	}
	natsConnection_Flush(a1);
	for (int i = 0; i < 20; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		expect_next(bs, buf, "imported stream, in order, no duplicate");
	}
	natsMsg *m = NULL;
	cr_expect_neq(natsSubscription_NextMsg(&m, bs, 300), NATS_OK, "a duplicate came");
	natsMsg_Destroy(m);
	/* the service import, responder on either node */
	natsSubscription *h0 = NULL, *h1 = NULL;
	cr_assert_eq(natsConnection_Subscribe(&h0, a0, "help.zero", on_help, NULL), NATS_OK);
	cr_assert_eq(natsConnection_Subscribe(&h1, a1, "help.one", on_help, NULL), NATS_OK);
	natsConnection_Flush(a0);
	natsConnection_Flush(a1);
	for (int i = 0; i < 10; i++) {
		natsConnection *rq = i % 2 ? b0 : b1;
		const char *subj = i % 4 < 2 ? "ask.zero" : "ask.one";
		natsMsg *r = NULL;
		natsStatus st = NATS_TIMEOUT;
		/* the responder's interest may still be crossing at first */
		for (int t = 0; t < 40 && st != NATS_OK; t++)
			st = natsConnection_RequestString(&r, rq, subj, "q", 250);
		cr_assert_eq(st, NATS_OK, "request %d on %s: %s", i, subj, natsStatus_GetText(st));
		char want[64];
		snprintf(want, sizeof(want), "help.%s:q", subj + 4);
		cr_expect_str_eq(natsMsg_GetData(r), want);
		natsMsg_Destroy(r);
	}
	/* a request the import takes that nobody in A answers: no 503 on either
	 * node (nats-server counts the import as its receiver), a timeout */
	for (int i = 0; i < 2; i++) {
		natsMsg *r = NULL;
		natsStatus st = natsConnection_RequestString(&r, i ? b1 : b0, "ask.none", "q", 500);
		cr_expect_eq(st, NATS_TIMEOUT, "node %d: %s", i, natsStatus_GetText(st));
		natsMsg_Destroy(r);
	}
	natsSubscription_Destroy(h0);
	natsSubscription_Destroy(h1);
	natsSubscription_Destroy(ax);
	natsSubscription_Destroy(bs);
}

Test(cluster, accounts_between_two_ringbus_nodes)
{
	check_accounts("rr");
}

Test(cluster, accounts_between_nats_server_and_ringbus)
{
	check_accounts("nr");
}

Test(cluster, accounts_between_ringbus_and_nats_server)
{
	check_accounts("rn");
}
