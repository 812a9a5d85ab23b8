/* Request-aware queue groups, the shard's part: a request (a message with a
 * reply subject) goes to the queue member with the fewest requests in
 * flight, under its service's limit (router/service.h); when every member
 * is full it waits here for one, answered busy (the 503 status) when it
 * cannot be served within its policy's wait.
 *
 * Waiting requests are copied out of their batch (one small batch each, so
 * a few waiting requests do not pin whole 64 KiB batches) into a queue per
 * service, in arrival order. They move on when an I/O thread kicks the
 * shard (a MENTRY_KICK entry: a member replied, or the 100 ms tick); their
 * deliveries then go through the kicking thread's result stream. A waiting
 * request is delivered after messages its publisher sent later: requests
 * are independent of each other, and waiting is off by default. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "router/index/sublist.h"
#include "router/service.h"
#include "router/shard_int.h"

/* Requests one shard keeps waiting for one service, at the most. */
#define SHARD_WAIT_MAX 65536u

struct shard_wait {
	struct mbatch *b; /* a copy holding the one request */
	uint64_t since_ns;
	uint64_t qhash; /* its queue group's name */
};

/* One service's waiting requests: a ring, oldest at @head. */
struct shard_waitq {
	struct shard_wait *w;
	uint32_t head;
	uint32_t n;
	uint32_t cap; /* a power of two */
};

struct shard_waits {
	struct shard_waitq q[SVC_MAX]; /* by service id */
	uint32_t active[SVC_MAX];      /* ids with waiting requests */
	uint32_t nactive;
};

/* What a pick saw besides the member it chose. */
struct shard_pick {
	struct shard *sh;
	const struct mentry *e;
	bool no_echo;
	bool dying;
	uint32_t full;             /* members at their limit */
	struct sublist_sub *least; /* the least busy of those */
	uint32_t least_load;
};

static uint32_t shard_request_cost(void *arg, const struct sublist_sub *m)
{
	struct shard_pick *x = arg;
	const struct svc_table *svc = x->sh->env.svc;
	if ((x->no_echo && m->owner == x->e->conn) ||
	    (RB_UNLIKELY(x->dying) && shard_owner_dying(x->sh, m->owner)))
		return SUBLIST_SKIP;
	if (RB_UNLIKELY(m->load & SHARD_LOAD_REMOTE))
		return SUBLIST_SKIP; /* a route's: router/shard_route.c decides */
	if (!m->load)
		return 0; /* not tracked (no slot was free): taken as idle */
	uint32_t load = svc_load(svc, m->load);
	if (load == SVC_GONE)
		return SUBLIST_SKIP;
	uint32_t limit = atomic_load_explicit(&svc_of(svc, m->load)->limit, memory_order_relaxed);
	if (limit && load >= limit) {
		if (!x->full++ || load < x->least_load) {
			x->least = (struct sublist_sub *)m;
			x->least_load = load;
		}
		return SUBLIST_SKIP;
	}
	return load < SUBLIST_SKIP - 1 ? load : SUBLIST_SKIP - 1;
}

/* Emits @e of @b to member @m. Returns 1, or 0 when memory ran out (the
 * request taken for it is given back). */
static uint32_t shard_request_emit(struct shard *sh, int io, const struct mbatch *b,
                                   const struct mentry *e, const struct sublist_sub *m,
                                   bool tracked)
{
	struct delivery *d = shard_emit_slot(sh, io, b, false);
	if (!d) {
		if (tracked)
			svc_done(sh->env.svc, m->load, false, 0, false);
		return 0;
	}
	*d = (struct delivery){.conn = m->owner,
	                       .b = b,
	                       .e = e,
	                       .subid = (uint32_t)(uintptr_t)m->data,
	                       .kind = DELIVERY_MSG,
	                       .flags = tracked ? DELIVERY_F_TRACKED : 0};
	return 1;
}

/* The member with room for @e in @grp, taken for it and delivered to.
 * Returns 1 when delivered; otherwise @x says whether members were full. */
