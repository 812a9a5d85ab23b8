/* TLS on leaf node connections (leafnodes { tls { } } on the hub, tls { }
 * in a remote) with both servers in every role: a ringbus leaf of a
 * nats-server hub, a nats-server leaf of a ringbus hub, ringbus with
 * ringbus, and nats-server with nats-server as the reference. Topologies
 * are named by their nodes' kinds, the hub first ("rn": a ringbus hub, a
 * nats-server leaf); every leaf joins the hub.
 *
 * Checked on nats-server 2.9.10: the hub sends INFO in plaintext with
 * "tls_required":true ("tls_verify":true with verify), then waits for the
 * leaf's TLS handshake; without verify a leaf that shows no certificate is
 * taken. A remote with tls { } does the handshake after the INFO, checking
 * the hub's certificate against its ca_file, and says "tls_required":true
 * in its CONNECT. */
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
	char conf[1024];
};

/* A leaf's TLS: the certificate it shows (NULL: none) and the CA it trusts. */
struct leaf_tls {
	const char *cert;
	const char *ca;
};

static struct node nodes[NODES_MAX];
static int nnodes;
static char certdir[64];

static void certs_make(void)
{
	itest_certs_make(certdir, sizeof(certdir), "iltls");
}

static void teardown(void)
{
	multi_close_all();
	bool ok = true;
	char why[128];
	for (int i = nnodes - 1; i >= 0; i--)
		if (nodes[i].srv.pid > 0 && harness_server_stop(&nodes[i].srv, why, sizeof(why))) {
			fprintf(stderr, "ITEST TEARDOWN FAILURE: node %d %s\n", i, why);
			ok = false;
		}
	nnodes = 0;
	itest_certs_remove(certdir);
	cr_expect(ok, "every node stopped cleanly");
}

TestSuite(leaf_tls, .init = certs_make, .fini = teardown, .timeout = 120);

static enum harness_kind kind_of(char k)
{
	return k == 'r' ? HARNESS_RINGBUS : HARNESS_NATS_SERVER;
}

/* Starts the hub (node 0, kind @kinds[0], verifying leaves' certificates
 * when @verify) and a leaf per further kind, leaf i with @leaves[i - 1]. */
static void topology_start(const char *kinds, bool verify, const struct leaf_tls *leaves)
{
	nnodes = (int)strlen(kinds);
	int lport = harness_free_port();
	cr_assert_gt(lport, 0);
	for (int i = 0; i < nnodes; i++) {
		struct node *n = &nodes[i];
		n->kind = kind_of(kinds[i]);
		if (i == 0) {
			snprintf(n->conf, sizeof(n->conf),
			         "server_name: hub\nleafnodes {\n  listen: \"127.0.0.1:%d\"\n"
			         "  tls {\n    cert_file: \"%s/node.pem\"\n    key_file: "
			         "\"%s/node.key\"\n    ca_file: \"%s/ca.pem\"\n    timeout: 2\n%s"
			         "  }\n}\n",
			         lport, certdir, certdir, certdir,
			         verify ? "    verify: true\n" : "");
		} else {
			const struct leaf_tls *t = &leaves[i - 1];
			char cert[256] = "";
			if (t->cert)
				snprintf(cert, sizeof(cert),
				         ", cert_file: \"%s/%s.pem\", key_file: \"%s/%s.key\"",
				         certdir, t->cert, certdir, t->cert);
			snprintf(n->conf, sizeof(n->conf),
			         "server_name: leaf%d\nleafnodes { remotes = [ { url: "
			         "\"nats-leaf://127.0.0.1:%d\",\n  tls { ca_file: \"%s/%s.pem\"%s, "
			         "timeout: 2 } } ] }\n",
			         i, lport, certdir, t->ca, cert);
		}
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

/* Nothing published on node @from reaches a subscriber on node @to, while
 * the leaf retries (every second) for 3 s. */
static void check_never_crosses(int from, int to, const char *subject)
{
	natsConnection *a = multi_connect(nodes[to].srv.url, NULL);
	natsConnection *b = multi_connect(nodes[from].srv.url, NULL);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, a, subject), NATS_OK);
	natsConnection_Flush(a);
	for (int i = 0; i < 30; i++) {
		natsConnection_PublishString(b, subject, "no leaf");
		natsConnection_Flush(b);
		natsMsg *m = NULL;
		cr_assert_neq(natsSubscription_NextMsg(&m, sub, 100), NATS_OK,
		              "a message crossed a leaf connection that should not exist");
	}
	natsSubscription_Destroy(sub);
}

/* The hub's own clients are served. */
static void check_hub_serves(void)
{
	check_crosses(0, 0, "on.the.hub");
}

static void check_pair(const char *kinds)
{
	static const struct leaf_tls leaves[] = {{NULL, "ca"}};
	topology_start(kinds, false, leaves);
	check_crosses(1, 0, "leaf.to.hub");
	check_crosses(0, 1, "hub.to.leaf");
}

Test(leaf_tls, nn_a_message_crosses_both_ways)
{
	check_pair("nn");
}

Test(leaf_tls, nr_a_ringbus_leaf_of_a_nats_server_hub_and_a_message_crosses_both_ways)
{
	check_pair("nr");
}

Test(leaf_tls, rn_a_nats_server_leaf_of_a_ringbus_hub_and_a_message_crosses_both_ways)
{
	check_pair("rn");
}

Test(leaf_tls, rr_a_message_crosses_both_ways)
{
	check_pair("rr");
}

/* Leaf 1 trusts another CA: it never joins; leaf 2, a proper one, joins
 * the same hub, which goes on serving its clients. */
static void check_stranger(const char *kinds)
{
	static const struct leaf_tls leaves[] = {{"node", "other-ca"}, {"node", "ca"}};
	topology_start(kinds, false, leaves);
	check_crosses(2, 0, "from.member");
	check_never_crosses(1, 0, "from.stranger");
	check_never_crosses(0, 1, "to.stranger");
	check_hub_serves();
}

Test(leaf_tls, nnn_a_leaf_trusting_another_ca_does_not_connect)
{
	check_stranger("nnn");
}

Test(leaf_tls, rrr_a_leaf_trusting_another_ca_does_not_connect)
{
	check_stranger("rrr");
}

Test(leaf_tls, rnr_a_nats_server_leaf_trusting_another_ca_does_not_join_ringbus)
{
	check_stranger("rnr");
}

Test(leaf_tls, nrn_a_ringbus_leaf_trusting_another_ca_does_not_join_nats_server)
{
	check_stranger("nrn");
}

/* The hub verifies: leaf 1 shows no certificate and is refused; leaf 2
 * shows one the hub's CA signed and joins. */
static void check_verify(const char *kinds)
{
	static const struct leaf_tls leaves[] = {{NULL, "ca"}, {"node", "ca"}};
	topology_start(kinds, true, leaves);
	check_crosses(2, 0, "from.certified");
	check_crosses(0, 2, "to.certified");
	check_never_crosses(1, 0, "from.anonymous");
	check_hub_serves();
}

Test(leaf_tls, nnn_with_verify_a_leaf_without_a_certificate_is_refused)
{
	check_verify("nnn");
}

Test(leaf_tls, rrr_with_verify_a_leaf_without_a_certificate_is_refused)
{
	check_verify("rrr");
}

Test(leaf_tls, rnn_with_verify_ringbus_refuses_a_nats_server_leaf_without_a_certificate)
{
	check_verify("rnn");
}

Test(leaf_tls, nrr_with_verify_nats_server_refuses_a_ringbus_leaf_without_a_certificate)
{
	check_verify("nrr");
}
