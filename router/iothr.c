/* The I/O thread's side of the router: set-up, its poll (forwarded
 * deliveries in, batches out to the shards, inline routing, the merge of the
 * shards' results), and the admission state it watches (shard and process
 * marks, paused publishers). */
#include "router/iothr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/memacct.h"
#include "core/pin.h"
#include "router/route.h"
#include "io/loop/loop.h"
#include "router/admission.h"
#include "router/client_int.h"
#include "router/client_stash.h"
#include "router/server.h"
#include "router/shard.h"
#include "router/tls_glue.h"
#include "router/ws_listen.h"
#include "router/worker.h"
#include "router/wsconn.h"

int iothr_init(struct iothr *t, struct server *s, int index, int nshards, int nio)
{
	t->srv = s;
	t->index = index;
	t->listen_fd = -1;
	t->wake.efd = -1;
	rlog_init(&t->log);
	log_ratelimit_init(&t->adm_log, 1000000000ull, 5);
	log_ratelimit_init(&t->client_log, 1000000000ull, 10);
	pthread_mutex_init(&t->stats_req.lock, NULL);
	pthread_cond_init(&t->stats_req.cond, NULL);
	t->open = calloc((size_t)nshards, sizeof(*t->open));
	t->pending_head = calloc((size_t)nshards, sizeof(*t->pending_head));
	t->pending_tail = calloc((size_t)nshards, sizeof(*t->pending_tail));
	t->open_entries = calloc((size_t)nshards, sizeof(*t->open_entries));
	t->cursor = calloc((size_t)nshards, sizeof(*t->cursor));
	t->kicked = calloc((size_t)nshards, sizeof(*t->kicked));
	t->fwd_open = calloc((size_t)nio, sizeof(*t->fwd_open));
	t->fwd_head = calloc((size_t)nio, sizeof(*t->fwd_head));
	t->fwd_tail = calloc((size_t)nio, sizeof(*t->fwd_tail));
	if (!t->open || !t->pending_head || !t->pending_tail || !t->open_entries || !t->cursor ||
	    !t->kicked || !t->fwd_open || !t->fwd_head || !t->fwd_tail)
		return -ENOMEM;
	return 0;
}

void iothr_fini(struct iothr *t)
{
	struct server *s = t->srv;
	void *p;
	for (int sh = 0; t->open && sh < s->nshards; sh++) {
		mbatch_unref(t->open[sh]);
		while (t->pending_head && t->pending_head[sh]) {
			struct mbatch *b = t->pending_head[sh];
			t->pending_head[sh] = b->next;
			mbatch_unref(b);
		}
		if (t->cursor)
			dbatch_free(t->cursor[sh].db);
	}
	for (int io = 0; t->fwd_open && io < s->nio; io++) {
		dbatch_free(t->fwd_open[io]);
		while (t->fwd_head[io]) {
			struct dbatch *db = t->fwd_head[io];
			t->fwd_head[io] = db->next;
			dbatch_free(db);
		}
	}
	if (t->in.slots) {
		while (ring_pop_mpsc(&t->in, &p))
			dbatch_free(p);
		ring_fini(&t->in);
	}
	wake_fini(&t->wake);
	rlog_fini(&t->log);
	free(t->open);
	free(t->pending_head);
	free(t->pending_tail);
	free(t->open_entries);
	free(t->cursor);
	free(t->kicked);
	free(t->members);
	free(t->routes);
	free(t->fwd_open);
	free(t->fwd_head);
	free(t->fwd_tail);
	free(t->paused);
	free(t->holders);
	free(t->ws_buf);
	client_graves_reap(t, true);
	free(t->stats_req.conns);
	pthread_mutex_destroy(&t->stats_req.lock);
	pthread_cond_destroy(&t->stats_req.cond);
}

