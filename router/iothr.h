/* An I/O thread of the router: its io_uring loop (io/loop) runs the client
 * protocol (router/client.c) and, once per iteration, this poll: batches out
 * to the shards (inline when a shard's worker sleeps), the shards' results
 * merged back into the order the thread sent its entries (router/rlog.h),
 * deliveries forwarded to the I/O threads that own the subscribers, and the
 * admission state it watches.
 *
 * Owner: the thread itself, except @in (MPSC: other I/O threads push what
 * they forward), @wake (shared) and the request flag of @stats_req. */
#ifndef ROUTER_IOTHR_H
#define ROUTER_IOTHR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/ring.h"
#include "core/wake.h"
#include "router/batch.h"
#include "router/rlog.h"
#include "router/monitor/stats.h"

struct server;
struct io_loop;
struct client;
struct client_grave;

/* A monitoring request to an I/O thread (see router/stats.c): the collector
 * fills the inputs under @lock and sets @pending; the I/O thread answers at its
 * next iteration. */
struct stats_req {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pending;
	bool want_conns;
	bool want_slowest;
	bool done;
	struct stats_io io;
	struct stats_conn slowest[STATS_SLOWEST_MAX]; /* the most pending first */
	size_t nslowest;
	struct stats_conn *conns; /* owned here, reused */
	size_t nconns;
	size_t cap;
};

/* Entries of an I/O thread's cache of connections delivered to (a power
 * of two). */
#define IOTHR_CONN_CACHE 8u

/* Where the merge stands in one shard's result stream. */
struct iothr_cursor {
	struct dbatch *db; /* popped, being read; NULL: pop the next */
	uint32_t pos;
};

struct iothr {
	struct server *srv;
	int index;
	pthread_t tid;
	int listen_fd;
	struct io_loop *loop;
	struct wake wake;
	struct ring in;        /* dbatches other I/O threads forward here */
	uint64_t last_ws_tick; /* handshake timeouts were checked (router/wsconn.c) */
	uint8_t *ws_buf; /* WebSocket payload decoded for the parser (router/wsconn.c), or NULL */
	/* out to the shards */
	struct mbatch **open;         /* open batch per shard */
	struct mbatch **pending_head; /* batches a full shard ring refused, per shard */
	struct mbatch **pending_tail;
	uint32_t *open_entries; /* entries added per shard this iteration */
	/* the current run (router/rlog.h): its batch and last entry */
	struct mbatch *run_batch;
	uint32_t run_last;
	struct rlog log;
	struct iothr_cursor *cursor; /* per shard */
	/* forwarding to other I/O threads: open dbatch and the ones a full
	 * ring refused, per destination (our own are handled at the end of the
	 * poll) */
	struct dbatch **fwd_open;
	struct dbatch **fwd_head;
	struct dbatch **fwd_tail;
	/* the connections last delivered to, by the low bits of their ids
	 * (valid during one poll: a closed connection's memory is freed at the
	 * end of the loop's iteration). Several: a fan-out's deliveries take
	 * its subscribers in turn, which a single entry always missed. */
	struct iothr_conn_cache {
		uint64_t id;
		struct io_conn *c;
	} conn_cache[IOTHR_CONN_CACHE];
	/* admission */
	struct client **paused; /* clients whose reads admission paused */
	uint32_t npaused;
	uint32_t paused_cap;
	struct client **holders; /* subscribers holding publishers back (defer) */
	uint32_t nholders;
	uint32_t holders_cap;
	struct client_grave *graves; /* closed connections' subscriptions left to free */
	/* request-aware queue groups (router/client_inflight.c): members of
	 * this thread with requests in flight, and the batch each shard was
	 * last kicked in (one kick per batch) */
	struct client **members;
	uint32_t nmembers;
	uint32_t members_cap;
	struct mbatch **kicked;
	struct stats_req stats_req;
	/* routes (router/route_link.c): this thread's route connections, the
	 * RMSG whose queue groups are being gathered, the client INFO
	 * generation its clients were told */
	struct client **routes;
	uint32_t nroutes;
	uint32_t routes_cap;
	struct route_pend {
		struct client *cl; /* NULL: none */
		const struct mbatch *b;
		const struct mentry *e;
		uint32_t n;
		uint32_t left;
		uint16_t dflags; /* the first delivery's flags */
		uint32_t ids[32];
	} rpend;
	uint64_t info_gen_seen;
	/* counters of this thread's connections (owner: this thread) */
	uint64_t total_connections;
	uint64_t in_msgs;
	uint64_t out_msgs;
	uint64_t in_bytes;
	uint64_t out_bytes;
	uint64_t slow_consumers;
	uint64_t perm_violations; /* -ERR 'Permissions Violation ...' sent by its clients */
	uint32_t clients_high; /* most connections open (all threads) since the last trim request */
	struct log_ratelimit adm_log;
	struct log_ratelimit client_log; /* what a client can provoke */
	uint64_t last_slow_tick;         /* the per-connection checks of client_on_tick */
	uint64_t last_trim;              /* idle output given back over the process mark */
	int phase_seen;                  /* the server phase this thread acted on */
	atomic_uint conns_open;          /* published each poll, for the graceful stop */
	atomic_bool busy;                /* work left at the end of the last poll */
	/* Reloads (router/server_gen.c): the generation count this thread saw at
	 * its last quiescent state (release; the main thread reads it), and the
	 * admission state its connections point into. */
	atomic_uint_fast64_t qs_seq;
	uint64_t qs_local;
	struct admission *adm_bound;
	const struct live *live_bound; /* the settings its clients' permissions came from */
	/* Lame duck mode: @ldm_ready once this thread stopped accepting; its
	 * clients are told once every thread is (srv->ldm_tell; @ldm_told); the
	 * main thread adds to @ldm_close the clients to close now. */
	atomic_bool ldm_ready;
	bool ldm_told;
	atomic_uint ldm_close;
	bool closed_told; /* closing: the main thread was told this thread has none left */
	int start_ret;
	bool ready; /* under srv->life_lock */
};

