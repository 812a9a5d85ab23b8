/* Raw NATS protocol client for byte-exact tests: buffered reads with
 * deadlines, automatic answers to server PINGs, and failure descriptions. */
#define _GNU_SOURCE
#include "tests/integration/raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RAW_INITIAL_BUF (16 * 1024)
#define RAW_MAX_BUF     (8 * 1024 * 1024)
#define RAW_SEND_MS     20000
#define RAW_SENDF_MAX   (64 * 1024)
#define RAW_SHOW        240

static const char raw_ping[] = "PING\r\n";
#define RAW_PING_LEN 6

struct raw_conn {
	int fd;
	bool auto_pong;
	bool eof;
	char *buf; /* unread bytes are buf[start, end) */
	size_t cap, start, end;
	char why[2048];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	return left < 0 ? 0 : (int)left;
}

/* Writes a printable rendering of n bytes of src into dst (cap bytes). */
static void escape(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;
	size_t show = n < RAW_SHOW ? n : RAW_SHOW;
	for (size_t i = 0; i < show && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch == '\r' || ch == '\n' || ch == '\t') {
			dst[o++] = '\\';
			dst[o++] = ch == '\r' ? 'r' : ch == '\n' ? 'n' : 't';
		} else if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", ch);
		} else {
			dst[o++] = (char)ch;
		}
	}
	if (show < n && o + 4 < cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o < cap ? o : cap - 1] = '\0';
}

/* Sets c->why to "<what>; expected "<exp>", got "<unread bytes>"[ then EOF]". */
static void describe(struct raw_conn *c, const char *what, const void *exp, size_t exp_len)
{
	char e[RAW_SHOW * 4 + 8], g[RAW_SHOW * 4 + 8];
	escape(e, sizeof e, exp != NULL ? exp : "", exp != NULL ? exp_len : 0);
	escape(g, sizeof g, c->buf + c->start, c->end - c->start);
	snprintf(c->why, sizeof c->why, "%.160s; expected \"%.900s\", got \"%.900s\"%s", what, e, g,
	         c->eof ? " then EOF" : "");
}