/* True when every reason that paused @cl has cleared. */
static bool iothr_may_resume(struct iothr *t, struct client *cl, uint64_t now)
{
	struct server *s = t->srv;
	if ((cl->pause_reasons & CLIENT_PAUSE_PROCESS) &&
	    !atomic_load_explicit(&s->proc_over, memory_order_relaxed))
		cl->pause_reasons &= ~(uint32_t)CLIENT_PAUSE_PROCESS;
	if (cl->pause_reasons & CLIENT_PAUSE_SHARD) {
		bool waiting = false;
		for (uint32_t w = 0; w < CLIENT_SHARD_WORDS; w++) {
			uint64_t bits = cl->wait_shards[w];
			while (bits) {
				uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (atomic_load_explicit(&s->shards[i].over, memory_order_relaxed))
					waiting = true;
				else
					cl->wait_shards[w] &= ~(1ull << (i % 64));
			}
		}
		if (!waiting)
			cl->pause_reasons &= ~(uint32_t)CLIENT_PAUSE_SHARD;
	}
	if (cl->pause_reasons & CLIENT_PAUSE_SUBSCRIBER) {
		/* Subscribers release what they hold when they drain, stall or
		 * close; this is the safety net should a release be lost. */
		uint64_t cap = (uint64_t)s->cfg.write_deadline_ms * 1000000u +
		               (cl->pause_policy ? cl->pause_policy->defer_max_ns : 0) +
		               1000000000ull;
		if (cl->sub_pauses == 0 || now - cl->paused_since > cap)
			cl->pause_reasons &= ~(uint32_t)CLIENT_PAUSE_SUBSCRIBER;
	}
	return cl->pause_reasons == 0;
}

/* Over the process mark, each thread closes its subscribers that stopped
 * reading (client_drop_stalled()) and gives back the output buffers its
 * idle connections keep from earlier bursts, at most this often: held but
 * empty, they would keep the process over its mark with nothing queued, and
 * the publishers it defers paused for good (nothing flows, so nothing else
 * frees them). */
#define IOTHR_TRIM_NS 100000000ull

struct iothr_relief {
	uint64_t now;
	uint64_t freed;
};

static void iothr_relieve_one(struct io_conn *c, void *arg)
{
	struct iothr_relief *r = arg;
	struct client *cl = c->user;
	if (cl && !cl->kind && !cl->quitting && client_drop_stalled(cl, r->now))
		return; /* closed: its buffers go with it */
	r->freed += io_conn_trim(c);
}

/* Process mark: every byte held for messages (core/memacct.h). */
static void iothr_check_process(struct iothr *t)
{
	struct server *s = t->srv;
	const struct admission *a = server_adm(s);
	uint64_t held = memacct_marked();
	bool over = atomic_load_explicit(&s->proc_over, memory_order_relaxed);
	uint64_t now = io_loop_now(t->loop);
	if ((over || held > a->process_high) && now - t->last_trim > IOTHR_TRIM_NS) {
		struct iothr_relief r = {.now = now};
		t->last_trim = now;
		io_loop_foreach(t->loop, iothr_relieve_one, &r);
		if (r.freed && log_ratelimit_ok(&t->adm_log, now))
			log_info("admission: over the process mark, %llu bytes of idle output "
			         "buffers given back",
			         (unsigned long long)r.freed);
		held = memacct_marked();
	}
	if (!over && held > a->process_high) {
		bool was = false;
		if (atomic_compare_exchange_strong(&s->proc_over, &was, true)) {
			adm_count(&server_adm(s)->shard_c.high_crossings, 1);
			atomic_fetch_add(&server_adm(s)->process_crossings, 1);
			log_warn("admission: the process holds %llu bytes of messages, over its "
			         "mark: deferring publishers",
			         (unsigned long long)held);
		}
	} else if (over && held < a->process_low) {
		atomic_store(&s->proc_over, false);
		log_info("admission: process below its low mark again (%llu bytes)",
		         (unsigned long long)held);
	}
}

static bool iothr_check_paused(struct iothr *t)
{
	iothr_check_process(t);
	if (!t->npaused)
		return false;
	uint64_t now = clock_now_ns();
	bool did = false;
	for (uint32_t i = 0; i < t->npaused;) {
		struct client *cl = t->paused[i];
		if (iothr_may_resume(t, cl, now)) {
			iothr_unpause_at(t, i, now);
			/* What it sent meanwhile first; it may pause it again (the
			 * list grows) or close it (@cl is freed). */
			client_unstash(cl);
			did = true;
		} else {
			i++;
		}
	}
	return did;
}

/* ---- reloads and the server's phases ---- */

/* Moves a connection's long-lived pointers into the admission state @arg:
 * the policy it is paused or over its mark for (by name, else the default),
 * and no cached lookup. */
static void iothr_rebind_one(struct io_conn *c, void *arg)
{
	const struct admission *a = arg;
	struct client *cl = c->user;
	if (!cl)
		return;
	if (cl->pause_policy)
		cl->pause_policy = admission_policy_by_name(a, cl->pause_policy->name);
	if (cl->over_policy)
		cl->over_policy = admission_policy_by_name(a, cl->over_policy->name);
	cl->pol_adm = NULL;
	cl->pol = NULL;
	cl->pol_subj_len = 0;
}

