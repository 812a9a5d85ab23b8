/* A leaf that logs in to its hub with a credentials file (leafnodes {
 * remotes = [ { credentials } ] }): the hub is nats-server in operator mode
 * (operator JWT, resolver: MEMORY, the account preloaded), with keys and
 * JWTs the test makes (nats_jwt.c); the leaf is ringbus or, as the
 * reference that the setup itself works, nats-server. Clients use libnats. */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "multi.h"
#include "nats_jwt.h"

#define WAIT_MS 8000

static struct harness_server hub, leaf;
static char dir[64];
static char leaf_creds[128], client_creds[128], wrong_creds[128], op_jwt[128];
/* A path in the directory where no file is until a test writes one. */
static char later_creds[160];
static char *account_jwt;
static struct njwt_key account;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The operator, its account, and three users of it: the leaf's, a hub
 * client's, and one whose seed goes with the leaf's JWT (a wrong one). */
static void make_keys(void)
{
	struct njwt_key op, u[3];
	snprintf(dir, sizeof(dir), "/tmp/ringbus-it-creds-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(njwt_key_new(&op, NKEY_PREFIX_OPERATOR), 0);
	cr_assert_eq(njwt_key_new(&account, NKEY_PREFIX_ACCOUNT), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(njwt_key_new(&u[i], NKEY_PREFIX_USER), 0);
	char *oj = njwt_operator(&op),
	     *uj[2] = {njwt_user(&account, &u[0]), njwt_user(&account, &u[1])};
	account_jwt = njwt_account(&op, &account);
	cr_assert(oj && uj[0] && uj[1] && account_jwt);
	snprintf(op_jwt, sizeof(op_jwt), "%s/operator.jwt", dir);
	write_file(op_jwt, oj);
	snprintf(leaf_creds, sizeof(leaf_creds), "%s/leaf.creds", dir);
	snprintf(client_creds, sizeof(client_creds), "%s/client.creds", dir);
	snprintf(wrong_creds, sizeof(wrong_creds), "%s/wrong.creds", dir);
	snprintf(later_creds, sizeof(later_creds), "%s/later.creds", dir);
	cr_assert_eq(njwt_write_creds(leaf_creds, uj[0], u[0].seed_text), 0);
	cr_assert_eq(njwt_write_creds(client_creds, uj[1], u[1].seed_text), 0);
	cr_assert_eq(njwt_write_creds(wrong_creds, uj[0], u[2].seed_text), 0);
	free(oj);
	free(uj[0]);
	free(uj[1]);
}

/* The hub in operator mode, its leaf listener on @leaf_port. */
static void hub_start(int leaf_port)
{
	char conf[4096];
	snprintf(conf, sizeof(conf),
	         "operator: \"%s\"\n"
	         "resolver: MEMORY\n"
	         "resolver_preload: { %s: \"%s\" }\n"
	         "leafnodes { listen: \"127.0.0.1:%d\" }\n",
	         op_jwt, account.pub, account_jwt, leaf_port);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&hub, HARNESS_NATS_SERVER, &o), 0, "hub");
}

/* The hub, and a leaf of @kind that logs in with the file @creds. */
static void topology_start(enum harness_kind kind, const char *creds)
{
	make_keys();
	int port = harness_free_port();
	cr_assert_gt(port, 0);
	hub_start(port);
	char conf[512];
	snprintf(conf, sizeof(conf),
	         "leafnodes { remotes = [ { url: \"nats-leaf://127.0.0.1:%d\", "
	         "credentials: \"%s\" } ] }\n",
	         port, creds);
	struct harness_opts o = {.config = conf};
	cr_assert_eq(harness_server_start_kind(&leaf, kind, &o), 0, "leaf");
}

static void teardown(void)
{
	bool ok = multi_stop_hub_leaf(&hub, &leaf, dir);
	free(account_jwt);
	account_jwt = NULL;
	cr_expect(ok, "the leaf stopped cleanly");
}

TestSuite(leaf_creds, .fini = teardown, .timeout = 120);

/* 20 messages from @from reach a subscriber of @to, in order. */
static void check_pubsub(natsConnection *from, natsConnection *to, const char *subj)
{
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, to, subj), NATS_OK);
	natsConnection_Flush(to);
	multi_await(from, sub, subj, WAIT_MS);
	for (int i = 0; i < 20; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", i);
		natsConnection_PublishString(from, subj, buf);
	}
	natsConnection_Flush(from);
	for (int i = 0; i < 20; i++) {
		natsMsg *m = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK, "message %d", i);
		cr_assert_eq(atoi(natsMsg_GetData(m)), i);
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
}

/* A responder on @server's side answers requests from @from's. */
static void check_request(natsConnection *server, natsConnection *from)
{
	natsSubscription *svc = NULL, *probe = NULL;
	cr_assert_eq(natsConnection_Subscribe(&svc, server, "csvc", multi_on_request, NULL),
	             NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&probe, server, "csvc.probe"), NATS_OK);
	natsConnection_Flush(server);
	multi_await(from, probe, "csvc.probe", WAIT_MS);
	natsSubscription_Destroy(probe);
	for (int i = 0; i < 5; i++) {
		natsMsg *rep = NULL;
		natsStatus s = natsConnection_RequestString(&rep, from, "csvc", "q", 5000);
		cr_assert_eq(s, NATS_OK, "request across the leaf: %s", natsStatus_GetText(s));
		cr_assert_str_eq(natsMsg_GetData(rep), "re:q");
		natsMsg_Destroy(rep);
	}
	natsSubscription_Destroy(svc);
}

