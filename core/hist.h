/* A log-linear latency histogram with HdrHistogram's bucket scheme: fixed
 * memory sized at init, recording without allocation, percentiles within a
 * configured number of significant digits, and the .hgrm text output. */
#ifndef CORE_HIST_H
#define CORE_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/compiler.h"

#define HIST_MIN_DIGITS 1
#define HIST_MAX_DIGITS 5

/* Owner: one thread at a time (no internal locking); merge per-thread
 * histograms with hist_add(). Fields are private: use the functions. */
struct hist {
	uint64_t lowest;  /* lowest discernible value (>= 1) */
	uint64_t highest; /* highest trackable value; larger values are clamped */
	int digits;       /* significant decimal digits, HIST_MIN..MAX_DIGITS */
	int unit_magnitude;
	int sub_bucket_half_count_magnitude;
	int32_t sub_bucket_count;
	int32_t sub_bucket_half_count;
	uint64_t sub_bucket_mask;
	int32_t bucket_count;
	int32_t counts_len;
	uint64_t total;     /* values recorded, saturated ones included */
	uint64_t saturated; /* values above @highest, recorded as @highest */
	uint64_t min_value; /* raw; UINT64_MAX while empty */
	uint64_t max_value; /* raw (after clamping); 0 while empty */
	uint64_t *counts;   /* heap, counts_len entries */
};

/* Initialises @h in caller storage for values in [@lowest, @highest] kept to
 * @digits significant digits; allocates the counts array once.
 * Returns 0, -EINVAL (lowest < 1, highest < 2 * lowest, digits out of range)
 * or -ENOMEM. Release with hist_fini(). */
RB_MUST_CHECK int hist_init(struct hist *h, uint64_t lowest, uint64_t highest, int digits);

/* Frees the counts array of @h; hist_fini() on a zeroed struct is a no-op. */
void hist_fini(struct hist *h);

/* As hist_init() on the heap: *@out is owned by the caller, released with
 * hist_free(). Returns 0, -EINVAL or -ENOMEM. */
RB_MUST_CHECK int hist_new(struct hist **out, uint64_t lowest, uint64_t highest, int digits);

/* Frees @h (NULL is a no-op). */
void hist_free(struct hist *h);

/* Records @value once / @n times. Values above the highest trackable value
 * are recorded as that value and counted in hist_saturated(). No allocation. */
void hist_record(struct hist *h, uint64_t value);
void hist_record_n(struct hist *h, uint64_t value, uint64_t n);

/* Records @value and, as HdrHistogram does for coordinated omission, the
 * samples a stalled closed-loop sender missed: value - k * @expected_interval
 * for every k >= 1 while that stays >= @expected_interval. An interval of 0
 * records @value only. */
void hist_record_corrected(struct hist *h, uint64_t value, uint64_t expected_interval);

/* Adds every count of @src to @dst. Returns 0, or -EINVAL when the two were
 * configured differently (nothing added then). Borrows both. */
RB_MUST_CHECK int hist_add(struct hist *dst, const struct hist *src);

/* Clears every count; the configuration and memory stay. */
void hist_reset(struct hist *h);

/* Same lowest, highest and digits: hist_add() accepts the pair. */
bool hist_same_config(const struct hist *a, const struct hist *b);

uint64_t hist_count(const struct hist *h);
uint64_t hist_saturated(const struct hist *h);

/* Smallest recorded value's lowest equivalent value; 0 when empty. */
uint64_t hist_min(const struct hist *h);
/* Largest recorded value's highest equivalent value; 0 when empty. */
uint64_t hist_max(const struct hist *h);
/* Mean and standard deviation of the bucket midpoints (HdrHistogram's
 * definition); 0 when empty. */
double hist_mean(const struct hist *h);
double hist_stddev(const struct hist *h);

/* The highest equivalent value of the first bucket where the cumulative count
 * reaches @p percent (0..100) of the total: at least p% of the recorded values
 * are <= the result. p = 0 gives the lowest equivalent value of the smallest
 * recorded value. 0 when empty. */
uint64_t hist_value_at_percentile(const struct hist *h, double p);

/* Bucket bounds: every value in [hist_lowest_equivalent(v),
 * hist_highest_equivalent(v)] is counted in the same bucket as @v. */
uint64_t hist_lowest_equivalent(const struct hist *h, uint64_t value);
uint64_t hist_highest_equivalent(const struct hist *h, uint64_t value);

/* Writes the percentile distribution in HdrHistogram's .hgrm text format
 * (outputPercentileDistribution): header, one row per percentile step with
 * @ticks_per_half_distance steps per halving of the distance to 100% (5 is
 * customary), and the Mean/Max/Buckets footer. Values are divided by
 * @unit_ratio (1000.0: recorded in ns, printed in us). Borrows @out.
 * Returns 0 or -EIO when a write fails. */
RB_MUST_CHECK int hist_write_hgrm(const struct hist *h, FILE *out, int ticks_per_half_distance,
                                  double unit_ratio);

#endif /* CORE_HIST_H */
