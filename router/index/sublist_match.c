/* Matching a literal subject against the subscription index: literal table
 * and wildcard trie merged into one result, queue groups merged by name, and
 * the generation-checked result cache. Owner: shard worker. */
#include "router/index/sublist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/hash.h"
#include "router/index/sublist_int.h"

int sublist_grow(void *arr, uint32_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 4;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX)
		return -ENOMEM;
	void *old;
	memcpy(&old, arr, sizeof(old));
	void *p = realloc(old, ncap * elem);
	if (!p)
		return -ENOMEM;
	memcpy(arr, &p, sizeof(p));
	*cap = (uint32_t)ncap;
	return 0;
}

int sublist_cache_init(struct sublist_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->slots = calloc(SUBLIST_CACHE_SLOTS, sizeof(*c->slots));
	c->ptrs = malloc(SUBLIST_CACHE_PTRS * sizeof(*c->ptrs));
	c->groups = malloc(SUBLIST_CACHE_GROUPS * sizeof(*c->groups));
	c->chars = malloc(SUBLIST_CACHE_CHARS);
	if (!c->slots || !c->ptrs || !c->groups || !c->chars) {
		sublist_cache_fini(c, NULL);
		return -ENOMEM;
	}
	c->stamp = 1; /* slots start at 0: invalid */
	return 0;
}

void sublist_cache_fini(struct sublist_cache *c, struct sublist_scratch *s)
{
	free(c->slots);
	free(c->ptrs);
	free(c->groups);
	free(c->chars);
	memset(c, 0, sizeof(*c));
	if (!s)
		return;
	free(s->toks);
	free(s->sets);
	free(s->plain);
	free(s->members);
	free(s->groups);
	free(s->rg);
	free(s->gmap);
	memset(s, 0, sizeof(*s));
}

/* Drops every cached result (their slots and arena space) at once. */
static void sublist_cache_reset(struct sublist_cache *c, uint64_t gen)
{
	c->stamp++;
	c->nptrs = 0;
	c->ngroups = 0;
	c->nchars = 0;
	c->entries = 0;
	c->gen = gen;
}

static struct sublist_cslot *sublist_cache_find(struct sublist_cache *c, uint64_t h,
                                                const char *subj, size_t len)
{
	for (uint32_t k = 0; k < SUBLIST_CACHE_PROBE; k++) {
		struct sublist_cslot *s = &c->slots[(h + k) & (SUBLIST_CACHE_SLOTS - 1)];
		if (s->stamp == c->stamp && s->hash == h && s->len == len &&
		    (len == 0 || memcmp(s->subj, subj, len) == 0))
			return s;
	}
	return NULL;
}

/* Copies the result just built in @sl->scratch into the cache and returns the
 * copy, or NULL when it is too large to cache. Arrays the result borrows from
 * the index are not copied: they cannot change before the next insert or
 * remove, which invalidates the cache. */
static const struct sublist_result *sublist_cache_store(struct sublist *sl, uint64_t h,
                                                        const char *subj, size_t len)
{
	struct sublist_cache *c = &sl->cache;
	const struct sublist_scratch *sc = &sl->scratch;
	const struct sublist_result *r = &sc->res;
	size_t nptrs = (sc->plain_copied ? r->nplain : 0) + (size_t)sc->ncopied;

	if (nptrs > SUBLIST_CACHE_PTRS / 8 || r->ngroups > SUBLIST_CACHE_GROUPS / 8 ||
	    len > SUBLIST_CACHE_CHARS / 8)
		return NULL;
	if (c->nptrs + nptrs > SUBLIST_CACHE_PTRS ||
	    c->ngroups + r->ngroups > SUBLIST_CACHE_GROUPS || c->nchars + len > SUBLIST_CACHE_CHARS)
		sublist_cache_reset(c, sl->gen);

	struct sublist_cslot *s = NULL;
	for (uint32_t k = 0; k < SUBLIST_CACHE_PROBE && !s; k++) {
		struct sublist_cslot *t = &c->slots[(h + k) & (SUBLIST_CACHE_SLOTS - 1)];
		if (t->stamp != c->stamp) {
			s = t;
			c->entries++;
		}
	}
	if (!s) /* all taken: evict one (its arena space stays until reset) */
		s = &c->slots[(h + (c->evictions++ % SUBLIST_CACHE_PROBE)) &
		              (SUBLIST_CACHE_SLOTS - 1)];

	char *key = c->chars + c->nchars;
	if (len)
		memcpy(key, subj, len);
	c->nchars += (uint32_t)len;

	s->res = *r;
	if (sc->plain_copied) {
		s->res.plain = c->ptrs + c->nptrs;
		memcpy(s->res.plain, r->plain, r->nplain * sizeof(*r->plain));
		c->nptrs += r->nplain;
	}
	s->res.groups = c->groups + c->ngroups;
	c->ngroups += r->ngroups;
	for (uint32_t i = 0; i < r->ngroups; i++) {
		struct sublist_qgroup *g = &s->res.groups[i];
		*g = r->groups[i];
		if (sc->rg[i].nsrc > 1) {
			g->members = c->ptrs + c->nptrs;
			memcpy(g->members, r->groups[i].members, g->n * sizeof(*g->members));
			c->nptrs += g->n;
		}
	}

	s->stamp = c->stamp;
	s->hash = h;
	s->subj = key;
	s->len = (uint32_t)len;
	return &s->res;
}

