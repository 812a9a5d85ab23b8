/* Leaf nodes (issue 17): ringbus joins a hub as a leaf node over nats-server
 * 2.9's leaf protocol. The hub is nats-server with JetStream (a leaf that
 * is nats-server is the reference for every check); the leaf is ringbus or
 * nats-server, each on its own loopback ports; clients use libnats. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "http_get.h"
#include "multi.h"
#include "raw.h"

#define WAIT_MS 8000

static struct harness_server hub, leaf;
static int leaf_port_of_hub;
static int leaf_mport; /* the leaf's monitoring port */
static char store[64];

static void hub_start(void)
{
	char conf[512];
	snprintf(conf, sizeof(conf),
	         "leafnodes { listen: \"127.0.0.1:%d\" }\n"
	         "jetstream { store_dir: \"%s\", domain: hub }\n",
	         leaf_port_of_hub, store);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&hub, HARNESS_NATS_SERVER, &o), 0, "hub");
}

/* The leaf maps JetStream's plain API to the hub's domain
 * (default_js_domain), so clients that name no domain reach it. */
static bool js_mapped;

/* The hub (nats-server with JetStream) and a leaf of @kind joined to it. */
static void topology_start(enum harness_kind kind)
{
	leaf_port_of_hub = harness_free_port();
	cr_assert_gt(leaf_port_of_hub, 0);
	snprintf(store, sizeof(store), "/tmp/ringbus-it-js-XXXXXX");
	cr_assert_not_null(mkdtemp(store));
	hub_start();
	char conf[320];
	leaf_mport = harness_free_port();
	snprintf(conf, sizeof(conf),
	         "leafnodes { remotes = [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n"
	         "http: \"127.0.0.1:%d\"\n%s",
	         leaf_port_of_hub, leaf_mport,
	         js_mapped ? "default_js_domain: { \"$G\": \"hub\" }\n" : "");
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&leaf, kind, &o), 0, "leaf");
}

/* A client of @s, logged in as @user (password: the same) when not NULL. */
static natsConnection *connect_as(const struct harness_server *s, const char *user)
{
	return multi_connect(s->url, user);
}

static natsConnection *connect_to(const struct harness_server *s)
{
	return connect_as(s, NULL);
}

static void teardown(void)
{
	cr_expect(multi_stop_hub_leaf(&hub, &leaf, store), "the leaf stopped cleanly");
}

static void await_crossing(natsConnection *pub, natsSubscription *sub, const char *subject)
{
	multi_await(pub, sub, subject, WAIT_MS);
}

static void check_pubsub(natsConnection *from, natsConnection *to, const char *subj)
{
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, to, subj), NATS_OK);
	natsConnection_Flush(to);
	await_crossing(from, sub, subj);
	for (int i = 0; i < 100; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		natsConnection_PublishString(from, subj, buf);
	}
	natsConnection_Flush(from);
	for (int i = 0; i < 100; i++) {
		natsMsg *m = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK, "message %d", i);
		cr_assert_eq(atoi(natsMsg_GetData(m)), i, "in order across the leaf connection");
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	const char *v = NULL;
	natsMsgHeader_Get(msg, "X-Id", &v);
	char reply[64];
	snprintf(reply, sizeof(reply), "re:%s:%s", natsMsg_GetData(msg), v ? v : "-");
	natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
	natsMsg_Destroy(msg);
}

/* Queue members on @members' side only; each of 500 messages from the
 * other side reaches exactly one; requests with headers are answered. */
static void check_queue_and_request(natsConnection *members, natsConnection *from)
{
	natsSubscription *q[2] = {0}, *p = NULL, *svc = NULL;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(natsConnection_QueueSubscribeSync(&q[i], members, "lwork", "lq"),
		             NATS_OK);
	cr_assert_eq(natsConnection_QueueSubscribe(&svc, members, "lsvc", "w", on_request, NULL),
	             NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, members, "lprobe"), NATS_OK);
	natsConnection_Flush(members);
	await_crossing(from, p, "lprobe");
	natsSubscription_Destroy(p);
	enum { N = 500 };
	for (int i = 0; i < N; i++)
		natsConnection_PublishString(from, "lwork", "x");
	natsConnection_Flush(from);
	int got = 0;
	int64_t deadline = nats_Now() + 10000;
	for (bool quiet = false; !quiet;) {
		quiet = got >= N || nats_Now() > deadline;
		for (int i = 0; i < 2; i++) {
			natsMsg *m = NULL;
			while (natsSubscription_NextMsg(&m, q[i], quiet ? 200 : 10) == NATS_OK) {
				got++;
				natsMsg_Destroy(m);
			}
		}
	}
	cr_assert_eq(got, N, "each message to exactly one member across the leaf (%d)", got);
	for (int i = 0; i < 10; i++) {
		natsMsg *req = NULL, *rep = NULL;
		cr_assert_eq(natsMsg_Create(&req, "lsvc", NULL, "r", 1), NATS_OK);
		natsMsgHeader_Set(req, "X-Id", "hd");
		natsStatus s = natsConnection_RequestMsg(&rep, from, req, 5000);
		cr_assert_eq(s, NATS_OK, "request across the leaf: %s", natsStatus_GetText(s));
		cr_assert_str_eq(natsMsg_GetData(rep), "re:r:hd");
		natsMsg_Destroy(req);
		natsMsg_Destroy(rep);
	}
	for (int i = 0; i < 2; i++)
		natsSubscription_Destroy(q[i]);
	natsSubscription_Destroy(svc);
}

