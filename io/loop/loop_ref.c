/* Output that points elsewhere: a large message payload is sent from the
 * batch it was read into, not copied into every subscriber's buffer. A
 * buffer keeps its own bytes (message heads, line ends, small messages) and
 * a list of segments, each inserted after a given number of its own bytes;
 * a send of it is one sendmsg whose iovecs alternate between the two. The
 * owners of the segments are held (io_ops.ref_hold) from the write until
 * the whole send ended, one hold for a run of writes with the same owner. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/memacct.h"
#include "io/loop/loop_int.h"

static int io_grow_array(void **v, uint32_t *cap, size_t elem)
{
	uint32_t n = *cap ? *cap * 2 : 64;
	void *p = realloc(*v, n * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* Holds @owner for @c's fill buffer, once for a run of the same owner. */
static int io_pin(struct io_conn *c, void *owner)
{
	struct io_obuf *b = &c->fill;
	if (b->npin && b->pin[b->npin - 1].owner == owner)
		return 0;
	if (b->npin == b->pin_cap && io_grow_array((void **)&b->pin, &b->pin_cap, sizeof(*b->pin)))
		return -ENOMEM;
	const struct io_ops *ops = c->loop->cfg.ops;
	uint32_t bytes = ops->ref_hold(c->loop->cfg.ctx, owner);
	b->pin[b->npin++] = (struct io_opin){owner, bytes};
	c->pinned += bytes;
	return 0;
}

int io_obuf_add_seg(struct io_conn *c, const void *p, size_t len, void *owner)
{
	if (!c->refsend && !(c->refsend = malloc(sizeof(*c->refsend))))
		return -ENOMEM;
	struct io_obuf *b = &c->fill;
	if (b->nseg == b->seg_cap && io_grow_array((void **)&b->seg, &b->seg_cap, sizeof(*b->seg)))
		return -ENOMEM;
	if (io_pin(c, owner))
		return -ENOMEM;
	b->seg[b->nseg++] = (struct io_oseg){p, (uint32_t)len, b->len, b->refd};
	b->refd += (uint32_t)len;
	return 0;
}

void io_obuf_unpin(struct io_loop *l, struct io_conn *c, struct io_obuf *b)
{
	for (uint32_t i = 0; i < b->npin; i++) {
		l->cfg.ops->ref_drop(l->cfg.ctx, b->pin[i].owner);
		c->pinned -= b->pin[i].bytes;
	}
	b->npin = 0;
	b->nseg = 0;
	b->refd = 0;
	b->seg_cur = 0;
}

void io_obuf_free_refs(struct io_obuf *b)
{
	free(b->seg);
	free(b->pin);
	b->seg = NULL;
	b->pin = NULL;
	b->seg_cap = b->pin_cap = 0;
}

int io_conn_flatten(struct io_conn *c)
{
	struct io_obuf *b = &c->fill;
	if (!b->nseg)
		return 0;
	size_t total = (size_t)b->len + b->refd, cap = b->cap ? b->cap : IO_OBUF_MIN;
	while (cap < total)
		cap *= 2;
	char *d = malloc(cap);
	if (!d)
		return -ENOMEM;
	size_t n = 0, from = 0;
	for (uint32_t k = 0; k < b->nseg; k++) {
		const struct io_oseg *s = &b->seg[k];
		memcpy(d + n, b->data + from, s->at - from);
		n += s->at - from;
		memcpy(d + n, s->ptr, s->len);
		n += s->len;
		from = s->at;
	}
	memcpy(d + n, b->data + from, b->len - from);
	memacct_add(MEMACCT_OUTPUT, (int64_t)cap - (int64_t)b->cap);
	free(b->data);
	b->data = d;
	b->cap = (uint32_t)cap;
	b->len = (uint32_t)total;
	io_obuf_unpin(c->loop, c, b);
	return 0;
}

void io_conn_set_unsent(struct io_conn *c, size_t len)
{
	if (len == 0 && c->fill.nseg)
		io_obuf_unpin(c->loop, c, &c->fill);
	c->fill.len = (uint32_t)len;
}

/* Where segment @s starts among the buffer's bytes. */
static inline uint32_t io_seg_start(const struct io_oseg *s)
{
	return s->at + s->cum;
}

void io_ref_submit(struct io_loop *l, struct io_conn *c)
{
	struct io_obuf *b = &c->send;
	struct io_refsend *rs = c->refsend;
	uint32_t off = b->off, k = b->seg_cur, d;
	unsigned n = 0;

	while (k < b->nseg && io_seg_start(&b->seg[k]) + b->seg[k].len <= off)
		k++;
	b->seg_cur = k;
	if (k < b->nseg && off >= io_seg_start(&b->seg[k])) { /* inside segment k */
		uint32_t in = off - io_seg_start(&b->seg[k]);
		rs->iov[n++] = (struct iovec){(void *)(b->seg[k].ptr + in), b->seg[k].len - in};
		d = b->seg[k++].at;
	} else { /* in the own bytes before segment k (or after the last) */
		d = off - (k < b->nseg ? b->seg[k].cum : b->refd);
	}
	for (;;) {
		uint32_t end = k < b->nseg ? b->seg[k].at : b->len;
		if (end > d)
			rs->iov[n++] = (struct iovec){b->data + d, end - d};
		if (k == b->nseg || n == IO_REF_IOV)
			break;
		rs->iov[n++] = (struct iovec){(void *)b->seg[k].ptr, b->seg[k].len};
		d = b->seg[k++].at;
		if (n == IO_REF_IOV)
			break;
	}
	memset(&rs->mh, 0, sizeof(rs->mh));
	rs->mh.msg_iov = rs->iov;
	rs->mh.msg_iovlen = n;
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_sendmsg(sqe, c->fd, &rs->mh, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_SEND, c->gen, c->slot));
	c->send_inflight = true;
}