static uint32_t shard_request_pick(struct shard *sh, int io, const struct mbatch *b,
                                   const struct mentry *e, struct sublist_qgroup *grp,
                                   struct shard_pick *x)
{
	/* another shard may fill the chosen member first: a few tries */
	for (int tries = 0; tries < 4; tries++) {
		x->full = 0;
		x->least = NULL;
		struct sublist_sub *m = sublist_pick_least(grp, shard_request_cost, x);
		if (!m)
			return 0;
		if (!m->load)
			return shard_request_emit(sh, io, b, e, m, false);
		uint32_t limit = atomic_load_explicit(&svc_of(sh->env.svc, m->load)->limit,
		                                      memory_order_relaxed);
		if (svc_take(sh->env.svc, m->load, limit, false))
			return shard_request_emit(sh, io, b, e, m, true);
	}
	return 0;
}

/* The busy answer: the 503 status to the requester. */
static void shard_request_busy(struct shard *sh, int io, const struct mbatch *b,
                               const struct mentry *e, struct svc *s)
{
	struct delivery d = {.conn = e->conn, .b = b, .e = e, .kind = DELIVERY_NO_RESPONDERS};
	shard_emit(sh, io, &d);
	atomic_fetch_add_explicit(&s->busy, 1, memory_order_relaxed);
}

/* A copy of @e alone, for waiting: its payload too, wherever it was. */
static struct mbatch *shard_request_copy(const struct mbatch *b, const struct mentry *e)
{
	size_t head = (size_t)e->subject_len + e->reply_len;
	struct mbatch *c = mbatch_new(1, (uint32_t)(head + e->len));
	if (!c)
		return NULL;
	struct mentry *ce = mbatch_add(c, MENTRY_MSG, head + e->len);
	uint32_t off = ce->off;
	*ce = *e;
	ce->off = off;
	ce->flags &= (uint8_t)~MENTRY_F_RUN_END;
	memcpy(c->arena + off, mentry_str(b, e), head);
	memcpy(c->arena + off + head, e->payload, e->len);
	ce->payload = c->arena + off + head;
	c->src = b->src;
	return c;
}

static struct shard_waitq *shard_waitq_for(struct shard *sh, uint32_t id)
{
	if (!sh->waits && !(sh->waits = calloc(1, sizeof(*sh->waits))))
		return NULL;
	struct shard_waitq *q = &sh->waits->q[id];
	if (q->n == q->cap) {
		if (q->cap == SHARD_WAIT_MAX)
			return NULL;
		uint32_t cap = q->cap ? q->cap * 2 : 64;
		struct shard_wait *w = malloc(cap * sizeof(*w));
		if (!w)
			return NULL;
		for (uint32_t i = 0; i < q->n; i++)
			w[i] = q->w[(q->head + i) & (q->cap - 1)];
		free(q->w);
		q->w = w;
		q->head = 0;
		q->cap = cap;
	}
	if (q->n == 0)
		sh->waits->active[sh->waits->nactive++] = id;
	return q;
}

/* Keeps @e waiting when the service's pace says a member will have room
 * within its wait: (waiting + 1) requests at the recent reply latency over
 * the members' room (Little's law: the members serve room / latency
 * requests a second). Returns true when it waits. */
static bool shard_request_wait(struct shard *sh, const struct mbatch *b, const struct mentry *e,
                               const struct sublist_qgroup *grp, struct svc *s)
{
	uint64_t wait = atomic_load_explicit(&s->wait_ns, memory_order_relaxed);
	if (!wait)
		return false;
	uint64_t lat = atomic_load_explicit(&s->lat_ewma_ns, memory_order_relaxed);
	uint64_t room = (uint64_t)grp->n * atomic_load_explicit(&s->limit, memory_order_relaxed);
	int64_t waiting = atomic_load_explicit(&s->waiting, memory_order_relaxed);
	/* before any reply there is no pace to go by: one round of the
	 * members' room waits, the rest is answered at once */
	if (!lat ? (uint64_t)waiting >= room : (uint64_t)(waiting + 1) * lat / room > wait)
		return false;
	struct shard_waitq *q = shard_waitq_for(sh, s->id);
	struct mbatch *c = q ? shard_request_copy(b, e) : NULL;
	if (!c)
		return false;
	const struct sublist_sub *m0 = grp->members[0];
	q->w[(q->head + q->n) & (q->cap - 1)] = (struct shard_wait){
	    .b = c, .since_ns = clock_now_ns(), .qhash = hash_bytes(m0->queue, m0->queue_len)};
	q->n++;
	atomic_fetch_add_explicit(&s->waiting, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->queued, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sh->waiting, 1, memory_order_relaxed);
	return true;
}

