/* Partitions and route authorization in two-node clusters (issue 16):
 * ringbus and nats-server nodes, each on its own loopback ports, libnats
 * clients. Node A (node 0) listens for routes; node B (node 1) dials it,
 * either through a route_proxy that the test cuts and heals, or directly
 * with credentials in the route URL. A topology is named by the kinds of A
 * and B: "rn" is A ringbus, B nats-server; "nn" is the reference. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/integration/harness.h"
#include "tests/integration/multi.h"
#include "tests/integration/route_proxy.h"

#define WAIT_MS  8000 /* a route forms, or interest crosses, well within this */
#define QUIET_MS 2000 /* how long "nothing crosses" is watched */
#define MAX_SUBS 16

/* One server of the cluster. Owner: the test's main thread. */
struct node {
	struct harness_server srv;
	enum harness_kind kind;
	int cport; /* its route listener */
	char name[8];
};

static struct node nodes[2];
static struct route_proxy *proxy;
static natsSubscription *subs[MAX_SUBS];
static int nsubs;

static const char *kind_name(enum harness_kind k)
{
	return k == HARNESS_RINGBUS ? "ringbus" : "nats-server";
}

/* Names both nodes and picks their route ports; starts nothing. */
static void nodes_init(const char *kinds)
{
	for (int i = 0; i < 2; i++) {
		struct node *n = &nodes[i];
		memset(n, 0, sizeof(*n));
		n->kind = kinds[i] == 'r' ? HARNESS_RINGBUS : HARNESS_NATS_SERVER;
		n->cport = harness_free_port();
		cr_assert_gt(n->cport, 0, "no free port");
		snprintf(n->name, sizeof(n->name), "%c%d", kinds[i], i);
	}
}

/* Starts node @i listening for routes on its port (from @config when not
 * NULL, which then holds the whole cluster block) and dialling @routes (may
 * be NULL). */
static void node_start(int i, const char *config, const char *routes)
{
	struct node *n = &nodes[i];
	char listen[40];
	snprintf(listen, sizeof(listen), "nats://127.0.0.1:%d", n->cport);
	const char *args[10] = {"-n", n->name};
	int k = 2;
	if (!config) {
		args[k++] = "--cluster";
		args[k++] = listen;
		args[k++] = "--cluster_name";
		args[k++] = "itest";
	}
	if (routes) {
		args[k++] = "--routes";
		args[k++] = routes;
	}
	args[k] = NULL;
	struct harness_opts o = {.args = args, .config = config};
	int ret = harness_server_start_kind(&n->srv, n->kind, &o);
	cr_assert_eq(ret, 0, "start %s (%s): %d", n->name, kind_name(n->kind), ret);
}

/* Starts A, a proxy to A's route port, and B dialling A through the proxy. */
static void proxied_start(const char *kinds)
{
	nodes_init(kinds);
	node_start(0, NULL, NULL);
	cr_assert_eq(route_proxy_start(&proxy, (uint16_t)nodes[0].cport), 0, "proxy");
	char route[48];
	snprintf(route, sizeof(route), "nats://127.0.0.1:%u", route_proxy_port(proxy));
	node_start(1, NULL, route);
}

static natsConnection *connect_to(int i)
{
	return multi_connect(nodes[i].srv.url, NULL);
}

/* A synchronous (queue, when @queue is not NULL) subscription, flushed. */
static natsSubscription *sub_sync(natsConnection *nc, const char *subject, const char *queue)
{
	natsSubscription *sub = NULL;
	cr_assert_lt(nsubs, MAX_SUBS);
	natsStatus s = queue ? natsConnection_QueueSubscribeSync(&sub, nc, subject, queue)
	                     : natsConnection_SubscribeSync(&sub, nc, subject);
	cr_assert_eq(s, NATS_OK, "subscribe %s: %s", subject, natsStatus_GetText(s));
	subs[nsubs++] = sub;
	cr_assert_eq(natsConnection_FlushTimeout(nc, 5000), NATS_OK);
	return sub;
}

/* Stops everything the test started; false when a node did not exit
 * cleanly (the harness then printed its log). */
