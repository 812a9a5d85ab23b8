/* The io_uring event loop of one I/O thread: accept, recv into provided
 * buffers, coalesced sends, tick and cross-thread wake-up. */
#define _GNU_SOURCE
#include "io/loop/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/memacct.h"

enum io_op {
	IO_OP_ACCEPT = 1,
	IO_OP_RECV,
	IO_OP_SEND,
	IO_OP_CANCEL,
	IO_OP_TICK,
	IO_OP_WAKE,
	IO_OP_CANCEL_ACCEPT,
};

#define IO_BGID        7
#define IO_SHRINK_OVER (256u * 1024u) /* output buffers above this may be freed when empty */
#define IO_OBUF_MIN    (16u * 1024u)

/* user_data: operation (8 bits) | generation (24 bits) | slot (32 bits), so a
 * completion for a closed and reused slot is recognised. */
static inline uint64_t io_ud(enum io_op op, uint32_t gen, uint32_t slot)
{
	return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffff) << 32) | slot;
}

static inline enum io_op io_ud_op(uint64_t ud)
{
	return (enum io_op)(ud >> 56);
}

static inline uint32_t io_ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & 0xffffff;
}

static inline uint32_t io_ud_slot(uint64_t ud)
{
	return (uint32_t)ud;
}

struct io_loop {
	struct io_uring ring;
	struct io_loop_config cfg;
	unsigned ring_flags;
	char features[128];

	/* provided buffers */
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	char *bufs;
	uint32_t buf_mask;
	uint32_t bufs_returned; /* added to the ring, not yet advanced */

	/* connections by slot */
	struct io_conn **conns;
	uint32_t nslots;
	uint32_t *free_slots;
	uint32_t nfree;
	uint32_t *slot_gen;
	uint32_t nconns;

	struct io_conn *dirty;     /* connections with output or a pending re-arm */
	struct io_conn *graveyard; /* released this iteration, freed at its end */
	bool accept_armed;
	bool quiesced; /* io_loop_quiesce(): no more accepts or reads */
	bool wake_armed;
	uint64_t wake_val;
	struct io_loop_stats st;
	struct __kernel_timespec tick_ts;
	uint64_t last_tick;
	uint64_t tick_ns;
	uint64_t now; /* clock_now_ns() at the start of this iteration */

	/* Sockets given by io_loop_adopt() from other threads: @adopt_lock
	 * guards the list; @adopt_waiting is the flag the loop reads without
	 * it (seq_cst: it pairs with wake_prepare() like a ring does). */
	pthread_mutex_t adopt_lock;
	struct io_adoptee *adopt_head;
	struct io_adoptee *adopt_tail;
	atomic_bool adopt_waiting;
};

/* A socket waiting to be adopted. Owner: the list, then the loop. */
struct io_adoptee {
	struct io_adoptee *next;
	int fd;
	uint32_t peer_port;
	uint64_t tag;
	char peer_ip[46];
};

static struct io_uring_sqe *io_sqe(struct io_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	if (RB_UNLIKELY(!sqe)) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static int io_setup_ring(struct io_loop *l)
{
	struct io_uring_params p;
	static const struct {
		unsigned flags;
		const char *name;
	} tries[] = {
	    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	     "single_issuer,defer_taskrun"},
	    {IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
	    {0, "plain"},
	};
	int ret = -EINVAL;
	for (size_t i = 0; i < RB_ARRAY_LEN(tries); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i].flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
		p.cq_entries = 16384;
		ret = io_uring_queue_init_params(2048, &l->ring, &p);
		if (ret == 0) {
			l->ring_flags = p.flags;
			snprintf(l->features, sizeof(l->features), "%s", tries[i].name);
			if (i > 0)
				log_warn(
				    "io[%d]: io_uring without %s (kernel refused: %s); using %s",
				    l->cfg.index, tries[0].name, strerror(-ret), tries[i].name);
			return 0;
		}
	}
	log_error("io[%d]: io_uring_queue_init failed: %s", l->cfg.index, strerror(-ret));
	return ret;
}

