/* What the route manager (router/route_mgr.c) and the route connections on
 * the I/O threads (router/route_link.c) share, and TLS on routes
 * (router/route_tls.c) and leaf connections (router/leaf_tls.c). Private
 * to those. */
#ifndef ROUTER_ROUTE_INT_H
#define ROUTER_ROUTE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "router/conf/config.h"
#include "router/route.h"
#include "io/proto/proto.h"

#define ROUTE_ID_MAX    64
#define ROUTE_HOST_MAX  256
#define ROUTE_CURLS_MAX 1024 /* a peer's connect_urls, as JSON array items */

/* What a peer's INFO says about it. */
struct route_hello {
	char id[ROUTE_ID_MAX];
	char name[ROUTE_ID_MAX];
	char cluster[ROUTE_ID_MAX];
	bool dynamic; /* its cluster name was made up */
	bool headers;
	char host[ROUTE_HOST_MAX]; /* its cluster address, as it says ("ip" when relayed) */
	int port;
	char ip[ROUTE_HOST_MAX + 32]; /* "nats-route://host:port/" when relayed, else empty */
	char curls[ROUTE_CURLS_MAX];  /* "\"h:p\",\"h:p\"" */
};

/* Counters of one route, written by its I/O thread, read by /routez. */
struct route_counters {
	atomic_uint_fast64_t in_msgs, out_msgs, in_bytes, out_bytes, subs;
	atomic_uint_fast64_t drops; /* messages admission did not send to the peer */
};

/* One route connection on its I/O thread. Owner: that thread. */
struct route_link {
	int url;          /* the route URL we dialled, or -1 when accepted */
	bool leaf;        /* a leaf connection to a hub (leafnodes { remotes }) */
	bool tls;         /* a leaf connection we made over TLS */
	bool got_connect; /* the peer's CONNECT */
	bool registered;  /* its INFO was taken: a peer of the table */
	bool headers;     /* both sides said headers: HMSG, else headers are dropped */
	int peer;         /* its slot in the table (registered), -1 for a leaf */
	int leaf_slot;    /* a leaf's slot in the table of hubs joined (/leafz), or -1 */
	int reader;       /* its interest reader (router/interest.h), -1: none */
	uint16_t acc;     /* a leaf's account (leafnodes remotes' account; $G when accepted) */
	/* a leaf remote's deny_exports and deny_imports (the settings' lists,
	 * which a reload does not change), or NULL */
	const struct config_list *deny_exports;
	const struct config_list *deny_imports;
	uint64_t opened_ns;
	char id[ROUTE_ID_MAX];
	struct route_counters *ctr; /* in its peer slot (registered), else NULL */
};

#define ROUTE_URLS_MAX   (2 * ROUTE_PEERS_MAX)
#define ROUTE_OUTBOX_MAX 64

struct route_url {
	char host[ROUTE_HOST_MAX];
	int port;
	char user[128];
	char pass[128];
	bool implicit; /* learned from a peer: a few tries only */
	bool leaf;     /* a leaf node remote's URL (a hub we join) */
	int group;     /* leaf: its remote's number (one connection per remote) */
	int tries;
	bool busy; /* a connection made for it is open */
	char peer_id[ROUTE_ID_MAX];
	uint64_t next_ns;
	char *info; /* leaf over TLS: the hub's INFO JSON read before the handshake
	             * (owned; router/leaf_tls.c) */
};

struct route_peer {
	bool used;
	struct route_hello h;
	uint64_t conn;
	int url;
	char remote_ip[64];
	int remote_port;
	uint64_t since_wall_ns;
	struct route_counters ctr;
	char *outbox[ROUTE_OUTBOX_MAX];
	uint32_t nout;
	atomic_bool has_out;
};

/* A hub this node joined as a leaf. */
struct route_leafinfo {
	bool used;
	uint16_t acc;            /* the local account the connection is bound to */
	char name[ROUTE_ID_MAX]; /* the hub's server name */
	char ip[64];
	int port;
	uint64_t since_wall_ns;
	struct route_counters ctr;
};

