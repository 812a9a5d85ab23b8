/* HTTP/1.0 over a blocking-with-poll loopback socket: the request goes out
 * whole, the response is read until EOF, then split into head and body. */
#include "tests/integration/http_get.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int http_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int http_wait_listening(uint16_t port, int timeout_ms)
{
	long end = http_now_ms() + timeout_ms;
	for (;;) {
		int fd = http_connect(port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (http_now_ms() >= end)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

/* Waits for @events on @fd until @end (ms). Returns 0 or -ETIMEDOUT. */
static int http_poll(int fd, short events, long end)
{
	long left = end - http_now_ms();
	if (left <= 0)
		return -ETIMEDOUT;
	struct pollfd p = {.fd = fd, .events = events};
	int n = poll(&p, 1, (int)left);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/* Splits the raw response in @buf (@n bytes, taken) into @r. */
static int http_parse(char *buf, size_t n, struct http_resp *r)
{
	char *sep = strstr(buf, "\r\n\r\n");
	int minor = 0;
	if (!sep || sscanf(buf, "HTTP/1.%d %d", &minor, &r->status) != 2) {
		free(buf);
		return -EBADMSG;
	}
	size_t head = (size_t)(sep - buf);
	r->len = n - head - 4;
	r->body = malloc(r->len + 1);
	if (!r->body) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(r->body, sep + 4, r->len);
	r->body[r->len] = '\0';
	buf[head] = '\0';
	r->head = buf;
	char v[32];
	r->content_length = http_header(r, "Content-Length", v, sizeof v) >= 0 ? atol(v) : -1;
	return 0;
}

int http_request(uint16_t port, const char *method, const char *path, struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	long end = http_now_ms() + HTTP_WAIT_MS;
	int fd = http_connect(port);
	if (fd < 0)
		return fd;
	char req[1024];
	int len = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n", method,
	                   path, port);
	int ret = 0;
	for (int off = 0; ret == 0 && off < len;) {
		ssize_t k = send(fd, req + off, (size_t)(len - off), MSG_NOSIGNAL);
		if (k < 0)
			ret = errno == EINTR ? 0 : -errno;
		else
			off += (int)k;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		ret = -ENOMEM;
	while (ret == 0) {
		if (n + 1 >= cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				ret = -ENOMEM;
				break;
			}
			buf = b;
			cap *= 2;
		}
		if ((ret = http_poll(fd, POLLIN, end)) != 0)
			break;
		ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
		} else if (k == 0) {
			break; /* the server closed: HTTP/1.0 ends the response so */
		} else {
			n += (size_t)k;
		}
	}
	close(fd);
	if (ret != 0) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	return http_parse(buf, n, r);
}

int http_header(const struct http_resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, name, nl) != 0 || h[nl] != ':')
			continue;
		h += nl + 1;
		while (*h == ' ')
			h++;
		const char *e = strstr(h, "\r\n");
		size_t len = e ? (size_t)(e - h) : strlen(h);
		snprintf(out, cap, "%.*s", (int)len, h);
		return (int)len;
	}
	return -1;
}

void http_resp_fini(struct http_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}
