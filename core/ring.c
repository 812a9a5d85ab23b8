/* Allocation of ring slots; the hot operations are inline in ring.h. */
#include "core/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ring_init(struct ring *r, uint32_t size)
{
	uint32_t n = 4;
	while (n < size && n < (1u << 30))
		n <<= 1;
	memset(r, 0, sizeof(*r));
	/* aligned_alloc() wants a size that is a multiple of the alignment
	 * (C11): a ring of fewer than 8 slots is rounded up to a cache line. */
	size_t bytes = sizeof(ck_ring_buffer_t) * n;
	bytes = (bytes + RB_CACHELINE - 1) / RB_CACHELINE * RB_CACHELINE;
	r->slots = aligned_alloc(RB_CACHELINE, bytes);
	if (!r->slots)
		return -ENOMEM;
	memset(r->slots, 0, bytes);
	r->size = n;
	ck_ring_init(&r->ck, n);
	return 0;
}

void ring_fini(struct ring *r)
{
	free(r->slots);
	r->slots = NULL;
}
