/* The log-linear histogram: HdrHistogram's bucket arithmetic, its percentile
 * semantics and its .hgrm percentile-distribution output. */
#include "core/hist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* libm-free helpers (rb_core links libc only). Arguments are >= 0. */
static uint64_t double_bits(double x)
{
	uint64_t u;
	memcpy(&u, &x, sizeof(u));
	return u;
}

static double bits_double(uint64_t u)
{
	double x;
	memcpy(&x, &u, sizeof(x));
	return x;
}

/* The next double below @x (> 0). */
static double prev_double(double x)
{
	return bits_double(double_bits(x) - 1);
}

static uint64_t ceil_u64(double x)
{
	uint64_t u = (uint64_t)x;
	return (double)u < x ? u + 1 : u;
}

/* floor(log2(x)) for a normal x >= 1, read from the exponent bits. */
static int floor_log2(double x)
{
	return (int)((double_bits(x) >> 52) & 0x7ff) - 1023;
}

static double sqrt_pos(double x)
{
	if (x <= 0.0)
		return 0.0;
	/* Halve the exponent for the first guess, then Newton to convergence. */
	double r = bits_double(((double_bits(x) >> 1) + (UINT64_C(1023) << 51)));
	for (int i = 0; i < 64; i++) {
		double next = 0.5 * (r + x / r);
		if (next == r)
			break;
		r = next;
	}
	return r;
}

/* Buckets double in width; each holds sub_bucket_half_count linear slots
 * (bucket 0 holds sub_bucket_count). Index arithmetic as in HdrHistogram. */

static int32_t bucket_index(const struct hist *h, uint64_t value)
{
	int pow2ceiling = 64 - __builtin_clzll(value | h->sub_bucket_mask);
	return (int32_t)(pow2ceiling - h->unit_magnitude -
	                 (h->sub_bucket_half_count_magnitude + 1));
}

static int32_t sub_bucket_index(const struct hist *h, uint64_t value, int32_t bucket)
{
	return (int32_t)(value >> (bucket + h->unit_magnitude));
}

static int32_t counts_index(const struct hist *h, int32_t bucket, int32_t sub_bucket)
{
	int32_t base = (bucket + 1) << h->sub_bucket_half_count_magnitude;
	return base + (sub_bucket - h->sub_bucket_half_count);
}

static uint64_t value_from(const struct hist *h, int32_t bucket, int32_t sub_bucket)
{
	return (uint64_t)sub_bucket << (bucket + h->unit_magnitude);
}

static int32_t index_of(const struct hist *h, uint64_t value)
{
	int32_t b = bucket_index(h, value);
	return counts_index(h, b, sub_bucket_index(h, value, b));
}

static uint64_t value_at_index(const struct hist *h, int32_t index)
{
	int32_t bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
	int32_t sub_bucket = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;
	if (bucket < 0) {
		sub_bucket -= h->sub_bucket_half_count;
		bucket = 0;
	}
	return value_from(h, bucket, sub_bucket);
}

static uint64_t equivalent_range(const struct hist *h, uint64_t value)
{
	int32_t b = bucket_index(h, value);
	int32_t sb = sub_bucket_index(h, value, b);
	int32_t adjusted = sb >= h->sub_bucket_count ? b + 1 : b;
	return (uint64_t)1 << (h->unit_magnitude + adjusted);
}

uint64_t hist_lowest_equivalent(const struct hist *h, uint64_t value)
{
	int32_t b = bucket_index(h, value);
	return value_from(h, b, sub_bucket_index(h, value, b));
}

uint64_t hist_highest_equivalent(const struct hist *h, uint64_t value)
{
	return hist_lowest_equivalent(h, value) + equivalent_range(h, value) - 1;
}

static uint64_t median_equivalent(const struct hist *h, uint64_t value)
{
	return hist_lowest_equivalent(h, value) + (equivalent_range(h, value) >> 1);
}

