/* A message into this I/O thread's batch for its shard: the shard's and
 * the process's admission first, then the entry, its subject keyed in its
 * account (router/account.h). Below client.c, client_acc.c and the route
 * connections, which all publish through it. */
#include <stdatomic.h>
#include <string.h>

#include "core/clock.h"
#include "core/copy.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "router/account.h"
#include "router/admission.h"
#include "router/client_int.h"
#include "router/client_stash.h"
#include "router/server.h"
#include "router/shard.h"

/* A shard or the process is over its high mark: apply the message's policy.
 * Returns false when the message is dropped. */
static bool client_admit_pub(struct client *cl, struct shard *sh, const struct proto_frame *f)
{
	struct server *s = cl->t->srv;
	struct admission *a = server_adm(s);
	struct adm_policy *p = admission_lookup(a, f->subject.ptr, f->subject.len);
	bool shard_over = atomic_load_explicit(&sh->over, memory_order_relaxed);

	if (shard_over && p->shard == ADM_DROP_NEW) {
		adm_count(&p->c.dropped_new, 1);
		adm_count(&sh->adm_dropped, 1);
		if (log_ratelimit_ok(&cl->t->adm_log, clock_now_ns()))
			log_warn("admission: shard %d over its mark: policy %s drops new messages "
			         "(%s from cid %llu)",
			         sh->index, p->name, "dropped", (unsigned long long)cl->cid);
		if (p->busy && f->reply.len && cl->opts.headers && cl->opts.no_responders &&
		    client_send_503(cl, f->reply.ptr, f->reply.len))
			adm_count(&p->c.busy_replies, 1);
		return false;
	}
	/* defer: the message was read already and is admitted; what follows on
	 * this connection waits in the kernel until the queue drains. */
	adm_count(&p->c.admitted, 1);
	if (shard_over) {
		client_bit_set(cl->wait_shards, (uint32_t)sh->index);
		adm_count(&sh->adm_deferred, 1);
		client_pause(cl, CLIENT_PAUSE_SHARD, p);
	}
	if (atomic_load_explicit(&s->proc_over, memory_order_relaxed))
		client_pause(cl, CLIENT_PAUSE_PROCESS, &a->policies[0]);
	return true;
}

bool client_publish_acc(struct client *cl, const struct proto_frame *f, uint8_t flags,
                        struct proto_span queues, uint16_t acc, unsigned how)
{
	struct server *s = cl->t->srv;
	uint32_t shard;
	if (f->subject.len == cl->last_subj_len &&
	    equal_small(f->subject.ptr, cl->last_subj, f->subject.len)) {
		shard = cl->last_shard;
	} else {
		shard = server_shard_of(s, f->subject.ptr, f->subject.len);
		if ((how & CLIENT_PUB_REMEMBER) && f->subject.len < CLIENT_LAST_SUBJ_MAX) {
			memcpy(cl->last_subj, f->subject.ptr, f->subject.len);
			cl->last_subj_len = (uint8_t)f->subject.len;
			cl->last_shard = shard;
			cl->last_pub_ok = cl->pend_pub_ok;
			cl->last_no_rules = cl->pend_no_rules;
		}
	}
	struct shard *sh = &s->shards[shard];
	if (RB_UNLIKELY(atomic_load_explicit(&sh->over, memory_order_relaxed) ||
	                atomic_load_explicit(&s->proc_over, memory_order_relaxed)) &&
	    !client_admit_pub(cl, sh, f))
		return true;
	size_t pre = s->acc_pre;
	uint32_t bid = MBATCH_LEND_NONE, own_size = 0;
	char *own = NULL;
	if (f->payload.len >= CLIENT_LEND_MIN && !queues.len) {
		bid = io_loop_lendable(cl->c->loop, f->payload.ptr, f->payload.len);
		if (bid == MBATCH_LEND_NONE && client_in_stash(cl, f->payload.ptr, f->payload.len))
			bid = MBATCH_LEND_HELD;
		else if (bid == MBATCH_LEND_NONE && f->payload.len >= CLIENT_OWN_MIN &&
		         (how & CLIENT_PUB_SOLE) &&
		         (own = proto_parser_take_carry(&cl->parser, f->payload.ptr, f->payload.len,
		                                        &own_size)))
			bid = MBATCH_LEND_OWN;
	}
	bool lent = bid != MBATCH_LEND_NONE;
	size_t bytes =
	    pre + f->subject.len + f->reply.len + (lent ? 0 : f->payload.len) + queues.len;
	struct mentry *e = iothr_add_lent(cl->t, shard, MENTRY_MSG, bytes, cl->c->id, bid);
	if (RB_UNLIKELY(!e)) {
		free(own);
		log_error("cid %llu: out of memory for a message: closing",
		          (unsigned long long)cl->cid);
		io_conn_close(cl->c, false);
		return false;
	}
	struct mbatch *b = cl->t->open[shard];
	char *p = b->arena + e->off;
	if (RB_UNLIKELY(pre)) /* the index keys it in its account (router/account.h) */
		p = copy_small(p, server_acc(s)->acc[acc].prefix, pre);
	p = copy_small(p, f->subject.ptr, f->subject.len);
	p = copy_small(p, f->reply.ptr, f->reply.len);
	if (lent) {
		e->payload = f->payload.ptr;
		if (own)
			mbatch_own(b, own, own_size);
		else if (bid == MBATCH_LEND_HELD)
			mbatch_hold(b, cl->stash);
		else
			mbatch_lend(b, cl->c->loop, bid);
	} else {
		e->payload = p;
		p = copy_small(p, f->payload.ptr, f->payload.len);
	}
	if (RB_UNLIKELY(queues.len)) {
		memcpy(p, queues.ptr, queues.len);
		e->sid_len = (uint16_t)queues.len;
	}
	e->flags = flags;
	e->subject_len = (uint16_t)(pre + f->subject.len);
	e->reply_len = (uint16_t)f->reply.len;
	e->len = f->payload.len;
	e->hdr_len = f->hdr_len;
	b->bytes += f->payload.len;
	b->nmsgs++;
	return true;
}
