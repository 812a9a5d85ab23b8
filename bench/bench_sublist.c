/* Micro-benchmark of the subscription index: match cost with the result cache
 * hitting and missing, for literal-only and ~10% wildcard subscription mixes,
 * and the cost of insert, remove, remove_owner and a SUB+UNSUB pair in a full
 * index. Prints one table; runs in about a second. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "router/index/sublist.h"

#define BENCH_HIT_SUBJECTS  1024u  /* fewer than the cache holds */
#define BENCH_MISS_SUBJECTS 65536u /* many more than the cache holds */
#define BENCH_SUBJ_LEN      40u
#define BENCH_OWNERS        64u
#define BENCH_CHURN         200000u

static volatile uint64_t bench_sink;

/* Subscription @i: "orders.<i/100>.<i%100>", or with @wild a pattern
 * over the same space ("orders.<g>.*", "orders.*.<k>" or "orders.<g>.>"). */
static size_t bench_sub_subject(char *out, uint32_t i, bool wild)
{
	uint32_t g = i / 100, k = i % 100;
	if (!wild)
		return (size_t)snprintf(out, BENCH_SUBJ_LEN, "orders.%u.%u", g, k);
	switch (i % 3) {
	case 0:
		return (size_t)snprintf(out, BENCH_SUBJ_LEN, "orders.%u.*", g);
	case 1:
		return (size_t)snprintf(out, BENCH_SUBJ_LEN, "orders.*.%u", k);
	default:
		return (size_t)snprintf(out, BENCH_SUBJ_LEN, "orders.%u.>", g);
	}
}

struct bench_subjects {
	char (*s)[BENCH_SUBJ_LEN];
	size_t *len;
	uint32_t n;
};

/* @count distinct published subjects "orders.<x/100>.<x%100>", x spread over
 * [0, @space) (a subscription's subject when x < its count). */
static int bench_subjects_make(struct bench_subjects *bs, uint32_t count, uint32_t space)
{
	bs->s = malloc(count * sizeof(*bs->s));
	bs->len = malloc(count * sizeof(*bs->len));
	if (!bs->s || !bs->len)
		return -ENOMEM;
	bs->n = count;
	for (uint32_t i = 0; i < count; i++) {
		/* 7919 is prime and divides neither space used: x is distinct. */
		uint32_t x = (uint32_t)(((uint64_t)i * 7919u) % space);
		bs->len[i] =
		    (size_t)snprintf(bs->s[i], BENCH_SUBJ_LEN, "orders.%u.%u", x / 100, x % 100);
	}
	return 0;
}

static void bench_subjects_free(struct bench_subjects *bs)
{
	free(bs->s);
	free(bs->len);
}

/* Fills @sl with @n subscriptions, one in ten a wildcard when @wild_mix. */
static void bench_fill(struct sublist *sl, uint32_t n, bool wild_mix)
{
	char subj[BENCH_SUBJ_LEN], sid[16];
	for (uint32_t i = 0; i < n; i++) {
		size_t len = bench_sub_subject(subj, i, wild_mix && i % 10 == 9);
		int sl_len = snprintf(sid, sizeof(sid), "%u", i);
		if (sublist_insert(sl, i % BENCH_OWNERS, sid, (size_t)sl_len, subj, len, NULL, 0,
		                   NULL)) {
			fprintf(stderr, "insert failed\n");
			exit(1);
		}
	}
}

/* Runs @iters matches cycling over @bs; returns ns per match, and the hit
 * ratio and average fan-out through the pointers. */
static double bench_match(struct sublist *sl, const struct bench_subjects *bs, uint32_t iters,
                          double *hit_ratio, double *fanout)
{
	struct sublist_stats a, b;
	uint64_t fan = 0;

	for (uint32_t i = 0; i < bs->n && i < iters; i++) /* warm-up */
		sublist_match(sl, bs->s[i], bs->len[i]);
	sublist_get_stats(sl, &a);
	uint64_t t0 = clock_now_ns();
	for (uint32_t i = 0, j = 0; i < iters; i++) {
		const struct sublist_result *r = sublist_match(sl, bs->s[j], bs->len[j]);
		fan += r->nplain;
		if (++j == bs->n)
			j = 0;
	}
	uint64_t t1 = clock_now_ns();
	sublist_get_stats(sl, &b);
	bench_sink += fan;
	*hit_ratio = (double)(b.cache_hits - a.cache_hits) / (double)(b.matches - a.matches);
	*fanout = (double)fan / iters;
	return (double)(t1 - t0) / iters;
}