/* ---- collecting the sets that match ----------------------------------------- */

static int sublist_push_set(struct sublist_scratch *s, struct sublist_set *set)
{
	if (sublist_grow(&s->sets, &s->sets_cap, (size_t)s->nsets + 1, sizeof(*s->sets)))
		return -ENOMEM;
	s->sets[s->nsets++] = set;
	return 0;
}

/* Splits @subj into @s->toks. Returns 1 when a token is empty (the subject
 * then matches nothing), 0, or -ENOMEM. */
static int sublist_tokenize(struct sublist_scratch *s, const char *subj, size_t len)
{
	const char *p = subj, *end = subj + len;

	s->ntoks = 0;
	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t tl = (size_t)((dot ? dot : end) - p);
		if (tl == 0)
			return 1;
		if (sublist_grow(&s->toks, &s->toks_cap, (size_t)s->ntoks + 1, sizeof(*s->toks)))
			return -ENOMEM;
		struct sublist_token *t = &s->toks[s->ntoks++];
		t->p = p;
		t->len = (uint32_t)tl;
		t->hash = hash_bytes(p, tl);
		if (!dot)
			return 0;
		p = dot + 1;
	}
}

/* Collects the sets of @n's subtree that match tokens @i.. of the subject. */
static int sublist_walk(struct sublist_scratch *s, struct sublist_node *n, uint32_t i)
{
	if (i == s->ntoks)
		return n->set.nplain || n->set.ngroups ? sublist_push_set(s, &n->set) : 0;
	if (n->fwc && sublist_push_set(s, &n->fwc->set))
		return -ENOMEM;
	if (n->star && sublist_walk(s, n->star, i + 1))
		return -ENOMEM;
	if (n->children.count) {
		const struct sublist_token *t = &s->toks[i];
		struct sublist_str_key k = {t->p, t->len};
		struct sublist_node *c =
		    sublist_tab_find(&n->children, t->hash, sublist_node_eq, &k);
		if (c && sublist_walk(s, c, i + 1))
			return -ENOMEM;
	}
	return 0;
}

static int sublist_collect(struct sublist *sl, const char *subj, size_t len, uint64_t h)
{
	struct sublist_scratch *s = &sl->scratch;
	struct sublist_str_key k = {subj, len};

	s->nsets = 0;
	if (len == 0)
		return 0;
	struct sublist_lit *l = sublist_tab_find(&sl->lits, h, sublist_lit_eq, &k);
	if (l && sublist_push_set(s, &l->set))
		return -ENOMEM;
	if (sl->nwild == 0)
		return 0;
	int rc = sublist_tokenize(s, subj, len);
	if (rc)
		return rc < 0 ? rc : 0;
	return sublist_walk(s, sl->root, 0);
}

/* ---- building the result ------------------------------------------------------ */

/* Copies the members of each group that several sets contribute to into
 * one contiguous array (groups from one set keep borrowing theirs). Sets
 * *@nm to the members copied. Returns 0 or -ENOMEM. */
static int sublist_merge_members(struct sublist_scratch *s, uint32_t ng, size_t *nm_out)
{
	size_t nm = 0;
	for (uint32_t r = 0; r < ng; r++) {
		if (s->rg[r].nsrc < 2)
			continue;
		s->rg[r].fill = (uint32_t)nm;
		nm += s->groups[r].n;
	}
	*nm_out = nm;
	if (!nm)
		return 0;
	if (sublist_grow(&s->members, &s->members_cap, nm, sizeof(*s->members)))
		return -ENOMEM;
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->nsets; i++) {
		const struct sublist_set *set = s->sets[i];
		for (uint32_t j = 0; j < set->ngroups; j++) {
			const struct sublist_group *g = set->groups[j];
			struct sublist_rgroup *rg = &s->rg[s->gmap[k++]];
			if (rg->nsrc < 2)
				continue;
			memcpy(s->members + rg->fill, g->members, g->n * sizeof(*s->members));
			rg->fill += g->n;
		}
	}
	for (uint32_t r = 0; r < ng; r++)
		if (s->rg[r].nsrc > 1)
			s->groups[r].members = s->members + (s->rg[r].fill - s->groups[r].n);
	return 0;
}

