/* Tests of core/hist: percentiles against exact order statistics of the raw
 * samples, summary figures, merging, saturation and the .hgrm text output. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hist.h"

#define NSAMPLES 100000u
#define HIGHEST  (UINT64_C(3600) * 1000000000u) /* one hour in ns */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* xorshift64*: deterministic per seed, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0; /* [0, 1) */
}

enum dist { DIST_UNIFORM, DIST_EXPONENTIAL, DIST_BIMODAL, DIST_CONSTANT, DIST_WIDE };

static uint64_t draw(enum dist d)
{
	switch (d) {
	case DIST_UNIFORM:
		return 1000 + rng_next() % 1000000;
	case DIST_EXPONENTIAL:
		return (uint64_t)(-50000.0 * log(1.0 - rng_unit()));
	case DIST_BIMODAL:
		/* 90% around 20 us, 10% around 5 ms */
		if (rng_next() % 10)
			return 20000 + rng_next() % 2000;
		return 5000000 + rng_next() % 500000;
	case DIST_CONSTANT:
		return 123456;
	case DIST_WIDE:
		/* log-uniform over 1 .. 10^10 */
		return (uint64_t)exp(rng_unit() * log(1e10));
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Fills @out with @n samples of @d (sorted) and records them into @h. */
static void fill(struct hist *h, uint64_t *out, size_t n, enum dist d, uint64_t seed)
{
	rng_state = seed;
	for (size_t i = 0; i < n; i++) {
		out[i] = draw(d);
		hist_record(h, out[i]);
	}
	qsort(out, n, sizeof(*out), cmp_u64);
}

/* The nearest-rank percentile: the smallest sample with at least p%
 * (given in hundredths of a percent) of the samples at or below it. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, uint64_t p_hundredths)
{
	uint64_t rank = (p_hundredths * n + 9999) / 10000;
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static uint64_t pow10_u64(int d)
{
	uint64_t r = 1;
	while (d-- > 0)
		r *= 10;
	return r;
}

static const uint64_t percentiles[] = {1,    100,  1000, 2500, 5000, 7500,
                                       9000, 9900, 9990, 9999, 10000};

struct pct_case {
	enum dist dist;
	int digits;
	const char *name;
};

static const struct pct_case pct_cases[] = {
    {DIST_UNIFORM, 2, "uniform/2"},
    {DIST_UNIFORM, 3, "uniform/3"},
    {DIST_UNIFORM, 5, "uniform/5"},
    {DIST_EXPONENTIAL, 1, "exponential/1"},
    {DIST_EXPONENTIAL, 3, "exponential/3"},
    {DIST_EXPONENTIAL, 4, "exponential/4"},
    {DIST_BIMODAL, 2, "bimodal/2"},
    {DIST_BIMODAL, 3, "bimodal/3"},
    {DIST_CONSTANT, 3, "constant/3"},
    {DIST_WIDE, 3, "wide/3"},
    {DIST_WIDE, 2, "wide/2"},
};

Test(hist, percentiles_are_within_the_configured_precision_of_exact_ones)
{
	uint64_t *samples = malloc(NSAMPLES * sizeof(*samples));
	cr_assert(samples);
	for (size_t c = 0; c < sizeof(pct_cases) / sizeof(pct_cases[0]); c++) {
		const struct pct_case *pc = &pct_cases[c];
		struct hist h;
		cr_assert_eq(hist_init(&h, 1, HIGHEST, pc->digits), 0);
		fill(&h, samples, NSAMPLES, pc->dist, 0x9e3779b97f4a7c15u + c);
		uint64_t scale = pow10_u64(pc->digits);
		for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
			uint64_t exact = exact_percentile(samples, NSAMPLES, percentiles[i]);
			uint64_t got = hist_value_at_percentile(&h, (double)percentiles[i] / 100.0);
			cr_assert(got >= exact && (got - exact) * scale <= exact,
			          "%s p%.2f: histogram %" PRIu64 ", exact %" PRIu64, pc->name,
			          (double)percentiles[i] / 100.0, got, exact);
			cr_assert_eq(got, hist_highest_equivalent(&h, exact),
			             "%s p%.2f: not the top of the exact value's bucket", pc->name,
			             (double)percentiles[i] / 100.0);
		}
		hist_fini(&h);
	}
	free(samples);
}

Test(hist, count_min_max_and_mean_match_the_samples)
{
	uint64_t *samples = malloc(NSAMPLES * sizeof(*samples));
	cr_assert(samples);
	for (int d = HIST_MIN_DIGITS; d <= HIST_MAX_DIGITS; d++) {
		struct hist h;
		cr_assert_eq(hist_init(&h, 1, HIGHEST, d), 0);
		fill(&h, samples, NSAMPLES, DIST_EXPONENTIAL, 42 + (uint64_t)d);
		double sum = 0;
		for (size_t i = 0; i < NSAMPLES; i++)
			sum += (double)samples[i];
		double mean = sum / NSAMPLES;
		double tol = 1.0 / (double)pow10_u64(d);
		uint64_t lo = samples[0], hi = samples[NSAMPLES - 1];
		cr_assert_eq(hist_count(&h), NSAMPLES);
		cr_assert_eq(hist_min(&h), hist_lowest_equivalent(&h, lo));
		cr_assert(hist_min(&h) <= lo && (double)(lo - hist_min(&h)) <= (double)lo * tol);
		cr_assert_eq(hist_max(&h), hist_highest_equivalent(&h, hi));
		cr_assert(hist_max(&h) >= hi && (double)(hist_max(&h) - hi) <= (double)hi * tol);
		cr_assert(fabs(hist_mean(&h) - mean) <= mean * tol, "digits %d: mean %f vs %f", d,
		          hist_mean(&h), mean);
		cr_assert(hist_stddev(&h) > 0.0);
		hist_fini(&h);
	}
	free(samples);
}

Test(hist, stddev_of_two_point_distribution)
{
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, 1000000, 3), 0);
	hist_record_n(&h, 100, 50);
	hist_record_n(&h, 300, 50);
	cr_assert_float_eq(hist_mean(&h), 200.0, 1e-9);
	cr_assert_float_eq(hist_stddev(&h), 100.0, 1e-9);
	hist_fini(&h);
}

Test(hist, empty_histogram_reports_zeroes)
{
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, 1000, 2), 0);
	cr_assert_eq(hist_count(&h), 0);
	cr_assert_eq(hist_min(&h), 0);
	cr_assert_eq(hist_max(&h), 0);
	cr_assert_eq(hist_value_at_percentile(&h, 99.0), 0);
	cr_assert_float_eq(hist_mean(&h), 0.0, 1e-12);
	hist_fini(&h);
}

Test(hist, bad_configurations_are_refused)
{
	struct hist h;
	cr_assert_eq(hist_init(&h, 0, 1000, 3), -EINVAL);
	cr_assert_eq(hist_init(&h, 1, 1000, 0), -EINVAL);
	cr_assert_eq(hist_init(&h, 1, 1000, 6), -EINVAL);
	cr_assert_eq(hist_init(&h, 100, 150, 3), -EINVAL);
	struct hist *hp = NULL;
	cr_assert_eq(hist_new(&hp, 1, 1000, 6), -EINVAL);
	cr_assert_null(hp);
	hist_free(NULL);
}

/* Writes @h as .hgrm into a heap string (caller frees). */
static char *hgrm_string(const struct hist *h, double ratio)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert(f);
	cr_assert_eq(hist_write_hgrm(h, f, 5, ratio), 0);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

Test(hist, merge_equals_recording_both_sets)
{
	uint64_t *samples = malloc(NSAMPLES * sizeof(*samples));
	cr_assert(samples);
	struct hist a, b, both;
	cr_assert_eq(hist_init(&a, 1, HIGHEST, 3), 0);
	cr_assert_eq(hist_init(&b, 1, HIGHEST, 3), 0);
	cr_assert_eq(hist_init(&both, 1, HIGHEST, 3), 0);
	fill(&a, samples, NSAMPLES, DIST_BIMODAL, 7);
	for (size_t i = 0; i < NSAMPLES; i++)
		hist_record(&both, samples[i]);
	fill(&b, samples, NSAMPLES / 2, DIST_WIDE, 8);
	for (size_t i = 0; i < NSAMPLES / 2; i++)
		hist_record(&both, samples[i]);
	hist_record(&b, HIGHEST * 2);
	hist_record(&both, HIGHEST * 2);

	cr_assert_eq(hist_add(&a, &b), 0);
	cr_assert_eq(hist_count(&a), hist_count(&both));
	cr_assert_eq(hist_saturated(&a), 1);
	cr_assert_eq(hist_min(&a), hist_min(&both));
	cr_assert_eq(hist_max(&a), hist_max(&both));
	char *ta = hgrm_string(&a, 1.0), *tb = hgrm_string(&both, 1.0);
	cr_assert_str_eq(ta, tb);
	free(ta);
	free(tb);

	struct hist other;
	cr_assert_eq(hist_init(&other, 1, HIGHEST, 2), 0);
	cr_assert_eq(hist_add(&a, &other), -EINVAL);
	hist_fini(&other);
	hist_fini(&a);
	hist_fini(&b);
	hist_fini(&both);
	free(samples);
}

Test(hist, values_above_highest_are_clamped_and_counted)
{
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, 10000, 3), 0);
	hist_record(&h, 50);
	hist_record_n(&h, 20000, 3);
	hist_record(&h, UINT64_MAX);
	cr_assert_eq(hist_count(&h), 5);
	cr_assert_eq(hist_saturated(&h), 4);
	cr_assert_eq(hist_max(&h), hist_highest_equivalent(&h, 10000));
	cr_assert_eq(hist_value_at_percentile(&h, 100.0), hist_highest_equivalent(&h, 10000));
	cr_assert_eq(hist_value_at_percentile(&h, 20.0), 50);
	hist_reset(&h);
	cr_assert_eq(hist_count(&h), 0);
	cr_assert_eq(hist_saturated(&h), 0);
	hist_fini(&h);
}

