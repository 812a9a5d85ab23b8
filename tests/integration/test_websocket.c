/* NATS clients over WebSocket (websocket { no_tls: true }): the upgrade, the
 * protocol through frames, messages both ways between a WebSocket client
 * and a TCP client (libnats), requests, large and fragmented messages,
 * control frames, and the refusals (unmasked frames, bad upgrades, origins).
 * The WebSocket client is raw (ws_client.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "io/ws/ws.h"
#include "tests/integration/http_get.h"
#include "tests/integration/itest.h"
#include "tests/integration/ws_client.h"

#define WAIT_MS     5000
#define MAX_PAYLOAD (1024 * 1024) /* both servers' default */

static uint16_t ws_port;

/* Starts the server with a WebSocket listener on a free port (@top: lines
 * before its block, @extra: more lines of it; both may be NULL) and, when
 * @mon_port is not NULL, monitoring. */
static void ws_start_conf(const char *top, const char *extra, uint16_t *mon_port)
{
	int p = harness_free_port();
	cr_assert_gt(p, 0);
	ws_port = (uint16_t)p;
	static char conf[512];
	snprintf(conf, sizeof(conf),
	         "%swebsocket {\n  listen: \"127.0.0.1:%d\"\n  no_tls: true\n%s}\n", top ? top : "",
	         p, extra ? extra : "");
	if (mon_port) {
		*mon_port = itest_start_monitored(NULL, conf);
		cr_assert_eq(http_wait_listening(*mon_port, WAIT_MS), 0);
		return;
	}
	struct harness_opts o = {.config = conf};
	itest_start(&o);
}

static void ws_start(const char *extra, uint16_t *mon_port)
{
	ws_start_conf(NULL, extra, mon_port);
}

static void ws_setup(void)
{
	ws_start(NULL, NULL);
}

TestSuite(websocket, .init = ws_setup, .fini = itest_teardown, .timeout = 120);

