/* What a route or leaf connection is sent: the interest it is told of
 * (RS+/RS-, LS+/LS-) and the messages that go to it (RMSG, LMSG), with a
 * leaf remote's deny_exports and deny_imports. Below route_link.c, which
 * opens the connections and reads what they send. */
#include <string.h>

#include "core/clock.h"
#include "core/copy.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/account.h"
#include "router/client_int.h"
#include "router/index/subject.h"
#include "router/interest.h"
#include "router/perm.h"
#include "router/route_int.h"
#include "router/server.h"

/* Admission dropped @n messages for the peer (over its queue's mark, as a
 * slow subscriber's): counted for /routez and /leafz, and said in the log
 * at a rate-limited pace, since the peer's subscribers lose them. */
static void route_dropped(struct client *cl, uint64_t n)
{
	struct route_counters *ctr = cl->route->ctr;
	uint64_t total = n;
	if (ctr) {
		total = atomic_load_explicit(&ctr->drops, memory_order_relaxed) + n;
		atomic_store_explicit(&ctr->drops, total, memory_order_relaxed);
	}
	if (log_ratelimit_ok(&cl->t->adm_log, clock_now_ns()))
		log_warn("%s %s: admission dropped %llu message(s) for it (%llu in all): its "
		         "queue is over its mark",
		         cl->route->leaf ? "leafnode" : "route", cl->route->id,
		         (unsigned long long)n, (unsigned long long)total);
}

/* ---- a leaf remote's denies ---- */

bool route_denied(const struct config_list *l, const char *subj, size_t len)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (subject_matches(l->v[i], strlen(l->v[i]), subj, len))
			return true;
	return false;
}

/* True when a pattern of @l covers every subject @subj can match. */
static bool route_covered(const struct config_list *l, struct proto_span subj)
{
	for (size_t i = 0; i < l->n; i++)
		if (perm_pattern_covers(l->v[i], strlen(l->v[i]), subj.ptr, subj.len))
			return true;
	return false;
}

/* ---- interest out ---- */

/* An interest key is the subject, after its account's name and a blank
 * when that is not $G (router/client_sub.c): a route is told the account,
 * a leaf connection only the subjects of the account it is bound to. */
void route_write_interest(void *arg, const struct interest_ev *ev)
{
	struct client *cl = arg;
	struct proto_span subj = proto_span_str(ev->subject), q = proto_span_str(ev->queue);
	struct proto_span acc = route_acc;
	const char *blank = memchr(subj.ptr, ' ', subj.len);
	if (blank) {
		acc = (struct proto_span){subj.ptr, (uint32_t)(blank - subj.ptr)};
		subj = (struct proto_span){blank + 1, subj.len - acc.len - 1};
	}
	if (cl->route->deny_imports && route_covered(cl->route->deny_imports, subj))
		return; /* deny_imports: interest in it is not announced */
	if (cl->route->leaf) {
		const char *bound = server_acc(cl->t->srv)->acc[cl->route->acc].name;
		bool g = cl->route->acc == ACC_GLOBAL;
		if (g ? blank != NULL
		      : (!blank || strlen(bound) != acc.len || memcmp(bound, acc.ptr, acc.len)))
			return;
	}
	size_t need = (size_t)acc.len + subj.len + q.len + 64;
	char *out = io_conn_reserve(cl->c, need);
	if (!out)
		return;
	io_conn_commit(cl->c, cl->route->leaf
	                          ? proto_encode_ls(out, need, ev->plus, subj, q, ev->weight)
	                          : proto_encode_rs(out, need, ev->plus, acc, subj, q, ev->weight));
	if (RB_UNLIKELY(log_enabled(LOG_TRACE)))
		log_trace("rid %llu -> %s%c %.*s %.*s %.*s", (unsigned long long)cl->cid,
		          cl->route->leaf ? "LS" : "RS", ev->plus ? '+' : '-', (int)acc.len,
		          acc.ptr, (int)subj.len, subj.ptr, (int)q.len, q.ptr ? q.ptr : "");
}

/* ---- messages out ---- */

