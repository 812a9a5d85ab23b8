/* The subscription index: literal and wildcard matching, duplicates, removal,
 * queue groups and their fairness, the result cache and the counters. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "router/index/sublist.h"

static struct sublist *sl;

static void setup(void)
{
	sl = sublist_new();
	cr_assert_not_null(sl);
}

static void teardown(void)
{
	sublist_free(sl);
}

TestSuite(sublist, .init = setup, .fini = teardown);

static int sub_q(uint64_t owner, const char *sid, const char *subj, const char *queue)
{
	return sublist_insert(sl, owner, sid, strlen(sid), subj, strlen(subj), queue,
	                      queue ? strlen(queue) : 0, NULL);
}

static void must_sub(uint64_t owner, const char *sid, const char *subj, const char *queue)
{
	int rc = sub_q(owner, sid, subj, queue);
	cr_assert_eq(rc, 0, "insert %llu/%s on %s: %d", (unsigned long long)owner, sid, subj, rc);
}

static const struct sublist_result *match(const char *subj)
{
	const struct sublist_result *r = sublist_match(sl, subj, strlen(subj));
	cr_assert_not_null(r);
	return r;
}

/* True when the plain part of @r holds (@owner, @sid). */
static bool has_plain(const struct sublist_result *r, uint64_t owner, const char *sid)
{
	for (uint32_t i = 0; i < r->nplain; i++)
		if (r->plain[i]->owner == owner && strcmp(r->plain[i]->sid, sid) == 0)
			return true;
	return false;
}

static struct sublist_qgroup *group_named(const struct sublist_result *r, const char *name)
{
	for (uint32_t i = 0; i < r->ngroups; i++)
		if (strcmp(r->groups[i].members[0]->queue, name) == 0)
			return &r->groups[i];
	return NULL;
}

Test(sublist, literal_subject_matches_its_subscriber)
{
	must_sub(1, "1", "foo.bar", NULL);
	const struct sublist_result *r = match("foo.bar");
	cr_expect_eq(r->nplain, 1);
	cr_expect(has_plain(r, 1, "1"));
	cr_expect_eq(r->ngroups, 0);
}

Test(sublist, literal_does_not_match_other_subjects)
{
	must_sub(1, "1", "foo.bar", NULL);
	cr_expect_eq(match("foo")->nplain, 0);
	cr_expect_eq(match("foo.bar.baz")->nplain, 0);
	cr_expect_eq(match("foo.baR")->nplain, 0);
	cr_expect_eq(match("bar")->nplain, 0);
}

Test(sublist, star_matches_exactly_one_token)
{
	must_sub(1, "1", "foo.*", NULL);
	must_sub(1, "2", "*.bar", NULL);
	must_sub(1, "3", "*", NULL);
	cr_expect_eq(match("foo.bar")->nplain, 2);
	cr_expect(has_plain(match("foo.baz"), 1, "1"));
	cr_expect_eq(match("foo.baz")->nplain, 1);
	cr_expect_eq(match("foo")->nplain, 1);
	cr_expect(has_plain(match("foo"), 1, "3"));
	cr_expect_eq(match("foo.bar.baz")->nplain, 0);
}

Test(sublist, gt_matches_one_or_more_tokens)
{
	must_sub(1, "1", "foo.>", NULL);
	must_sub(1, "2", ">", NULL);
	cr_expect_eq(match("foo.bar")->nplain, 2);
	cr_expect_eq(match("foo.bar.baz.qux")->nplain, 2);
	cr_expect(has_plain(match("a.b.c"), 1, "2"));
	cr_expect_eq(match("a.b.c")->nplain, 1);
}

Test(sublist, gt_does_not_match_the_parent)
{
	must_sub(1, "1", "foo.>", NULL);
	must_sub(1, "2", "foo.*.>", NULL);
	cr_expect_eq(match("foo")->nplain, 0);
	cr_expect_eq(match("foo.a")->nplain, 1);
	cr_expect_eq(match("foo.a.b")->nplain, 2);
}

