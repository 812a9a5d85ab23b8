/* Connections opened on this loop: accepted here or adopted from another
 * thread (io_loop_adopt), each given a slot and an id. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "io/loop/loop_int.h"

static int io_slot_alloc(struct io_loop *l, uint32_t *slot)
{
	if (l->nfree == 0) {
		uint32_t n = l->nslots ? l->nslots * 2 : 1024;
		if (n > (1u << 24))
			return -EMFILE;
		struct io_conn **conns = realloc(l->conns, sizeof(*conns) * n);
		if (!conns)
			return -ENOMEM;
		l->conns = conns;
		uint32_t *fs = realloc(l->free_slots, sizeof(*fs) * n);
		if (!fs)
			return -ENOMEM;
		l->free_slots = fs;
		uint32_t *gen = realloc(l->slot_gen, sizeof(*gen) * n);
		if (!gen)
			return -ENOMEM;
		l->slot_gen = gen;
		for (uint32_t i = n; i > l->nslots; i--) {
			l->conns[i - 1] = NULL;
			l->slot_gen[i - 1] = 1;
			l->free_slots[l->nfree++] = i - 1;
		}
		l->nslots = n;
	}
	*slot = l->free_slots[--l->nfree];
	return 0;
}

/* Opens a connection on @fd: accepted here (@a NULL) or adopted (@a). */
void io_conn_open(struct io_loop *l, int fd, const struct io_adoptee *a)
{
	uint32_t slot;
	struct io_conn *c = NULL;
	if (io_slot_alloc(l, &slot) != 0 || !(c = calloc(1, sizeof(*c)))) {
		log_warn("io[%d]: refusing a connection: out of memory", l->cfg.index);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	c->loop = l;
	c->fd = fd;
	c->slot = slot;
	c->gen = l->slot_gen[slot] & 0xffffff;
	c->id = ((uint64_t)(uint32_t)l->cfg.index << 56) | ((uint64_t)c->gen << 32) | slot;

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (a) {
		c->adopted = true;
		c->adopt_tag = a->tag;
		c->peer_port = a->peer_port;
		memcpy(c->peer_ip, a->peer_ip, sizeof(c->peer_ip));
	} else if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &sin->sin_addr, c->peer_ip, sizeof(c->peer_ip));
			c->peer_port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &sin6->sin6_addr, c->peer_ip, sizeof(c->peer_ip));
			c->peer_port = ntohs(sin6->sin6_port);
		}
	}

	l->conns[slot] = c;
	l->nconns++;
	l->st.accepted++;
	if (l->cfg.ops->on_open(l->cfg.ctx, c) != 0) {
		c->closing = true; /* refused: no on_close */
		io_conn_release(l, c);
		return;
	}
	if (c->closing)
		return;
	io_arm_recv(l, c);
}

int io_loop_adopt(struct io_loop *l, int fd, uint64_t tag, const char *peer_ip, uint32_t peer_port)
{
	struct io_adoptee *a = calloc(1, sizeof(*a));
	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	a->fd = fd;
	a->tag = tag;
	a->peer_port = peer_port;
	snprintf(a->peer_ip, sizeof(a->peer_ip), "%s", peer_ip ? peer_ip : "");
	pthread_mutex_lock(&l->adopt_lock);
	if (l->adopt_tail)
		l->adopt_tail->next = a;
	else
		l->adopt_head = a;
	l->adopt_tail = a;
	atomic_store(&l->adopt_waiting, true);
	pthread_mutex_unlock(&l->adopt_lock);
	wake_notify(l->cfg.wake);
	return 0;
}

/* Opens the sockets io_loop_adopt() queued. Returns true when there were any. */
bool io_adopt_drain(struct io_loop *l)
{
	if (!atomic_load(&l->adopt_waiting))
		return false;
	pthread_mutex_lock(&l->adopt_lock);
	struct io_adoptee *a = l->adopt_head;
	l->adopt_head = l->adopt_tail = NULL;
	atomic_store(&l->adopt_waiting, false);
	pthread_mutex_unlock(&l->adopt_lock);
	while (a) {
		struct io_adoptee *next = a->next;
		if (l->quiesced || atomic_load(l->cfg.stop))
			close(a->fd);
		else
			io_conn_open(l, a->fd, a);
		free(a);
		a = next;
	}
	return true;
}
