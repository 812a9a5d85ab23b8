/* One io_uring event loop per I/O thread: a listening socket with multishot
 * accept, connections with multishot recv into a provided-buffer ring, one
 * send in flight per connection with everything written meanwhile coalesced
 * into the next send, a 1 s tick, and an eventfd that other threads use to
 * wake the loop. What the bytes mean is the business of the callbacks
 * (router/), not of this file.
 *
 * Owner: the I/O thread that runs io_loop_run(); nothing here is thread-safe
 * except io_loop_stop(). */
#ifndef IO_LOOP_LOOP_H
#define IO_LOOP_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/wake.h"

struct io_loop;
struct io_frame;

/* Writes the head of a frame carrying @len payload bytes into @dst (at most
 * IO_FRAME_HEAD_MAX bytes), @packed when they were compressed by the
 * connection's packer; returns its length. A send cut by a frame size
 * (io_conn_set_frame_max) is one frame per piece: plain pieces each whole
 * (@first and @final), packed ones a message in fragments (@first on the
 * first, @final on the last). See io_conn_set_framed(). */
typedef size_t (*io_frame_head_fn)(uint8_t *dst, size_t len, bool packed, bool first, bool final);

/* Compresses @len bytes at @src into @dst (@cap bytes) for one frame.
 * Returns the compressed length, or 0 to send them as they are (too short,
 * or @cap too small). @arg is what io_conn_set_packer() was given. */
typedef size_t (*io_frame_pack_fn)(void *arg, const char *src, size_t len, char *dst, size_t cap);

#define IO_FRAME_HEAD_MAX 16u
/* Unframed bytes (io_conn_write_raw) that may wait for the next send. */
#define IO_FRAME_RAW_MAX 512u
/* The unframed bytes sent last (io_conn_set_trailer). */
#define IO_FRAME_TRAILER_MAX 128u

/* The largest output queue a connection may have (buffers double in size
 * and their lengths are 32 bits). */
#define IO_MAX_PENDING_LIMIT (1u << 30)

/* Output bytes that live elsewhere (io_conn_write_ref()): sent from where
 * they are, between the buffer's own bytes @at and @at + 1. */
struct io_oseg {
	const char *ptr;
	uint32_t len;
	uint32_t at;  /* the buffer's own bytes written before it */
	uint32_t cum; /* referenced bytes before it */
};

/* An owner of referenced bytes, held until the send that carries them
 * ends (io_ops.ref_hold / ref_drop). */
struct io_opin {
	void *owner;
	uint32_t bytes; /* what ref_hold() said it pins */
};

/* Output of a connection: filled by the owner, then sent whole. Its bytes
 * are @data's with the segments @seg inserted (most buffers have none). */
struct io_obuf {
	char *data;
	uint32_t len; /* own bytes written */
	uint32_t off; /* bytes already sent, segments included (sending buffer only) */
	uint32_t cap;
	uint32_t refd;    /* bytes of the segments */
	uint32_t nseg;    /* segments */
	uint32_t seg_cap; /* segments allocated */
	uint32_t seg_cur; /* sending buffer: the first segment not wholly sent */
	uint32_t npin, pin_cap;
	struct io_oseg *seg;
	struct io_opin *pin;
};

/* One accepted connection. Owner: its I/O thread. The callbacks own @user. */
struct io_conn {
	struct io_loop *loop;
	void *user;
	int fd;
	uint32_t slot;
	uint32_t gen;
	uint64_t id;         /* unique while the process runs: loop index, generation, slot */
	struct io_obuf fill; /* being written by the owner (who may rewrite unsent bytes) */
	struct io_obuf send; /* in flight */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint32_t peer_port;
	char peer_ip[46];
	bool adopted;       /* came through io_loop_adopt(): its first bytes (INFO) went out */
	uint64_t adopt_tag; /* what io_loop_adopt() was given */
	/* private */
	bool recv_armed;
	bool send_inflight;
	bool want_recv;      /* re-arm recv at the end of this iteration */
	bool dirty;          /* on the list of connections with output to send */
	bool closing;        /* no more input is processed */
	bool close_after;    /* close once the output has been sent */
	uint8_t cancels;     /* cancel operations in flight */
	uint8_t small_sends; /* sends in a row far smaller than the spare buffer */
	bool paused;         /* recv not re-armed until io_conn_resume() */
	bool released;       /* slot given back; freed at the end of the iteration */
	bool eof;            /* the peer sent its last byte (on_eof was called) */
	struct io_conn *next_dirty;
	struct io_frame *frame;     /* io_conn_set_framed(), else NULL (owned) */
	struct io_refsend *refsend; /* the sendmsg of referenced output (owned) */
	uint64_t pinned;            /* bytes its referenced output holds (io_opin) */
	uint64_t close_deadline_ns;
	uint64_t progress_ns; /* last time the kernel took output bytes, or a send began */
};

