/* ringbus-load's event loop: one io_uring per thread driving many client
 * connections (multishot recv on a provided-buffer ring, one send in flight
 * per connection with a second buffer filling behind it). */
#ifndef TOOLS_LOAD_LOOP_H
#define TOOLS_LOAD_LOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "io/proto/proto.h"
#include "tools/load/stats.h"

struct load_run;
struct load_conn;
struct hello_target;

enum load_role {
	ROLE_PUB = 0,
	ROLE_SUB,
	ROLE_REQ,
	ROLE_REP,
};

/* What a role does with a ready connection. Called on the owning thread. */
struct load_role_ops {
	/* The handshake finished (CONNECT answered by PONG). */
	void (*ready)(struct load_conn *c, uint64_t now);
	/* A MSG (or HMSG, headers skipped) arrived; @payload borrowed. */
	void (*msg)(struct load_conn *c, const struct proto_frame *f, struct proto_span payload,
	            uint64_t now);
	/* A PONG to one of the role's own PINGs. */
	void (*pong)(struct load_conn *c, uint64_t now);
	/* Produce output that is due; returns when it wants to run next
	 * (UINT64_MAX: only after I/O), called every loop turn for pumped roles. */
	uint64_t (*pump)(struct load_conn *c, uint64_t now);
};

enum load_conn_state {
	CONN_CONNECTING = 0,
	CONN_WAIT_INFO,
	CONN_WAIT_PONG,
	CONN_READY,
	CONN_CLOSED,
};

/* One client connection. Owner: its thread. */
struct load_conn {
	struct load_thread *t;
	const struct load_role_ops *ops;
	void *role_state; /* owned by the role module */
	enum load_role role;
	enum load_conn_state state;
	const struct hello_target *target; /* the server it dials; set before the threads start */
	uint32_t index;                    /* within its role */
	uint32_t slot;
	uint32_t gen;
	int fd;
	struct proto_parser parser;
	char *obuf[2];
	uint32_t olen[2];
	uint32_t ocap[2];  /* size of each buffer */
	uint32_t ocap_max; /* loop_reserve() may grow a buffer up to this (0: never) */
	uint8_t fill;      /* obuf[fill] takes new output; the other one is on the wire */
	bool sending;
	bool dirty; /* on the thread's flush list */
	bool recv_armed;
	uint32_t sent_off; /* bytes of the in-flight buffer already sent */
	uint32_t pings;    /* role PINGs not yet answered */
	uint64_t pump_at;  /* when its pump asked to run again; UINT64_MAX: at any event */
	bool pong_owed;    /* a server PING came while the buffer was full */
};

/* One event loop. Owner: its thread; the progress fields are read by the
 * main thread (atomics and the snapshot lock). */
struct load_thread {
	struct load_run *run;
	uint32_t id;
	pthread_t tid;
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	char *bufs;
	uint32_t nbufs;
	struct load_conn *conns;
	uint32_t nconns;
	struct load_conn **pumped; /* connections whose role has a pump */
	uint32_t npumped;
	struct load_conn **dirty;
	uint32_t ndirty;
	struct load_stats stats;
	uint64_t next_snapshot;
	uint64_t wake_at; /* the end of the current timed wait (see loop_thread_main) */
	pthread_mutex_t snap_lock;
	struct load_stats_snapshot snap; /* guarded by snap_lock */
};

/* Sets up @t with room for @nconns connections (fd -1, no role yet).
 * Returns 0 or -errno. */
RB_MUST_CHECK int loop_thread_init(struct load_thread *t, struct load_run *run, uint32_t id,
                                   uint32_t nconns);
void loop_thread_fini(struct load_thread *t);

/* Gives connection @c its role and output capacity @ocap (two buffers).
 * Returns 0 or -ENOMEM. */
RB_MUST_CHECK int loop_conn_setup(struct load_conn *c, enum load_role role, uint32_t index,
                                  const struct load_role_ops *ops, uint32_t ocap);

/* The thread body: connects every connection, then runs until the run
 * stops or fails. */
void *loop_thread_main(void *arg);

/* Room for @n more bytes of output, or NULL when both buffers are busy and
 * full. Commit what was written with loop_commit(). */
char *loop_reserve(struct load_conn *c, uint32_t n);
void loop_commit(struct load_conn *c, uint32_t n);

/* Appends @len bytes; false when there is no room. */
bool loop_write(struct load_conn *c, const char *data, uint32_t len);

/* Lets loop_reserve() grow @c's output buffers up to @max bytes instead of
 * failing: for responders, which must answer every request they receive. */
static inline void loop_conn_allow_growth(struct load_conn *c, uint32_t max)
{
	c->ocap_max = max;
}

/* Free bytes in the buffer that takes output. */
static inline uint32_t loop_room(const struct load_conn *c)
{
	return c->ocap[c->fill] - c->olen[c->fill];
}

/* Appends a PING whose PONG goes to the role; false when there is no room. */
bool loop_ping(struct load_conn *c);

/* Fails the run with a message naming this connection; closes it. */
void loop_conn_fail(struct load_conn *c, const char *fmt, ...) RB_PRINTF(2, 3);

/* The name of a role, for messages ("publisher"). */
const char *loop_role_name(enum load_role role);

#endif /* TOOLS_LOAD_LOOP_H */
