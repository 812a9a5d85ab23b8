/* Services: the members' counts of requests in flight and each service's
 * counters (see router/service.h). */
#include "router/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint32_t svc_bucket_us[SVC_BUCKETS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

int svc_table_new(struct svc_table **out)
{
	struct svc_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void svc_table_free(struct svc_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < SVC_MAX; i++)
		free(atomic_load(&t->svcs[i]));
	for (uint32_t i = 0; i < SVC_CHUNKS; i++)
		free(atomic_load(&t->chunks[i]));
	free(t->free);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The service named @name, made on first use; the last one when the table
 * is full. Under the lock. */
static struct svc *svc_find_or_add(struct svc_table *t, const char *name)
{
	uint32_t n = atomic_load_explicit(&t->nsvcs, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++) {
		struct svc *s = atomic_load_explicit(&t->svcs[i], memory_order_relaxed);
		if (!strcmp(s->name, name))
			return s;
	}
	if (n == SVC_MAX)
		return atomic_load_explicit(&t->svcs[n - 1], memory_order_relaxed);
	struct svc *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->id = n;
	/* release: monitoring and shards read the service through the index */
	atomic_store_explicit(&t->svcs[n], s, memory_order_release);
	atomic_store_explicit(&t->nsvcs, n + 1, memory_order_release);
	return s;
}

/* A free slot number (from 0), or UINT32_MAX. Under the lock. */
static uint32_t svc_slot_alloc(struct svc_table *t)
{
	if (t->nfree)
		return t->free[--t->nfree];
	uint32_t slot = t->nslots;
	if (slot == SVC_CHUNK * SVC_CHUNKS)
		return UINT32_MAX;
	if (slot % SVC_CHUNK == 0) {
		struct svc_slot *c = calloc(SVC_CHUNK, sizeof(*c));
		if (!c)
			return UINT32_MAX;
		for (uint32_t i = 0; i < SVC_CHUNK; i++)
			atomic_init(&c[i].word, 1ull << 32); /* generation 1: refs are never 0 */
		atomic_store_explicit(&t->chunks[slot / SVC_CHUNK], c, memory_order_release);
	}
	t->nslots++;
	return slot;
}

uint64_t svc_join(struct svc_table *t, const char *subject, size_t subject_len, const char *queue,
                  size_t queue_len, uint32_t limit, uint64_t wait_ns)
{
	char name[SVC_NAME_MAX];
	snprintf(name, sizeof(name), "%.*s %.*s", (int)subject_len, subject, (int)queue_len, queue);
	pthread_mutex_lock(&t->lock);
	struct svc *s = svc_find_or_add(t, name);
	uint32_t slot = s ? svc_slot_alloc(t) : UINT32_MAX;
	uint64_t ref = 0;
	if (slot != UINT32_MAX) {
		struct svc_slot *sl = &atomic_load_explicit(&t->chunks[slot / SVC_CHUNK],
		                                            memory_order_relaxed)[slot % SVC_CHUNK];
		sl->svc = s->id;
		uint64_t gen = atomic_load_explicit(&sl->word, memory_order_relaxed) >> 32;
		ref = (uint64_t)(slot + 1) << 32 | gen;
		atomic_store_explicit(&s->limit, limit, memory_order_relaxed);
		atomic_store_explicit(&s->wait_ns, wait_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->members, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->lock);
	return ref;
}

void svc_leave(struct svc_table *t, uint64_t ref)
{
	if (!ref)
		return;
	struct svc_slot *sl = svc_slot_of(t, ref);
	uint64_t w = atomic_load_explicit(&sl->word, memory_order_relaxed);
	uint64_t next;
	do {
		if ((uint32_t)(w >> 32) != (uint32_t)ref)
			return; /* left already */
		uint32_t gen = (uint32_t)ref + 1;
		next = (uint64_t)(gen ? gen : 1) << 32; /* a reference is never 0 */
	} while (!atomic_compare_exchange_weak_explicit(&sl->word, &w, next, memory_order_relaxed,
	                                                memory_order_relaxed));
	struct svc *s = svc_of(t, ref);
	atomic_fetch_sub_explicit(&s->outstanding, (int64_t)(uint32_t)w, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->abandoned, (uint32_t)w, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->members, 1, memory_order_relaxed);
	pthread_mutex_lock(&t->lock);
	if (t->nfree == t->free_cap) {
		uint32_t cap = t->free_cap ? t->free_cap * 2 : 64;
		uint32_t *f = realloc(t->free, cap * sizeof(*f));
		if (f) {
			t->free = f;
			t->free_cap = cap;
		}
	}
	if (t->nfree < t->free_cap) /* else the slot is lost: no harm but its memory */
		t->free[t->nfree++] = (uint32_t)(ref >> 32) - 1;
	pthread_mutex_unlock(&t->lock);
}

bool svc_take(struct svc_table *t, uint64_t ref, uint32_t limit, bool force)
{
	struct svc_slot *sl = svc_slot_of(t, ref);
	uint64_t w = atomic_load_explicit(&sl->word, memory_order_relaxed);
	do {
		if ((uint32_t)(w >> 32) != (uint32_t)ref)
			return false;
		if (!force && limit && (uint32_t)w >= limit)
			return false;
		if ((uint32_t)w == UINT32_MAX - 1)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&sl->word, &w, w + 1, memory_order_relaxed,
	                                                memory_order_relaxed));
	struct svc *s = svc_of(t, ref);
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->outstanding, 1, memory_order_relaxed);
	if (limit && (uint32_t)w >= limit)
		atomic_fetch_add_explicit(&s->over, 1, memory_order_relaxed);
	return true;
}