Test(sublist, wildcard_characters_inside_tokens_are_literal)
{
	must_sub(1, "1", "foo.*a", NULL);
	must_sub(1, "2", "foo.>b", NULL);
	cr_expect_eq(match("foo.xa")->nplain, 0);
	cr_expect_eq(match("foo.*a")->nplain, 1);
	cr_expect_eq(match("foo.x.b")->nplain, 0);
	cr_expect_eq(match("foo.>b")->nplain, 1);
}

Test(sublist, multiple_subs_on_one_subject_all_match)
{
	char sid[16];
	for (int i = 0; i < 50; i++) {
		snprintf(sid, sizeof(sid), "%d", i);
		must_sub((uint64_t)(i % 7), sid, "a.b", NULL);
	}
	must_sub(9, "w", "a.*", NULL);
	const struct sublist_result *r = match("a.b");
	cr_expect_eq(r->nplain, 51);
	for (int i = 0; i < 50; i++) {
		snprintf(sid, sizeof(sid), "%d", i);
		cr_expect(has_plain(r, (uint64_t)(i % 7), sid), "sid %s", sid);
	}
	cr_expect(has_plain(r, 9, "w"));
}

Test(sublist, duplicate_owner_sid_returns_eexist_and_is_not_added)
{
	must_sub(1, "7", "foo", NULL);
	cr_expect_eq(sub_q(1, "7", "foo", NULL), -EEXIST);
	cr_expect_eq(sub_q(1, "7", "bar", NULL), -EEXIST);
	cr_expect_eq(sub_q(1, "7", "bar.*", "q"), -EEXIST);
	cr_expect_eq(match("foo")->nplain, 1);
	cr_expect_eq(match("bar")->nplain, 0);
	cr_expect_eq(match("bar.x")->ngroups, 0);
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 1);
	cr_expect_eq(st.inserts, 1);
}

Test(sublist, same_sid_of_another_owner_is_another_subscription)
{
	must_sub(1, "1", "foo", NULL);
	must_sub(2, "1", "foo", NULL);
	const struct sublist_result *r = match("foo");
	cr_expect_eq(r->nplain, 2);
	cr_expect(has_plain(r, 1, "1"));
	cr_expect(has_plain(r, 2, "1"));
}

Test(sublist, find_returns_copies_of_the_strings_and_the_data)
{
	char subj[] = "orders.new", sid[] = "42", queue[] = "workers";
	int token;
	cr_assert_eq(sublist_insert(sl, 5, sid, 2, subj, 10, queue, 7, &token), 0);
	memset(subj, 'x', 10);
	memset(sid, 'x', 2);
	memset(queue, 'x', 7);
	struct sublist_sub *s = sublist_find(sl, 5, "42", 2);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->subject, "orders.new");
	cr_expect_str_eq(s->sid, "42");
	cr_expect_str_eq(s->queue, "workers");
	cr_expect_eq(s->subject_len, 10);
	cr_expect_eq(s->sid_len, 2);
	cr_expect_eq(s->queue_len, 7);
	cr_expect_eq(s->owner, 5);
	cr_expect_eq(s->data, &token);
	cr_expect_null(sublist_find(sl, 6, "42", 2));
	cr_expect_null(sublist_find(sl, 5, "4", 1));
}

Test(sublist, invalid_subject_or_empty_queue_is_rejected)
{
	cr_expect_eq(sub_q(1, "1", "foo..bar", NULL), -EINVAL);
	cr_expect_eq(sub_q(1, "2", "foo.>.bar", NULL), -EINVAL);
	cr_expect_eq(sub_q(1, "3", "", NULL), -EINVAL);
	cr_expect_eq(sub_q(1, "4", "foo", ""), -EINVAL);
	cr_expect_null(sublist_find(sl, 1, "1", 1));
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 0);
}

