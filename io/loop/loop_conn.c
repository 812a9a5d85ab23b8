/* A connection's output (reserve, commit, the coalesced send) and its end
 * (close with or without flushing, pause and resume of reads). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/memacct.h"
#include "io/loop/loop_int.h"

void io_conn_release(struct io_loop *l, struct io_conn *c)
{
	c->released = true;
	close(c->fd);
	memacct_add(MEMACCT_OUTPUT, -(int64_t)c->fill.cap - (int64_t)c->send.cap);
	free(c->fill.data);
	free(c->send.data);
	io_obuf_unpin(l, c, &c->fill);
	io_obuf_unpin(l, c, &c->send);
	io_obuf_free_refs(&c->fill);
	io_obuf_free_refs(&c->send);
	free(c->refsend);
	c->refsend = NULL;
	if (c->frame)
		free(c->frame->z);
	free(c->frame);
	c->frame = NULL;
	l->conns[c->slot] = NULL;
	l->slot_gen[c->slot]++;
	l->free_slots[l->nfree++] = c->slot;
	l->nconns--;
	/* Freed at the end of the iteration: callers up the stack may still
	 * look at c->closing. */
	c->next_dirty = l->graveyard;
	l->graveyard = c;
}

/* Frees @c once nothing of the kernel's refers to it any more. */
void io_conn_maybe_release(struct io_loop *l, struct io_conn *c)
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
void io_conn_terminate(struct io_loop *l, struct io_conn *c)
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
	if (flush && RB_UNLIKELY(c->frame != NULL) && !c->closing) {
		/* on_close may set a trailer (a WebSocket's close frame): output
		 * to flush even when nothing else waits */
		c->closing = true;
		l->cfg.ops->on_close(l->cfg.ctx, c);
	}
	if (!flush || (io_conn_pending(c) == 0 && !io_conn_has_unsent(c) &&
	               !(c->frame && c->frame->trailer_len))) {
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

char *io_conn_reserve_slow(struct io_conn *c, size_t n)
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

void io_conn_mark_dirty(struct io_conn *c)
{
	io_mark_dirty(c);
}

int io_conn_write_ref(struct io_conn *c, const void *p, size_t len, void *owner)
{
	if (c->frame || !c->loop->cfg.ops->ref_hold)
		return -EINVAL;
	if (RB_UNLIKELY(c->closing))
		return -ENOBUFS;
	if (io_conn_pending(c) + len > c->loop->cfg.max_pending) {
		log_warn("%s:%u: slow consumer, %zu bytes pending over max_pending: closing",
		         c->peer_ip, c->peer_port, io_conn_pending(c));
		io_conn_terminate(c->loop, c);
		return -ENOBUFS;
	}
	int ret = io_obuf_add_seg(c, p, len, owner);
	if (ret == 0)
		io_mark_dirty(c);
	return ret;
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

void io_submit_send(struct io_loop *l, struct io_conn *c)
{
	if (c->frame) {
		io_frame_submit(l, c);
		return;
	}
	if (c->send.nseg) {
		io_ref_submit(l, c);
		return;
	}
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_send(sqe, c->fd, c->send.data + c->send.off, c->send.len - c->send.off,
	                   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_SEND, c->gen, c->slot));
	c->send_inflight = true;
}

static uint64_t io_obuf_release(struct io_obuf *b)
{
	uint64_t cap = b->cap;
	free(b->data);
	b->data = NULL;
	b->cap = 0;
	memacct_add(MEMACCT_OUTPUT, -(int64_t)cap);
	return cap;
}

uint64_t io_conn_trim(struct io_conn *c)
{
	uint64_t freed = 0;
	if (c->closing || c->frame)
		return 0; /* a framed connection's sends keep state of their own */
	if (!c->send_inflight && c->send.cap && !c->send.len && !c->send.npin)
		freed += io_obuf_release(&c->send);
	if (c->fill.cap && !c->fill.len && !c->fill.nseg && !c->fill.npin)
		freed += io_obuf_release(&c->fill);
	return freed;
}

/* Starts a send of everything written so far, when none is in flight. */
void io_start_send(struct io_loop *l, struct io_conn *c)
{
	if (c->send_inflight || !io_conn_has_unsent(c))
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
	 * slow readers), and so does one whose sends only vary: one small send
	 * between large ones made the next regrow from 16 KiB, a realloc and a
	 * copy at every doubling (2% of the server at 1->1 1 KiB). */
	if (c->fill.cap > IO_SHRINK_OVER && c->send.len < c->fill.cap / 8) {
		if (++c->small_sends >= IO_SHRINK_AFTER) {
			memacct_add(MEMACCT_OUTPUT, -(int64_t)c->fill.cap);
			free(c->fill.data);
			c->fill.data = NULL;
			c->fill.cap = 0;
			c->small_sends = 0;
		}
	} else {
		c->small_sends = 0;
	}
	if (c->frame)
		io_frame_start(c);
	io_submit_send(l, c);
}