TestSuite(leaf, .fini = teardown, .timeout = 120);

/* /leafz of the leaf lists the hub with its counters (both kinds). */
static void check_leafz(void)
{
	struct http_resp r;
	cr_assert_eq(http_wait_listening((uint16_t)leaf_mport, 5000), 0);
	cr_assert_eq(http_request((uint16_t)leaf_mport, "GET", "/leafz", &r), 0);
	cr_assert(r.body && strstr(r.body, "\"leafs\"") && strstr(r.body, "\"in_msgs\"") &&
	              strstr(r.body, "\"subscriptions\""),
	          "/leafz: %s", r.body ? r.body : "");
	http_resp_fini(&r);
}

static void check_leaf(enum harness_kind kind)
{
	topology_start(kind);
	natsConnection *h = connect_to(&hub), *l = connect_to(&leaf);
	check_pubsub(h, l, "toleaf.x");
	check_pubsub(l, h, "tohub.x");
	check_queue_and_request(h, l);
	check_queue_and_request(l, h);
	check_leafz();
}

Test(leaf, ringbus_leaf_of_a_nats_server_hub)
{
	check_leaf(HARNESS_RINGBUS);
}

Test(leaf, nats_server_leaf_of_a_nats_server_hub)
{
	check_leaf(HARNESS_NATS_SERVER);
}

/* JetStream on the hub, used by a client of the leaf: a stream, publishes
 * acknowledged, a pull consumer, a key-value bucket. */
static void check_jetstream(enum harness_kind kind, bool named)
{
	js_mapped = !named;
	topology_start(kind);
	natsConnection *l = connect_to(&leaf);
	jsCtx *js = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	jsOptions_Init(&jo);
	if (named)
		jo.Domain = "hub"; /* the hub's JetStream, named: $JS.hub.API */
	cr_assert_eq(natsConnection_JetStream(&js, l, &jo), NATS_OK);
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	const char *subjects[] = {"orders.>"};
	cfg.Name = "ORDERS";
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	jsStreamInfo *si = NULL;
	natsStatus s = NATS_ERR;
	/* the hub's interest in $JS.API.> reaches the leaf shortly after it joins */
	for (int64_t end = nats_Now() + WAIT_MS; s != NATS_OK && nats_Now() < end;)
		if ((s = js_AddStream(&si, js, &cfg, NULL, &jerr)) != NATS_OK)
			nats_Sleep(100);
	cr_assert_eq(s, NATS_OK, "stream add through the leaf: %s (%d)", natsStatus_GetText(s),
	             (int)jerr);
	jsStreamInfo_Destroy(si);
	for (int i = 0; i < 20; i++) {
		jsPubAck *pa = NULL;
		char data[16];
		snprintf(data, sizeof(data), "o%d", i);
		s = js_Publish(&pa, js, "orders.new", data, (int)strlen(data), NULL, &jerr);
		cr_assert_eq(s, NATS_OK, "publish with ack: %s", natsStatus_GetText(s));
		cr_assert_eq(pa->Sequence, (uint64_t)i + 1);
		jsPubAck_Destroy(pa);
	}
	natsSubscription *sub = NULL;
	cr_assert_eq(js_PullSubscribe(&sub, js, "orders.>", "worker", NULL, NULL, &jerr), NATS_OK);
	int got = 0;
	for (int64_t end = nats_Now() + WAIT_MS; got < 20 && nats_Now() < end;) {
		natsMsgList list = {0};
		if (natsSubscription_Fetch(&list, sub, 20 - got, 2000, &jerr) == NATS_OK) {
			for (int i = 0; i < list.Count; i++) {
				char want[16];
				snprintf(want, sizeof(want), "o%d", got);
				cr_assert_str_eq(natsMsg_GetData(list.Msgs[i]), want, "in order");
				natsMsg_Ack(list.Msgs[i], NULL);
				got++;
			}
			natsMsgList_Destroy(&list);
		}
	}
	cr_assert_eq(got, 20, "pull consumer through the leaf got %d of 20", got);
	natsSubscription_Destroy(sub);
	kvConfig kc;
	kvConfig_Init(&kc);
	kc.Bucket = "CFG";
	kvStore *kv = NULL;
	cr_assert_eq(js_CreateKeyValue(&kv, js, &kc), NATS_OK);
	uint64_t rev = 0;
	/* the hub announces the bucket's subjects once it exists: shortly after */
	s = NATS_ERR;
	for (int64_t end = nats_Now() + WAIT_MS; s != NATS_OK && nats_Now() < end;)
		if ((s = kvStore_PutString(&rev, kv, "color", "blue")) != NATS_OK)
			nats_Sleep(100);
	cr_assert_eq(s, NATS_OK, "kv put through the leaf: %s", natsStatus_GetText(s));
	kvEntry *e = NULL;
	cr_assert_eq(kvStore_Get(&e, kv, "color"), NATS_OK);
	cr_assert_str_eq(kvEntry_ValueString(e), "blue");
	kvEntry_Destroy(e);
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
}

