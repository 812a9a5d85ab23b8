/* Service imports between accounts, the same configuration for both servers
 * (accounts_fixture.c): the request's reply rewritten to `_R_.…` in the
 * exporting account, the answer routed back to the requester only, libnats
 * requests through the import, and no 503 for a request without a responder
 * (nats-server counts the import as the receiver). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/accounts_fixture.h"
#include "tests/integration/itest.h"

TestSuite(accounts, .fini = itest_teardown, .timeout = 120);

/* ---- service imports ---- */

/* B's ask.q with reply _INBOX.b.1 reaches A's help.> as help.q with a
 * reply of the server's own (_R_.…); A's answer there reaches B on
 * _INBOX.b.1, once: a second answer to the same reply is dropped. B's own
 * help.q (not an imported subject) stays in B. */
Test(accounts, a_service_import_rewrites_the_reply_and_routes_the_answer_back)
{
	start(accounts_conf);
	struct raw_conn *a = login("a"), *b = login("b");
	roundtrip(a, "SUB help.> 7\r\n");
	roundtrip(b, "SUB _INBOX.b.* 3\r\nSUB fromA.> 4\r\n");
	ITEST_SEND(b, "PUB help.q _INBOX.b.0 1\r\nz\r\nPUB ask.q _INBOX.b.1 3\r\nabc\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(a, raw_read_msg(a, &m, WAIT_MS));
	cr_assert_str_eq(m.subject, "help.q");
	cr_expect_str_eq(m.sid, "7");
	cr_expect_str_eq(m.data, "abc", "B's own help.q must not reach A");
	cr_expect_str_neq(m.reply, "_INBOX.b.1", "the reply is rewritten");
	cr_expect_eq(strncmp(m.reply, "_R_.", 4), 0, "reply %s", m.reply);
	char reply[256];
	snprintf(reply, sizeof reply, "%s", m.reply);
	raw_msg_fini(&m);
	ITEST_RAW_OK(a, raw_sendf(a,
	                          "PUB %s 3\r\nans\r\nPUB %s 4\r\nans2\r\n"
	                          "PUB news.end 3\r\nend\r\n",
	                          reply, reply));
	char seen[512];
	collect(b, "fromA.news.end", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "[_INBOX.b.1 3 ans]", "one answer, on B's own reply subject");
	raw_close(b);
	raw_close(a);
}

/* Answers "<subject>:<request>" to the request's reply subject. */
static void responder(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	char body[256];
	snprintf(body, sizeof body, "%s:%.*s", natsMsg_GetSubject(msg), natsMsg_GetDataLength(msg),
	         natsMsg_GetData(msg));
	if (natsMsg_GetReply(msg) != NULL)
		natsConnection_PublishString(nc, natsMsg_GetReply(msg), body);
	natsMsg_Destroy(msg);
}

static natsConnection *nats_as(const char *user)
{
	natsOptions *o = NULL;
	ITEST_NATS_OK(natsOptions_Create(&o));
	ITEST_NATS_OK(natsOptions_SetUserInfo(o, user, user));
	natsConnection *nc = itest_nats(o);
	natsOptions_Destroy(o);
	return nc;
}

/* libnats requests from B on ask.* are answered by A's responder on help.*. */
Test(accounts, a_libnats_request_through_a_service_import_is_answered)
{
	start(accounts_conf);
	natsConnection *a = nats_as("a"), *b = nats_as("b");
	natsSubscription *sub = NULL;
	ITEST_NATS_OK(natsConnection_Subscribe(&sub, a, "help.>", responder, NULL));
	itest_track_sub(sub);
	ITEST_NATS_OK(natsConnection_FlushTimeout(a, WAIT_MS));
	for (int i = 0; i < 20; i++) {
		char subject[32], req[16], want[64];
		snprintf(subject, sizeof subject, i % 2 ? "ask.q" : "ask.deep.%d", i);
		snprintf(req, sizeof req, "r%d", i);
		snprintf(want, sizeof want, "help.%s:r%d", subject + 4, i);
		natsMsg *reply = NULL;
		natsStatus s = natsConnection_RequestString(&reply, b, subject, req, WAIT_MS);
		cr_assert_eq(s, NATS_OK, "request %d on %s: %s", i, subject, natsStatus_GetText(s));
		cr_expect_eq((size_t)natsMsg_GetDataLength(reply), strlen(want));
		cr_expect(memcmp(natsMsg_GetData(reply), want, strlen(want)) == 0,
		          "request %d: got %.*s, want %s", i, natsMsg_GetDataLength(reply),
		          natsMsg_GetData(reply), want);
		natsMsg_Destroy(reply);
	}
}

/* nats-server 2.9.10 answers no 503 to a request that a service import
 * takes, responder or not: the import's own subscription counts as the
 * receiver (the requester times out). A request nobody takes gets the 503,
 * byte for byte; with a responder, its answer and no 503. */
Test(accounts, a_service_request_without_a_responder_gets_no_503)
{
	start(accounts_conf);
	struct raw_conn *b = itest_raw("{\"verbose\":false,\"headers\":true,\"no_responders\":true,"
	                               "\"user\":\"b\",\"pass\":\"b\"}");
	static const char busy[] = "HMSG _INBOX.b.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n";
	roundtrip(b, "SUB _INBOX.b.* 1\r\n");
	/* a 503 for ask.q would come before the PONG, or before or after b.2's */
	roundtrip(b, "PUB ask.q _INBOX.b.1 2\r\nhi\r\n");
	ITEST_SEND(b, "PUB nobody.q _INBOX.b.2 2\r\nhi\r\n");
	ITEST_RAW_OK(b, raw_expect(b, busy, sizeof busy - 1, WAIT_MS));
	ITEST_SEND(b, "PING\r\n");
	ITEST_EXPECT(b, "PONG\r\n");
	struct raw_conn *a = login("a");
	roundtrip(a, "SUB help.> 7\r\n");
	ITEST_SEND(b, "PUB ask.q _INBOX.b.3 2\r\nhi\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(a, raw_read_msg(a, &m, WAIT_MS));
	ITEST_RAW_OK(a, raw_sendf(a, "PUB %s 3\r\nans\r\n", m.reply));
	raw_msg_fini(&m);
	ITEST_RAW_OK(b, raw_read_msg(b, &m, WAIT_MS));
	cr_expect_str_eq(m.subject, "_INBOX.b.3");
	cr_expect_not(m.has_headers, "a status instead of the answer: %s", m.data);
	cr_expect_str_eq(m.data, "ans");
	raw_msg_fini(&m);
	raw_close(a);
	raw_close(b);
}

/* libnats asks for no_responders: through the import with nobody in A, its
 * request times out on both servers (NATS_TIMEOUT, not NATS_NO_RESPONDERS);
 * on a subject nobody takes it is told at once; once A answers, it is. */
Test(accounts, a_libnats_request_through_a_service_import_without_a_responder_times_out)
{
	start(accounts_conf);
	natsConnection *b = nats_as("b");
	natsMsg *reply = NULL;
	natsStatus s = natsConnection_RequestString(&reply, b, "ask.q", "r", 500);
	cr_expect_eq(s, NATS_TIMEOUT, "ask.q: %s", natsStatus_GetText(s));
	natsMsg_Destroy(reply);
	reply = NULL;
	s = natsConnection_RequestString(&reply, b, "nobody.q", "r", WAIT_MS);
	cr_expect_eq(s, NATS_NO_RESPONDERS, "nobody.q: %s", natsStatus_GetText(s));
	natsMsg_Destroy(reply);
	reply = NULL;
	natsConnection *a = nats_as("a");
	natsSubscription *sub = NULL;
	ITEST_NATS_OK(natsConnection_Subscribe(&sub, a, "help.>", responder, NULL));
	itest_track_sub(sub);
	ITEST_NATS_OK(natsConnection_FlushTimeout(a, WAIT_MS));
	s = natsConnection_RequestString(&reply, b, "ask.q", "r", WAIT_MS);
	cr_expect_eq(s, NATS_OK, "ask.q with a responder: %s", natsStatus_GetText(s));
	natsMsg_Destroy(reply);
}

/* The answer goes to the requester only: C's `>` and `$G`'s `>` see nothing
 * of it; A's other subscriber on `>` sees the request and the answer on the
 * `_R_.…` subject, never on _INBOX.b.1. */
Test(accounts, the_answer_to_a_service_request_reaches_only_the_requester)
{
	start(accounts_conf);
	struct raw_conn *a = login("a"), *a2 = login("a2"), *b = login("b"), *c = login("c"),
	                *g = login("g");
	roundtrip(a, "SUB help.> 7\r\n");
	roundtrip(a2, "SUB > 1\r\n");
	roundtrip(c, "SUB > 1\r\n");
	roundtrip(g, "SUB > 1\r\n");
	roundtrip(b, "SUB _INBOX.b.* 3\r\nSUB fromA.> 4\r\n");
	ITEST_SEND(b, "PUB ask.q _INBOX.b.1 3\r\nabc\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(a, raw_read_msg(a, &m, WAIT_MS));
	cr_assert_str_eq(m.subject, "help.q");
	char reply[256];
	snprintf(reply, sizeof reply, "%s", m.reply);
	raw_msg_fini(&m);
	ITEST_RAW_OK(a, raw_sendf(a, "PUB %s 3\r\nans\r\nPUB news.sports 1\r\ns\r\n", reply));
	char seen[1024], want[512];
	collect(b, "fromA.news.sports", seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "[_INBOX.b.1 3 ans]");
	expect_first(c, "sports", "C");
	/* a2: the request (from B) and the answer (from A), in either order */
	collect(a2, "news.sports", seen, sizeof seen, NULL, 0);
	snprintf(want, sizeof want, "[%s 1 ans]", reply);
	cr_expect(strstr(seen, "[help.q 1 abc]") && strstr(seen, want) &&
	              strlen(seen) == strlen("[help.q 1 abc]") + strlen(want),
	          "A's `>` saw %s", seen);
	cr_expect_null(strstr(seen, "_INBOX.b.1"), "A's `>` saw %s", seen);
	ITEST_SEND(g, "PUB end 3\r\nend\r\n");
	expect_first(g, "end", "$G");
	raw_close(g);
	raw_close(c);
	raw_close(b);
	raw_close(a2);
	raw_close(a);
}
