/* The subscription index of one shard: insertion and removal of entries in the
 * literal table, the wildcard trie, queue groups and per-owner lists.
 * Matching and the result cache are in sublist_match.c. Owner: shard worker. */
#include "router/index/sublist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "router/index/subject.h"
#include "router/index/sublist_int.h"

static uint32_t sublist_random(struct sublist *sl)
{
	sl->rng += 0x9e3779b97f4a7c15ull;
	return (uint32_t)(hash_u64(sl->rng) >> 32);
}

static struct sublist_entry *sublist_entry_of(struct sublist_sub *sub)
{
	return (struct sublist_entry *)sub; /* sub is the first member */
}

/* ---- keys ---------------------------------------------------------------- */

struct sublist_sid_key {
	uint64_t owner;
	const char *sid;
	size_t len;
};

static uint64_t sublist_sid_hash(uint64_t owner, const char *sid, size_t len)
{
	return hash_bytes(sid, len) ^ hash_u64(owner + 0x9e3779b97f4a7c15ull);
}

static bool sublist_sid_eq(const void *item, const void *key)
{
	const struct sublist_entry *e = item;
	const struct sublist_sid_key *k = key;
	return e->sub.owner == k->owner && e->sub.sid_len == k->len &&
	       memcmp(e->sub.sid, k->sid, k->len) == 0;
}

static bool sublist_owner_eq(const void *item, const void *key)
{
	return ((const struct sublist_owner *)item)->id == *(const uint64_t *)key;
}

/* ---- sets: plain subscriptions and queue groups of one place ------------- */

static bool sublist_set_empty(const struct sublist_set *s)
{
	return s->nplain == 0 && s->ngroups == 0;
}

static void sublist_set_fini(struct sublist_set *s)
{
	free(s->plain);
	free(s->groups);
}

static struct sublist_group *sublist_set_group(struct sublist_set *s, const char *name,
                                               uint32_t len, uint64_t h)
{
	for (uint32_t i = 0; i < s->ngroups; i++) {
		struct sublist_group *g = s->groups[i];
		if (g->name_hash == h && g->name_len == len && memcmp(g->name, name, len) == 0)
			return g;
	}
	return NULL;
}

/* Adds @e to @s, in its queue group when it has one. Returns 0 or -ENOMEM
 * (nothing changed). */
static int sublist_set_add(struct sublist *sl, struct sublist_set *s, struct sublist_entry *e)
{
	if (!e->sub.queue) {
		if (sublist_grow(&s->plain, &s->plain_cap, (size_t)s->nplain + 1,
		                 sizeof(*s->plain)))
			return -ENOMEM;
		e->pos = s->nplain;
		s->plain[s->nplain++] = &e->sub;
		return 0;
	}

	uint32_t qlen = e->sub.queue_len;
	uint64_t qh = hash_bytes(e->sub.queue, qlen);
	struct sublist_group *g = sublist_set_group(s, e->sub.queue, qlen, qh);
	bool fresh = !g;
	if (fresh) {
		if (sublist_grow(&s->groups, &s->groups_cap, (size_t)s->ngroups + 1,
		                 sizeof(*s->groups)))
			return -ENOMEM;
		g = calloc(1, sizeof(*g) + qlen + 1);
		if (!g)
			return -ENOMEM;
		memcpy(g->name, e->sub.queue, qlen);
		g->name_len = qlen;
		g->name_hash = qh;
		g->cursor = sublist_random(sl);
	}
	if (sublist_grow(&g->members, &g->cap, (size_t)g->n + 1, sizeof(*g->members))) {
		if (fresh)
			free(g);
		return -ENOMEM;
	}
	if (fresh) {
		g->pos = s->ngroups;
		s->groups[s->ngroups++] = g;
	}
	e->group = g;
	e->pos = g->n;
	g->members[g->n++] = &e->sub;
	return 0;
}

/* Takes @e out of @s (swap with the last element), freeing its group when it
 * was the last member. */