Test(leaf, jetstream_of_the_hub_from_a_ringbus_leaf)
{
	check_jetstream(HARNESS_RINGBUS, true);
}

Test(leaf, jetstream_of_the_hub_from_a_nats_server_leaf)
{
	check_jetstream(HARNESS_NATS_SERVER, true);
}

/* Clients that name no domain: the leaf's default_js_domain sends their
 * $JS.API requests to the hub's domain. */
Test(leaf, jetstream_without_a_domain_through_a_nats_server_leaf)
{
	check_jetstream(HARNESS_NATS_SERVER, false);
}

Test(leaf, jetstream_without_a_domain_through_a_ringbus_leaf)
{
	check_jetstream(HARNESS_RINGBUS, false);
}

/* The hub goes away and comes back: local traffic on the leaf goes on, and
 * the leaf joins again with its interest. */
Test(leaf, hub_killed_and_restarted)
{
	topology_start(HARNESS_RINGBUS);
	natsConnection *l1 = connect_to(&leaf), *l2 = connect_to(&leaf);
	natsSubscription *local = NULL, *remote = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&local, l2, "local.x"), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&remote, l2, "fromhub.x"), NATS_OK);
	natsConnection_Flush(l2);
	kill(hub.pid, SIGKILL);
	char why[128];
	harness_server_stop(&hub, why, sizeof(why));
	for (int i = 0; i < 50; i++)
		natsConnection_PublishString(l1, "local.x", "l");
	natsConnection_Flush(l1);
	for (int i = 0; i < 50; i++) {
		natsMsg *m = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&m, local, 5000), NATS_OK,
		             "local traffic while the hub is down (%d)", i);
		natsMsg_Destroy(m);
	}
	/* a JetStream request meanwhile: no responders at once, not a timeout */
	natsMsg *rep = NULL;
	natsStatus s = NATS_OK;
	for (int64_t end = nats_Now() + WAIT_MS; s != NATS_NO_RESPONDERS && nats_Now() < end;)
		s = natsConnection_RequestString(&rep, l1, "$JS.hub.API.INFO", "", 2000);
	cr_assert_eq(s, NATS_NO_RESPONDERS, "JetStream while the hub is down: %s",
	             natsStatus_GetText(s));
	hub_start(); /* same leaf port: the leaf finds it again */
	natsConnection *h = connect_to(&hub);
	await_crossing(h, remote, "fromhub.x");
	natsSubscription_Destroy(local);
	natsSubscription_Destroy(remote);
}

/* A ringbus hub with two leaves, a nats-server one and a ringbus one:
 * traffic between the leaves goes through the hub, in every direction. */
static struct harness_server leaf2;

static void hub_and_two_leaves(void)
{
	leaf_port_of_hub = harness_free_port();
	char conf[256];
	snprintf(conf, sizeof(conf), "leafnodes { listen: \"127.0.0.1:%d\" }\n", leaf_port_of_hub);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&hub, HARNESS_RINGBUS, &o), 0, "ringbus hub");
	snprintf(conf, sizeof(conf),
	         "leafnodes { remotes = [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n",
	         leaf_port_of_hub);
	o.config = conf;
	cr_assert_eq(harness_server_start_kind(&leaf, HARNESS_NATS_SERVER, &o), 0, "leaf 1");
	cr_assert_eq(harness_server_start_kind(&leaf2, HARNESS_RINGBUS, &o), 0, "leaf 2");
}

static void stop_leaf2(void)
{
	char why[128];
	if (leaf2.pid > 0 && harness_server_stop(&leaf2, why, sizeof(why)))
		fprintf(stderr, "ITEST TEARDOWN FAILURE: leaf 2 %s\n", why);
	teardown();
}

Test(leaf, ringbus_hub_with_a_nats_server_leaf_and_a_ringbus_leaf, .fini = stop_leaf2)
{
	hub_and_two_leaves();
	natsConnection *h = connect_to(&hub), *l1 = connect_to(&leaf), *l2 = connect_to(&leaf2);
	check_pubsub(l1, l2, "l1.to.l2");
	check_pubsub(l2, l1, "l2.to.l1");
	check_pubsub(h, l1, "hub.to.l1");
	check_pubsub(h, l2, "hub.to.l2");
	check_pubsub(l1, h, "l1.to.hub");
	check_queue_and_request(l2, l1);
	check_queue_and_request(l1, l2);
}

