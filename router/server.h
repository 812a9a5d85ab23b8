/* The ringbus server: I/O threads (io/loop), workers that own shards, the
 * rings between them, and start/stop. The structs here are shared by the
 * router's files (client.c, shard.c, server.c); each says who owns it. */
#ifndef ROUTER_SERVER_H
#define ROUTER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/ring.h"
#include "core/wake.h"
#include "router/batch.h"
#include "core/log.h"
#include "router/config.h"
#include "router/stats.h"

struct server;
struct sublist;
struct shard_dying;
struct client_grave;
struct io_loop;
struct client;
struct admission;
struct monitor;
struct tls_service;
struct auth;

/* Where a shard's results go: one open dbatch per destination I/O thread,
 * plus those that did not fit in a full ring yet (kept in order).
 * Owner: the thread running shards (a worker, or an I/O thread inline). */
struct runner {
	struct server *srv;
	int self_io; /* index of the I/O thread that is this runner, or -1 */
	struct dbatch *open[CONFIG_MAX_THREADS];
	struct dbatch *pending_head[CONFIG_MAX_THREADS];
	struct dbatch *pending_tail[CONFIG_MAX_THREADS];
};

/* A part of the subscription space. The index and counters are touched only
 * by the thread holding @claimed; @in is MPMC (producers: I/O threads,
 * consumers: whoever claims). */
/* Counters of a shard: written by the claim holder once per batch (relaxed
 * load + store: one writer at a time, ordered by the claim), read by
 * monitoring. */
struct shard_counters {
	atomic_uint_fast64_t msgs;
	atomic_uint_fast64_t deliveries;
	atomic_uint_fast64_t batches;
	atomic_uint_fast64_t inline_runs;
	atomic_uint_fast64_t busy_ns;
	atomic_uint_fast64_t subs;
	atomic_uint_fast64_t inserts;
	atomic_uint_fast64_t removes;
	atomic_uint_fast64_t matches;
	atomic_uint_fast64_t cache_hits;
	atomic_uint_fast64_t cache_entries;
};

struct shard {
	struct ring in;
	atomic_int claimed RB_ALIGNED_CACHE;
	int index;
	struct worker *owner;
	struct sublist *subs;
	struct shard_counters st;
	/* Connections closed with more subscriptions than one run removes: the
	 * rest go a slice per run, so that routing never stops for long. Owned
	 * by the claim holder; @ndying is also read by a worker looking for
	 * work (shard_has_work()). */
	struct shard_dying *dying;
	uint32_t dying_cap;
	atomic_uint ndying;
	/* Admission: what is queued to the shard (producers add when they
	 * push, the runner subtracts when it pops) and whether it is above its
	 * high mark (set by a producer at the high mark, cleared by the runner
	 * at the low mark). */
	atomic_uint_fast64_t q_bytes RB_ALIGNED_CACHE;
	atomic_uint_fast64_t q_msgs;
	atomic_bool over;
	atomic_uint_fast64_t adm_deferred;
	atomic_uint_fast64_t adm_dropped;
	atomic_uint_fast64_t adm_crossings;
};

/* A monitoring request to an I/O thread (see router/stats.c): the collector
 * fills the inputs under @lock and sets @pending; the I/O thread answers at its
 * next iteration. */
struct stats_req {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pending;
	bool want_conns;
	bool done;
	struct stats_io io;
	struct stats_conn *conns; /* owned here, reused */
	size_t nconns;
	size_t cap;
};

/* Owner: its own thread (the wake is shared). */
struct worker {
	struct server *srv;
	int index;
	pthread_t tid;
	struct wake wake;
	struct runner run;
	int nshards;
	struct shard **shards;
	uint64_t sleeps;
};

/* One I/O thread. Owner: that thread, except @in (MPSC: runners push) and
 * @wake (shared). */
struct iothr {
	struct server *srv;
	int index;
	pthread_t tid;
	int listen_fd;
	struct io_loop *loop;
	struct wake wake;
	struct ring in;
	struct runner run;
	struct mbatch **open;         /* open batch per shard */
	struct mbatch **pending_head; /* batches a full shard ring refused, per shard */
	struct mbatch **pending_tail;
	uint32_t *open_entries; /* entries added per shard this iteration */
	struct client **paused; /* clients whose reads admission paused */
	uint32_t npaused;
	uint32_t paused_cap;
	struct client_grave *graves; /* closed connections' subscriptions left to free */
	struct stats_req stats_req;
	/* counters of this thread's connections (owner: this thread) */
	uint64_t total_connections;
	uint64_t in_msgs;
	uint64_t out_msgs;
	uint64_t in_bytes;
	uint64_t out_bytes;
	uint64_t slow_consumers;
	uint32_t clients_high; /* most connections open (all threads) since the last trim request */
	struct log_ratelimit adm_log;
	struct log_ratelimit client_log; /* what a client can provoke */
	int phase_seen;                  /* the server phase this thread acted on */
	atomic_uint conns_open;          /* published each poll, for the graceful stop */
	atomic_bool busy;                /* work left at the end of the last poll */
	int start_ret;
	atomic_bool ready;
};

