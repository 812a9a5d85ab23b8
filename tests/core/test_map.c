/* The u64 -> pointer map: what goes in comes out, deletions keep every other
 * key reachable (backward-shift deletion, no tombstones), growth keeps
 * everything, a value replaced through map_ref() is the one found, and
 * iteration visits each entry once. Checked against a plain
 * array as the reference, through random operations. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "core/map.h"

#define KEYS 5000

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(map, random_puts_and_deletes_agree_with_a_reference)
{
	static void *ref[KEYS];
	struct map m;
	map_init(&m);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (int op = 0; op < 200000; op++) {
		uint64_t k = rnd(&seed) % KEYS;
		/* keys that collide in the low bits, and key 0 */
		uint64_t key = k << 20;
		uint64_t op_kind = rnd(&seed) % 4;
		if (op_kind >= 2) {
			void *v = (void *)(uintptr_t)(rnd(&seed) | 1);
			cr_assert_eq(map_put(&m, key, v), 0);
			ref[k] = v;
		} else if (op_kind == 1) { /* replaced in place, where present */
			void **at = map_ref(&m, key);
			cr_assert_eq(at != NULL, ref[k] != NULL, "map_ref of key %llu",
			             (unsigned long long)key);
			if (at)
				*at = ref[k] = (void *)(uintptr_t)(rnd(&seed) | 1);
		} else {
			cr_assert_eq(map_del(&m, key), ref[k], "delete of key %llu",
			             (unsigned long long)key);
			ref[k] = NULL;
		}
	}
	uint32_t n = 0;
	for (uint64_t k = 0; k < KEYS; k++) {
		cr_assert_eq(map_get(&m, k << 20), ref[k], "key %llu", (unsigned long long)k);
		n += ref[k] != NULL;
	}
	cr_expect_eq(map_count(&m), n);
	map_fini(&m);
}

Test(map, iteration_visits_every_entry_once)
{
	struct map m;
	map_init(&m);
	static unsigned char seen[KEYS];
	for (uint64_t k = 0; k < KEYS; k++)
		cr_assert_eq(map_put(&m, k * 7919, (void *)(uintptr_t)(k + 1)), 0);
	for (uint64_t k = 0; k < KEYS; k += 3)
		map_del(&m, k * 7919);
	uint64_t key;
	void *v;
	uint32_t n = 0;
	for (uint32_t it = 0; map_next(&m, &it, &key, &v);) {
		uint64_t k = (uint64_t)(uintptr_t)v - 1;
		cr_assert_eq(key, k * 7919);
		cr_assert_neq(k % 3, 0, "a deleted key came back");
		cr_assert_eq(seen[k]++, 0, "key %llu twice", (unsigned long long)k);
		n++;
	}
	cr_expect_eq(n, map_count(&m));
	struct map empty;
	map_init(&empty);
	uint32_t it = 0;
	cr_expect(!map_next(&empty, &it, &key, &v), "an empty map has nothing");
	map_fini(&m);
}