/* Three servers joined in a ring of leaf connections (0 joins 1, 1 joins
 * 2, 2 joins 0): the loop is found and one link refused ("Loop detected"),
 * and a message still reaches a subscriber exactly once. */
static struct harness_server ring[3];

static void stop_ring(void)
{
	char why[128];
	for (int i = 0; i < 3; i++)
		if (ring[i].pid > 0 && harness_server_stop(&ring[i], why, sizeof(why)))
			fprintf(stderr, "ITEST TEARDOWN FAILURE: ring %d %s\n", i, why);
	teardown();
}

static bool log_has(const struct harness_server *s, const char *text)
{
	FILE *f = fopen(s->log_path, "r");
	char line[1024];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

static void check_triangle(const char *kinds)
{
	int lport[3];
	for (int i = 0; i < 3; i++)
		lport[i] = harness_free_port();
	for (int i = 0; i < 3; i++) {
		char conf[320];
		snprintf(conf, sizeof(conf),
		         "server_name: t%d\nleafnodes { listen: \"127.0.0.1:%d\", "
		         "remotes = [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n",
		         i, lport[i], lport[(i + 1) % 3]);
		struct harness_opts o = {.config = conf};
		enum harness_kind k = kinds[i] == 'r' ? HARNESS_RINGBUS : HARNESS_NATS_SERVER;
		cr_assert_eq(harness_server_start_kind(&ring[i], k, &o), 0, "ring %d", i);
	}
	bool loop = false;
	for (int64_t end = nats_Now() + WAIT_MS; !loop && nats_Now() < end; nats_Sleep(100))
		for (int i = 0; i < 3 && !loop; i++)
			loop = log_has(&ring[i], "Loop detected");
	cr_assert(loop, "a server of the ring %s found the loop", kinds);
	/* a message goes round no more: each subscriber gets it at most once
	 * (the publisher's own server exactly once) */
	natsConnection *nc[3];
	natsSubscription *sub[3];
	for (int i = 0; i < 3; i++) {
		nc[i] = connect_to(&ring[i]);
		cr_assert_eq(natsConnection_SubscribeSync(&sub[i], nc[i], "tri.x"), NATS_OK);
		natsConnection_Flush(nc[i]);
	}
	nats_Sleep(1000); /* interest settles where links stay */
	natsConnection_PublishString(nc[0], "tri.x", "once");
	natsConnection_Flush(nc[0]);
	for (int i = 0; i < 3; i++) {
		int got = 0;
		natsMsg *m = NULL;
		while (natsSubscription_NextMsg(&m, sub[i], 700) == NATS_OK) {
			got++;
			natsMsg_Destroy(m);
		}
		if (i == 0)
			cr_assert_eq(got, 1, "ring %s: the publisher's server delivers it once",
			             kinds);
		else
			cr_assert_leq(got, 1, "ring %s: server %d got it %d times", kinds, i, got);
		natsSubscription_Destroy(sub[i]);
	}
}

Test(leaf, a_ring_of_ringbus_leaves_finds_its_loop, .fini = stop_ring)
{
	check_triangle("rrr");
}

Test(leaf, a_ring_of_nats_server_leaves_finds_its_loop, .fini = stop_ring)
{
	check_triangle("nnn");
}

Test(leaf, a_mixed_ring_finds_its_loop, .fini = stop_ring)
{
	check_triangle("rnr");
}

/* ---- a leaf bound to one of its accounts ---- */

/* The leaf's accounts A and B; its remote is bound to A: A's traffic
 * crosses to the hub's global account and back, B's never. /leafz names
 * the account. */
static void check_leaf_account(enum harness_kind kind)
{
	leaf_port_of_hub = harness_free_port();
	snprintf(store, sizeof(store), "/tmp/ringbus-it-js-XXXXXX");
	cr_assert_not_null(mkdtemp(store));
	hub_start();
	char conf[512];
	leaf_mport = harness_free_port();
	snprintf(conf, sizeof(conf),
	         "accounts { A: { users: [{user: a, password: a}] }\n"
	         "           B: { users: [{user: b, password: b}] } }\n"
	         "leafnodes { remotes = [ { url: \"nats-leaf://127.0.0.1:%d\", account: A } ] }\n"
	         "http: \"127.0.0.1:%d\"\n",
	         leaf_port_of_hub, leaf_mport);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&leaf, kind, &o), 0, "leaf");
	natsConnection *h = connect_to(&hub), *a = connect_as(&leaf, "a"),
	               *b = connect_as(&leaf, "b");
	check_pubsub(a, h, "fromA.x");
	check_pubsub(h, a, "toA.x");
	/* B's subject of the same name stays on the leaf; the hub's does not reach B */
	natsSubscription *hs = NULL, *bs = NULL, *p = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&hs, h, "same"), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&bs, b, "same"), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, b, "probe.b"), NATS_OK);
	natsConnection_Flush(h);
	natsConnection_Flush(b);
	await_crossing(a, hs, "same");
	natsConnection_PublishString(b, "probe.b", "local");
	natsConnection_Flush(b);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, p, WAIT_MS), NATS_OK, "B's own subject");
	natsMsg_Destroy(m);
	natsConnection_PublishString(b, "same", "from b");
	natsConnection_Flush(b);
	natsConnection_PublishString(a, "same", "from a");
	natsConnection_Flush(a);
	cr_assert_eq(natsSubscription_NextMsg(&m, hs, WAIT_MS), NATS_OK);
	cr_expect_str_eq(natsMsg_GetData(m), "from a", "B's message crossed the leaf");
	natsMsg_Destroy(m);
	natsConnection_PublishString(h, "same", "from hub");
	natsConnection_Flush(h);
	natsConnection_PublishString(b, "same", "b again");
	natsConnection_Flush(b);
	cr_assert_eq(natsSubscription_NextMsg(&m, bs, WAIT_MS), NATS_OK);
	cr_expect_str_eq(natsMsg_GetData(m), "from b", "B's own first");
	natsMsg_Destroy(m);
	cr_assert_eq(natsSubscription_NextMsg(&m, bs, WAIT_MS), NATS_OK);
	cr_expect_str_eq(natsMsg_GetData(m), "b again", "the hub's message reached B");
	natsMsg_Destroy(m);
	struct http_resp r;
	cr_assert_eq(http_wait_listening((uint16_t)leaf_mport, 5000), 0);
	cr_assert_eq(http_request((uint16_t)leaf_mport, "GET", "/leafz", &r), 0);
	bool named =
	    r.body && (strstr(r.body, "\"account\": \"A\"") || strstr(r.body, "\"account\":\"A\""));
	cr_expect(named, "/leafz names the account: %s", r.body ? r.body : "");
	http_resp_fini(&r);
	natsSubscription_Destroy(hs);
	natsSubscription_Destroy(bs);
	natsSubscription_Destroy(p);
}