Test(sublist, remove_takes_the_sub_out_of_matches)
{
	must_sub(1, "1", "foo", NULL);
	must_sub(1, "2", "foo", NULL);
	must_sub(1, "3", "foo.*", NULL);
	must_sub(1, "4", "foo", "q");
	cr_expect_eq(sublist_remove(sl, 1, "1", 1), 0);
	cr_expect_eq(sublist_remove(sl, 1, "3", 1), 0);
	cr_expect_eq(sublist_remove(sl, 1, "4", 1), 0);
	const struct sublist_result *r = match("foo");
	cr_expect_eq(r->nplain, 1);
	cr_expect(has_plain(r, 1, "2"));
	cr_expect_eq(r->ngroups, 0);
	cr_expect_eq(match("foo.x")->nplain, 0);
	cr_expect_null(sublist_find(sl, 1, "1", 1));
	/* The sid is free again. */
	must_sub(1, "1", "bar", NULL);
	cr_expect_eq(match("bar")->nplain, 1);
}

Test(sublist, remove_unknown_returns_enoent)
{
	cr_expect_eq(sublist_remove(sl, 1, "1", 1), -ENOENT);
	must_sub(1, "1", "foo", NULL);
	cr_expect_eq(sublist_remove(sl, 2, "1", 1), -ENOENT);
	cr_expect_eq(sublist_remove(sl, 1, "11", 2), -ENOENT);
	cr_expect_eq(sublist_remove(sl, 1, "1", 1), 0);
	cr_expect_eq(sublist_remove(sl, 1, "1", 1), -ENOENT);
}

Test(sublist, remove_owner_removes_only_that_owners_subs)
{
	must_sub(1, "1", "foo", NULL);
	must_sub(1, "2", "foo.*", NULL);
	must_sub(1, "3", "foo", "q");
	must_sub(1, "4", "bar.>", "q");
	must_sub(2, "1", "foo", NULL);
	must_sub(2, "2", "foo", "q");
	must_sub(3, "1", "foo.>", NULL);
	cr_expect_eq(sublist_remove_owner(sl, 1), 4);
	cr_expect_eq(sublist_remove_owner(sl, 1), 0);
	cr_expect_eq(sublist_remove_owner(sl, 99), 0);
	cr_expect_null(sublist_find(sl, 1, "1", 1));
	cr_expect_not_null(sublist_find(sl, 2, "1", 1));
	const struct sublist_result *r = match("foo");
	cr_expect_eq(r->nplain, 1);
	cr_expect(has_plain(r, 2, "1"));
	cr_expect_eq(r->ngroups, 1);
	cr_expect_eq(r->groups[0].n, 1);
	cr_expect_eq(r->groups[0].members[0]->owner, 2);
	r = match("foo.x");
	cr_expect_eq(r->nplain, 1);
	cr_expect(has_plain(r, 3, "1"));
	cr_expect_eq(match("bar.x")->ngroups, 0);
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 3);
	cr_expect_eq(st.removes, 4);
	/* The owner can subscribe again with the same sids. */
	must_sub(1, "1", "foo", NULL);
}

Test(sublist, remove_owner_max_removes_a_slice_at_a_time)
{
	char sid[16], subj[32];
	for (int i = 0; i < 10; i++) {
		snprintf(sid, sizeof sid, "%d", i);
		snprintf(subj, sizeof subj, i % 2 ? "s.%d" : "w.%d.*", i);
		must_sub(1, sid, subj, i % 3 ? NULL : "q");
	}
	must_sub(2, "1", "s.1", NULL);
	cr_expect_eq(sublist_remove_owner_max(sl, 1, 4), 6);
	cr_expect_eq(sublist_remove_owner_max(sl, 1, 0), 6, "max 0 removes nothing");
	cr_expect_eq(sublist_remove_owner_max(sl, 1, 4), 2);
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 3);
	/* what is left still matches, and nothing removed does */
	int left = 0;
	for (int i = 0; i < 10; i++) {
		snprintf(sid, sizeof sid, "%d", i);
		left += sublist_find(sl, 1, sid, strlen(sid)) != NULL;
	}
	cr_expect_eq(left, 2);
	cr_expect_eq(sublist_remove_owner_max(sl, 1, 4), 0);
	cr_expect_eq(sublist_remove_owner_max(sl, 1, 4), 0, "an unknown owner has none left");
	cr_expect_eq(match("w.0.x")->nplain + match("w.0.x")->ngroups, 0);
	const struct sublist_result *r = match("s.1");
	cr_expect_eq(r->nplain, 1);
	cr_expect(has_plain(r, 2, "1"));
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 1);
	cr_expect_eq(st.removes, 10);
}