#define WS_OK(expr)                                                                                \
	do {                                                                                       \
		long ws_r_ = (long)(expr);                                                         \
		cr_assert(ws_r_ >= 0, "%s failed: %s", #expr, strerror((int)-ws_r_));              \
	} while (0)

/* A WebSocket client past the upgrade, INFO read, CONNECT and PING answered. */
static void ws_client(struct wsc *w)
{
	int status = wsc_open(w, ws_port, NULL, NULL);
	cr_assert_eq(status, 101, "upgrade: %d\n%s", status, w->head);
	WS_OK(wsc_read_until(w, "\r\n", NULL, 0, WAIT_MS)); /* INFO */
	WS_OK(wsc_send_str(w, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"));
	WS_OK(wsc_read_until(w, "PONG\r\n", NULL, 0, WAIT_MS));
}

Test(websocket, upgrade_answers_101_and_info_comes_in_a_binary_frame)
{
	struct wsc w;
	cr_assert_eq(wsc_open(&w, ws_port, NULL, NULL), 101, "%s", w.head);
	cr_expect(strstr(w.head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "%s",
	          w.head);
	cr_expect(strstr(w.head, "Upgrade: websocket\r\n"), "%s", w.head);
	struct wsc_frame f;
	WS_OK(wsc_frame(&w, &f, WAIT_MS));
	cr_expect_eq(f.op, WS_OP_BINARY);
	cr_expect(f.fin && !f.masked);
	cr_expect(!strncmp((char *)f.payload, "INFO {", 6), "%s", f.payload);
	cr_expect(strstr((char *)f.payload, "\"max_payload\":1048576"), "%s", f.payload);
	free(f.payload);
	wsc_close(&w);
}

Test(websocket, connect_ping_and_pong_go_through_frames)
{
	struct wsc w;
	ws_client(&w);
	/* a PING split over two frames, and a server PING answered */
	WS_OK(wsc_send(&w, WS_OP_BINARY, "PI", 2, true));
	WS_OK(wsc_send(&w, WS_OP_BINARY, "NG\r\n", 4, true));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	WS_OK(wsc_send_str(&w, "PONG\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	wsc_close(&w);
}

Test(websocket, messages_go_both_ways_between_websocket_and_tcp_clients)
{
	struct wsc w;
	ws_client(&w);
	natsConnection *nc = itest_nats(NULL);
	natsSubscription *tcp_sub = itest_sub(nc, "to.tcp", NULL);
	WS_OK(wsc_send_str(&w, "SUB to.ws 7\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));

	ITEST_NATS_OK(natsConnection_PublishString(nc, "to.ws", "from tcp"));
	char got[256];
	WS_OK(wsc_read_until(&w, "from tcp\r\n", got, sizeof(got), WAIT_MS));
	cr_expect_str_eq(got, "MSG to.ws 7 8\r\nfrom tcp\r\n");

	WS_OK(wsc_send_str(&w, "PUB to.tcp 6\r\nfrom w\r\n"));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, tcp_sub, WAIT_MS));
	cr_expect_eq(natsMsg_GetDataLength(m), 6);
	cr_expect(!memcmp(natsMsg_GetData(m), "from w", 6));
	natsMsg_Destroy(m);
	wsc_close(&w);
}

Test(websocket, requests_are_answered_both_ways)
{
	struct wsc w;
	ws_client(&w);
	natsConnection *nc = itest_nats(NULL);
	/* the WebSocket client serves */
	WS_OK(wsc_send_str(&w, "SUB svc.ws 1\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	natsSubscription *inbox = itest_sub(nc, "reply.tcp", NULL);
	ITEST_NATS_OK(natsConnection_PublishRequestString(nc, "svc.ws", "reply.tcp", "q1"));
	char got[256];
	WS_OK(wsc_read_until(&w, "q1\r\n", got, sizeof(got), WAIT_MS));
	cr_expect_str_eq(got, "MSG svc.ws 1 reply.tcp 2\r\nq1\r\n");
	WS_OK(wsc_send_str(&w, "PUB reply.tcp 2\r\na1\r\n"));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, inbox, WAIT_MS));
	cr_expect(!memcmp(natsMsg_GetData(m), "a1", 2));
	natsMsg_Destroy(m);

	/* the TCP client serves */
	natsSubscription *svc = itest_sub(nc, "svc.tcp", NULL);
	WS_OK(wsc_send_str(&w, "SUB reply.ws 2\r\nPUB svc.tcp reply.ws 2\r\nq2\r\n"));
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, svc, WAIT_MS));
	cr_expect_str_eq(natsMsg_GetReply(m), "reply.ws");
	ITEST_NATS_OK(natsConnection_PublishString(nc, natsMsg_GetReply(m), "a2"));
	natsMsg_Destroy(m);
	WS_OK(wsc_read_until(&w, "a2\r\n", got, sizeof(got), WAIT_MS));
	cr_expect_str_eq(got, "MSG reply.ws 2 2\r\na2\r\n");
	wsc_close(&w);
}

static char *big_payload(size_t n)
{
	char *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + i % 26);
	return p;
}

Test(websocket, a_payload_near_max_payload_crosses_in_several_frames_and_back)
{
	struct wsc w;
	ws_client(&w);
	natsConnection *nc = itest_nats(NULL);
	natsSubscription *sub = itest_sub(nc, "big", NULL);
	size_t n = MAX_PAYLOAD - 64;
	char *p = big_payload(n);
	char head[64];
	snprintf(head, sizeof(head), "PUB big %zu\r\n", n);
	WS_OK(wsc_send_str(&w, head));
	for (size_t off = 0; off < n; off += 100000) /* whole messages of 100 kB */
		WS_OK(
		    wsc_send(&w, WS_OP_BINARY, p + off, n - off < 100000 ? n - off : 100000, true));
	WS_OK(wsc_send_str(&w, "\r\nSUB big.back 1\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
	cr_assert_eq((size_t)natsMsg_GetDataLength(m), n);
	cr_expect(!memcmp(natsMsg_GetData(m), p, n), "payload differs");
	natsMsg_Destroy(m);

	/* and to the WebSocket client: one frame with a 64-bit length */
	ITEST_NATS_OK(natsConnection_Publish(nc, "big.back", p, (int)n));
	char want[64];
	snprintf(want, sizeof(want), "MSG big.back 1 %zu\r\n", n);
	WS_OK(wsc_read_until(&w, want, NULL, 0, WAIT_MS));
	long got = wsc_read_until(&w, "\r\n", NULL, 0, WAIT_MS);
	cr_expect_eq(got, (long)n + 2, "payload of %ld bytes", got);
	free(p);
	wsc_close(&w);
}

Test(websocket, output_for_a_reader_that_lags_arrives_whole_and_in_order)
{
	/* 4 MB for a client that does not read for a while: the server's sends
	 * are partial, and each must resume inside its frame */
	struct wsc w;
	ws_client(&w);
	WS_OK(wsc_send_str(&w, "SUB lag 1\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	natsConnection *nc = itest_nats(NULL);
	enum { N = 1000, SIZE = 4000 };
	char *p = big_payload(SIZE);
	for (int i = 0; i < N; i++) {
		snprintf(p, 12, "%010d", i);
		ITEST_NATS_OK(natsConnection_Publish(nc, "lag", p, SIZE));
	}
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, WAIT_MS));
	nats_Sleep(300);
	char want[64], *got = malloc(SIZE + 64);
	for (int i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "MSG lag 1 %d\r\n", SIZE);
		WS_OK(wsc_read_until(&w, want, got, SIZE + 64, WAIT_MS));
		cr_assert_str_eq(got, want, "message %d", i);
		long n = wsc_read_until(&w, "\r\n", got, SIZE + 64, WAIT_MS);
		cr_assert_eq(n, SIZE + 2, "message %d: %ld bytes", i, n);
		snprintf(want, sizeof(want), "%010d", i);
		cr_assert(!memcmp(got, want, 10), "message %d came as %.10s", i, got);
	}
	free(got);
	free(p);
	wsc_close(&w);
}

Test(websocket, fragmented_messages_are_read_whole_with_pings_between_fragments)
{
	struct wsc w;
	ws_client(&w);
	natsConnection *nc = itest_nats(NULL);
	natsSubscription *sub = itest_sub(nc, "frag", NULL);
	WS_OK(wsc_send(&w, WS_OP_TEXT, "PUB frag 1", 10, false));
	WS_OK(wsc_send(&w, WS_OP_CONT, "1\r\nhello", 8, false));
	WS_OK(wsc_send(&w, WS_OP_PING, "p", 1, true)); /* control frames may come between */
	WS_OK(wsc_send(&w, WS_OP_CONT, " world\r\n", 8, true));
	struct wsc_frame f;
	WS_OK(wsc_frame(&w, &f, WAIT_MS));
	cr_expect_eq(f.op, WS_OP_PONG);
	cr_expect_eq(f.len, 1);
	free(f.payload);
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
	cr_assert_eq(natsMsg_GetDataLength(m), 11);
	cr_expect(!memcmp(natsMsg_GetData(m), "hello world", 11));
	natsMsg_Destroy(m);
	wsc_close(&w);
}

Test(websocket, a_ping_frame_gets_a_pong_with_its_payload)
{
	struct wsc w;
	ws_client(&w);
	WS_OK(wsc_send(&w, WS_OP_PING, "are you there", 13, true));
	struct wsc_frame f;
	WS_OK(wsc_frame(&w, &f, WAIT_MS));
	cr_expect_eq(f.op, WS_OP_PONG);
	cr_expect(f.fin && !f.masked);
	cr_expect_str_eq((char *)f.payload, "are you there");
	free(f.payload);
	wsc_close(&w);
}

Test(websocket, a_close_is_echoed_then_the_connection_ends)
{
	struct wsc w;
	ws_client(&w);
	uint8_t close[5] = {0x03, 0xe8, 'b', 'y', 'e'}; /* 1000 "bye" */
	WS_OK(wsc_send(&w, WS_OP_CLOSE, close, sizeof(close), true));
	struct wsc_frame f;
	WS_OK(wsc_frame(&w, &f, WAIT_MS));
	cr_expect_eq(f.op, WS_OP_CLOSE);
	cr_assert_eq(f.len, 5);
	cr_expect(!memcmp(f.payload, close, 5));
	free(f.payload);
	WS_OK(wsc_expect_eof(&w, NULL, WAIT_MS));
	wsc_close(&w);
}

Test(websocket, an_unmasked_frame_ends_the_connection_with_1002)
{
	struct wsc w;
	ws_client(&w);
	static const uint8_t unmasked[] = {0x82, 0x06, 'P', 'I', 'N', 'G', '\r', '\n'};
	WS_OK(wsc_send_raw(&w, unmasked, sizeof(unmasked)));
	int code = 0;
	WS_OK(wsc_expect_eof(&w, &code, WAIT_MS));
	/* nats-server queues the close frame and closes at once: it arrives
	 * only sometimes (docs/WEBSOCKET.md); ringbus always sends it */
	if (harness_kind_from_env() == HARNESS_RINGBUS)
		cr_expect_eq(code, 1002);
	else
		cr_expect(code == 0 || code == 1002, "close code %d", code);
	wsc_close(&w);
}

/* The server closes a client after an -ERR: a close frame with the code and
 * the reason nats-server gives, after the -ERR. */
static void expect_err_then_close(const char *send, const char *err, uint16_t code,
                                  const char *reason)
{
	struct wsc w;
	ws_client(&w);
	WS_OK(wsc_send_str(&w, send));
	char got[256];
	WS_OK(wsc_read_until(&w, "\r\n", got, sizeof(got), WAIT_MS));
	cr_expect_str_eq(got, err);
	struct wsc_frame f;
	WS_OK(wsc_frame(&w, &f, WAIT_MS));
	cr_assert_eq(f.op, WS_OP_CLOSE);
	cr_assert_eq(f.len, 2 + strlen(reason));
	cr_expect_eq(f.payload[0] << 8 | f.payload[1], code);
	cr_expect(!memcmp(f.payload + 2, reason, strlen(reason)), "%s", f.payload + 2);
	free(f.payload);
	WS_OK(wsc_expect_eof(&w, NULL, WAIT_MS));
	wsc_close(&w);
}

Test(websocket, a_pub_over_max_payload_gets_the_err_then_close_1009)
{
	expect_err_then_close("PUB a 2000000\r\n", "-ERR 'Maximum Payload Violation'\r\n", 1009,
	                      "Maximum Message Payload Exceeded");
}

Test(websocket, an_unknown_operation_gets_the_err_then_close_1002)
{
	expect_err_then_close("FOO\r\n", "-ERR 'Unknown Protocol Operation'\r\n", 1002,
	                      "Protocol Violation");
}

/* Reads to EOF into @e (the payloads kept): the last frame is the close
 * frame @code with @reason. */
static void expect_close(struct wsc *w, struct wsc_end *e, int code, const char *reason,
                         int timeout_ms)
{
	WS_OK(wsc_read_to_eof(w, e, true, timeout_ms));
	cr_expect_eq(e->close_code, code, "close code %d \"%s\"", e->close_code, e->reason);
	cr_expect_str_eq(e->reason, reason);
	cr_expect(!e->after_close, "frames after the close frame");
}

/* The close frame @code @reason with nothing before it (no -ERR), then
 * EOF; closes @w. */
static void expect_bare_close(struct wsc *w, int code, const char *reason)
{
	struct wsc_end e;
	expect_close(w, &e, code, reason, WAIT_MS);
	cr_expect_eq(e.len, 0, "%s", e.data);
	free(e.data);
	wsc_close(w);
}

/* Closes without an -ERR: the close frame alone, with nats-server's code
 * and reason (docs/WEBSOCKET.md). */
Test(websocket, a_client_that_half_closes_gets_close_1000_client_closed)
{
	struct wsc w;
	ws_client(&w);
	cr_assert_eq(shutdown(w.fd, SHUT_WR), 0);
	expect_bare_close(&w, 1000, "Client Closed");
}

Test(websocket, malformed_arguments_close_with_1002_protocol_violation_without_err)
{
	struct wsc w;
	ws_client(&w);
	WS_OK(wsc_send_str(&w, "PUB a b\r\n"));
	expect_bare_close(&w, 1002, "Protocol Violation");

	cr_assert_eq(wsc_open(&w, ws_port, NULL, NULL), 101, "%s", w.head);
	WS_OK(wsc_read_until(&w, "\r\n", NULL, 0, WAIT_MS)); /* INFO */
	WS_OK(wsc_send_str(&w, "CONNECT {\"verbose\":false\r\n"));
	expect_bare_close(&w, 1002, "Protocol Violation");
}

Test(websocket, a_clients_own_err_closes_with_1002_parse_error_without_err)
{
	struct wsc w;
	ws_client(&w);
	WS_OK(wsc_send_str(&w, "-ERR 'boom'\r\nPING\r\n"));
	expect_bare_close(&w, 1002, "Parse Error");
}

/* The server of the test exits on its own, cleanly. */
static void expect_exit(void)
{
	int status = 0;
	cr_assert_eq(harness_server_wait_exit(&itest_srv, 3 * WAIT_MS, &status), 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", (unsigned)status);
}

Test(websocket, the_servers_stop_closes_a_client_with_1001_server_shutdown)
{
	struct wsc w;
	ws_client(&w);
	bool nats = harness_kind_from_env() == HARNESS_NATS_SERVER;
	cr_assert_eq(kill(itest_srv.pid, nats ? SIGINT : SIGTERM), 0); /* its clean stop */
	struct wsc_end e;
	expect_close(&w, &e, 1001, "Server Shutdown", 2 * WAIT_MS);
	cr_expect_eq(e.len, 0, "%s", e.data);
	free(e.data);
	wsc_close(&w);
	expect_exit();
}

Test(websocket, a_bad_upgrade_gets_400)
{
	struct wsc w;
	char req[256];
	snprintf(req, sizeof(req),
	         "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
	         ws_port); /* no key */
	cr_assert_eq(wsc_open(&w, ws_port, req, NULL), 400, "%s", w.head);
	wsc_close(&w);
	snprintf(req, sizeof(req),
	         "POST / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Key: a2V5\r\n"
	         "Sec-WebSocket-Version: 13\r\n\r\n",
	         ws_port);
	cr_assert_eq(wsc_open(&w, ws_port, req, NULL), 405, "%s", w.head);
	wsc_close(&w);
}

/* Data frames as a server sent them, messages reassembled. */
struct frames_seen {
	size_t frames, max; /* data frames, the longest payload */
	char *data;         /* the messages' payloads (inflated) joined, NUL-ended */
	size_t len;
};

/* Reads data frames (compressed ones as they come: w->no_inflate) until
 * @want bytes of messages came: each message a binary frame, then
 * continuations until FIN, inflated whole when its first frame had RSV1. */
static void read_messages(struct wsc *w, size_t want, struct frames_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->data = malloc(want + 1);
	struct wsc_frame m = {0}; /* the message so far */
	bool in_msg = false;
	while (s->len < want) {
		struct wsc_frame f;
		WS_OK(wsc_frame(w, &f, WAIT_MS));
		cr_assert_eq(f.op, in_msg ? WS_OP_CONT : WS_OP_BINARY, "frame %zu", s->frames);
		cr_assert(!in_msg || !f.rsv1, "RSV1 on a continuation");
		if (!in_msg)
			m.rsv1 = f.rsv1;
		s->frames++;
		s->max = f.len > s->max ? f.len : s->max;
		m.payload = realloc(m.payload, m.len + f.len + 1);
		memcpy(m.payload + m.len, f.payload, f.len);
		m.len += f.len;
		free(f.payload);
		in_msg = !f.fin;
		if (in_msg)
			continue;
		if (m.rsv1)
			WS_OK(wsc_frame_inflate(&m));
		cr_assert_leq(s->len + m.len, want, "more than the message");
		memcpy(s->data + s->len, m.payload, m.len);
		s->len += m.len;
		free(m.payload);
		m = (struct wsc_frame){0};
	}
	s->data[s->len] = 0;
}

/* A client with User-Agent @agent (and permessage-deflate offered when
 * @deflate) gets a message of @n bytes of @p: returns how its frames came. */
static void browser_gets(const char *agent, bool deflate, const char *p, size_t n,
                         struct frames_seen *s)
{
	char extra[256];
	snprintf(extra, sizeof(extra), "User-Agent: %s\r\n%s", agent,
	         deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
	struct wsc w;
	cr_assert_eq(wsc_open(&w, ws_port, NULL, extra), 101, "%s", w.head);
	WS_OK(wsc_read_until(&w, "\r\n", NULL, 0, WAIT_MS)); /* INFO */
	WS_OK(wsc_send_str(&w, "CONNECT {\"verbose\":false}\r\nSUB b 1\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	w.no_inflate = true;
	natsConnection *nc = itest_nats(NULL);
	ITEST_NATS_OK(natsConnection_Publish(nc, "b", p, (int)n));
	char head[64];
	size_t k = (size_t)snprintf(head, sizeof(head), "MSG b 1 %zu\r\n", n);
	read_messages(&w, k + n + 2, s);
	cr_expect(!memcmp(s->data, head, k), "%.20s", s->data);
	cr_expect(!memcmp(s->data + k, p, n), "payload differs");
	cr_expect(!memcmp(s->data + k + n, "\r\n", 2));
	wsc_close(&w);
}

/* Bytes that do not compress (a fixed LCG), so compressed frames are long. */
static char *noise(size_t n)
{
	char *p = malloc(n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (char)(x >> 16);
	}
	return p;
}

Test(websocket, frames_to_a_browser_carry_at_most_4096_bytes_each)
{
	/* nats-server: for User-Agent "Mozilla/..." (case counts) a send is cut
	 * into whole binary frames of at most 4096 bytes */
	size_t n = 10000;
	char *p = big_payload(n);
	struct frames_seen s;
	browser_gets("Mozilla/5.0 (X11; Linux x86_64)", false, p, n, &s);
	cr_expect_leq(s.max, WS_BROWSER_FRAME_MAX);
	cr_expect_geq(s.frames, 3);
	free(s.data);
	browser_gets("mozilla/5.0", false, p, n, &s);
	cr_expect_gt(s.max, WS_BROWSER_FRAME_MAX, "not a browser: not cut");
	free(s.data);
	free(p);
}

/* True when the first "@name": in @body has the string value @value. */
static bool json_field_is(const char *body, const char *name, const char *value)
{
	char key[64];
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(body, key);
	if (!p)
		return false;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(value);
	return *p == '"' && !strncmp(p + 1, value, n) && p[1 + n] == '"';
}

/* Servers started by the test itself, with their own settings. */
TestSuite(websocket_conf, .fini = itest_teardown, .timeout = 120);

Test(websocket_conf, same_origin_refuses_another_origin_with_403)
{
	ws_start("  same_origin: true\n", NULL);
	struct wsc w;
	cr_assert_eq(wsc_open(&w, ws_port, NULL, "Origin: http://elsewhere:1\r\n"), 403, "%s",
	             w.head);
	wsc_close(&w);
	char origin[64];
	snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%u\r\n", ws_port);
	cr_assert_eq(wsc_open(&w, ws_port, NULL, origin), 101, "%s", w.head);
	WS_OK(wsc_read_until(&w, "\r\n", NULL, 0, WAIT_MS)); /* INFO */
	wsc_close(&w);
}

Test(websocket_conf, connz_shows_a_websocket_client_as_such)
{
	uint16_t mon = 0;
	ws_start(NULL, &mon);
	struct wsc w;
	ws_client(&w);
	struct http_resp r;
	cr_assert_eq(http_request(mon, "GET", "/connz", &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(json_field_is(r.body, "kind", "Client"), "%s", r.body);
	cr_expect(json_field_is(r.body, "type", "websocket"), "%s", r.body);
	http_resp_fini(&r);
	wsc_close(&w);
}

Test(websocket_conf, an_upgrade_not_finished_within_handshake_timeout_is_closed)
{
	ws_start("  handshake_timeout: \"1s\"\n", NULL);
	struct wsc w;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int r = wsc_open(&w, ws_port, "GET / HTTP/1.1\r\n", NULL); /* never finished */
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	cr_expect_eq(r, -ECONNRESET, "%d: closed without an answer", r);
	cr_expect(ms >= 900 && ms < 2500, "closed after %ld ms", ms);
	wsc_close(&w);
}

Test(websocket_conf, compression_deflates_both_ways_when_offered)
{
	ws_start("  compression: true\n", NULL);
	struct wsc w;
	int status = wsc_open(&w, ws_port, NULL,
	                      "Sec-WebSocket-Extensions: permessage-deflate; "
	                      "client_max_window_bits\r\n");
	cr_assert_eq(status, 101, "%s", w.head);
	cr_expect(strstr(w.head, "Sec-WebSocket-Extensions: permessage-deflate; "
	                         "server_no_context_takeover; client_no_context_takeover\r\n"),
	          "%s", w.head);
	struct wsc_frame f;
	WS_OK(wsc_frame(&w, &f, WAIT_MS)); /* INFO, above 64 bytes: compressed */
	cr_expect(f.rsv1);
	cr_expect(!strncmp((char *)f.payload, "INFO {", 6), "%s", f.payload);
	free(f.payload);
	const char *hello = "CONNECT {\"verbose\":false}\r\nSUB z 1\r\nPING\r\n";
	WS_OK(wsc_send_deflated(&w, hello, strlen(hello)));
	WS_OK(wsc_frame(&w, &f, WAIT_MS)); /* PONG, short: plain */
	cr_expect(!f.rsv1);
	cr_expect_str_eq((char *)f.payload, "PONG\r\n");
	free(f.payload);

	natsConnection *nc = itest_nats(NULL);
	natsSubscription *sub = itest_sub(nc, "z.tcp", NULL);
	size_t n = 200000;
	char *p = big_payload(n), head[64];
	int k = snprintf(head, sizeof(head), "PUB z.tcp %zu\r\n", n);
	char *msg = malloc(n + 64);
	memcpy(msg, head, (size_t)k);
	memcpy(msg + k, p, n);
	memcpy(msg + k + n, "\r\n", 2);
	WS_OK(wsc_send_deflated(&w, msg, (size_t)k + n + 2));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
	cr_assert_eq((size_t)natsMsg_GetDataLength(m), n);
	cr_expect(!memcmp(natsMsg_GetData(m), p, n));
	natsMsg_Destroy(m);

	ITEST_NATS_OK(natsConnection_Publish(nc, "z", p, (int)n));
	char want[64];
	snprintf(want, sizeof(want), "MSG z 1 %zu\r\n", n);
	WS_OK(wsc_read_until(&w, want, NULL, 0, WAIT_MS));
	long got = wsc_read_until(&w, "\r\n", NULL, 0, WAIT_MS);
	cr_expect_eq(got, (long)n + 2);
	free(msg);
	free(p);
	wsc_close(&w);
}

Test(websocket_conf, lame_duck_mode_closes_a_client_with_1001_server_shutdown)
{
	ws_start_conf("lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n", NULL, NULL);
	struct wsc w;
	ws_client(&w);
	cr_assert_eq(kill(itest_srv.pid, SIGUSR2), 0); /* lame duck mode, both servers */
	struct wsc_end e;
	expect_close(&w, &e, 1001, "Server Shutdown", 3 * WAIT_MS);
	cr_expect(!e.data || !strstr(e.data, "-ERR"), "%s", e.data);
	free(e.data);
	wsc_close(&w);
	expect_exit();
}

Test(websocket_conf, a_slow_consumer_is_closed_without_a_close_frame)
{
	/* nats-server skips the close frame where it does not flush: its
	 * output stops (within a frame, for write_deadline), then EOF */
	ws_start_conf("max_payload: 65536\nmax_pending: 65536\n", NULL, NULL);
	struct wsc w;
	ws_client(&w);
	WS_OK(wsc_send_str(&w, "SUB slow 1\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	natsConnection *nc = itest_nats(NULL);
	enum { N = 4000, SIZE = 10000 };
	char *p = big_payload(SIZE);
	for (int i = 0; i < N; i++)
		ITEST_NATS_OK(natsConnection_Publish(nc, "slow", p, SIZE));
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, WAIT_MS));
	free(p);
	struct wsc_end e;
	WS_OK(wsc_read_to_eof(&w, &e, false, 2 * WAIT_MS));
	cr_expect_eq(e.close_code, 0, "close frame %d \"%s\"", e.close_code, e.reason);
	cr_expect_lt(e.len, (size_t)N * SIZE, "everything came: not a slow consumer");
	wsc_close(&w);
}

Test(websocket_conf, an_upgrade_over_max_connections_gets_101_info_err_and_close_1008)
{
	ws_start_conf("max_connections: 1\n", NULL, NULL);
	/* the one connection allowed; retried while the harness's check that the
	 * server listens still holds the place (nats-server frees it later) */
	natsConnection *nc = NULL;
	natsStatus st = NATS_ERR;
	for (int i = 0; i < 40 && st != NATS_OK; i++) {
		if ((st = natsConnection_ConnectTo(&nc, itest_srv.url)) != NATS_OK)
			nats_Sleep(50);
	}
	cr_assert_eq(st, NATS_OK, "%s", natsStatus_GetText(st));
	struct wsc w;
	cr_assert_eq(wsc_open(&w, ws_port, NULL, NULL), 101, "%s", w.head);
	struct wsc_end e;
	expect_close(&w, &e, 1008, "Maximum Connections Exceeded", WAIT_MS);
	static const char err[] = "-ERR 'maximum connections exceeded'\r\n";
	size_t n = sizeof(err) - 1;
	cr_assert_gt(e.len, n, "%s", e.data);
	cr_expect(!strncmp(e.data, "INFO {", 6), "%s", e.data);
	cr_expect(strstr(e.data, "\r\n") + 2 == e.data + e.len - n, "%s", e.data); /* INFO, -ERR */
	cr_expect_str_eq(e.data + e.len - n, err);
	free(e.data);
	wsc_close(&w);
	natsConnection_Destroy(nc);
}

Test(websocket_conf, compressed_frames_to_a_browser_are_fragments_but_not_for_safari)
{
	/* nats-server: a compressed message for a browser goes in fragments of
	 * at most 4096 bytes (RSV1 on the first, continuations, FIN last);
	 * Safari's ("Version/" and "Safari/" in the agent) are not cut */
	ws_start("  compression: true\n", NULL);
	size_t n = 20000;
	char *p = noise(n);
	struct frames_seen s;
	browser_gets("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", true, p, n, &s);
	cr_expect_leq(s.max, WS_BROWSER_FRAME_MAX);
	cr_expect_geq(s.frames, 5);
	free(s.data);
	browser_gets("Mozilla/5.0 (Macintosh) Version/17.0 Safari/605.1.15", true, p, n, &s);
	cr_expect_gt(s.max, WS_BROWSER_FRAME_MAX, "Safari: not cut");
	free(s.data);
	free(p);
}
