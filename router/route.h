/* Routes: ringbus as a member of a NATS cluster, beside nats-server nodes,
 * over nats-server 2.9's route protocol (docs/CLUSTER.md).
 *
 * Two halves. The route manager (router/route_mgr.c, a thread of its own)
 * accepts route connections on the cluster port, dials the configured
 * routes (again every second while they are down) and those its peers tell
 * it of, and keeps the table of peers: who is connected, their client URLs
 * for INFO's connect_urls, duplicate routes. Each route socket is then
 * handed to an I/O thread (io_loop_adopt) and is a connection of that
 * thread like a client's (router/route_link.c): the peer's RS+/RS- become
 * subscriptions of the connection in the shards' index, its RMSGs messages
 * routed like a client's (to local subscribers only), and the local
 * interest set (router/interest.h) is announced to it. */
#ifndef ROUTER_ROUTE_H
#define ROUTER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct server;
struct iothr;
struct client;
struct io_conn;
struct proto_frame;
struct delivery;

/* The adopt tag of a route socket: this bit, and the index of the route
 * URL it was dialled for plus one (0: accepted). */
#define ROUTE_ADOPT_TAG  ((uint64_t)1 << 62)
#define ROUTE_ADOPT_LEAF ((uint64_t)1 << 61) /* with ROUTE_ADOPT_TAG: a leaf connection */
/* With ROUTE_ADOPT_LEAF: a leaf that joined us over TLS, whose INFO went out
 * before the handshake; the bits below are its connection id (no URL). */
#define ROUTE_ADOPT_INFO  ((uint64_t)1 << 60)
#define ROUTE_PEERS_MAX   64
#define ROUTE_ACCOUNT     "$G" /* the global account, written without a name in keys */
#define ROUTE_MAX_PAYLOAD (64u * 1024u * 1024u) /* no limit on routes: ours, as a bound */

/* ---- the manager (any thread unless said) ---- */

/* True when the configuration asks for a cluster (a listener or routes). */
bool route_configured(const struct server *s);

/* Creates the manager and the interest set, binds the cluster port (main
 * thread, at server_new). 0 when no cluster is configured. Returns 0 or
 * -errno after logging why. */
RB_MUST_CHECK int route_mgr_new(struct server *s);
/* Starts the manager's thread once the I/O threads run. */
RB_MUST_CHECK int route_mgr_start(struct server *s);
/* Stops the thread (before the I/O threads end). */
void route_mgr_stop(struct server *s);
/* Stops the TLS services of routes and leaf connections, if any: after it
 * returns no route or leaf is handed to an I/O thread. Idempotent, any
 * thread (router/route_tls.c). */
void route_tls_stop(struct server *s);
void route_mgr_free(struct server *s);

struct acc_table;
/* A reload replaced the accounts @was with @now (main thread): the
 * interest their imports need from the other servers follows. */
void route_mgr_accounts_changed(struct server *s, const struct acc_table *was,
                                const struct acc_table *now);

/* The cluster port bound (0: none). */
int route_port(const struct server *s);
/* The cluster's name (adopted from a peer when it was made up). */
void route_cluster_name(struct server *s, char *buf, size_t cap);

/* The client URLs of this node and of every peer, as a JSON array, into
 * @buf; 0 when routes are not configured or advertising is off. */
size_t route_connect_urls(struct server *s, char *buf, size_t cap);
/* Changes each time the peers change: I/O threads then send clients that
 * take it (protocol 1, after their first PONG) a new INFO. */
uint64_t route_info_gen(struct server *s);

/* Routes registered; *@leafs: leaf connections joined. */
uint32_t route_count(struct server *s, uint32_t *leafs);
/* The hubs this node joined, as /leafz shows them (JSON objects appended to
 * @buf); returns the length (0 when it did not fit). */
size_t route_leafz(struct server *s, char *buf, size_t cap, uint32_t *nleafs);

/* Peers as /routez shows them, JSON objects appended to @buf; returns the
 * length written (0 when it did not fit). */
size_t route_routez(struct server *s, char *buf, size_t cap, uint32_t *nroutes);

/* ---- on a route's I/O thread (router/route_link.c) ---- */

static inline bool route_tag(uint64_t adopt_tag)
{
	return adopt_tag & ROUTE_ADOPT_TAG;
}

/* A route socket was adopted: @cl is its connection (a client record with
 * cl->route set). Sends INFO (and CONNECT first when we dialled). Returns 0
 * or -ENOMEM. */
int route_link_open(struct client *cl, uint64_t tag);
/* One operation the peer sent. */
void route_link_op(struct client *cl, const struct proto_frame *f);
/* The connection closes: the peer leaves the table. */
void route_link_close(struct client *cl);
/* Writes a message for the route (a delivery to it, or one of a group:
 * router/batch.h, DELIVERY_F_CONT). */
void route_link_deliver(struct client *cl, const struct delivery *d);
/* Writes an RMSG whose queue groups are still being gathered. */
void route_link_flush(struct iothr *t);
/* Each poll: interest changes and gossip for the routes of @t, and INFO
 * updates for its clients. Returns true when it wrote anything. */
bool route_link_poll(struct iothr *t);
/* About once a second: PINGs, handshake deadline. */
void route_link_tick(struct client *cl, uint64_t now);

#endif /* ROUTER_ROUTE_H */
