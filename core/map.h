/* A hash map from 64-bit keys to pointers: open addressing, linear probing,
 * backward-shift deletion (no tombstones). Keys are hashed here; key 0 is
 * allowed. Owner: one thread. */
#ifndef CORE_MAP_H
#define CORE_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

struct map_slot {
	uint64_t key;
	void *val; /* NULL: empty slot */
};

struct map {
	struct map_slot *slots;
	uint32_t mask;
	uint32_t n;
};

/* Initialises an empty map (allocates nothing yet). */
void map_init(struct map *m);
void map_fini(struct map *m);

/* The value for @key, or NULL. */
void *map_get(const struct map *m, uint64_t key);

/* Where the value for @key is kept, or NULL when @key is absent: it may be
 * replaced there by another non-NULL value (no lookup, no growth), until
 * the map next changes. */
void **map_ref(const struct map *m, uint64_t key);

/* Sets @key to @val (non-NULL), replacing any value. Returns 0 or -ENOMEM. */
RB_MUST_CHECK int map_put(struct map *m, uint64_t key, void *val);

/* Removes @key; returns its value or NULL. */
void *map_del(struct map *m, uint64_t key);

static inline uint32_t map_count(const struct map *m)
{
	return m->n;
}

/* Iterates over the entries, in no particular order: start with *@pos = 0;
 * each call stores the next entry's key (if @key) and value and returns
 * true, or returns false when there is none left. The map must not change
 * between calls, except that map_fini() may follow. */
static inline bool map_next(const struct map *m, uint32_t *pos, uint64_t *key, void **val)
{
	if (!m->slots)
		return false;
	for (uint32_t i = *pos; i <= m->mask; i++)
		if (m->slots[i].val) {
			if (key)
				*key = m->slots[i].key;
			*val = m->slots[i].val;
			*pos = i + 1;
			return true;
		}
	*pos = m->mask + 1;
	return false;
}

#endif /* CORE_MAP_H */
