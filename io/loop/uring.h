/* The two io_uring habits every ring of the project shares (the server's
 * loops and ringbus-load's): user_data packed as operation | slot generation
 * | slot, so a completion for a closed and reused slot is recognised; and an
 * SQE that is always there (a full submission queue is submitted first).
 * Header only; the caller links liburing. */
#ifndef IO_LOOP_URING_H
#define IO_LOOP_URING_H

#include <liburing.h>
#include <stdint.h>

#include "core/compiler.h"

/* user_data: operation (8 bits) | generation (24 bits) | slot (32 bits). */
static inline uint64_t uring_ud(unsigned op, uint32_t gen, uint32_t slot)
{
	return ((uint64_t)op << 56) | ((uint64_t)(gen & 0xffffff) << 32) | slot;
}

static inline unsigned uring_ud_op(uint64_t ud)
{
	return (unsigned)(ud >> 56);
}

static inline uint32_t uring_ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & 0xffffff;
}

static inline uint32_t uring_ud_slot(uint64_t ud)
{
	return (uint32_t)ud;
}

/* A free SQE of @ring: when the queue is full, what is queued is submitted
 * first. NULL only if the kernel takes nothing (the ring is broken). */
static inline struct io_uring_sqe *uring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (RB_UNLIKELY(!sqe)) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

#endif /* IO_LOOP_URING_H */
