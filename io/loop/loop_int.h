/* What the files of io/loop share: the loop itself, the user_data encoding
 * and the small helpers every file submits through. Private to io/loop. */
#ifndef IO_LOOP_LOOP_INT_H
#define IO_LOOP_LOOP_INT_H

#include <liburing.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/loop/loop.h"
#include "io/loop/uring.h"

enum io_op {
	IO_OP_ACCEPT = 1,
	IO_OP_RECV,
	IO_OP_SEND,
	IO_OP_CANCEL,
	IO_OP_TICK,
	IO_OP_WAKE,
	IO_OP_CANCEL_ACCEPT,
};

#define IO_BGID         7
#define IO_SHRINK_OVER  (256u * 1024u) /* output buffers above this may be freed when empty */
#define IO_SHRINK_AFTER 16u            /* ... after this many sends in a row used an eighth of it */
#define IO_OBUF_MIN     (16u * 1024u)

/* user_data and SQEs as every ring of the project makes them (io/loop/uring.h). */
static inline uint64_t io_ud(enum io_op op, uint32_t gen, uint32_t slot)
{
	return uring_ud((unsigned)op, gen, slot);
}

static inline enum io_op io_ud_op(uint64_t ud)
{
	return (enum io_op)uring_ud_op(ud);
}

static inline uint32_t io_ud_gen(uint64_t ud)
{
	return uring_ud_gen(ud);
}

static inline uint32_t io_ud_slot(uint64_t ud)
{
	return uring_ud_slot(ud);
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
	uint32_t bufs_returned;   /* added to the ring, not yet advanced */
	struct io_lendpool *lend; /* owns @bufs (io/loop/loop_lend.c) */
	uint32_t lent;            /* buffers out on loan */
	uint32_t lend_max;        /* at most this many: the rest stay the kernel's */
	const char *cur;          /* the buffer on_data is handling, else NULL */
	uint32_t cur_len;
	uint32_t cur_bid;
	bool cur_held; /* io_loop_lend() lent @cur: it goes back with its last hold */

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
	bool quiesced;  /* io_loop_quiesce(): no more accepts or reads */
	bool no_accept; /* io_loop_stop_accepting(): no more accepts */
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

/* Gives provided buffer @bid back to the kernel (published by the loop
 * once per iteration). Owner: the loop's thread. */
static inline void io_buf_return(struct io_loop *l, uint32_t bid)
{
	io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * l->cfg.buf_size, l->cfg.buf_size,
	                      (unsigned short)bid, (int)l->buf_mask, (int)l->bufs_returned);
	l->bufs_returned++;
}

/* io/loop/loop_lend.c: the pool of the provided buffers (allocated here,
 * @bytes in all) and the buffers whose loans ended, given back. */
int io_lend_setup(struct io_loop *l, size_t bytes);
void io_lend_fini(struct io_loop *l);
void io_lend_collect(struct io_loop *l);

static inline struct io_uring_sqe *io_sqe(struct io_loop *l)
{
	return uring_sqe(&l->ring);
}

static inline void io_arm_recv(struct io_loop *l, struct io_conn *c)
{
	struct io_uring_sqe *sqe = io_sqe(l);
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = IO_BGID;
	io_uring_sqe_set_data64(sqe, io_ud(IO_OP_RECV, c->gen, c->slot));
	c->recv_armed = true;
	c->want_recv = false;
}

