/* Sleep and wake-up between a consumer and its producers, with no syscall
 * unless the consumer announced that it sleeps.
 *
 * Consumer: finds no work, spins briefly, then wake_prepare(); re-checks its
 * rings; if work appeared, wake_cancel(), else blocks (wake_wait(), or a read
 * of wake_fd() through its own io_uring) and calls wake_cancel() after.
 * Producer: pushes, then wake_notify(), which writes the eventfd only when the
 * consumer announced sleep (and only once per announcement).
 *
 * The sleeping flag and the ring form a Dekker pair: the consumer stores the
 * flag then loads the ring, the producer stores the ring then loads the flag,
 * each through a seq_cst read-modify-write (a full barrier, and unlike
 * atomic_thread_fence visible to ThreadSanitizer), so at least one of them
 * sees the other. */
#ifndef CORE_WAKE_H
#define CORE_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

/* Shared: the flag is atomic, the eventfd is written by producers and read by
 * the consumer only. */
struct wake {
	atomic_int sleeping RB_ALIGNED_CACHE;
	int efd;
	atomic_uint_fast64_t notifies; /* eventfd writes made (statistics) */
};

/* Creates the eventfd (non-blocking when @nonblock). Returns 0 or -errno. */
RB_MUST_CHECK int wake_init(struct wake *w, bool nonblock);
void wake_fini(struct wake *w);

/* Consumer: announce sleep. seq_cst exchange: pairs with the read-modify-write
 * in wake_is_sleeping(). */
static inline void wake_prepare(struct wake *w)
{
	atomic_exchange_explicit(&w->sleeping, 1, memory_order_seq_cst);
}

/* Consumer: no longer sleeping (after waking, or on finding work). */
static inline void wake_cancel(struct wake *w)
{
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

/* True when the consumer announced sleep; producers may use it to decide to do
 * the work themselves instead of waking the consumer. A seq_cst
 * read-modify-write after the producer's push: pairs with wake_prepare(). */
static inline bool wake_is_sleeping(struct wake *w)
{
	return atomic_fetch_add_explicit(&w->sleeping, 0, memory_order_seq_cst) != 0;
}

/* Producer: after pushing, wakes the consumer if it announced sleep. */
void wake_notify(struct wake *w);

/* Consumer: blocks until notified (blocking eventfd only). Returns 0 or -errno. */
int wake_wait(struct wake *w);

/* The eventfd, for a consumer that reads it through io_uring. */
static inline int wake_fd(const struct wake *w)
{
	return w->efd;
}

#endif /* CORE_WAKE_H */
