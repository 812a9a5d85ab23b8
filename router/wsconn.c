/* A WebSocket client on its I/O thread: the HTTP upgrade (io/ws), then
 * each received buffer decoded into the client's own on_data, and control
 * frames answered. The output is framed by the loop at send time, so the
 * client files write plain NATS bytes as for any client. */
#include "router/wsconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/ws/ws.h"
#include "router/client.h"
#include "router/client_int.h"
#include "router/iothr.h"
#include "router/server.h"

/* Decoded payload handed to the parser at a time (one buffer per thread). */
#define WSCONN_BUF 65536u

/* Owner: the I/O thread of the connection. */
struct wsconn {
	bool open;         /* the 101 went out: frames from now on */
	bool closed;       /* a close frame was sent (an echo, or a decoding error) */
	uint32_t req_len;  /* bytes of the upgrade request so far */
	uint64_t start_ns; /* when the socket was opened (handshake_timeout) */
	struct ws_upgrade up;
	struct ws_decoder dec;
	bool deflate; /* permessage-deflate negotiated: @def compresses sends */
	struct ws_deflate def;
	char *req; /* the upgrade request (WS_UPGRADE_MAX_REQUEST + 1), freed once open */
};

/* A server frame head for @len bytes: binary, FIN (as nats-server); RSV1
 * when they were compressed; a compressed message cut for a browser goes
 * in fragments (continuations after the first, FIN on the last). */
static size_t wsconn_head(uint8_t *dst, size_t len, bool packed, bool first, bool final)
{
	return ws_frame_head(dst, first ? WS_OP_BINARY : WS_OP_CONT, len, final, packed && first);
}

/* True when the span @s holds @word. */
static bool wsconn_has(struct ws_span s, const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i + n <= s.len; i++)
		if (!memcmp(s.ptr + i, word, n))
			return true;
	return false;
}

/* nats-server's frames for browsers (User-Agent starting "Mozilla/", case
 * counts): at most 4 KiB, compressed ones too except for Safari ("Version/"
 * and "Safari/" in the agent). */
static void wsconn_browser(struct io_conn *c, const struct ws_upgrade *u)
{
	struct ws_span ua = u->user_agent;
	if (ua.len < 8 || memcmp(ua.ptr, "Mozilla/", 8) != 0)
		return;
	bool safari = wsconn_has(ua, "Version/") && wsconn_has(ua, "Safari/");
	io_conn_set_frame_max(c, WS_BROWSER_FRAME_MAX, !safari);
}

/* permessage-deflate of one send, as nats-server: only above 64 bytes, at
 * zlib's best speed, each message alone. */
static size_t wsconn_pack(void *arg, const char *src, size_t len, char *dst, size_t cap)
{
	struct wsconn *w = arg;
	if (len <= WS_COMPRESS_THRESHOLD)
		return 0;
	struct iovec iov = {(void *)src, len};
	size_t n = 0;
	if (ws_deflate_message(&w->def, &iov, 1, (uint8_t *)dst, cap, &n) != 0)
		return 0;
	return n;
}

int wsconn_open(void *ctx, struct io_conn *c)
{
	struct wsconn *w = calloc(1, sizeof(*w));
	char *req = malloc(WS_UPGRADE_MAX_REQUEST + 1);
	if (!w || !req || io_conn_set_framed(c, wsconn_head) != 0) {
		free(w);
		free(req);
		return -ENOMEM;
	}
	int ret = client_on_open(ctx, c);
	struct client *cl = c->user;
	if (ret || !cl) { /* refused (out of memory) */
		io_conn_set_unsent(c, 0);
		free(w);
		free(req);
		return ret;
	}
	w->req = req;
	w->start_ns = clock_now_ns();
	ws_upgrade_init(&w->up);
	cl->ws = w;
	cl->hold_ticks = true;
	return 0;
}

void wsconn_free(struct wsconn *w)
{
	if (!w)
		return;
	if (w->open)
		ws_decoder_fini(&w->dec);
	if (w->deflate)
		ws_deflate_fini(&w->def);
	free(w->req);
	free(w);
}

/* Refuses the upgrade with @err's HTTP answer (none for early data), then
 * closes. */
static void wsconn_refuse(struct client *cl, struct wsconn *w, int err)
{
	char ans[256];
	size_t n = ws_upgrade_reject(&w->up, err, ans, sizeof(ans));
	log_debug("cid %llu %s:%u: %s", (unsigned long long)cl->cid, cl->c->peer_ip,
	          cl->c->peer_port, ws_upgrade_err_text(err));
	if (n && io_conn_write_raw(cl->c, ans, n) != 0)
		n = 0;
	io_conn_close(cl->c, n != 0);
}

