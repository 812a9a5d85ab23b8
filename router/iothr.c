/* The I/O thread's side of the router: set-up, its poll (forwarded
 * deliveries in, batches out to the shards, inline routing, the merge of the
 * shards' results), and the admission state it watches (shard and process
 * marks, paused publishers). */
#include "router/iothr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/memacct.h"
#include "io/loop/loop.h"
#include "router/admission.h"
#include "router/client_int.h"
#include "router/server.h"
#include "router/shard.h"
#include "router/worker.h"

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
	t->fwd_open = calloc((size_t)nio, sizeof(*t->fwd_open));
	t->fwd_head = calloc((size_t)nio, sizeof(*t->fwd_head));
	t->fwd_tail = calloc((size_t)nio, sizeof(*t->fwd_tail));
	if (!t->open || !t->pending_head || !t->pending_tail || !t->open_entries || !t->cursor ||
	    !t->fwd_open || !t->fwd_head || !t->fwd_tail)
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
	free(t->fwd_open);
	free(t->fwd_head);
	free(t->fwd_tail);
	free(t->paused);
	free(t->holders);
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

/* Process mark: every byte held for messages (core/memacct.h). */
static void iothr_check_process(struct iothr *t)
{
	struct server *s = t->srv;
	const struct admission *a = server_adm(s);
	uint64_t held = memacct_total();
	bool over = atomic_load_explicit(&s->proc_over, memory_order_relaxed);
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

/* ---- the poll ---- */

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
	struct server *s = t->srv;
	bool did = false;
	void *p;

	t->conn_cache_id = 0; /* connections closed last iteration are gone */
	t->conn_cache = NULL;
	if (RB_UNLIKELY(atomic_load_explicit(&t->stats_req.pending, memory_order_acquire)))
		iothr_answer_stats(t);
	int phase = atomic_load_explicit(&s->phase, memory_order_relaxed);
	if (RB_UNLIKELY(phase != t->phase_seen)) {
		if (phase >= SERVER_DRAINING && t->phase_seen < SERVER_DRAINING)
			io_loop_quiesce(t->loop);
		if (phase >= SERVER_CLOSING && t->phase_seen < SERVER_CLOSING)
			io_loop_close_all(t->loop, true);
		t->phase_seen = phase;
	}

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
	atomic_store_explicit(&t->conns_open, io_loop_nconns(t->loop), memory_order_relaxed);
	atomic_store_explicit(&t->busy, iothr_has_work(t) || !rlog_empty(&t->log),
	                      memory_order_relaxed);
	return did;
}

bool iothr_has_work(void *ctx)
{
	struct iothr *t = ctx;
	if (ring_count(&t->in) || atomic_load(&t->stats_req.pending) || t->graves ||
	    iothr_merge_ready(t))
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
const struct io_ops iothr_io_ops = {
    .on_open = client_on_open,
    .on_data = client_on_data,
    .on_close = client_on_close,
    .on_poll = iothr_poll,
    .has_work = iothr_has_work,
    .on_tick = client_on_tick,
    .on_sent = client_on_sent,
    .on_eof = client_on_eof,
};
