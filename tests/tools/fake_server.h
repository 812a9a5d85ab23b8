/* A fake NATS server for ringbus-load's tests: loopback, one subscription
 * per connection (wildcards allowed), one thread per connection, injecting
 * faults into what one subscriber gets. */
#ifndef TESTS_TOOLS_FAKE_SERVER_H
#define TESTS_TOOLS_FAKE_SERVER_H

#include <stdint.h>

/* Faults for the first subscriber to subscribe, by the index i (from 0) of
 * each message routed to it: dropped when i % drop_every == drop_at, sent
 * twice when i % dup_every == dup_at, held back and sent after the next one
 * when i % swap_every == swap_at (a field of 0 turns the fault off). The
 * rules are tried in that order; one message gets one fault at most. After
 * close_after messages (0: never) that subscriber's connection is closed. */
struct fake_faults {
	uint32_t drop_every, drop_at;
	uint32_t dup_every, dup_at;
	uint32_t swap_every, swap_at;
	uint64_t close_after;
};

/* What the fake server did to the faulted subscriber. */
struct fake_counts {
	uint64_t routed; /* messages for it, faults included */
	uint64_t dropped;
	uint64_t duplicated;
	uint64_t reordered; /* messages sent after a later one */
};

struct fake_server;

/* Starts listening on a free loopback port (*@port). Returns 0 or -errno. */
int fake_server_start(struct fake_server **out, const struct fake_faults *faults, uint16_t *port);

/* Stops the server, closes every connection and reports the counts. */
void fake_server_stop(struct fake_server *s, struct fake_counts *counts);

#endif /* TESTS_TOOLS_FAKE_SERVER_H */