/* Messages and requests both ways between a client of the hub (logged in
 * with another user's creds of the same account) and one of the leaf. */
static void check_joined(enum harness_kind kind)
{
	topology_start(kind, leaf_creds);
	natsConnection *h = multi_connect_creds(hub.url, client_creds);
	natsConnection *l = multi_connect(leaf.url, NULL);
	check_pubsub(h, l, "toleaf.x");
	check_pubsub(l, h, "tohub.x");
	check_request(h, l);
	check_request(l, h);
}

/* The JWTs themselves: a libnats client with the creds logs in to the hub,
 * and a client without them is refused. */
Test(leaf_creds, the_hub_takes_the_test_jwts)
{
	make_keys();
	int port = harness_free_port();
	cr_assert_gt(port, 0);
	hub_start(port);
	natsConnection *h = multi_connect_creds(hub.url, client_creds);
	cr_assert_eq(natsConnection_Flush(h), NATS_OK);
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	cr_assert_eq(natsOptions_Create(&o), NATS_OK);
	natsOptions_SetURL(o, hub.url);
	natsOptions_SetAllowReconnect(o, false);
	cr_expect_neq(natsConnection_Connect(&nc, o), NATS_OK, "no creds: refused");
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
}

Test(leaf_creds, a_ringbus_leaf_joins_an_operator_mode_hub)
{
	check_joined(HARNESS_RINGBUS);
}

Test(leaf_creds, a_nats_server_leaf_joins_an_operator_mode_hub)
{
	check_joined(HARNESS_NATS_SERVER);
}

/* Whether @s's log holds @what at least @times times. */
static bool log_has(const struct harness_server *s, const char *what, int times)
{
	FILE *f = fopen(s->log_path, "r");
	if (!f)
		return false;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n >= times;
}

/* A seed that is not the JWT's user's: the hub refuses the leaf; nothing
 * crosses; the leaf says so and keeps trying, still up. */
static void check_refused(enum harness_kind kind)
{
	topology_start(kind, wrong_creds);
	natsConnection *h = multi_connect_creds(hub.url, client_creds);
	natsConnection *l = multi_connect(leaf.url, NULL);
	natsSubscription *sh = NULL, *sl = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sh, h, "tohub"), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&sl, l, "toleaf"), NATS_OK);
	natsConnection_Flush(h);
	natsConnection_Flush(l);
	for (int i = 0; i < 30; i++) {
		natsConnection_PublishString(l, "tohub", "x");
		natsConnection_PublishString(h, "toleaf", "x");
		natsConnection_Flush(l);
		natsConnection_Flush(h);
		usleep(100 * 1000);
	}
	natsMsg *m = NULL;
	cr_expect_neq(natsSubscription_NextMsg(&m, sh, 200), NATS_OK, "nothing reached the hub");
	cr_expect_neq(natsSubscription_NextMsg(&m, sl, 200), NATS_OK, "nothing reached the leaf");
	natsSubscription_Destroy(sh);
	natsSubscription_Destroy(sl);
	int64_t deadline = nats_Now() + WAIT_MS;
	while (!log_has(&leaf, "Authorization Violation", 2) && nats_Now() < deadline)
		usleep(100 * 1000);
	cr_expect(log_has(&leaf, "Authorization Violation", 2),
	          "the leaf logged the hub's -ERR on two tries at least");
	cr_expect(log_has(&hub, "authentication error", 2), "the hub refused it each time");
	cr_assert_eq(natsConnection_Flush(l), NATS_OK, "the leaf is still up");
}

Test(leaf_creds, a_ringbus_leaf_with_a_wrong_seed_is_refused)
{
	check_refused(HARNESS_RINGBUS);
}

Test(leaf_creds, a_nats_server_leaf_with_a_wrong_seed_is_refused)
{
	check_refused(HARNESS_NATS_SERVER);
}

/* A file that is not there: the leaf starts (nats-server only logs it at
 * start), says why at each try, and joins once the file appears. */
static void check_missing_then_written(enum harness_kind kind)
{
	topology_start(kind, later_creds); /* starts without its file */
	int64_t deadline = nats_Now() + WAIT_MS;
	while (!log_has(&leaf, "No such file or directory", 2) &&
	       !log_has(&leaf, "no such file or directory", 2) && nats_Now() < deadline)
		usleep(100 * 1000);
	cr_expect(log_has(&leaf, "o such file or directory", 2), "each try says why");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", leaf_creds, later_creds);
	cr_assert_eq(system(cmd), 0);
	natsConnection *h = multi_connect_creds(hub.url, client_creds);
	natsConnection *l = multi_connect(leaf.url, NULL);
	check_pubsub(l, h, "tohub.later");
}

Test(leaf_creds, a_ringbus_leaf_waits_for_its_creds_file)
{
	check_missing_then_written(HARNESS_RINGBUS);
}

Test(leaf_creds, a_nats_server_leaf_waits_for_its_creds_file)
{
	check_missing_then_written(HARNESS_NATS_SERVER);
}
