/* TLS on routes (cluster { tls { } }) in mixed clusters: ringbus with
 * ringbus, ringbus dialling nats-server and nats-server dialling ringbus.
 * A message crosses both ways; a node whose certificate another CA signed
 * (and which trusts only that CA) forms no route. Topologies are named by
 * their nodes' kinds ("rn": ringbus, then nats-server); each node after the
 * first dials the first.
 *
 * Checked on nats-server 2.9.10: the TLS handshake is the first thing on a
 * route (the dialler sends its ClientHello at once, the acceptor sends
 * nothing and waits); then CONNECT and INFO as without TLS, with
 * "tls_required":true (and "tls_verify":true in INFO). The acceptor always
 * requires the dialler's certificate ("x509: certificate specifies an
 * incompatible key usage" for one without clientAuth), hence the node
 * certificates of tls_certs.sh. */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "itest.h"
#include "multi.h"

#define NODES_MAX 3
#define WAIT_MS   8000

struct node {
	struct harness_server srv;
	enum harness_kind kind;
	int cport;
	char conf[1024];
};

static struct node nodes[NODES_MAX];
static int nnodes;
static char certdir[64];

static void certs_make(void)
{
	itest_certs_make(certdir, sizeof(certdir), "ictls");
}

static void teardown(void)
{
	multi_close_all();
	bool ok = true;
	char why[128];
	for (int i = 0; i < nnodes; i++)
		if (nodes[i].srv.pid > 0 && harness_server_stop(&nodes[i].srv, why, sizeof(why))) {
			fprintf(stderr, "ITEST TEARDOWN FAILURE: node %d %s\n", i, why);
			ok = false;
		}
	nnodes = 0;
	itest_certs_remove(certdir);
	cr_expect(ok, "every node stopped cleanly");
}

TestSuite(cluster_tls, .init = certs_make, .fini = teardown, .timeout = 120);

/* Starts nodes of @kinds; node i > 0 dials node 0. Node i uses the
 * certificate @certs[i] ("node" or "other-node") and trusts @cas[i]. */
static void cluster_start(const char *kinds, const char *const *certs, const char *const *cas)
{
	nnodes = (int)strlen(kinds);
	for (int i = 0; i < nnodes; i++) {
		nodes[i].kind = kinds[i] == 'r' ? HARNESS_RINGBUS : HARNESS_NATS_SERVER;
		nodes[i].cport = harness_free_port();
		cr_assert_gt(nodes[i].cport, 0);
	}
	for (int i = 0; i < nnodes; i++) {
		struct node *n = &nodes[i];
		char routes[64] = "";
		if (i > 0)
			snprintf(routes, sizeof(routes), "routes: [\"nats://127.0.0.1:%d\"]",
			         nodes[0].cport);
		snprintf(
		    n->conf, sizeof(n->conf),
		    "server_name: n%d\ncluster {\n  name: itls\n  listen: \"127.0.0.1:%d\"\n"
		    "  %s\n  tls {\n    cert_file: \"%s/%s.pem\"\n    key_file: \"%s/%s.key\"\n"
		    "    ca_file: \"%s/%s.pem\"\n    timeout: 2\n  }\n}\n",
		    i, n->cport, routes, certdir, certs[i], certdir, certs[i], certdir, cas[i]);
		struct harness_opts o = {.config = n->conf};
		int ret = harness_server_start_kind(&n->srv, n->kind, &o);
		cr_assert_eq(ret, 0, "start node %d: %d", i, ret);
	}
}

/* A message crosses from node @from to node @to (after the interest did). */
static void check_crosses(int from, int to, const char *subject)
{
	multi_check_crosses(nodes[from].srv.url, nodes[to].srv.url, subject, WAIT_MS);
}

static void check_stranger(const char *kinds);

static void check_pair(const char *kinds)
{
	static const char *const certs[] = {"node", "node"}, *const cas[] = {"ca", "ca"};
	cluster_start(kinds, certs, cas);
	check_crosses(1, 0, "to.first");
	check_crosses(0, 1, "to.second");
}

/* The reference: nats-server with nats-server, same files. */
Test(cluster_tls, nn_a_message_crosses_both_ways)
{
	check_pair("nn");
}

Test(cluster_tls, nnn_a_node_of_another_ca_forms_no_route)
{
	check_stranger("nnn");
}

Test(cluster_tls, rr_a_message_crosses_both_ways)
{
	check_pair("rr");
}

Test(cluster_tls, rn_nats_server_dials_ringbus_and_a_message_crosses_both_ways)
{
	check_pair("rn");
}

Test(cluster_tls, nr_ringbus_dials_nats_server_and_a_message_crosses_both_ways)
{
	check_pair("nr");
}

/* Node 1 has a certificate of another CA and trusts only it; node 2 is a
 * proper member, whose route shows that node 0 forms TLS routes and has
 * had the time to be dialled by node 1 a few times (every second). */
static void check_stranger(const char *kinds)
{
	static const char *const certs[] = {"node", "other-node", "node"};
	static const char *const cas[] = {"ca", "other-ca", "ca"};
	cluster_start(kinds, certs, cas);
	check_crosses(2, 0, "from.member");
	natsConnection *a = multi_connect(nodes[0].srv.url, NULL);
	natsConnection *b = multi_connect(nodes[1].srv.url, NULL);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, a, "from.stranger"), NATS_OK);
	natsConnection_Flush(a);
	for (int i = 0; i < 30; i++) {
		natsConnection_PublishString(b, "from.stranger", "no route");
		natsConnection_Flush(b);
		natsMsg *m = NULL;
		cr_assert_neq(natsSubscription_NextMsg(&m, sub, 100), NATS_OK,
		              "a message crossed from a node of another CA");
	}
	natsSubscription_Destroy(sub);
}

Test(cluster_tls, rrr_a_node_of_another_ca_forms_no_route)
{
	check_stranger("rrr");
}

Test(cluster_tls, rnr_a_nats_server_of_another_ca_forms_no_route_with_ringbus)
{
	check_stranger("rnr");
}

Test(cluster_tls, nrn_a_ringbus_of_another_ca_forms_no_route_with_nats_server)
{
	check_stranger("nrn");
}
