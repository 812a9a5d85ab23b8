/* Micro-benchmark of core/hist: nanoseconds per hist_record() on latency-like
 * values (ns, 3 significant digits, up to one hour). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/hist.h"

#define VALUES 4096u

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
	struct hist h;
	if (hist_init(&h, 1, UINT64_C(3600000000000), 3)) {
		fprintf(stderr, "bench_hist: hist_init failed\n");
		return 1;
	}
	/* Values spread over 1 us .. 10 ms so that many buckets are touched. */
	static uint64_t values[VALUES];
	uint64_t x = 88172645463325252u;
	for (unsigned i = 0; i < VALUES; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		values[i] = 1000 + (x % 10000000) / (1 + (x >> 60));
	}
	uint64_t t0 = clock_now_ns();
	for (uint64_t r = 0; r < rounds; r++)
		for (unsigned i = 0; i < VALUES; i++)
			hist_record(&h, values[i]);
	uint64_t t1 = clock_now_ns();
	uint64_t n = rounds * VALUES;
	printf("hist_record: %" PRIu64 " values, %.2f ns/record\n", n,
	       (double)(t1 - t0) / (double)n);
	uint64_t p0 = clock_now_ns();
	uint64_t sink = 0;
	for (int i = 0; i < 100; i++)
		sink += hist_value_at_percentile(&h, 99.9);
	uint64_t p1 = clock_now_ns();
	printf("hist_value_at_percentile: %.1f us/call (p99.9 = %" PRIu64 " ns)\n",
	       (double)(p1 - p0) / 100.0 / 1000.0, sink / 100);
	hist_fini(&h);
	return 0;
}
