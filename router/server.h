/* The ringbus server: the context every thread reads (settings, the shards,
 * the I/O threads, what SIGHUP may replace) and its lifecycle (create, run,
 * stop, free). The thread roles have headers of their own: router/iothr.h,
 * router/worker.h, router/shard.h. */
#ifndef ROUTER_SERVER_H
#define ROUTER_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/hash.h"
#include "router/conf/config.h"
#include "router/monitor/sys_stats.h"

struct shard;
struct worker;
struct iothr;
struct admission;
struct monitor;
struct tls_service;
struct auth;
struct svc_table;
struct route_mgr;
struct ws_listen;
struct interest;
struct acc_table;
struct acc_replies;

/* Settings a reload may change, besides the admission policies. Immutable. */
struct live {
	struct auth *auth;
	struct auth *ws_auth;  /* WebSocket clients' (websocket { authorization { } no_auth_user
	                          }), or NULL: they log in with @auth */
	struct acc_table *acc; /* the accounts (router/account.h); numbers kept across reloads */
	uint32_t max_payload;  /* for connections opened from now on */
	uint32_t max_control_line;
	uint32_t max_connections;
	uint32_t max_subscriptions;
	uint32_t ping_interval_ms;
	uint32_t ping_max;
	uint32_t auth_timeout_ms;
	uint32_t ws_auth_timeout_ms; /* a WebSocket client's */
	uint32_t inline_max;
	bool tls_verify; /* INFO's tls_verify */
};

/* One generation of what SIGHUP replaces: the admission policies and the
 * live settings, in force together. Owner: the main thread (router/
 * server_gen.c), which frees a replaced one once no thread can still see it.
 * Read-only for everyone else. */
struct server_gen {
	struct admission *adm;
	struct live *live;
	uint64_t retired_seq; /* gen_seq when it was replaced */
	unsigned holds;       /* server_gen_hold()s outstanding (under gen_lock) */
	struct server_gen *next;
};

/* Owner: the main thread builds it; read-only for the other threads once
 * they start, except the atomics and what says otherwise. */
struct server {
	struct config cfg;
	char server_id[32];
	uint8_t nonce_key[32]; /* INFO nonces for NKey logins (router/nkey.h) */
	char server_name[64];
	int port; /* the port bound (cfg.port is as configured: 0 or -1 allowed) */
	int nio;
	int nworkers;
	int nshards;
	struct iothr *io;
	struct worker *workers;
	struct shard *shards;
	struct svc_table *svc; /* queue members' requests in flight (router/service.h) */
	uint8_t acc_pre;       /* bytes of account token before subjects in the index (0: none;
	                          fixed at start) */
	struct acc_replies *replies; /* service imports' requests waiting for answers */
	atomic_bool stop;
	atomic_int phase;     /* enum server_phase: lame duck mode and the graceful stop */
	atomic_bool ldm_tell; /* lame duck mode: no thread accepts any more; tell the clients */
	atomic_uint nclients; /* open client connections, all I/O threads */
	/* Many subscriptions were freed: malloc_trim() once this time (ns) has
	 * passed; 0 when none is wanted. See server_want_trim(). */
	atomic_uint_fast64_t trim_at_ns;
	atomic_int freeing; /* mass frees under way: see server_freeing() */
	/* What SIGHUP may replace: swapped whole (release), read by any thread
	 * with server_adm() and server_live() (acquire). The I/O threads and
	 * workers read them freely and say when they hold nothing older
	 * (their qs_seq, at each poll); other threads hold a generation with
	 * server_gen_hold(). router/server_gen.c frees the old ones. */
	struct admission *_Atomic adm;
	struct live *_Atomic live;
	atomic_uint_fast64_t gen_seq; /* generations replaced so far */
	pthread_mutex_t gen_lock;     /* guards gen_cur, gen_retired, holds */
	struct server_gen *gen_cur;
	struct server_gen *gen_retired;
	/* Start and stop: an I/O thread is ready, or the stop was asked
	 * (@stop); both under @life_lock, announced on @life_cond. */
	pthread_mutex_t life_lock;
	pthread_cond_t life_cond;
	int main_efd; /* eventfd: other threads wake the main thread (lame duck, closing) */
	int argc;     /* the command line, read again on reload */
	char **argv;
	atomic_bool proc_over; /* bytes held above the process high mark */
	uint64_t start_wall_ns;
	struct monitor *mon;
	struct tls_service *tls;   /* NULL without TLS (router/tls_glue.c) */
	struct route_mgr *routes;  /* NULL without a cluster (router/route.h) */
	struct interest *interest; /* local interest announced to routes, or NULL */
	struct ws_listen *ws;      /* NULL without websocket { } (router/ws_listen.h) */
	/* documents for $SYS.RINGBUS.<id>.STATS, from the main thread to I/O
	 * thread 0 (router/monitor/sys_stats.h) */
	struct sys_stats_box sys_box;
};

/* The reloadable settings in force. For the I/O threads and workers, which
 * announce quiescent states; any other thread uses server_gen_hold(). */
static inline const struct live *server_live(struct server *s)
{
	return atomic_load_explicit(&s->live, memory_order_acquire);
}

/* The users, token and no_auth_user a client logs in with, in @lv: a
 * WebSocket client's own (websocket { }) when there are, else the top
 * level's. Borrowed from @lv. */
