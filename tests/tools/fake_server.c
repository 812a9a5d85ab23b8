/* The fake NATS server for ringbus-load's tests: parses clients with the
 * project's codec, routes PUB to the SUBs whose subject matches (the router's
 * reference matcher), and drops, duplicates or reorders what the first
 * subscriber receives. */
#include "tests/tools/fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/proto/proto.h"
#include "router/index/subject.h"

#define FAKE_MAX_CONNS 64
#define FAKE_READ_BUF  (64 * 1024)

struct fake_conn {
	struct fake_server *s;
	int fd;
	pthread_t tid;
	pthread_mutex_t wlock; /* writes to fd, held message, subscription */
	char subject[128];
	char sid[32];
	bool subscribed;
	bool faulted;
	char *held;
	size_t held_len;
};

struct fake_server {
	int lfd;
	uint16_t port;
	pthread_t accept_tid;
	pthread_mutex_t lock; /* conns, nconns, counts, faulted_taken */
	struct fake_conn conns[FAKE_MAX_CONNS];
	uint32_t nconns;
	struct fake_faults f;
	struct fake_counts c;
	bool faulted_taken;
};

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static bool rule(uint32_t every, uint32_t at, uint64_t i)
{
	return every && i % every == at;
}

/* Delivers one encoded MSG to @c, applying the faults when @c is faulted.
 * Called with c->wlock held. */