struct route_mgr {
	struct server *s;
	pthread_t tid;
	bool started;
	atomic_bool stop;
	int listen_fd;
	int port;
	int leaf_fd; /* leafnodes { listen }: -1 when none */
	int leaf_port;
	int efd; /* wakes the thread to stop */
	int next_loop;
	pthread_mutex_t lock;
	char cluster[ROUTE_ID_MAX];
	bool dynamic;
	char self_url[ROUTE_HOST_MAX + 16]; /* "\"host:port\"": this node's client URL */
	struct route_url urls[ROUTE_URLS_MAX];
	int nurls;
	struct route_peer peers[ROUTE_PEERS_MAX];
	atomic_uint_fast64_t info_gen;
	struct route_leafinfo leafs[CONFIG_LEAF_REMOTES_MAX];
	struct tls_service *tls;          /* cluster { tls { } }: route handshakes, or NULL */
	struct tls_service *leaf_hub_tls; /* leafnodes { tls { } }: leaves that join, or NULL */
	struct tls_service *leaf_tls[CONFIG_LEAF_REMOTES_MAX]; /* a remote's tls { }, or NULL */
};

/* ---- TLS on leaf connections (router/leaf_tls.c) ---- */

/* Starts the hub's service (leafnodes { tls { } } with a listener) and one
 * per remote with tls { }. Returns 0 or -errno after logging. Main thread,
 * before the manager's thread starts. */
int leaf_tls_new(struct route_mgr *m);
/* An accepted leaf socket: taken by the hub's service (INFO, then the
 * leaf's handshake) and true; false (nothing taken) without TLS. */
bool leaf_tls_accepted(struct route_mgr *m, int fd, int loop);
/* A socket dialled for leaf URL @url (blocking): when its remote has
 * tls { }, reads the hub's INFO (within the TLS timeout) into the URL's
 * slot and starts the handshake as TLS client of the URL's host; takes
 * @fd and returns true. False (nothing taken) without TLS. The manager's
 * thread. */
bool leaf_tls_dialled(struct route_mgr *m, int fd, int loop, uint64_t tag, int url);
/* The INFO JSON read for leaf URL @url before its handshake (owned: free
 * it), or NULL. Any thread. */
char *leaf_tls_take_info(struct server *s, int url);
/* Stops the services (after it, nothing is handed to an I/O thread); frees
 * them and the INFOs kept. */
void leaf_tls_stop(struct route_mgr *m);
void leaf_tls_free(struct route_mgr *m);

/* ---- TLS on routes (router/route_tls.c) ---- */

/* Starts m->tls when the cluster block has tls { }. Returns 0 or -errno
 * after logging. Main thread, before the manager's thread starts. */
int route_tls_new(struct route_mgr *m);

/* Hands a connected route socket (not a leaf's) to the TLS service when
 * routes use TLS: as TLS client of @host when we dialled it, as server when
 * @host is NULL. Takes @fd and returns true; false (nothing taken) without
 * TLS on routes. The manager's thread. */
bool route_tls_submit(struct route_mgr *m, int fd, int loop, uint64_t tag, const char *host);

/* Stops and frees m->tls (NULL is a no-op). After the manager's thread. */
void route_tls_free(struct route_mgr *m);

/* The cluster's INFO of this node, "INFO {...} \r\n" (@nonce omitted when
 * NULL). Returns its length, 0 when it did not fit. */
size_t route_mgr_info(struct server *s, char *buf, size_t cap);
/* The CONNECT this node sends on a route it dialled (user and password of
 * route URL @url). */
size_t route_mgr_connect(struct server *s, int url, char *buf, size_t cap);
/* The CONNECT this node sends a hub it joins as a leaf (leaf URL @url),
 * with the fields @auth (",\"jwt\":...", or "") after its own. */
size_t route_mgr_leaf_connect(struct server *s, int url, const char *auth, char *buf, size_t cap);
/* The credentials file of the remote of leaf URL @url, or NULL. */
const char *route_mgr_leaf_creds(struct server *s, int url);
/* A leaf connection joined hub @name at @ip:@port: its slot (its
 * counters for /leafz), or -1 when the table is full. */