static bool cluster_stop(void)
{
	for (int i = nsubs; i > 0; i--)
		natsSubscription_Destroy(subs[i - 1]);
	multi_close_all();
	nsubs = 0;
	bool ok = true;
	char why[128];
	for (int i = 0; i < 2; i++)
		if (nodes[i].srv.pid > 0 && harness_server_stop(&nodes[i].srv, why, sizeof(why))) {
			fprintf(stderr, "ITEST TEARDOWN FAILURE: %s %s\n", nodes[i].name, why);
			ok = false;
		}
	route_proxy_free(proxy);
	proxy = NULL;
	return ok;
}

static void teardown(void)
{
	cluster_stop();
	nats_CloseAndWait(5000);
}

static void await_route(natsConnection *pub, natsSubscription *sub, const char *subject)
{
	multi_await(pub, sub, subject, WAIT_MS);
}

/* Publishes on @subject from @pub for QUIET_MS; asserts none reaches @sub. */
static void assert_quiet(natsConnection *pub, natsSubscription *sub, const char *subject)
{
	int64_t deadline = nats_Now() + QUIET_MS;
	while (nats_Now() < deadline) {
		natsConnection_PublishString(pub, subject, "must not cross");
		natsConnection_Flush(pub);
		natsMsg *m = NULL;
		natsStatus s = natsSubscription_NextMsg(&m, sub, 100);
		natsMsg_Destroy(m);
		cr_assert_neq(s, NATS_OK, "a message on %s crossed", subject);
	}
}

/* Waits until a request on @subject from @nc is answered "no responders":
 * its node holds no interest in it any more, its peer's included. */
static void await_no_responders(natsConnection *nc, const char *subject)
{
	int64_t deadline = nats_Now() + WAIT_MS;
	natsStatus s = NATS_OK;
	while (nats_Now() < deadline) {
		natsMsg *rep = NULL;
		s = natsConnection_RequestString(&rep, nc, subject, "anyone?", 500);
		natsMsg_Destroy(rep);
		if (s == NATS_NO_RESPONDERS)
			return;
	}
	cr_assert_fail("requests on %s still not answered 'no responders': %s", subject,
	               natsStatus_GetText(s));
}

/* ---- partition and heal, counted ---- */

#define PART_PACE_NS 2000000L /* one message each 2 ms: 2,000 in 4 s */
#define PART_N       2000     /* published at least */
#define PART_CUT_AT  750      /* the route is cut before this message (1.5 s in) */
#define PART_HEAL_AT 1250     /* and healed before this one (1 s later) */
#define PART_TAIL    250      /* published at least, after the route is back */
#define PART_MAX     (PART_N + WAIT_MS * 1000000L / PART_PACE_NS)

/* What A's subscriber got, in arrival order. Written by the subscription's
 * callback thread; @n is stored with release after each seq[] entry, so the
 * main thread reads the first @n entries after loading it with acquire. */
struct part_rx {
	int seq[PART_MAX];
	atomic_int n;
	atomic_int probes;
};

/* One run's counts: seq numbers are the publisher's. */
struct part_result {
	char kinds[3];
	int published;
	int got_before, got_during, got_after;
	int first_after;   /* first message >= PART_HEAL_AT that arrived, -1: none */
	int probe_at;      /* being published when that message was seen, -1: never */
	int64_t resume_ms; /* from the heal to that moment */
	bool in_order;     /* strictly increasing: no reordering, no duplicate */
	struct route_proxy_counts px;
};

/* Two runs per test (the reference and the topology), each with its own
 * receiver, so a late callback of the first cannot touch the second's. */
static struct part_rx rxs[2];

static void part_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
	(void)nc;
	(void)sub;
	struct part_rx *rx = closure;
	if (strcmp(natsMsg_GetSubject(m), "part.probe") == 0) {
		atomic_fetch_add_explicit(&rx->probes, 1, memory_order_relaxed);
	} else {
		int n = atomic_load_explicit(&rx->n, memory_order_relaxed);
		if (n < PART_MAX) {
			rx->seq[n] = atoi(natsMsg_GetData(m));
			/* pairs with the acquire in part_last and part_count */
			atomic_store_explicit(&rx->n, n + 1, memory_order_release);
		}
	}
	natsMsg_Destroy(m);
}

static int part_last(struct part_rx *rx)
{
	int n = atomic_load_explicit(&rx->n, memory_order_acquire);
	return n > 0 ? rx->seq[n - 1] : -1;
}

/* Publishes from B at a steady pace, cutting and healing on the way, until
 * PART_N are out and PART_TAIL more went out after the first message sent
 * after the heal arrived (that arrival is the probe: A's interest is back on
 * B) or PART_MAX are out. */