static void deliver(struct fake_conn *c, const char *msg, size_t len)
{
	struct fake_server *s = c->s;
	if (!c->faulted) {
		write_all(c->fd, msg, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	uint64_t i = s->c.routed++;
	const struct fake_faults *f = &s->f;
	bool close_now = f->close_after && i >= f->close_after;
	bool drop = !close_now && rule(f->drop_every, f->drop_at, i);
	bool hold = !close_now && !drop && !c->held && rule(f->swap_every, f->swap_at, i);
	bool dup = !close_now && !drop && !hold && rule(f->dup_every, f->dup_at, i);
	s->c.dropped += drop;
	s->c.duplicated += dup;
	s->c.reordered += !close_now && !drop && !hold && c->held;
	pthread_mutex_unlock(&s->lock);
	if (close_now) {
		shutdown(c->fd, SHUT_RDWR);
		return;
	}
	if (drop)
		return;
	if (hold) {
		c->held = malloc(len);
		if (c->held) {
			memcpy(c->held, msg, len);
			c->held_len = len;
		}
		return;
	}
	write_all(c->fd, msg, len);
	if (dup)
		write_all(c->fd, msg, len);
	if (c->held) {
		write_all(c->fd, c->held, c->held_len);
		free(c->held);
		c->held = NULL;
	}
}

static void route(struct fake_server *s, const struct proto_frame *f)
{
	size_t cap = 512 + f->payload.len;
	char *msg = malloc(cap);
	if (!msg)
		return;
	pthread_mutex_lock(&s->lock);
	uint32_t n = s->nconns;
	pthread_mutex_unlock(&s->lock);
	for (uint32_t i = 0; i < n; i++) {
		struct fake_conn *c = &s->conns[i];
		pthread_mutex_lock(&c->wlock);
		if (c->subscribed && subject_matches(c->subject, strlen(c->subject), f->subject.ptr,
		                                     f->subject.len)) {
			size_t h = proto_encode_msg_head(
			    msg, cap, f->subject, proto_span_str(c->sid), f->reply, f->payload.len);
			memcpy(msg + h, f->payload.ptr, f->payload.len);
			memcpy(msg + h + f->payload.len, "\r\n", 2);
			deliver(c, msg, h + f->payload.len + 2);
		}
		pthread_mutex_unlock(&c->wlock);
	}
	free(msg);
}

/* Sends every held message (in order: nothing came after it). */
static void release_held(struct fake_server *s)
{
	pthread_mutex_lock(&s->lock);
	uint32_t n = s->nconns;
	pthread_mutex_unlock(&s->lock);
	for (uint32_t i = 0; i < n; i++) {
		struct fake_conn *c = &s->conns[i];
		pthread_mutex_lock(&c->wlock);
		if (c->held) {
			write_all(c->fd, c->held, c->held_len);
			free(c->held);
			c->held = NULL;
		}
		pthread_mutex_unlock(&c->wlock);
	}
}

static void subscribe(struct fake_conn *c, const struct proto_frame *f)
{
	struct fake_server *s = c->s;
	pthread_mutex_lock(&c->wlock);
	snprintf(c->subject, sizeof(c->subject), "%.*s", (int)f->subject.len, f->subject.ptr);
	snprintf(c->sid, sizeof(c->sid), "%.*s", (int)f->sid.len, f->sid.ptr);
	c->subscribed = true;
	pthread_mutex_lock(&s->lock);
	if (!s->faulted_taken) {
		s->faulted_taken = true;
		c->faulted = true;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&c->wlock);
}

static void *conn_main(void *arg)
{
	struct fake_conn *c = arg;
	char info[256];
	int n = snprintf(info, sizeof(info),
	                 "INFO {\"server_id\":\"FAKE\",\"server_name\":\"fake\",\"version\":"
	                 "\"0.0.1\",\"proto\":1,\"headers\":false,\"max_payload\":1048576,"
	                 "\"host\":\"127.0.0.1\",\"port\":%u}\r\n",
	                 c->s->port);
	pthread_mutex_lock(&c->wlock);
	write_all(c->fd, info, (size_t)n);
	pthread_mutex_unlock(&c->wlock);
	struct proto_parser p;
	proto_parser_init(&p, PROTO_SIDE_SERVER, PROTO_DEFAULT_MAX_PAYLOAD);
	char *buf = malloc(FAKE_READ_BUF);
	ssize_t got;
	while (buf && (got = recv(c->fd, buf, FAKE_READ_BUF, 0)) > 0) {
		size_t off = 0;
		while (off < (size_t)got) {
			struct proto_frame f;
			size_t used = 0;
			int r = proto_parse(&p, buf + off, (size_t)got - off, &used, &f);
			off += used;
			if (r <= 0)
				break;
			if (f.op == PROTO_OP_PING) {
				release_held(c->s);
				pthread_mutex_lock(&c->wlock);
				write_all(c->fd, PROTO_PONG_LINE, 6);
				pthread_mutex_unlock(&c->wlock);
			} else if (f.op == PROTO_OP_SUB) {
				subscribe(c, &f);
			} else if (f.op == PROTO_OP_PUB) {
				route(c->s, &f);
			}
		}
	}
	free(buf);
	proto_parser_fini(&p);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct fake_server *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&s->lock);
		if (s->nconns == FAKE_MAX_CONNS) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		struct fake_conn *c = &s->conns[s->nconns];
		c->s = s;
		c->fd = fd;
		pthread_mutex_init(&c->wlock, NULL);
		if (pthread_create(&c->tid, NULL, conn_main, c)) {
			close(fd);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		s->nconns++;
		pthread_mutex_unlock(&s->lock);
	}
}

int fake_server_start(struct fake_server **out, const struct fake_faults *faults, uint16_t *port)
{
	struct fake_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->f = *faults;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	bool ok = s->lfd >= 0 && !bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) &&
	          !listen(s->lfd, 64) && !getsockname(s->lfd, (struct sockaddr *)&a, &len);
	if (ok)
		s->port = ntohs(a.sin_port);
	if (!ok || pthread_create(&s->accept_tid, NULL, accept_main, s)) {
		int err = -errno;
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return err ? err : -EIO;
	}
	*port = s->port;
	*out = s;
	return 0;
}

void fake_server_stop(struct fake_server *s, struct fake_counts *counts)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->accept_tid, NULL);
	close(s->lfd);
	for (uint32_t i = 0; i < s->nconns; i++) {
		shutdown(s->conns[i].fd, SHUT_RDWR);
		pthread_join(s->conns[i].tid, NULL);
		close(s->conns[i].fd);
		free(s->conns[i].held);
		pthread_mutex_destroy(&s->conns[i].wlock);
	}
	if (counts)
		*counts = s->c;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