Test(sublist, queue_group_is_one_group_per_name)
{
	must_sub(1, "1", "work", "a");
	must_sub(2, "1", "work", "a");
	must_sub(3, "1", "work", "b");
	must_sub(4, "1", "work", NULL);
	const struct sublist_result *r = match("work");
	cr_expect_eq(r->nplain, 1);
	cr_assert_eq(r->ngroups, 2);
	struct sublist_qgroup *a = group_named(r, "a"), *b = group_named(r, "b");
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_expect_eq(a->n, 2);
	cr_expect_eq(b->n, 1);
	for (uint32_t i = 0; i < a->n; i++)
		cr_expect_str_eq(a->members[i]->queue, "a");
}

Test(sublist, queue_group_merges_literal_and_wildcard_members)
{
	must_sub(1, "1", "orders.new", "w");
	must_sub(2, "1", "orders.*", "w");
	must_sub(3, "1", "orders.>", "w");
	must_sub(4, "1", ">", "other");
	const struct sublist_result *r = match("orders.new");
	cr_expect_eq(r->nplain, 0);
	cr_assert_eq(r->ngroups, 2);
	struct sublist_qgroup *w = group_named(r, "w");
	cr_assert_not_null(w);
	cr_expect_eq(w->n, 3);
	bool seen[5] = {false};
	for (uint32_t i = 0; i < w->n; i++)
		seen[w->members[i]->owner] = true;
	cr_expect(seen[1] && seen[2] && seen[3]);
	cr_expect_eq(group_named(r, "other")->n, 1);
	cr_expect_eq(match("orders.old")->ngroups, 2);
	cr_expect_eq(group_named(match("orders.old"), "w")->n, 2);
}

/* Picks @picks times from the group named "q" of @subj, matching afresh every
 * time, and checks that each of @n members got picks/n +-1. When @churn, an
 * unrelated subscription is added or removed before every match, so the
 * cursor must survive the cache being invalidated. */
static void check_balance(const char *subj, uint32_t n, uint32_t picks, bool churn)
{
	uint32_t counts[64] = {0};
	for (uint32_t k = 0; k < picks; k++) {
		if (churn && k % 2 == 0)
			must_sub(1000, "churn", "unrelated.subject", NULL);
		else if (churn)
			cr_assert_eq(sublist_remove(sl, 1000, "churn", 5), 0);
		struct sublist_qgroup *g = group_named(match(subj), "q");
		cr_assert_not_null(g);
		cr_assert_eq(g->n, n);
		struct sublist_sub *s = sublist_pick(g);
		cr_assert_lt(s->owner, 64);
		counts[s->owner]++;
	}
	uint32_t fair = picks / n;
	for (uint32_t i = 0; i < n; i++)
		cr_expect(counts[i] + 1 >= fair && counts[i] <= fair + 1, "member %u got %u of %u",
		          i, counts[i], picks);
}

Test(sublist, queue_picks_are_balanced_across_cached_matches)
{
	for (uint64_t i = 0; i < 7; i++)
		must_sub(i, "1", "jobs", "q");
	check_balance("jobs", 7, 7001, false);
}