/* Sets up @t (caller storage, zeroed) for a server of @nshards shards and
 * @nio I/O threads. Returns 0 or -ENOMEM; iothr_fini() undoes a partial one. */
RB_MUST_CHECK int iothr_init(struct iothr *t, struct server *s, int index, int nshards, int nio);
void iothr_fini(struct iothr *t);

/* Appends an entry of @bytes for @shard, from connection @conn, to this
 * thread's open batch for the shard, starting a run in the route log when
 * the previous entry went elsewhere. NULL when out of memory (nothing was
 * added). With @lend (not MBATCH_LEND_NONE) the batch it lands in has room
 * to hold receive buffer @lend (mbatch_lend()). */
struct mentry *iothr_add_lent(struct iothr *t, uint32_t shard, enum mentry_kind kind, size_t bytes,
                              uint64_t conn, uint32_t lend);
static inline struct mentry *iothr_add(struct iothr *t, uint32_t shard, enum mentry_kind kind,
                                       size_t bytes, uint64_t conn)
{
	return iothr_add_lent(t, shard, kind, bytes, conn, MBATCH_LEND_NONE);
}

/* Appends a mark for connection @conn with wait number @aux to the route
 * log: client_mark_reached() is called when everything sent before it has
 * its results. Returns 1 when queued, 0 when nothing is outstanding (the
 * caller may act at once), -ENOMEM. */
int iothr_mark(struct iothr *t, uint64_t conn, uint32_t aux);

/* Sends @d to the I/O thread that owns d->conn (this one included: then it
 * is handled at the end of the poll, never from inside the caller). */
void iothr_forward(struct iothr *t, const struct delivery *d);

/* Queues @b for @shard (ring, or the ordered pending list when full) and
 * accounts it in the shard's admission measure. */
void iothr_push(struct iothr *t, uint32_t shard, struct mbatch *b);

/* Publishes @payload on @subject from the server itself (advisories). */
void iothr_publish_system(struct iothr *t, const char *subject, const char *payload, size_t len);

/* Statistics request answered by the I/O thread (router/stats.c asks). */
void iothr_answer_stats(struct iothr *t);

/* The io_ops poll and has_work of the thread (ctx: struct iothr). */
bool iothr_poll(void *ctx);
bool iothr_has_work(void *ctx);

/* The io_ops of an I/O thread (the client protocol and the poll); ctx is
 * its struct iothr. */
extern const struct io_ops iothr_io_ops;

/* Queues @db behind what waits for I/O thread @io (router/iothr_out.c). */
void iothr_fwd_queue(struct iothr *t, int io, struct dbatch *db);

/* Merges the shards' results that are ready, in order (router/iothr_order.c).
 * Returns true when it did something. */
bool iothr_merge(struct iothr *t);
/* True when the merge can make progress now. */
bool iothr_merge_ready(struct iothr *t);
/* Pushes forwarded deliveries to their threads and handles our own. */
bool iothr_flush_forward(struct iothr *t);
/* Ends the current run (before its batch is pushed, or a mark). */
void iothr_end_run(struct iothr *t);

/* Thread body: runs @arg (a struct iothr) until the server stops. */
void *iothr_main(void *arg);

#endif /* ROUTER_IOTHR_H */