static void sublist_set_del(struct sublist_set *s, struct sublist_entry *e)
{
	struct sublist_group *g = e->group;
	struct sublist_sub **arr = g ? g->members : s->plain;
	uint32_t last = (g ? g->n : s->nplain) - 1;

	arr[e->pos] = arr[last];
	sublist_entry_of(arr[e->pos])->pos = e->pos;
	if (!g) {
		s->nplain = last;
		return;
	}
	g->n = last;
	if (g->n > 0)
		return;
	s->groups[g->pos] = s->groups[s->ngroups - 1];
	s->groups[g->pos]->pos = g->pos;
	s->ngroups--;
	free(g->members);
	free(g);
}

/* ---- the literal table -------------------------------------------------- */

static struct sublist_lit *sublist_lit_get(struct sublist *sl, const char *subj, uint32_t len)
{
	uint64_t h = hash_bytes(subj, len);
	struct sublist_str_key k = {subj, len};
	struct sublist_lit *l = sublist_tab_find(&sl->lits, h, sublist_lit_eq, &k);
	if (l)
		return l;
	if (sublist_tab_reserve(&sl->lits))
		return NULL;
	l = calloc(1, sizeof(*l) + len + 1);
	if (!l)
		return NULL;
	memcpy(l->subject, subj, len);
	l->len = len;
	l->hash = h;
	sublist_tab_insert(&sl->lits, h, l);
	return l;
}

static void sublist_lit_release(struct sublist *sl, struct sublist_lit *l)
{
	if (!sublist_set_empty(&l->set))
		return;
	sublist_tab_remove(&sl->lits, l->hash, l);
	sublist_set_fini(&l->set);
	free(l);
}

/* ---- the wildcard trie -------------------------------------------------- */

static struct sublist_node *sublist_node_new(struct sublist_node *parent, const char *tok,
                                             uint32_t len, uint64_t h)
{
	struct sublist_node *n = calloc(1, sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	n->parent = parent;
	memcpy(n->tok, tok, len);
	n->len = len;
	n->hash = h;
	return n;
}

static void sublist_node_free(struct sublist_node *n)
{
	sublist_tab_fini(&n->children);
	sublist_set_fini(&n->set);
	free(n);
}

/* Frees @n and its ancestors below the root while they hold nothing. */
static void sublist_node_prune(struct sublist *sl, struct sublist_node *n)
{
	while (n != sl->root && sublist_set_empty(&n->set) && n->children.count == 0 && !n->star &&
	       !n->fwc) {
		struct sublist_node *p = n->parent;
		if (p->star == n)
			p->star = NULL;
		else if (p->fwc == n)
			p->fwc = NULL;
		else
			sublist_tab_remove(&p->children, n->hash, n);
		sublist_node_free(n);
		n = p;
	}
}

/* The child of @n for token @tok, created when absent, or NULL (-ENOMEM). */
static struct sublist_node *sublist_node_child(struct sublist_node *n, const char *tok,
                                               uint32_t len)
{
	struct sublist_node **slot = NULL;
	if (len == 1 && tok[0] == '*')
		slot = &n->star;
	else if (len == 1 && tok[0] == '>')
		slot = &n->fwc;
	if (slot) {
		if (!*slot)
			*slot = sublist_node_new(n, tok, len, 0);
		return *slot;
	}

	uint64_t h = hash_bytes(tok, len);
	struct sublist_str_key k = {tok, len};
	struct sublist_node *c = sublist_tab_find(&n->children, h, sublist_node_eq, &k);
	if (c)
		return c;
	if (sublist_tab_reserve(&n->children))
		return NULL;
	c = sublist_node_new(n, tok, len, h);
	if (c)
		sublist_tab_insert(&n->children, h, c);
	return c;
}

/* The node where the wildcard subject @subj ends, with the path created, or
 * NULL when out of memory (nothing left behind). */
static struct sublist_node *sublist_node_path(struct sublist *sl, const char *subj, uint32_t len)
{
	struct sublist_node *n = sl->root;
	const char *p = subj, *end = subj + len;

	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		uint32_t tl = (uint32_t)((dot ? dot : end) - p);
		struct sublist_node *c = sublist_node_child(n, p, tl);
		if (!c) {
			sublist_node_prune(sl, n);
			return NULL;
		}
		n = c;
		if (!dot)
			return n;
		p = dot + 1;
	}
}

