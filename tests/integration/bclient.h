/* Plain blocking clients for delivery tests: one thread per connection,
 * buffered writes as fast as the socket takes them, reads as they come — the
 * shape of most NATS client libraries, not tuned to any server. Each message
 * carries its publisher's number and sequence, and each subscriber checks
 * what it gets: count, order per publisher, duplicates, gaps. */
#ifndef TESTS_INTEGRATION_BCLIENT_H
#define TESTS_INTEGRATION_BCLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BC_MAX_PUBS     16
#define BC_MAX_SUBJECTS 32

/* A publisher: @msgs messages of @size bytes (at least 32), cycling over
 * @subjects, then a PING/PONG to know the server read them all. */
struct bc_pub {
	uint16_t port;
	uint32_t id; /* < BC_MAX_PUBS */
	const char *subjects[BC_MAX_SUBJECTS];
	int nsubjects;
	uint64_t msgs;
	uint32_t size;
	/* results */
	uint64_t sent;
	int err; /* 0, or -errno of what failed */
	char why[128];
};

/* A subscriber: SUB to each of @subjects (in @queue when set), then reads
 * until @expect messages arrived, the server closed it, or nothing came for
 * @idle_ms. Optionally slow: after each read of at most @read_chunk bytes it
 * sleeps @pause_us. */
struct bc_sub {
	uint16_t port;
	const char *subjects[BC_MAX_SUBJECTS];
	int nsubjects;
	const char *queue;
	uint64_t expect;
	int idle_ms;
	uint32_t read_chunk; /* 0: 64 KiB */
	uint32_t pause_us;
	/* results */
	atomic_bool ready; /* subscribed (its PONG came back) */
	uint64_t got;
	uint64_t per_pub[BC_MAX_PUBS];
	uint64_t last[BC_MAX_PUBS]; /* last sequence seen, per publisher (1-based) */
	uint64_t out_of_order;      /* a sequence not above the last one */
	uint64_t gaps;              /* a sequence more than one above the last one */
	bool closed;                /* the server closed the connection */
	int err;
	char why[128];
};

void *bc_pub_main(void *arg);
void *bc_sub_main(void *arg);

/* Waits until @s subscribed (or failed); returns true when it did. */
bool bc_sub_wait_ready(struct bc_sub *s, int timeout_ms);

#endif
