/* Lending receive buffers: instead of copying a message out of the
 * provided buffer it arrived in, the router may keep the buffer until the
 * message has been delivered, and give it back from whichever thread drops
 * the last hold. The buffers belong to a pool that outlives the loop while
 * any of them is out on loan (a batch may be freed after its I/O thread
 * stopped). A buffer comes back to the kernel's ring only on the loop's
 * thread: a dropped hold sets a bit that the loop collects before it
 * publishes returned buffers (io_lend_collect()). */
#include <errno.h>
#include <stdlib.h>

#include "io/loop/loop_int.h"

struct io_lendpool {
	atomic_uint users;      /* the loop, and one per buffer out on loan */
	char *bufs;             /* the provided buffers (freed with the pool) */
	atomic_uint *holds;     /* per buffer: holds on it; 0 when not lent */
	_Atomic uint64_t *back; /* buffers whose last hold went, for the loop */
	uint32_t nwords;        /* of @back */
};

static void io_lendpool_unref(struct io_lendpool *p)
{
	if (atomic_fetch_sub_explicit(&p->users, 1, memory_order_acq_rel) != 1)
		return;
	free(p->bufs);
	free(p->holds);
	free(p->back);
	free(p);
}

int io_lend_setup(struct io_loop *l, size_t bytes)
{
	uint32_t n = l->cfg.buf_count;
	struct io_lendpool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nwords = (n + 63) / 64;
	p->bufs = aligned_alloc(4096, bytes);
	p->holds = calloc(n, sizeof(*p->holds));
	p->back = calloc(p->nwords, sizeof(*p->back));
	atomic_init(&p->users, 1);
	l->lend = p;
	/* half: a slow subscriber at the router's default mark (8 MiB) keeps
	 * its queue lent with the default pool (16 MiB), and the kernel keeps
	 * the other half to receive into */
	l->lend_max = n / 2;
	if (!p->bufs || !p->holds || !p->back)
		return -ENOMEM; /* io_lend_fini() frees what was allocated */
	l->bufs = p->bufs;
	return 0;
}

void io_lend_fini(struct io_loop *l)
{
	if (l->lend)
		io_lendpool_unref(l->lend);
	l->lend = NULL;
	l->bufs = NULL;
}

uint32_t io_loop_lendable(const struct io_loop *l, const char *p, size_t n)
{
	if (!l->cur || p < l->cur || n > l->cur_len || (size_t)(p - l->cur) > l->cur_len - n)
		return IO_LEND_NONE;
	if (!l->cur_held && l->lent >= l->lend_max)
		return IO_LEND_NONE;
	return l->cur_bid;
}

struct io_lendpool *io_loop_lend(struct io_loop *l, uint32_t bid, uint32_t *size)
{
	struct io_lendpool *lp = l->lend;
	*size = l->cfg.buf_size;
	if (!l->cur_held) {
		/* the loop's own hold until on_data returns, and this one */
		atomic_store_explicit(&lp->holds[bid], 2, memory_order_relaxed);
		atomic_fetch_add_explicit(&lp->users, 1, memory_order_relaxed);
		l->cur_held = true;
		l->lent++;
		l->st.lent++;
	} else {
		atomic_fetch_add_explicit(&lp->holds[bid], 1, memory_order_relaxed);
	}
	return lp;
}

void io_lend_drop(struct io_lendpool *p, uint32_t bid)
{
	/* acq_rel: every holder's reads of the buffer come before its reuse */
	if (atomic_fetch_sub_explicit(&p->holds[bid], 1, memory_order_acq_rel) != 1)
		return;
	atomic_fetch_or_explicit(&p->back[bid / 64], 1ull << (bid % 64), memory_order_release);
	io_lendpool_unref(p);
}

void io_lend_collect(struct io_loop *l)
{
	struct io_lendpool *p = l->lend;
	if (!l->lent)
		return;
	for (uint32_t w = 0; w < p->nwords; w++) {
		if (!atomic_load_explicit(&p->back[w], memory_order_relaxed))
			continue;
		uint64_t bits = atomic_exchange_explicit(&p->back[w], 0, memory_order_acquire);
		while (bits) {
			uint32_t bid = w * 64 + (uint32_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			io_buf_return(l, bid);
			l->lent--;
		}
	}
}