/* A framed connection's send state (io/loop/loop_frame.c). Owner: the loop. */
struct io_frame {
	io_frame_head_fn head;
	struct msghdr mh; /* of the sendmsg in flight */
	struct iovec iov[3];
	uint32_t raw_len;       /* unframed bytes waiting for the next send */
	uint32_t raw_sent_len;  /* unframed bytes of the send in flight */
	uint32_t raw_sent_off;  /* of which sent */
	uint8_t hd_len, hd_off; /* head of the frame in flight, and how much went */
	bool max_packed;        /* max_frame cuts packed sends too */
	uint32_t max_frame;     /* io_conn_set_frame_max(), 0: a send is one frame */
	size_t fr_end;          /* where the frame in flight ends in the send's payload */
	uint8_t trailer_len;    /* io_conn_set_trailer(): sent after everything */
	io_frame_pack_fn pack;  /* io_conn_set_packer(), or NULL */
	void *pack_arg;
	char *z;             /* the packed payload of the send in flight (owned), */
	size_t z_len, z_off; /* its length (0: not packed) and how much went */
	size_t z_cap;
	char trailer[IO_FRAME_TRAILER_MAX];
	uint8_t hd[IO_FRAME_HEAD_MAX];
	char raw[IO_FRAME_RAW_MAX];
	char raw_sent[IO_FRAME_RAW_MAX];
};

/* True when @c has output not yet handed to the kernel. */
static inline bool io_conn_has_unsent(const struct io_conn *c)
{
	return c->fill.len || c->fill.nseg || (c->frame && c->frame->raw_len);
}

/* The sendmsg of a connection's referenced output (io/loop/loop_ref.c). */
#define IO_REF_IOV 512u
struct io_refsend {
	struct msghdr mh;
	struct iovec iov[IO_REF_IOV];
};

static inline void io_mark_dirty(struct io_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = c->loop->dirty;
		c->loop->dirty = c;
	}
}

/* ---- io/loop/loop_conn.c: a connection's output and end ---- */

/* Gives @c's slot back; its memory is freed at the end of the iteration. */
void io_conn_release(struct io_loop *l, struct io_conn *c);
/* Frees @c once nothing of the kernel's refers to it any more. */
void io_conn_maybe_release(struct io_loop *l, struct io_conn *c);
/* Ends @c now: on_close, stop receiving, drop unsent output. */
void io_conn_terminate(struct io_loop *l, struct io_conn *c);
/* Submits the rest of the in-flight send. */
void io_submit_send(struct io_loop *l, struct io_conn *c);
/* Starts a send of everything written so far, when none is in flight. */
void io_start_send(struct io_loop *l, struct io_conn *c);

/* ---- io/loop/loop_ref.c: output that points elsewhere ---- */

/* Appends a segment of @len bytes at @p to c->fill, holding @owner (once
 * for a run of the same owner). Returns 0 or -ENOMEM (nothing changed). */
int io_obuf_add_seg(struct io_conn *c, const void *p, size_t len, void *owner);
/* Submits the rest of c->send, which has segments, as one sendmsg. */
void io_ref_submit(struct io_loop *l, struct io_conn *c);
/* Drops the owners of @b's segments and forgets them. */
void io_obuf_unpin(struct io_loop *l, struct io_conn *c, struct io_obuf *b);
/* Frees what @b allocated for segments (after io_obuf_unpin()). */
void io_obuf_free_refs(struct io_obuf *b);

/* ---- io/loop/loop_frame.c: framed (WebSocket) sends ---- */

/* Takes the unframed bytes and the head of a frame for c->send (just
 * swapped in) into the send about to start. */
void io_frame_start(struct io_conn *c);
/* A closing connection sent all its output: its trailer becomes the
 * unframed bytes of one last send. Returns true when there was one. */
bool io_frame_take_trailer(struct io_conn *c);
/* Submits the rest of the framed send in flight. */
void io_frame_submit(struct io_loop *l, struct io_conn *c);
/* Counts @res bytes sent; returns true when the whole send went (false:
 * submit again, the rest of a frame or the next one). */
bool io_frame_sent(struct io_conn *c, uint32_t res);

/* ---- io/loop/loop_open.c: connections opened and adopted ---- */

/* Opens a connection on @fd: accepted here (@a NULL) or adopted (@a). */
void io_conn_open(struct io_loop *l, int fd, const struct io_adoptee *a);
/* Opens the sockets io_loop_adopt() queued. Returns true when there were any. */
bool io_adopt_drain(struct io_loop *l);

#endif /* IO_LOOP_LOOP_INT_H */