/* Writes the RMSG gathered in t->rpend. */
static void route_write_msg(struct iothr *t)
{
	struct route_pend *p = &t->rpend;
	struct client *cl = p->cl;
	p->cl = NULL;
	if (!cl || io_conn_is_closing(cl->c))
		return;
	const struct mentry *e = p->e;
	/* Interest changes first: a client's SUB is in the interest set before
	 * anything it publishes next is routed (the rings between order them),
	 * so its RS+/LS+ goes out before the message that may answer to it
	 * (a request's inbox, as nats-server keeps them in order). */
	struct server *s = t->srv;
	if (cl->route->reader >= 0 && interest_pending(s->interest, cl->route->reader))
		interest_read(s->interest, cl->route->reader, route_write_interest, cl);
	unsigned pre = t->srv->acc_pre; /* the token names the account of the RMSG */
	const char *subj = mentry_subject(p->b, e, pre);
	if (RB_UNLIKELY(cl->route->deny_exports) &&
	    route_denied(cl->route->deny_exports, subj, e->subject_len - pre))
		return; /* deny_exports: not sent to this hub */
	struct proto_span acc = route_acc;
	if (pre) {
		const char *name = server_acc(t->srv)->acc[acc_of_key(mentry_str(p->b, e))].name;
		acc = (struct proto_span){name, (uint32_t)strlen(name)};
	}
	struct proto_span queues[32];
	unsigned nq = 0;
	size_t qbytes = 0;
	for (uint32_t i = 0; i < p->n; i++) {
		struct csub *cs = client_csub(cl, p->ids[i]);
		if (cs && cs->queue_len && nq < RB_ARRAY_LEN(queues)) {
			queues[nq++] = (struct proto_span){cs->queue, cs->queue_len};
			qbytes += cs->queue_len + 1u;
		}
	}
	bool hdr = e->hdr_len && cl->route->headers;
	uint32_t body = hdr ? e->len : e->len - e->hdr_len;
	const char *payload = e->payload + (hdr ? 0 : e->hdr_len);
	size_t head = (size_t)acc.len + e->subject_len + e->reply_len + qbytes + 64;
	size_t need = head + body + 2;
	struct delivery d = {.conn = cl->c->id, .b = p->b, .e = e, .kind = DELIVERY_MSG};
	uint64_t drops = cl->drops;
	bool sent = !(RB_UNLIKELY(cl->sub_over || io_conn_pending(cl->c) + need >
	                                              server_adm(t->srv)->min_sub_high) &&
	              !client_admit_delivery(cl, &d, need));
	if (RB_UNLIKELY(cl->drops != drops))
		route_dropped(cl, cl->drops - drops);
	if (!sent)
		return;
	bool ref = client_by_ref(cl, body, p->dflags);
	char *out = io_conn_reserve(cl->c, ref ? head : need);
	if (!out)
		return;
	struct proto_span subject = {subj, e->subject_len - pre};
	struct proto_span reply = {subj + subject.len, e->reply_len};
	uint32_t hlen = hdr ? e->hdr_len : 0;
	size_t n = cl->route->leaf ? proto_encode_lmsg_head(out, head, subject, reply, queues, nq,
	                                                    hlen, body, hdr)
	                           : proto_encode_rmsg_head(out, head, acc, subject, reply, queues,
	                                                    nq, hlen, body, hdr);
	if (!ref)
		client_commit_msg(cl, out, n, payload, body);
	else if (!client_commit_ref(cl, p->b, n, payload, body))
		return;
	if (RB_UNLIKELY(log_enabled(LOG_TRACE)))
		log_trace("rid %llu -> %s %.*s %.*s %.*s %u", (unsigned long long)cl->cid,
		          cl->route->leaf ? "LMSG" : "RMSG", (int)acc.len, acc.ptr,
		          (int)subject.len, subject.ptr, (int)reply.len, reply.ptr, body);
	if (cl->route->ctr)
		route_count_add(&cl->route->ctr->out_msgs, &cl->route->ctr->out_bytes, body);
}

void route_link_flush(struct iothr *t)
{
	if (t->rpend.cl)
		route_write_msg(t);
}

void route_link_deliver(struct client *cl, const struct delivery *d)
{
	struct iothr *t = cl->t;
	struct route_pend *p = &t->rpend;
	if (d->flags & DELIVERY_F_CONT) {
		if (p->cl == cl && p->e == d->e && p->left) {
			if (p->n < RB_ARRAY_LEN(p->ids))
				p->ids[p->n++] = d->subid;
			if (--p->left == 0)
				route_write_msg(t);
			return;
		}
		/* its first part was lost (out of memory): on its own */
	}
	route_link_flush(t);
	*p = (struct route_pend){
	    .cl = cl, .b = d->b, .e = d->e, .n = 1, .dflags = d->flags, .ids = {d->subid}};
	p->left = (d->flags & DELIVERY_F_CONT) ? 0 : d->flags >> DELIVERY_MORE_SHIFT;
	if (p->left == 0)
		route_write_msg(t);
}