/* The router's side of the loop. @ctx is given at creation. */
struct io_ops {
	/* A connection was accepted; set c->user. Return 0, or -errno to refuse it. */
	int (*on_open)(void *ctx, struct io_conn *c);
	/* Bytes arrived. The buffer is the loop's own, valid only during the
	 * call; the callback may write into it (a WebSocket's frames are
	 * unmasked in place, router/wsconn.c). */
	void (*on_data)(void *ctx, struct io_conn *c, const char *data, size_t len);
	/* The connection is going away (peer closed, error, or io_conn_close());
	 * called once, before its memory is released. c->user is the callback's
	 * to free. */
	void (*on_close)(void *ctx, struct io_conn *c);
	/* Once per loop iteration: work coming from other threads. Returns true
	 * when it did something. */
	bool (*on_poll)(void *ctx);
	/* After the loop announced sleep: true when work is waiting (then the
	 * loop does not sleep). */
	bool (*has_work)(void *ctx);
	/* About once a second. */
	void (*on_tick)(void *ctx, uint64_t now_ns);
	/* A send of @c completed (optional; admission watches queues drain). */
	void (*on_sent)(void *ctx, struct io_conn *c);
	/* For io_conn_write_ref(): @owner is held while output of @c points
	 * into it; returns the bytes that pins (io_conn_pinned()). Then
	 * dropped once, when the send that carried it ended or @c went. */
	uint32_t (*ref_hold)(void *ctx, void *owner);
	void (*ref_drop)(void *ctx, void *owner);
	/* Optional: the peer closed its sending side. Without it the loop
	 * closes @c once its output is sent; with it @c stays open (it reads
	 * nothing more) until the callback's owner calls io_conn_close(), so
	 * replies to what the peer sent last can still go out. */
	void (*on_eof)(void *ctx, struct io_conn *c);
};

/* Counters of one loop. Owner: its thread (copied out by io_loop_get_stats). */
struct io_loop_stats {
	uint64_t recv_completions;
	uint64_t send_completions;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t enobufs; /* multishot recv ended for want of provided buffers */
	uint64_t wakeups; /* eventfd reads completed (other threads woke us) */
	uint64_t accepted;
	uint64_t lent; /* receive buffers kept past on_data (io_loop_lend()) */
};

struct io_loop_config {
	int index;                /* this loop's number (0..) */
	int listen_fd;            /* a listening socket of this loop's own (SO_REUSEPORT) */
	uint32_t buf_count;       /* provided buffers (power of two) */
	uint32_t buf_size;        /* bytes each */
	uint32_t max_pending;     /* output bytes queued per connection before it is closed;
	                             at most IO_MAX_PENDING_LIMIT */
	uint32_t spin_us;         /* microseconds of idle polling before sleeping */
	uint32_t close_linger_ms; /* how long a closing connection may flush its output */
	uint32_t tick_ms;         /* on_tick period (0: 1000) */
	struct wake *wake;        /* written by other threads to wake this loop */
	const atomic_bool
	    *stop; /* set by the owner to end io_loop_run(); then write @wake's eventfd */
	const struct io_ops *ops;
	void *ctx;
	/* Optional: sees each accepted socket before it becomes a connection;
	 * returns true when it took @fd (e.g. for a TLS handshake elsewhere),
	 * false to let the loop open it as usual. Called with @ctx. */
	bool (*on_accept_fd)(void *ctx, int fd);
};

/* Creates the loop with its io_uring, provided-buffer ring and tick. Call it
 * from the thread that will run it (the ring is single-issuer when the kernel
 * allows). Returns 0 and *@out, or -errno; logs what failed and why. */
RB_MUST_CHECK int io_loop_new(const struct io_loop_config *cfg, struct io_loop **out);
void io_loop_free(struct io_loop *l);

/* Runs until *cfg->stop is true (checked after every wake-up). Returns 0 or -errno. */
int io_loop_run(struct io_loop *l);

/* A short text naming the ring features in use ("defer_taskrun,
 * multishot..."), for the start-up log. */
const char *io_loop_features(const struct io_loop *l);

/* The time (clock_now_ns()) at the start of the loop's current iteration:
 * cheaper than asking the clock, and fine for anything measured in
 * milliseconds. */
