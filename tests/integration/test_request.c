/* Request/reply, no-responders, message headers and payload sizes up to
 * max_payload through libnats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

TestSuite(request, .init = itest_setup, .fini = itest_teardown, .timeout = 120);

#define WAIT_MS     5000
#define MAX_PAYLOAD 1048576

/* Responder: answers "re:<request>" to the reply subject, copying headers. */
static void echo_responder(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	(void)closure;
	char body[256];
	snprintf(body, sizeof body, "re:%.*s", natsMsg_GetDataLength(msg), natsMsg_GetData(msg));
	natsMsg *reply = NULL;
	if (natsMsg_Create(&reply, natsMsg_GetReply(msg), NULL, body, (int)strlen(body)) ==
	    NATS_OK) {
		const char *v = NULL;
		if (natsMsgHeader_Get(msg, "X-Trace", &v) == NATS_OK)
			natsMsgHeader_Set(reply, "X-Trace", v);
		natsConnection_PublishMsg(nc, reply);
		natsMsg_Destroy(reply);
	}
	natsMsg_Destroy(msg);
}

static void start_responder(natsConnection *nc, const char *subject, const char *queue)
{
	natsSubscription *sub = NULL;
	if (queue != NULL)
		ITEST_NATS_OK(
		    natsConnection_QueueSubscribe(&sub, nc, subject, queue, echo_responder, NULL));
	else
		ITEST_NATS_OK(natsConnection_Subscribe(&sub, nc, subject, echo_responder, NULL));
	itest_track_sub(sub);
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, WAIT_MS));
}

Test(request, a_request_gets_the_responders_reply)
{
	natsConnection *server = itest_nats(NULL), *client = itest_nats(NULL);
	start_responder(server, "svc.echo", NULL);
	char req[32], want[40];
	for (int i = 0; i < 100; i++) {
		snprintf(req, sizeof req, "q%d", i);
		snprintf(want, sizeof want, "re:q%d", i);
		natsMsg *reply = NULL;
		natsStatus s =
		    natsConnection_RequestString(&reply, client, "svc.echo", req, WAIT_MS);
		cr_assert_eq(s, NATS_OK, "request %d: %s", i, natsStatus_GetText(s));
		cr_assert_eq((size_t)natsMsg_GetDataLength(reply), strlen(want));
		cr_assert(memcmp(natsMsg_GetData(reply), want, strlen(want)) == 0, "reply %d", i);
		natsMsg_Destroy(reply);
	}
}

Test(request, a_responder_on_the_requesting_connection_answers)
{
	natsConnection *nc = itest_nats(NULL);
	start_responder(nc, "svc.self", "group");
	natsMsg *reply = NULL;
	ITEST_NATS_OK(natsConnection_RequestString(&reply, nc, "svc.self", "me", WAIT_MS));
	cr_assert_str_eq(natsMsg_GetData(reply), "re:me");
	natsMsg_Destroy(reply);
}

Test(request, a_request_nobody_listens_to_fails_with_no_responders)
{
	natsConnection *client = itest_nats(NULL);
	cr_assert(natsConnection_HasHeaderSupport(client) == NATS_OK,
	          "server must support headers");
	for (int i = 0; i < 20; i++) {
		natsMsg *reply = NULL;
		/* A long timeout: only the server's 503 can end the wait early. */
		natsStatus s =
		    natsConnection_RequestString(&reply, client, "svc.none", "hello?", 30000);
		natsMsg_Destroy(reply);
		cr_assert_eq(s, NATS_NO_RESPONDERS, "request %d: %s", i, natsStatus_GetText(s));
	}
	/* Once a responder appears, the same subject answers. */
	natsConnection *server = itest_nats(NULL);
	start_responder(server, "svc.none", NULL);
	natsMsg *reply = NULL;
	ITEST_NATS_OK(natsConnection_RequestString(&reply, client, "svc.none", "now", WAIT_MS));
	cr_assert_str_eq(natsMsg_GetData(reply), "re:now");
	natsMsg_Destroy(reply);
}