int hist_init(struct hist *h, uint64_t lowest, uint64_t highest, int digits)
{
	memset(h, 0, sizeof(*h));
	if (lowest < 1 || digits < HIST_MIN_DIGITS || digits > HIST_MAX_DIGITS ||
	    highest < 2 * lowest || highest > (UINT64_MAX >> 2))
		return -EINVAL;

	uint64_t single_unit_span = 2;
	for (int i = 0; i < digits; i++)
		single_unit_span *= 10;
	int magnitude = 0;
	while (((uint64_t)1 << magnitude) < single_unit_span)
		magnitude++;

	h->lowest = lowest;
	h->highest = highest;
	h->digits = digits;
	h->unit_magnitude = 63 - __builtin_clzll(lowest);
	h->sub_bucket_half_count_magnitude = magnitude - 1;
	if (h->unit_magnitude + h->sub_bucket_half_count_magnitude > 61)
		return -EINVAL;
	h->sub_bucket_count = (int32_t)1 << magnitude;
	h->sub_bucket_half_count = h->sub_bucket_count / 2;
	h->sub_bucket_mask = (uint64_t)(h->sub_bucket_count - 1) << h->unit_magnitude;

	uint64_t untrackable = (uint64_t)h->sub_bucket_count << h->unit_magnitude;
	int32_t buckets = 1;
	while (untrackable <= highest) {
		untrackable <<= 1;
		buckets++;
	}
	h->bucket_count = buckets;
	h->counts_len = (buckets + 1) * h->sub_bucket_half_count;
	h->counts = calloc((size_t)h->counts_len, sizeof(*h->counts));
	if (!h->counts)
		return -ENOMEM;
	h->min_value = UINT64_MAX;
	return 0;
}

void hist_fini(struct hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

int hist_new(struct hist **out, uint64_t lowest, uint64_t highest, int digits)
{
	struct hist *h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	int err = hist_init(h, lowest, highest, digits);
	if (err) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void hist_free(struct hist *h)
{
	if (!h)
		return;
	hist_fini(h);
	free(h);
}

void hist_record_n(struct hist *h, uint64_t value, uint64_t n)
{
	if (RB_UNLIKELY(value > h->highest)) {
		value = h->highest;
		h->saturated += n;
	}
	h->counts[index_of(h, value)] += n;
	h->total += n;
	if (value < h->min_value)
		h->min_value = value;
	if (value > h->max_value)
		h->max_value = value;
}

void hist_record(struct hist *h, uint64_t value)
{
	hist_record_n(h, value, 1);
}

void hist_record_corrected(struct hist *h, uint64_t value, uint64_t expected_interval)
{
	hist_record_n(h, value, 1);
	if (expected_interval == 0 || value <= expected_interval)
		return;
	for (uint64_t missing = value - expected_interval; missing >= expected_interval;
	     missing -= expected_interval)
		hist_record_n(h, missing, 1);
}

bool hist_same_config(const struct hist *a, const struct hist *b)
{
	return a->lowest == b->lowest && a->highest == b->highest && a->digits == b->digits;
}

int hist_add(struct hist *dst, const struct hist *src)
{
	if (!hist_same_config(dst, src))
		return -EINVAL;
	for (int32_t i = 0; i < src->counts_len; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->saturated += src->saturated;
	if (src->min_value < dst->min_value)
		dst->min_value = src->min_value;
	if (src->max_value > dst->max_value)
		dst->max_value = src->max_value;
	return 0;
}

void hist_reset(struct hist *h)
{
	memset(h->counts, 0, (size_t)h->counts_len * sizeof(*h->counts));
	h->total = 0;
	h->saturated = 0;
	h->min_value = UINT64_MAX;
	h->max_value = 0;
}

uint64_t hist_count(const struct hist *h)
{
	return h->total;
}

uint64_t hist_saturated(const struct hist *h)
{
	return h->saturated;
}

uint64_t hist_min(const struct hist *h)
{
	return h->total ? hist_lowest_equivalent(h, h->min_value) : 0;
}

uint64_t hist_max(const struct hist *h)
{
	return h->total ? hist_highest_equivalent(h, h->max_value) : 0;
}

double hist_mean(const struct hist *h)
{
	if (!h->total)
		return 0.0;
	double sum = 0.0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		if (h->counts[i])
			sum += (double)h->counts[i] *
			       (double)median_equivalent(h, value_at_index(h, i));
	}
	return sum / (double)h->total;
}

double hist_stddev(const struct hist *h)
{
	if (!h->total)
		return 0.0;
	double mean = hist_mean(h);
	double sum = 0.0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		if (h->counts[i]) {
			double d = (double)median_equivalent(h, value_at_index(h, i)) - mean;
			sum += d * d * (double)h->counts[i];
		}
	}
	return sqrt_pos(sum / (double)h->total);
}

uint64_t hist_value_at_percentile(const struct hist *h, double p)
{
	if (!h->total)
		return 0;
	double requested = p > 100.0 ? 100.0 : p;
	/* One ulp down, so that p% of a count that is exact in decimal does not
	 * round up into the next bucket. */
	if (requested > 0.0)
		requested = prev_double(requested);
	else
		requested = 0.0;
	uint64_t wanted = ceil_u64(requested / 100.0 * (double)h->total);
	if (wanted < 1)
		wanted = 1;
	uint64_t cumulative = 0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		cumulative += h->counts[i];
		if (cumulative >= wanted) {
			uint64_t v = value_at_index(h, i);
			return p <= 0.0 ? hist_lowest_equivalent(h, v)
			                : hist_highest_equivalent(h, v);
		}
	}
	return hist_max(h);
}

