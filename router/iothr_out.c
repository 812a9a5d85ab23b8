/* What an I/O thread sends out, the bottom of its files: entries into
 * batches for the shards (cut into runs for the route log, router/rlog.h),
 * batches pushed to the shards' rings with their admission measure,
 * deliveries forwarded to other I/O threads, and the list of publishers whose
 * reads admission paused. Calls nothing of the router above it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "router/admission.h"
#include "router/account.h"
#include "router/client_int.h"
#include "router/iothr.h"
#include "router/server.h"
#include "router/shard.h"

/* ---- entries and runs ---- */

void iothr_end_run(struct iothr *t)
{
	if (!t->run_batch)
		return;
	t->run_batch->e[t->run_last].flags |= MENTRY_F_RUN_END;
	t->run_batch = NULL;
}

struct mentry *iothr_add_lent(struct iothr *t, uint32_t shard, enum mentry_kind kind, size_t bytes,
                              uint64_t conn, uint32_t lend)
{
	struct mbatch *b = t->open[shard];
	if (RB_UNLIKELY(!b || !mbatch_fits(b, bytes) || !mbatch_can_lend(b, lend))) {
		uint32_t arena = bytes > MBATCH_ARENA_SIZE ? (uint32_t)bytes : MBATCH_ARENA_SIZE;
		struct mbatch *nb = mbatch_new(MBATCH_ENTRIES, arena);
		if (!nb)
			return NULL;
		nb->src = (uint16_t)t->index;
		if (b) {
			if (t->run_batch == b)
				iothr_end_run(t); /* a run never spans two batches */
			iothr_push(t, shard, b);
		}
		b = t->open[shard] = nb;
	}
	if (b != t->run_batch) {
		if (rlog_reserve(&t->log, 1) != 0)
			return NULL;
		iothr_end_run(t);
		rlog_push(&t->log, (struct rlog_rec){.kind = RLOG_RUN, .shard = (uint16_t)shard});
		t->run_batch = b;
	}
	struct mentry *e = mbatch_add(b, kind, bytes);
	e->conn = conn;
	t->run_last = b->n - 1;
	t->open_entries[shard]++;
	return e;
}

int iothr_mark(struct iothr *t, uint64_t conn, uint32_t aux)
{
	if (rlog_empty(&t->log))
		return 0;
	if (rlog_reserve(&t->log, 1) != 0)
		return -ENOMEM;
	iothr_end_run(t);
	rlog_push(&t->log, (struct rlog_rec){.kind = RLOG_MARK, .conn = conn, .aux = aux});
	return 1;
}

/* ---- forwarding ---- */

void iothr_fwd_queue(struct iothr *t, int io, struct dbatch *db)
{
	db->next = NULL;
	if (t->fwd_tail[io])
		t->fwd_tail[io]->next = db;
	else
		t->fwd_head[io] = db;
	t->fwd_tail[io] = db;
}

void iothr_forward(struct iothr *t, const struct delivery *d)
{
	int io = io_conn_id_loop(d->conn);
	struct dbatch *db = t->fwd_open[io];
	/* a route's message and the queue groups that follow it stay together */
	uint32_t n = 1u + (d->flags >> DELIVERY_MORE_SHIFT);
	if (RB_UNLIKELY(!db || !dbatch_has_room_n(db, d->b, n))) {
		struct dbatch *nd = dbatch_new();
		if (!nd) {
			log_warn("io[%d]: delivery dropped: out of memory", t->index);
			return;
		}
		if (db)
			iothr_fwd_queue(t, io, db);
		db = t->fwd_open[io] = nd;
	}
	struct delivery copy = *d;
	copy.flags &= (uint16_t)~DELIVERY_F_END; /* the merge's, not the receiver's */
	dbatch_add(db, &copy);
}

/* ---- batches to the shards ---- */

/* The shard is queued to above a high mark: set its over state (once per
 * crossing; the runner clears it at the low marks). */
static void iothr_shard_crossed(struct iothr *t, struct shard *sh, uint64_t q)
{
	bool was = false;
	if (!atomic_compare_exchange_strong_explicit(&sh->over, &was, true, memory_order_relaxed,
	                                             memory_order_relaxed))
		return;
	struct admission *a = server_adm(t->srv);
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
	const struct admission *a = server_adm(t->srv);
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
	size_t slen = strlen(subject), pre = t->srv->acc_pre;
	uint32_t shard = server_shard_of(t->srv, subject, slen);
	struct mentry *e = iothr_add(t, shard, MENTRY_MSG, pre + slen + len, 0); /* 0: the server */
	if (!e)
		return;
	/* in the system account when there is one, else in $G */
	const struct acc_table *at = server_acc(t->srv);
	struct mbatch *b = t->open[shard];
	memcpy(b->arena + e->off, at->acc[at->system >= 0 ? at->system : ACC_GLOBAL].prefix, pre);
	memcpy(b->arena + e->off + pre, subject, slen);
	memcpy(b->arena + e->off + pre + slen, payload, len);
	e->payload = b->arena + e->off + pre + slen;
	e->subject_len = (uint16_t)(pre + slen);
	e->len = (uint32_t)len;
	b->bytes += len;
	b->nmsgs++;
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

void iothr_unpause_at(struct iothr *t, uint32_t i, uint64_t now)
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