Test(leaf, a_ringbus_leaf_bound_to_an_account)
{
	check_leaf_account(HARNESS_RINGBUS);
}

Test(leaf, a_nats_server_leaf_bound_to_an_account)
{
	check_leaf_account(HARNESS_NATS_SERVER);
}

/* ---- a leaf remote's deny_exports and deny_imports ---- */

/* The next message of @sub is on @subject (within WAIT_MS). */
static void expect_subject(natsSubscription *sub, const char *subject, const char *why)
{
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, WAIT_MS), NATS_OK, "%s: nothing came", why);
	cr_expect_str_eq(natsMsg_GetSubject(m), subject, "%s", why);
	natsMsg_Destroy(m);
}

/* A leaf of @kind whose remote denies exporting secret.> and importing
 * private.>: neither crosses, in its direction, while the rest does, and a
 * wildcard subscription on either side does not let them through. */
static void check_leaf_denies(enum harness_kind kind)
{
	leaf_port_of_hub = harness_free_port();
	snprintf(store, sizeof(store), "/tmp/ringbus-it-js-XXXXXX");
	cr_assert_not_null(mkdtemp(store));
	hub_start();
	char conf[512];
	snprintf(conf, sizeof(conf),
	         "leafnodes { remotes = [ { url: \"nats-leaf://127.0.0.1:%d\",\n"
	         "  deny_exports: [\"secret.>\"], deny_imports: \"private.>\" } ] }\n",
	         leaf_port_of_hub);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&leaf, kind, &o), 0, "leaf");
	natsConnection *h = connect_to(&hub), *l = connect_to(&leaf);
	/* exports: the hub listens to everything; secret.x stays on the leaf */
	natsSubscription *hs = NULL, *ls = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&hs, h, ">"), NATS_OK);
	natsConnection_Flush(h);
	await_crossing(l, hs, "open.probe");
	natsConnection_PublishString(l, "secret.x", "s");
	natsConnection_PublishString(l, "open.x", "o");
	natsConnection_Flush(l);
	expect_subject(hs, "open.x", "deny_exports: secret.x crossed to the hub");
	/* imports: the leaf listens to everything; private.y stays on the hub */
	cr_assert_eq(natsConnection_SubscribeSync(&ls, l, ">"), NATS_OK);
	natsConnection_Flush(l);
	await_crossing(h, ls, "public.probe");
	natsConnection_PublishString(h, "private.y", "p");
	natsConnection_PublishString(h, "public.y", "q");
	natsConnection_Flush(h);
	expect_subject(ls, "public.y", "deny_imports: private.y crossed to the leaf");
	natsSubscription_Destroy(hs);
	natsSubscription_Destroy(ls);
}

Test(leaf, a_ringbus_leaf_denies_exports_and_imports)
{
	check_leaf_denies(HARNESS_RINGBUS);
}

Test(leaf, a_nats_server_leaf_denies_exports_and_imports)
{
	check_leaf_denies(HARNESS_NATS_SERVER);
}

/* ---- a hub's leafnodes { authorization } ---- */

static struct harness_server leaf2;