/* ---- owners --------------------------------------------------------------- */

static struct sublist_owner *sublist_owner_find(struct sublist *sl, uint64_t id)
{
	return sublist_tab_find(&sl->owners, hash_u64(id), sublist_owner_eq, &id);
}

static struct sublist_owner *sublist_owner_get(struct sublist *sl, uint64_t id)
{
	struct sublist_owner *o = sublist_owner_find(sl, id);
	if (o)
		return o;
	if (sublist_tab_reserve(&sl->owners))
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->id = id;
	sublist_tab_insert(&sl->owners, hash_u64(id), o);
	return o;
}

static void sublist_owner_release(struct sublist *sl, struct sublist_owner *o)
{
	if (o->n > 0)
		return;
	sublist_tab_remove(&sl->owners, hash_u64(o->id), o);
	free(o);
}

/* ---- public API ------------------------------------------------------------ */

struct sublist *sublist_new(void)
{
	struct sublist *sl = calloc(1, sizeof(*sl));
	if (!sl)
		return NULL;
	sl->root = sublist_node_new(NULL, "", 0, 0);
	if (!sl->root)
		goto err_sl;
	if (sublist_cache_init(&sl->cache))
		goto err_root;
	sl->gen = 1;
	sl->rng = clock_now_ns() ^ (uint64_t)(uintptr_t)sl;
	return sl;

err_root:
	sublist_node_free(sl->root);
err_sl:
	free(sl);
	return NULL;
}

void sublist_free(struct sublist *sl)
{
	if (!sl)
		return;
	/* Removing owners reshapes (and shrinks) the owner table: collect their
	 * ids first. */
	uint32_t n = 0, cap = sl->owners.slots ? sl->owners.mask + 1 : 0;
	uint64_t *ids = cap ? malloc(sizeof(*ids) * sl->owners.count) : NULL;
	for (uint32_t i = 0; ids && i < cap; i++)
		if (sl->owners.slots[i].item)
			ids[n++] = ((struct sublist_owner *)sl->owners.slots[i].item)->id;
	for (uint32_t i = 0; i < n; i++)
		sublist_remove_owner(sl, ids[i]);
	free(ids);
	sublist_tab_fini(&sl->lits);
	sublist_tab_fini(&sl->sids);
	sublist_tab_fini(&sl->owners);
	sublist_node_free(sl->root);
	sublist_cache_fini(&sl->cache, &sl->scratch);
	free(sl);
}

struct sublist_sub *sublist_find(struct sublist *sl, uint64_t owner, const char *sid,
                                 size_t sid_len)
{
	struct sublist_sid_key k = {owner, sid, sid_len};
	struct sublist_entry *e =
	    sublist_tab_find(&sl->sids, sublist_sid_hash(owner, sid, sid_len), sublist_sid_eq, &k);
	return e ? &e->sub : NULL;
}

