/* Shards: matching messages against the shard's subscription index, applying
 * subscription changes, answering barriers; the runner that carries the
 * results back to I/O threads; and the worker threads that own shards. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ck_pr.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/pin.h"
#include "io/loop.h"
#include "router/admission.h"
#include "router/server.h"
#include "router/sublist.h"

#define SHARD_TRIM_AFTER 10000
/* Subscriptions of closed connections removed per run (~0.5 ms of work),
 * and at the close itself (most connections have fewer). */
#define SHARD_REAP_SLICE 256
#define SHARD_CLOSE_NOW  64

/* A closed connection whose subscriptions are still being removed. */
struct shard_dying {
	uint64_t owner;
	size_t total; /* subscriptions it had when it closed */
};

/* Adds @n to a counter only the claim holder writes (see shard_counters). */
static inline void shard_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline void shard_set(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

/* True when @owner closed and its subscriptions are still being removed: it
 * gets no more deliveries (a queue group picks another member). */
static bool shard_owner_dying(const struct shard *sh, uint64_t owner)
{
	uint32_t n = atomic_load_explicit(&sh->ndying, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		if (sh->dying[i].owner == owner)
			return true;
	return false;
}

/* Removes a slice of @owner's subscriptions; what is left waits in the
 * shard's dying list for the next runs. */
static void shard_close_owner(struct shard *sh, struct runner *r, uint64_t owner)
{
	size_t left = sublist_remove_owner_max(sh->subs, owner, SHARD_CLOSE_NOW);
	if (left == 0)
		return;
	uint32_t n = atomic_load_explicit(&sh->ndying, memory_order_relaxed);
	if (n == sh->dying_cap) {
		uint32_t cap = sh->dying_cap ? sh->dying_cap * 2 : 4;
		struct shard_dying *d = realloc(sh->dying, cap * sizeof(*d));
		if (!d) {
			/* Cannot defer the rest: remove it now, whatever it costs. */
			sublist_remove_owner(sh->subs, owner);
			server_want_trim(r->srv);
			return;
		}
		sh->dying = d;
		sh->dying_cap = cap;
	}
	sh->dying[n] = (struct shard_dying){.owner = owner, .total = SHARD_CLOSE_NOW + left};
	atomic_store_explicit(&sh->ndying, n + 1, memory_order_relaxed);
}

/* One slice of the removals closed connections left. Returns true if it did
 * any. */
static bool shard_reap(struct shard *sh, struct runner *r)
{
	uint32_t n = atomic_load_explicit(&sh->ndying, memory_order_relaxed);
	if (n == 0)
		return false;
	struct shard_dying *d = &sh->dying[0];
	if (sublist_remove_owner_max(sh->subs, d->owner, SHARD_REAP_SLICE) == 0) {
		/* Many subscriptions gone: ask for the freed memory to be given
		 * back to the system (malloc keeps it otherwise). */
		if (d->total >= SHARD_TRIM_AFTER)
			server_want_trim(r->srv);
		memmove(&sh->dying[0], &sh->dying[1], (n - 1) * sizeof(*d));
		atomic_store_explicit(&sh->ndying, n - 1, memory_order_relaxed);
	}
	return true;
}

/* Returns how many deliveries the message made. */
static uint32_t shard_apply_msg(struct shard *sh, struct runner *r, const struct mbatch *b,
                                const struct mentry *e)
{
	const char *subj = mentry_str(b, e);
	const struct sublist_result *res = sublist_match(sh->subs, subj, e->subject_len);
	bool no_echo = e->flags & MENTRY_F_NO_ECHO;
	uint32_t delivered = 0;
	struct delivery d = {.b = b, .e = e, .kind = DELIVERY_MSG};

	if (RB_UNLIKELY(!res))
		return 0; /* out of memory in the match cache: counted as not delivered */
	bool dying = atomic_load_explicit(&sh->ndying, memory_order_relaxed) != 0;
	for (uint32_t i = 0; i < res->nplain; i++) {
		const struct sublist_sub *sub = res->plain[i];
		if ((no_echo && sub->owner == e->conn) ||
		    (RB_UNLIKELY(dying) && shard_owner_dying(sh, sub->owner)))
			continue;
		d.conn = sub->owner;
		d.subid = (uint32_t)(uintptr_t)sub->data;
		runner_emit(r, &d);
		delivered++;
	}
	for (uint32_t g = 0; g < res->ngroups; g++) {
		struct sublist_qgroup *grp = &res->groups[g];
		for (uint32_t tries = 0; tries < grp->n; tries++) {
			const struct sublist_sub *sub = sublist_pick(grp);
			if ((no_echo && sub->owner == e->conn) ||
			    (RB_UNLIKELY(dying) && shard_owner_dying(sh, sub->owner)))
				continue;
			d.conn = sub->owner;
			d.subid = (uint32_t)(uintptr_t)sub->data;
			runner_emit(r, &d);
			delivered++;
			break;
		}
	}
	if (delivered == 0 && (e->flags & MENTRY_F_NO_RESPONDERS) && e->reply_len) {
		d.conn = e->conn;
		d.subid = 0;
		d.kind = DELIVERY_NO_RESPONDERS;
		runner_emit(r, &d);
	}
	return delivered;
}

static void shard_apply(struct shard *sh, struct runner *r, struct mbatch *b)
{
	uint64_t deliveries = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct mentry *e = &b->e[i];
		const char *s = mentry_str(b, e);
		switch (e->kind) {
		case MENTRY_MSG:
			deliveries += shard_apply_msg(sh, r, b, e);
			break;
		case MENTRY_SUB: {
			const char *queue = e->reply_len ? s + e->subject_len : NULL;
			const char *sid = s + e->subject_len + e->reply_len;
			int ret =
			    sublist_insert(sh->subs, e->conn, sid, e->sid_len, s, e->subject_len,
			                   queue, e->reply_len, (void *)(uintptr_t)e->aux);
			if (ret && ret != -EEXIST)
				log_warn("shard %d: subscription not added: %s", sh->index,
				         ret == -ENOMEM ? "out of memory" : "invalid");
			break;
		}
		case MENTRY_UNSUB: {
			sublist_remove(sh->subs, e->conn, s, e->sid_len);
			struct delivery d = {
			    .conn = e->conn, .subid = e->aux, .kind = DELIVERY_UNSUBBED};
			runner_emit(r, &d);
			break;
		}
		case MENTRY_CLOSE:
			shard_close_owner(sh, r, e->conn);
			break;
		case MENTRY_BARRIER: {
			struct delivery d = {
			    .conn = e->conn, .subid = e->aux, .kind = DELIVERY_BARRIER};
			runner_emit(r, &d);
			break;
		}
		}
	}
	shard_count(&sh->st.msgs, b->nmsgs);
	shard_count(&sh->st.deliveries, deliveries);
	shard_count(&sh->st.batches, 1);
	mbatch_unref(b);
}

/* The batch left the queue: update the admission measure and clear the
 * over-mark state at the low marks (hysteresis). */
static void shard_dequeued(struct shard *sh, const struct mbatch *b, struct server *srv)
{
	const struct admission *a = srv->adm;
	uint64_t q =
	    atomic_fetch_sub_explicit(&sh->q_bytes, b->bytes, memory_order_relaxed) - b->bytes;
	uint64_t m =
	    atomic_fetch_sub_explicit(&sh->q_msgs, b->nmsgs, memory_order_relaxed) - b->nmsgs;
	if (RB_UNLIKELY(atomic_load_explicit(&sh->over, memory_order_relaxed)) &&
	    q <= a->shard_low && m <= a->shard_low_msgs) {
		atomic_store_explicit(&sh->over, false, memory_order_relaxed);
		/* Publishers paused for this shard wait in their I/O threads. */
		for (int i = 0; i < srv->nio; i++)
			wake_notify(&srv->io[i].wake);
	}
}

unsigned shard_run(struct shard *sh, struct runner *r, unsigned budget)
{
	unsigned n = 0;
	void *p;
	uint64_t t0 = clock_now_ns();
	while (n < budget && ring_pop_mpmc(&sh->in, &p)) {
		shard_dequeued(sh, p, r->srv);
		shard_apply(sh, r, p);
		n++;
	}
	if (shard_reap(sh, r))
		n++;
	if (n) {
		struct sublist_stats ss;
		sublist_get_stats(sh->subs, &ss);
		shard_set(&sh->st.subs, ss.subs);
		shard_set(&sh->st.inserts, ss.inserts);
		shard_set(&sh->st.removes, ss.removes);
		shard_set(&sh->st.matches, ss.matches);
		shard_set(&sh->st.cache_hits, ss.cache_hits);
		shard_set(&sh->st.cache_entries, ss.cache_entries);
		shard_count(&sh->st.busy_ns, clock_now_ns() - t0);
	}
	return n;
}

void shard_release_and_check(struct shard *sh)
{
	shard_release(sh);
	/* seq_cst release above, then the ring: pairs with the worker's
	 * wake_prepare() + claimed/ring check before it sleeps. */
	if (shard_has_work(sh))
		wake_notify(&sh->owner->wake);
}

static void runner_pending_add(struct runner *r, int io, struct dbatch *db)
{
	db->next = NULL;
	if (r->pending_tail[io])
		r->pending_tail[io]->next = db;
	else
		r->pending_head[io] = db;
	r->pending_tail[io] = db;
}

/* Pushes @io's pending dbatches in order; true when none is left. */
static bool runner_push_pending(struct runner *r, int io)
{
	struct iothr *t = &r->srv->io[io];
	bool pushed = false;
	while (r->pending_head[io]) {
		struct dbatch *db = r->pending_head[io];
		struct dbatch *next = db->next;
		if (!ring_push_mpsc(&t->in, db))
			break;
		pushed = true;
		r->pending_head[io] = next;
		if (!next)
			r->pending_tail[io] = NULL;
	}
	if (pushed)
		wake_notify(&t->wake);
	return r->pending_head[io] == NULL;
}

/* Queues a full or flushed dbatch for @io. Batches for the runner's own I/O
 * thread wait in its pending list and are written by runner_flush(): never
 * from here, because writing deliveries can emit more (busy replies, pauses)
 * and so re-enter runner_emit(). */
static void runner_hand_over(struct runner *r, int io, struct dbatch *db)
{
	runner_pending_add(r, io, db);
	if (io != r->self_io)
		runner_push_pending(r, io);
}

/* Writes the runner's own I/O thread's pending deliveries, in order. Returns
 * true when it wrote any. */
static bool runner_deliver_own(struct runner *r)
{
	int io = r->self_io;
	bool any = false;
	while (r->pending_head[io]) {
		struct dbatch *db = r->pending_head[io];
		r->pending_head[io] = db->next;
		if (!r->pending_head[io])
			r->pending_tail[io] = NULL;
		client_deliver(&r->srv->io[io], db);
		any = true;
	}
	return any;
}

void runner_emit(struct runner *r, const struct delivery *d)
{
	int io = io_conn_id_loop(d->conn);
	struct dbatch *db = r->open[io];
	if (RB_UNLIKELY(!db || !dbatch_has_room(db, d->b))) {
		if (db)
			runner_hand_over(r, io, db);
		db = r->open[io] = dbatch_new();
		if (RB_UNLIKELY(!db)) {
			log_warn("delivery dropped: out of memory");
			return;
		}
	}
	dbatch_add(db, d);
}

bool runner_flush(struct runner *r)
{
	bool all = true;
	/* Handing deliveries to our own I/O thread may emit more (busy replies,
	 * publisher pauses): go round until nothing is left open, a few times at
	 * most; anything still open then is flushed by the next call. */
	for (int round = 0; round < 4; round++) {
		for (int io = 0; io < r->srv->nio; io++) {
			struct dbatch *db = r->open[io];
			if (db && db->n) {
				r->open[io] = NULL;
				runner_hand_over(r, io, db);
			}
			if (io != r->self_io && r->pending_head[io])
				all &= runner_push_pending(r, io);
		}
		if (r->self_io < 0 || !runner_deliver_own(r))
			break;
	}
	return all;
}

/* True when a shard of @w has work nobody is doing. */
static bool worker_has_work(struct worker *w)
{
	for (int i = 0; i < w->nshards; i++) {
		struct shard *sh = w->shards[i];
		if (shard_has_work(sh) && atomic_load(&sh->claimed) == 0)
			return true;
	}
	return false;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *s = w->srv;
	uint64_t idle_since = 0;
	const uint64_t spin_ns = (uint64_t)s->cfg.spin_us * 1000u;

	if (s->cfg.pin) {
		int ret = pin_self(s->nio + w->index);
		if (ret)
			log_warn("worker %d: cannot pin: %s", w->index, strerror(-ret));
	}
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		unsigned did = 0;
		for (int i = 0; i < w->nshards; i++) {
			struct shard *sh = w->shards[i];
			if (!shard_has_work(sh) || !shard_try_claim(sh))
				continue;
			did += shard_run(sh, &w->run, 64);
			runner_flush(&w->run);
			shard_release(sh);
		}
		bool flushed = runner_flush(&w->run);
		if (did || !flushed) {
			idle_since = 0;
			continue;
		}
		uint64_t now = clock_now_ns();
		if (!idle_since)
			idle_since = now;
		if (now - idle_since < spin_ns) {
			ck_pr_stall();
			continue;
		}
		idle_since = 0;
		wake_prepare(&w->wake);
		if (worker_has_work(w) || atomic_load(&s->stop)) {
			wake_cancel(&w->wake);
			continue;
		}
		w->sleeps++;
		wake_wait(&w->wake);
		wake_cancel(&w->wake);
	}
	return NULL;
}