static void stop_leaf2_too(void)
{
	char why[128];
	if (leaf2.pid > 0)
		harness_server_stop(&leaf2, why, sizeof(why));
	teardown();
}

/* True once @s's log says @text (bounded wait). */
static bool log_says(const struct harness_server *s, const char *text)
{
	for (int i = 0; i < 100 && !log_has(s, text); i++)
		usleep(100 * 1000);
	return log_has(s, text);
}

/* Starts @srv, a leaf of @kind that joins the hub's leaf port as
 * @userinfo ("user:pass@", or "" for none). */
static void leaf_join(struct harness_server *srv, enum harness_kind kind, const char *userinfo)
{
	char lconf[256];
	snprintf(lconf, sizeof(lconf),
	         "leafnodes { remotes = [ { url: \"nats-leaf://%s127.0.0.1:%d\" } ] }\n", userinfo,
	         leaf_port_of_hub);
	struct harness_opts o = {.config = lconf};
	cr_assert_eq(harness_server_start_kind(srv, kind, &o), 0, "leaf %s", userinfo);
}

/* A hub of @kind whose leaf listener wants user leaf / s3cret and binds
 * such leaves to its account A: a nats-server leaf with the right password
 * joins and its traffic is A's on the hub (B's subscriber sees none of
 * it); a ringbus leaf with a wrong one is refused. */
static void check_hub_auth(enum harness_kind kind)
{
	leaf_port_of_hub = harness_free_port();
	char conf[512];
	snprintf(conf, sizeof(conf),
	         "accounts { A: { users: [{user: a, password: a}] }\n"
	         "           B: { users: [{user: b, password: b}] } }\n"
	         "leafnodes { listen: \"127.0.0.1:%d\"\n"
	         "  authorization { user: leaf, password: s3cret, account: A } }\n",
	         leaf_port_of_hub);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&hub, kind, &o), 0, "hub");
	leaf_join(&leaf, HARNESS_NATS_SERVER, "leaf:s3cret@");
	natsConnection *ha = connect_as(&hub, "a"), *hb = connect_as(&hub, "b"),
	               *l = connect_to(&leaf);
	check_pubsub(l, ha, "fromleaf.x");
	check_pubsub(ha, l, "toleaf.x");
	natsSubscription *bs = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&bs, hb, "fromleaf.y"), NATS_OK);
	cr_assert_eq(natsConnection_PublishString(hb, "probe.b", "x"), NATS_OK);
	natsConnection_Flush(hb);
	natsConnection_PublishString(l, "fromleaf.y", "to A only");
	natsConnection_PublishString(hb, "fromleaf.y", "b's own");
	natsConnection_Flush(l);
	natsConnection_Flush(hb);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, bs, WAIT_MS), NATS_OK);
	cr_expect_str_eq(natsMsg_GetData(m), "b's own", "the leaf's message reached account B");
	natsMsg_Destroy(m);
	natsSubscription_Destroy(bs);
	/* a wrong password: refused */
	leaf_join(&leaf2, HARNESS_RINGBUS, "leaf:wrong@");
	cr_expect(log_says(&leaf2, "Authorization Violation"),
	          "the leaf with a wrong password was not told so");
}

Test(leaf, a_ringbus_hub_checks_leaf_credentials, .fini = stop_leaf2_too)
{
	check_hub_auth(HARNESS_RINGBUS);
}

Test(leaf, a_nats_server_hub_checks_leaf_credentials, .fini = stop_leaf2_too)
{
	check_hub_auth(HARNESS_NATS_SERVER);
}

/* A hub of @kind with leafnodes { authorization { users } }: a nats-server
 * leaf that logs in as l1 is bound to l1's account A (a's client and the
 * leaf exchange messages; g in $G sees none of them), a ringbus leaf that
 * logs in as l2, who names no account, is in $G with g, and a leaf with a
 * wrong password is refused. */
static void check_hub_users(enum harness_kind kind)
{
	leaf_port_of_hub = harness_free_port();
	char conf[640];
	snprintf(conf, sizeof(conf),
	         "accounts { A: { users: [{user: a, password: a}] } }\n"
	         "authorization { users: [{user: g, password: g}] }\n"
	         "leafnodes { listen: \"127.0.0.1:%d\"\n"
	         "  authorization { users: [ {user: l1, password: p1, account: A}\n"
	         "                           {user: l2, password: p2} ] } }\n",
	         leaf_port_of_hub);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&hub, kind, &o), 0, "hub");
	leaf_join(&leaf, HARNESS_NATS_SERVER, "l1:p1@");
	leaf_join(&leaf2, HARNESS_RINGBUS, "l2:p2@");
	natsConnection *ha = connect_as(&hub, "a"), *hg = connect_as(&hub, "g"),
	               *l1 = connect_to(&leaf), *l2 = connect_to(&leaf2);
	check_pubsub(l1, ha, "l1.up");
	check_pubsub(ha, l1, "l1.down");
	check_pubsub(l2, hg, "l2.up");
	check_pubsub(hg, l2, "l2.down");
	/* g ($G) gets nothing from l1 (A) but its own message */
	natsSubscription *gs = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&gs, hg, "l1.up"), NATS_OK);
	natsConnection_Flush(hg);
	natsConnection_PublishString(l1, "l1.up", "to A only");
	natsConnection_Flush(l1);
	natsConnection_PublishString(hg, "l1.up", "g's own");
	natsConnection_Flush(hg);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, gs, WAIT_MS), NATS_OK);
	cr_expect_str_eq(natsMsg_GetData(m), "g's own", "l1's message reached $G");
	natsMsg_Destroy(m);
	natsSubscription_Destroy(gs);
	/* a wrong password: refused */
	char why[128];
	harness_server_stop(&leaf2, why, sizeof(why));
	leaf_join(&leaf2, HARNESS_RINGBUS, "l1:p2@");
	cr_expect(log_says(&leaf2, "Authorization Violation"),
	          "the leaf with a wrong password was not told so");
}

