/* Shards: applying the batches I/O threads queue to a shard (matching
 * messages against its part of the subscription index, subscription changes,
 * closes) and sending the results back through one stream per I/O thread. */
#include "router/shard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "router/index/sublist.h"
#include "router/service.h"
#include "router/shard_int.h"

#define SHARD_TRIM_AFTER 10000
/* Subscriptions of closed connections removed per run (~0.5 ms of work),
 * and at the close itself (most connections have fewer). */
#define SHARD_REAP_SLICE 256
#define SHARD_CLOSE_NOW  64

static inline void shard_set(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

int shard_init(struct shard *sh, int index, const struct shard_env *env, struct wake *owner_wake,
               uint32_t ring_size, uint32_t stream_size)
{
	sh->index = index;
	sh->rng = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(index + 1);
	sh->env = *env;
	sh->owner_wake = owner_wake;
	atomic_init(&sh->claimed, 0);
	sh->subs = sublist_new();
	sh->out = calloc((size_t)env->nio, sizeof(*sh->out));
	if (!sh->subs || !sh->out)
		return -ENOMEM;
	int ret = ring_init(&sh->in, ring_size);
	for (int io = 0; ret == 0 && io < env->nio; io++)
		ret = ring_init(&sh->out[io].ring, stream_size);
	return ret;
}

void shard_fini(struct shard *sh)
{
	void *p;
	if (sh->in.slots) {
		while (ring_pop_mpmc(&sh->in, &p))
			mbatch_unref(p);
		ring_fini(&sh->in);
	}
	for (int io = 0; sh->out && io < sh->env.nio; io++)
		shard_stream_fini(&sh->out[io]);
	free(sh->out);
	shard_request_fini(sh);
	sublist_free(sh->subs);
	free(sh->dying);
	sh->out = NULL;
	sh->subs = NULL;
	sh->dying = NULL;
}

/* ---- closed connections ---- */

/* A removal of SHARD_TRIM_AFTER subscriptions or more ends: memory back to
 * the system soon (malloc keeps it otherwise). */
static void shard_freed(struct shard *sh)
{
	if (sh->env.freed)
		sh->env.freed(sh->env.ctx);
	else
		sh->env.want_trim(sh->env.ctx);
}

/* Removes a slice of @owner's subscriptions; what is left waits in the
 * shard's dying list for the next runs. */
static void shard_close_owner(struct shard *sh, uint64_t owner)
{
	size_t left = sublist_remove_owner_max(sh->subs, owner, SHARD_CLOSE_NOW);
	if (left == 0)
		return;
	bool big = SHARD_CLOSE_NOW + left >= SHARD_TRIM_AFTER;
	if (big && sh->env.freeing)
		sh->env.freeing(sh->env.ctx); /* before the rest is freed, slice by slice */
	uint32_t n = atomic_load_explicit(&sh->ndying, memory_order_relaxed);
	if (n == sh->dying_cap) {
		uint32_t cap = sh->dying_cap ? sh->dying_cap * 2 : 4;
		struct shard_dying *d = realloc(sh->dying, cap * sizeof(*d));
		if (!d) {
			/* Cannot defer the rest: remove it now, whatever it costs. */
			sublist_remove_owner(sh->subs, owner);
			if (big)
				shard_freed(sh);
			else
				sh->env.want_trim(sh->env.ctx);
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
static bool shard_reap(struct shard *sh)
{
	uint32_t n = atomic_load_explicit(&sh->ndying, memory_order_relaxed);
	if (n == 0)
		return false;
	struct shard_dying *d = &sh->dying[0];
	if (sublist_remove_owner_max(sh->subs, d->owner, SHARD_REAP_SLICE) == 0) {
		/* Many subscriptions gone: ask for the freed memory to be given
		 * back to the system (malloc keeps it otherwise). */
		if (d->total >= SHARD_TRIM_AFTER)
			shard_freed(sh);
		memmove(&sh->dying[0], &sh->dying[1], (n - 1) * sizeof(*d));
		atomic_store_explicit(&sh->ndying, n - 1, memory_order_relaxed);
	}
	return true;
}

/* ---- applying a batch ---- */

/* Returns how many deliveries the message made. */
static uint32_t shard_apply_msg(struct shard *sh, int io, const struct mbatch *b,
                                const struct mentry *e)
{
	const char *subj = mentry_str(b, e);
	const struct sublist_result *res = sublist_match(sh->subs, subj, e->subject_len);
	bool no_echo = e->flags & MENTRY_F_NO_ECHO;
	uint32_t delivered = 0;

	if (RB_UNLIKELY(!res))
		return 0;      /* out of memory in the match cache: counted as not delivered */
	bool answered = false; /* a request waits, or was answered busy */
	sh->share = res->nplain + res->ngroups > 1 ? DELIVERY_F_SHARED : 0;
	if (RB_UNLIKELY(sh->env.cluster)) {
		delivered = shard_route_msg(sh, io, b, e, res, &answered);
		goto done;
	}
	bool dying = atomic_load_explicit(&sh->ndying, memory_order_relaxed) != 0;
	if (RB_LIKELY(!dying))
		delivered = shard_deliver_plain(sh, io, b, e, res->plain, res->nplain, no_echo);
	else
		for (uint32_t i = 0; i < res->nplain; i++)
			delivered += shard_deliver_to(sh, io, b, e, res->plain[i], no_echo, dying);
	bool aware = e->reply_len && sh->env.svc &&
	             atomic_load_explicit(&sh->env.svc->aware, memory_order_relaxed);
	for (uint32_t g = 0; g < res->ngroups; g++) {
		struct sublist_qgroup *grp = &res->groups[g];
		if (aware) {
			delivered += shard_request(sh, io, b, e, grp, no_echo, dying, &answered);
			continue;
		}
		/* one member: the next that takes it (not the publisher under
		 * echo:false, not one whose connection closed) */
		for (uint32_t tries = 0; tries < grp->n; tries++)
			if (shard_deliver_to(sh, io, b, e, sublist_pick(grp), no_echo, dying)) {
				delivered++;
				break;
			}
	}
done:
	if (delivered == 0 && !answered && (e->flags & MENTRY_F_NO_RESPONDERS) && e->reply_len) {
		struct delivery d = {
		    .conn = e->conn, .b = b, .e = e, .kind = DELIVERY_NO_RESPONDERS};
		shard_emit(sh, io, &d);
	}
	return delivered;
}

static void shard_apply_sub(struct shard *sh, const struct mbatch *b, const struct mentry *e)
{
	const char *s = mentry_str(b, e);
	const char *queue = e->reply_len ? s + e->subject_len : NULL;
	const char *sid = s + e->subject_len + e->reply_len;
	int ret = sublist_insert(sh->subs, e->conn, sid, e->sid_len, s, e->subject_len, queue,
	                         e->reply_len, (void *)(uintptr_t)e->aux);
	if (ret && ret != -EEXIST)
		log_warn("shard %d: subscription not added: %s", sh->index,
		         ret == -ENOMEM ? "out of memory" : "invalid");
	uint64_t ref = (uint64_t)e->len << 32 | e->hdr_len;
	bool remote = e->flags & MENTRY_F_REMOTE;
	if (remote) /* a route's or a leaf's: never a service member here; its weight */
		ref = SHARD_LOAD_REMOTE | (e->flags & MENTRY_F_LEAF ? SHARD_LOAD_LEAF : 0) | e->len;
	/* the same remote SUB again carries a new weight */
	if ((ret == 0 || (ret == -EEXIST && remote)) && ref && (queue || remote)) {
		struct sublist_sub *sub = sublist_find(sh->subs, e->conn, sid, e->sid_len);
		if (sub)
			sub->load = ref;
	}
}

static void shard_apply(struct shard *sh, struct mbatch *b)
{
	int io = b->src;
	uint64_t deliveries = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct mentry *e = &b->e[i];
		switch (e->kind) {
		case MENTRY_MSG:
			deliveries += shard_apply_msg(sh, io, b, e);
			break;
		case MENTRY_SUB:
			shard_apply_sub(sh, b, e);
			break;
		case MENTRY_UNSUB: {
			sublist_remove(sh->subs, e->conn, mentry_str(b, e), e->sid_len);
			struct delivery d = {
			    .conn = e->conn, .subid = e->aux, .kind = DELIVERY_UNSUBBED};
			shard_emit(sh, io, &d);
			break;
		}
		case MENTRY_CLOSE:
			shard_close_owner(sh, e->conn);
			break;
		case MENTRY_KICK:
			shard_request_kick(sh, io);
			break;
		}
		if (e->flags & MENTRY_F_RUN_END)
			shard_end_run(sh, io);
	}
	shard_count(&sh->st.msgs, b->nmsgs);
	shard_count(&sh->st.deliveries, deliveries);
	shard_count(&sh->st.batches, 1);
	mbatch_unref(b);
}

/* The batch left the queue: update the admission measure and clear the
 * over-mark state at the low marks (hysteresis). */
static void shard_dequeued(struct shard *sh, const struct mbatch *b)
{
	uint64_t q =
	    atomic_fetch_sub_explicit(&sh->q_bytes, b->bytes, memory_order_relaxed) - b->bytes;
	uint64_t m =
	    atomic_fetch_sub_explicit(&sh->q_msgs, b->nmsgs, memory_order_relaxed) - b->nmsgs;
	if (RB_LIKELY(!atomic_load_explicit(&sh->over, memory_order_relaxed)))
		return;
	uint64_t low_bytes, low_msgs;
	sh->env.low_marks(sh->env.ctx, &low_bytes, &low_msgs);
	if (q <= low_bytes && m <= low_msgs) {
		atomic_store_explicit(&sh->over, false, memory_order_relaxed);
		sh->env.marks_cleared(sh->env.ctx);
	}
}

static void shard_update_stats(struct shard *sh, uint64_t t0)
{
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

unsigned shard_run(struct shard *sh, unsigned budget)
{
	unsigned n = 0;
	void *p;
	uint64_t t0 = clock_now_ns();
	while (n < budget && ring_pop_mpmc(&sh->in, &p)) {
		shard_dequeued(sh, p);
		shard_apply(sh, p);
		n++;
	}
	if (shard_reap(sh))
		n++;
	if (n)
		shard_update_stats(sh, t0);
	shard_flush(sh);
	return n;
}

void shard_release_and_check(struct shard *sh)
{
	shard_release(sh);
	/* seq_cst release above, then the ring: pairs with the worker's
	 * wake_prepare() + claimed/ring check before it sleeps. */
	if (shard_has_work(sh))
		wake_notify(sh->owner_wake);
}
