/* Property test of the subscription index: under a fixed-seed random mix of
 * inserts, removals and owner removals, every match equals a brute-force
 * reference built on subject_matches(). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "router/index/subject.h"
#include "router/index/sublist.h"

#define PROP_MAX_SUBS 4000
#define PROP_OWNERS   12
#define PROP_QUEUES   4 /* names q0..q3 */

struct ref_sub {
	uint64_t owner;
	char sid[16];
	char subject[64];
	char queue[8]; /* "" for plain */
};

static struct ref_sub ref[PROP_MAX_SUBS];
static size_t nref;
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const alphabet[] = {"a", "b", "c", "dd"};

/* A random subject of 1..4 tokens; wildcards only when @wild. */
static void random_subject(char *out, size_t cap, bool wild)
{
	uint32_t ntok = 1 + rnd(4);
	size_t len = 0;
	for (uint32_t t = 0; t < ntok; t++) {
		const char *tok = alphabet[rnd(RB_ARRAY_LEN(alphabet))];
		if (wild && rnd(100) < 15)
			tok = "*";
		if (wild && t == ntok - 1 && rnd(100) < 12)
			tok = ">";
		if (!wild && rnd(100) < 3)
			tok = "zz";
		len += (size_t)snprintf(out + len, cap - len, "%s%s", t ? "." : "", tok);
	}
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
	return x < y ? -1 : x > y;
}

/* Checks that @r's plain set and groups equal the reference for @subj. */
static void check_subject(struct sublist *sl, const char *subj, const struct sublist_result *r)
{
	static struct sublist_sub *want[PROP_MAX_SUBS], *got[PROP_MAX_SUBS];
	size_t nw = 0;

	for (size_t i = 0; i < nref; i++) {
		const struct ref_sub *s = &ref[i];
		if (s->queue[0] ||
		    !subject_matches(s->subject, strlen(s->subject), subj, strlen(subj)))
			continue;
		want[nw] = sublist_find(sl, s->owner, s->sid, strlen(s->sid));
		cr_assert_not_null(want[nw]);
		nw++;
	}
	cr_assert_eq(r->nplain, nw, "%s: %u plain, want %zu", subj, r->nplain, nw);
	if (nw)
		memcpy(got, r->plain, nw * sizeof(*got));
	qsort(want, nw, sizeof(*want), cmp_ptr);
	qsort(got, nw, sizeof(*got), cmp_ptr);
	cr_assert_arr_eq(got, want, nw * sizeof(*got), "%s: plain sets differ", subj);

	/* Every queue name with matching members is exactly one group with the
	 * same members, and there are no other groups. */
	uint32_t groups_seen = 0;
	for (uint32_t q = 0; q < PROP_QUEUES; q++) {
		char name[8];
		snprintf(name, sizeof(name), "q%u", q);
		nw = 0;
		for (size_t i = 0; i < nref; i++) {
			const struct ref_sub *s = &ref[i];
			if (strcmp(s->queue, name) == 0 &&
			    subject_matches(s->subject, strlen(s->subject), subj, strlen(subj)))
				want[nw++] = sublist_find(sl, s->owner, s->sid, strlen(s->sid));
		}
		struct sublist_qgroup *g = NULL;
		for (uint32_t k = 0; k < r->ngroups; k++)
			if (strcmp(r->groups[k].members[0]->queue, name) == 0) {
				cr_assert_null(g, "%s: group %s twice", subj, name);
				g = &r->groups[k];
			}
		if (nw == 0) {
			cr_assert_null(g, "%s: group %s should not match", subj, name);
			continue;
		}
		cr_assert_not_null(g, "%s: group %s missing", subj, name);
		cr_assert_eq(g->n, nw, "%s: group %s has %u, want %zu", subj, name, g->n, nw);
		memcpy(got, g->members, nw * sizeof(*got));
		qsort(want, nw, sizeof(*want), cmp_ptr);
		qsort(got, nw, sizeof(*got), cmp_ptr);
		cr_assert_arr_eq(got, want, nw * sizeof(*got), "%s: group %s differs", subj, name);
		struct sublist_sub *p = sublist_pick(g);
		cr_assert_not_null(bsearch(&p, want, nw, sizeof(*want), cmp_ptr));
		groups_seen++;
	}
	cr_assert_eq(r->ngroups, groups_seen, "%s: %u groups, want %u", subj, r->ngroups,
	             groups_seen);
}

