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
#include "io/loop/loop_int.h"

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
	int ret = io_lend_setup(l, (size_t)n * l->cfg.buf_size);
	if (ret)
		return ret;

	struct io_uring_buf_reg reg = {
	    .ring_addr = (unsigned long)l->br,
	    .ring_entries = n,
	    .bgid = IO_BGID,
	};
	ret = io_uring_register_buf_ring(&l->ring, &reg, 0);
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

static void io_bufs_publish(struct io_loop *l)
{
	io_lend_collect(l);
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
	io_lend_fini(l);
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

static void io_on_accept(struct io_loop *l, int fd)
{
	if (l->cfg.on_accept_fd && l->cfg.on_accept_fd(l->cfg.ctx, fd))
		return;
	io_conn_open(l, fd, NULL);
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
		if (RB_UNLIKELY(c->frame != NULL) && c->close_after && !c->send_inflight &&
		    !io_conn_has_unsent(c))
			io_frame_take_trailer(c); /* a WebSocket's close frame, last */
		if (!(c->closing && !c->close_after))
			io_start_send(l, c);
		if (c->close_after && !c->send_inflight && !io_conn_has_unsent(c)) {
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
			l->cur = l->bufs + (size_t)bid * l->cfg.buf_size;
			l->cur_len = (uint32_t)cqe->res;
			l->cur_bid = bid;
			l->cfg.ops->on_data(l->cfg.ctx, c, l->cur, (size_t)cqe->res);
			l->cur = NULL;
		}
		if (l->cur_held) {
			l->cur_held = false;
			io_lend_drop(l->lend, bid); /* the loop's own hold */
		} else {
			io_buf_return(l, bid);
		}
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
	bool whole;
	if (c->frame) {
		whole = io_frame_sent(c, (uint32_t)res);
	} else {
		c->send.off += (uint32_t)res;
		whole = c->send.off >= c->send.len + c->send.refd;
	}
	if (!whole) {
		io_submit_send(l, c); /* partial send: the rest first */
		return;
	}
	if (c->send.npin)
		io_obuf_unpin(l, c, &c->send);
	c->send.len = 0;
	c->send.off = 0;
	if (l->cfg.ops->on_sent && !c->closing)
		l->cfg.ops->on_sent(l->cfg.ctx, c);
	if (io_conn_has_unsent(c) || c->close_after)
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
		if (!l->accept_armed && !l->no_accept && !atomic_load(l->cfg.stop))
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

void io_loop_stop_accepting(struct io_loop *l)
{
	if (l->no_accept)
		return;
	l->no_accept = true;
	if (l->accept_armed) {
		struct io_uring_sqe *sqe = io_sqe(l);
		io_uring_prep_cancel64(sqe, io_ud(IO_OP_ACCEPT, 0, 0), 0);
		io_uring_sqe_set_data64(sqe, io_ud(IO_OP_CANCEL_ACCEPT, 0, 0));
	}
}

void io_loop_quiesce(struct io_loop *l)
{
	if (l->quiesced)
		return;
	l->quiesced = true;
	io_loop_stop_accepting(l);
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