static void svc_record(struct svc *s, uint64_t latency_ns)
{
	uint64_t us = latency_ns / 1000;
	uint32_t b = 0;
	while (b < SVC_BUCKETS && us > svc_bucket_us[b])
		b++;
	atomic_fetch_add_explicit(&s->lat_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_sum_us, us, memory_order_relaxed);
	/* a moving average; racing writers may lose an update, which only
	 * makes it a little less recent */
	uint64_t e = atomic_load_explicit(&s->lat_ewma_ns, memory_order_relaxed);
	e = e ? e - e / 16 + latency_ns / 16 : latency_ns;
	atomic_store_explicit(&s->lat_ewma_ns, e, memory_order_relaxed);
}

void svc_done(struct svc_table *t, uint64_t ref, bool replied, uint64_t latency_ns, bool expired)
{
	struct svc_slot *sl = svc_slot_of(t, ref);
	uint64_t w = atomic_load_explicit(&sl->word, memory_order_relaxed);
	do {
		if ((uint32_t)(w >> 32) != (uint32_t)ref || (uint32_t)w == 0)
			return; /* the member left: its count went with it */
	} while (!atomic_compare_exchange_weak_explicit(&sl->word, &w, w - 1, memory_order_relaxed,
	                                                memory_order_relaxed));
	struct svc *s = svc_of(t, ref);
	atomic_fetch_sub_explicit(&s->outstanding, 1, memory_order_relaxed);
	if (replied) {
		atomic_fetch_add_explicit(&s->replies, 1, memory_order_relaxed);
		svc_record(s, latency_ns);
	} else if (expired) {
		atomic_fetch_add_explicit(&s->expired, 1, memory_order_relaxed);
	}
}

/* The latency (ms) below which @q of the replies fall, interpolated in its
 * bucket as Prometheus's histogram_quantile does. */
static double svc_quantile(const struct svc_view *v, double q)
{
	uint64_t total = 0;
	for (uint32_t b = 0; b <= SVC_BUCKETS; b++)
		total += v->lat_bucket[b];
	if (!total)
		return 0;
	double rank = q * (double)total, seen = 0;
	for (uint32_t b = 0; b <= SVC_BUCKETS; b++) {
		double c = (double)v->lat_bucket[b];
		if (seen + c >= rank && c > 0) {
			double lo = b ? svc_bucket_us[b - 1] : 0;
			double hi =
			    b < SVC_BUCKETS ? svc_bucket_us[b] : svc_bucket_us[SVC_BUCKETS - 1];
			return (lo + (hi - lo) * (rank - seen) / c) / 1000.0;
		}
		seen += c;
	}
	return svc_bucket_us[SVC_BUCKETS - 1] / 1000.0;
}

int svc_snapshot(struct svc_table *t, struct svc_view **out, size_t *n)
{
	uint32_t count = atomic_load_explicit(&t->nsvcs, memory_order_acquire);
	struct svc_view *v = calloc(count ? count : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		const struct svc *s = atomic_load_explicit(&t->svcs[i], memory_order_acquire);
		struct svc_view *o = &v[i];
		memcpy(o->name, s->name, sizeof(o->name));
		o->members = atomic_load_explicit(&s->members, memory_order_relaxed);
		o->limit = atomic_load_explicit(&s->limit, memory_order_relaxed);
		o->requests = atomic_load_explicit(&s->requests, memory_order_relaxed);
		o->replies = atomic_load_explicit(&s->replies, memory_order_relaxed);
		o->busy = atomic_load_explicit(&s->busy, memory_order_relaxed);
		o->expired = atomic_load_explicit(&s->expired, memory_order_relaxed);
		o->abandoned = atomic_load_explicit(&s->abandoned, memory_order_relaxed);
		o->queued = atomic_load_explicit(&s->queued, memory_order_relaxed);
		o->over = atomic_load_explicit(&s->over, memory_order_relaxed);
		o->outstanding = atomic_load_explicit(&s->outstanding, memory_order_relaxed);
		o->waiting = atomic_load_explicit(&s->waiting, memory_order_relaxed);
		o->lat_sum_us = atomic_load_explicit(&s->lat_sum_us, memory_order_relaxed);
		for (uint32_t b = 0; b <= SVC_BUCKETS; b++)
			o->lat_bucket[b] =
			    atomic_load_explicit(&s->lat_bucket[b], memory_order_relaxed);
		o->p50_ms = svc_quantile(o, 0.50);
		o->p90_ms = svc_quantile(o, 0.90);
		o->p99_ms = svc_quantile(o, 0.99);
	}
	*out = v;
	*n = count;
	return 0;
}

void svc_relimit(struct svc_table *t,
                 void (*policy_of)(void *ctx, const char *subject, size_t len, uint32_t *limit,
                                   uint64_t *wait_ns),
                 void *ctx)
{
	uint32_t count = atomic_load_explicit(&t->nsvcs, memory_order_acquire);
	for (uint32_t i = 0; i < count; i++) {
		struct svc *s = atomic_load_explicit(&t->svcs[i], memory_order_acquire);
		const char *sp = strchr(s->name, ' ');
		size_t len = sp ? (size_t)(sp - s->name) : strlen(s->name);
		uint32_t limit;
		uint64_t wait_ns;
		policy_of(ctx, s->name, len, &limit, &wait_ns);
		atomic_store_explicit(&s->limit, limit, memory_order_relaxed);
		atomic_store_explicit(&s->wait_ns, wait_ns, memory_order_relaxed);
	}
}
