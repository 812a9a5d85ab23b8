/* Private to the sublist module (sublist.c, sublist_match.c): the structures
 * behind struct sublist and a small open-addressing hash table they share.
 * Owner: the shard worker that owns the struct sublist they belong to. */
#ifndef ROUTER_INDEX_SUBLIST_INT_H
#define ROUTER_INDEX_SUBLIST_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/index/sublist.h"

/* Result cache bounds: at most SUBLIST_CACHE_SLOTS subjects; results live in
 * fixed arenas that are emptied (with every entry) when one is full. A result
 * larger than an eighth of an arena is not cached. Arrays a result can borrow
 * from the index take no arena space. About 2.3 MiB of address space per
 * index, touched only as the cache fills. */
#define SUBLIST_CACHE_SLOTS  8192u
#define SUBLIST_CACHE_PROBE  4u
#define SUBLIST_CACHE_PTRS   131072u
#define SUBLIST_CACHE_GROUPS 16384u
#define SUBLIST_CACHE_CHARS  262144u

/* ---- open-addressing table: (hash, item) slots, linear probing ---------- */

struct sublist_slot {
	uint64_t hash;
	void *item; /* NULL: empty slot */
};

/* A table with no slots yet (all zero) is valid and empty. */
struct sublist_table {
	struct sublist_slot *slots;
	uint32_t mask;
	uint32_t count;
};

/* True when @item is the one @key names. */
typedef bool (*sublist_eq_fn)(const void *item, const void *key);

/* The item of hash @h for which @eq(item, @key) holds, or NULL. Borrows all. */
static inline void *sublist_tab_find(const struct sublist_table *t, uint64_t h, sublist_eq_fn eq,
                                     const void *key)
{
	if (!t->slots)
		return NULL;
	for (uint32_t i = (uint32_t)h & t->mask; t->slots[i].item; i = (i + 1) & t->mask)
		if (t->slots[i].hash == h && eq(t->slots[i].item, key))
			return t->slots[i].item;
	return NULL;
}

static inline void sublist_tab_place(struct sublist_table *t, uint64_t h, void *item)
{
	uint32_t i = (uint32_t)h & t->mask;
	while (t->slots[i].item)
		i = (i + 1) & t->mask;
	t->slots[i].hash = h;
	t->slots[i].item = item;
	t->count++;
}

/* Moves every item into a fresh array of @ncap slots (a power of two).
 * Returns 0, or -ENOMEM with the table unchanged. */
static inline int sublist_tab_rehash(struct sublist_table *t, uint32_t ncap)
{
	uint32_t cap = t->slots ? t->mask + 1 : 0;
	struct sublist_slot *old = t->slots;
	struct sublist_slot *fresh = calloc(ncap, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	t->slots = fresh;
	t->mask = ncap - 1;
	t->count = 0;
	for (uint32_t i = 0; i < cap; i++)
		if (old[i].item)
			sublist_tab_place(t, old[i].hash, old[i].item);
	free(old);
	return 0;
}

/* Makes room for one more item (load kept under 3/4), so that the next
 * sublist_tab_insert() cannot fail. Returns 0 or -ENOMEM (table unchanged). */
static inline int sublist_tab_reserve(struct sublist_table *t)
{
	uint32_t cap = t->slots ? t->mask + 1 : 0;
	if ((uint64_t)(t->count + 1) * 4 <= (uint64_t)cap * 3)
		return 0;
	return sublist_tab_rehash(t, cap ? cap * 2 : 8);
}

/* Adds @item (not already present) under @h. Call sublist_tab_reserve()
 * first. Borrows @item: the table never frees items. */
static inline void sublist_tab_insert(struct sublist_table *t, uint64_t h, void *item)
{
	sublist_tab_place(t, h, item);
}

/* Removes @item, stored under @h, shifting later slots of its run back so
 * that no tombstones are needed. @item must be present. */
static inline void sublist_tab_shrink(struct sublist_table *t);

static inline void sublist_tab_remove(struct sublist_table *t, uint64_t h, const void *item)
{
	uint32_t i = (uint32_t)h & t->mask;
	while (t->slots[i].item != item)
		i = (i + 1) & t->mask;
	t->slots[i].item = NULL;
	t->count--;
	for (uint32_t j = (i + 1) & t->mask; t->slots[j].item; j = (j + 1) & t->mask) {
		uint32_t home = (uint32_t)t->slots[j].hash & t->mask;
		/* The item at j may fill the hole at i unless its home lies in (i, j]. */
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j].item = NULL;
		i = j;
	}
	sublist_tab_shrink(t);
}

/* Gives memory back when the table has emptied out: freed whole when empty,
 * rebuilt at a quarter of its size when under 1/8 full (so a million
 * subscriptions that come and go do not pin a million slots). On allocation
 * failure the table stays as it is. Never call while iterating the table. */
static inline void sublist_tab_shrink(struct sublist_table *t)
{
	uint32_t cap = t->slots ? t->mask + 1 : 0;
	if (t->count == 0 && cap > 0) {
		free(t->slots);
		t->slots = NULL;
		t->mask = 0;
		return;
	}
	if (cap < 256 || (uint64_t)t->count * 8 >= cap)
		return;
	(void)sublist_tab_rehash(t, cap / 4); /* on failure it stays as it is */
}

static inline void sublist_tab_fini(struct sublist_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
}

/* ---- the index ---------------------------------------------------------- */

