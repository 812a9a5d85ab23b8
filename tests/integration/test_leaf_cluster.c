/* Leaf nodes of a clustered hub (issue 17): two nats-server nodes joined by
 * a route, each with a leaf listener, and a ringbus leaf on each node. What
 * one leaf's client publishes reaches the other leaf's client across
 * leaf -> hub -> route -> hub -> leaf; requests are answered that way; a
 * queue group with members on both leaves and on the hub takes each message
 * exactly once in the whole system. Every server on its own loopback ports. */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "multi.h"

#define WAIT_MS 10000

static struct harness_server hub[2], leaf[2];

static void teardown(void)
{
	multi_close_all();
	char why[128];
	bool ok = true;
	for (int i = 0; i < 2; i++)
		if (leaf[i].pid > 0 && harness_server_stop(&leaf[i], why, sizeof(why))) {
			fprintf(stderr, "ITEST TEARDOWN FAILURE: leaf %d %s\n", i, why);
			ok = false;
		}
	for (int i = 0; i < 2; i++)
		if (hub[i].pid > 0)
			harness_server_stop(&hub[i], why, sizeof(why));
	cr_expect(ok, "the leaves stopped cleanly");
}

TestSuite(leaf_cluster, .fini = teardown, .timeout = 120);

/* The hub nodes (a cluster of two) and a ringbus leaf on each. */
static void topology_start(void)
{
	int cport[2], lport[2];
	for (int i = 0; i < 2; i++) {
		cport[i] = harness_free_port();
		lport[i] = harness_free_port();
	}
	for (int i = 0; i < 2; i++) {
		char conf[512];
		snprintf(conf, sizeof(conf),
		         "server_name: hub%d\n"
		         "cluster { name: hubs, listen: \"127.0.0.1:%d\", routes: "
		         "[\"nats://127.0.0.1:%d\"] }\n"
		         "leafnodes { listen: \"127.0.0.1:%d\" }\n",
		         i, cport[i], cport[1 - i], lport[i]);
		struct harness_opts o = {.config = conf};
		cr_assert_eq(harness_server_start_kind(&hub[i], HARNESS_NATS_SERVER, &o), 0,
		             "hub %d", i);
	}
	for (int i = 0; i < 2; i++) {
		char conf[256];
		snprintf(conf, sizeof(conf),
		         "server_name: leaf%d\n"
		         "leafnodes { remotes = [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n",
		         i, lport[i]);
		struct harness_opts o = {.config = conf};
		cr_assert_eq(harness_server_start_kind(&leaf[i], HARNESS_RINGBUS, &o), 0, "leaf %d",
		             i);
	}
}

/* A subscription of @at on @subject, once a probe from @from reaches it. */
static natsSubscription *sub_across(natsConnection *at, natsConnection *from, const char *subject,
                                    const char *probe)
{
	natsSubscription *sub = NULL, *p = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, at, subject), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, at, probe), NATS_OK);
	natsConnection_Flush(at);
	multi_await(from, p, probe, WAIT_MS);
	natsSubscription_Destroy(p);
	return sub;
}

Test(leaf_cluster, two_ringbus_leaves_of_a_nats_server_cluster)
{
	topology_start();
	natsConnection *l0 = multi_connect(leaf[0].url, NULL),
	               *l1 = multi_connect(leaf[1].url, NULL);
	natsConnection *h1 = multi_connect(hub[1].url, NULL);
	/* pub/sub across both hubs, 200 in order */
	natsSubscription *s = sub_across(l1, l0, "across.>", "probe.across");
	for (int i = 0; i < 200; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		natsConnection_PublishString(l0, "across.x", buf);
	}
	natsConnection_Flush(l0);
	for (int i = 0; i < 200; i++) {
		natsMsg *m = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&m, s, WAIT_MS), NATS_OK, "message %d", i);
		cr_assert_eq(atoi(natsMsg_GetData(m)), i, "in order from leaf to leaf");
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(s);
	/* requests from one leaf answered on the other */
	natsSubscription *svc = NULL, *p = NULL;
	cr_assert_eq(natsConnection_Subscribe(&svc, l1, "svc", multi_on_request, NULL), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&p, l1, "probe.svc"), NATS_OK);
	natsConnection_Flush(l1);
	multi_await(l0, p, "probe.svc", WAIT_MS);
	natsSubscription_Destroy(p);
	for (int i = 0; i < 20; i++) {
		natsMsg *r = NULL;
		cr_assert_eq(natsConnection_RequestString(&r, l0, "svc", "q", 5000), NATS_OK,
		             "request %d", i);
		cr_expect_str_eq(natsMsg_GetData(r), "re:q");
		natsMsg_Destroy(r);
	}
	natsSubscription_Destroy(svc);
	/* a queue group on both leaves and a hub: each message once */
	natsConnection *members[3] = {l0, l1, h1};
	natsSubscription *q[3] = {0};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(natsConnection_QueueSubscribeSync(&q[i], members[i], "work", "wq"),
		             NATS_OK);
		natsConnection_Flush(members[i]);
	}
	/* every member's interest has crossed once a plain probe beside it has */
	for (int i = 0; i < 3; i++) {
		char probe[32];
		snprintf(probe, sizeof(probe), "probe.q%d", i);
		natsSubscription *ps = NULL;
		cr_assert_eq(natsConnection_SubscribeSync(&ps, members[i], probe), NATS_OK);
		natsConnection_Flush(members[i]);
		multi_await(l0, ps, probe, WAIT_MS);
		natsSubscription_Destroy(ps);
	}
	enum { N = 600 };
	static bool seen[N];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		natsConnection_PublishString(i % 2 ? l0 : h1, "work", buf);
	}
	natsConnection_Flush(l0);
	natsConnection_Flush(h1);
	int got = 0, dups = 0;
	int64_t deadline = nats_Now() + WAIT_MS;
	for (bool quiet = false; !quiet;) {
		quiet = got >= N || nats_Now() > deadline;
		for (int i = 0; i < 3; i++) {
			natsMsg *m = NULL;
			while (natsSubscription_NextMsg(&m, q[i], quiet ? 300 : 10) == NATS_OK) {
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
	cr_expect_eq(dups, 0, "each message to one member in the whole system");
	cr_expect_eq(got, N, "every message delivered once (got %d of %d)", got, N);
	for (int i = 0; i < 3; i++)
		natsSubscription_Destroy(q[i]);
}