int route_mgr_leaf_up(struct server *s, const char *name, const char *ip, int port, uint16_t acc);
/* The account the leaf node remote of URL @url is bound to ($G for any
 * other URL). */
uint16_t route_mgr_leaf_account(struct server *s, int url);
/* A leaf that joins us with @user and @pass (may be NULL): true when
 * leafnodes { authorization } lets it in (or there is none); *@acc is the
 * account it is bound to. */
bool route_mgr_leaf_auth(struct server *s, const char *user, const char *pass, uint16_t *acc);
/* Its deny_exports and deny_imports (NULL when empty, or not a leaf remote). */
void route_mgr_leaf_denies(struct server *s, int url, const struct config_list **exports,
                           const struct config_list **imports);
void route_mgr_leaf_down(struct server *s, int slot);
struct route_counters *route_mgr_leaf_counters(struct server *s, int slot);
/* The INFO a hub sends a leaf that joins it (@connect_info: the one after
 * its CONNECT). */
size_t route_mgr_hub_info(struct server *s, uint64_t cid, bool connect_info, char *buf, size_t cap);
/* The subject this node announces on its leaf connections to find loops. */
void route_mgr_lds(struct server *s, char *buf, size_t cap);
/* Leaf URL @url is tried again after @delay_ns at the earliest. */
void route_mgr_delay(struct server *s, int url, uint64_t delay_ns);
/* Checks a peer's CONNECT credentials against cluster { authorization }. */
bool route_mgr_auth_ok(struct server *s, const char *user, const char *pass);
bool route_mgr_auth_required(struct server *s);

/* The peer @h on connection @conn (dialled for @url, or -1) finished its
 * handshake. Returns its slot, or -1 with *@err set to the -ERR text to send
 * (or empty for a silent close: ourselves, a duplicate route). Adopts the
 * peer's cluster name when ours was made up; relays its INFO to the other
 * peers (gossip); announces the new client URLs. */
int route_mgr_register(struct server *s, const struct route_hello *h, uint64_t conn, int url,
                       const char *peer_ip, char *err, size_t errcap);
/* The route in slot @peer (or, not registered, dialled for @url) closed. */
void route_mgr_closed(struct server *s, int peer, int url);
/* An INFO on a live route: news of the peer itself (new client URLs), or
 * of another node it met (dialled when unknown). */
void route_mgr_gossip(struct server *s, int peer, const struct route_hello *h);
/* Lines (INFOs of new peers) waiting for the route in slot @peer: written
 * to @c and forgotten. */
void route_mgr_outbox(struct server *s, int peer, struct io_conn *c);
bool route_mgr_outbox_pending(struct server *s, int peer);
struct route_counters *route_mgr_counters(struct server *s, int peer);

/* "nats://user:pass@host:port" into @u; -EINVAL when it is not one. */
int route_url_parse(const char *text, struct route_url *u);
/* True when @id is this node or a registered peer. Under m->lock. */
bool route_peer_known_locked(struct route_mgr *m, const char *id);

/* Reads a peer's INFO JSON into @h. Returns false when it is not one. */
bool route_hello_parse(struct route_hello *h, const char *json, size_t len);

/* One message of @bytes on a route's counters: only its I/O thread writes
 * them (no locked add per message; /routez reads them relaxed). */
static inline void route_count_add(atomic_uint_fast64_t *msgs, atomic_uint_fast64_t *bytes,
                                   uint64_t n)
{
	atomic_store_explicit(msgs, atomic_load_explicit(msgs, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
	atomic_store_explicit(bytes, atomic_load_explicit(bytes, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static const struct proto_span route_acc = {ROUTE_ACCOUNT, sizeof(ROUTE_ACCOUNT) - 1};

/* ---- router/route_out.c ---- */

struct interest_ev;

/* Writes an interest change (or an entry of the dump) to the route or leaf
 * connection @arg (a struct client), as interest_fn. */
void route_write_interest(void *arg, const struct interest_ev *ev);
/* True when literal subject @subj matches a pattern of @l (NULL: none). */
bool route_denied(const struct config_list *l, const char *subj, size_t len);

#endif /* ROUTER_ROUTE_INT_H */