/* Builds @sl->scratch.res from the collected sets; groups of the same name
 * become one. An array that comes from one place only is borrowed from the
 * index, others are copied into the scratch buffers. Returns 0 or -ENOMEM. */
static int sublist_build(struct sublist *sl)
{
	struct sublist_scratch *s = &sl->scratch;
	struct sublist_set *plain_src = NULL;
	size_t nplain = 0, nsrc = 0;
	uint32_t plain_sets = 0;

	for (uint32_t i = 0; i < s->nsets; i++) {
		struct sublist_set *set = s->sets[i];
		if (set->nplain) {
			plain_sets++;
			plain_src = set;
		}
		nplain += set->nplain;
		nsrc += set->ngroups;
	}
	if (sublist_grow(&s->gmap, &s->gmap_cap, nsrc, sizeof(*s->gmap)) ||
	    sublist_grow(&s->groups, &s->groups_cap, nsrc, sizeof(*s->groups)) ||
	    sublist_grow(&s->rg, &s->rg_cap, nsrc, sizeof(*s->rg)))
		return -ENOMEM;

	struct sublist_sub **plain = plain_src ? plain_src->plain : NULL;
	s->plain_copied = plain_sets > 1;
	if (s->plain_copied) {
		if (sublist_grow(&s->plain, &s->plain_cap, nplain, sizeof(*s->plain)))
			return -ENOMEM;
		plain = s->plain;
	}

	/* Plain subscriptions, and the merged groups' names, sizes and sources. */
	uint32_t np = 0, ng = 0, k = 0;
	for (uint32_t i = 0; i < s->nsets; i++) {
		const struct sublist_set *set = s->sets[i];
		if (s->plain_copied && set->nplain)
			memcpy(plain + np, set->plain, set->nplain * sizeof(*plain));
		np += set->nplain;
		for (uint32_t j = 0; j < set->ngroups; j++) {
			struct sublist_group *g = set->groups[j];
			uint32_t r = 0;
			while (r < ng &&
			       (s->rg[r].hash != g->name_hash || s->rg[r].len != g->name_len ||
			        memcmp(s->rg[r].name, g->name, g->name_len) != 0))
				r++;
			if (r == ng) {
				s->rg[ng] = (struct sublist_rgroup){
				    .name = g->name, .hash = g->name_hash, .len = g->name_len};
				/* The first source group keeps the merged group's cursor. */
				s->groups[ng] = (struct sublist_qgroup){
				    .members = g->members, .next = g->cursor, .home = &g->cursor};
				ng++;
			}
			s->groups[r].n += g->n;
			s->rg[r].nsrc++;
			s->gmap[k++] = r;
		}
	}

	/* Members of groups with several sources, each group's contiguous. */
	size_t nm;
	if (sublist_merge_members(s, ng, &nm) != 0)
		return -ENOMEM;

	s->res = (struct sublist_result){plain, np, s->groups, ng};
	s->ncopied = (uint32_t)nm;
	return 0;
}

const struct sublist_result *sublist_match(struct sublist *sl, const char *subj, size_t len)
{
	struct sublist_cache *c = &sl->cache;

	sl->stats.matches++;
	if (c->gen != sl->gen)
		sublist_cache_reset(c, sl->gen);
	uint64_t h = hash_bytes(subj, len);
	struct sublist_cslot *hit = sublist_cache_find(c, h, subj, len);
	if (RB_LIKELY(hit)) {
		sl->stats.cache_hits++;
		return &hit->res;
	}

	if (sublist_collect(sl, subj, len, h) || sublist_build(sl))
		return NULL;
	const struct sublist_result *r = sublist_cache_store(sl, h, subj, len);
	return r ? r : &sl->scratch.res;
}

struct sublist_sub *sublist_pick(struct sublist_qgroup *g)
{
	uint32_t i = *g->home % g->n;
	*g->home = i + 1;
	g->next = i + 1;
	return g->members[i];
}

struct sublist_sub *sublist_pick_least(struct sublist_qgroup *g, sublist_cost_fn cost, void *ctx)
{
	uint32_t start = *g->home % g->n, best = UINT32_MAX, best_cost = SUBLIST_SKIP;
	for (uint32_t k = 0; k < g->n; k++) {
		uint32_t i = start + k < g->n ? start + k : start + k - g->n;
		uint32_t c = cost(ctx, g->members[i]);
		if (c < best_cost) {
			best_cost = c;
			best = i;
			if (c == 0)
				break; /* nothing is less busy than idle */
		}
	}
	if (best == UINT32_MAX)
		return NULL;
	*g->home = best + 1;
	g->next = best + 1;
	return g->members[best];
}
