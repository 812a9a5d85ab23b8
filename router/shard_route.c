/* Matching in a server with routes (docs/CLUSTER.md). A route's interest
 * lives in the index like a local subscription (its load word marked
 * SHARD_LOAD_REMOTE), so a message crosses to a route only when someone
 * there wants it, and once per route however many of its subscriptions
 * match: one RMSG, listing the queue groups whose member was picked there.
 * Local members of a queue group are preferred (a route gets the message
 * for a group only when no local member can take it). A message that came
 * from a route goes to local subscribers only (NATS's one-hop rule) and to
 * one local member of each queue group it lists. */
#include <string.h>

#include "router/index/sublist.h"
#include "router/service.h"
#include "router/shard_int.h"

/* Routes one message may go to, and queue groups per route, at the most. */
#define ROUTE_OUT_MAX    16
#define ROUTE_GROUPS_MAX 32

struct route_out {
	uint64_t owner;
	uint32_t plain; /* a plain subscription's number, or 0 */
	uint32_t ngroups;
	uint32_t groups[ROUTE_GROUPS_MAX]; /* queue subscriptions' numbers */
};

struct route_outs {
	struct route_out o[ROUTE_OUT_MAX];
	uint32_t n;
};

static inline bool sub_remote(const struct sublist_sub *m)
{
	return m->load & SHARD_LOAD_REMOTE;
}

static struct route_out *route_out_of(struct route_outs *r, uint64_t owner)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (r->o[i].owner == owner)
			return &r->o[i];
	if (r->n == ROUTE_OUT_MAX)
		return NULL;
	struct route_out *o = &r->o[r->n++];
	o->owner = owner;
	o->plain = 0;
	o->ngroups = 0;
	return o;
}

/* Is queue group @q (NUL-terminated) in the blank-separated list @l? */
static bool route_list_has(const char *l, size_t n, const char *q)
{
	size_t qlen = strlen(q);
	for (size_t i = 0; i < n;) {
		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		size_t s = i;
		while (i < n && l[i] != ' ' && l[i] != '\t')
			i++;
		if (i - s == qlen && !memcmp(l + s, q, qlen))
			return true;
	}
	return false;
}

static bool group_has_local(const struct sublist_qgroup *g)
{
	for (uint32_t i = 0; i < g->n; i++)
		if (!sub_remote(g->members[i]))
			return true;
	return false;
}

/* One local member of @g (round robin), or 0 when none takes it. */
static uint32_t route_pick_local(struct shard *sh, int io, const struct mbatch *b,
                                 const struct mentry *e, struct sublist_qgroup *g, bool no_echo,
                                 bool dying, bool *answered)
{
	bool aware = e->reply_len && sh->env.svc &&
	             atomic_load_explicit(&sh->env.svc->aware, memory_order_relaxed);
	if (aware)
		return shard_request(sh, io, b, e, g, no_echo, dying, answered);
	for (uint32_t tries = 0; tries < g->n; tries++) {
		const struct sublist_sub *m = sublist_pick(g);
		if (!sub_remote(m) && shard_deliver_to(sh, io, b, e, m, no_echo, dying))
			return 1;
	}
	return 0;
}

/* How much @m counts when a remote member of its group is picked: a
 * route's weight (its members there; 0: never), a leaf's 1, as nats-server
 * counts them; 0 for one that may not take the message. */
static uint64_t remote_weight(struct shard *sh, const struct sublist_sub *m, bool dying,
                              uint64_t from, bool leaf_only)
{
	if (!sub_remote(m) || m->owner == from || (leaf_only && !(m->load & SHARD_LOAD_LEAF)) ||
	    (RB_UNLIKELY(dying) && shard_owner_dying(sh, m->owner)))
		return 0;
	return m->load & SHARD_LOAD_LEAF ? 1 : m->load & SHARD_LOAD_WEIGHT;
}

/* A route's or leaf's member of @g (not of @from, where the message came
 * from; with @leaf_only, a leaf's), drawn at random in proportion to the
 * weights: its connection gets the group in its RMSG/LMSG. */
