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

void iothr_end_run(struct iothr *t)
{
	if (!t->run_batch)
		return;
	t->run_batch->e[t->run_last].flags |= MENTRY_F_RUN_END;
	t->run_batch = NULL;
}

struct mentry *iothr_add(struct iothr *t, uint32_t shard, enum mentry_kind kind, size_t bytes,
                         uint64_t conn)
{
	struct mbatch *b = t->open[shard];
	if (RB_UNLIKELY(!b || !mbatch_fits(b, bytes))) {
		uint32_t arena = bytes > MBATCH_ARENA_SIZE ? (uint32_t)bytes : MBATCH_ARENA_SIZE;
		struct mbatch *nb = mbatch_new(MBATCH_ENTRIES, arena);
		if (!nb)
			return NULL;
		nb->src = (uint16_t)t->index;
		if (b) {
			if (t->run_batch == b)
				iothr_end_run(t); /* a run never spans two batches */
			iothr_push(t, shard, b);
		}
		b = t->open[shard] = nb;
	}
	if (b != t->run_batch) {
		if (rlog_reserve(&t->log, 1) != 0)
			return NULL;
		iothr_end_run(t);
		rlog_push(&t->log, (struct rlog_rec){.kind = RLOG_RUN, .shard = (uint16_t)shard});
		t->run_batch = b;
	}
	struct mentry *e = mbatch_add(b, kind, bytes);
	e->conn = conn;
	t->run_last = b->n - 1;
	t->open_entries[shard]++;
	return e;
}

int iothr_mark(struct iothr *t, uint64_t conn, uint32_t aux)
{
	if (rlog_empty(&t->log))
		return 0;
	if (rlog_reserve(&t->log, 1) != 0)
		return -ENOMEM;
	iothr_end_run(t);
	rlog_push(&t->log, (struct rlog_rec){.kind = RLOG_MARK, .conn = conn, .aux = aux});
	return 1;
}

/* ---- forwarding ---- */

static void iothr_fwd_queue(struct iothr *t, int io, struct dbatch *db)
{
	db->next = NULL;
	if (t->fwd_tail[io])
		t->fwd_tail[io]->next = db;
	else
		t->fwd_head[io] = db;
	t->fwd_tail[io] = db;
}

void iothr_forward(struct iothr *t, const struct delivery *d)
{
	int io = io_conn_id_loop(d->conn);
	struct dbatch *db = t->fwd_open[io];
	if (RB_UNLIKELY(!db || !dbatch_has_room(db, d->b))) {
		struct dbatch *nd = dbatch_new();
		if (!nd) {
			log_warn("io[%d]: delivery dropped: out of memory", t->index);
			return;
		}
		if (db)
			iothr_fwd_queue(t, io, db);
		db = t->fwd_open[io] = nd;
	}
	struct delivery copy = *d;
	copy.flags = 0;
	dbatch_add(db, &copy);
}

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
				if (cur->pos == db->n) {
					cur->db = NULL;
					dbatch_free(db);
				}
				return true;
			}
		}
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
