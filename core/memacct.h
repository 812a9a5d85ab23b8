/* One count of the bytes the process holds for messages on their way
 * through: batches crossing threads, every connection's output buffers, input
 * stashed while a connection is paused, TLS relay buffers. The process
 * admission mark compares against all but the stashes (memacct_marked()), so
 * a client that stops reading cannot grow memory past the mark unseen. A
 * stash is input already read that only resuming its connection can free:
 * counted in the mark, it would hold its own connection paused for good
 * once it alone passed the mark. What bounds it is what a connection can
 * read before its pause lands: the provided buffers a multishot receive
 * fills until the loop's cancel reaches the kernel (docs/PERFORMANCE.md).
 *
 * Relaxed atomics: changed when a buffer is allocated, grown or freed (not per
 * message), read by the I/O threads' admission checks and by monitoring.
 * Counted by kind so monitoring can say where the bytes are. */
#ifndef CORE_MEMACCT_H
#define CORE_MEMACCT_H

#include <stdatomic.h>
#include <stdint.h>

enum memacct_kind {
	MEMACCT_BATCH = 0, /* message batches and delivery batches */
	MEMACCT_OUTPUT,    /* connections' output buffers */
	MEMACCT_STASH,     /* input kept while reads are paused */
	MEMACCT_TLS,       /* TLS relay buffers */
	MEMACCT_KINDS,
};

extern atomic_int_fast64_t memacct_bytes[MEMACCT_KINDS];

/* Adds @n bytes (negative: gives them back) to @kind. */
static inline void memacct_add(enum memacct_kind kind, int64_t n)
{
	atomic_fetch_add_explicit(&memacct_bytes[kind], n, memory_order_relaxed);
}

static inline uint64_t memacct_get(enum memacct_kind kind)
{
	int64_t v = atomic_load_explicit(&memacct_bytes[kind], memory_order_relaxed);
	return v > 0 ? (uint64_t)v : 0;
}

/* What the process mark compares against: every kind but the stashes. */
static inline uint64_t memacct_marked(void)
{
	int64_t t = 0;
	for (int k = 0; k < MEMACCT_KINDS; k++)
		if (k != MEMACCT_STASH)
			t += atomic_load_explicit(&memacct_bytes[k], memory_order_relaxed);
	return t > 0 ? (uint64_t)t : 0;
}

#endif /* CORE_MEMACCT_H */
