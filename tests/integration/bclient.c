/* Plain blocking publisher and subscriber threads (tests/integration/bclient.h). */
#define _GNU_SOURCE
#include "tests/integration/bclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/proto/proto.h"

#define BC_BUF (64 * 1024)

static int bc_fail(int *err, char *why, size_t cap, const char *what)
{
	*err = errno ? -errno : -EIO;
	snprintf(why, cap, "%s: %s", what, strerror(errno ? errno : EIO));
	return *err;
}

static int bc_dial(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int bc_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until "PONG\r\n" has been seen (skipping INFO and the like). */
static int bc_wait_pong(int fd, int timeout_ms)
{
	char buf[4096];
	size_t have = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = 0;
		if (strstr(buf, "PONG\r\n"))
			return 0;
		if (have > sizeof(buf) / 2) {
			/* keep the tail, in case PONG straddles */
			memmove(buf, buf + have - 8, 8);
			have = 8;
		}
	}
}

static const char bc_connect[] =
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":true}\r\nPING\r\n";

void *bc_pub_main(void *arg)
{
	struct bc_pub *p = arg;
	char *buf = malloc(BC_BUF);
	char *payload = malloc(p->size + 1);
	int fd = bc_dial(p->port);
	if (fd < 0 || !buf || !payload) {
		bc_fail(&p->err, p->why, sizeof(p->why), "connect");
		goto out;
	}
	if (bc_write_all(fd, bc_connect, sizeof(bc_connect) - 1) || bc_wait_pong(fd, 10000)) {
		bc_fail(&p->err, p->why, sizeof(p->why), "handshake");
		goto out;
	}
	memset(payload, 'x', p->size);
	size_t len = 0;
	for (uint64_t i = 0; i < p->msgs; i++) {
		/* "<pub> <seq>" then padding: the subscriber reads both back */
		int h = snprintf(payload, 32, "%02" PRIu32 " %016" PRIu64 " ", p->id, i + 1);
		payload[h] = 'x';
		const char *subj = p->subjects[i % (uint64_t)p->nsubjects];
		if (len + 128 + strlen(subj) + p->size > BC_BUF) {
			if (bc_write_all(fd, buf, len)) {
				bc_fail(&p->err, p->why, sizeof(p->why), "write");
				goto out;
			}
			len = 0;
		}
		len += (size_t)snprintf(buf + len, BC_BUF - len, "PUB %s %" PRIu32 "\r\n", subj,
		                        p->size);
		memcpy(buf + len, payload, p->size);
		len += p->size;
		memcpy(buf + len, "\r\n", 2);
		len += 2;
		p->sent = i + 1;
	}
	memcpy(buf + len, "PING\r\n", 6);
	len += 6;
	if (bc_write_all(fd, buf, len) || bc_wait_pong(fd, 120000))
		bc_fail(&p->err, p->why, sizeof(p->why), "final flush");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(payload);
	return NULL;
}

/* Checks one message's "<pub> <seq>" header. */
static void bc_sub_check(struct bc_sub *s, const char *data, size_t len)
{
	unsigned pub = 0;
	unsigned long long seq = 0;
	char head[40];
	size_t n = len < sizeof(head) - 1 ? len : sizeof(head) - 1;
	memcpy(head, data, n);
	head[n] = 0;
	if (sscanf(head, "%u %llu", &pub, &seq) != 2 || pub >= BC_MAX_PUBS) {
		s->err = -EPROTO;
		snprintf(s->why, sizeof(s->why), "a message without a sequence: %.20s", head);
		return;
	}
	/* the rest is the publisher's filler (bc_pub_main): a payload that
	 * arrives with other bytes in it was overwritten on its way */
	size_t h = (size_t)snprintf(head, sizeof(head), "%02u %016llu ", pub, seq);
	for (size_t i = h; i < len; i++)
		if (data[i] != 'x') {
			s->err = -EPROTO;
			snprintf(s->why, sizeof(s->why),
			         "message %u/%llu: byte %zu of %zu is not 'x'", pub, seq, i, len);
			return;
		}
	s->got++;
	s->per_pub[pub]++;
	if (seq <= s->last[pub])
		s->out_of_order++;
	else if (seq > s->last[pub] + 1 && !s->queue)
		s->gaps++;
	if (seq > s->last[pub])
		s->last[pub] = seq;
}

static int bc_sub_subscribe(struct bc_sub *s, int fd)
{
	char line[512];
	if (bc_write_all(fd, bc_connect, sizeof(bc_connect) - 1) || bc_wait_pong(fd, 10000))
		return -1;
	for (int i = 0; i < s->nsubjects; i++) {
		int n = snprintf(line, sizeof(line), "SUB %s %s %d\r\n", s->subjects[i],
		                 s->queue ? s->queue : "", i + 1);
		if (bc_write_all(fd, line, (size_t)n))
			return -1;
	}
	if (bc_write_all(fd, "PING\r\n", 6) || bc_wait_pong(fd, 10000))
		return -1;
	return 0;
}

void *bc_sub_main(void *arg)
{
	struct bc_sub *s = arg;
	size_t chunk = s->read_chunk ? s->read_chunk : BC_BUF;
	char *buf = malloc(chunk);
	struct proto_parser pp;
	proto_parser_init(&pp, PROTO_SIDE_CLIENT, 64u << 20);
	int fd = bc_dial(s->port);
	if (fd < 0 || !buf || bc_sub_subscribe(s, fd) != 0) {
		bc_fail(&s->err, s->why, sizeof(s->why), "subscribe");
		atomic_store(&s->ready, true);
		goto out;
	}
	atomic_store(&s->ready, true);
	while (s->got < s->expect && !s->err) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, s->idle_ms) <= 0) {
			snprintf(s->why, sizeof(s->why), "nothing for %d ms", s->idle_ms);
			break;
		}
		ssize_t r = read(fd, buf, chunk);
		if (r <= 0) {
			s->closed = true;
			break;
		}
		size_t off = 0;
		while (off < (size_t)r) {
			size_t used = 0;
			struct proto_frame f;
			int ret = proto_parse(&pp, buf + off, (size_t)r - off, &used, &f);
			off += used;
			if (ret == 0)
				break;
			if (ret < 0) {
				s->err = -EPROTO;
				snprintf(s->why, sizeof(s->why), "unparsable input (%d)", ret);
				break;
			}
			if (f.op == PROTO_OP_MSG)
				bc_sub_check(s, f.payload.ptr, f.payload.len);
			else if (f.op == PROTO_OP_PING && bc_write_all(fd, "PONG\r\n", 6))
				s->closed = true;
		}
		if (s->pause_us)
			usleep(s->pause_us);
	}
out:
	proto_parser_fini(&pp);
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

bool bc_sub_wait_ready(struct bc_sub *s, int timeout_ms)
{
	for (int ms = 0; ms < timeout_ms; ms += 5) {
		if (atomic_load(&s->ready))
			return s->err == 0;
		usleep(5000);
	}
	return false;
}