static int io_setup_bufs(struct io_loop *l)
{
	uint32_t n = l->cfg.buf_count;
	l->br_bytes = sizeof(struct io_uring_buf) * n;
	l->br = mmap(NULL, l->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (l->br == MAP_FAILED) {
		l->br = NULL;
		return -errno;
	}
	l->bufs = aligned_alloc(4096, (size_t)n * l->cfg.buf_size);
	if (!l->bufs)
		return -ENOMEM;

	struct io_uring_buf_reg reg = {
	    .ring_addr = (unsigned long)l->br,
	    .ring_entries = n,
	    .bgid = IO_BGID,
	};
	int ret = io_uring_register_buf_ring(&l->ring, &reg, 0);
	if (ret) {
		log_error("io[%d]: the kernel has no provided-buffer rings (%s); ringbus needs "
		          "Linux 5.19 or later",
		          l->cfg.index, strerror(-ret));
		return ret;
	}
	io_uring_buf_ring_init(l->br);
	l->buf_mask = (uint32_t)io_uring_buf_ring_mask(n);
	for (uint32_t i = 0; i < n; i++)
		io_uring_buf_ring_add(l->br, l->bufs + (size_t)i * l->cfg.buf_size, l->cfg.buf_size,
		                      (unsigned short)i, (int)l->buf_mask, (int)i);
	io_uring_buf_ring_advance(l->br, (int)n);
	return 0;
}

static void io_buf_return(struct io_loop *l, uint32_t bid)
{
	io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * l->cfg.buf_size, l->cfg.buf_size,
	                      (unsigned short)bid, (int)l->buf_mask, (int)l->bufs_returned);
	l->bufs_returned++;
}

static void io_bufs_publish(struct io_loop *l)
{
	if (l->bufs_returned) {
		io_uring_buf_ring_advance(l->br, (int)l->bufs_returned);
		l->bufs_returned = 0;
	}
}

static void io_arm_accept(struct io_loop *l)
{
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_multishot_accept(sqe, l->cfg.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_ACCEPT, 0, 0));
	l->accept_armed = true;
}

static void io_arm_wake(struct io_loop *l)
{
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_read(sqe, wake_fd(l->cfg.wake), &l->wake_val, sizeof(l->wake_val), 0);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_WAKE, 0, 0));
	l->wake_armed = true;
}

static void io_arm_tick(struct io_loop *l)
{
	struct io_uring_sqe *sqe = io_sqe(l);
	l->tick_ts.tv_sec = (long long)(l->tick_ns / 1000000000u);
	l->tick_ts.tv_nsec = (long long)(l->tick_ns % 1000000000u);
	io_uring_prep_timeout(sqe, &l->tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_TICK, 0, 0));
}

static void io_arm_recv(struct io_loop *l, struct io_conn *c)
{
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = IO_BGID;
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_RECV, c->gen, c->slot));
	c->recv_armed = true;
	c->want_recv = false;
}

static void io_mark_dirty(struct io_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = c->loop->dirty;
		c->loop->dirty = c;
	}
}

int io_loop_new(const struct io_loop_config *cfg, struct io_loop **out)
{
	struct io_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	l->tick_ns = (uint64_t)(cfg->tick_ms ? cfg->tick_ms : 1000) * 1000000u;
	pthread_mutex_init(&l->adopt_lock, NULL);
	atomic_init(&l->adopt_waiting, false);
	int ret = io_setup_ring(l);
	if (ret) {
		free(l);
		return ret;
	}
	ret = io_setup_bufs(l);
	if (ret)
		goto err_ring;

	io_arm_accept(l);
	io_arm_wake(l);
	io_arm_tick(l);
	l->last_tick = l->now = clock_now_ns();
	*out = l;
	return 0;

err_ring:
	io_loop_free(l);
	return ret;
}

