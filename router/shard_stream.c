/* A shard's result streams, one per I/O thread: the open dbatch being
 * filled, the ones a full ring refused (in order), each run's end marker,
 * and the push to the rings. The bottom of the shard's files: shard.c and
 * shard_request.c emit through it (router/shard_int.h). The caller holds
 * the shard's claim. */
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "router/shard_int.h"

/* Pushes @io's waiting dbatches in order; true when none is left. */
static bool shard_stream_push(struct shard *sh, int io)
{
	struct shard_stream *o = &sh->out[io];
	bool pushed = false;
	while (o->pend_head) {
		struct dbatch *db = o->pend_head;
		struct dbatch *next = db->next; /* @db is the consumer's once pushed */
		if (!ring_push_spsc(&o->ring, db))
			break;
		pushed = true;
		o->pend_head = next;
		if (!next)
			o->pend_tail = NULL;
		atomic_fetch_sub_explicit(&sh->npending, 1, memory_order_relaxed);
	}
	if (pushed)
		sh->env.wake_io(sh->env.ctx, io);
	return o->pend_head == NULL;
}

/* Queues a filled dbatch behind those waiting for @io (they go in order). */
void shard_stream_queue(struct shard *sh, int io, struct dbatch *db)
{
	struct shard_stream *o = &sh->out[io];
	db->next = NULL;
	if (o->pend_tail)
		o->pend_tail->next = db;
	else
		o->pend_head = db;
	o->pend_tail = db;
	atomic_fetch_add_explicit(&sh->npending, 1, memory_order_relaxed);
}

/* Replaces @io's full open dbatch with a new one. A run's end marker must be
 * carried whatever it takes (@must: wait for memory): without it the I/O
 * thread would wait for the run for ever. Returns false when a result that
 * may be dropped found no memory. */
bool shard_stream_renew(struct shard *sh, int io, bool must)
{
	struct shard_stream *o = &sh->out[io];
	struct dbatch *db = dbatch_new();
	for (unsigned tries = 0; !db && must; tries++) {
		if (tries == 0)
			log_error("shard %d: out of memory for results: waiting", sh->index);
		usleep(1000);
		db = dbatch_new();
	}
	if (!db)
		return false;
	if (o->open)
		shard_stream_queue(sh, io, o->open);
	o->open = db;
	return true;
}

/* The entry just applied ended a run: its last result carries the end
 * marker, or a result of its own does when the run made none. The last
 * result of the run is always in the open dbatch: a full one is handed over
 * only when the next result needs room. */
void shard_end_run(struct shard *sh, int io)
{
	struct shard_stream *o = &sh->out[io];
	if (o->run_records == 0) {
		struct delivery d = {.kind = DELIVERY_NONE, .flags = DELIVERY_F_END};
		shard_emit(sh, io, &d);
	} else {
		o->open->d[o->open->n - 1].flags |= DELIVERY_F_END;
	}
	o->run_records = 0;
}

bool shard_flush(struct shard *sh)
{
	bool all = true;
	for (int io = 0; io < sh->env.nio; io++) {
		struct shard_stream *o = &sh->out[io];
		if (o->open && o->open->n) {
			shard_stream_queue(sh, io, o->open);
			o->open = NULL;
		}
		if (o->pend_head)
			all &= shard_stream_push(sh, io);
	}
	return all;
}

void shard_stream_fini(struct shard_stream *o)
{
	void *p;
	if (o->ring.slots) {
		while (ring_pop_spsc(&o->ring, &p))
			dbatch_free(p);
		ring_fini(&o->ring);
	}
	while (o->pend_head) {
		struct dbatch *db = o->pend_head;
		o->pend_head = db->next;
		dbatch_free(db);
	}
	dbatch_free(o->open);
}