/* One queue group of one subscription place. Its cursor is the round-robin
 * position that sublist_pick() advances; it lives as long as the group. */
struct sublist_group {
	struct sublist_sub **members;
	uint32_t n, cap;
	uint32_t cursor;
	uint32_t pos; /* index in the set's groups */
	uint64_t name_hash;
	uint32_t name_len;
	char name[];
};

/* The subscriptions that end at one place (a literal subject or a trie node). */
struct sublist_set {
	struct sublist_sub **plain;
	struct sublist_group **groups;
	uint32_t nplain, plain_cap;
	uint32_t ngroups, groups_cap;
};

/* A literal subject that has subscriptions. */
struct sublist_lit {
	struct sublist_set set;
	uint64_t hash;
	uint32_t len;
	char subject[];
};

/* A node of the wildcard trie: one token under its parent. '*' and '>'
 * children have their own slots; literal tokens are in @children. */
struct sublist_node {
	struct sublist_node *parent;
	struct sublist_node *star, *fwc;
	struct sublist_table children;
	struct sublist_set set;
	uint64_t hash;
	uint32_t len;
	char tok[];
};

/* Keys of the literal table and of trie children: a subject or a token. */
struct sublist_str_key {
	const char *p;
	size_t len;
};

static inline bool sublist_lit_eq(const void *item, const void *key)
{
	const struct sublist_lit *l = item;
	const struct sublist_str_key *k = key;
	return l->len == k->len && memcmp(l->subject, k->p, k->len) == 0;
}

static inline bool sublist_node_eq(const void *item, const void *key)
{
	const struct sublist_node *n = item;
	const struct sublist_str_key *k = key;
	return n->len == k->len && memcmp(n->tok, k->p, k->len) == 0;
}

struct sublist_entry;

/* The subscriptions of one owner, as a doubly linked list. */
struct sublist_owner {
	uint64_t id;
	struct sublist_entry *head;
	size_t n;
};

/* One subscription. @sub comes first so that the public pointer converts back. */
struct sublist_entry {
	struct sublist_sub sub;
	struct sublist_entry *onext, *oprev;
	struct sublist_owner *own;
	struct sublist_group *group; /* NULL for a plain subscription */
	struct sublist_lit *lit;     /* where it lives: a literal subject... */
	struct sublist_node *node;   /* ...or a trie node */
	uint64_t key_hash;           /* of (owner, sid) */
	uint32_t pos;                /* index in set->plain or group->members */
	char strings[];
};

/* One cached result, valid while @stamp equals the cache's. */
struct sublist_cslot {
	uint64_t stamp;
	uint64_t hash;
	const char *subj;
	uint32_t len;
	struct sublist_result res;
};

struct sublist_cache {
	struct sublist_cslot *slots;
	struct sublist_sub **ptrs;     /* arena: plain and member arrays */
	struct sublist_qgroup *groups; /* arena: group arrays */
	char *chars;                   /* arena: subject keys */
	uint32_t nptrs, ngroups, nchars;
	uint32_t entries;   /* valid slots */
	uint32_t evictions; /* picks the slot to evict in a full probe window */
	uint64_t stamp;     /* bumped on every reset */
	uint64_t gen;       /* index generation the contents belong to */
};

struct sublist_token {
	const char *p;
	uint64_t hash;
	uint32_t len;
};

/* Naming data of one merged group while a result is built. */
struct sublist_rgroup {
	const char *name;
	uint64_t hash;
	uint32_t len;
	uint32_t nsrc; /* source groups merged; with one, members are borrowed */
	uint32_t fill;
};

/* Growable buffers reused by every cache miss (they only grow). */
struct sublist_scratch {
	struct sublist_token *toks;
	struct sublist_set **sets;
	struct sublist_sub **plain;
	struct sublist_sub **members;
	struct sublist_qgroup *groups;
	struct sublist_rgroup *rg;
	uint32_t *gmap;
	uint32_t toks_cap, sets_cap, plain_cap, members_cap, groups_cap, rg_cap, gmap_cap;
	uint32_t ntoks, nsets;
	uint32_t ncopied;  /* members copied into @members */
	bool plain_copied; /* res.plain is @plain, not a set's own array */
	struct sublist_result res;
};

/* Owner: one shard worker; no locks, nothing here is shared with threads. */
struct sublist {
	struct sublist_table lits;   /* subject -> struct sublist_lit */
	struct sublist_table sids;   /* (owner, sid) -> struct sublist_entry */
	struct sublist_table owners; /* owner -> struct sublist_owner */
	struct sublist_node *root;
	uint64_t gen;   /* bumped by every insert and remove */
	uint64_t nwild; /* subscriptions in the trie */
	uint64_t rng;   /* start positions of new groups */
	struct sublist_stats stats;
	struct sublist_cache cache;
	struct sublist_scratch scratch;
};

/* sublist_match.c: the cache and the scratch buffers. */

/* Allocates the cache's arenas. Returns 0 or -ENOMEM. */
int sublist_cache_init(struct sublist_cache *c);
/* Frees what sublist_cache_init() and sublist_match() allocated. */
void sublist_cache_fini(struct sublist_cache *c, struct sublist_scratch *s);

/* Ensures @*arr (elements of @elem bytes, capacity @*cap) holds @need.
 * Returns 0 or -ENOMEM (array unchanged). */
int sublist_grow(void *arr, uint32_t *cap, size_t need, size_t elem);

#endif /* ROUTER_INDEX_SUBLIST_INT_H */
