/* Micro-benchmark of core/ring (ck_ring through its one wrapper): one producer
 * thread hands pointers to one consumer thread through an SPSC, MPSC or MPMC
 * ring of 4096 slots, either bare pointers or pointers to batches of 32
 * messages (as the router's mbatch/dbatch rings carry). Prints ns per slot and
 * million messages per second; about 2 s in all. Optional argument: the
 * milliseconds of each measurement (default 300). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/pin.h"
#include "core/ring.h"

#define BENCH_RING_SLOTS 4096u
#define BENCH_BATCH      32u
/* Batches in flight are at most the ring's capacity plus the one the consumer
 * holds and the one the producer fills: a pool twice the ring never hands the
 * producer a batch the consumer still reads. */
#define BENCH_POOL  (2u * BENCH_RING_SLOTS)
#define BENCH_SPINS 256u /* polls of a full or empty ring before sched_yield */

enum bench_variant { BENCH_SPSC, BENCH_MPSC, BENCH_MPMC };

/* A batch as the router's: a count and the messages' words, written by the
 * producer and read by the consumer. */
struct bench_batch {
	uint64_t n;
	uint64_t msg[BENCH_BATCH];
} RB_ALIGNED_CACHE;

/* One measurement. Owner: set up by main, then the two threads touch only
 * the fields named in their functions. */
struct bench_run {
	struct ring ring;
	enum bench_variant variant;
	bool batches;
	struct bench_batch *pool;
	atomic_bool stop;     /* main -> producer */
	atomic_int ready;     /* both threads arrive before the clock starts */
	atomic_bool unpinned; /* a thread could not pin itself */
	uint64_t slots;       /* written by the consumer */
	uint64_t elapsed;     /* ns, written by the consumer */
	bool bad;             /* consumer saw a value out of sequence */
};

static volatile uint64_t bench_sink; /* keeps the consumer's reads observable */

static const char *const bench_variant_name[] = {"spsc", "mpsc", "mpmc"};

static bool bench_push(struct bench_run *b, void *p)
{
	switch (b->variant) {
	case BENCH_SPSC:
		return ring_push_spsc(&b->ring, p);
	case BENCH_MPSC:
		return ring_push_mpsc(&b->ring, p);
	default:
		return ring_push_mpmc(&b->ring, p);
	}
}

static bool bench_pop(struct bench_run *b, void **p)
{
	switch (b->variant) {
	case BENCH_SPSC:
		return ring_pop_spsc(&b->ring, p);
	case BENCH_MPSC:
		return ring_pop_mpsc(&b->ring, p);
	default:
		return ring_pop_mpmc(&b->ring, p);
	}
}

/* Spins on a full or empty ring, yielding now and then so that the benchmark
 * still ends when both threads share one core. */
static void bench_backoff(unsigned *spins)
{
	if (++*spins % BENCH_SPINS == 0)
		sched_yield();
	else
		__builtin_ia32_pause();
}

static void bench_meet(struct bench_run *b)
{
	atomic_fetch_add(&b->ready, 1);
	while (atomic_load(&b->ready) < 2)
		__builtin_ia32_pause();
}

/* Pushes sequence numbers 1, 2, ... (or batches carrying them) until told to
 * stop, then NULL as the end mark. */
static void *bench_producer(void *arg)
{
	struct bench_run *b = arg;
	uint64_t seq = 0;
	unsigned spins = 0;

	if (pin_self(0) != 0)
		atomic_store(&b->unpinned, true);
	bench_meet(b);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
		for (unsigned k = 0; k < 64; k++) {
			void *p;
			seq++;
			if (b->batches) {
				struct bench_batch *x = &b->pool[seq % BENCH_POOL];
				x->n = BENCH_BATCH;
				for (unsigned j = 0; j < BENCH_BATCH; j++)
					x->msg[j] = seq * BENCH_BATCH + j;
				p = x;
			} else {
				p = (void *)(uintptr_t)seq;
			}
			while (!bench_push(b, p))
				bench_backoff(&spins);
		}
	}
	while (!bench_push(b, NULL))
		bench_backoff(&spins);
	return NULL;
}

