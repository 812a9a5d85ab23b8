/* The configuration tree's memory: an arena per tree with a byte budget,
 * nodes, deep copies for $NAME, and the (map, key) indexes of a parse. */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf_int.h"

#define CHUNK_BYTES (64u << 10)
#define BIG_BYTES   (16u << 10) /* larger requests get a chunk of their own */
#define ALIGN       alignof(max_align_t)

struct conf_chunk {
	struct conf_chunk *next;
	alignas(max_align_t) char data[];
};

/* A new chunk of @size usable bytes, counted against the budget. */
static struct conf_chunk *chunk_new(struct conf_ctx *ctx, size_t size)
{
	struct conf_arena *a = &ctx->tree->arena;
	if (a->total + size > CONF_MAX_TREE_BYTES) {
		ctx->alloc_err = -E2BIG;
		return NULL;
	}
	struct conf_chunk *c = malloc(sizeof(*c) + size);
	if (!c) {
		ctx->alloc_err = -ENOMEM;
		return NULL;
	}
	a->total += size;
	return c;
}

/* @size bytes aligned for any type, zeroed, owned by the tree; NULL with
 * ctx->alloc_err set (-ENOMEM, or -E2BIG past CONF_MAX_TREE_BYTES). */
void *conf_alloc(struct conf_ctx *ctx, size_t size)
{
	struct conf_arena *a = &ctx->tree->arena;
	if (size > CONF_MAX_TREE_BYTES) {
		ctx->alloc_err = -E2BIG;
		return NULL;
	}
	size = (size + ALIGN - 1) & ~(ALIGN - 1);
	if (size == 0)
		size = ALIGN;
	if (size > BIG_BYTES) {
		struct conf_chunk *c = chunk_new(ctx, size);
		if (!c)
			return NULL;
		/* Behind the head, so the current chunk keeps filling. */
		if (a->chunks) {
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = NULL;
			a->chunks = c;
		}
		memset(c->data, 0, size);
		return c->data;
	}
	if ((size_t)(a->end - a->next) < size) {
		struct conf_chunk *c = chunk_new(ctx, CHUNK_BYTES);
		if (!c)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
		a->next = c->data;
		a->end = c->data + CHUNK_BYTES;
	}
	void *p = a->next;
	a->next += size;
	memset(p, 0, size);
	return p;
}

/* A NUL-terminated copy of @len bytes of @s in the tree. */
char *conf_strndup(struct conf_ctx *ctx, const char *s, size_t len)
{
	char *d = conf_alloc(ctx, len + 1);
	if (d && len)
		memcpy(d, s, len);
	return d;
}

struct conf_tree *conf_tree_new(void)
{
	struct conf_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->root.type = CONF_MAP;
	t->root.flags = CONF_F_ROOT;
	t->root.height = 1;
	t->root.raw = "";
	return t;
}

void conf_tree_free(struct conf_tree *t)
{
	if (!t)
		return;
	struct conf_chunk *c = t->arena.chunks;
	while (c) {
		struct conf_chunk *next = c->next;
		free(c);
		c = next;
	}
	free(t);
}

/* A zeroed node of @type at a position; NULL when out of memory. */
struct conf_value *conf_value_new(struct conf_ctx *ctx, enum conf_type type, const char *file,
                                  unsigned line, unsigned col)
{
	struct conf_value *v = conf_alloc(ctx, sizeof(*v));
	if (!v)
		return NULL;
	v->type = (uint8_t)type;
	v->height = (type == CONF_MAP || type == CONF_ARRAY) ? 1 : 0;
	v->file = file;
	v->line = line;
	v->col = col;
	v->raw = "";
	return v;
}

/* A deep copy of @v (strings shared: they are immutable and the tree's),
 * not marked used. Recursion is bounded: heights never pass CONF_MAX_DEPTH. */
struct conf_value *conf_value_copy(struct conf_ctx *ctx, const struct conf_value *v)
{
	struct conf_value *c = conf_alloc(ctx, sizeof(*c));
	if (!c)
		return NULL;
	*c = *v;
	c->flags = 0;
	c->var = NULL;
	if (v->type == CONF_ARRAY && v->u.arr.len) {
		c->u.arr.items = conf_alloc(ctx, v->u.arr.len * sizeof(*c->u.arr.items));
		if (!c->u.arr.items)
			return NULL;
		for (size_t i = 0; i < v->u.arr.len; i++) {
			c->u.arr.items[i] = conf_value_copy(ctx, v->u.arr.items[i]);
			if (!c->u.arr.items[i])
				return NULL;
		}
	} else if (v->type == CONF_MAP) {
		c->u.map.first = c->u.map.last = NULL;
		for (const struct conf_entry *e = v->u.map.first; e; e = e->next) {
			struct conf_entry *ce = conf_alloc(ctx, sizeof(*ce));
			if (!ce)
				return NULL;
			*ce = *e;
			ce->next = NULL;
			ce->value = conf_value_copy(ctx, e->value);
			if (!ce->value)
				return NULL;
			if (c->u.map.last)
				c->u.map.last->next = ce;
			else
				c->u.map.first = ce;
			c->u.map.last = ce;
		}
	}
	return c;
}