static void ref_remove_at(size_t i)
{
	ref[i] = ref[--nref];
}

static void run_property(uint64_t seed, uint32_t steps)
{
	struct sublist *sl = sublist_new();
	cr_assert_not_null(sl);
	rng_state = seed;
	nref = 0;
	uint32_t next_sid = 0;
	char subj[64];

	for (uint32_t step = 0; step < steps; step++) {
		uint32_t op = rnd(100);
		if (op < 60 && nref < PROP_MAX_SUBS) {
			struct ref_sub *s = &ref[nref];
			s->owner = rnd(PROP_OWNERS);
			/* Now and then reuse a sid to exercise -EEXIST. */
			uint32_t sid = rnd(100) < 3 && next_sid ? rnd(next_sid) : next_sid++;
			snprintf(s->sid, sizeof(s->sid), "%u", sid);
			random_subject(s->subject, sizeof(s->subject), rnd(100) < 40);
			if (rnd(100) < 30)
				snprintf(s->queue, sizeof(s->queue), "q%u", rnd(3));
			else
				s->queue[0] = '\0';
			bool dup = sublist_find(sl, s->owner, s->sid, strlen(s->sid)) != NULL;
			int rc = sublist_insert(sl, s->owner, s->sid, strlen(s->sid), s->subject,
			                        strlen(s->subject), s->queue[0] ? s->queue : NULL,
			                        strlen(s->queue), NULL);
			cr_assert_eq(rc, dup ? -EEXIST : 0, "insert %s: %d", s->subject, rc);
			if (!dup)
				nref++;
		} else if (op < 90 && nref) {
			size_t i = rnd((uint32_t)nref);
			cr_assert_eq(
			    sublist_remove(sl, ref[i].owner, ref[i].sid, strlen(ref[i].sid)), 0);
			ref_remove_at(i);
		} else if (op < 91) {
			uint64_t owner = rnd(PROP_OWNERS);
			size_t want = 0;
			for (size_t i = nref; i-- > 0;)
				if (ref[i].owner == owner) {
					ref_remove_at(i);
					want++;
				}
			cr_assert_eq(sublist_remove_owner(sl, owner), want);
		} else {
			/* Match a few subjects, each twice (the second from the cache). */
			for (int k = 0; k < 4; k++) {
				random_subject(subj, sizeof(subj), false);
				for (int rep = 0; rep < 2; rep++) {
					const struct sublist_result *r =
					    sublist_match(sl, subj, strlen(subj));
					cr_assert_not_null(r);
					check_subject(sl, subj, r);
				}
			}
		}
	}
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, nref);
	cr_expect_gt(st.cache_hits, 0);
	sublist_free(sl);
}

Test(sublist_prop, random_index_matches_brute_force_seed_1)
{
	run_property(0x9e3779b97f4a7c15ull, 15000);
}

Test(sublist_prop, random_index_matches_brute_force_seed_2)
{
	run_property(12345, 15000);
}

/* Grows to thousands of live subscriptions before checking. */
Test(sublist_prop, large_random_index_matches_brute_force)
{
	struct sublist *sl = sublist_new();
	cr_assert_not_null(sl);
	rng_state = 777;
	nref = 0;
	for (uint32_t i = 0; i < 3500; i++) {
		struct ref_sub *s = &ref[nref++];
		s->owner = rnd(PROP_OWNERS);
		snprintf(s->sid, sizeof(s->sid), "%u", i);
		random_subject(s->subject, sizeof(s->subject), rnd(100) < 25);
		if (rnd(100) < 20)
			snprintf(s->queue, sizeof(s->queue), "q%u", rnd(4));
		else
			s->queue[0] = '\0';
		cr_assert_eq(sublist_insert(sl, s->owner, s->sid, strlen(s->sid), s->subject,
		                            strlen(s->subject), s->queue[0] ? s->queue : NULL,
		                            strlen(s->queue), NULL),
		             0);
	}
	char subj[64];
	for (int k = 0; k < 300; k++) {
		random_subject(subj, sizeof(subj), false);
		const struct sublist_result *r = sublist_match(sl, subj, strlen(subj));
		cr_assert_not_null(r);
		check_subject(sl, subj, r);
	}
	sublist_free(sl);
}