struct server {
	struct config cfg;
	char server_id[32];
	char server_name[64];
	int nio;
	int nworkers;
	int nshards;
	struct iothr *io;
	struct worker *workers;
	struct shard *shards;
	atomic_bool stop;
	atomic_int phase;     /* enum server_phase: the graceful stop's steps */
	atomic_uint nclients; /* open client connections, all I/O threads */
	/* Many subscriptions were freed: malloc_trim() once this time (ns) has
	 * passed; 0 when none is wanted. See server_want_trim(). */
	atomic_uint_fast64_t trim_at_ns;
	/* What SIGHUP may replace: swapped whole (release), read by any thread
	 * (acquire, through the _Atomic pointer); the old ones stay allocated
	 * until exit because connections may still point into them. */
	struct admission *_Atomic adm;
	struct live *_Atomic live;
	struct admission *retired_adm[64];
	struct live *retired_live[64];
	int nretired;
	int argc; /* the command line, read again on reload */
	char **argv;
	atomic_bool proc_over; /* bytes held above the process high mark */
	uint64_t start_wall_ns;
	struct monitor *mon;
	struct tls_service *tls; /* NULL without TLS (router/tls_glue.c) */
};

/* Settings a reload may change, besides the admission policies. Immutable. */
struct live {
	struct auth *auth;
	uint32_t max_payload; /* for connections opened from now on */
	uint32_t max_connections;
	uint32_t max_subscriptions;
	uint32_t ping_interval_ms;
	uint32_t ping_max;
	uint32_t auth_timeout_ms;
	uint32_t inline_max;
};

static inline const struct live *server_live(struct server *s)
{
	return atomic_load_explicit(&s->live, memory_order_acquire);
}

/* A graceful stop: DRAINING stops accepting and reading while what was read
 * is routed and delivered; CLOSING closes every connection once its output
 * is sent. */
enum server_phase {
	SERVER_RUNNING = 0,
	SERVER_DRAINING,
	SERVER_CLOSING,
};

/* Creates the server from @cfg (taken: the server frees it) and opens the
 * listening sockets. Returns 0 and *@out, or -errno after logging why. */
RB_MUST_CHECK int server_new(struct config *cfg, struct server **out);

/* Remembers the command line (borrowed: it must outlive the server) so a
 * reload reads the file and the same flags again. */
void server_set_args(struct server *s, int argc, char **argv);

/* Starts the threads and blocks until SIGINT/SIGTERM or server_stop().
 * Returns 0 or -errno. */
int server_run(struct server *s);

void server_stop(struct server *s);
void server_free(struct server *s);

/* The shard that owns the literal subject @subj. */
uint32_t server_shard_of(const struct server *s, const char *subj, size_t len);

/* ---- shard.c ---- */

/* Takes the shard if nobody runs it. acquire: pairs with shard_release(). */
static inline bool shard_try_claim(struct shard *sh)
{
	int zero = 0;
	return atomic_compare_exchange_strong_explicit(&sh->claimed, &zero, 1, memory_order_acquire,
	                                               memory_order_relaxed);
}

/* Releases the shard; seq_cst so the release is ordered before the caller's
 * next look at the ring (see shard_release_and_check()). */
static inline void shard_release(struct shard *sh)
{
	atomic_store_explicit(&sh->claimed, 0, memory_order_seq_cst);
}

/* Asks the main thread to give freed memory back to the system (malloc keeps
 * it otherwise) a moment from now: requests that follow each other closely,
 * as every shard finishing its share of a large removal, make one trim. */
static inline void server_want_trim(struct server *s)
{
	atomic_store_explicit(&s->trim_at_ns, clock_now_ns() + 200u * 1000u * 1000u,
	                      memory_order_relaxed);
}

/* Processes up to @budget mbatches from the shard's ring, then a slice of the
 * subscriptions closed connections left (the caller holds the claim). Results
 * go to @r's open dbatches. Returns the batches processed plus the slices. */
unsigned shard_run(struct shard *sh, struct runner *r, unsigned budget);

/* True when @sh has queued batches or subscriptions of closed connections
 * left to remove. */
static inline bool shard_has_work(struct shard *sh)
{
	return ring_count(&sh->in) || atomic_load_explicit(&sh->ndying, memory_order_relaxed);
}

/* Releases the claim and, if work arrived meanwhile, wakes the owner. */
void shard_release_and_check(struct shard *sh);

/* Appends a delivery for the connection @d->conn to the runner's batch for its
 * I/O thread. */
void runner_emit(struct runner *r, const struct delivery *d);

/* Pushes every open dbatch to its I/O thread and wakes it; deliveries for the
 * runner's own I/O thread are handed over directly. Returns true when all
 * were pushed (false: some wait for room in a full ring). */
bool runner_flush(struct runner *r);

/* Worker thread body. */
void *worker_main(void *arg);

/* ---- client.c: the per-connection protocol on an I/O thread ---- */

/* A new connection id (any thread). */
uint64_t client_new_cid(void);

/* Writes the INFO line for a client with id @cid at @peer_ip (borrowed) into
 * @buf (@cap bytes); any thread. Returns its length, 0 when it does not fit. */
size_t client_info(struct server *s, uint64_t cid, const char *peer_ip, char *buf, size_t cap);

/* Processes a dbatch on its I/O thread (writes MSGs, PONGs, 503s) and frees it. */
void client_deliver(struct iothr *t, struct dbatch *db);

/* The io_ops of an I/O thread; ctx is its struct iothr. */
extern const struct io_ops client_io_ops;

#endif /* ROUTER_SERVER_H */