Test(sublist, queue_picks_are_balanced_when_the_cache_is_invalidated)
{
	for (uint64_t i = 0; i < 5; i++)
		must_sub(i, "1", "jobs.x", "q");
	for (uint64_t i = 5; i < 8; i++)
		must_sub(i, "1", "jobs.*", "q");
	check_balance("jobs.x", 8, 4003, true);
}

Test(sublist, queue_picks_are_balanced_within_one_result)
{
	for (uint64_t i = 0; i < 4; i++)
		must_sub(i, "1", "one", "q");
	struct sublist_qgroup *g = group_named(match("one"), "q");
	cr_assert_not_null(g);
	uint32_t counts[4] = {0};
	for (int k = 0; k < 400; k++)
		counts[sublist_pick(g)->owner]++;
	for (int i = 0; i < 4; i++)
		cr_expect_eq(counts[i], 100);
}

Test(sublist, cache_hit_returns_the_same_result)
{
	must_sub(1, "1", "foo", NULL);
	must_sub(1, "2", "foo.>", NULL);
	const struct sublist_result *a = match("foo.bar");
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.cache_hits, 0);
	cr_expect_eq(st.cache_entries, 1);
	const struct sublist_result *b = match("foo.bar");
	cr_expect_eq(a, b);
	cr_expect_eq(b->nplain, 1);
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.cache_hits, 1);
	cr_expect_eq(st.matches, 2);
}

Test(sublist, cache_is_invalidated_by_insert)
{
	must_sub(1, "1", "foo.bar", NULL);
	cr_expect_eq(match("foo.bar")->nplain, 1);
	cr_expect_eq(match("foo.bar")->nplain, 1);
	must_sub(1, "2", "foo.*", NULL);
	cr_expect_eq(match("foo.bar")->nplain, 2);
	must_sub(1, "3", "foo.bar", "q");
	cr_expect_eq(match("foo.bar")->ngroups, 1);
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.cache_entries, 1);
}

Test(sublist, cache_is_invalidated_by_remove)
{
	must_sub(1, "1", "foo.bar", NULL);
	must_sub(2, "1", "foo.>", NULL);
	cr_expect_eq(match("foo.bar")->nplain, 2);
	cr_expect_eq(match("foo.bar")->nplain, 2);
	cr_expect_eq(sublist_remove(sl, 2, "1", 1), 0);
	cr_expect_eq(match("foo.bar")->nplain, 1);
	cr_expect_eq(sublist_remove_owner(sl, 1), 1);
	cr_expect_eq(match("foo.bar")->nplain, 0);
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.cache_hits, 1);
}

Test(sublist, more_subjects_than_the_cache_holds_match_correctly)
{
	char subj[32], sid[16];
	for (int i = 0; i < 12000; i++) {
		snprintf(subj, sizeof(subj), "s.%d", i);
		snprintf(sid, sizeof(sid), "%d", i);
		must_sub((uint64_t)i % 3, sid, subj, NULL);
	}
	must_sub(7, "w", "s.*", NULL);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 12000; i++) {
			snprintf(subj, sizeof(subj), "s.%d", i);
			snprintf(sid, sizeof(sid), "%d", i);
			const struct sublist_result *r = match(subj);
			cr_assert_eq(r->nplain, 2, "%s", subj);
			cr_assert(has_plain(r, (uint64_t)i % 3, sid), "%s", subj);
			cr_assert(has_plain(r, 7, "w"), "%s", subj);
		}
	}
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_leq(st.cache_entries, 8192);
}

Test(sublist, large_fanout_result_is_complete)
{
	char sid[16];
	for (int i = 0; i < 10000; i++) {
		snprintf(sid, sizeof(sid), "%d", i);
		must_sub((uint64_t)i, sid, i % 2 ? "big.fan" : "big.*", i % 5 == 0 ? "q" : NULL);
	}
	for (int round = 0; round < 2; round++) {
		const struct sublist_result *r = match("big.fan");
		cr_expect_eq(r->nplain, 8000);
		cr_assert_eq(r->ngroups, 1);
		cr_expect_eq(r->groups[0].n, 2000);
	}
}