/* The request is whole (@len bytes of w->req): checks the origin, answers
 * 101, and sends INFO framed. Returns 0, or -1 when @cl was closed. */
static int wsconn_accept(struct client *cl, struct wsconn *w, size_t len)
{
	struct server *s = cl->t->srv;
	struct io_conn *c = cl->c;
	if (w->req_len > len) { /* bytes before our answer: nats-server closes */
		wsconn_refuse(cl, w, WS_UP_ERR_EARLY_DATA);
		return -1;
	}
	int err = ws_origin_check(&w->up, s->cfg.ws_tls.on, s->cfg.ws_same_origin,
	                          (const char *const *)s->cfg.ws_allowed_origins.v,
	                          s->cfg.ws_allowed_origins.n);
	if (err) {
		wsconn_refuse(cl, w, err);
		return -1;
	}
	char ans[256];
	bool z = s->cfg.ws_compression;
	size_t n = ws_upgrade_accept(&w->up, z, ans, sizeof(ans));
	const struct live *lv = server_live(s);
	w->deflate = ws_upgrade_deflate(&w->up, z);
	if (!n || ws_decoder_init(&w->dec, WS_SIDE_SERVER, w->deflate, UINT64_MAX >> 1) != 0) {
		w->deflate = false;
		io_conn_close(c, false);
		return -1;
	}
	w->open = true;
	if (w->deflate && ws_deflate_init(&w->def, 1) != 0) {
		w->deflate = false;
		io_conn_close(c, false);
		return -1;
	}
	if (w->deflate)
		io_conn_set_packer(c, wsconn_pack, w);
	wsconn_browser(c, &w->up);
	free(w->req); /* the spans of w->up point into it: not read from now on */
	w->req = NULL;
	if (io_conn_write_raw(c, ans, n) != 0) {
		io_conn_close(c, false);
		return -1;
	}
	uint64_t now = clock_now_ns();
	cl->opened_ns = cl->last_in_ns = cl->last_ping_ns = now;
	cl->start_wall_ns = clock_wall_ns();
	cl->hold_ticks = false;
	char info[4096];
	io_conn_write(c, info, client_info_ws(s, lv, cl->cid, c->peer_ip, info, sizeof(info)));
	if (cl->over_max) { /* as nats-server: refused once upgraded, after the INFO */
		client_err(cl, "maximum connections exceeded", true);
		return -1;
	}
	return 0;
}

/* Upgrade request bytes. Returns the bytes of @data used, or -1 when @cl
 * was closed. */
static int wsconn_upgrade(struct client *cl, struct wsconn *w, const char *data, size_t len)
{
	size_t room = WS_UPGRADE_MAX_REQUEST + 1 - w->req_len;
	size_t take = len < room ? len : room;
	memcpy(w->req + w->req_len, data, take);
	w->req_len += (uint32_t)take;
	int r = ws_upgrade_parse(&w->up, w->req, w->req_len);
	if (r < 0) {
		wsconn_refuse(cl, w, r);
		return -1;
	}
	if (r == 0)
		return 0;
	if (take < len) /* more bytes than the request: early data */
		w->req_len = WS_UPGRADE_MAX_REQUEST + 1;
	return wsconn_accept(cl, w, (size_t)r);
}

/* Sends the decoder's answer to a ping (pong), a close or an error; for a
 * close or an error, drops the unsent output and closes once it went. */
static void wsconn_control(struct io_conn *c, struct wsconn *w, int ev)
{
	uint8_t frame[WS_CONTROL_FRAME_MAX];
	size_t n = ws_decoder_reply(&w->dec, frame);
	bool sent = n && io_conn_write_raw(c, frame, n) == 0;
	if (ev == WS_EV_PONG)
		return; /* a pong that does not fit waits for no one: dropped */
	if (ev < 0)
		log_debug("%s:%u: websocket: %s, closing", c->peer_ip, c->peer_port,
		          ws_err_text(ev));
	w->closed = true;
	io_conn_set_unsent(c, 0);
	io_conn_close(c, sent);
}