static void iothr_reperm_one(struct io_conn *c, void *arg)
{
	if (c->user)
		client_perm_reload(c->user, arg);
}

/* A quiescent state (router/server_gen.c): nothing of this thread points
 * into a generation older than the count it publishes. Called at the top of
 * each poll, where no pointer loaded earlier is in use. */
static void iothr_quiesce(struct iothr *t)
{
	struct server *s = t->srv;
	/* acquire: pairs with the release in server_gen_swap(); the pointers
	 * loaded after it are at least as new as the count */
	uint64_t seq = atomic_load_explicit(&s->gen_seq, memory_order_acquire);
	if (RB_LIKELY(seq == t->qs_local))
		return;
	struct admission *a = server_adm(s);
	if (a != t->adm_bound) {
		io_loop_foreach(t->loop, iothr_rebind_one, a);
		t->adm_bound = a;
	}
	const struct live *lv = server_live(s);
	if (lv != t->live_bound) { /* new authorization: new permissions */
		io_loop_foreach(t->loop, iothr_reperm_one, (void *)lv);
		t->live_bound = lv;
	}
	t->qs_local = seq;
	/* release: the rebinding above happens before the main thread frees */
	atomic_store_explicit(&t->qs_seq, seq, memory_order_release);
}

/* Lame duck mode begins here: no more accepts (the listening socket is
 * closed, so connections are refused). The clients are told once no thread
 * accepts any more (as nats-server waits for its accept loops). */
static void iothr_enter_lame_duck(struct iothr *t)
{
	io_loop_stop_accepting(t->loop);
	if (t->listen_fd >= 0) {
		close(t->listen_fd);
		t->listen_fd = -1;
	}
	/* release: pairs with the main thread's acquire before it tells */
	atomic_store_explicit(&t->ldm_ready, true, memory_order_release);
	server_wake_main(t->srv);
}

/* Acts on a new phase of the server, and on lame duck mode's requests. */
static void iothr_phase(struct iothr *t)
{
	struct server *s = t->srv;
	int phase = atomic_load_explicit(&s->phase, memory_order_relaxed);
	if (RB_UNLIKELY(phase != t->phase_seen)) {
		if (phase >= SERVER_LAME_DUCK && t->phase_seen < SERVER_LAME_DUCK)
			iothr_enter_lame_duck(t);
		if (phase >= SERVER_DRAINING && t->phase_seen < SERVER_DRAINING)
			io_loop_quiesce(t->loop);
		if (phase >= SERVER_CLOSING && t->phase_seen < SERVER_CLOSING)
			client_stop_all(t);
		t->phase_seen = phase;
	}
	if (phase != SERVER_LAME_DUCK)
		return;
	/* acquire, first: pairs with the release add of server_ldm_close(), made
	 * after ldm_tell was set, so the clients are told before any closes */
	uint32_t close_now = atomic_exchange_explicit(&t->ldm_close, 0, memory_order_acquire);
	if (!t->ldm_told && atomic_load_explicit(&s->ldm_tell, memory_order_acquire)) {
		t->ldm_told = true;
		client_ldm_info_all(t);
	}
	if (close_now)
		client_ldm_close(t, close_now);
}

/* Publishes the connections open for the main thread, and wakes it when the
 * last one here closed while it waits for that (lame duck mode, closing). */
static void iothr_publish_conns(struct iothr *t)
{
	uint32_t n = io_loop_nconns(t->loop);
	atomic_store_explicit(&t->conns_open, n, memory_order_relaxed);
	if (t->phase_seen >= SERVER_LAME_DUCK && n == 0 && !t->closed_told) {
		t->closed_told = true;
		server_wake_main(t->srv);
	}
}

/* ---- the poll ---- */

/* I/O thread 0: publishes the $SYS figures the main thread left in the
 * mailbox (router/monitor/sys_stats.h); dropped once the server stops. */
static void iothr_publish_sys_stats(struct iothr *t)
{
	size_t len;
	char *msg = sys_stats_box_take(&t->srv->sys_box, &len);
	if (msg && t->phase_seen < SERVER_DRAINING)
		iothr_publish_system(t, t->srv->sys_box.subject, msg, len);
	free(msg);
}