Test(hist, corrected_recording_fills_in_the_missed_samples)
{
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, 1000000, 3), 0);
	hist_record_corrected(&h, 1000, 100); /* 1000, 900, ..., 100 */
	cr_assert_eq(hist_count(&h), 10);
	cr_assert_eq(hist_min(&h), 100);
	cr_assert_eq(hist_max(&h), 1000);
	hist_record_corrected(&h, 50, 100); /* below the interval: once */
	hist_record_corrected(&h, 70, 0);
	cr_assert_eq(hist_count(&h), 12);
	hist_fini(&h);
}

Test(hist, lowest_discernible_value_sets_the_unit)
{
	struct hist h;
	cr_assert_eq(hist_init(&h, 1000, HIGHEST, 2), 0);
	hist_record(&h, 1234567);
	uint64_t lo = hist_lowest_equivalent(&h, 1234567);
	uint64_t hi = hist_highest_equivalent(&h, 1234567);
	cr_assert(lo <= 1234567 && hi >= 1234567);
	cr_assert_eq((hi + 1 - lo) % 1024, 0, "bucket width %" PRIu64 " not a multiple of the unit",
	             hi + 1 - lo);
	cr_assert((double)(hi - lo) <= 1234567.0 / 100.0);
	hist_fini(&h);
}

