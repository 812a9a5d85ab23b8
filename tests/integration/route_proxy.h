/* A TCP relay on loopback that a test controls, to partition a cluster: one
 * node dials the proxy instead of its peer, and the test cuts the relayed
 * connections (and refuses new ones) for a while, then heals. */
#ifndef TESTS_INTEGRATION_ROUTE_PROXY_H
#define TESTS_INTEGRATION_ROUTE_PROXY_H

#include <stdint.h>

/* Owner: the test's main thread; the relaying runs on a thread of its own,
 * which the calls below command and wait for. */
struct route_proxy;

/* What the proxy has done so far. */
struct route_proxy_counts {
	uint64_t relayed; /* connections accepted and joined to the target */
	uint64_t refused; /* accepted while cut (or the target refused): closed at once */
	uint64_t cut;     /* relayed connections closed by route_proxy_cut */
	uint64_t live;    /* relayed connections open now */
	uint64_t bytes;   /* relayed, both directions */
};

/* Starts a proxy listening on a free loopback port that relays each
 * connection to 127.0.0.1:@target (dialled when the connection arrives).
 * *@out receives it, owned by the caller (route_proxy_free). Returns 0 or
 * -errno. */
int route_proxy_start(struct route_proxy **out, uint16_t target);

/* The loopback port the proxy listens on. */
uint16_t route_proxy_port(const struct route_proxy *p);

/* Closes both sides of every relayed connection (bytes the proxy holds are
 * dropped) and, until route_proxy_heal, accepts new connections only to
 * close them at once. Returns when done: 0, or -ETIMEDOUT when the proxy's
 * thread did not answer within 5 s. */
int route_proxy_cut(struct route_proxy *p);

/* Relays new connections again. Returns 0 or -ETIMEDOUT, as route_proxy_cut. */
int route_proxy_heal(struct route_proxy *p);

/* Copies the proxy's counters into *@c (caller storage). */
void route_proxy_counts(struct route_proxy *p, struct route_proxy_counts *c);

/* Stops the thread, closes every socket and frees @p. NULL is a no-op. */
void route_proxy_free(struct route_proxy *p);

#endif
