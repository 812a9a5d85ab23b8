/* A NATS client connection on a blocking socket: connect with a timeout,
 * the INFO/CONNECT/PONG handshake, buffered writes, one recv per call.
 * WebSocket framing is in bconn_ws.c. */
#include "tools/load/bconn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "io/proto/connect.h"
#include "tools/load/bconn_int.h"
#include "tools/load/hello.h"

int bconn_init(struct bconn *c, uint32_t wcap)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->wcap = wcap > BCONN_WBUF ? wcap : BCONN_WBUF;
	c->wmem = malloc(BCONN_WS_ROOM + c->wcap);
	c->wbuf = c->wmem ? c->wmem + BCONN_WS_ROOM : NULL;
	c->rbuf = malloc(BCONN_RBUF);
	proto_parser_init(&c->parser, PROTO_SIDE_CLIENT, 64u << 20);
	if (!c->wmem || !c->rbuf) {
		bconn_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void bconn_fini(struct bconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	proto_parser_fini(&c->parser);
	bconn_ws_free(c->ws);
	free(c->wmem);
	free(c->rbuf);
	c->ws = NULL;
	c->wbuf = c->wmem = c->rbuf = NULL;
}

int bconn_fail(struct bconn *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return err;
}

static struct timeval timeval_of(uint64_t ns)
{
	struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000u),
	                     .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};
	if (ns && !tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1; /* 0 would mean no timeout */
	return tv;
}

int bconn_timeouts(struct bconn *c, uint64_t recv_ns, uint64_t send_ns)
{
	struct timeval r = timeval_of(recv_ns), s = timeval_of(send_ns);
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof(r)) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof(s)))
		return bconn_fail(c, -errno, "setsockopt: %s", strerror(errno));
	return 0;
}

