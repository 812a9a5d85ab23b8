/* The I/O thread's side of the router: its poll (deliveries in, batches out
 * to the shards, inline routing), the admission state it watches (shard and
 * process marks, paused publishers), system publications and statistics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "router/client_int.h"
#include "router/stats.h"

/* The shard is queued to above a high mark: set its over state (once per
 * crossing; the runner clears it at the low marks). */
static void iothr_shard_crossed(struct iothr *t, struct shard *sh, uint64_t q)
{
	bool was = false;
	if (!atomic_compare_exchange_strong_explicit(&sh->over, &was, true, memory_order_relaxed,
	                                             memory_order_relaxed))
		return;
	struct admission *a = t->srv->adm;
	adm_count(&sh->adm_crossings, 1);
	adm_count(&a->shard_c.high_crossings, 1);
	uint64_t now = clock_now_ns();
	if (log_ratelimit_ok(&t->adm_log, now))
		log_warn("admission: shard %d crossed its high mark (%llu bytes queued)", sh->index,
		         (unsigned long long)q);
	char subj[96], buf[512];
	size_t n = admission_advisory(&a->policies[0], "shard", sh->index, q, a->shard_high, now,
	                              subj, sizeof(subj), buf, sizeof(buf));
	if (n)
		iothr_publish_system(t, subj, buf, n);
}

void iothr_push(struct iothr *t, uint32_t shard, struct mbatch *b)
{
	struct shard *sh = &t->srv->shards[shard];
	uint64_t bytes = b->bytes, msgs = b->nmsgs;
	/* Account before the push: the runner subtracts after its pop. */
	uint64_t q = atomic_fetch_add_explicit(&sh->q_bytes, bytes, memory_order_relaxed) + bytes;
	uint64_t m = atomic_fetch_add_explicit(&sh->q_msgs, msgs, memory_order_relaxed) + msgs;
	const struct admission *a = t->srv->adm;
	if (RB_UNLIKELY(q > a->shard_high || m > a->shard_high_msgs))
		iothr_shard_crossed(t, sh, q);

	if (!t->pending_head[shard] && ring_push_mpmc(&sh->in, b))
		return;
	b->next = NULL;
	if (t->pending_tail[shard])
		t->pending_tail[shard]->next = b;
	else
		t->pending_head[shard] = b;
	t->pending_tail[shard] = b;
}

void iothr_publish_system(struct iothr *t, const char *subject, const char *payload, size_t len)
{
	size_t slen = strlen(subject);
	uint32_t shard = server_shard_of(t->srv, subject, slen);
	struct mbatch *b = t->open[shard];
	if (!b || !mbatch_fits(b, slen + len)) {
		if (b)
			iothr_push(t, shard, b);
		b = t->open[shard] = mbatch_new(MBATCH_ENTRIES, MBATCH_ARENA_SIZE);
		if (!b)
			return;
	}
	struct mentry *e = mbatch_add(b, MENTRY_MSG, slen + len);
	if (!e)
		return;
	memcpy(b->arena + e->off, subject, slen);
	memcpy(b->arena + e->off + slen, payload, len);
	e->conn = 0; /* the server itself */
	e->subject_len = (uint16_t)slen;
	e->len = (uint32_t)len;
	b->bytes += len;
	b->nmsgs++;
	t->open_entries[shard]++;
}

/* ---- publishers paused by admission ---- */

void client_pause(struct client *cl, enum client_pause reason, struct adm_policy *p)
{
	struct iothr *t = cl->t;
	if (cl->pause_reasons & reason)
		return;
	if (!cl->pause_reasons) {
		if (t->npaused == t->paused_cap) {
			uint32_t cap = t->paused_cap ? t->paused_cap * 2 : 64;
			struct client **a = realloc(t->paused, cap * sizeof(*a));
			if (!a)
				return; /* cannot track it: keep reading rather than stall it
				           forever */
			t->paused = a;
			t->paused_cap = cap;
		}
		t->paused[t->npaused++] = cl;
		cl->paused_since = clock_now_ns();
		cl->pause_policy = p;
		io_conn_pause(cl->c);
	} else if (!cl->pause_policy) {
		cl->pause_policy = p; /* charge admission, not a subscription wait */
	}
	cl->pause_reasons |= reason;
	if (!p) {
		log_debug("cid %llu: reads paused until its subscription changes are applied",
		          (unsigned long long)cl->cid);
		return;
	}
	adm_count(&p->c.deferred, 1);
	log_debug("cid %llu: reads paused by admission (reason %u, policy %s)",
	          (unsigned long long)cl->cid, (unsigned)reason, p->name);
}