static inline const struct auth *server_live_auth(const struct live *lv, bool websocket)
{
	return websocket && lv->ws_auth ? lv->ws_auth : lv->auth;
}

/* The admission policies in force; as server_live(). */
/* The accounts in force (any thread that may read server_live()). */
static inline const struct acc_table *server_acc(struct server *s)
{
	return server_live(s)->acc;
}

static inline struct admission *server_adm(struct server *s)
{
	return atomic_load_explicit(&s->adm, memory_order_acquire);
}

/* For threads other than the I/O threads and the workers (TLS handshakes,
 * monitoring): the generation in force, kept from being freed until
 * server_gen_release(). Any thread; a mutex, so not for a hot path. */
const struct server_gen *server_gen_hold(struct server *s);
void server_gen_release(struct server *s, const struct server_gen *g);

/* Wakes the main thread (any thread): it looks at what changed (an I/O
 * thread in lame duck mode, connections closed). */
void server_wake_main(struct server *s);

/* Hands connected socket @fd to I/O thread @loop with @tag: what every TLS
 * service's ready callback does once a handshake is done (clients, wss://,
 * routes, leaf links). Any thread; the loops must outlive the caller's
 * service. Returns 0, or -errno (then @fd is the caller's to close). */
int server_adopt(struct server *s, int loop, int fd, uint64_t tag, const char *peer_ip,
                 uint32_t peer_port);

/* Puts @a's settings for request-aware queue groups in force (start and
 * reload): on or off, the expiry, each service's limit and wait. */
void server_svc_apply(struct server *s, const struct admission *a);

/* Lame duck mode and a graceful stop. LAME_DUCK stops accepting and tells
 * clients (INFO "ldm"), who are then closed a few at a time (router/
 * server_main.c); DRAINING stops accepting and reading while what was read
 * is routed and delivered; CLOSING closes every connection once its output
 * is sent. Only ever goes up. */
enum server_phase {
	SERVER_RUNNING = 0,
	SERVER_LAME_DUCK,
	SERVER_DRAINING,
	SERVER_CLOSING,
};

/* Creates the server from @cfg (taken: the server frees it) and opens the
 * listening sockets. Returns 0 and *@out, or -errno after logging why. */
RB_MUST_CHECK int server_new(struct config *cfg, struct server **out);

/* Remembers the command line (borrowed: it must outlive the server) so a
 * reload reads the file and the same flags again. */
void server_set_args(struct server *s, int argc, char **argv);

/* Starts the threads and blocks until SIGINT/SIGTERM, the end of lame duck
 * mode (SIGUSR2) or server_stop(). Returns 0 or -errno. */
int server_run(struct server *s);

/* The signals the main thread reads through a signalfd (INT, TERM, HUP,
 * USR1, USR2): server_block_signals() blocks them in the calling thread and
 * the threads it starts from then on, and ignores SIGPIPE. */
void server_signal_set(sigset_t *set);
void server_block_signals(void);

void server_stop(struct server *s);
void server_free(struct server *s);

/* The shard that owns the literal subject @subj: the hash's top 32 bits
 * scaled to [0, nshards), a multiply, not a division, on every message. */
static inline uint32_t server_shard_of(const struct server *s, const char *subj, size_t len)
{
	return (uint32_t)(((hash_bytes(subj, len) >> 32) * (uint64_t)s->nshards) >> 32);
}

/* How much freed memory each malloc arena keeps (M_TRIM_THRESHOLD). While
 * the server runs, a lot: the hot path frees batches and output buffers
 * every iteration and allocates them again, and where subscribers fall
 * behind they are freed in bursts of megabytes; given back, they were
 * faulted in again, zeroed (a quarter of the server's time at 16 subjects
 * to blocking subscribers, docs/PERFORMANCE.md). While a mass close is
 * being freed, little: a thread's arena gives its top back only in free()
 * above this threshold (malloc_trim() does not), so the threshold is also
 * what a mass close would leave resident. server_freeing() lowers it,
 * the trim that follows the close raises it again. */
#define SERVER_ARENA_KEEP         (64u << 20)
#define SERVER_ARENA_KEEP_FREEING (16u << 20)

/* A mass free begins (a connection with many subscriptions closed): arenas
 * keep SERVER_ARENA_KEEP_FREEING until every mass free begun has ended
 * (server_freed()) and the trim after them ran. Any thread. */
static inline void server_freeing(struct server *s)
{
	atomic_fetch_add_explicit(&s->freeing, 1, memory_order_seq_cst);
	mallopt(M_TRIM_THRESHOLD, (int)SERVER_ARENA_KEEP_FREEING);
}

/* Asks the main thread to give freed memory back to the system (malloc keeps
 * it otherwise) a moment from now: requests that follow each other closely,
 * as every shard finishing its share of a large removal, make one trim. */
static inline void server_want_trim(struct server *s)
{
	atomic_store_explicit(&s->trim_at_ns, clock_now_ns() + 200u * 1000u * 1000u,
	                      memory_order_relaxed);
}

/* The mass free server_freeing() announced has ended: a trim soon. */
static inline void server_freed(struct server *s)
{
	atomic_fetch_sub_explicit(&s->freeing, 1, memory_order_seq_cst);
	server_want_trim(s);
}

#endif /* ROUTER_SERVER_H */