Test(request, headers_arrive_intact)
{
	natsConnection *sc = itest_nats(NULL), *pub = itest_nats(NULL);
	natsSubscription *sub = itest_sub(sc, "hdr.x", NULL);
	natsMsg *msg = NULL;
	ITEST_NATS_OK(natsMsg_Create(&msg, "hdr.x", "hdr.reply", "body", 4));
	ITEST_NATS_OK(natsMsgHeader_Set(msg, "X-One", "1"));
	ITEST_NATS_OK(natsMsgHeader_Set(msg, "Content-Type", "text/plain; charset=utf-8"));
	ITEST_NATS_OK(natsMsgHeader_Add(msg, "X-Many", "a"));
	ITEST_NATS_OK(natsMsgHeader_Add(msg, "X-Many", "b c"));
	ITEST_NATS_OK(natsConnection_PublishMsg(pub, msg));
	natsMsg_Destroy(msg);

	natsMsg *got = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&got, sub, WAIT_MS));
	cr_assert_str_eq(natsMsg_GetSubject(got), "hdr.x");
	cr_assert_str_eq(natsMsg_GetReply(got), "hdr.reply");
	cr_assert_eq(natsMsg_GetDataLength(got), 4);
	cr_assert(memcmp(natsMsg_GetData(got), "body", 4) == 0);
	const char *v = NULL;
	ITEST_NATS_OK(natsMsgHeader_Get(got, "X-One", &v));
	cr_assert_str_eq(v, "1");
	ITEST_NATS_OK(natsMsgHeader_Get(got, "Content-Type", &v));
	cr_assert_str_eq(v, "text/plain; charset=utf-8");
	const char **values = NULL;
	int count = 0;
	ITEST_NATS_OK(natsMsgHeader_Values(got, "X-Many", &values, &count));
	cr_assert_eq(count, 2);
	cr_assert_str_eq(values[0], "a");
	cr_assert_str_eq(values[1], "b c");
	free((void *)values);
	natsMsg_Destroy(got);
}

Test(request, headers_travel_through_request_and_reply)
{
	natsConnection *server = itest_nats(NULL), *client = itest_nats(NULL);
	start_responder(server, "svc.hdr", NULL);
	natsMsg *req = NULL, *reply = NULL;
	ITEST_NATS_OK(natsMsg_Create(&req, "svc.hdr", NULL, "x", 1));
	ITEST_NATS_OK(natsMsgHeader_Set(req, "X-Trace", "abc-123"));
	ITEST_NATS_OK(natsConnection_RequestMsg(&reply, client, req, WAIT_MS));
	natsMsg_Destroy(req);
	const char *v = NULL;
	ITEST_NATS_OK(natsMsgHeader_Get(reply, "X-Trace", &v));
	cr_assert_str_eq(v, "abc-123");
	cr_assert_str_eq(natsMsg_GetData(reply), "re:x");
	natsMsg_Destroy(reply);
}

static const int payload_sizes[] = {
    0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 1000000, MAX_PAYLOAD - 1024, MAX_PAYLOAD,
};

Test(request, payloads_up_to_max_payload_arrive_intact)
{
	natsConnection *sc = itest_nats(NULL), *pub = itest_nats(NULL);
	cr_assert_eq(natsConnection_GetMaxPayload(pub), MAX_PAYLOAD);
	natsSubscription *sub = itest_sub(sc, "big.x", NULL);
	char *data = malloc(MAX_PAYLOAD + 1);
	cr_assert_not_null(data);
	for (size_t i = 0; i <= MAX_PAYLOAD; i++)
		data[i] = (char)(i * 7 + i / 251);
	const size_t n = sizeof payload_sizes / sizeof payload_sizes[0];
	for (size_t k = 0; k < n; k++)
		ITEST_NATS_OK(natsConnection_Publish(pub, "big.x", data, payload_sizes[k]));
	for (size_t k = 0; k < n; k++) {
		natsMsg *m = NULL;
		ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
		cr_assert_eq(natsMsg_GetDataLength(m), payload_sizes[k]);
		cr_assert(memcmp(natsMsg_GetData(m), data, (size_t)payload_sizes[k]) == 0,
		          "payload of %d bytes changed", payload_sizes[k]);
		natsMsg_Destroy(m);
	}
	natsStatus s = natsConnection_Publish(pub, "big.x", data, MAX_PAYLOAD + 1);
	cr_assert_eq(s, NATS_MAX_PAYLOAD, "one byte over max_payload: %s", natsStatus_GetText(s));
	free(data);
	/* The refused publish did not disturb the connection. */
	ITEST_NATS_OK(natsConnection_PublishString(pub, "big.x", "after"));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
	cr_assert_str_eq(natsMsg_GetData(m), "after");
	natsMsg_Destroy(m);
}
