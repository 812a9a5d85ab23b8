/* The order of an I/O thread's traffic: entries cut into runs for the shards
 * (router/rlog.h), the shards' results merged back into that order, and the
 * deliveries this thread forwards to the I/O threads that own their
 * subscribers. */
#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "io/loop/loop.h"
#include "router/client_int.h"
#include "router/iothr.h"
#include "router/server.h"
#include "router/shard.h"

/* Pushes what waits for @io in order; true when nothing is left. */
static bool iothr_fwd_push(struct iothr *t, int io)
{
	struct iothr *dst = &t->srv->io[io];
	bool pushed = false;
	while (t->fwd_head[io]) {
		struct dbatch *db = t->fwd_head[io];
		struct dbatch *next = db->next; /* @db is the consumer's once pushed */
		if (!ring_push_mpsc(&dst->in, db))
			break;
		pushed = true;
		t->fwd_head[io] = next;
		if (!next)
			t->fwd_tail[io] = NULL;
	}
	if (pushed)
		wake_notify(&dst->wake);
	return t->fwd_head[io] == NULL;
}

/* Handles what we forwarded to ourselves; handling it may forward more
 * (pauses, busy replies), hence the rounds. */
static bool iothr_fwd_own(struct iothr *t)
{
	int self = t->index;
	bool did = false;
	for (int round = 0; round < 4; round++) {
		if (t->fwd_open[self] && t->fwd_open[self]->n) {
			iothr_fwd_queue(t, self, t->fwd_open[self]);
			t->fwd_open[self] = NULL;
		}
		if (!t->fwd_head[self])
			break;
		while (t->fwd_head[self]) {
			struct dbatch *db = t->fwd_head[self];
			t->fwd_head[self] = db->next;
			if (!t->fwd_head[self])
				t->fwd_tail[self] = NULL;
			client_deliver(t, db);
		}
		did = true;
	}
	return did;
}

bool iothr_flush_forward(struct iothr *t)
{
	bool did = iothr_fwd_own(t);
	for (int io = 0; io < t->srv->nio; io++) {
		if (io == t->index)
			continue;
		if (t->fwd_open[io] && t->fwd_open[io]->n) {
			iothr_fwd_queue(t, io, t->fwd_open[io]);
			t->fwd_open[io] = NULL;
			did = true;
		}
		if (t->fwd_head[io])
			iothr_fwd_push(t, io);
	}
	return did;
}

/* ---- the merge ---- */

/* One result of this thread's entries: ours to handle, or a delivery for a
 * subscriber another thread owns. */
static void iothr_apply(struct iothr *t, const struct delivery *d)
{
	if (d->kind == DELIVERY_NONE)
		return;
	if (d->kind == DELIVERY_MSG && io_conn_id_loop(d->conn) != t->index) {
		iothr_forward(t, d);
		return;
	}
	client_deliver_one(t, d);
}

/* Reads shard @s's results up to the end of the current run. Returns true
 * when the run's end was reached, false when its results are not all here
 * yet (what was read is handled; the rest is read next time). */
static bool iothr_merge_run(struct iothr *t, uint32_t s)
{
	struct iothr_cursor *cur = &t->cursor[s];
	struct shard *sh = &t->srv->shards[s];
	for (;;) {
		if (!cur->db) {
			if (!shard_pop_results(sh, t->index, &cur->db))
				return false;
			cur->pos = 0;
		}
		struct dbatch *db = cur->db;
		while (cur->pos < db->n) {
			const struct delivery *d = &db->d[cur->pos++];
			iothr_apply(t, d);
			if (d->flags & DELIVERY_F_END) {
				client_kind_flush(t); /* a route's RMSG is complete by now */
				if (cur->pos == db->n) {
					cur->db = NULL;
					dbatch_free(db);
				}
				return true;
			}
		}
		client_kind_flush(t);
		cur->db = NULL;
		dbatch_free(db);
	}
}

bool iothr_merge(struct iothr *t)
{
	bool did = false;
	while (!rlog_empty(&t->log)) {
		struct rlog_rec r = *rlog_front(&t->log);
		if (r.kind == RLOG_RUN && !iothr_merge_run(t, r.shard))
			break;
		/* handling results may append to the log (an auto-unsubscribe,
		 * a close): take the record off before acting on a mark */
		rlog_pop(&t->log);
		if (r.kind == RLOG_MARK)
			client_mark_reached(t, r.conn, r.aux);
		did = true;
	}
	if (rlog_empty(&t->log))
		rlog_shrink(&t->log);
	return did;
}

bool iothr_merge_ready(struct iothr *t)
{
	if (rlog_empty(&t->log))
		return false;
	const struct rlog_rec *r = rlog_front(&t->log);
	if (r->kind == RLOG_MARK)
		return true;
	return t->cursor[r->shard].db || shard_results_ready(&t->srv->shards[r->shard], t->index);
}