int sublist_insert(struct sublist *sl, uint64_t owner, const char *sid, size_t sid_len,
                   const char *subject, size_t subject_len, const char *queue, size_t queue_len,
                   void *data)
{
	if (sid_len > UINT32_MAX || subject_len > UINT32_MAX || queue_len > UINT32_MAX ||
	    (queue && queue_len == 0) || !subject_valid_sub(subject, subject_len))
		return -EINVAL;
	if (sublist_find(sl, owner, sid, sid_len))
		return -EEXIST;

	size_t qsize = queue ? queue_len + 1 : 0;
	struct sublist_entry *e = calloc(1, sizeof(*e) + sid_len + 1 + subject_len + 1 + qsize);
	if (!e)
		return -ENOMEM;
	char *p = e->strings;
	memcpy(p, sid, sid_len);
	e->sub.sid = p;
	p += sid_len + 1;
	memcpy(p, subject, subject_len);
	e->sub.subject = p;
	p += subject_len + 1;
	if (queue) {
		memcpy(p, queue, queue_len);
		e->sub.queue = p;
	}
	e->sub.owner = owner;
	e->sub.data = data;
	e->sub.sid_len = (uint32_t)sid_len;
	e->sub.subject_len = (uint32_t)subject_len;
	e->sub.queue_len = queue ? (uint32_t)queue_len : 0;
	e->key_hash = sublist_sid_hash(owner, sid, sid_len);

	if (sublist_tab_reserve(&sl->sids))
		goto err_entry;
	struct sublist_owner *o = sublist_owner_get(sl, owner);
	if (!o)
		goto err_entry;
	struct sublist_set *set;
	if (subject_has_wildcard(subject, subject_len)) {
		e->node = sublist_node_path(sl, subject, (uint32_t)subject_len);
		if (!e->node)
			goto err_owner;
		set = &e->node->set;
	} else {
		e->lit = sublist_lit_get(sl, subject, (uint32_t)subject_len);
		if (!e->lit)
			goto err_owner;
		set = &e->lit->set;
	}
	if (sublist_set_add(sl, set, e))
		goto err_place;

	/* Nothing can fail from here on. */
	sublist_tab_insert(&sl->sids, e->key_hash, e);
	e->own = o;
	e->onext = o->head;
	if (o->head)
		o->head->oprev = e;
	o->head = e;
	o->n++;
	if (e->node)
		sl->nwild++;
	sl->stats.subs++;
	sl->stats.inserts++;
	sl->gen++;
	return 0;

err_place:
	if (e->node)
		sublist_node_prune(sl, e->node);
	else
		sublist_lit_release(sl, e->lit);
err_owner:
	sublist_owner_release(sl, o);
err_entry:
	free(e);
	return -ENOMEM;
}

/* Removes @e from every structure and frees it; leaves its owner record, even
 * when empty, to the caller. */
static void sublist_unlink(struct sublist *sl, struct sublist_entry *e)
{
	if (e->node) {
		sublist_set_del(&e->node->set, e);
		sublist_node_prune(sl, e->node);
		sl->nwild--;
	} else {
		sublist_set_del(&e->lit->set, e);
		sublist_lit_release(sl, e->lit);
	}
	sublist_tab_remove(&sl->sids, e->key_hash, e);
	if (e->oprev)
		e->oprev->onext = e->onext;
	else
		e->own->head = e->onext;
	if (e->onext)
		e->onext->oprev = e->oprev;
	e->own->n--;
	sl->stats.subs--;
	sl->stats.removes++;
	free(e);
}

int sublist_remove(struct sublist *sl, uint64_t owner, const char *sid, size_t sid_len)
{
	struct sublist_sub *sub = sublist_find(sl, owner, sid, sid_len);
	if (!sub)
		return -ENOENT;
	struct sublist_entry *e = sublist_entry_of(sub);
	struct sublist_owner *o = e->own;
	sublist_unlink(sl, e);
	sublist_owner_release(sl, o);
	sl->gen++;
	return 0;
}

size_t sublist_remove_owner(struct sublist *sl, uint64_t owner)
{
	struct sublist_owner *o = sublist_owner_find(sl, owner);
	size_t n = o ? o->n : 0;
	sublist_remove_owner_max(sl, owner, SIZE_MAX);
	return n;
}

size_t sublist_remove_owner_max(struct sublist *sl, uint64_t owner, size_t max)
{
	struct sublist_owner *o = sublist_owner_find(sl, owner);
	if (!o)
		return 0;
	for (size_t i = 0; i < max && o->head; i++)
		sublist_unlink(sl, o->head);
	sl->gen++;
	size_t left = o->n;
	sublist_owner_release(sl, o);
	return left;
}

void sublist_get_stats(const struct sublist *sl, struct sublist_stats *out)
{
	*out = sl->stats;
	out->cache_entries = sl->cache.gen == sl->gen ? sl->cache.entries : 0;
}
