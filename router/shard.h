/* A shard: one part of the subject space, with its part of the subscription
 * index. Whoever holds its claim (normally its worker; an I/O thread when it
 * routes inline) pops the mbatches I/O threads queued to it, applies them in
 * order and sends the results back to the I/O thread each batch came from,
 * through one result stream per I/O thread.
 *
 * Ownership:
 * - @in is MPMC (producers: I/O threads; consumer: the claim holder).
 * - The index, the counters' writes, the dying list and each stream's @open
 *   and pending list belong to the claim holder; claims are serialised by
 *   shard_try_claim() (acquire) and shard_release() (seq_cst), so one thread
 *   at a time acts as the single producer of every stream's ring.
 * - A stream's @ring is SPSC: the claim holder pushes, its I/O thread pops.
 * - The admission measure (q_bytes, q_msgs, over) is relaxed atomics.
 *
 * Order: an I/O thread's batches for a shard enter @in in order and are
 * applied in order, and each stream carries results in the order they were
 * made. The I/O thread merges its streams back into the order it sent its
 * entries (router/rlog.h), which is what keeps each publisher's messages in
 * order across shards. */
#ifndef ROUTER_SHARD_H
#define ROUTER_SHARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/ring.h"
#include "core/wake.h"
#include "router/batch.h"

struct sublist;
struct shard_dying;
struct shard_waits;
struct svc_table;

/* What a shard needs from the process around it; a test supplies its own.
 * Every callback may be called by any claim holder. */
struct shard_env {
	void *ctx;
	int nio; /* I/O threads: one result stream each */
	/* Results for I/O thread @io were pushed to its stream's ring. */
	void (*wake_io)(void *ctx, int io);
	/* The shard fell below its low marks: publishers paused for it may go on. */
	void (*marks_cleared)(void *ctx);
	/* Many subscriptions were freed: give memory back to the system soon. */
	void (*want_trim)(void *ctx);
	/* Many subscriptions are about to be freed, and then have been
	 * (router/server.h, server_freeing() and server_freed()); NULL: only
	 * want_trim once they have. */
	void (*freeing)(void *ctx);
	void (*freed)(void *ctx);
	/* The low marks of the admission state in force (bytes, messages). */
	void (*low_marks)(void *ctx, uint64_t *bytes, uint64_t *msgs);
	/* Queue members' requests in flight (router/service.h); NULL: none
	 * tracked, queue groups pick round robin. */
	struct svc_table *svc;
	/* Routes are configured: messages may go to them (router/shard_route.c). */
	bool cluster;
};

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
	atomic_uint_fast64_t dropped; /* deliveries lost for want of memory */
};

/* Results for one I/O thread. */
struct shard_stream {
	struct ring ring;         /* SPSC: claim holder -> the I/O thread */
	struct dbatch *open;      /* being filled (claim holder) */
	struct dbatch *pend_head; /* refused by a full ring, in order (claim holder) */
	struct dbatch *pend_tail;
	uint32_t run_records; /* results emitted since the current run began */
};

struct shard {
	struct ring in;
	atomic_int claimed RB_ALIGNED_CACHE;
	int index;
	struct wake *owner_wake; /* the worker that owns the shard */
	struct shard_env env;
	struct sublist *subs;
	uint64_t rng; /* xorshift state for weighted picks among routes (claim holder) */
	/* DELIVERY_F_SHARED while the message being applied has more than one
	 * delivery, else 0: in the flags of its deliveries (claim holder) */
	uint16_t share;
	struct shard_counters st;
	struct shard_stream *out; /* [env.nio] */
	/* dbatches waiting in pending lists: work for a claim holder even when
	 * @in is empty. Written by the claim holder, read by anyone looking for
	 * work. */
	atomic_uint npending;
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
	/* Requests waiting for a queue member with room (router/
	 * shard_request.c): owned by the claim holder; @waiting, their number,
	 * is read by I/O threads to know which shards to kick. */
	struct shard_waits *waits;
	atomic_uint waiting;
};

/* Sets up @sh (caller storage, zeroed) with an inbound ring of @ring_size
 * slots and one result stream per I/O thread of @stream_size slots.
 * Returns 0 or -ENOMEM (shard_fini() undoes a partial set-up). */
RB_MUST_CHECK int shard_init(struct shard *sh, int index, const struct shard_env *env,
                             struct wake *owner_wake, uint32_t ring_size, uint32_t stream_size);
/* Frees what the shard holds, queued batches and results included. */
void shard_fini(struct shard *sh);

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

/* True when @sh has queued batches, results waiting for ring room or
 * subscriptions of closed connections left to remove. */
static inline bool shard_has_work(struct shard *sh)
{
	return ring_count(&sh->in) || atomic_load_explicit(&sh->npending, memory_order_relaxed) ||
	       atomic_load_explicit(&sh->ndying, memory_order_relaxed);
}

/* Releases the claim and, if work arrived meanwhile, wakes the owner. */
void shard_release_and_check(struct shard *sh);

/* Applies up to @budget mbatches from the shard's ring, then a slice of the
 * subscriptions closed connections left, then pushes the results to the
 * streams (shard_flush()). The caller holds the claim. Returns the batches
 * applied plus the slices. */
unsigned shard_run(struct shard *sh, unsigned budget);

/* Pushes every stream's results to its ring (what does not fit waits in
 * order for the next call) and wakes the I/O threads concerned. The caller
 * holds the claim. Returns true when nothing is left waiting. */
bool shard_flush(struct shard *sh);

/* Consumer side, for I/O thread @io only: the next dbatch of its stream. */
static inline bool shard_pop_results(struct shard *sh, int io, struct dbatch **db)
{
	void *p;
	if (!ring_pop_spsc(&sh->out[io].ring, &p))
		return false;
	*db = p;
	return true;
}

/* True when I/O thread @io has results waiting in its stream's ring. */
static inline bool shard_results_ready(struct shard *sh, int io)
{
	return ring_count(&sh->out[io].ring) != 0;
}

#endif /* ROUTER_SHARD_H */
