/* One statistics interface for monitoring (HTTP endpoints, logs, tests):
 * a snapshot of the server, its I/O threads, shards, admission policies and,
 * on request, every connection. Collected off the hot path: shard counters
 * are relaxed atomics written once per batch; connection and I/O-thread
 * figures are copied by their own I/O thread when asked (through its wake-up),
 * so no other thread ever reads a connection. */
#ifndef ROUTER_MONITOR_STATS_H
#define ROUTER_MONITOR_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* The kinds of bytes held (core/memacct.h's, in its order). */
#define STATS_HELD_KINDS 4

struct server;
struct svc_view;
struct config_account;

struct stats_conn {
	uint64_t cid;
	char ip[46];
	uint16_t port;
	uint64_t start_ns; /* CLOCK_REALTIME */
	uint64_t last_activity_ns;
	uint64_t in_msgs;
	uint64_t in_bytes;
	uint64_t out_msgs;
	uint64_t out_bytes;
	uint64_t pending_bytes;
	uint64_t drops; /* messages not delivered to it by admission */
	uint32_t subscriptions;
	bool websocket; /* came through the WebSocket listener */
	bool link;      /* a route or leaf link, not a client (counted in no account) */
	char name[64];
	char lang[32];
	char version[32];
	/* the user it logged in as: a name or an NKey's public key; empty when
	 * none (no authorization, or a token: never shown, unlike nats-server) */
	char user[64];
	uint16_t account; /* its account: an index of stats.accounts */
};

struct stats_io {
	uint32_t connections; /* every socket of the thread, links too */
	uint32_t links;       /* of them, route and leaf links */
	uint64_t total_connections;
	uint64_t recv_completions;
	uint64_t send_completions;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t enobufs; /* multishot recv ended for want of provided buffers */
	uint64_t lent;    /* receive buffers kept past their parse (payloads left there) */
	uint64_t wakeups; /* eventfd wake-ups received */
	uint64_t in_msgs;
	uint64_t out_msgs;
	uint64_t in_payload;      /* message payload bytes (nats-server's in_bytes) */
	uint64_t out_payload;     /* message payload bytes (nats-server's out_bytes) */
	uint64_t subscriptions;   /* of its open connections, each counted once */
	uint64_t perm_violations; /* permission violations answered */
	uint64_t slow_consumers;
};

struct stats_shard {
	uint64_t queue_batches; /* mbatches waiting in its ring now */
	uint64_t msgs;
	uint64_t deliveries;
	uint64_t batches;
	uint64_t inline_runs; /* batches run by an I/O thread instead of the worker */
	uint64_t busy_ns;
	uint64_t subscriptions;
	uint64_t sub_inserts;
	uint64_t sub_removes;
	uint64_t matches;
	uint64_t cache_hits;
	uint64_t cache_entries;
};

/* Counters of one admission policy (see router/admission.h). */
struct stats_admission {
	char name[64]; /* the policy's pattern or "default" */
	char action[16];
	uint64_t admitted;
	uint64_t deferred;
	uint64_t deferred_ns;
	uint64_t dropped_new;
	uint64_t dropped_old;
	uint64_t busy_replies;
	uint64_t stalls;
	uint64_t no_progress;
	uint64_t disconnects;
	uint64_t high_crossings;
};

/* One account (router/account.h). @name and @cfg are borrowed from the
 * server, fixed at start (a reload that would change accounts is refused). */
struct stats_account {
	const char *name;
	const struct config_account *cfg; /* its exports and imports; NULL: none ($G) */
	bool gone;                        /* a reload removed it (its number stays taken) */
	/* with STATS_ACCOUNTS only: */
	uint32_t connections;   /* its client connections (no route nor leaf link) */
	uint64_t subscriptions; /* theirs, summed */
};