/* Parsed form of one .hgrm row. */
struct hgrm_row {
	double value, pct, inv;
	uint64_t count;
	int fields;
};

static size_t parse_hgrm(char *text, struct hgrm_row *rows, size_t max, uint64_t *total,
                         int *buckets, int *sub_buckets)
{
	char *save = NULL;
	char *line = strtok_r(text, "\n", &save);
	cr_assert_str_eq(line, "       Value     Percentile TotalCount 1/(1-Percentile)");
	size_t n = 0;
	double mean, sd, maxv;
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (line[0] == '#') {
			if (sscanf(line, "#[Mean    = %lf, StdDeviation   = %lf]", &mean, &sd) == 2)
				continue;
			if (sscanf(line, "#[Max     = %lf, Total count    = %" SCNu64 "]", &maxv,
			           total) == 2)
				continue;
			cr_assert_eq(sscanf(line, "#[Buckets = %d, SubBuckets     = %d]", buckets,
			                    sub_buckets),
			             2, "bad footer line: %s", line);
			continue;
		}
		cr_assert(n < max);
		struct hgrm_row *r = &rows[n++];
		r->fields =
		    sscanf(line, "%lf %lf %" SCNu64 " %lf", &r->value, &r->pct, &r->count, &r->inv);
		cr_assert(r->fields == 3 || r->fields == 4, "bad row: %s", line);
	}
	return n;
}

