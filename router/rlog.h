/* The route log of an I/O thread: what it sent to the shards, in the order
 * it sent it, so that it can put the shards' results back into that order.
 *
 * An I/O thread cuts what its connections send into runs: consecutive
 * entries for one shard in one batch. The last entry of each run carries
 * MENTRY_F_RUN_END, and the shard marks the last result of that run with
 * DELIVERY_F_END (or sends an empty result carrying it). The log holds one
 * RLOG_RUN record per run, in order; merging then means: take the log's
 * first record, read that shard's result stream up to the next end marker,
 * and go on with the next record. Results of one shard come in the order the
 * shard applied the entries, so this yields the results of every entry in
 * the order the I/O thread read them: a publisher's messages reach each
 * subscriber in the order they were published, whatever their subjects.
 *
 * RLOG_MARK records stand for something that must wait for everything sent
 * before it (a PONG, a close after an error): reached by the merge, they are
 * done at once.
 *
 * Owner: the I/O thread. A ring buffer that grows by doubling; pushes never
 * fail once rlog_reserve() succeeded. */
#ifndef ROUTER_RLOG_H
#define ROUTER_RLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

enum rlog_kind {
	RLOG_RUN = 1, /* the results of one run on shard @shard */
	RLOG_MARK,    /* done when reached: @conn's wait number @aux */
};

struct rlog_rec {
	uint64_t conn;
	uint32_t aux;
	uint16_t shard;
	uint16_t kind;
};

struct rlog {
	struct rlog_rec *r;
	uint32_t head;
	uint32_t n;
	uint32_t cap; /* a power of two, or 0 */
};

void rlog_init(struct rlog *l);
void rlog_fini(struct rlog *l);

/* Makes room for @more records. Returns 0 or -ENOMEM. */
RB_MUST_CHECK int rlog_reserve(struct rlog *l, uint32_t more);

/* Gives a large empty log's storage back (it grew during a burst). */
void rlog_shrink(struct rlog *l);

/* Appends a record; the caller reserved room. */
static inline void rlog_push(struct rlog *l, struct rlog_rec rec)
{
	l->r[(l->head + l->n) & (l->cap - 1)] = rec;
	l->n++;
}

static inline bool rlog_empty(const struct rlog *l)
{
	return l->n == 0;
}

static inline const struct rlog_rec *rlog_front(const struct rlog *l)
{
	return &l->r[l->head];
}

static inline void rlog_pop(struct rlog *l)
{
	l->head = (l->head + 1) & (l->cap - 1);
	l->n--;
}

#endif /* ROUTER_RLOG_H */