int raw_connect(uint16_t port, struct raw_conn **out)
{
	struct raw_conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return -ENOMEM;
	c->buf = malloc(RAW_INITIAL_BUF);
	c->cap = RAW_INITIAL_BUF;
	c->auto_pong = true;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret = 0;
	if (c->buf == NULL || c->fd < 0) {
		ret = c->buf == NULL ? -ENOMEM : -errno;
		goto fail;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (errno != EINPROGRESS) {
			ret = -errno;
			goto fail;
		}
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		int r = poll(&p, 1, RAW_WAIT_MS);
		int soerr = 0;
		socklen_t len = sizeof soerr;
		if (r <= 0) {
			ret = r == 0 ? -ETIMEDOUT : -errno;
			goto fail;
		}
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
			ret = soerr != 0 ? -soerr : -errno;
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
	return ret;
}

void raw_close(struct raw_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

void raw_abort(struct raw_conn *c)
{
	if (c == NULL)
		return;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	raw_close(c);
}

int raw_shutdown_write(struct raw_conn *c)
{
	return shutdown(c->fd, SHUT_WR) == 0 ? 0 : -errno;
}

void raw_set_auto_pong(struct raw_conn *c, bool on)
{
	c->auto_pong = on;
}

int raw_fd(const struct raw_conn *c)
{
	return c->fd;
}

const char *raw_why(const struct raw_conn *c)
{
	return c->why;
}

int raw_send(struct raw_conn *c, const void *buf, size_t len)
{
	const char *p = buf;
	int64_t deadline = now_ms() + RAW_SEND_MS;
	while (len > 0) {
		ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			int err = -errno;
			snprintf(c->why, sizeof c->why, "send failed: %s", strerror(errno));
			return err;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
		int r = poll(&pfd, 1, remaining_ms(deadline));
		if (r == 0) {
			snprintf(c->why, sizeof c->why, "send timed out with %zu bytes left", len);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

int raw_send_str(struct raw_conn *c, const char *s)
{
	return raw_send(c, s, strlen(s));
}

int raw_sendf(struct raw_conn *c, const char *fmt, ...)
{
	char *buf = malloc(RAW_SENDF_MAX);
	if (buf == NULL)
		return -ENOMEM;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, RAW_SENDF_MAX, fmt, ap);
	va_end(ap);
	int ret = n < 0 || n >= RAW_SENDF_MAX ? -EMSGSIZE : raw_send(c, buf, (size_t)n);
	free(buf);
	return ret;
}

/* Makes room for at least one more byte: compacts, then grows. */
static int make_room(struct raw_conn *c)
{
	if (c->end < c->cap)
		return 0;
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
		return 0;
	}
	if (c->cap >= RAW_MAX_BUF)
		return -ENOBUFS;
	char *nb = realloc(c->buf, c->cap * 2);
	if (nb == NULL)
		return -ENOMEM;
	c->buf = nb;
	c->cap *= 2;
	return 0;
}

/* Receives more bytes before deadline. Returns the count, 0 on EOF or reset,
 * -ETIMEDOUT, or -errno. */
static ssize_t fill(struct raw_conn *c, int64_t deadline)
{
	if (c->eof)
		return 0;
	int r = make_room(c);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->end, c->cap - c->end, MSG_DONTWAIT);
		if (n > 0) {
			c->end += (size_t)n;
			return n;
		}
		if (n == 0 || errno == ECONNRESET) {
			c->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int left = remaining_ms(deadline);
		if (left == 0 || poll(&pfd, 1, left) == 0)
			return -ETIMEDOUT;
	}
}

/* Skips server PINGs at the read position, answering each. Returns 0 to go on,
 * 1 when the bytes so far could still be a PING (read more), or -errno. */
static int skip_pings(struct raw_conn *c, const void *expect, size_t expect_len)
{
	if (!c->auto_pong || (expect != NULL && expect_len >= RAW_PING_LEN &&
	                      memcmp(expect, raw_ping, RAW_PING_LEN) == 0))
		return 0;
	for (;;) {
		size_t avail = c->end - c->start;
		size_t n = avail < RAW_PING_LEN ? avail : RAW_PING_LEN;
		if (n == 0 || memcmp(c->buf + c->start, raw_ping, n) != 0)
			return 0;
		if (n < RAW_PING_LEN)
			return c->eof ? 0 : 1;
		c->start += RAW_PING_LEN;
		int r = raw_send(c, "PONG\r\n", 6);
		if (r < 0)
			return r;
	}
}

/* Turns a fill result into a return code, describing the failure. */
static int fill_failed(struct raw_conn *c, ssize_t r, const char *what, const void *exp,
                       size_t exp_len)
{
	char msg[128];
	snprintf(msg, sizeof msg, "%s: %s", what,
	         r == 0            ? "connection closed"
	         : r == -ETIMEDOUT ? "timed out"
	                           : strerror((int)-r));
	describe(c, msg, exp, exp_len);
	return r == 0 ? -ECONNRESET : (int)r;
}

int raw_expect(struct raw_conn *c, const void *bytes, size_t len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int s = skip_pings(c, bytes, len);
		if (s < 0)
			return s;
		size_t avail = c->end - c->start;
		size_t cmp = avail < len ? avail : len;
		if (s == 0 && memcmp(c->buf + c->start, bytes, cmp) != 0) {
			int64_t grace = now_ms() + 100;
			while (c->end - c->start < len && fill(c, grace) > 0)
				;
			describe(c, "unexpected bytes", bytes, len);
			return -EBADMSG;
		}
		if (s == 0 && avail >= len) {
			c->start += len;
			return 0;
		}
		ssize_t r = fill(c, deadline);
		if (r <= 0)
			return fill_failed(c, r, "short read", bytes, len);
	}
}

int raw_expect_str(struct raw_conn *c, const char *s)
{
	return raw_expect(c, s, strlen(s), RAW_WAIT_MS);
}

int raw_expect_eof(struct raw_conn *c, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int s = skip_pings(c, NULL, 0);
		if (s < 0)
			return s;
		if (s == 0 && c->end > c->start) {
			describe(c, "bytes instead of a close", NULL, 0);
			return -EBADMSG;
		}
		if (c->eof)
			return 0;
		ssize_t r = fill(c, deadline);
		if (r < 0 && r != -ETIMEDOUT)
			return 0; /* any socket error after a close is a close */
		if (r == -ETIMEDOUT) {
			describe(c, "connection still open", "<EOF>", 5);
			return -ETIMEDOUT;
		}
	}
}

ssize_t raw_read_until(struct raw_conn *c, const char *needle, char *out, size_t cap,
                       int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t nlen = strlen(needle);
	for (;;) {
		int s = skip_pings(c, needle, nlen);
		if (s < 0)
			return s;
		char *hit =
		    s == 0 ? memmem(c->buf + c->start, c->end - c->start, needle, nlen) : NULL;
		if (hit != NULL) {
			size_t n = (size_t)(hit - (c->buf + c->start)) + nlen;
			if (out != NULL && cap > 0) {
				size_t k = n < cap - 1 ? n : cap - 1;
				memcpy(out, c->buf + c->start, k);
				out[k] = '\0';
			}
			c->start += n;
			return (ssize_t)n;
		}
		ssize_t r = fill(c, deadline);
		if (r <= 0)
			return fill_failed(c, r, "needle not found", needle, nlen);
	}
}

/* Waits until a whole line is buffered at the read position (server PINGs
 * before it answered and skipped); returns its length with its newline,
 * without consuming it, or -errno. */