uint32_t shard_request(struct shard *sh, int io, const struct mbatch *b, const struct mentry *e,
                       struct sublist_qgroup *grp, bool no_echo, bool dying, bool *answered)
{
	struct shard_pick x = {.sh = sh, .e = e, .no_echo = no_echo, .dying = dying};
	if (shard_request_pick(sh, io, b, e, grp, &x))
		return 1;
	if (!x.full)
		return 0; /* nobody could take it: no responders */
	*answered = true;
	struct svc *s = svc_of(sh->env.svc, x.least->load);
	if (!(e->flags & MENTRY_F_NO_RESPONDERS)) {
		/* a requester that takes no status would only time out: the least
		 * busy member gets it anyway, as nats-server would send it */
		if (svc_take(sh->env.svc, x.least->load,
		             atomic_load_explicit(&s->limit, memory_order_relaxed), true))
			return shard_request_emit(sh, io, b, e, x.least, true);
		return 0;
	}
	if (!shard_request_wait(sh, b, e, grp, s))
		shard_request_busy(sh, io, b, e, s);
	return 0;
}

/* The group of @w's queue among what its subject matches now, or NULL. */
static struct sublist_qgroup *shard_wait_group(struct shard *sh, const struct shard_wait *w)
{
	const struct mentry *e = &w->b->e[0];
	const struct sublist_result *res =
	    sublist_match(sh->subs, mentry_str(w->b, e), e->subject_len);
	for (uint32_t g = 0; res && g < res->ngroups; g++) {
		const struct sublist_sub *m0 = res->groups[g].members[0];
		if (hash_bytes(m0->queue, m0->queue_len) == w->qhash)
			return &res->groups[g];
	}
	return NULL;
}

/* Moves service @id's queue on. Returns true when it is empty. */
static bool shard_waitq_kick(struct shard *sh, int io, uint32_t id, uint64_t now)
{
	struct shard_waitq *q = &sh->waits->q[id];
	struct svc *s = atomic_load_explicit(&sh->env.svc->svcs[id], memory_order_acquire);
	uint64_t wait = atomic_load_explicit(&s->wait_ns, memory_order_relaxed);
	while (q->n) {
		struct shard_wait *w = &q->w[q->head];
		const struct mentry *e = &w->b->e[0];
		bool sent = false;
		if (now - w->since_ns <= wait) {
			struct sublist_qgroup *grp = shard_wait_group(sh, w);
			struct shard_pick x = {
			    .sh = sh, .e = e, .no_echo = e->flags & MENTRY_F_NO_ECHO};
			x.dying = atomic_load_explicit(&sh->ndying, memory_order_relaxed) != 0;
			sent = grp && shard_request_pick(sh, io, w->b, e, grp, &x);
			if (!sent && x.full)
				return false; /* every member still full: wait on */
		}
		if (!sent) /* waited too long, or the group went */
			shard_request_busy(sh, io, w->b, e, s);
		mbatch_unref(w->b);
		q->head = (q->head + 1) & (q->cap - 1);
		q->n--;
		atomic_fetch_sub_explicit(&s->waiting, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&sh->waiting, 1, memory_order_relaxed);
	}
	return true;
}

void shard_request_kick(struct shard *sh, int io)
{
	if (!sh->waits || !atomic_load_explicit(&sh->waiting, memory_order_relaxed))
		return;
	uint64_t now = clock_now_ns();
	struct shard_waits *ws = sh->waits;
	for (uint32_t i = 0; i < ws->nactive;) {
		if (shard_waitq_kick(sh, io, ws->active[i], now))
			ws->active[i] = ws->active[--ws->nactive];
		else
			i++;
	}
}

void shard_request_fini(struct shard *sh)
{
	struct shard_waits *ws = sh->waits;
	if (!ws)
		return;
	for (uint32_t id = 0; id < SVC_MAX; id++) {
		struct shard_waitq *q = &ws->q[id];
		for (uint32_t i = 0; i < q->n; i++)
			mbatch_unref(q->w[(q->head + i) & (q->cap - 1)].b);
		free(q->w);
	}
	free(ws);
	sh->waits = NULL;
}