void wsconn_on_data(void *ctx, struct io_conn *c, const char *data, size_t len)
{
	struct iothr *t = ctx;
	struct client *cl = c->user;
	struct wsconn *w = cl->ws;
	if (!w->open) {
		cl->last_in_ns = io_loop_now(c->loop);
		if (wsconn_upgrade(cl, w, data, len) != 0 || !w->open)
			return;
		len = 0; /* nothing followed the request */
	}
	/* Without compression a message is never longer than its frames, so
	 * the payload is unmasked in place in the loop's receive buffer (it is
	 * ours until we return): no copy into ws_buf, which only inflating
	 * needs. */
	bool in_place = !w->deflate;
	if (!in_place && !t->ws_buf && !(t->ws_buf = malloc(WSCONN_BUF))) {
		io_conn_close(c, false);
		return;
	}
	struct ws_buf out = {.ptr = t->ws_buf, .cap = WSCONN_BUF};
	uint8_t *in = (uint8_t *)(uintptr_t)data;
	for (;;) {
		if (in_place)
			out = (struct ws_buf){.ptr = in, .cap = len};
		size_t used = 0;
		int ev = ws_decode(&w->dec, in, len, &used, &out);
		in += used;
		len -= used;
		if (out.len) {
			client_on_data(ctx, c, (const char *)out.ptr, out.len);
			if (io_conn_is_closing(c))
				return; /* @cl and @w are gone */
			out.len = 0;
		}
		if (ev == WS_EV_NONE)
			return;
		if (ev != WS_EV_OUT_FULL) {
			wsconn_control(c, w, ev);
			if (ev != WS_EV_PONG)
				return;
		}
	}
}

void wsconn_tick(struct io_conn *c, uint64_t now)
{
	struct client *cl = c->user;
	if (!cl || !cl->ws || cl->ws->open || io_conn_is_closing(c))
		return;
	uint32_t ms = cl->t->srv->cfg.ws_handshake_timeout_ms;
	if (ms && now - cl->ws->start_ns > (uint64_t)ms * 1000000u) {
		log_debug("cid %llu %s:%u: websocket handshake timeout",
		          (unsigned long long)cl->cid, c->peer_ip, c->peer_port);
		io_conn_close(c, false);
	}
}

/* nats-server's close frame for the -ERR a client is closed with
 * (wsEnqueueCloseMessage: the code by the reason, and the reason's name). */
static const struct {
	const char *err;
	uint16_t code;
	const char *text;
} wsconn_close_codes[] = {
    {"Maximum Payload Violation", WS_CLOSE_TOO_BIG, "Maximum Message Payload Exceeded"},
    {"Authorization Violation", WS_CLOSE_POLICY, "Authentication Failure"},
    {"Authentication Timeout", WS_CLOSE_POLICY, "Authentication Timeout"},
    {"maximum control line exceeded", WS_CLOSE_POLICY, "Maximum Control Line Exceeded"},
    {"maximum connections exceeded", WS_CLOSE_POLICY, "Maximum Connections Exceeded"},
    {"Stale Connection", WS_CLOSE_INTERNAL, "Stale Connection"},
};

/* And for a close without an -ERR, by enum client_close_why (probed on
 * nats-server 2.9.10: docs/WEBSOCKET.md); UNSAID has none. */
static const struct {
	uint16_t code;
	const char *text;
} wsconn_close_whys[] = {
    [CLIENT_CLOSE_CLIENT] = {WS_CLOSE_NORMAL, "Client Closed"},
    [CLIENT_CLOSE_SHUTDOWN] = {WS_CLOSE_GOING_AWAY, "Server Shutdown"},
    [CLIENT_CLOSE_PROTOCOL] = {WS_CLOSE_PROTOCOL, "Protocol Violation"},
    [CLIENT_CLOSE_PARSE] = {WS_CLOSE_PROTOCOL, "Parse Error"},
};

void wsconn_closing(struct client *cl, struct io_conn *c)
{
	struct wsconn *w = cl->ws;
	io_conn_set_packer(c, NULL, NULL); /* @w goes; what is left goes uncompressed */
	if (!w->open || w->closed)
		return;
	uint16_t code = 0;
	const char *text = NULL;
	if (cl->close_err) {
		code = WS_CLOSE_PROTOCOL; /* parse errors */
		text = "Protocol Violation";
		for (size_t i = 0; i < RB_ARRAY_LEN(wsconn_close_codes); i++)
			if (!strcmp(cl->close_err, wsconn_close_codes[i].err)) {
				code = wsconn_close_codes[i].code;
				text = wsconn_close_codes[i].text;
			}
	} else if (cl->close_why < RB_ARRAY_LEN(wsconn_close_whys)) {
		code = wsconn_close_whys[cl->close_why].code;
		text = wsconn_close_whys[cl->close_why].text;
	}
	if (!text)
		return;
	uint8_t frame[WS_CONTROL_FRAME_MAX];
	size_t n = ws_frame_close(frame, sizeof(frame), code, text, strlen(text));
	if (n && io_conn_set_trailer(c, frame, n) == 0)
		w->closed = true;
}