static ssize_t peek_line(struct raw_conn *c, int64_t deadline)
{
	for (;;) {
		int s = skip_pings(c, NULL, 0);
		if (s < 0)
			return s;
		char *nl = s == 0 ? memchr(c->buf + c->start, '\n', c->end - c->start) : NULL;
		if (nl != NULL)
			return nl - (c->buf + c->start) + 1;
		ssize_t r = fill(c, deadline);
		if (r <= 0)
			return fill_failed(c, r, "no complete line", "<line>", 6);
	}
}

/* Copies the buffered line of @len bytes (newline included) at the read
 * position into @line without its CR LF, truncated to @cap - 1. */
static size_t copy_line(const struct raw_conn *c, size_t len, char *line, size_t cap)
{
	size_t n = len - 1;
	if (n > 0 && c->buf[c->start + n - 1] == '\r')
		n--;
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(line, c->buf + c->start, k);
	line[k] = '\0';
	return k;
}

ssize_t raw_read_line(struct raw_conn *c, char *line, size_t cap, int timeout_ms)
{
	ssize_t len = peek_line(c, now_ms() + timeout_ms);
	if (len < 0)
		return len;
	size_t k = copy_line(c, (size_t)len, line, cap);
	c->start += (size_t)len;
	return (ssize_t)k;
}

/* Splits line at spaces and tabs into at most max tokens; returns the count. */
static int split(char *line, char **tok, int max)
{
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = t;
	}
	return n;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EBADMSG;
	*out = (size_t)v;
	return 0;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

/* A MSG or HMSG is consumed only once it is whole: on a time out the
 * next call starts again at its line. */
int raw_read_msg(struct raw_conn *c, struct raw_msg *m, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	char line[1024], copy[1024];
	char *tok[8];
	memset(m, 0, sizeof *m);
	ssize_t ll = peek_line(c, deadline);
	if (ll < 0)
		return (int)ll;
	size_t ln = copy_line(c, (size_t)ll, line, sizeof line);
	memcpy(copy, line, ln + 1);
	int n = split(line, tok, 7);
	bool hmsg = n > 0 && strcmp(tok[0], "HMSG") == 0;
	bool msg = n > 0 && strcmp(tok[0], "MSG") == 0;
	int base = hmsg ? 5 : 4; /* tokens without the reply */
	if ((!msg && !hmsg) || (n != base && n != base + 1)) {
		c->start += (size_t)ll;
		snprintf(c->why, sizeof c->why, "expected a MSG or HMSG line, got \"%.200s\"",
		         copy);
		return -EBADMSG;
	}
	m->has_headers = hmsg;
	copy_field(m->subject, sizeof m->subject, tok[1]);
	copy_field(m->sid, sizeof m->sid, tok[2]);
	if (n == base + 1)
		copy_field(m->reply, sizeof m->reply, tok[3]);
	if ((hmsg && parse_size(tok[n - 2], &m->hdr_len) != 0) ||
	    parse_size(tok[n - 1], &m->len) != 0 || m->hdr_len > m->len) {
		c->start += (size_t)ll;
		snprintf(c->why, sizeof c->why, "bad sizes in \"%.200s\"", copy);
		return -EBADMSG;
	}
	/* fill() may move the buffered bytes: offsets from start stay true */
	while (c->end - c->start < (size_t)ll + m->len + 2) {
		ssize_t r = fill(c, deadline);
		if (r <= 0)
			return fill_failed(c, r, "payload incomplete", copy, strlen(copy));
	}
	c->start += (size_t)ll;
	if (memcmp(c->buf + c->start + m->len, "\r\n", 2) != 0) {
		describe(c, "payload not followed by CRLF", copy, strlen(copy));
		return -EBADMSG;
	}
	m->data = malloc(m->len + 1);
	if (m->data == NULL)
		return -ENOMEM;
	memcpy(m->data, c->buf + c->start, m->len);
	m->data[m->len] = '\0';
	c->start += m->len + 2;
	return 0;
}

void raw_msg_fini(struct raw_msg *m)
{
	free(m->data);
	m->data = NULL;
}

int raw_handshake(struct raw_conn *c, const char *connect_json, char *info, size_t info_cap)
{
	char line[8192];
	ssize_t n = raw_read_line(c, line, sizeof line, RAW_WAIT_MS);
	if (n < 0)
		return (int)n;
	if (strncmp(line, "INFO ", 5) != 0) {
		snprintf(c->why, sizeof c->why, "first line is not INFO: \"%.200s\"", line);
		return -EBADMSG;
	}
	if (info != NULL && info_cap > 0)
		snprintf(info, info_cap, "%s", line + 5);
	int r = raw_sendf(c, "CONNECT %s\r\nPING\r\n", connect_json);
	if (r < 0)
		return r;
	for (;;) {
		n = raw_read_line(c, line, sizeof line, RAW_WAIT_MS);
		if (n < 0)
			return (int)n;
		if (strcmp(line, "PONG") == 0)
			return 0;
		if (strcmp(line, "+OK") != 0) {
			snprintf(c->why, sizeof c->why, "handshake answered \"%.200s\"", line);
			return -EBADMSG;
		}
	}
}
