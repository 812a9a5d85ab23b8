/* What router/shard.c (batches, streams, closes) and router/shard_request.c
 * (request-aware queue groups) share. Private to those two files; the
 * caller holds the shard's claim in everything here. */
#ifndef ROUTER_SHARD_INT_H
#define ROUTER_SHARD_INT_H

#include "router/batch.h"
#include "router/index/sublist.h"
#include "router/shard.h"

struct sublist_qgroup;
struct sublist_result;
struct sublist_sub;

/* Adds @n to a counter only the claim holder writes (see shard_counters). */
static inline void shard_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/* ---- router/shard_stream.c ---- */

/* Replaces @io's full open dbatch with a new one (@must: wait for memory).
 * Returns false when a result that may be dropped found no memory. */
bool shard_stream_renew(struct shard *sh, int io, bool must);
/* Queues a filled dbatch behind those waiting for @io (they go in order). */
void shard_stream_queue(struct shard *sh, int io, struct dbatch *db);
/* The entry just applied ended a run: its last result carries the end
 * marker, or a result of its own does when the run made none. */
void shard_end_run(struct shard *sh, int io);
/* Frees what a stream holds (shard_fini). */
void shard_stream_fini(struct shard_stream *o);

/* A new result pointing into @b in the stream of I/O thread @io, for the
 * caller to fill in place; NULL when it was dropped for want of memory (an
 * end marker, @must, is never dropped). */
static inline struct delivery *shard_emit_slot(struct shard *sh, int io, const struct mbatch *b,
                                               bool must)
{
	struct shard_stream *o = &sh->out[io];
	if (RB_UNLIKELY(!o->open || !dbatch_has_room(o->open, b)) &&
	    !shard_stream_renew(sh, io, must)) {
		shard_count(&sh->st.dropped, 1);
		return NULL;
	}
	o->run_records++;
	return dbatch_slot(o->open, b);
}

/* Makes room for @n results pointing into @b in one dbatch of @io's
 * stream (they belong together: router/batch.h, DELIVERY_F_CONT). */
static inline void shard_emit_room(struct shard *sh, int io, const struct mbatch *b, uint32_t n)
{
	struct shard_stream *o = &sh->out[io];
	if (o->open && o->open->n && !dbatch_has_room_n(o->open, b, n))
		shard_stream_renew(sh, io, false);
}

/* Appends a copy of @d to the stream of I/O thread @io. */
static inline void shard_emit(struct shard *sh, int io, const struct delivery *d)
{
	struct delivery *slot = shard_emit_slot(sh, io, d->b, d->flags & DELIVERY_F_END);
	if (slot)
		*slot = *d;
}

/* A closed connection whose subscriptions are still being removed. */
struct shard_dying {
	uint64_t owner;
	size_t total; /* subscriptions it had when it closed */
};

/* True when @owner closed and its subscriptions are still being removed: it
 * gets no more deliveries (a queue group picks another member). */
static inline bool shard_owner_dying(const struct shard *sh, uint64_t owner)
{
	uint32_t n = atomic_load_explicit(&sh->ndying, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		if (sh->dying[i].owner == owner)
			return true;
	return false;
}

/* Emits @d to @sub unless it is the publisher under echo:false or its
 * connection closed. Returns 1 when it did, else 0. */
static inline uint32_t shard_deliver_to(struct shard *sh, int io, const struct mbatch *b,
                                        const struct mentry *e, const struct sublist_sub *sub,
                                        bool no_echo, bool dying)
{
	if ((no_echo && sub->owner == e->conn) ||
	    (RB_UNLIKELY(dying) && shard_owner_dying(sh, sub->owner)))
		return 0;
	/* filled in place: no copy of a delivery just built on the stack */
	struct delivery *d = shard_emit_slot(sh, io, b, false);
	if (d)
		*d = (struct delivery){.conn = sub->owner,
		                       .b = b,
		                       .e = e,
		                       .subid = (uint32_t)(uintptr_t)sub->data,
		                       .kind = DELIVERY_MSG,
		                       .flags = sh->share};
	return 1;
}

/* Emits @e to the plain subscribers @subs[0..@n) (none of their connections
 * closing): with room for all in the open dbatch, the room is checked once
 * and the results written in a row; else one at a time. Returns the
 * deliveries made. */
static inline uint32_t shard_deliver_plain(struct shard *sh, int io, const struct mbatch *b,
                                           const struct mentry *e, struct sublist_sub **subs,
                                           uint32_t n, bool no_echo)
{
	struct dbatch *db = sh->out[io].open;
	uint32_t k = 0;
	if (RB_UNLIKELY(!db || !dbatch_has_room_n(db, b, n))) {
		for (uint32_t i = 0; i < n; i++)
			k += shard_deliver_to(sh, io, b, e, subs[i], no_echo, false);
		return k;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct sublist_sub *sub = subs[i];
		if (no_echo && sub->owner == e->conn)
			continue;
		/* the first takes the reference on @b when it is new here */
		struct delivery *d = k++ ? &db->d[db->n++] : dbatch_slot(db, b);
		*d = (struct delivery){.conn = sub->owner,
		                       .b = b,
		                       .e = e,
		                       .subid = (uint32_t)(uintptr_t)sub->data,
		                       .kind = DELIVERY_MSG,
		                       .flags = sh->share};
	}
	sh->out[io].run_records += k;
	return k;
}

/* A subscription's load word marks a route's interest (router/route.h);
 * its low 32 bits are then a route's queue weight (the members it has). */
#define SHARD_LOAD_REMOTE (1ull << 63)
#define SHARD_LOAD_LEAF   (1ull << 62) /* with SHARD_LOAD_REMOTE: a leaf connection's */
#define SHARD_LOAD_WEIGHT 0xffffffffull

/* ---- router/shard_route.c ---- */

/* @e matched @res in a server with routes: local subscribers as usual, one
 * RMSG per interested route (plain interest, and the queue groups whose
 * member it picked there: local members first), nothing to a route for a
 * message that came from one. Returns the deliveries made; sets *@answered
 * as shard_request() does. */
uint32_t shard_route_msg(struct shard *sh, int io, const struct mbatch *b, const struct mentry *e,
                         const struct sublist_result *res, bool *answered);

/* ---- router/shard_request.c ---- */

/* A request (@e has a reply subject) for queue group @grp, when the router
 * is request-aware: to the member with the fewest requests in flight under
 * its service's limit; when every member is full, it waits for one (its
 * policy's wait, as the service's pace allows) or is answered busy (a 503
 * status, when the requester takes one) or, for a requester that takes no
 * status, goes to the least busy member anyway. Returns 1 when delivered
 * now; sets *@answered when it waits or was answered busy (no
 * no-responders status then). */
uint32_t shard_request(struct shard *sh, int io, const struct mbatch *b, const struct mentry *e,
                       struct sublist_qgroup *grp, bool no_echo, bool dying, bool *answered);
/* Hands waiting requests to members that have room, and answers busy those
 * that waited too long (a MENTRY_KICK from I/O thread @io). */
void shard_request_kick(struct shard *sh, int io);
/* Frees the waiting requests (shard_fini). */
void shard_request_fini(struct shard *sh);

#endif /* ROUTER_SHARD_INT_H */
