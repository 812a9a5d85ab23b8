/* The one wrapper around Concurrency Kit's ck_ring. Every ring of ringbus
 * carries pointers (to batches) and goes through here; the names keep ck's
 * concurrency contract (_mpmc, _mpsc, _spsc) so a call site states who may
 * call it. Capacity is a power of two minus one.
 *
 * ck_ring's x86 fences are inline assembly that ThreadSanitizer cannot see.
 * Under TSan the wrapper tells it what ck_ring guarantees instead: accesses
 * inside the ck call itself (slots and indices, ordered by ck's own fences)
 * are ignored, each push releases the ring object before it enqueues and
 * each successful pop acquires it after, so everything written before a push
 * happens-before everything after the pop of it. Races in the caller's data
 * are still reported. */
#ifndef CORE_RING_H
#define CORE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <ck_ring.h>

#include "core/compiler.h"

#if defined(__SANITIZE_THREAD__)
#define RING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RING_TSAN 1
#endif
#endif

#ifdef RING_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#define RING_TSAN_RELEASE(r) __tsan_release(r)
#define RING_TSAN_ACQUIRE(r) __tsan_acquire(r)
#define RING_TSAN_IGNORE()   __tsan_ignore_thread_begin()
#define RING_TSAN_UNIGNORE() __tsan_ignore_thread_end()
#else
#define RING_TSAN_RELEASE(r) ((void)(r))
#define RING_TSAN_ACQUIRE(r) ((void)(r))
#define RING_TSAN_IGNORE()   ((void)0)
#define RING_TSAN_UNIGNORE() ((void)0)
#endif

/* A bounded ring of pointers. Producers and consumers as the function names
 * say; the struct itself is shared (atomics inside ck_ring). */
struct ring {
	ck_ring_t ck RB_ALIGNED_CACHE;
	ck_ring_buffer_t *slots;
	uint32_t size;
};

/* Initialises @r with room for @size - 1 pointers; @size is rounded up to a
 * power of two (at least 4). Returns 0 or -ENOMEM. */
RB_MUST_CHECK int ring_init(struct ring *r, uint32_t size);
/* Frees the slots; the ring must be empty or its contents owned elsewhere. */
void ring_fini(struct ring *r);

/* Approximate number of queued pointers (exact when no one is pushing or popping). */
static inline uint32_t ring_count(struct ring *r)
{
	RING_TSAN_IGNORE();
	uint32_t n = ck_ring_size(&r->ck);
	RING_TSAN_UNIGNORE();
	return n;
}

static inline uint32_t ring_capacity(struct ring *r)
{
	return ck_ring_capacity(&r->ck);
}

/* Any number of producers and consumers. Push returns false when full; the
 * pointer then still belongs to the caller. On success it belongs to
 * whoever pops it. */
static inline bool ring_push_mpmc(struct ring *r, void *p)
{
	RING_TSAN_RELEASE(r);
	RING_TSAN_IGNORE();
	bool ok = ck_ring_enqueue_mpmc(&r->ck, r->slots, p);
	RING_TSAN_UNIGNORE();
	return ok;
}

static inline bool ring_pop_mpmc(struct ring *r, void **p)
{
	RING_TSAN_IGNORE();
	bool ok = ck_ring_dequeue_mpmc(&r->ck, r->slots, p);
	RING_TSAN_UNIGNORE();
	if (ok)
		RING_TSAN_ACQUIRE(r);
	return ok;
}

/* Many producers, one consumer at a time. */
static inline bool ring_push_mpsc(struct ring *r, void *p)
{
	RING_TSAN_RELEASE(r);
	RING_TSAN_IGNORE();
	bool ok = ck_ring_enqueue_mpsc(&r->ck, r->slots, p);
	RING_TSAN_UNIGNORE();
	return ok;
}

static inline bool ring_pop_mpsc(struct ring *r, void **p)
{
	RING_TSAN_IGNORE();
	bool ok = ck_ring_dequeue_mpsc(&r->ck, r->slots, p);
	RING_TSAN_UNIGNORE();
	if (ok)
		RING_TSAN_ACQUIRE(r);
	return ok;
}

/* One producer and one consumer. */
static inline bool ring_push_spsc(struct ring *r, void *p)
{
	RING_TSAN_RELEASE(r);
	RING_TSAN_IGNORE();
	bool ok = ck_ring_enqueue_spsc(&r->ck, r->slots, p);
	RING_TSAN_UNIGNORE();
	return ok;
}

static inline bool ring_pop_spsc(struct ring *r, void **p)
{
	RING_TSAN_IGNORE();
	bool ok = ck_ring_dequeue_spsc(&r->ck, r->slots, p);
	RING_TSAN_UNIGNORE();
	if (ok)
		RING_TSAN_ACQUIRE(r);
	return ok;
}

#endif /* CORE_RING_H */