static void part_publish(natsConnection *pub, struct part_rx *rx, struct part_result *r)
{
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	int64_t healed = 0;
	int seq;
	for (seq = 0; seq < PART_MAX; seq++) {
		if (seq == PART_CUT_AT)
			cr_assert_eq(route_proxy_cut(proxy), 0, "cut");
		if (seq == PART_HEAL_AT) {
			/* B has read everything sent while cut before the heal */
			cr_assert_eq(natsConnection_FlushTimeout(pub, WAIT_MS), NATS_OK);
			cr_assert_eq(route_proxy_heal(proxy), 0, "heal");
			healed = nats_Now();
		}
		if (r->probe_at < 0 && healed && part_last(rx) >= PART_HEAL_AT) {
			r->probe_at = seq;
			r->resume_ms = nats_Now() - healed;
		}
		if (seq >= PART_N && r->probe_at >= 0 && seq >= r->probe_at + PART_TAIL)
			break;
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", seq);
		cr_assert_eq(natsConnection_PublishString(pub, "part.data", buf), NATS_OK);
		next.tv_nsec += PART_PACE_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	r->published = seq;
	cr_assert_eq(natsConnection_FlushTimeout(pub, WAIT_MS), NATS_OK);
}

static void part_count(struct part_rx *rx, struct part_result *r)
{
	int n = atomic_load_explicit(&rx->n, memory_order_acquire);
	int prev = -1;
	r->in_order = true;
	for (int i = 0; i < n; i++) {
		int s = rx->seq[i];
		r->in_order = r->in_order && s > prev;
		prev = s;
		if (s < PART_CUT_AT) {
			r->got_before++;
		} else if (s < PART_HEAL_AT) {
			r->got_during++;
		} else {
			r->got_after++;
			if (r->first_after < 0)
				r->first_after = s;
		}
	}
	route_proxy_counts(proxy, &r->px);
}

/* One run on @kinds: A subscribes, B publishes through the proxy. */
static void part_run(const char *kinds, struct part_rx *rx, struct part_result *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->kinds, kinds, 2);
	r->first_after = r->probe_at = -1;
	proxied_start(kinds);
	natsConnection *a = connect_to(0), *b = connect_to(1);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_Subscribe(&sub, a, "part.>", part_on_msg, rx), NATS_OK);
	subs[nsubs++] = sub;
	cr_assert_eq(natsConnection_FlushTimeout(a, 5000), NATS_OK);
	/* one subscription for probe and data: the probe proves the data's interest */
	int64_t deadline = nats_Now() + WAIT_MS;
	while (!atomic_load(&rx->probes) && nats_Now() < deadline) {
		natsConnection_PublishString(b, "part.probe", "");
		natsConnection_Flush(b);
		nats_Sleep(50);
	}
	cr_assert(atomic_load(&rx->probes), "%s: the route did not form in %d ms", kinds, WAIT_MS);
	part_publish(b, rx, r);
	deadline = nats_Now() + WAIT_MS; /* the tail still on its way */
	while (r->probe_at >= 0 && part_last(rx) < r->published - 1 && nats_Now() < deadline)
		nats_Sleep(10);
	part_count(rx, r);
	cr_assert(cluster_stop(), "%s: every node stopped cleanly", kinds);
	cr_log_info("partition %s (A %s, B %s): before the cut %d of %d arrived; while cut 0 "
	            "expected, %d of %d arrived; after the heal %d of %d arrived, the first "
	            "#%d (%d lost while the route re-formed), seen %lld ms after the heal; "
	            "proxy: %llu relayed, %llu cut, %llu refused while cut",
	            kinds, kind_name(nodes[0].kind), kind_name(nodes[1].kind), r->got_before,
	            PART_CUT_AT, r->got_during, PART_HEAL_AT - PART_CUT_AT, r->got_after,
	            r->published - PART_HEAL_AT, r->first_after, r->first_after - PART_HEAL_AT,
	            (long long)r->resume_ms, (unsigned long long)r->px.relayed,
	            (unsigned long long)r->px.cut, (unsigned long long)r->px.refused);
}