static void io_conn_release(struct io_loop *l, struct io_conn *c)
{
	c->released = true;
	close(c->fd);
	memacct_add(MEMACCT_OUTPUT, -(int64_t)c->fill.cap - (int64_t)c->send.cap);
	free(c->fill.data);
	free(c->send.data);
	l->conns[c->slot] = NULL;
	l->slot_gen[c->slot]++;
	l->free_slots[l->nfree++] = c->slot;
	l->nconns--;
	/* Freed at the end of the iteration: callers up the stack may still
	 * look at c->closing. */
	c->next_dirty = l->graveyard;
	l->graveyard = c;
}

static void io_bury(struct io_loop *l)
{
	while (l->graveyard) {
		struct io_conn *c = l->graveyard;
		l->graveyard = c->next_dirty;
		free(c);
	}
}

void io_loop_free(struct io_loop *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->nslots; i++) {
		struct io_conn *c = l->conns[i];
		if (!c)
			continue;
		if (!c->closing && l->cfg.ops->on_close)
			l->cfg.ops->on_close(l->cfg.ctx, c);
		io_conn_release(l, c);
	}
	io_bury(l);
	while (l->adopt_head) {
		struct io_adoptee *a = l->adopt_head;
		l->adopt_head = a->next;
		close(a->fd);
		free(a);
	}
	pthread_mutex_destroy(&l->adopt_lock);
	io_uring_queue_exit(&l->ring);
	if (l->br)
		munmap(l->br, l->br_bytes);
	free(l->bufs);
	free(l->conns);
	free(l->free_slots);
	free(l->slot_gen);
	free(l);
}

const char *io_loop_features(const struct io_loop *l)
{
	return l->features;
}

void io_loop_get_stats(const struct io_loop *l, struct io_loop_stats *out)
{
	*out = l->st;
}

uint64_t io_loop_now(const struct io_loop *l)
{
	return l->now;
}

uint32_t io_loop_nconns(const struct io_loop *l)
{
	return l->nconns;
}

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
static void io_conn_open(struct io_loop *l, int fd, const struct io_adoptee *a)
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

static void io_on_accept(struct io_loop *l, int fd)
{
	if (l->cfg.on_accept_fd && l->cfg.on_accept_fd(l->cfg.ctx, fd))
		return;
	io_conn_open(l, fd, NULL);
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
static bool io_adopt_drain(struct io_loop *l)
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

/* Frees @c once nothing of the kernel's refers to it any more. */
static void io_conn_maybe_release(struct io_loop *l, struct io_conn *c)
{
	if (c->closing && !c->released && !c->close_after && !c->recv_armed && !c->send_inflight &&
	    c->cancels == 0 && !c->dirty)
		io_conn_release(l, c);
}

static void io_conn_cancel_recv(struct io_loop *l, struct io_conn *c)
{
	if (!c->recv_armed)
		return;
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_cancel64(sqe, io_ud(IO_OP_RECV, c->gen, c->slot), 0);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_CANCEL, c->gen, c->slot));
	c->cancels++;
}

/* Ends @c now: on_close, stop receiving, drop unsent output. */
static void io_conn_terminate(struct io_loop *l, struct io_conn *c)
{
	if (!c->closing) {
		c->closing = true;
		l->cfg.ops->on_close(l->cfg.ctx, c);
	}
	c->close_after = false;
	c->want_recv = false;
	io_conn_cancel_recv(l, c);
	if (c->send_inflight)
		shutdown(c->fd, SHUT_RDWR); /* fails the send so it completes */
	io_conn_maybe_release(l, c);
}

void io_conn_close(struct io_conn *c, bool flush)
{
	struct io_loop *l = c->loop;
	if (!flush || io_conn_pending(c) == 0) {
		io_conn_terminate(l, c);
		return;
	}
	if (!c->closing) {
		c->closing = true;
		l->cfg.ops->on_close(l->cfg.ctx, c);
	}
	c->close_after = true;
	c->close_deadline_ns = clock_now_ns() + (uint64_t)l->cfg.close_linger_ms * 1000000u;
	c->want_recv = false;
	io_conn_cancel_recv(l, c);
	io_mark_dirty(c);
}

