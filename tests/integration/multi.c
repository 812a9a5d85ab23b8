/* Helpers of the multi-server suites (multi.h). */
#include "tests/integration/multi.h"

#include <criterion/criterion.h>

#include "tests/integration/nats_sign.h"

#define MULTI_CONNS_MAX 32

static natsConnection *multi_conns[MULTI_CONNS_MAX];
static int multi_nconns;
/* The keys of the logins with credentials files, one per connection. */
static struct nsign multi_signs[MULTI_CONNS_MAX];

/* A client logged in as @user (its password the same), or with the
 * credentials file @creds, or neither. */
static natsConnection *multi_connect_as(const char *url, const char *user, const char *creds)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	cr_assert_lt(multi_nconns, MULTI_CONNS_MAX);
	cr_assert_eq(natsOptions_Create(&o), NATS_OK);
	natsOptions_SetURL(o, url);
	if (user)
		natsOptions_SetUserInfo(o, user, user);
	if (creds)
		cr_assert_eq(nsign_use_creds(o, &multi_signs[multi_nconns], creds), NATS_OK, "%s",
		             creds);
	natsOptions_SetTimeout(o, 5000);
	natsOptions_SetAllowReconnect(o, false);
	natsStatus st = nsign_connect(&nc, o);
	natsOptions_Destroy(o);
	cr_assert_eq(st, NATS_OK, "connect to %s: %s", url, natsStatus_GetText(st));
	multi_conns[multi_nconns++] = nc;
	return nc;
}

natsConnection *multi_connect(const char *url, const char *user)
{
	return multi_connect_as(url, user, NULL);
}

natsConnection *multi_connect_creds(const char *url, const char *creds)
{
	return multi_connect_as(url, NULL, creds);
}

void multi_close_all(void)
{
	for (int i = multi_nconns; i > 0; i--)
		natsConnection_Destroy(multi_conns[i - 1]);
	multi_nconns = 0;
}

void multi_await(natsConnection *pub, natsSubscription *sub, const char *subject, int wait_ms)
{
	int64_t deadline = nats_Now() + wait_ms;
	while (nats_Now() < deadline) {
		natsConnection_PublishString(pub, subject, "probe");
		natsConnection_Flush(pub);
		natsMsg *m = NULL;
		if (natsSubscription_NextMsg(&m, sub, 100) == NATS_OK) {
			natsMsg_Destroy(m);
			while (natsSubscription_NextMsg(&m, sub, 200) == NATS_OK)
				natsMsg_Destroy(m);
			return;
		}
	}
	cr_assert_fail("no message on %s crossed in %d ms", subject, wait_ms);
}

void multi_check_crosses(const char *from_url, const char *to_url, const char *subject, int wait_ms)
{
	natsConnection *a = multi_connect(to_url, NULL);
	natsConnection *b = multi_connect(from_url, NULL);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, a, subject), NATS_OK);
	natsConnection_Flush(a);
	multi_await(b, sub, subject, wait_ms);
	cr_assert_eq(natsConnection_PublishString(b, subject, "crossed"), NATS_OK);
	natsConnection_Flush(b);
	natsMsg *m = NULL;
	cr_assert_eq(natsSubscription_NextMsg(&m, sub, wait_ms), NATS_OK, "%s did not cross",
	             subject);
	cr_expect_str_eq(natsMsg_GetData(m), "crossed");
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
}

void multi_on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	char reply[64];
	snprintf(reply, sizeof(reply), "re:%s", natsMsg_GetData(msg));
	natsConnection_PublishString(nc, natsMsg_GetReply(msg), reply);
	natsMsg_Destroy(msg);
}

bool multi_stop_hub_leaf(struct harness_server *hub, struct harness_server *leaf, const char *dir)
{
	multi_close_all();
	char why[128];
	bool ok = true;
	if (leaf->pid > 0 && harness_server_stop(leaf, why, sizeof(why))) {
		fprintf(stderr, "ITEST TEARDOWN FAILURE: leaf %s\n", why);
		ok = false;
	}
	if (hub->pid > 0)
		harness_server_stop(hub, why, sizeof(why));
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return ok;
}