/* What every topology must show, as nats-server does. */
static void part_check(const struct part_result *r)
{
	cr_assert(r->px.cut >= 1 && r->px.relayed >= 2, "%s: B's route went through the proxy",
	          r->kinds);
	cr_assert(r->in_order, "%s: every message arrived once and in order", r->kinds);
	cr_assert_gt(r->got_before, 0, "%s: the route carried messages before the cut", r->kinds);
	cr_assert_eq(r->got_during, 0, "%s: nothing published while cut crossed", r->kinds);
	cr_assert_geq(r->probe_at, 0, "%s: delivery resumed after the heal", r->kinds);
	cr_assert_eq(r->got_after, r->published - r->first_after,
	             "%s: from the first message after the heal on, every one arrived "
	             "(%d of %d from #%d)",
	             r->kinds, r->got_after, r->published - r->first_after, r->first_after);
}

/* The reference (two nats-server nodes) and then @kinds, in one test so
 * that the log shows their counts side by side. */
static void check_partition(const char *kinds)
{
	struct part_result ref, got;
	part_run("nn", &rxs[0], &ref);
	part_check(&ref);
	part_run(kinds, &rxs[1], &got);
	part_check(&got);
	cr_log_info("partition %s vs nn: lost in flight at the cut %d vs %d, lost while the "
	            "route re-formed %d vs %d, resumed %lld vs %lld ms after the heal",
	            kinds, PART_CUT_AT - got.got_before, PART_CUT_AT - ref.got_before,
	            got.first_after - PART_HEAL_AT, ref.first_after - PART_HEAL_AT,
	            (long long)got.resume_ms, (long long)ref.resume_ms);
}

TestSuite(cluster_faults, .fini = teardown, .timeout = 120);

Test(cluster_faults, partition_heal_rr)
{
	check_partition("rr");
}

Test(cluster_faults, partition_heal_nr)
{
	check_partition("nr");
}

Test(cluster_faults, partition_heal_rn)
{
	check_partition("rn");
}

/* ---- interest changed during a partition ---- */

/* Subscriptions made (and one removed) on both sides while the route is
 * cut are what each side knows of the other after the heal. */
static void check_subs_during_partition(const char *kinds)
{
	proxied_start(kinds);
	natsConnection *a = connect_to(0), *b = connect_to(1);
	natsSubscription *gone = sub_sync(a, "before.a", NULL);
	natsSubscription *kept = sub_sync(b, "before.b", NULL);
	await_route(b, gone, "before.a");
	await_route(a, kept, "before.b");

	cr_assert_eq(route_proxy_cut(proxy), 0, "cut");
	/* each side drops the interest it had from the other */
	await_no_responders(b, "before.a");
	await_no_responders(a, "before.b");
	cr_assert_eq(natsSubscription_Unsubscribe(gone), NATS_OK);
	natsSubscription *da = sub_sync(a, "during.a", NULL);
	natsSubscription *dq = sub_sync(a, "during.q", "workers");
	natsSubscription *db = sub_sync(b, "during.b", NULL);
	natsSubscription *dw = sub_sync(b, "during.>", NULL);
	assert_quiet(b, da, "during.a");

	cr_assert_eq(route_proxy_heal(proxy), 0, "heal");
	await_route(b, da, "during.a");
	await_route(b, dq, "during.q");
	await_route(a, db, "during.b");
	await_route(a, dw, "during.x");
	await_route(a, kept, "before.b");
	/* what was removed while cut is not announced again */
	natsMsg *rep = NULL;
	natsStatus s = natsConnection_RequestString(&rep, b, "before.a", "anyone?", 3000);
	natsMsg_Destroy(rep);
	cr_assert_eq(s, NATS_NO_RESPONDERS, "%s: before.a has no interest anywhere: %s", kinds,
	             natsStatus_GetText(s));
	struct route_proxy_counts px;
	route_proxy_counts(proxy, &px);
	cr_log_info("subscriptions during partition %s: proxy %llu relayed, %llu refused while cut",
	            kinds, (unsigned long long)px.relayed, (unsigned long long)px.refused);
}

Test(cluster_faults, subs_during_partition_nn)
{
	check_subs_during_partition("nn");
}

Test(cluster_faults, subs_during_partition_rr)
{
	check_subs_during_partition("rr");
}

Test(cluster_faults, subs_during_partition_nr)
{
	check_subs_during_partition("nr");
}

Test(cluster_faults, subs_during_partition_rn)
{
	check_subs_during_partition("rn");
}

/* ---- route authorization ---- */