/* Pops until the end mark, checking that values arrive in order. */
static void *bench_consumer(void *arg)
{
	struct bench_run *b = arg;
	uint64_t expect = 1, sum = 0;
	unsigned spins = 0;

	if (pin_self(1) != 0)
		atomic_store(&b->unpinned, true);
	bench_meet(b);
	uint64_t t0 = clock_now_ns();
	for (;;) {
		void *p;
		if (!bench_pop(b, &p)) {
			bench_backoff(&spins);
			continue;
		}
		if (!p)
			break;
		if (b->batches) {
			const struct bench_batch *x = p;
			if (x->msg[0] != expect * BENCH_BATCH)
				b->bad = true;
			for (uint64_t j = 0; j < x->n; j++)
				sum += x->msg[j];
		} else if ((uintptr_t)p != expect) {
			b->bad = true;
		}
		expect++;
	}
	b->elapsed = clock_now_ns() - t0;
	b->slots = expect - 1;
	bench_sink += sum;
	return NULL;
}

/* Runs one variant for @ms milliseconds and prints its row. Returns 0, or -1
 * when threads could not start or values arrived out of order. */
static int bench_one(enum bench_variant v, bool batches, unsigned ms)
{
	static struct bench_run b;
	pthread_t prod, cons;

	b = (struct bench_run){.variant = v, .batches = batches};
	if (ring_init(&b.ring, BENCH_RING_SLOTS) != 0)
		return -1;
	b.pool = aligned_alloc(RB_CACHELINE, sizeof(*b.pool) * BENCH_POOL);
	if (!b.pool)
		goto fail_ring;
	if (pthread_create(&cons, NULL, bench_consumer, &b) != 0)
		goto fail_pool;
	if (pthread_create(&prod, NULL, bench_producer, &b) != 0) {
		atomic_store(&b.ready, 2);
		while (!ring_push_mpmc(&b.ring, NULL))
			sched_yield();
		pthread_join(cons, NULL);
		goto fail_pool;
	}
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	atomic_store(&b.stop, true);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	free(b.pool);
	ring_fini(&b.ring);
	if (b.bad || b.slots == 0) {
		fprintf(stderr, "bench_ring: %s: values out of order\n", bench_variant_name[v]);
		return -1;
	}
	if (atomic_load(&b.unpinned))
		fprintf(stderr, "bench_ring: could not pin the threads; figures are unpinned\n");
	double ns = (double)b.elapsed / (double)b.slots;
	double msgs = (double)b.slots * (batches ? BENCH_BATCH : 1);
	printf("%-6s %-14s %10.1f %10.2f %10.2f\n", bench_variant_name[v],
	       batches ? "batch of 32" : "pointer", ns, 1e3 / ns, msgs * 1e3 / (double)b.elapsed);
	return 0;

fail_pool:
	free(b.pool);
fail_ring:
	ring_fini(&b.ring);
	fprintf(stderr, "bench_ring: cannot set up the %s run\n", bench_variant_name[v]);
	return -1;
}

int main(int argc, char **argv)
{
	unsigned ms = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 300;
	int rc = 0;

	if (ms == 0)
		ms = 300;
	printf("ring of %u slots, producer pinned to core 0, consumer to core 1 of %d\n",
	       BENCH_RING_SLOTS, pin_ncpus());
	printf("%-6s %-14s %10s %10s %10s\n", "ring", "slot carries", "ns/slot", "Mslot/s",
	       "Mmsg/s");
	for (int v = BENCH_SPSC; v <= BENCH_MPMC; v++) {
		rc |= bench_one((enum bench_variant)v, false, ms);
		rc |= bench_one((enum bench_variant)v, true, ms);
	}
	return rc ? 1 : 0;
}