uint64_t io_loop_now(const struct io_loop *l);

/* Copies the loop's counters. Call from the loop's thread. */
void io_loop_get_stats(const struct io_loop *l, struct io_loop_stats *out);

/* Number of connections open. */
uint32_t io_loop_nconns(const struct io_loop *l);

/* Lending receive buffers (io/loop/loop_lend.c). Inside on_data, instead
 * of copying @n bytes at @p out of the data it was given, the router may
 * keep them where they are: io_loop_lendable() returns the number of the
 * provided buffer being handled when they lie inside it and the loop may
 * lend one more buffer (half of them at most), else IO_LEND_NONE
 * (copy them); io_loop_lend() then takes one hold on it and returns its
 * pool (*@size: the buffer's bytes). The buffer goes back to the kernel
 * when its last hold is dropped with io_lend_drop(), from any thread, also
 * after the loop was freed. Owner: the loop's thread, inside on_data. */
#define IO_LEND_NONE UINT32_MAX
struct io_lendpool;
uint32_t io_loop_lendable(const struct io_loop *l, const char *p, size_t n);
struct io_lendpool *io_loop_lend(struct io_loop *l, uint32_t bid, uint32_t *size);
void io_lend_drop(struct io_lendpool *pool, uint32_t bid);

/* Reserves @n bytes at the end of c's output; returns where to write them,
 * or NULL when the output would exceed max_pending (the connection is then
 * being closed as a slow consumer) or memory ran out. Commit with
 * io_conn_commit(). */
char *io_conn_reserve_slow(struct io_conn *c, size_t n);
static inline char *io_conn_reserve(struct io_conn *c, size_t n)
{
	/* inline when it fits: every delivery reserves */
	if (RB_LIKELY(!c->closing && (size_t)c->fill.len + n <= c->fill.cap))
		return c->fill.data + c->fill.len;
	return io_conn_reserve_slow(c, n);
}

/* Puts @c on its loop's list of connections with output to send. */
void io_conn_mark_dirty(struct io_conn *c);
static inline void io_conn_commit(struct io_conn *c, size_t n)
{
	c->fill.len += (uint32_t)n;
	if (RB_UNLIKELY(!c->dirty))
		io_conn_mark_dirty(c);
}

/* Appends @len bytes to c's output. Returns 0 or -ENOBUFS (see reserve). */
int io_conn_write(struct io_conn *c, const void *data, size_t len);

/* Appends @len bytes at @p to c's output without copying them: the send
 * reads them where they are, so they must stay unchanged while @owner is
 * held (io_ops.ref_hold(), called once for a run of writes with the same
 * owner). Returns 0; -EINVAL on a framed connection and -ENOMEM when the
 * segment cannot be kept (then write a copy); -ENOBUFS as reserve. */
int io_conn_write_ref(struct io_conn *c, const void *p, size_t len, void *owner);

/* Bytes the owners of c's referenced output take in all (see ref_hold). */
static inline uint64_t io_conn_pinned(const struct io_conn *c)
{
	return c->pinned;
}

/* Bytes queued and not yet sent. */
static inline size_t io_conn_pending(const struct io_conn *c)
{
	return (size_t)c->fill.len + c->fill.refd + (c->send.len + c->send.refd - c->send.off);
}

/* Copies the referenced bytes of the unsent output into the buffer and
 * drops their owners. Returns 0 or -ENOMEM (nothing changed). */
int io_conn_flatten(struct io_conn *c);

/* The output written but not yet handed to the kernel: *@len bytes at the
 * returned address, which the owner may rewrite (compact) and then shorten
 * with io_conn_set_unsent(); *@in_flight is what the kernel is sending.
 * NULL when referenced output could not be made contiguous (no memory). */
static inline char *io_conn_unsent(struct io_conn *c, size_t *len, size_t *in_flight)
{
	*in_flight = c->send.len + c->send.refd - c->send.off;
	*len = 0;
	if (RB_UNLIKELY(c->fill.nseg) && io_conn_flatten(c) != 0)
		return NULL;
	*len = c->fill.len;
	return c->fill.data;
}

/* Keeps only the first @len bytes of the unsent output (@len no more than
 * io_conn_unsent() gave; 0 also drops any referenced output). */
void io_conn_set_unsent(struct io_conn *c, size_t len);

/* True once @c is closing: it processes no more input and gets no output. */
static inline bool io_conn_is_closing(const struct io_conn *c)
{
	return c->closing;
}

