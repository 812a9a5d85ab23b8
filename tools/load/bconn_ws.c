/* ringbus-load-blocking over WebSocket (ws://): the client's side of the
 * HTTP/1.1 upgrade, every buffered write sent as one masked binary frame
 * (framed in place, masked a word at a time), and the server's frames
 * unwrapped before the NATS parser sees them. The codec is io/ws. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "core/clock.h"
#include "tools/load/bconn_int.h"

/* No limit of the decoder's own on a server frame (nats-server has none):
 * the NATS parser bounds what the frames carry. */
#define WS_MAX_MESSAGE (1ull << 40)
#define WS_KEY_RAW     16u /* Sec-WebSocket-Key: 16 random bytes in base64 */

void bconn_ws_free(struct bconn_ws *w)
{
	if (!w)
		return;
	ws_decoder_fini(&w->dec);
	free(w->plain);
	free(w);
}

static struct bconn_ws *ws_new(void)
{
	struct bconn_ws *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->plain = malloc(BCONN_RBUF);
	if (!w->plain || ws_decoder_init(&w->dec, WS_SIDE_CLIENT, false, WS_MAX_MESSAGE)) {
		free(w->plain);
		free(w);
		return NULL;
	}
	if (getrandom(&w->mask_state, sizeof(w->mask_state), 0) != sizeof(w->mask_state))
		w->mask_state = (uint32_t)clock_now_ns();
	if (!w->mask_state)
		w->mask_state = 0x9e3779b9u;
	return w;
}

/* The next frame's mask key. RFC 6455 wants keys a server cannot predict, to
 * protect proxies from crafted bytes; a load generator needs only that they
 * vary and are not zero (a zero key would skip the masking's cost). */
static void next_key(struct bconn_ws *w, uint8_t key[4])
{
	uint32_t x = w->mask_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	w->mask_state = x;
	memcpy(key, &x, 4);
}

int bconn_ws_flush(struct bconn *c)
{
	struct bconn_ws *w = c->ws;
	if (!c->wpending) {
		if (!c->wlen)
			return 0;
		uint8_t head[WS_FRAME_HEAD_MAX], key[4];
		next_key(w, key);
		size_t h = ws_frame_head_masked(head, WS_OP_BINARY, c->wlen, true, false, key);
		memcpy(c->wbuf - h, head, h);
		ws_mask((uint8_t *)c->wbuf, c->wlen, key, 0);
		w->woff = BCONN_WS_ROOM - (uint32_t)h;
		w->wend = BCONN_WS_ROOM + c->wlen;
		c->wpending = true;
	}
	int err = bconn_send_all(c, c->wmem, w->wend, &w->woff);
	if (err)
		return err; /* the rest of the frame goes first on the next flush */
	c->wpending = false;
	c->wlen = 0;
	return 0;
}

/* Sends a control frame the decoder prepared (a pong or a close), unless a
 * data frame is partly on the wire (only after a failed flush), which it
 * cannot interrupt. Buffered bytes are not framed yet: it goes before them. */
static int send_reply(struct bconn *c)
{
	uint8_t frame[WS_CONTROL_FRAME_MAX];
	size_t n = ws_decoder_reply(&c->ws->dec, frame);
	uint32_t off = 0;
	if (!n || c->wpending)
		return 0;
	return bconn_send_all(c, (const char *)frame, (uint32_t)n, &off);
}

int bconn_ws_feed(struct bconn *c, const uint8_t *in, size_t n, bconn_msg_fn fn, void *arg,
                  uint64_t now)
{
	struct bconn_ws *w = c->ws;
	size_t off = 0;
	for (;;) {
		struct ws_buf out = {.ptr = w->plain, .len = 0, .cap = BCONN_RBUF};
		size_t used = 0;
		int ev = ws_decode(&w->dec, in + off, n - off, &used, &out);
		off += used;
		int err =
		    out.len ? bconn_parse(c, (const char *)out.ptr, out.len, fn, arg, now) : 0;
		if (err)
			return err;
		switch (ev) {
		case WS_EV_NONE:
			return 0;
		case WS_EV_OUT_FULL:
			break;
		case WS_EV_PONG:
			if ((err = send_reply(c)))
				return err;
			break;
		case WS_EV_CLOSE:
			(void)send_reply(c);
			return 1;
		default:
			(void)send_reply(c);
			return bconn_fail(c, -EPROTO, "WebSocket error from the server (%s)",
			                  ws_err_text(ev));
		}
	}
}

