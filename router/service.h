/* Services: queue groups seen as request/reply services. A queue
 * subscription is a member of the service (its subject, its queue name);
 * each member has a count of requests in flight, kept in a slot of a
 * process-wide table:
 *
 * - the shard that picks a member for a request takes one (svc_take(), a
 *   compare-and-swap that refuses a member at its service's limit);
 * - the member's I/O thread gives it back when the member publishes to the
 *   request's reply subject, or when the request expires (svc_done());
 * - the member's I/O thread frees the slot when the subscription goes
 *   (svc_leave()): the slot's generation moves on, so a shard or a delivery
 *   still holding the old reference sees a member that is gone.
 *
 * A reference is (slot << 32 | generation); 0 means "not tracked". No lock
 * and no allocation per request: a slot is one 64-bit word, (generation <<
 * 32 | count), changed by compare-and-swap. Joining and leaving take the
 * table's lock (a SUB, not a message).
 *
 * Each service keeps its counters and a latency histogram (relaxed atomics,
 * written by any thread, read by monitoring): /servicez and /metrics. */
#ifndef ROUTER_SERVICE_H
#define ROUTER_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

#define SVC_MAX      4096u /* services; members of more share the last one */
#define SVC_CHUNK    1024u /* slots per chunk */
#define SVC_CHUNKS   4096u /* so at most 4M members */
#define SVC_NAME_MAX 128u
#define SVC_BUCKETS  14u /* latency bounds; one more bucket above the last */

/* Upper bounds of the latency buckets, in microseconds. */
extern const uint32_t svc_bucket_us[SVC_BUCKETS];

/* One service. Counters: relaxed atomics, any thread. */
struct svc {
	char name[SVC_NAME_MAX]; /* "<subject> <queue>" */
	uint32_t id;
	_Atomic uint32_t limit;       /* max_inflight per member (0: none) */
	atomic_uint_fast64_t wait_ns; /* how long a request may wait for a member */
	atomic_uint members;
	atomic_uint_fast64_t requests; /* requests handed to members (tracked) */
	atomic_uint_fast64_t replies;
	atomic_uint_fast64_t busy;        /* answered busy: every member full */
	atomic_uint_fast64_t expired;     /* no reply within the expiry */
	atomic_uint_fast64_t abandoned;   /* in flight when their member left */
	atomic_uint_fast64_t queued;      /* requests that waited at the router */
	atomic_uint_fast64_t over;        /* sent over the limit (the requester takes no status) */
	atomic_int_fast64_t outstanding;  /* in flight now */
	atomic_int_fast64_t waiting;      /* waiting at the router now */
	atomic_uint_fast64_t lat_ewma_ns; /* recent reply latency (1/16 weight) */
	atomic_uint_fast64_t lat_sum_us;
	atomic_uint_fast64_t lat_bucket[SVC_BUCKETS + 1];
};

/* One member: (generation << 32 | requests in flight), and its service. */
struct svc_slot {
	atomic_uint_fast64_t word;
	uint32_t svc; /* set before the reference is handed out */
};

/* Owner: the server; any thread calls the functions below. */
struct svc_table {
	pthread_mutex_t lock; /* joins and leaves */
	struct svc *_Atomic svcs[SVC_MAX];
	_Atomic uint32_t nsvcs;
	struct svc_slot *_Atomic chunks[SVC_CHUNKS];
	uint32_t nslots; /* slots handed out so far (under lock) */
	uint32_t *free;  /* freed slots (under lock) */
	uint32_t nfree;
	uint32_t free_cap;
	/* Request-aware queue groups on (least busy pick, limits, waits) or
	 * off (round robin as nats-server, nothing tracked). Set at start and
	 * by reloads; read by the shards. */
	atomic_bool aware;
	atomic_uint_fast64_t expiry_ns; /* a request without a reply this long expired */
};

RB_MUST_CHECK int svc_table_new(struct svc_table **out);
void svc_table_free(struct svc_table *t);

/* A member of the service (@subject, @queue) with its policy's @limit and
 * @wait_ns (both updated for the whole service). Returns its reference, or
 * 0 when out of memory (the member is then not tracked). */
uint64_t svc_join(struct svc_table *t, const char *subject, size_t subject_len, const char *queue,
                  size_t queue_len, uint32_t limit, uint64_t wait_ns);
/* The member @ref is gone: its requests in flight no longer count. */
void svc_leave(struct svc_table *t, uint64_t ref);

static inline struct svc_slot *svc_slot_of(const struct svc_table *t, uint64_t ref)
{
	uint32_t slot = (uint32_t)(ref >> 32) - 1;
	struct svc_slot *c = atomic_load_explicit(
	    &((struct svc_table *)t)->chunks[slot / SVC_CHUNK], memory_order_acquire);
	return &c[slot % SVC_CHUNK];
}

static inline struct svc *svc_of(const struct svc_table *t, uint64_t ref)
{
	return atomic_load_explicit(&((struct svc_table *)t)->svcs[svc_slot_of(t, ref)->svc],
	                            memory_order_acquire);
}

#define SVC_GONE UINT32_MAX

/* Requests in flight at member @ref, or SVC_GONE once it left. */
static inline uint32_t svc_load(const struct svc_table *t, uint64_t ref)
{
	uint64_t w = atomic_load_explicit(&svc_slot_of(t, ref)->word, memory_order_relaxed);
	if ((uint32_t)(w >> 32) != (uint32_t)ref)
		return SVC_GONE;
	return (uint32_t)w;
}

/* Takes one request for member @ref: true unless it left or (without
 * @force) it is at @limit (0: none). With @force, a take at the limit is
 * counted as over it. */
bool svc_take(struct svc_table *t, uint64_t ref, uint32_t limit, bool force);
/* Gives back a request of member @ref: replied (@latency_ns recorded) or
 * not (expired, or never delivered: @expired says which to count). */
void svc_done(struct svc_table *t, uint64_t ref, bool replied, uint64_t latency_ns, bool expired);

/* Copies of the services' counters for monitoring (caller frees). */
struct svc_view {
	char name[SVC_NAME_MAX];
	uint32_t members;
	uint32_t limit;
	uint64_t requests, replies, busy, expired, abandoned, queued, over;
	int64_t outstanding, waiting;
	uint64_t lat_sum_us;
	uint64_t lat_bucket[SVC_BUCKETS + 1];
	double p50_ms, p90_ms, p99_ms; /* from the buckets; 0 without replies */
};
RB_MUST_CHECK int svc_snapshot(struct svc_table *t, struct svc_view **out, size_t *n);

/* Sets every service's limit and wait with @policy_of (a reload). */
void svc_relimit(struct svc_table *t,
                 void (*policy_of)(void *ctx, const char *subject, size_t len, uint32_t *limit,
                                   uint64_t *wait_ns),
                 void *ctx);

#endif /* ROUTER_SERVICE_H */
