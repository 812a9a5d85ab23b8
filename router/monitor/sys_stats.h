/* The server's figures published on $SYS.RINGBUS.<server_id>.STATS every
 * stats_interval, for any NATS client to follow (docs/OPERATIONS.md, "Live
 * figures on $SYS"): the document's rendering, the timer of the thread that
 * collects, and the one-slot mailbox that hands a rendered document to I/O
 * thread 0, the only kind of thread that may put a message into a batch. */
#ifndef ROUTER_MONITOR_SYS_STATS_H
#define ROUTER_MONITOR_SYS_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "router/monitor/stats.h"

struct server;

/* "$SYS.RINGBUS." + a server id (at most 31 characters) + ".STATS" */
#define SYS_STATS_SUBJECT_MAX 64

/* The mailbox between the collector and I/O thread 0: one slot; a
 * document not yet published when the next one comes is replaced.
 * Owner: shared. @subject is read-only after sys_stats_box_init(); @msg and
 * @len are under @lock; @full is read without it. */
struct sys_stats_box {
	pthread_mutex_t lock;
	/* A document waits. Set (release) after @msg under @lock; read (acquire)
	 * by I/O thread 0 at every poll before it takes the lock, so an empty
	 * mailbox costs the poll one load. */
	atomic_bool full;
	char *msg; /* owned here until taken */
	size_t len;
	char subject[SYS_STATS_SUBJECT_MAX];
};

/* Caller storage; @server_id borrowed (copied into the subject). Cannot fail. */
void sys_stats_box_init(struct sys_stats_box *b, const char *server_id);
/* Frees a document never taken. */
void sys_stats_box_fini(struct sys_stats_box *b);

/* Puts @msg (@len bytes, heap, taken) into @b. Any thread. Returns true when
 * it replaced a document not yet taken (freed: that one is skipped). */
bool sys_stats_box_post(struct sys_stats_box *b, char *msg, size_t len);

/* A document waits in @b (I/O thread 0's poll: one acquire load). */
static inline bool sys_stats_box_full(struct sys_stats_box *b)
{
	/* acquire: pairs with the release in sys_stats_box_post() */
	return atomic_load_explicit(&b->full, memory_order_acquire);
}

/* Takes the waiting document: returns it (heap, owned by the caller, who
 * frees it) with its length in *@len, or NULL when there is none. */
char *sys_stats_box_take(struct sys_stats_box *b, size_t *len);

/* The totals of one collection, kept for the next one's rates. */
struct sys_stats_prev {
	uint64_t at_ns; /* CLOCK_MONOTONIC; 0: none yet (rates since the start) */
	uint64_t in_msgs;
	uint64_t out_msgs;
	uint64_t in_bytes;
	uint64_t out_bytes;
};

/* What one document is made of. Borrowed by sys_stats_render(). */
struct sys_stats_doc {
	const struct stats *st; /* collected with STATS_SLOWEST */
	uint64_t at_ns;         /* CLOCK_MONOTONIC when @st was collected */
	struct sys_stats_prev prev;
	uint32_t interval_ms;
	uint64_t skipped; /* documents replaced in the mailbox before publication, so far */
};

/* Renders @d as one line of JSON (field names as /varz, /shardz and
 * /admissionz name the same figures). A pure function: any thread, no
 * clock. Returns 0 with *@out (heap, NUL-terminated, the caller frees it)
 * and its length in *@len, or -ENOMEM. */
RB_MUST_CHECK int sys_stats_render(const struct sys_stats_doc *d, char **out, size_t *len);

/* The collecting thread's state. Owner: that thread (the main thread). */
struct sys_stats_timer {
	uint64_t interval_ns; /* 0: off */
	uint64_t next_ns;     /* CLOCK_MONOTONIC */
	struct sys_stats_prev prev;
	uint64_t skipped;
};

/* Starts @tm at @now_ns (CLOCK_MONOTONIC): the first document one interval
 * from now. */
void sys_stats_timer_init(struct sys_stats_timer *tm, uint32_t interval_ms, uint64_t now_ns);

/* Milliseconds until the next document is due (INT64_MAX when off). */
int64_t sys_stats_timer_wait_ms(const struct sys_stats_timer *tm, uint64_t now_ns);

/* When a document is due at @now_ns: collects (stats_collect(), waiting for
 * the I/O threads up to 1 s), renders, posts it into s->sys_box and wakes
 * I/O thread 0. Any thread but an I/O thread; one thread only (@tm is its). */
void sys_stats_tick(struct server *s, struct sys_stats_timer *tm, uint64_t now_ns);

#endif /* ROUTER_MONITOR_SYS_STATS_H */