/* Lines of @srv's log that contain @needle. */
static int log_lines(const struct harness_server *srv, const char *needle)
{
	FILE *f = fopen(srv->log_path, "re");
	if (!f)
		return 0;
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void log_dump(const struct node *n)
{
	FILE *f = fopen(n->srv.log_path, "re");
	char buf[4096];
	size_t len;
	fprintf(stderr, "---- log of %s (%s) ----\n", n->name, kind_name(n->kind));
	while (f && (len = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, len, stderr);
	if (f)
		fclose(f);
	fprintf(stderr, "---- end of log ----\n");
}

/* Waits until node @i's log has a line with @needle. */
static void await_log(int i, const char *needle)
{
	int64_t deadline = nats_Now() + WAIT_MS;
	while (log_lines(&nodes[i].srv, needle) == 0 && nats_Now() < deadline)
		nats_Sleep(50);
	if (log_lines(&nodes[i].srv, needle) == 0) {
		log_dump(&nodes[i]);
		cr_assert_fail("%s's log has no line with \"%s\" after %d ms", nodes[i].name,
		               needle, WAIT_MS);
	}
}

/* Starts A requiring route credentials ruser/rpass, and B dialling it with
 * @userinfo ("user:pass@" or "") in the route URL. */
static void auth_start(const char *kinds, const char *userinfo)
{
	nodes_init(kinds);
	char conf[256], route[96];
	snprintf(conf, sizeof(conf),
	         "cluster {\n  name: itest\n  listen: 127.0.0.1:%d\n"
	         "  authorization { user: ruser, password: rpass }\n}\n",
	         nodes[0].cport);
	node_start(0, conf, NULL);
	snprintf(route, sizeof(route), "nats://%s127.0.0.1:%d", userinfo, nodes[0].cport);
	node_start(1, NULL, route);
}

/* B presents @userinfo, which A refuses: no message crosses either way, A
 * logs the refusal, B the -ERR it got. A's line differs by kind: nats-server
 * logs "authentication error" (then "Router connection closed:
 * Authentication Failure"), ringbus the -ERR text it sends; both diallers log
 * the peer's 'Authorization Violation'. */
static void check_auth_refused(const char *kinds, const char *userinfo)
{
	int64_t started = nats_Now();
	auth_start(kinds, userinfo);
	const char *a_says = nodes[0].kind == HARNESS_NATS_SERVER ? "authentication error"
	                                                          : "Authorization Violation";
	await_log(0, a_says);
	await_log(1, "'Authorization Violation'");
	natsConnection *a = connect_to(0), *b = connect_to(1);
	natsSubscription *sa = sub_sync(a, "auth.a", NULL), *sb = sub_sync(b, "auth.b", NULL);
	assert_quiet(b, sa, "auth.a");
	assert_quiet(a, sb, "auth.b");
	int refusals = log_lines(&nodes[0].srv, a_says);
	cr_log_info("route auth %s, B dialling with \"%s\": refused; A (%s) logged \"%s\" %d times "
	            "in %lld ms",
	            kinds, userinfo, kind_name(nodes[0].kind), a_says, refusals,
	            (long long)(nats_Now() - started));
	cr_assert(cluster_stop(), "%s: every node stopped cleanly", kinds);
}

/* A refused dialler tries again once a second, as nats-server (A's count
 * of refusals is logged, not asserted: no rates in these tests). A ringbus
 * dialler used to try ten times a second: it registers the route on the
 * peer's INFO, before the -ERR closes it, and dialled a lost registered
 * route again at once; now a second later. */
static void check_route_auth(const char *kinds)
{
	auth_start(kinds, "ruser:rpass@");
	natsConnection *a = connect_to(0), *b = connect_to(1);
	natsSubscription *sa = sub_sync(a, "auth.a", NULL), *sb = sub_sync(b, "auth.b", NULL);
	await_route(b, sa, "auth.a");
	await_route(a, sb, "auth.b");
	cr_assert(cluster_stop(), "%s: every node stopped cleanly", kinds);
	check_auth_refused(kinds, "ruser:wrong@");
	check_auth_refused(kinds, "");
}

Test(cluster_faults, route_auth_nn)
{
	check_route_auth("nn");
}

Test(cluster_faults, route_auth_rr)
{
	check_route_auth("rr");
}

Test(cluster_faults, route_auth_nr)
{
	check_route_auth("nr");
}

Test(cluster_faults, route_auth_rn)
{
	check_route_auth("rn");
}
