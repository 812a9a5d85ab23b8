/* A raw WebSocket client for the integration tests (ws_client.h). */
#define _GNU_SOURCE /* memmem */
#include "ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "io/ws/ws.h"

static long wsc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wsc_grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	uint8_t *n = realloc(*p, c);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

/* Reads what comes within @timeout_ms into w->in. Returns the bytes read,
 * -ETIMEDOUT, -ECONNRESET on EOF. */
static long wsc_fill(struct wsc *w, int timeout_ms)
{
	struct pollfd p = {.fd = w->fd, .events = POLLIN};
	int n = w->ssl && SSL_pending(w->ssl) ? 1 : poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return -errno;
	if (wsc_grow(&w->in, &w->in_cap, w->in_len + 65536))
		return -ENOMEM;
	if (w->ssl) {
		int r = SSL_read(w->ssl, w->in + w->in_len, 65536);
		if (r > 0) {
			w->in_len += (size_t)r;
			return r;
		}
		int e = SSL_get_error(w->ssl, r);
		ERR_clear_error();
		if (e == SSL_ERROR_WANT_READ)
			return 0; /* a record not whole yet, or a ticket: read again */
		return -ECONNRESET;
	}
	ssize_t r = recv(w->fd, w->in + w->in_len, 65536, 0);
	if (r == 0 || (r < 0 && errno == ECONNRESET))
		return -ECONNRESET;
	if (r < 0)
		return -errno;
	w->in_len += (size_t)r;
	return r;
}

static void wsc_take(struct wsc *w, size_t n)
{
	memmove(w->in, w->in + n, w->in_len - n);
	w->in_len -= n;
}

