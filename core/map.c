/* Open-addressing map of 64-bit keys; see map.h. */
#include "core/map.h"

#include <errno.h>
#include <stdlib.h>

#include "core/hash.h"

static inline uint32_t map_hash(uint64_t k)
{
	return (uint32_t)hash_u64(k);
}

void map_init(struct map *m)
{
	m->slots = NULL;
	m->mask = 0;
	m->n = 0;
}

void map_fini(struct map *m)
{
	free(m->slots);
	map_init(m);
}

void **map_ref(const struct map *m, uint64_t key)
{
	if (!m->slots)
		return NULL;
	for (uint32_t i = map_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		struct map_slot *s = &m->slots[i];
		if (!s->val)
			return NULL;
		if (s->key == key)
			return &s->val;
	}
}

void *map_get(const struct map *m, uint64_t key)
{
	void **v = map_ref(m, key);
	return v ? *v : NULL;
}

static int map_grow(struct map *m)
{
	uint32_t cap = m->slots ? (m->mask + 1) * 2 : 16;
	struct map_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	struct map_slot *old = m->slots;
	uint32_t oldcap = old ? m->mask + 1 : 0;
	m->slots = slots;
	m->mask = cap - 1;
	for (uint32_t i = 0; i < oldcap; i++) {
		if (!old[i].val)
			continue;
		uint32_t j = map_hash(old[i].key) & m->mask;
		while (slots[j].val)
			j = (j + 1) & m->mask;
		slots[j] = old[i];
	}
	free(old);
	return 0;
}

int map_put(struct map *m, uint64_t key, void *val)
{
	if (!m->slots || (m->n + 1) * 4 > (m->mask + 1) * 3) {
		int ret = map_grow(m);
		if (ret)
			return ret;
	}
	uint32_t i = map_hash(key) & m->mask;
	while (m->slots[i].val) {
		if (m->slots[i].key == key) {
			m->slots[i].val = val;
			return 0;
		}
		i = (i + 1) & m->mask;
	}
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->n++;
	return 0;
}

void *map_del(struct map *m, uint64_t key)
{
	if (!m->slots)
		return NULL;
	uint32_t i = map_hash(key) & m->mask;
	while (m->slots[i].val && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	void *val = m->slots[i].val;
	if (!val)
		return NULL;
	/* Backward shift: move later entries of the cluster into the hole when
	 * their home slot does not lie (cyclically) between the hole and them. */
	uint32_t hole = i;
	for (uint32_t j = (i + 1) & m->mask; m->slots[j].val; j = (j + 1) & m->mask) {
		uint32_t home = map_hash(m->slots[j].key) & m->mask;
		if (((j - home) & m->mask) >= ((j - hole) & m->mask)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = 0;
	m->slots[hole].val = NULL;
	m->n--;
	return val;
}