static void bench_match_row(uint32_t nsubs, bool wild_mix)
{
	struct sublist *sl = sublist_new();
	struct bench_subjects hit, miss;
	uint32_t hit_space = nsubs < BENCH_HIT_SUBJECTS ? BENCH_HIT_SUBJECTS : nsubs;
	uint32_t miss_space = nsubs < BENCH_MISS_SUBJECTS ? BENCH_MISS_SUBJECTS : nsubs;
	if (!sl || bench_subjects_make(&hit, BENCH_HIT_SUBJECTS, hit_space) ||
	    bench_subjects_make(&miss, BENCH_MISS_SUBJECTS, miss_space)) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	bench_fill(sl, nsubs, wild_mix);

	const struct {
		const char *name;
		const struct bench_subjects *bs;
		uint32_t iters;
	} runs[] = {{"hit", &hit, 4000000}, {"miss", &miss, 400000}};
	for (size_t k = 0; k < RB_ARRAY_LEN(runs); k++) {
		double hr, fan;
		double ns = bench_match(sl, runs[k].bs, runs[k].iters, &hr, &fan);
		printf("%-8s %8u  %-9s %-6s %10.1f %7.1f%% %8.2f\n", "match", nsubs,
		       wild_mix ? "10% wild" : "literal", runs[k].name, ns, hr * 100.0, fan);
	}
	bench_subjects_free(&hit);
	bench_subjects_free(&miss);
	sublist_free(sl);
}

static void bench_churn_row(uint32_t nsubs, bool wild_mix)
{
	char sid[16];
	struct sublist *sl = sublist_new();
	if (!sl)
		exit(1);

	uint64_t t0 = clock_now_ns();
	bench_fill(sl, nsubs, wild_mix);
	uint64_t t1 = clock_now_ns();
	/* Remove half one by one, the rest owner by owner. */
	for (uint32_t i = 0; i < nsubs; i += 2) {
		int n = snprintf(sid, sizeof(sid), "%u", i);
		if (sublist_remove(sl, i % BENCH_OWNERS, sid, (size_t)n))
			exit(1);
	}
	uint64_t t2 = clock_now_ns();
	size_t rest = 0;
	for (uint64_t o = 0; o < BENCH_OWNERS; o++)
		rest += sublist_remove_owner(sl, o);
	uint64_t t3 = clock_now_ns();
	uint32_t nrm = (nsubs + 1) / 2;

	const char *mix = wild_mix ? "10% wild" : "literal";
	printf("%-8s %8u  %-9s %-6s %10.1f\n", "insert", nsubs, mix, "-",
	       (double)(t1 - t0) / nsubs);
	printf("%-8s %8u  %-9s %-6s %10.1f\n", "remove", nsubs, mix, "-", (double)(t2 - t1) / nrm);
	printf("%-8s %8u  %-9s %-6s %10.1f\n", "rm_owner", nsubs, mix, "-",
	       (double)(t3 - t2) / (double)rest);

	/* Steady state: one SUB and its UNSUB in a full index. */
	bench_fill(sl, nsubs, wild_mix);
	char subj[BENCH_SUBJ_LEN];
	uint64_t t4 = clock_now_ns();
	for (uint32_t i = 0; i < BENCH_CHURN; i++) {
		size_t len = bench_sub_subject(subj, i % nsubs, wild_mix && i % 10 == 9);
		if (sublist_insert(sl, BENCH_OWNERS, "c", 1, subj, len, NULL, 0, NULL) ||
		    sublist_remove(sl, BENCH_OWNERS, "c", 1))
			exit(1);
	}
	uint64_t t5 = clock_now_ns();
	printf("%-8s %8u  %-9s %-6s %10.1f\n", "sub+uns", nsubs, mix, "-",
	       (double)(t5 - t4) / BENCH_CHURN);
	sublist_free(sl);
}

int main(void)
{
	static const uint32_t sizes[] = {1, 1000, 100000};

	printf("%-8s %8s  %-9s %-6s %10s %8s %8s\n", "op", "subs", "mix", "cache", "ns/op", "hits",
	       "fanout");
	for (size_t i = 0; i < RB_ARRAY_LEN(sizes); i++) {
		bench_match_row(sizes[i], false);
		bench_match_row(sizes[i], true);
	}
	for (size_t i = 1; i < RB_ARRAY_LEN(sizes); i++) {
		bench_churn_row(sizes[i], false);
		bench_churn_row(sizes[i], true);
	}
	return 0;
}
