/* Worker threads: each owns a fixed set of shards and runs them whenever
 * they have work nobody else is doing (an I/O thread may run a sleeping
 * worker's shard inline; the claim decides who).
 *
 * Owner: the worker's own thread, except @wake (other threads notify it). */
#ifndef ROUTER_WORKER_H
#define ROUTER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/wake.h"

struct shard;

struct worker {
	int index;
	pthread_t tid;
	struct wake wake;
	int nshards;
	struct shard **shards;
	uint64_t sleeps;
	/* Reloads (router/server_gen.c): the generation count seen at the last
	 * quiescent state (release; the main thread reads it). */
	atomic_uint_fast64_t qs_seq;
	/* read-only after start */
	const atomic_bool *stop;
	const atomic_uint_fast64_t *gen_seq; /* the server's generation count */
	uint64_t spin_ns;                    /* idle polling before sleeping */
	int pin_cpu;                         /* -1: not pinned */
};

/* Thread body: runs @arg (a struct worker) until *stop. */
void *worker_main(void *arg);

#endif /* ROUTER_WORKER_H */