static void route_pick_remote(struct shard *sh, struct sublist_qgroup *g, bool dying, uint64_t from,
                              bool leaf_only, struct route_outs *outs)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < g->n; i++)
		total += remote_weight(sh, g->members[i], dying, from, leaf_only);
	if (!total)
		return;
	uint64_t x = sh->rng; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	sh->rng = x;
	uint64_t r = x % total;
	for (uint32_t i = 0; i < g->n; i++) {
		const struct sublist_sub *m = g->members[i];
		uint64_t w = remote_weight(sh, m, dying, from, leaf_only);
		if (r >= w) {
			r -= w;
			continue;
		}
		struct route_out *o = route_out_of(outs, m->owner);
		if (o && o->ngroups < ROUTE_GROUPS_MAX)
			o->groups[o->ngroups++] = (uint32_t)(uintptr_t)m->data;
		return;
	}
}

/* One delivery per route, and one more per further queue group, kept
 * together in one dbatch. Returns the routes reached. */
static uint32_t route_emit(struct shard *sh, int io, const struct mbatch *b, const struct mentry *e,
                           const struct route_outs *outs)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < outs->n; i++) {
		const struct route_out *o = &outs->o[i];
		uint32_t first = o->ngroups ? o->groups[0] : o->plain;
		uint32_t more = o->ngroups ? o->ngroups - 1 : 0;
		shard_emit_room(sh, io, b, more + 1);
		struct delivery *d = shard_emit_slot(sh, io, b, false);
		if (!d)
			continue;
		*d =
		    (struct delivery){.conn = o->owner,
		                      .b = b,
		                      .e = e,
		                      .subid = first,
		                      .kind = DELIVERY_MSG,
		                      .flags = (uint16_t)(more << DELIVERY_MORE_SHIFT | sh->share)};
		for (uint32_t k = 1; k <= more; k++) {
			d = shard_emit_slot(sh, io, b, false);
			if (d)
				*d = (struct delivery){.conn = o->owner,
				                       .b = b,
				                       .e = e,
				                       .subid = o->groups[k],
				                       .kind = DELIVERY_MSG,
				                       .flags = DELIVERY_F_CONT};
		}
		n++;
	}
	return n;
}

uint32_t shard_route_msg(struct shard *sh, int io, const struct mbatch *b, const struct mentry *e,
                         const struct sublist_result *res, bool *answered)
{
	bool no_echo = e->flags & MENTRY_F_NO_ECHO;
	bool routed = e->flags & MENTRY_F_ROUTED;
	bool from_remote = e->flags & (MENTRY_F_ROUTED | MENTRY_F_FROM_LEAF);
	bool local = e->flags & MENTRY_F_LOCAL; /* a stream import's copy: not beyond us */
	bool dying = atomic_load_explicit(&sh->ndying, memory_order_relaxed) != 0;
	uint32_t delivered = 0;
	struct route_outs outs;
	outs.n = 0;

	for (uint32_t i = 0; i < res->nplain; i++) {
		const struct sublist_sub *m = res->plain[i];
		if (!sub_remote(m)) {
			delivered += shard_deliver_to(sh, io, b, e, m, no_echo, dying);
			continue;
		}
		/* one hop: never from a route to a route; never back where it came from */
		if (local || (routed && !(m->load & SHARD_LOAD_LEAF)) || m->owner == e->conn ||
		    (RB_UNLIKELY(dying) && shard_owner_dying(sh, m->owner)))
			continue;
		struct route_out *o = route_out_of(&outs, m->owner);
		if (o && !o->plain)
			o->plain = (uint32_t)(uintptr_t)m->data;
	}
	const char *list = e->payload + e->len; /* never lent (client_publish_acc) */
	for (uint32_t g = 0; g < res->ngroups; g++) {
		struct sublist_qgroup *grp = &res->groups[g];
		if (grp->n == 0)
			continue;
		/* a message from a route or leaf is for the groups it lists */
		if (from_remote && !route_list_has(list, e->sid_len, grp->members[0]->queue))
			continue;
		uint32_t got = 0;
		if (group_has_local(grp))
			got = route_pick_local(sh, io, b, e, grp, no_echo, dying, answered);
		/* no local member: a route's or leaf's; never back where it came
		 * from, and from a route only to a leaf (one hop) */
		if (!got && !*answered && !local)
			route_pick_remote(sh, grp, dying, e->conn, routed, &outs);
		delivered += got;
	}
	if (outs.n)
		delivered += route_emit(sh, io, b, e, &outs);
	return delivered;
}