int wsc_send_raw(struct wsc *w, const void *buf, size_t len)
{
	const char *p = buf;
	if (w->ssl && len) {
		int n = SSL_write(w->ssl, buf, (int)len);
		ERR_clear_error();
		return n == (int)len ? 0 : -EIO;
	}
	while (len) {
		ssize_t n = send(w->fd, p, len, MSG_NOSIGNAL);
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char wsc_key[] = "dGhlIHNhbXBsZSBub25jZQ==";

/* Connects w->fd to 127.0.0.1:@port, retrying for a second while refused.
 * Returns 0 or -errno. */
static int wsc_connect(struct wsc *w, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int tries = 0;; tries++) {
		w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (w->fd < 0)
			return -errno;
		if (connect(w->fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		int err = errno;
		close(w->fd);
		w->fd = -1;
		if (err != ECONNREFUSED || tries >= 20)
			return -err;
		usleep(50000);
	}
	int one = 1;
	setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Sends the upgrade request and reads the answer's head (wsc_open). */
static int wsc_upgrade(struct wsc *w, uint16_t port, const char *request, const char *extra)
{
	char req[2048];
	if (!request) {
		snprintf(req, sizeof(req),
		         "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
		         "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		         "Sec-WebSocket-Version: 13\r\n%s\r\n",
		         port, wsc_key, extra ? extra : "");
		request = req;
	}
	int ret = wsc_send_raw(w, request, strlen(request));
	if (ret)
		return ret;
	long end = wsc_now_ms() + WSC_WAIT_MS;
	for (;;) {
		uint8_t *e = w->in_len >= 4 ? memmem(w->in, w->in_len, "\r\n\r\n", 4) : NULL;
		if (e) {
			size_t n = (size_t)(e + 4 - w->in);
			snprintf(w->head, sizeof(w->head), "%.*s", (int)n, (const char *)w->in);
			wsc_take(w, n);
			int status = 0;
			if (sscanf(w->head, "HTTP/1.%*d %d", &status) != 1)
				return -EBADMSG;
			return status;
		}
		long r = wsc_fill(w, (int)(end - wsc_now_ms()));
		if (r < 0)
			return (int)r;
	}
}

int wsc_open(struct wsc *w, uint16_t port, const char *request, const char *extra)
{
	memset(w, 0, sizeof(*w));
	int ret = wsc_connect(w, port);
	return ret ? ret : wsc_upgrade(w, port, request, extra);
}

/* The TLS handshake on w->fd, bounded by WSC_WAIT_MS (socket timeouts). */
static int wsc_handshake(struct wsc *w, const char *ca_file, char *why, size_t why_len)
{
	struct timeval tv = {.tv_sec = WSC_WAIT_MS / 1000};
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return -ENOMEM;
	if (ca_file) {
		SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	w->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the SSL holds a reference */
	if (!w->ssl)
		return -ENOMEM;
	SSL_set_fd(w->ssl, w->fd);
	SSL_set_tlsext_host_name(w->ssl, "localhost");
	SSL_set1_host(w->ssl, "localhost");
	if (SSL_connect(w->ssl) == 1)
		return 0;
	unsigned long e = ERR_peek_last_error();
	if (why)
		snprintf(why, why_len, "%s", e ? ERR_reason_error_string(e) : "closed");
	ERR_clear_error();
	SSL_free(w->ssl);
	w->ssl = NULL;
	return -EPROTO;
}

int wsc_open_tls(struct wsc *w, uint16_t port, const char *ca_file, const char *request,
                 const char *extra, char *why, size_t why_len)
{
	memset(w, 0, sizeof(*w));
	int ret = wsc_connect(w, port);
	if (ret == 0)
		ret = wsc_handshake(w, ca_file, why, why_len);
	return ret ? ret : wsc_upgrade(w, port, request, extra);
}

int wsc_send(struct wsc *w, uint8_t op, const void *payload, size_t len, bool fin)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t head[WS_FRAME_HEAD_MAX];
	size_t h = ws_frame_head_masked(head, (enum ws_opcode)op, len, fin, false, key);
	uint8_t *buf = malloc(h + len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, h);
	if (len)
		memcpy(buf + h, payload, len);
	ws_mask(buf + h, len, key, 0);
	int ret = wsc_send_raw(w, buf, h + len);
	free(buf);
	return ret;
}

int wsc_send_deflated(struct wsc *w, const void *payload, size_t len)
{
	static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
	z_stream z = {0};
	if (deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t cap = compressBound((uLong)len) + 64;
	uint8_t *buf = malloc(WS_FRAME_HEAD_MAX + cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	uint8_t *out = buf + WS_FRAME_HEAD_MAX;
	z.next_in = (Bytef *)payload;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int zr = deflate(&z, Z_SYNC_FLUSH);
	size_t n = cap - z.avail_out - 4; /* without 00 00 ff ff */
	deflateEnd(&z);
	if (zr != Z_OK) {
		free(buf);
		return -EIO;
	}
	uint8_t head[WS_FRAME_HEAD_MAX];
	size_t h = ws_frame_head_masked(head, WS_OP_BINARY, n, true, true, key);
	memcpy(out - h, head, h);
	ws_mask(out, n, key, 0);
	int ret = wsc_send_raw(w, out - h, h + n);
	free(buf);
	return ret;
}

int wsc_frame_inflate(struct wsc_frame *f)
{
	z_stream z = {0};
	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	size_t cap = f->len * 4 + 1024, n = 0;
	uint8_t *out = malloc(cap + 1);
	uint8_t *in = malloc(f->len + 4);
	memcpy(in, f->payload, f->len);
	memcpy(in + f->len, "\x00\x00\xff\xff", 4);
	z.next_in = in;
	z.avail_in = (uInt)(f->len + 4);
	int zr = Z_OK;
	while (zr == Z_OK && z.avail_in) {
		if (n == cap) {
			cap *= 2;
			out = realloc(out, cap + 1);
		}
		z.next_out = out + n;
		z.avail_out = (uInt)(cap - n);
		zr = inflate(&z, Z_SYNC_FLUSH);
		n = cap - z.avail_out;
	}
	inflateEnd(&z);
	free(in);
	if (zr != Z_OK && zr != Z_BUF_ERROR) {
		free(out);
		return -EBADMSG;
	}
	out[n] = 0;
	free(f->payload);
	f->payload = out;
	f->len = n;
	return 0;
}

int wsc_send_str(struct wsc *w, const char *s)
{
	return wsc_send(w, WS_OP_BINARY, s, strlen(s), true);
}

/* A whole frame at the start of w->in: its size, else 0. */
static size_t wsc_parse(struct wsc *w, struct wsc_frame *f)
{
	const uint8_t *p = w->in;
	if (w->in_len < 2)
		return 0;
	size_t h = 2;
	uint64_t len = p[1] & 0x7f;
	if (len == 126) {
		if (w->in_len < 4)
			return 0;
		len = (uint64_t)p[2] << 8 | p[3];
		h = 4;
	} else if (len == 127) {
		if (w->in_len < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		h = 10;
	}
	bool masked = p[1] & 0x80;
	if (masked)
		h += 4;
	if (w->in_len < h + len)
		return 0;
	f->op = p[0] & 0x0f;
	f->fin = p[0] & 0x80;
	f->rsv1 = p[0] & 0x40;
	f->masked = masked;
	f->len = (size_t)len;
	f->payload = malloc(f->len + 1);
	memcpy(f->payload, p + h, f->len);
	f->payload[f->len] = 0;
	return h + (size_t)len;
}

int wsc_frame(struct wsc *w, struct wsc_frame *f, int timeout_ms)
{
	long end = wsc_now_ms() + timeout_ms;
	for (;;) {
		size_t n = wsc_parse(w, f);
		if (n) {
			wsc_take(w, n);
			return f->rsv1 && !w->no_inflate ? wsc_frame_inflate(f) : 0;
		}
		long r = wsc_fill(w, (int)(end - wsc_now_ms()));
		if (r < 0)
			return (int)r;
	}
}

long wsc_read_until(struct wsc *w, const char *needle, char *out, size_t cap, int timeout_ms)
{
	long end = wsc_now_ms() + timeout_ms;
	size_t nl = strlen(needle);
	for (;;) {
		char *e = w->text_len >= nl ? memmem(w->text, w->text_len, needle, nl) : NULL;
		if (e) {
			size_t n = (size_t)(e + nl - w->text);
			if (out && cap)
				snprintf(out, cap, "%.*s", (int)n, w->text);
			memmove(w->text, w->text + n, w->text_len - n + 1);
			w->text_len -= n;
			return (long)n;
		}
		struct wsc_frame f;
		int r = wsc_frame(w, &f, (int)(end - wsc_now_ms()));
		if (r)
			return r;
		if (f.op != WS_OP_BINARY && f.op != WS_OP_TEXT && f.op != WS_OP_CONT) {
			free(f.payload);
			return -EPROTO;
		}
		if (wsc_grow((uint8_t **)&w->text, &w->text_cap, w->text_len + f.len + 1)) {
			free(f.payload);
			return -ENOMEM;
		}
		memcpy(w->text + w->text_len, f.payload, f.len);
		w->text_len += f.len;
		w->text[w->text_len] = 0;
		free(f.payload);
	}
}

/* Appends @len bytes at @p to e->data. Returns 0 or -ENOMEM. */
static int wsc_end_add(struct wsc_end *e, const void *p, size_t len)
{
	char *d = realloc(e->data, e->len + len + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d + e->len, p, len);
	d[e->len + len] = 0;
	e->data = d;
	return 0;
}

int wsc_read_to_eof(struct wsc *w, struct wsc_end *e, bool keep, int timeout_ms)
{
	long end = wsc_now_ms() + timeout_ms;
	memset(e, 0, sizeof(*e));
	e->fin_all = true;
	if (keep && wsc_end_add(e, w->text ? w->text : "", w->text_len) != 0)
		return -ENOMEM;
	e->len = w->text_len;
	for (;;) {
		struct wsc_frame f;
		int r = wsc_frame(w, &f, (int)(end - wsc_now_ms()));
		if (r == -ECONNRESET)
			return 0;
		if (r)
			return r;
		if (e->close_code)
			e->after_close = true;
		if (f.op == WS_OP_CLOSE) {
			e->close_code = f.len >= 2 ? f.payload[0] << 8 | f.payload[1] : 1005;
			size_t n = f.len > 2 ? f.len - 2 : 0;
			n = n < sizeof(e->reason) - 1 ? n : sizeof(e->reason) - 1;
			memcpy(e->reason, f.payload + 2, n);
			e->reason[n] = 0;
		} else if (f.op == WS_OP_BINARY || f.op == WS_OP_TEXT || f.op == WS_OP_CONT) {
			if (keep && wsc_end_add(e, f.payload, f.len) != 0) {
				free(f.payload);
				return -ENOMEM;
			}
			e->len += f.len;
			e->frames++;
			e->max_frame = f.len > e->max_frame ? f.len : e->max_frame;
			e->fin_all &= f.fin;
		}
		free(f.payload);
	}
}

int wsc_expect_eof(struct wsc *w, int *close_code, int timeout_ms)
{
	struct wsc_end e;
	int r = wsc_read_to_eof(w, &e, false, timeout_ms);
	if (close_code)
		*close_code = e.close_code;
	return r;
}

void wsc_close(struct wsc *w)
{
	if (w->ssl) {
		SSL_shutdown(w->ssl);
		SSL_free(w->ssl);
		w->ssl = NULL;
		ERR_clear_error();
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->in);
	free(w->text);
	w->in = NULL;
	w->text = NULL;
}
