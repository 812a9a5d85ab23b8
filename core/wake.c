/* eventfd-backed wake-ups; see wake.h for the protocol. */
#include "core/wake.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

int wake_init(struct wake *w, bool nonblock)
{
	atomic_init(&w->sleeping, 0);
	atomic_init(&w->notifies, 0);
	w->efd = eventfd(0, EFD_CLOEXEC | (nonblock ? EFD_NONBLOCK : 0));
	return w->efd < 0 ? -errno : 0;
}

void wake_fini(struct wake *w)
{
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
}

void wake_notify(struct wake *w)
{
	if (!wake_is_sleeping(w))
		return;
	/* Only the producer that flips the flag writes: one syscall per sleep. */
	if (atomic_exchange_explicit(&w->sleeping, 0, memory_order_acq_rel) == 0)
		return;
	uint64_t one = 1;
	ssize_t n = write(w->efd, &one, sizeof(one));
	(void)n; /* EAGAIN means the counter is already non-zero: awake anyway */
	atomic_fetch_add_explicit(&w->notifies, 1, memory_order_relaxed);
}

int wake_wait(struct wake *w)
{
	uint64_t v;
	for (;;) {
		ssize_t n = read(w->efd, &v, sizeof(v));
		if (n == (ssize_t)sizeof(v))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : -EIO;
	}
}
