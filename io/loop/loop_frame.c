/* Framed connections (WebSocket): each send of a connection's output goes
 * out as [unframed bytes][frame head][output] in one sendmsg, so the output
 * buffer stays plain and is never copied; a partial send resumes where it
 * stopped, the head counted apart from the payload. With a frame size, a
 * send goes as several frames, one sendmsg each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/loop/loop_int.h"

int io_conn_set_framed(struct io_conn *c, io_frame_head_fn head)
{
	if (c->frame)
		return 0;
	struct io_frame *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->head = head;
	c->frame = f;
	return 0;
}

int io_conn_write_raw(struct io_conn *c, const void *data, size_t len)
{
	struct io_frame *f = c->frame;
	if (!f || c->closing)
		return -EINVAL;
	if (len > IO_FRAME_RAW_MAX - f->raw_len)
		return -ENOBUFS;
	memcpy(f->raw + f->raw_len, data, len);
	f->raw_len += (uint32_t)len;
	io_mark_dirty(c);
	return 0;
}

void io_conn_set_packer(struct io_conn *c, io_frame_pack_fn pack, void *arg)
{
	if (!c->frame)
		return;
	c->frame->pack = pack;
	c->frame->pack_arg = arg;
}

/* Packs c->send into f->z when the packer takes it. */
static void io_frame_pack(struct io_conn *c, struct io_frame *f)
{
	f->z_len = f->z_off = 0;
	if (!f->pack || !c->send.len)
		return;
	size_t need = (size_t)c->send.len + c->send.len / 8 + 64;
	if (need > f->z_cap) {
		char *z = realloc(f->z, need);
		if (!z)
			return; /* sent as it is */
		f->z = z;
		f->z_cap = need;
	}
	f->z_len = f->pack(f->pack_arg, c->send.data, c->send.len, f->z, f->z_cap);
}

int io_conn_set_trailer(struct io_conn *c, const void *data, size_t len)
{
	struct io_frame *f = c->frame;
	if (!f || len > IO_FRAME_TRAILER_MAX)
		return -EINVAL;
	memcpy(f->trailer, data, len);
	f->trailer_len = (uint8_t)len;
	return 0;
}

bool io_frame_take_trailer(struct io_conn *c)
{
	struct io_frame *f = c->frame;
	if (!f || !f->trailer_len || f->raw_len)
		return false;
	memcpy(f->raw, f->trailer, f->trailer_len);
	f->raw_len = f->trailer_len;
	f->trailer_len = 0;
	return true;
}

void io_conn_set_frame_max(struct io_conn *c, uint32_t max, bool packed_too)
{
	if (!c->frame)
		return;
	c->frame->max_frame = max;
	c->frame->max_packed = packed_too;
}

/* The payload of the send in flight: the packed bytes, or the output. */
static size_t io_frame_total(const struct io_conn *c, const struct io_frame *f)
{
	return f->z_len ? f->z_len : c->send.len;
}

/* Writes the head of the frame that starts at @off of the payload (the
 * rest, or max_frame bytes of it). */
static void io_frame_next(struct io_conn *c, struct io_frame *f, size_t off)
{
	size_t total = io_frame_total(c, f);
	size_t len = total - off;
	bool packed = f->z_len != 0;
	if (f->max_frame && (!packed || f->max_packed) && len > f->max_frame)
		len = f->max_frame;
	f->fr_end = off + len;
	f->hd_off = 0;
	if (!total) {
		f->hd_len = 0;
		return;
	}
	bool first = !packed || off == 0, final = !packed || f->fr_end == total;
	f->hd_len = (uint8_t)f->head(f->hd, len, packed, first, final);
}

/* Takes the unframed bytes and the head of a frame for c->send (just
 * swapped in) into the send about to start. */
void io_frame_start(struct io_conn *c)
{
	struct io_frame *f = c->frame;
	memcpy(f->raw_sent, f->raw, f->raw_len);
	f->raw_sent_len = f->raw_len;
	f->raw_sent_off = 0;
	f->raw_len = 0;
	io_frame_pack(c, f);
	io_frame_next(c, f, 0);
}

/* Submits what is left of the frame in flight: up to three iovecs. */
void io_frame_submit(struct io_loop *l, struct io_conn *c)
{
	struct io_frame *f = c->frame;
	int n = 0;
	if (f->raw_sent_off < f->raw_sent_len)
		f->iov[n++] = (struct iovec){f->raw_sent + f->raw_sent_off,
		                             f->raw_sent_len - f->raw_sent_off};
	if (f->hd_off < f->hd_len)
		f->iov[n++] = (struct iovec){f->hd + f->hd_off, (size_t)(f->hd_len - f->hd_off)};
	if (f->z_len)
		f->iov[n++] = (struct iovec){f->z + f->z_off, f->fr_end - f->z_off};
	else if (c->send.off < f->fr_end)
		f->iov[n++] = (struct iovec){c->send.data + c->send.off, f->fr_end - c->send.off};
	memset(&f->mh, 0, sizeof(f->mh));
	f->mh.msg_iov = f->iov;
	f->mh.msg_iovlen = (size_t)n;
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_sendmsg(sqe, c->fd, &f->mh, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_SEND, c->gen, c->slot));
	c->send_inflight = true;
}

bool io_frame_sent(struct io_conn *c, uint32_t res)
{
	struct io_frame *f = c->frame;
	uint32_t k = f->raw_sent_len - f->raw_sent_off;
	k = res < k ? res : k;
	f->raw_sent_off += k;
	res -= k;
	k = (uint32_t)(f->hd_len - f->hd_off);
	k = res < k ? res : k;
	f->hd_off = (uint8_t)(f->hd_off + k);
	res -= k;
	size_t pos;
	if (f->z_len) { /* packed: the output counts as sent once all of it went */
		f->z_off += res;
		pos = f->z_off;
		if (f->z_off == f->z_len)
			c->send.off = c->send.len;
	} else {
		c->send.off += res;
		pos = c->send.off;
	}
	if (f->raw_sent_off != f->raw_sent_len || f->hd_off != f->hd_len)
		return false;
	if (pos == f->fr_end && f->fr_end < io_frame_total(c, f)) {
		io_frame_next(c, f, f->fr_end); /* a frame of a cut send went */
		return false;
	}
	return c->send.off >= c->send.len;
}