/* Appends @e to @map in file order. Not yet visible to $NAME or to
 * shadowing: conf_map_complete() does that once its value is whole. */
void conf_map_add(struct conf_value *map, struct conf_entry *e)
{
	e->next = NULL;
	if (map->u.map.last)
		map->u.map.last->next = e;
	else
		map->u.map.first = e;
	map->u.map.last = e;
	map->u.map.len++;
}

static uint64_t key_hash(const struct conf_value *map, const char *key, size_t len, bool fold)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		if (fold && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 0x100000001b3ull;
	}
	h ^= (uint64_t)(uintptr_t)map * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static bool key_same(const char *a, const char *b, size_t len, bool fold)
{
	if (!fold)
		return memcmp(a, b, len) == 0;
	for (size_t i = 0; i < len; i++)
		if (conf_lower(a[i]) != conf_lower(b[i]))
			return false;
	return true;
}

/* The slot for (@map, @key): the one holding it, or the empty one where it
 * would go. The table is never full (grown at half). */
static struct conf_index_slot *index_slot(const struct conf_index *ix, const struct conf_value *map,
                                          const char *key, size_t len, uint64_t h)
{
	for (size_t i = h & ix->mask;; i = (i + 1) & ix->mask) {
		struct conf_index_slot *s = &ix->slots[i];
		if (!s->entry)
			return s;
		if (s->hash == h && s->map == map && s->entry->key_len == len &&
		    key_same(s->entry->key, key, len, ix->fold))
			return s;
	}
}

static int index_grow(struct conf_index *ix)
{
	size_t cap = ix->slots ? (ix->mask + 1) * 2 : 64;
	struct conf_index_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	struct conf_index bigger = {.slots = slots, .mask = cap - 1, .n = ix->n, .fold = ix->fold};
	for (size_t i = 0; ix->slots && i <= ix->mask; i++) {
		struct conf_index_slot *s = &ix->slots[i];
		if (s->entry)
			*index_slot(&bigger, s->map, s->entry->key, s->entry->key_len, s->hash) =
			    *s;
	}
	free(ix->slots);
	*ix = bigger;
	return 0;
}

/* Records @e as @map's entry for its key; returns the one it replaces. */
static int index_put(struct conf_index *ix, struct conf_value *map, struct conf_entry *e,
                     struct conf_entry **old)
{
	if (!ix->slots || (ix->n + 1) * 2 > ix->mask + 1) {
		int ret = index_grow(ix);
		if (ret)
			return ret;
	}
	uint64_t h = key_hash(map, e->key, e->key_len, ix->fold);
	struct conf_index_slot *s = index_slot(ix, map, e->key, e->key_len, h);
	*old = s->entry;
	if (!s->entry)
		ix->n++;
	*s = (struct conf_index_slot){.hash = h, .map = map, .entry = e};
	return 0;
}

/* @e's value is whole: $NAME may now see it, and it hides any earlier entry
 * of @map with the same key in any case. Returns 0 or -ENOMEM. */
int conf_map_complete(struct conf_ctx *ctx, struct conf_value *map, struct conf_entry *e)
{
	struct conf_entry *old;
	int ret = index_put(&ctx->exact, map, e, &old);
	if (!ret)
		ret = index_put(&ctx->fold, map, e, &old);
	if (ret) {
		ctx->alloc_err = ret;
		return ret;
	}
	if (old && old != e)
		old->shadowed = true;
	return 0;
}

/* The last complete entry of @map spelt exactly @key/@len, or NULL. */
struct conf_entry *conf_index_find(const struct conf_index *ix, const struct conf_value *map,
                                   const char *key, size_t len)
{
	if (!ix->slots)
		return NULL;
	return index_slot(ix, map, key, len, key_hash(map, key, len, ix->fold))->entry;
}

void conf_index_fini(struct conf_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->mask = ix->n = 0;
}