void io_conn_pause(struct io_conn *c)
{
	if (c->paused || c->closing)
		return;
	c->paused = true;
	io_conn_cancel_recv(c->loop, c);
}

void io_conn_resume(struct io_conn *c)
{
	if (!c->paused || c->loop->quiesced)
		return;
	c->paused = false;
	if (!c->closing && !c->recv_armed && !c->eof) {
		c->want_recv = true;
		io_mark_dirty(c);
	}
}

static int io_obuf_grow(struct io_obuf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : IO_OBUF_MIN;
	while (cap < need)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	memacct_add(MEMACCT_OUTPUT, (int64_t)cap - (int64_t)b->cap);
	b->data = d;
	b->cap = (uint32_t)cap;
	return 0;
}

char *io_conn_reserve(struct io_conn *c, size_t n)
{
	if (RB_UNLIKELY(c->closing))
		return NULL;
	size_t need = (size_t)c->fill.len + n;
	if (RB_UNLIKELY(need > c->fill.cap)) {
		if (io_conn_pending(c) + n > c->loop->cfg.max_pending) {
			log_warn(
			    "%s:%u: slow consumer, %zu bytes pending over max_pending: closing",
			    c->peer_ip, c->peer_port, io_conn_pending(c));
			io_conn_terminate(c->loop, c);
			return NULL;
		}
		if (io_obuf_grow(&c->fill, need) != 0)
			return NULL;
	}
	return c->fill.data + c->fill.len;
}

void io_conn_commit(struct io_conn *c, size_t n)
{
	c->fill.len += (uint32_t)n;
	io_mark_dirty(c);
}

int io_conn_write(struct io_conn *c, const void *data, size_t len)
{
	char *p = io_conn_reserve(c, len);
	if (!p)
		return -ENOBUFS;
	memcpy(p, data, len);
	io_conn_commit(c, len);
	return 0;
}

static void io_submit_send(struct io_loop *l, struct io_conn *c)
{
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_send(sqe, c->fd, c->send.data + c->send.off, c->send.len - c->send.off,
	                   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_SEND, c->gen, c->slot));
	c->send_inflight = true;
}

/* Starts a send of everything written so far, when none is in flight. */
static void io_start_send(struct io_loop *l, struct io_conn *c)
{
	if (c->send_inflight || c->fill.len == 0)
		return;
	struct io_obuf t = c->send;
	c->send = c->fill;
	c->send.off = 0;
	c->fill = t;
	c->fill.len = 0;
	c->fill.off = 0;
	c->progress_ns = l->now;
	/* A large buffer goes back when the traffic no longer needs it (the
	 * send just started is small beside it); a connection that keeps a
	 * large queue keeps it: freeing and regrowing it cost page faults and
	 * copies on every send (40% of the server's time in a 4->4 fan-out to
	 * slow readers). */
	if (c->fill.cap > IO_SHRINK_OVER && c->send.len < c->fill.cap / 8) {
		memacct_add(MEMACCT_OUTPUT, -(int64_t)c->fill.cap);
		free(c->fill.data);
		c->fill.data = NULL;
		c->fill.cap = 0;
	}
	io_submit_send(l, c);
}

static void io_flush_dirty(struct io_loop *l)
{
	struct io_conn *c = l->dirty;
	l->dirty = NULL;
	while (c) {
		struct io_conn *next = c->next_dirty;
		c->dirty = false;
		c->next_dirty = NULL;
		if (c->want_recv && !c->closing && !c->paused && !c->recv_armed && !c->eof &&
		    !l->quiesced)
			io_arm_recv(l, c);
		c->want_recv = false;
		if (!(c->closing && !c->close_after))
			io_start_send(l, c);
		if (c->close_after && !c->send_inflight && c->fill.len == 0) {
			c->close_after = false;
			shutdown(c->fd, SHUT_WR);
		}
		io_conn_maybe_release(l, c);
		c = next;
	}
}