Test(leaf, a_ringbus_hub_binds_leaf_users_to_their_accounts, .fini = stop_leaf2_too)
{
	check_hub_users(HARNESS_RINGBUS);
}

Test(leaf, a_nats_server_hub_binds_leaf_users_to_their_accounts, .fini = stop_leaf2_too)
{
	check_hub_users(HARNESS_NATS_SERVER);
}

/* A hub of @kind with leafnodes { min_version }: at "2.9.0" a nats-server
 * leaf (2.9.10) joins; at "2.10.0" the hub refuses a nats-server leaf and a
 * ringbus leaf (which says 2.9.10 too) with nats-server's text. */
static void check_min_version(enum harness_kind kind)
{
	char conf[256];
	for (int strict = 0; strict < 2; strict++) {
		char why[128];
		int r = harness_server_stop(&leaf, why, sizeof(why));
		cr_assert(r == 0 || r == -ECHILD, "the leaf %s", why);
		r = harness_server_stop(&hub, why, sizeof(why));
		cr_assert(r == 0 || r == -ECHILD, "the hub %s", why);
		leaf_port_of_hub = harness_free_port();
		snprintf(conf, sizeof(conf),
		         "leafnodes { listen: \"127.0.0.1:%d\", min_version: \"%s\" }\n",
		         leaf_port_of_hub, strict ? "2.10.0" : "2.9.0");
		struct harness_opts o = {.config = conf};
		cr_assert_eq(harness_server_start_kind(&hub, kind, &o), 0, "hub");
		leaf_join(&leaf, HARNESS_NATS_SERVER, "");
		if (!strict) {
			natsConnection *h = connect_to(&hub), *l = connect_to(&leaf);
			check_pubsub(l, h, "mv.up");
			multi_close_all();
			continue;
		}
		leaf_join(&leaf2, HARNESS_RINGBUS, "");
		const char *says = "connection rejected since minimum version required is "
		                   "\"2.10.0\"";
		cr_expect(log_says(&leaf, says), "the nats-server leaf was not told");
		cr_expect(log_says(&leaf2, says), "the ringbus leaf was not told");
	}
}

Test(leaf, a_ringbus_hub_refuses_leaves_older_than_min_version, .fini = stop_leaf2_too)
{
	check_min_version(HARNESS_RINGBUS);
}

Test(leaf, a_nats_server_hub_refuses_leaves_older_than_min_version, .fini = stop_leaf2_too)
{
	check_min_version(HARNESS_NATS_SERVER);
}

/* ---- admission on a leaf connection ---- */

/* The "drops" of the first leaf in @port's /leafz, or -1. */
static long long leafz_drops(int port)
{
	struct http_resp r;
	long long v = -1;
	if (http_request((uint16_t)port, "GET", "/leafz", &r) == 0 && r.body) {
		const char *p = strstr(r.body, "\"drops\":");
		if (p)
			v = atoll(p + 8);
	}
	http_resp_fini(&r);
	return v;
}

/* A leaf (a raw socket speaking the leaf protocol) that asks for foo and
 * then reads nothing: the ringbus hub's queue to it passes the mark of a
 * drop-new policy, and what admission drops for it is counted in /leafz
 * and said in the log, while the hub's own clients go on. */