Test(hist, hgrm_output_parses_back_monotonic_and_ends_at_100_percent)
{
	static struct hgrm_row rows[4096];
	uint64_t *samples = malloc(NSAMPLES * sizeof(*samples));
	cr_assert(samples);
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, HIGHEST, 3), 0);
	fill(&h, samples, NSAMPLES, DIST_EXPONENTIAL, 99);
	char *text = hgrm_string(&h, 1000.0);
	cr_assert(strstr(text, "1/(1-Percentile)\n\n"), "no blank line after the header");
	uint64_t total = 0;
	int buckets = 0, subs = 0;
	size_t n = parse_hgrm(text, rows, 4096, &total, &buckets, &subs);
	cr_assert(n > 20);
	cr_assert_eq(total, NSAMPLES);
	cr_assert_eq(subs, 2048);
	cr_assert(buckets > 20);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(rows[i].fields, i + 1 == n ? 3 : 4, "row %zu", i);
		if (i > 0) {
			cr_assert(rows[i].value >= rows[i - 1].value, "row %zu value", i);
			cr_assert(rows[i].pct > rows[i - 1].pct, "row %zu percentile", i);
			cr_assert(rows[i].count >= rows[i - 1].count, "row %zu count", i);
		}
		if (rows[i].fields == 4)
			cr_assert_float_eq(rows[i].inv, 1.0 / (1.0 - rows[i].pct), 0.01);
	}
	cr_assert_float_eq(rows[n - 1].pct, 1.0, 1e-12);
	cr_assert_eq(rows[n - 1].count, NSAMPLES);
	cr_assert_float_eq(rows[n - 1].value, (double)hist_max(&h) / 1000.0, 0.001);
	cr_assert_float_eq(rows[0].value, (double)hist_highest_equivalent(&h, samples[0]) / 1000.0,
	                   0.001);
	free(text);
	hist_fini(&h);
	free(samples);
}

Test(hist, hgrm_percentile_steps_halve_toward_100_percent)
{
	static struct hgrm_row rows[4096];
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, 1000000, 3), 0);
	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(&h, v);
	char *text = hgrm_string(&h, 1.0);
	uint64_t total = 0;
	int buckets = 0, subs = 0;
	size_t n = parse_hgrm(text, rows, 4096, &total, &buckets, &subs);
	/* 5 ticks per half distance: 10% steps to 50%, 5% to 75%, 2.5% to 87.5% */
	static const double want[] = {0.0,  0.1,   0.2,    0.3,  0.4,    0.5,   0.55,
	                              0.6,  0.65,  0.7,    0.75, 0.775,  0.8,   0.825,
	                              0.85, 0.875, 0.8875, 0.9,  0.9125, 0.925, 0.9375};
	cr_assert(n > sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_float_eq(rows[i].pct, want[i], 1e-12, "row %zu: %f", i, rows[i].pct);
	free(text);
	hist_fini(&h);
}

Test(hist, constant_distribution_gives_two_rows)
{
	static struct hgrm_row rows[16];
	struct hist h;
	cr_assert_eq(hist_init(&h, 1, 1000000, 3), 0);
	hist_record_n(&h, 100, 7);
	char *text = hgrm_string(&h, 1.0);
	uint64_t total = 0;
	int buckets = 0, subs = 0;
	size_t n = parse_hgrm(text, rows, 16, &total, &buckets, &subs);
	cr_assert_eq(n, 2);
	cr_assert_float_eq(rows[0].value, 100.0, 1e-9);
	cr_assert_float_eq(rows[0].pct, 0.0, 1e-12);
	cr_assert_float_eq(rows[1].pct, 1.0, 1e-12);
	cr_assert_eq(rows[1].count, 7);
	free(text);
	hist_fini(&h);
}