static void io_on_recv(struct io_loop *l, struct io_conn *c, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	l->st.recv_completions++;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint32_t bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (cqe->res > 0 && !c->closing) {
			c->bytes_in += (uint64_t)cqe->res;
			l->st.bytes_in += (uint64_t)cqe->res;
			l->cfg.ops->on_data(l->cfg.ctx, c, l->bufs + (size_t)bid * l->cfg.buf_size,
			                    (size_t)cqe->res);
		}
		io_buf_return(l, bid);
	}
	if (more)
		return;
	c->recv_armed = false;
	if (cqe->res == 0) {
		/* The peer closed or half-closed: nothing more will come. The
		 * router may still owe it replies (on_eof), else close once the
		 * output is sent. */
		if (!c->closing && l->cfg.ops->on_eof) {
			c->eof = true;
			l->cfg.ops->on_eof(l->cfg.ctx, c);
		} else if (!c->closing) {
			io_conn_close(c, true);
		}
	} else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
		if (!c->closing)
			io_conn_terminate(l, c);
	} else if (!c->closing && !c->paused) {
		if (cqe->res == -ENOBUFS)
			l->st.enobufs++;
		/* -ENOBUFS, or the kernel ended the multishot: buffers come back at
		 * the end of this iteration, re-arm then. */
		c->want_recv = true;
		io_mark_dirty(c);
	}
	io_conn_maybe_release(l, c);
}

static void io_on_send(struct io_loop *l, struct io_conn *c, int res)
{
	c->send_inflight = false;
	l->st.send_completions++;
	if (res <= 0) {
		if (!c->closing || c->close_after)
			io_conn_terminate(l, c);
		io_conn_maybe_release(l, c);
		return;
	}
	c->bytes_out += (uint64_t)res;
	c->progress_ns = l->now;
	l->st.bytes_out += (uint64_t)res;
	c->send.off += (uint32_t)res;
	if (c->send.off < c->send.len) {
		io_submit_send(l, c); /* partial send: the rest first */
		return;
	}
	c->send.len = 0;
	c->send.off = 0;
	if (l->cfg.ops->on_sent && !c->closing)
		l->cfg.ops->on_sent(l->cfg.ctx, c);
	if (c->fill.len || c->close_after)
		io_mark_dirty(c);
	io_conn_maybe_release(l, c);
}

static void io_tick(struct io_loop *l, uint64_t now)
{
	for (uint32_t i = 0; i < l->nslots; i++) {
		struct io_conn *c = l->conns[i];
		if (c && c->close_after && now > c->close_deadline_ns)
			io_conn_terminate(l, c);
	}
	if (l->cfg.ops->on_tick)
		l->cfg.ops->on_tick(l->cfg.ctx, now);
}

static unsigned io_process_cqes(struct io_loop *l)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&l->ring, head, cqe)
	{
		n++;
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		enum io_op op = io_ud_op(ud);
		struct io_conn *c = NULL;
		if (op == IO_OP_RECV || op == IO_OP_SEND || op == IO_OP_CANCEL) {
			uint32_t slot = io_ud_slot(ud);
			if (slot < l->nslots)
				c = l->conns[slot];
			if (!c || (c->gen & 0xffffff) != io_ud_gen(ud)) {
				/* Stale: a buffer may still have been consumed. */
				if (op == IO_OP_RECV && (cqe->flags & IORING_CQE_F_BUFFER))
					io_buf_return(l, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
				continue;
			}
		}
		switch (op) {
		case IO_OP_ACCEPT:
			if (cqe->res >= 0)
				io_on_accept(l, cqe->res);
			else if (cqe->res != -ECANCELED)
				log_warn("io[%d]: accept: %s", l->cfg.index, strerror(-cqe->res));
			if (!(cqe->flags & IORING_CQE_F_MORE))
				l->accept_armed = false;
			break;
		case IO_OP_RECV:
			io_on_recv(l, c, cqe);
			break;
		case IO_OP_SEND:
			io_on_send(l, c, cqe->res);
			break;
		case IO_OP_CANCEL:
			c->cancels--;
			io_conn_maybe_release(l, c);
			break;
		case IO_OP_TICK:
			io_arm_tick(l);
			break;
		case IO_OP_CANCEL_ACCEPT:
			break;
		case IO_OP_WAKE:
			l->st.wakeups++;
			l->wake_armed = false;
			break;
		}
	}
	io_uring_cq_advance(&l->ring, n);
	return n;
}