static void iothr_unpause_at(struct iothr *t, uint32_t i, uint64_t now)
{
	struct client *cl = t->paused[i];
	t->paused[i] = t->paused[--t->npaused];
	if (cl->pause_policy)
		adm_count(&cl->pause_policy->c.deferred_ns, now - cl->paused_since);
	cl->pause_reasons = 0;
	cl->sub_pauses = 0;
	memset(cl->wait_shards, 0, sizeof(cl->wait_shards));
	io_conn_resume(cl->c);
}

void client_unpause_all(struct client *cl)
{
	struct iothr *t = cl->t;
	for (uint32_t i = 0; i < t->npaused; i++)
		if (t->paused[i] == cl) {
			iothr_unpause_at(t, i, clock_now_ns());
			return;
		}
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
		/* A subscriber holds it at most its policy's defer_max (plus a
		 * second of slack for the resume to travel); never for good. */
		uint64_t cap =
		    (cl->pause_policy ? cl->pause_policy->defer_max_ns : 0) + 1000000000ull;
		if (cl->sub_pauses == 0 || now - cl->paused_since > cap)
			cl->pause_reasons &= ~(uint32_t)CLIENT_PAUSE_SUBSCRIBER;
	}
	return cl->pause_reasons == 0;
}

/* Process mark: bytes held in message batches. */
static void iothr_check_process(struct iothr *t)
{
	struct server *s = t->srv;
	const struct admission *a = s->adm;
	uint64_t held = atomic_load_explicit(&mbatch_bytes_held, memory_order_relaxed);
	bool over = atomic_load_explicit(&s->proc_over, memory_order_relaxed);
	if (!over && held > a->process_high) {
		bool was = false;
		if (atomic_compare_exchange_strong(&s->proc_over, &was, true)) {
			adm_count(&s->adm->shard_c.high_crossings, 1);
			atomic_fetch_add(&s->adm->process_crossings, 1);
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

/* ---- statistics ---- */

static void iothr_stats_conn(struct io_conn *c, void *arg)
{
	struct stats_req *q = arg;
	struct client *cl = c->user;
	if (!cl)
		return;
	if (q->nconns == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct stats_conn *a = realloc(q->conns, cap * sizeof(*a));
		if (!a)
			return;
		q->conns = a;
		q->cap = cap;
	}
	struct stats_conn *o = &q->conns[q->nconns++];
	memset(o, 0, sizeof(*o));
	o->cid = cl->cid;
	snprintf(o->ip, sizeof(o->ip), "%s", c->peer_ip);
	o->port = (uint16_t)c->peer_port;
	o->start_ns = cl->start_wall_ns;
	o->last_activity_ns = cl->start_wall_ns + (cl->last_in_ns - cl->opened_ns);
	o->in_msgs = cl->in_msgs;
	o->in_bytes = cl->in_bytes;
	o->out_msgs = cl->out_msgs;
	o->out_bytes = cl->out_bytes;
	o->pending_bytes = io_conn_pending(c);
	o->drops = cl->drops;
	o->subscriptions = cl->nsubs;
	snprintf(o->name, sizeof(o->name), "%s", cl->opts.name ? cl->opts.name : "");
	snprintf(o->lang, sizeof(o->lang), "%s", cl->opts.lang ? cl->opts.lang : "");
	snprintf(o->version, sizeof(o->version), "%s", cl->opts.version ? cl->opts.version : "");
}

static void iothr_stats_sum(struct io_conn *c, void *arg)
{
	struct stats_io *io = arg;
	struct client *cl = c->user;
	if (!cl)
		return;
	io->in_msgs += cl->in_msgs;
	io->out_msgs += cl->out_msgs;
	io->in_payload += cl->in_bytes;
	io->out_payload += cl->out_bytes;
	io->subscriptions += cl->nsubs;
}

void iothr_answer_stats(struct iothr *t)
{
	struct stats_req *q = &t->stats_req;
	pthread_mutex_lock(&q->lock);
	struct io_loop_stats ls;
	io_loop_get_stats(t->loop, &ls);
	memset(&q->io, 0, sizeof(q->io));
	q->io.connections = io_loop_nconns(t->loop);
	q->io.total_connections = t->total_connections;
	q->io.recv_completions = ls.recv_completions;
	q->io.send_completions = ls.send_completions;
	q->io.bytes_in = ls.bytes_in;
	q->io.bytes_out = ls.bytes_out;
	q->io.enobufs = ls.enobufs;
	q->io.wakeups = ls.wakeups;
	q->io.in_msgs = t->in_msgs;
	q->io.out_msgs = t->out_msgs;
	q->io.in_payload = t->in_bytes;
	q->io.out_payload = t->out_bytes;
	q->io.slow_consumers = t->slow_consumers;
	io_loop_foreach(t->loop, iothr_stats_sum, &q->io);
	q->nconns = 0;
	if (q->want_conns)
		io_loop_foreach(t->loop, iothr_stats_conn, q);
	q->done = true;
	atomic_store_explicit(&q->pending, false, memory_order_relaxed);
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* ---- the poll: rings in, batches out ---- */

bool iothr_poll(void *ctx)
{
	struct iothr *t = ctx;
	struct server *s = t->srv;
	bool did = false;
	void *p;

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

	for (int sh = 0; sh < s->nshards; sh++) {
		struct shard *shard = &s->shards[sh];
		if (t->pending_head[sh]) {
			while (t->pending_head[sh] &&
			       ring_push_mpmc(&shard->in, t->pending_head[sh])) {
				t->pending_head[sh] = t->pending_head[sh]->next;
				did = true;
			}
			if (!t->pending_head[sh])
				t->pending_tail[sh] = NULL;
			wake_notify(&shard->owner->wake);
		}
		struct mbatch *b = t->open[sh];
		if (!b)
			continue;
		uint32_t entries = t->open_entries[sh];
		t->open[sh] = NULL;
		t->open_entries[sh] = 0;
		iothr_push(t, (uint32_t)sh, b);
		did = true;

		/* A lone message need not cross threads twice: when the shard's
		 * worker sleeps and the work is small, route it here. */
		if (entries <= server_live(s)->inline_max &&
		    wake_is_sleeping(&shard->owner->wake) && shard_try_claim(shard)) {
			/* Deliveries the worker pushed before releasing the shard
			 * come first, to keep per-subscriber order. */
			while (ring_pop_mpsc(&t->in, &p))
				client_deliver(t, p);
			unsigned n = shard_run(shard, &t->run, 64);
			atomic_store_explicit(
			    &shard->st.inline_runs,
			    atomic_load_explicit(&shard->st.inline_runs, memory_order_relaxed) + n,
			    memory_order_relaxed);
			runner_flush(&t->run);
			shard_release_and_check(shard);
		} else {
			wake_notify(&shard->owner->wake);
		}
	}
	if (!runner_flush(&t->run))
		did = true;
	did |= iothr_check_paused(t);
	did |= client_graves_reap(t, false);
	atomic_store_explicit(&t->conns_open, io_loop_nconns(t->loop), memory_order_relaxed);
	atomic_store_explicit(&t->busy, iothr_has_work(t), memory_order_relaxed);
	return did;
}

bool iothr_has_work(void *ctx)
{
	struct iothr *t = ctx;
	if (ring_count(&t->in) || atomic_load(&t->stats_req.pending) || t->graves)
		return true;
	for (int sh = 0; sh < t->srv->nshards; sh++)
		if (t->open[sh] || t->pending_head[sh])
			return true;
	for (int io = 0; io < t->srv->nio; io++)
		if (t->run.pending_head[io] || (t->run.open[io] && t->run.open[io]->n))
			return true;
	return false;
}