/* What stats_collect() gathers beyond the server's totals. */
enum stats_want {
	STATS_CONNS = 1 << 0,    /* every connection (st->conns) */
	STATS_ACCOUNTS = 1 << 1, /* each account's connections and subscriptions */
	/* the client connections with the most output pending (st->slowest):
	 * found in the pass each I/O thread makes over its connections anyway,
	 * so it costs a comparison per connection, not a copy of each */
	STATS_SLOWEST = 1 << 2,
};

/* How many connections STATS_SLOWEST keeps. */
#define STATS_SLOWEST_MAX 5

/* A snapshot. Owned by the caller; free with stats_free(). */
struct server_gen;

struct stats {
	struct server *srv;
	const struct server_gen *gen; /* held: the accounts' names are its (NULL: none) */
	uint64_t now_ns;              /* CLOCK_REALTIME */
	uint64_t start_ns;            /* server start, CLOCK_REALTIME */
	const char *server_id;
	const char *server_name; /* NULL: the server id */
	const char *version;     /* the nats-server release clients see (as INFO) */
	const char *ringbus_version;
	const char *host;
	int port;
	uint32_t max_payload;
	uint64_t max_pending;
	uint32_t max_connections;
	uint64_t ping_interval_ms;
	uint32_t ping_max;
	/* totals */
	uint64_t in_msgs;
	uint64_t in_bytes;
	uint64_t out_msgs;
	uint64_t out_bytes;
	uint32_t connections;
	uint64_t total_connections;
	uint64_t perm_violations;
	uint64_t slow_consumers;
	uint64_t subscriptions; /* each once, however many shards hold it */
	uint64_t bytes_held;    /* what the process admission mark measures */
	/* of which: batches, output buffers, stashed input, TLS relays
	 * (core/memacct.h's kinds, in its order) */
	uint64_t bytes_held_by[STATS_HELD_KINDS];
	/* beyond one machine (router/route.h) */
	bool cluster; /* routes or leaf remotes configured */
	char cluster_name[64];
	int cluster_port;   /* 0: no cluster listener */
	uint32_t routes;    /* routes registered */
	uint32_t leafnodes; /* leaf connections joined */
	/* parts */
	int nio;
	struct stats_io *io;
	int nshards;
	struct stats_shard *shards;
	int nadmission;
	struct stats_admission *admission;
	size_t nservices; /* queue groups as services (router/service.h) */
	struct svc_view *services;
	size_t nconns; /* 0 unless asked for */
	struct stats_conn *conns;
	/* STATS_SLOWEST: client connections with pending_bytes > 0, the most
	 * first (only cid, name and pending_bytes are filled) */
	size_t nslowest;
	struct stats_conn slowest[STATS_SLOWEST_MAX];
	/* accounts: [0] is $G, alone without accounts { } */
	int naccounts;
	struct stats_account *accounts;
	const char *system_account; /* NULL: none (borrowed, as the accounts' names) */
	bool account_figures;       /* STATS_ACCOUNTS was asked: their counts are filled */
};

/* Fills @out with a snapshot of @s and what @want (enum stats_want bits)
 * asks for. STATS_ACCOUNTS costs as STATS_CONNS: the I/O threads copy every
 * connection, summed here. Any thread but an I/O thread of @s (it asks them
 * and waits, bounded by 1 s). Returns 0 or -errno (-ETIMEDOUT: an I/O thread
 * did not answer; the other figures are still filled). */
RB_MUST_CHECK int stats_collect(struct server *s, struct stats *out, unsigned want);
void stats_free(struct stats *st);

/* Puts @c (borrowed: its cid, name and pending_bytes are copied) into @top,
 * *@n of at most STATS_SLOWEST_MAX connections ordered by pending_bytes, the
 * most first (ties: the lower cid first), when it has pending bytes and
 * belongs there. Any thread; for the I/O threads' pass and the merge. */
void stats_slowest_add(struct stats_conn *top, size_t *n, const struct stats_conn *c);

#endif /* ROUTER_MONITOR_STATS_H */
