/* Request-aware queue groups, the member's side: every request delivered to
 * a connection as a queue member (a delivery the shard counted, DELIVERY_F_
 * TRACKED) waits here for its reply, the member publishing on the request's
 * reply subject; the reply gives the member's count back (svc_done) with
 * the latency the router saw. A request without a reply within the expiry
 * is given back as expired, oldest first, every tick. A reply from another
 * connection is not seen: the request expires. Requests sharing a reply
 * subject are answered oldest first (router/client_int.h).
 *
 * Cost: one hash of the reply subject per request delivered and, while a
 * connection has requests in flight, one per message it publishes; no
 * allocation per request once the ring and the map have grown. */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "router/client_int.h"
#include "router/service.h"
#include "router/shard.h"

/* Requests one connection holds in flight, at the most: beyond, the oldest
 * is given back as expired. */
#define INFLIGHT_MAX (1u << 16)

static struct inflight_req *inflight_at(struct inflight *f, uint64_t seq)
{
	return &f->r[seq & (f->cap - 1)];
}

/* Ends live request @q, the oldest with its hash, whose map slot is @at:
 * the next one with that hash, if any, becomes the one the map finds. */
static void inflight_end(struct inflight *f, struct inflight_req *q, void **at)
{
	if (q->next) {
		inflight_at(f, q->next - 1)->tail = q->tail;
		*at = (void *)(uintptr_t)q->next;
	} else {
		map_del(&f->by_hash, q->hash);
	}
	q->live = false;
	f->live--;
}

/* Gives back the oldest request (expired, or already answered) and drops it
 * from the ring. */
static void inflight_pop(struct client *cl, bool expired)
{
	struct inflight *f = cl->inflight;
	struct inflight_req *q = inflight_at(f, f->head_seq);
	if (q->live) {
		svc_done(cl->t->srv->svc, q->ref, false, 0, expired);
		/* the oldest live request is the oldest with its hash */
		inflight_end(f, q, map_ref(&f->by_hash, q->hash));
	}
	f->head_seq++;
	f->n--;
}

/* Drops the answered requests at the head. */
static void inflight_trim(struct client *cl)
{
	struct inflight *f = cl->inflight;
	while (f->n && !inflight_at(f, f->head_seq)->live)
		inflight_pop(cl, false);
}

static bool inflight_grow(struct inflight *f)
{
	uint32_t cap = f->cap ? f->cap * 2 : 16;
	struct inflight_req *r = malloc(cap * sizeof(*r));
	if (!r)
		return false;
	for (uint64_t s = f->head_seq; s < f->head_seq + f->n; s++)
		r[s & (cap - 1)] = f->r[s & (f->cap - 1)];
	free(f->r);
	f->r = r;
	f->cap = cap;
	return true;
}

/* Puts @cl on its thread's list of members with requests in flight. */
static void inflight_list(struct client *cl)
{
	struct iothr *t = cl->t;
	if (cl->inflight->listed)
		return;
	if (!client_list_add(&t->members, &t->nmembers, &t->members_cap, 16, cl))
		return; /* not listed: its requests expire when it closes */
	cl->inflight->listed = true;
}

void client_inflight_add(struct client *cl, const struct csub *cs, const char *reply, size_t len,
                         uint64_t now)
{
	struct svc_table *svc = cl->t->srv->svc;
	struct inflight *f = cl->inflight;
	if (!f && !(f = cl->inflight = calloc(1, sizeof(*f)))) {
		svc_done(svc, cs->svc_ref, false, 0, false);
		return;
	}
	if (f->n == INFLIGHT_MAX)
		inflight_pop(cl, true);
	if (f->n == f->cap && !inflight_grow(f)) {
		svc_done(svc, cs->svc_ref, false, 0, false);
		return;
	}
	uint64_t seq = f->head_seq + f->n;
	uint64_t h = hash_bytes(reply, len);
	void *oldest = map_get(&f->by_hash, h);
	if (oldest) { /* the reply subject is in flight already: join its chain */
		struct inflight_req *o = inflight_at(f, (uint64_t)(uintptr_t)oldest - 1);
		inflight_at(f, o->tail)->next = seq + 1;
		o->tail = seq;
	} else if (map_put(&f->by_hash, h, (void *)(uintptr_t)(seq + 1)) != 0) {
		svc_done(svc, cs->svc_ref, false, 0, false);
		return;
	}
	*inflight_at(f, seq) = (struct inflight_req){
	    .ref = cs->svc_ref, .hash = h, .sent_ns = now, .tail = seq, .live = true};
	f->n++;
	f->live++;
	inflight_list(cl);
}

/* Kicks every shard with waiting requests, once per batch. */
static void inflight_kick(struct iothr *t)
{
	struct server *s = t->srv;
	for (int i = 0; i < s->nshards; i++) {
		if (!atomic_load_explicit(&s->shards[i].waiting, memory_order_relaxed))
			continue;
		if (t->kicked[i] && t->kicked[i] == t->open[i])
			continue;
		if (iothr_add(t, (uint32_t)i, MENTRY_KICK, 0, 0))
			t->kicked[i] = t->open[i];
	}
}

void client_inflight_reply(struct client *cl, const char *subj, size_t len, uint64_t now)
{
	struct inflight *f = cl->inflight;
	if (!f || !f->live)
		return;
	void **at = map_ref(&f->by_hash, hash_bytes(subj, len));
	if (!at)
		return;
	struct inflight_req *q = inflight_at(f, (uint64_t)(uintptr_t)*at - 1);
	inflight_end(f, q, at);
	svc_done(cl->t->srv->svc, q->ref, true, now - q->sent_ns, false);
	struct svc *s = svc_of(cl->t->srv->svc, q->ref);
	if (atomic_load_explicit(&s->waiting, memory_order_relaxed))
		inflight_kick(cl->t); /* a member has room: requests wait for it */
	inflight_trim(cl);
}

void client_inflight_tick(struct iothr *t, uint64_t now)
{
	uint64_t expiry = atomic_load_explicit(&t->srv->svc->expiry_ns, memory_order_relaxed);
	for (uint32_t i = 0; i < t->nmembers;) {
		struct client *cl = t->members[i];
		struct inflight *f = cl->inflight;
		while (f->n && (!inflight_at(f, f->head_seq)->live ||
		                now - inflight_at(f, f->head_seq)->sent_ns > expiry))
			inflight_pop(cl, true);
		if (f->n) {
			i++;
			continue;
		}
		f->listed = false;
		t->members[i] = t->members[--t->nmembers];
	}
	inflight_kick(t); /* requests waiting too long are answered busy */
}

void client_inflight_free(struct client *cl)
{
	struct inflight *f = cl->inflight;
	if (!f)
		return;
	struct iothr *t = cl->t;
	for (uint32_t i = 0; f->listed && i < t->nmembers; i++)
		if (t->members[i] == cl) {
			t->members[i] = t->members[--t->nmembers];
			break;
		}
	/* the counts go with the member's slots (svc_leave) */
	map_fini(&f->by_hash);
	free(f->r);
	free(f);
	cl->inflight = NULL;
}