/* Pushes the batches a full ring refused earlier, in order. */
static bool iothr_push_pending(struct iothr *t, struct shard *shard, int sh)
{
	bool did = false;
	while (t->pending_head[sh]) {
		struct mbatch *b = t->pending_head[sh];
		struct mbatch *next = b->next; /* @b is the shard's once pushed */
		if (!ring_push_mpmc(&shard->in, b))
			break;
		t->pending_head[sh] = next;
		did = true;
	}
	if (!t->pending_head[sh])
		t->pending_tail[sh] = NULL;
	wake_notify(shard->owner_wake);
	return did;
}

/* Hands this iteration's open batches to the shards. A lone message need not
 * cross threads twice: when the shard's worker sleeps and the work is small,
 * it is routed here. */
static bool iothr_push_open(struct iothr *t)
{
	struct server *s = t->srv;
	bool did = false;
	iothr_end_run(t);
	for (int sh = 0; sh < s->nshards; sh++) {
		struct shard *shard = &s->shards[sh];
		if (t->pending_head[sh])
			did |= iothr_push_pending(t, shard, sh);
		struct mbatch *b = t->open[sh];
		if (!b)
			continue;
		uint32_t entries = t->open_entries[sh];
		t->open[sh] = NULL;
		t->open_entries[sh] = 0;
		iothr_push(t, (uint32_t)sh, b);
		did = true;
		if (entries <= server_live(s)->inline_max && wake_is_sleeping(shard->owner_wake) &&
		    shard_try_claim(shard)) {
			unsigned n = shard_run(shard, 64);
			atomic_store_explicit(
			    &shard->st.inline_runs,
			    atomic_load_explicit(&shard->st.inline_runs, memory_order_relaxed) + n,
			    memory_order_relaxed);
			shard_release_and_check(shard);
		} else {
			wake_notify(shard->owner_wake);
		}
	}
	return did;
}

bool iothr_poll(void *ctx)
{
	struct iothr *t = ctx;
	bool did = false;
	void *p;

	/* connections closed last iteration are gone */
	memset(t->conn_cache, 0, sizeof(t->conn_cache));
	iothr_quiesce(t);
	if (RB_UNLIKELY(atomic_load_explicit(&t->stats_req.pending, memory_order_acquire)))
		iothr_answer_stats(t);
	iothr_phase(t);
	if (RB_UNLIKELY(t->index == 0 && sys_stats_box_full(&t->srv->sys_box)))
		iothr_publish_sys_stats(t);

	while (ring_pop_mpsc(&t->in, &p)) {
		client_deliver(t, p);
		did = true;
	}
	did |= iothr_merge(t);
	did |= iothr_push_open(t);
	did |= iothr_merge(t);
	did |= iothr_flush_forward(t);
	did |= iothr_check_paused(t);
	did |= client_graves_reap(t, false);
	if (RB_UNLIKELY(t->srv->routes != NULL))
		did |= route_link_poll(t);
	iothr_publish_conns(t);
	atomic_store_explicit(&t->busy, iothr_has_work(t) || !rlog_empty(&t->log),
	                      memory_order_relaxed);
	return did;
}

bool iothr_has_work(void *ctx)
{
	struct iothr *t = ctx;
	if (ring_count(&t->in) || atomic_load(&t->stats_req.pending) || t->graves ||
	    iothr_merge_ready(t) || (t->index == 0 && sys_stats_box_full(&t->srv->sys_box)))
		return true;
	for (int sh = 0; sh < t->srv->nshards; sh++)
		if (t->open[sh] || t->pending_head[sh])
			return true;
	for (int io = 0; io < t->srv->nio; io++)
		if (t->fwd_head[io] || (t->fwd_open[io] && t->fwd_open[io]->n))
			return true;
	return false;
}

/* The loop's callbacks: the client protocol, and this poll. */
/* A connection opened: a client's, a WebSocket client's, or an adopted
 * route socket. */
static int iothr_on_open(void *ctx, struct io_conn *c)
{
	if (RB_UNLIKELY(c->adopted && route_tag(c->adopt_tag)))
		return client_open_route(ctx, c);
	if (RB_UNLIKELY(c->adopted && (c->adopt_tag & CLIENT_ADOPT_WS)))
		return wsconn_open(ctx, c);
	return client_on_open(ctx, c);
}

/* Bytes in: a WebSocket client's go through its decoder first. */
static void iothr_on_data(void *ctx, struct io_conn *c, const char *data, size_t len)
{
	struct client *cl = c->user;
	if (RB_UNLIKELY(cl->ws != NULL))
		wsconn_on_data(ctx, c, data, len);
	else
		client_on_data(ctx, c, data, len);
}