/* connect() bounded by @timeout_ns: non-blocking, then poll. */
static int connect_within(struct bconn *c, const struct sockaddr *addr, socklen_t addrlen,
                          const char *url, uint64_t timeout_ns)
{
	c->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return bconn_fail(c, -errno, "socket: %s", strerror(errno));
	int err = 0;
	if (connect(c->fd, addr, addrlen)) {
		err = errno == EINPROGRESS ? 0 : errno;
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		int ms = (int)(timeout_ns / 1000000u) + 1;
		if (!err) {
			int n = poll(&p, 1, ms);
			socklen_t len = sizeof(err);
			if (n == 0)
				err = ETIMEDOUT;
			else if (n < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
				err = errno;
		}
	}
	if (err) {
		snprintf(c->error, sizeof(c->error), "cannot connect to %s: %s%s", url,
		         strerror(err),
		         err == ECONNREFUSED ? " (is a NATS server listening there?)" : "");
		return -err;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int flags = fcntl(c->fd, F_GETFL); /* back to blocking: the point of this client */
	if (flags < 0 || fcntl(c->fd, F_SETFL, flags & ~O_NONBLOCK))
		return bconn_fail(c, -errno, "fcntl: %s", strerror(errno));
	struct timeval tv = timeval_of(timeout_ns);
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return bconn_fail(c, -errno, "setsockopt: %s", strerror(errno));
	return 0;
}

int bconn_send_all(struct bconn *c, const char *p, uint32_t len, uint32_t *off)
{
	while (*off < len) {
		ssize_t n = send(c->fd, p + *off, len - *off, MSG_NOSIGNAL);
		if (n > 0) {
			*off += (uint32_t)n;
			continue;
		}
		int err = n < 0 ? errno : EPIPE;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return bconn_fail(c, -EAGAIN, "%s",
			                  "the server took no byte within --drain");
		if (err == EPIPE || err == ECONNRESET)
			return bconn_fail(c, -EPIPE, "%s", "the server closed the connection");
		return bconn_fail(c, -err, "send: %s", strerror(err));
	}
	return 0;
}

int bconn_flush(struct bconn *c)
{
	if (c->ws)
		return bconn_ws_flush(c);
	uint32_t off = 0;
	int err = bconn_send_all(c, c->wbuf, c->wlen, &off);
	if (err) { /* keep what did not go */
		memmove(c->wbuf, c->wbuf + off, c->wlen - off);
		c->wlen -= off;
		return err;
	}
	c->wlen = 0;
	return 0;
}

int bconn_reserve(struct bconn *c, uint32_t n, char **dst)
{
	if (c->wlen + n > c->wcap || RB_UNLIKELY(c->wpending)) {
		int err = bconn_flush(c);
		if (err)
			return err;
	}
	*dst = c->wbuf + c->wlen;
	return 0;
}

int bconn_ping(struct bconn *c)
{
	char *dst;
	int err = bconn_reserve(c, sizeof(PROTO_PING_LINE) - 1, &dst);
	if (err)
		return err;
	memcpy(dst, PROTO_PING_LINE, sizeof(PROTO_PING_LINE) - 1);
	bconn_commit(c, sizeof(PROTO_PING_LINE) - 1);
	return bconn_flush(c);
}

static int on_info(struct bconn *c, const struct proto_frame *f)
{
	struct connect_info info;
	char scratch[1024];
	if (connect_info_parse(&info, f->arg.ptr, f->arg.len, scratch, sizeof(scratch)))
		return bconn_fail(c, -EPROTO, "%s",
		                  "the server's INFO is not valid JSON: is this a NATS "
		                  "server?");
	snprintf(c->version, sizeof(c->version), "%s", info.version ? info.version : "");
	c->info_seen = true;
	c->max_payload = info.max_payload;
	return 0;
}

int bconn_parse(struct bconn *c, const char *p, size_t n, bconn_msg_fn fn, void *arg, uint64_t now)
{
	size_t off = 0;
	while (off < n) {
		struct proto_frame f;
		size_t used = 0;
		int r = proto_parse(&c->parser, p + off, n - off, &used, &f);
		off += used;
		if (r == 0)
			break;
		if (r < 0) {
			const char *why = proto_err_text(r);
			snprintf(c->error, sizeof(c->error), "protocol error from the server (%s)",
			         why ? why : "malformed operation");
			return -EPROTO;
		}
		int err = 0;
		switch (f.op) {
		case PROTO_OP_INFO:
			err = on_info(c, &f);
			break;
		case PROTO_OP_PING: {
			char *dst;
			err = bconn_reserve(c, sizeof(PROTO_PONG_LINE) - 1, &dst);
			if (!err) {
				memcpy(dst, PROTO_PONG_LINE, sizeof(PROTO_PONG_LINE) - 1);
				bconn_commit(c, sizeof(PROTO_PONG_LINE) - 1);
				err = bconn_flush(c);
			}
			break;
		}
		case PROTO_OP_PONG:
			c->pongs++;
			break;
		case PROTO_OP_ERR:
			hello_err_message(c->error, sizeof(c->error), f.arg, c->ready);
			return -EPROTO;
		case PROTO_OP_MSG:
		case PROTO_OP_HMSG:
			if (fn) {
				struct proto_span body = f.payload;
				body.ptr += f.hdr_len;
				body.len -= f.hdr_len;
				fn(arg, body, now);
			}
			break;
		default:
			break;
		}
		if (err)
			return err;
	}
	return 0;
}

ssize_t bconn_read(struct bconn *c, bconn_msg_fn fn, void *arg)
{
	ssize_t n;
	do
		n = recv(c->fd, c->rbuf, BCONN_RBUF, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno == ECONNRESET)
			return 0;
		return bconn_fail(c, -errno, "recv: %s", strerror(errno));
	}
	if (n == 0)
		return 0;
	uint64_t now = clock_now_ns();
	int err = c->ws ? bconn_ws_feed(c, (const uint8_t *)c->rbuf, (size_t)n, fn, arg, now)
	                : bconn_parse(c, c->rbuf, (size_t)n, fn, arg, now);
	if (err > 0) /* a close frame */
		return 0;
	return err ? err : n;
}

/* Appends @n bytes of any length, flushing as the buffer fills. */
static int put_all(struct bconn *c, const char *p, size_t n)
{
	while (n) {
		if (c->wlen == c->wcap) {
			int err = bconn_flush(c);
			if (err)
				return err;
		}
		size_t k = c->wcap - c->wlen < n ? c->wcap - c->wlen : n;
		memcpy(c->wbuf + c->wlen, p, k);
		c->wlen += (uint32_t)k;
		p += k;
		n -= k;
	}
	return 0;
}

int bconn_open(struct bconn *c, const struct sockaddr *addr, socklen_t addrlen, const char *url,
               const char *ws_host, const char *hello, size_t hello_len, const char *extra,
               size_t extra_len, uint64_t timeout_ns, uint32_t size)
{
	int err = connect_within(c, addr, addrlen, url, timeout_ns);
	if (!err && ws_host)
		err = bconn_ws_upgrade(c, ws_host, url);
	if (err)
		return err;
	uint64_t deadline = clock_now_ns() + timeout_ns;
	while (!c->info_seen) {
		ssize_t n = bconn_read(c, NULL, NULL);
		if (n == 0)
			return bconn_fail(c, -EPIPE, "%s",
			                  "the server closed the connection before INFO");
		if (n == -EAGAIN || clock_now_ns() > deadline)
			return bconn_fail(c, -ETIMEDOUT, "no INFO from %s: is this a NATS server?",
			                  url);
		if (n < 0)
			return (int)n;
	}
	if (c->max_payload && size > c->max_payload) {
		snprintf(c->error, sizeof(c->error),
		         "--size %u is above the server's max_payload %u", size, c->max_payload);
		return -EMSGSIZE;
	}
	uint64_t want = extra ? 2 : 1;
	err = put_all(c, hello, hello_len);
	if (!err && extra)
		err = put_all(c, extra, extra_len);
	if (!err && extra)
		err = put_all(c, PROTO_PING_LINE, sizeof(PROTO_PING_LINE) - 1);
	if (!err)
		err = bconn_flush(c);
	while (!err && c->pongs < want) {
		ssize_t n = bconn_read(c, NULL, NULL);
		if (n == 0)
			return bconn_fail(c, -EPIPE, "%s",
			                  "the server closed the connection during CONNECT");
		if (n == -EAGAIN || clock_now_ns() > deadline)
			return bconn_fail(c, -ETIMEDOUT, "no answer to CONNECT from %s", url);
		if (n < 0)
			err = (int)n;
	}
	c->pongs = 0;
	c->ready = !err;
	return err;
}