Test(sublist, subject_with_an_empty_token_matches_nothing)
{
	must_sub(1, "1", "foo.*.bar", NULL);
	must_sub(1, "2", ">", NULL);
	cr_expect_eq(match("foo..bar")->nplain, 0);
	cr_expect_eq(match("foo.")->nplain, 0);
	cr_expect_eq(sublist_match(sl, "", 0)->nplain, 0);
	cr_expect_eq(match("foo.x.bar")->nplain, 2);
}

Test(sublist, stats_count_subs_inserts_removes_matches)
{
	must_sub(1, "1", "a", NULL);
	must_sub(1, "2", "a.*", NULL);
	must_sub(2, "1", "b", "q");
	cr_expect_eq(sub_q(2, "1", "b", "q"), -EEXIST);
	cr_expect_eq(sublist_remove(sl, 1, "1", 1), 0);
	cr_expect_eq(sublist_remove(sl, 1, "9", 1), -ENOENT);
	match("a");
	match("a");
	match("a.b");
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 2);
	cr_expect_eq(st.inserts, 3);
	cr_expect_eq(st.removes, 1);
	cr_expect_eq(st.matches, 3);
	cr_expect_eq(st.cache_hits, 1);
	cr_expect_eq(st.cache_entries, 2);
	cr_expect_eq(sublist_remove_owner(sl, 2), 1);
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 1);
	cr_expect_eq(st.removes, 2);
	cr_expect_eq(st.cache_entries, 0);
}

Test(sublist, removing_everything_empties_the_index)
{
	char sid[16], subj[32];
	for (int i = 0; i < 200; i++) {
		snprintf(sid, sizeof(sid), "%d", i);
		snprintf(subj, sizeof(subj), i % 3 ? "x.%d.y" : "x.*.%d", i % 10);
		must_sub((uint64_t)(i % 4), sid, subj, i % 7 ? NULL : "q");
	}
	for (int i = 0; i < 200; i += 2) {
		snprintf(sid, sizeof(sid), "%d", i);
		cr_assert_eq(sublist_remove(sl, (uint64_t)(i % 4), sid, strlen(sid)), 0);
	}
	size_t n = 0;
	for (uint64_t o = 0; o < 4; o++)
		n += sublist_remove_owner(sl, o);
	cr_expect_eq(n, 100);
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.subs, 0);
	for (int i = 0; i < 10; i++) {
		snprintf(subj, sizeof(subj), "x.%d.y", i);
		const struct sublist_result *r = match(subj);
		cr_expect_eq(r->nplain + r->ngroups, 0);
	}
}

Test(sublist, cached_merged_result_survives_later_misses)
{
	must_sub(1, "1", "m.a", "q");
	must_sub(2, "1", "m.*", "q");
	must_sub(3, "1", "m.a", NULL);
	must_sub(4, "1", "m.>", NULL);
	must_sub(5, "1", "n.b", "q");
	must_sub(6, "1", "n.*", "q");
	must_sub(7, "1", "n.b", NULL);
	must_sub(8, "1", "n.>", NULL);
	match("m.a");
	match("n.b"); /* a miss that rebuilds the scratch buffers */
	match("n.c");
	const struct sublist_result *r = match("m.a");
	struct sublist_stats st;
	sublist_get_stats(sl, &st);
	cr_expect_eq(st.cache_hits, 1);
	cr_expect_eq(r->nplain, 2);
	cr_expect(has_plain(r, 3, "1"));
	cr_expect(has_plain(r, 4, "1"));
	cr_assert_eq(r->ngroups, 1);
	cr_assert_eq(r->groups[0].n, 2);
	uint64_t owners = r->groups[0].members[0]->owner | r->groups[0].members[1]->owner << 8;
	cr_expect(owners == (1 | 2 << 8) || owners == (2 | 1 << 8), "owners %llx",
	          (unsigned long long)owners);
}