int io_loop_run(struct io_loop *l)
{
	const struct io_ops *ops = l->cfg.ops;
	uint64_t idle_since = 0;
	const uint64_t spin_ns = (uint64_t)l->cfg.spin_us * 1000u;

	while (!atomic_load_explicit(l->cfg.stop, memory_order_relaxed)) {
		l->now = clock_now_ns();
		bool did = io_process_cqes(l) > 0;
		io_bufs_publish(l);
		did |= ops->on_poll(l->cfg.ctx);
		did |= io_adopt_drain(l);

		uint64_t now = clock_now_ns();
		if (now - l->last_tick >= l->tick_ns) {
			l->last_tick = now;
			io_tick(l, now);
		}
		if (!l->accept_armed && !l->quiesced && !atomic_load(l->cfg.stop))
			io_arm_accept(l);
		if (!l->wake_armed)
			io_arm_wake(l);
		io_flush_dirty(l);
		io_bury(l);

		if (did || io_uring_cq_ready(&l->ring)) {
			idle_since = 0;
			io_uring_submit_and_get_events(&l->ring);
			continue;
		}
		/* Poll a while before sleeping: a wake-up costs tens of µs here,
		 * a poll about one. */
		if (!idle_since)
			idle_since = now;
		if (now - idle_since < spin_ns) {
			io_uring_submit_and_get_events(&l->ring);
			continue;
		}
		idle_since = 0;
		wake_prepare(l->cfg.wake);
		if (ops->has_work(l->cfg.ctx) || io_uring_cq_ready(&l->ring) ||
		    atomic_load(&l->adopt_waiting)) {
			wake_cancel(l->cfg.wake);
			continue;
		}
		int ret = io_uring_submit_and_wait(&l->ring, 1);
		wake_cancel(l->cfg.wake);
		if (ret < 0 && ret != -EINTR && ret != -ETIME) {
			log_error("io[%d]: io_uring_submit_and_wait: %s", l->cfg.index,
			          strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void io_pause_one(struct io_conn *c, void *arg)
{
	(void)arg;
	io_conn_pause(c);
}

void io_loop_quiesce(struct io_loop *l)
{
	if (l->quiesced)
		return;
	l->quiesced = true;
	if (l->accept_armed) {
		struct io_uring_sqe *sqe = io_sqe(l);
		io_uring_prep_cancel64(sqe, io_ud(IO_OP_ACCEPT, 0, 0), 0);
		io_uring_sqe_set_data64(sqe, io_ud(IO_OP_CANCEL_ACCEPT, 0, 0));
	}
	io_loop_foreach(l, io_pause_one, NULL);
}

static void io_close_one(struct io_conn *c, void *arg)
{
	io_conn_close(c, *(bool *)arg);
}

void io_loop_close_all(struct io_loop *l, bool flush)
{
	io_loop_foreach(l, io_close_one, &flush);
}

void io_loop_foreach(struct io_loop *l, void (*fn)(struct io_conn *c, void *arg), void *arg)
{
	for (uint32_t i = 0; i < l->nslots; i++) {
		struct io_conn *c = l->conns[i];
		if (c && !c->closing)
			fn(c, arg);
	}
}

struct io_conn *io_loop_conn(struct io_loop *l, uint64_t id)
{
	uint32_t slot = (uint32_t)id;
	if (slot >= l->nslots)
		return NULL;
	struct io_conn *c = l->conns[slot];
	if (!c || c->id != id || c->closing)
		return NULL;
	return c;
}
