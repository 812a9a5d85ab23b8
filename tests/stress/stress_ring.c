/* Stress of the ring wrapper and the wake-up protocol: several producers and
 * consumers move numbered items through MPMC and MPSC rings; consumers sleep
 * whenever they find nothing. Checks that every item arrives exactly once,
 * in per-producer order through the MPSC ring, and that no wake-up is lost
 * (a lost one hangs the run until the alarm fails it). Exit 0 pass, 1 fail.
 * Two producers, as many as this machine has cores: a ck_ring multi-producer
 * enqueue waits for earlier producers to publish their slots, so producers
 * that outnumber cores convoy for seconds (seen here with three).
 * Built in every preset; run under ThreadSanitizer by tools/test.sh. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ring.h"
#include "core/wake.h"

#define PRODUCERS 2
#define CONSUMERS 2
#define ITEMS     20000u

struct item {
	uint32_t producer;
	uint32_t seq;
	uint64_t check; /* written before the push, verified after the pop */
};

static struct ring mpmc, mpsc;
static struct wake wake_mpmc[CONSUMERS], wake_mpsc;
static atomic_uint seen_mpmc[PRODUCERS][ITEMS / 32 + 1];
static atomic_uint remaining_mpmc = PRODUCERS * ITEMS;
static atomic_int failures;

static void fail(const char *what)
{
	fprintf(stderr, "stress_ring: %s\n", what);
	atomic_fetch_add(&failures, 1);
}

static void *producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	for (uint32_t seq = 0; seq < ITEMS; seq++) {
		for (int r = 0; r < 2; r++) {
			struct item *it = malloc(sizeof(*it));
			it->producer = id;
			it->seq = seq;
			it->check = ((uint64_t)id << 32 | seq) * 0x9e3779b97f4a7c15ull;
			struct ring *ring = r ? &mpsc : &mpmc;
			/* A full ring: back off with a real sleep. sched_yield() lets
			 * three spinning producers starve the consumers for seconds on
			 * two cores (CFS may pick the yielder again at once). */
			while (!(r ? ring_push_mpsc(ring, it) : ring_push_mpmc(ring, it)))
				usleep(50);
			if (r)
				wake_notify(&wake_mpsc);
			else
				for (int c = 0; c < CONSUMERS; c++)
					wake_notify(&wake_mpmc[c]);
		}
	}
	return NULL;
}

static bool check_item(const struct item *it)
{
	return it->check == ((uint64_t)it->producer << 32 | it->seq) * 0x9e3779b97f4a7c15ull;
}

/* Polls @r for up to 20 us before the caller sleeps, as the real consumers
 * do: without it every item costs a wake-up (tens of us each). */
static bool poll_briefly(struct ring *r)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (ring_count(r))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 20000);
	return false;
}

static void *consumer_mpmc(void *arg)
{
	int id = (int)(uintptr_t)arg;
	void *p;
	while (atomic_load(&remaining_mpmc) > 0) {
		if (ring_pop_mpmc(&mpmc, &p)) {
			struct item *it = p;
			if (!check_item(it))
				fail("mpmc: item corrupted");
			unsigned bit = 1u << (it->seq % 32);
			if (atomic_fetch_or(&seen_mpmc[it->producer][it->seq / 32], bit) & bit)
				fail("mpmc: item delivered twice");
			free(it);
			if (atomic_fetch_sub(&remaining_mpmc, 1) == 1)
				for (int c = 0; c < CONSUMERS; c++)
					wake_notify(&wake_mpmc[c]);
			continue;
		}
		if (poll_briefly(&mpmc))
			continue;
		wake_prepare(&wake_mpmc[id]);
		if (ring_count(&mpmc) || atomic_load(&remaining_mpmc) == 0) {
			wake_cancel(&wake_mpmc[id]);
			continue;
		}
		wake_wait(&wake_mpmc[id]);
		wake_cancel(&wake_mpmc[id]);
	}
	return NULL;
}

static void *consumer_mpsc(void *arg)
{
	(void)arg;
	uint32_t next[PRODUCERS] = {0};
	uint32_t left = PRODUCERS * ITEMS;
	void *p;
	while (left) {
		if (ring_pop_mpsc(&mpsc, &p)) {
			struct item *it = p;
			if (!check_item(it))
				fail("mpsc: item corrupted");
			if (it->seq != next[it->producer])
				fail("mpsc: out of order");
			next[it->producer] = it->seq + 1;
			free(it);
			left--;
			continue;
		}
		if (poll_briefly(&mpsc))
			continue;
		wake_prepare(&wake_mpsc);
		if (ring_count(&mpsc)) {
			wake_cancel(&wake_mpsc);
			continue;
		}
		wake_wait(&wake_mpsc);
		wake_cancel(&wake_mpsc);
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "stress_ring: timed out (lost wake-up or deadlock)\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(1);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	alarm(120);
	if (ring_init(&mpmc, 256) || ring_init(&mpsc, 64) || wake_init(&wake_mpsc, false))
		return 1;
	for (int c = 0; c < CONSUMERS; c++)
		if (wake_init(&wake_mpmc[c], false))
			return 1;

	pthread_t pt[PRODUCERS], ct[CONSUMERS], st;
	for (int c = 0; c < CONSUMERS; c++)
		pthread_create(&ct[c], NULL, consumer_mpmc, (void *)(uintptr_t)c);
	pthread_create(&st, NULL, consumer_mpsc, NULL);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&pt[i], NULL, producer, (void *)(uintptr_t)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(pt[i], NULL);
	for (int c = 0; c < CONSUMERS; c++)
		pthread_join(ct[c], NULL);
	pthread_join(st, NULL);

	for (int i = 0; i < PRODUCERS; i++)
		for (uint32_t s = 0; s < ITEMS; s++)
			if (!(atomic_load(&seen_mpmc[i][s / 32]) & (1u << (s % 32)))) {
				fail("mpmc: item lost");
				i = PRODUCERS;
				break;
			}
	ring_fini(&mpmc);
	ring_fini(&mpsc);
	wake_fini(&wake_mpsc);
	for (int c = 0; c < CONSUMERS; c++)
		wake_fini(&wake_mpmc[c]);
	int f = atomic_load(&failures);
	printf("stress_ring: %u items x %d producers through mpmc and mpsc: %s\n", ITEMS, PRODUCERS,
	       f ? "FAILED" : "ok");
	return f ? 1 : 0;
}