Test(leaf, what_admission_drops_for_a_leaf_is_counted_and_logged)
{
	leaf_port_of_hub = harness_free_port();
	leaf_mport = harness_free_port();
	char conf[256], mport[16];
	snprintf(conf, sizeof(conf), "leafnodes { listen: \"127.0.0.1:%d\" }\n", leaf_port_of_hub);
	snprintf(mport, sizeof(mport), "%d", leaf_mport);
	const char *args[] = {"--sub-policy", "drop-new", "--sub-high", "256KB", "-m", mport, NULL};
	struct harness_opts o = {.config = conf, .args = args};
	cr_assert_eq(harness_server_start_kind(&hub, HARNESS_RINGBUS, &o), 0, "hub");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)leaf_port_of_hub)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char buf[4096];
	cr_assert_gt(read(fd, buf, sizeof(buf)), 0, "the hub's INFO");
	static const char hello[] =
	    "CONNECT {\"server_id\":\"NRAWLEAF\",\"name\":\"raw\",\"headers\":false}\r\nLS+ "
	    "foo\r\n";
	cr_assert_eq(write(fd, hello, sizeof(hello) - 1), (ssize_t)(sizeof(hello) - 1));
	/* a client of the hub publishes to foo while the leaf reads nothing */
	natsConnection *h = connect_to(&hub);
	natsSubscription *own = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&own, h, "own"), NATS_OK);
	static char payload[1024];
	memset(payload, 'x', sizeof(payload) - 1);
	long long drops = 0;
	for (int round = 0; round < 50 && drops <= 0; round++) {
		for (int i = 0; i < 2000; i++)
			natsConnection_PublishString(h, "foo", payload);
		natsConnection_Flush(h);
		drops = leafz_drops(leaf_mport);
	}
	cr_expect_gt(drops, 0, "/leafz counts no drops");
	cr_expect(log_says(&hub, "admission dropped"), "the hub's log does not say it dropped");
	/* the hub's own clients are not held up */
	natsConnection_PublishString(h, "own", "still");
	natsMsg *m = NULL;
	cr_expect_eq(natsSubscription_NextMsg(&m, own, WAIT_MS), NATS_OK);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(own);
	close(fd);
}

/* ---- order between a client's interest and its messages on a link ---- */

#define RAW_OK(c, expr)                                                                            \
	do {                                                                                       \
		long raw_r_ = (long)(expr);                                                        \
		cr_assert(raw_r_ >= 0, "%s failed: %s", #expr, raw_why(c));                        \
	} while (0)

/* Reads from @fd until @needle has been seen (bounded); the text read is
 * appended to @acc (capacity @cap). */
static bool read_until(int fd, const char *needle, char *acc, size_t cap)
{
	for (int i = 0; i < 200 && !strstr(acc, needle); i++) {
		struct timeval tv = {.tv_sec = 0, .tv_usec = 50 * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		size_t n = strlen(acc);
		if (n + 1 >= cap)
			return false;
		ssize_t r = read(fd, acc + n, cap - n - 1);
		if (r > 0)
			acc[n + (size_t)r] = 0;
		else if (r == 0)
			return false;
	}
	return strstr(acc, needle) != NULL;
}

/* A client of the hub subscribes to an inbox and publishes a request with
 * it as the reply in one write: the leaf (a raw socket) is told of the
 * inbox (LS+) before it gets the request (LMSG), so an answer from its side
 * always finds the interest, as with nats-server. 50 times. */
Test(leaf, a_clients_interest_crosses_before_the_request_that_needs_it)
{
	leaf_port_of_hub = harness_free_port();
	char conf[128];
	snprintf(conf, sizeof(conf), "leafnodes { listen: \"127.0.0.1:%d\" }\n", leaf_port_of_hub);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&hub, HARNESS_RINGBUS, &o), 0, "hub");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)leaf_port_of_hub)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	static char acc[1 << 16];
	acc[0] = 0;
	cr_assert(read_until(fd, "INFO", acc, sizeof(acc)), "the hub's INFO");
	static const char hello[] =
	    "CONNECT {\"server_id\":\"NRAWLEAF\",\"name\":\"raw\",\"headers\":false}\r\nLS+ q\r\n";
	cr_assert_eq(write(fd, hello, sizeof(hello) - 1), (ssize_t)(sizeof(hello) - 1));
	struct raw_conn *c = NULL;
	cr_assert_eq(raw_connect((uint16_t)hub.port, &c), 0);
	RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	RAW_OK(c, raw_send_str(c, "CONNECT {\"verbose\":false}\r\nPING\r\n"));
	RAW_OK(c, raw_read_until(c, "PONG\r\n", NULL, 0, RAW_WAIT_MS));
	int wrong = 0;
	for (int i = 0; i < 50; i++) {
		char ops[160], ls[64], lmsg[64];
		snprintf(ops, sizeof(ops), "SUB _INBOX.r%d.* %d\r\nPUB q _INBOX.r%d.1 2\r\nhi\r\n",
		         i, i + 1, i);
		snprintf(ls, sizeof(ls), "LS+ _INBOX.r%d.*\r\n", i);
		snprintf(lmsg, sizeof(lmsg), "LMSG q _INBOX.r%d.1 2\r\n", i);
		acc[0] = 0;
		RAW_OK(c, raw_send_str(c, ops));
		cr_assert(read_until(fd, lmsg, acc, sizeof(acc)),
		          "request %d never reached the leaf", i);
		const char *pl = strstr(acc, ls), *pm = strstr(acc, lmsg);
		wrong += !pl || pl > pm;
	}
	cr_expect_eq(wrong, 0, "%d of 50 requests reached the leaf before their inbox's LS+",
	             wrong);
	raw_close(c);
	close(fd);
}