/* The value of header @name (with its colon) in the answer @head, or NULL;
 * its length in *@len. Names compare in any case. */
static const char *header(const char *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, name, nl))
			continue;
		const char *v = p + nl;
		v += strspn(v, " \t");
		size_t n = strcspn(v, "\r\n");
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		*len = n;
		return v;
	}
	return NULL;
}

int bconn_ws_upgrade(struct bconn *c, const char *host, const char *url)
{
	uint8_t raw[WS_KEY_RAW];
	char key[32], want[WS_ACCEPT_LEN + 1], req[512];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return bconn_fail(c, -EIO, "getrandom: %s", strerror(errno));
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	if (ws_accept_key(key, strlen(key), want))
		return bconn_fail(c, -EIO, "%s", "libcrypto failed computing the accept key");
	int len = snprintf(req, sizeof(req),
	                   "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                   "Sec-WebSocket-Version: 13\r\n\r\n",
	                   host, key);
	if (len <= 0 || (size_t)len >= sizeof(req))
		return bconn_fail(c, -EINVAL, "host name too long: %s", host);
	uint32_t off = 0;
	int err = bconn_send_all(c, req, (uint32_t)len, &off);
	if (err)
		return err;
	/* The answer, up to its blank line, into rbuf (kept NUL-terminated). */
	size_t got = 0;
	const char *end = NULL;
	while (!end) {
		if (got >= BCONN_RBUF - 1)
			return bconn_fail(c, -EPROTO, "the answer of %s to the upgrade is too long",
			                  url);
		ssize_t n = recv(c->fd, c->rbuf + got, BCONN_RBUF - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return bconn_fail(c, -ETIMEDOUT,
			                  "no answer to the WebSocket upgrade from %s", url);
		if (n <= 0)
			return bconn_fail(c, -EPIPE,
			                  "%s closed the connection during the WebSocket upgrade "
			                  "(is it a WebSocket listener?)",
			                  url);
		got += (size_t)n;
		c->rbuf[got] = '\0';
		end = strstr(c->rbuf, "\r\n\r\n");
	}
	size_t head_len = (size_t)(end - c->rbuf) + 4;
	if (strncmp(c->rbuf, "HTTP/1.1 101", 12)) {
		size_t sl = strcspn(c->rbuf, "\r\n");
		return bconn_fail(c, -EPROTO, "%s refused the WebSocket upgrade: %.*s", url,
		                  (int)(sl > 120 ? 120 : sl), c->rbuf);
	}
	size_t alen = 0;
	const char *accept = header(c->rbuf, "Sec-WebSocket-Accept:", &alen);
	if (!accept || alen != WS_ACCEPT_LEN || memcmp(accept, want, WS_ACCEPT_LEN))
		return bconn_fail(c, -EPROTO, "%s answered the upgrade with a wrong %s", url,
		                  accept ? "Sec-WebSocket-Accept"
		                         : "101 (no Sec-WebSocket-Accept)");
	if (!(c->ws = ws_new()))
		return bconn_fail(c, -ENOMEM, "%s", "out of memory");
	/* The server may have sent its first frames (INFO) with the answer. */
	err = bconn_ws_feed(c, (const uint8_t *)c->rbuf + head_len, got - head_len, NULL, NULL,
	                    clock_now_ns());
	if (err > 0)
		return bconn_fail(c, -EPIPE, "%s closed the WebSocket after the upgrade", url);
	return err;
}