/* HdrHistogram's percentile iteration: steps of 100 / (ticks * 2^k) percent,
 * k growing by one each time the distance to 100% halves; a row is due at
 * the first non-empty slot whose cumulative percentile reaches the level. */
static double next_level(double level, int ticks_per_half_distance)
{
	double remaining = 100.0 - level;
	if (remaining <= 0.0)
		return 100.0;
	/* Levels are sums of 100 / (ticks * 2^k): exact binary fractions, so the
	 * exponent gives the same floor(log2) as HdrHistogram's log ratio. */
	int halvings = floor_log2(100.0 / remaining) + 1;
	if (halvings > 62)
		return 100.0;
	double ticks = (double)ticks_per_half_distance * (double)((uint64_t)1 << halvings);
	return level + 100.0 / ticks;
}

/* Formats @fraction (0..1) with 12 decimals as Java's formatter does: from
 * the shortest decimal that reads back as the same double, rounding half up
 * (levels are binary fractions, so ties such as 0.9997802734375 are common
 * and printf would round them to even). */
static void format_fraction(char out[16], double fraction)
{
	char dec[48];
	int prec = 1;
	for (; prec < 20; prec++) {
		snprintf(dec, sizeof(dec), "%.*f", prec, fraction);
		if (strtod(dec, NULL) == fraction)
			break;
	}
	size_t len = strlen(dec);
	while (len < 15)
		dec[len++] = '0';
	dec[len] = '\0';
	/* dec is "d.dddd...": keep 12 decimals, carry when the 13th is >= 5 */
	memcpy(out, dec, 14);
	out[14] = '\0';
	if (dec[14] < '5')
		return;
	for (int i = 13; i >= 0; i--) {
		if (out[i] == '.')
			continue;
		if (out[i] != '9') {
			out[i]++;
			return;
		}
		out[i] = '0';
	}
}

static int write_row(FILE *out, const struct hist *h, uint64_t value, double level,
                     uint64_t cumulative, double unit_ratio)
{
	double fraction = level / 100.0;
	char pct[16];
	format_fraction(pct, fraction);
	int n;
	if (level != 100.0)
		n = fprintf(out, "%12.*f %s %10" PRIu64 " %14.2f\n", h->digits,
		            (double)value / unit_ratio, pct, cumulative, 1.0 / (1.0 - fraction));
	else
		n = fprintf(out, "%12.*f %s %10" PRIu64 "\n", h->digits, (double)value / unit_ratio,
		            pct, cumulative);
	return n < 0 ? -EIO : 0;
}

int hist_write_hgrm(const struct hist *h, FILE *out, int ticks_per_half_distance, double unit_ratio)
{
	if (ticks_per_half_distance < 1)
		ticks_per_half_distance = 1;
	if (fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
	            "1/(1-Percentile)") < 0)
		return -EIO;

	double level = 0.0;
	uint64_t cumulative = 0;
	int32_t idx = 0;
	bool fresh = true;
	bool last_done = false;
	while (h->total) {
		if (cumulative >= h->total) {
			if (last_done)
				break;
			/* One final row at 100%, at the slot where the count ran out. */
			level = 100.0;
			last_done = true;
		}
		bool emitted = false;
		while (idx < h->counts_len) {
			uint64_t c = h->counts[idx];
			if (fresh) {
				cumulative += c;
				fresh = false;
			}
			if (c && 100.0 * (double)cumulative / (double)h->total >= level) {
				uint64_t v = hist_highest_equivalent(h, value_at_index(h, idx));
				if (write_row(out, h, v, level, cumulative, unit_ratio))
					return -EIO;
				level = next_level(level, ticks_per_half_distance);
				emitted = true;
				break;
			}
			idx++;
			fresh = true;
		}
		if (!emitted)
			break;
	}

	int d = h->digits;
	if (fprintf(out, "#[Mean    = %12.*f, StdDeviation   = %12.*f]\n", d,
	            hist_mean(h) / unit_ratio, d, hist_stddev(h) / unit_ratio) < 0 ||
	    fprintf(out, "#[Max     = %12.*f, Total count    = %12" PRIu64 "]\n", d,
	            (double)hist_max(h) / unit_ratio, h->total) < 0 ||
	    fprintf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", h->bucket_count,
	            h->sub_bucket_count) < 0)
		return -EIO;
	return 0;
}