/* How long (ns, at @now) a send of @c has waited for the kernel to take any
 * byte: 0 when no send is in flight. A peer that reads, however slowly,
 * keeps this short; one that stopped reading makes it grow. */
static inline uint64_t io_conn_stalled_ns(const struct io_conn *c, uint64_t now)
{
	if (!c->send_inflight || now <= c->progress_ns)
		return 0;
	return now - c->progress_ns;
}

/* Closes @c: once its output is sent when @flush (bounded by a deadline),
 * else at once. on_close() is called once either way. */
void io_conn_close(struct io_conn *c, bool flush);

/* Stops / restarts reading from @c (admission control). */
void io_conn_pause(struct io_conn *c);
void io_conn_resume(struct io_conn *c);

/* No more connections are accepted (the owner may close the listening
 * socket after it: the accept in flight is cancelled); the open ones go on
 * (lame duck mode). */
void io_loop_stop_accepting(struct io_loop *l);

/* Graceful stop, first step: no more connections are accepted and no more
 * input is read (what was read is still handed to on_data); output goes on. */
void io_loop_quiesce(struct io_loop *l);

/* Closes every connection (after its output is sent when @flush). */
void io_loop_close_all(struct io_loop *l, bool flush);

/* Gives the loop a connected socket that was accepted elsewhere; any thread.
 * At its next iteration the loop opens it like an accepted one (on_open),
 * with c->adopted set, c->adopt_tag = @tag and the peer address given (the
 * socket may be a socketpair end standing for the client). Takes @fd, and
 * closes it when the loop stops or quiesces first. Returns 0 or -ENOMEM. */
int io_loop_adopt(struct io_loop *l, int fd, uint64_t tag, const char *peer_ip, uint32_t peer_port);

/* Makes @c a framed connection (a WebSocket): each send of its output goes
 * out as one frame, [@head's bytes][the output], in one sendmsg with two
 * iovecs (nothing copied); the output itself stays unframed, so the owner
 * may still rewrite unsent bytes. Bytes given to io_conn_write_raw() go
 * before the next frame, unframed. Call before anything is written.
 * Returns 0 or -ENOMEM. */
RB_MUST_CHECK int io_conn_set_framed(struct io_conn *c, io_frame_head_fn head);

/* On a framed connection: queues @len bytes (an HTTP answer, a control
 * frame) to go out unframed before the next frame. Returns 0, -ENOBUFS
 * when IO_FRAME_RAW_MAX bytes already wait, -EINVAL when @c is not framed
 * or closing. */
RB_MUST_CHECK int io_conn_write_raw(struct io_conn *c, const void *data, size_t len);

/* On a framed connection: each send of more than nothing is given to @pack
 * first (permessage-deflate), into a buffer of the loop's; NULL stops it.
 * @arg is borrowed until the packer is replaced or cleared: clear it before
 * freeing @arg (the output of a closing connection may still be sent). */
void io_conn_set_packer(struct io_conn *c, io_frame_pack_fn pack, void *arg);

/* On a framed connection: frames of at most @max payload bytes (0: no
 * limit), the packed sends cut as well when @packed_too; each piece is a
 * sendmsg of its own. For nats-server's frames to browsers. */
void io_conn_set_frame_max(struct io_conn *c, uint32_t max, bool packed_too);

/* On a framed connection: @len bytes (a close frame) to send unframed after
 * all the output when @c is closed with flush; may be called while it is
 * closing (from on_close, which a framed connection closed with flush gets
 * before the loop looks for output to flush: a trailer alone is sent).
 * Returns 0, or -EINVAL when @c is not framed or @len is above
 * IO_FRAME_TRAILER_MAX. */
int io_conn_set_trailer(struct io_conn *c, const void *data, size_t len);

/* Calls @fn for every open connection of the loop. */
void io_loop_foreach(struct io_loop *l, void (*fn)(struct io_conn *c, void *arg), void *arg);

/* Gives back the output buffers @c holds and is not using: the sending
 * buffer when no send is in flight, the filling one when nothing is
 * written. A connection keeps them after a burst, for the next one; under
 * memory pressure they are what an idle connection holds. Returns the
 * bytes given back. Owner: the loop's thread, between writes. */
uint64_t io_conn_trim(struct io_conn *c);

/* The connection with id @id if it is still open, else NULL. */
struct io_conn *io_loop_conn(struct io_loop *l, uint64_t id);

/* The loop index encoded in a connection id. */
static inline int io_conn_id_loop(uint64_t id)
{
	return (int)(id >> 56);
}

#endif /* IO_LOOP_LOOP_H */