static void iothr_on_close(void *ctx, struct io_conn *c)
{
	struct client *cl = c->user;
	struct wsconn *w = cl ? cl->ws : NULL;
	if (RB_UNLIKELY(w != NULL))
		wsconn_closing(cl, c);
	client_on_close(ctx, c);
	wsconn_free(w);
}

static void iothr_ws_tick(struct io_conn *c, void *arg)
{
	wsconn_tick(c, *(uint64_t *)arg);
}

static void iothr_on_tick(void *ctx, uint64_t now)
{
	struct iothr *t = ctx;
	client_on_tick(ctx, now);
	if (RB_UNLIKELY(t->srv->ws != NULL) && now - t->last_ws_tick >= 1000000000ull) {
		t->last_ws_tick = now;
		io_loop_foreach(t->loop, iothr_ws_tick, &now);
	}
}

/* A subscriber's output points into the batch a large payload was read
 * into (router/deliver.c): the batch lives until that send ended. */
static uint32_t iothr_ref_hold(void *ctx, void *owner)
{
	(void)ctx;
	struct mbatch *b = owner;
	mbatch_ref(b, 1);
	return b->alloc + b->lend_bytes; /* with the receive buffers it holds */
}

static void iothr_ref_drop(void *ctx, void *owner)
{
	(void)ctx;
	mbatch_unref(owner);
}

const struct io_ops iothr_io_ops = {
    .on_open = iothr_on_open,
    .on_data = iothr_on_data,
    .on_close = iothr_on_close,
    .on_poll = iothr_poll,
    .has_work = iothr_has_work,
    .on_tick = iothr_on_tick,
    .on_sent = client_on_sent,
    .ref_hold = iothr_ref_hold,
    .ref_drop = iothr_ref_drop,
    .on_eof = client_on_eof,
};

/* ---- the thread ---- */

#define IOTHR_TICK_MS 100 /* subscribers holding publishers are checked this often */

void *iothr_main(void *arg)
{
	struct iothr *t = arg;
	struct server *s = t->srv;
	if (s->cfg.pin) {
		int ret = pin_self(t->index);
		if (ret)
			log_warn("io[%d]: cannot pin: %s", t->index, strerror(-ret));
	}
	struct io_loop_config lc = {
	    .index = t->index,
	    .listen_fd = t->listen_fd,
	    .buf_count = s->cfg.buf_count,
	    .buf_size = s->cfg.buf_size,
	    /* The router applies max_pending itself (a deferring subscriber
	     * that still drains may go above it); this is the last resort. */
	    .max_pending = IO_MAX_PENDING_LIMIT,
	    .spin_us = s->cfg.spin_us,
	    .close_linger_ms = s->cfg.shutdown_timeout_ms,
	    .tick_ms = IOTHR_TICK_MS,
	    .wake = &t->wake,
	    .stop = &s->stop,
	    .ops = &iothr_io_ops,
	    .ctx = t,
	    .on_accept_fd = s->tls ? tls_glue_on_accept : NULL,
	};
	t->adm_bound = server_adm(s);
	t->live_bound = server_live(s);
	t->start_ret = io_loop_new(&lc, &t->loop);
	pthread_mutex_lock(&s->life_lock);
	t->ready = true;
	pthread_cond_broadcast(&s->life_cond);
	pthread_mutex_unlock(&s->life_lock);
	if (t->start_ret)
		return NULL;
	if (t->index == 0)
		log_info("io_uring: %s, multishot accept and recv, provided buffers %u x %u",
		         io_loop_features(t->loop), s->cfg.buf_count, s->cfg.buf_size);
	int ret = io_loop_run(t->loop);
	if (ret) {
		log_error("io[%d]: stopped: %s", t->index, strerror(-ret));
		server_stop(s);
	}
	/* Wait for the stop so no runner pushes into a loop that is gone. */
	pthread_mutex_lock(&s->life_lock);
	while (!atomic_load(&s->stop))
		pthread_cond_wait(&s->life_cond, &s->life_lock);
	pthread_mutex_unlock(&s->life_lock);
	tls_glue_stop(s); /* after it, no TLS connection is handed to this loop */
	ws_listen_stop_tls(s);
	route_tls_stop(s);
	io_loop_free(t->loop);
	t->loop = NULL;
	return NULL;
}
