/* Deliveries on a subscriber's I/O thread: MSG/HMSG into its output,
 * no-responders statuses, publisher pauses, and the subscriber-side admission
 * policies.
 *
 * Backpressure before loss: a subscriber over its high mark that still
 * drains holds back the publishers whose messages reach it (defer), and
 * everything already on its way is written even above the mark. Only one
 * that makes no progress stops holding them (after its policy's defer_max,
 * so the others go on) and is then treated by its policy at max_pending or
 * write_deadline, as nats-server treats a slow consumer. */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/copy.h"
#include "core/log.h"
#include "core/memacct.h"
#include "router/client_int.h"
#include "router/index/subject.h"
#include "router/perm.h"
#include "router/service.h"

bool client_send_503(struct client *cl, const char *reply, size_t reply_len)
{
	void *v;
	for (uint32_t it = 0; map_next(&cl->by_id, &it, NULL, &v);) {
		struct csub *cs = v;
		if (cs->queue_len || cs->unsubscribed ||
		    !subject_matches(cs->subject, cs->subject_len, reply, reply_len))
			continue;
		static const char status[] = "NATS/1.0 503\r\n\r\n";
		char head[PROTO_MAX_CONTROL_LINE + 64];
		size_t n = proto_encode_hmsg_head(
		    head, sizeof(head), (struct proto_span){reply, (uint32_t)reply_len},
		    (struct proto_span){cs->sid, cs->sid_len}, (struct proto_span){NULL, 0},
		    sizeof(status) - 1, sizeof(status) - 1);
		if (n == 0)
			return false; /* a reply subject longer than the default control line */
		io_conn_write(cl->c, head, n);
		io_conn_write(cl->c, status, sizeof(status) - 1);
		io_conn_write(cl->c, "\r\n", 2);
		return true;
	}
	return false;
}

/* drop-old: removes the oldest whole MSG/HMSG frames from the part of the
 * output not yet handed to the kernel, until at most @target bytes are
 * pending; other frames (PONG, +OK, -ERR, PING) are kept in order. Our own
 * output is re-read with the client-side parser. Returns the frames dropped. */
static uint64_t client_drop_old(struct client *cl, uint64_t target)
{
	struct io_conn *c = cl->c;
	struct proto_parser pp;
	proto_parser_init(&pp, PROTO_SIDE_CLIENT, UINT32_MAX);
	size_t len, in_flight, in = 0, out = 0;
	char *buf = io_conn_unsent(c, &len, &in_flight);
	uint64_t dropped = 0;
	while (in < len) {
		size_t used = 0;
		struct proto_frame f;
		if (proto_parse(&pp, buf + in, len - in, &used, &f) != 1)
			break; /* cannot happen on our own output; keep the rest as is */
		bool msg = f.op == PROTO_OP_MSG || f.op == PROTO_OP_HMSG;
		if (msg && in_flight + out + (len - in) > target) {
			dropped++;
		} else {
			memmove(buf + out, buf + in, used);
			out += used;
		}
		in += used;
	}
	if (in < len) {
		memmove(buf + out, buf + in, len - in);
		out += len - in;
	}
	proto_parser_fini(&pp);
	io_conn_set_unsent(c, out);
	return dropped;
}

/* ---- subscribers that hold publishers back ---- */

static bool client_holders_add(struct iothr *t, struct client *cl)
{
	return client_list_add(&t->holders, &t->nholders, &t->holders_cap, 16, cl);
}

static void client_holders_del(struct iothr *t, struct client *cl)
{
	client_list_del(t->holders, &t->nholders, cl);
}

/* Asks the publisher @pub to stop reading until this subscriber drains. */
static void client_hold_publisher(struct client *cl, uint64_t pub)
{
	if (cl->nheld_pubs && cl->held_pubs[cl->nheld_pubs - 1] == pub)
		return; /* the usual case: the same publisher again */
	for (uint32_t i = 0; i < cl->nheld_pubs; i++)
		if (cl->held_pubs[i] == pub)
			return;
	if (cl->nheld_pubs == cl->held_cap) {
		uint32_t cap = cl->held_cap ? cl->held_cap * 2 : 8;
		uint64_t *a = realloc(cl->held_pubs, cap * sizeof(*a));
		if (!a)
			return;
		cl->held_pubs = a;
		cl->held_cap = cap;
	}
	if (cl->nheld_pubs == 0 && !client_holders_add(cl->t, cl))
		return; /* could not watch it for progress: hold nobody */
	cl->held_pubs[cl->nheld_pubs++] = pub;
	struct delivery d = {.conn = pub, .kind = DELIVERY_PAUSE};
	iothr_forward(cl->t, &d);
}

static void client_release_publishers(struct client *cl)
{
	for (uint32_t i = 0; i < cl->nheld_pubs; i++) {
		struct delivery d = {.conn = cl->held_pubs[i], .kind = DELIVERY_RESUME};
		iothr_forward(cl->t, &d);
	}
	cl->nheld_pubs = 0;
	client_holders_del(cl->t, cl);
}

void client_release_all(struct client *cl)
{
	if (cl->nheld_pubs)
		client_release_publishers(cl);
}

static struct adm_policy *client_over_policy(struct client *cl)
{
	return cl->over_policy ? cl->over_policy : &server_adm(cl->t->srv)->policies[0];
}

void client_check_holders(struct iothr *t, uint64_t now)
{
	for (uint32_t i = 0; i < t->nholders;) {
		struct client *cl = t->holders[i];
		struct adm_policy *p = client_over_policy(cl);
		if (io_conn_stalled_ns(cl->c, now) <= p->defer_max_ns) {
			i++;
			continue;
		}
		adm_count(&p->c.stalls, 1);
		if (log_ratelimit_ok(&t->adm_log, now))
			log_warn("admission: cid %llu %s:%u made no progress for %llu ms: its "
			         "publishers go on (policy %s)",
			         (unsigned long long)cl->cid, cl->c->peer_ip, cl->c->peer_port,
			         (unsigned long long)(p->defer_max_ns / 1000000u), p->name);
		client_release_publishers(cl); /* takes it off the list */
	}
}

void client_on_sent(void *ctx, struct io_conn *c)
{
	(void)ctx;
	struct client *cl = c->user;
	if (!cl || !cl->sub_over || io_conn_pending(c) > cl->sub_low)
		return;
	cl->sub_over = false;
	client_release_all(cl);
}

/* ---- subscriber-side admission ---- */

static void client_slow_consumer(struct client *cl, struct adm_policy *p, const char *why)
{
	struct iothr *t = cl->t;
	adm_count(&p->c.disconnects, 1);
	t->slow_consumers++;
	if (log_ratelimit_ok(&t->client_log, clock_now_ns()))
		log_warn("cid %llu %s:%u: slow consumer (%s, %zu bytes pending, policy %s): "
		         "closing",
		         (unsigned long long)cl->cid, cl->c->peer_ip, cl->c->peer_port, why,
		         io_conn_pending(cl->c), p->name);
	io_conn_close(cl->c, false);
}

bool client_missed_deadline(struct client *cl, uint64_t now)
{
	(void)now;
	struct adm_policy *p = client_over_policy(cl);
	enum adm_action act = p->sub == ADM_DEFER ? p->fallback : p->sub;
	if (act == ADM_DROP_NEW || act == ADM_DROP_OLD)
		return false; /* the policy keeps it and drops what does not fit */
	adm_count(&p->c.no_progress, 1);
	client_slow_consumer(cl, p, "no progress for write_deadline");
	return true;
}

bool client_drop_stalled(struct client *cl, uint64_t now)
{
	struct adm_policy *p = client_over_policy(cl);
	if (p->sub != ADM_DEFER || p->fallback != ADM_DISCONNECT ||
	    io_conn_stalled_ns(cl->c, now) <= p->defer_max_ns)
		return false;
	client_slow_consumer(cl, p, "no progress while the process is over its mark");
	return true;
}

/* Its queue went over @p's high mark: remember, count, tell. */
static void client_sub_crossed(struct client *cl, struct adm_policy *p, uint64_t pending,
                               uint64_t now)
{
	struct iothr *t = cl->t;
	cl->sub_over = true;
	cl->sub_low = p->sub_low;
	cl->over_policy = p;
	adm_count(&p->c.high_crossings, 1);
	if (log_ratelimit_ok(&t->adm_log, now))
		log_warn("admission: cid %llu %s:%u: %llu bytes queued, over the mark of policy %s "
		         "(%s)",
		         (unsigned long long)cl->cid, cl->c->peer_ip, cl->c->peer_port,
		         (unsigned long long)pending, p->name, adm_action_name(p->sub));
	char asubj[96], buf[512];
	size_t n = admission_advisory(p, "subscriber", (int64_t)cl->cid, pending, p->sub_high, now,
	                              asubj, sizeof(asubj), buf, sizeof(buf));
	if (n)
		iothr_publish_system(t, asubj, buf, n);
}

/* Applies @act (drop-new, drop-old or disconnect) to the delivery @d that
 * does not fit. Returns true when it is to be written after all. */
static bool client_act(struct client *cl, const struct delivery *d, struct adm_policy *p,
                       enum adm_action act, size_t need)
{
	struct iothr *t = cl->t;
	const struct mentry *e = d->e;
	switch (act) {
	case ADM_DEFER: /* not a fallback; admission_new() refuses it */
	case ADM_DROP_OLD: {
		uint64_t n = client_drop_old(cl, cl->sub_low);
		adm_count(&p->c.dropped_old, n);
		cl->drops += n;
		if (io_conn_pending(cl->c) + need <= t->srv->cfg.max_pending)
			return true;
		/* what is in flight alone exceeds the hard limit: drop this one */
	}
		/* fall through */
	case ADM_DROP_NEW:
		adm_count(&p->c.dropped_new, 1);
		cl->drops++;
		if (p->busy && e->reply_len && (e->flags & MENTRY_F_NO_RESPONDERS)) {
			struct delivery busy = {
			    .conn = e->conn, .b = d->b, .e = e, .kind = DELIVERY_NO_RESPONDERS};
			iothr_forward(t, &busy);
			adm_count(&p->c.busy_replies, 1);
		}
		return false;
	case ADM_DISCONNECT:
		client_slow_consumer(cl, p, "over its mark");
		return false;
	}
	return false;
}

/* The policy of @e's subject: without per-subject policies the default,
 * else the one remembered for the subject last looked up, else a lookup. */
static struct adm_policy *client_policy(struct client *cl, const struct delivery *d)
{
	const struct admission *a = server_adm(cl->t->srv);
	if (a->nrules == 0)
		return &a->policies[0];
	const struct mentry *e = d->e;
	unsigned pre = cl->t->srv->acc_pre;
	const char *subj = mentry_subject(d->b, e, pre);
	size_t len = e->subject_len - pre;
	if (cl->pol_adm == a && cl->pol_subj_len == len && equal_small(cl->pol_subj, subj, len))
		return cl->pol;
	struct adm_policy *p = admission_lookup(a, subj, len);
	if (len < CLIENT_LAST_SUBJ_MAX) {
		cl->pol_adm = a;
		cl->pol = p;
		cl->pol_subj_len = (uint8_t)len;
		memcpy(cl->pol_subj, subj, len);
	}
	return p;
}

/* The message would take this subscriber's queue past a mark. Applies the
 * policy of its subject. Returns true when it is to be written. */
bool client_admit_delivery(struct client *cl, const struct delivery *d, size_t need)
{
	struct iothr *t = cl->t;
	const struct mentry *e = d->e;
	struct adm_policy *p = client_policy(cl, d);
	uint64_t pending = io_conn_pending(cl->c);
	uint64_t now = io_loop_now(cl->c->loop);

	if (!cl->sub_over) {
		if (pending + need <= p->sub_high)
			return true;
		client_sub_crossed(cl, p, pending, now);
	}
	if (p->sub != ADM_DEFER)
		return client_act(cl, d, p, p->sub, need);
	if (io_conn_stalled_ns(cl->c, now) > p->defer_max_ns) {
		/* It stopped reading: it holds nobody back (the others go on) and
		 * keeps its queue only up to max_pending, nats-server's limit,
		 * and while the process is under its mark; then its fallback. */
		if (pending + need > t->srv->cfg.max_pending ||
		    memacct_marked() > server_adm(t->srv)->process_high)
			return client_act(cl, d, p, p->fallback, need);
		adm_count(&p->c.admitted, 1);
		return true;
	}
	/* Still draining: lossless. What is already on its way is written even
	 * above the mark (memory is bounded by the shard and process marks
	 * upstream), and its publishers wait until it drains. */
	adm_count(&p->c.admitted, 1);
	if (e->conn)
		client_hold_publisher(cl, e->conn);
	return true;
}

/* A request the shard counted at its member was not delivered: give it back. */
static void client_untrack(struct client *cl, const struct delivery *d, const struct csub *cs)
{
	if (RB_UNLIKELY(d->flags & DELIVERY_F_TRACKED) && cs && cs->svc_ref)
		svc_done(cl->t->srv->svc, cs->svc_ref, false, 0, false);
}

/* JetStream's push deliveries cross a route or leaf connection with the
 * subject they were stored under folded into the ack reply
 * ("$JS.ACK.<...>@orders.new"): a client is sent that subject and the reply
 * without it, as nats-server unfolds them. */
static void client_js_ack_remap(struct proto_span *subject, struct proto_span *reply)
{
	if (memcmp(reply->ptr, "$JS.ACK.", 8))
		return;
	const char *at = memrchr(reply->ptr, '@', reply->len);
	if (!at || at == reply->ptr + reply->len - 1)
		return;
	*subject = (struct proto_span){at + 1, (uint32_t)(reply->ptr + reply->len - at - 1)};
	reply->len = (uint32_t)(at - reply->ptr);
}

bool client_commit_ref(struct client *cl, const struct mbatch *b, size_t n, const char *p,
                       uint32_t body)
{
	struct io_conn *c = cl->c;
	io_conn_commit(c, n);
	int r = io_conn_write_ref(c, p, body, (void *)b);
	if (r == -ENOMEM || r == -EINVAL)
		r = io_conn_write(c, p, body);
	if (r || io_conn_write(c, "\r\n", 2))
		return false;
	cl->out_msgs++;
	cl->out_bytes += body;
	return true;
}

/* Writes at @out (room for @cap bytes, at least 16 more than the head
 * needs) the MSG head of @body bytes of @subject, without a reply, for
 * @cs: a copy of the one written last when it was for the same
 * subscription, subject and size, else written and remembered. Returns
 * its length, 0 when it did not fit. */
static size_t client_msg_head(struct client *cl, const struct csub *cs, char *out, size_t cap,
                              struct proto_span subject, uint32_t body)
{
	if (cl->head_len && cl->head_subid == cs->subid && cl->head_size == body &&
	    cl->head_subj_len == subject.len &&
	    equal_small(cl->head + 4, subject.ptr, subject.len)) {
		/* whole 16-byte words: what lands past the head is in the
		 * room reserved for it and written over (or never committed) */
		for (size_t i = 0; i < cl->head_len; i += 16)
			memcpy(out + i, cl->head + i, 16);
		return cl->head_len;
	}
	struct proto_span sid = {cs->sid, cs->sid_len}, none = {NULL, 0};
	size_t n = proto_encode_msg_head(out, cap, subject, sid, none, body);
	cl->head_len = 0;
	if (n && n <= CLIENT_HEAD_MAX) {
		memcpy(cl->head, out, n);
		cl->head_len = (uint8_t)n;
		cl->head_subid = cs->subid;
		cl->head_size = body;
		cl->head_subj_len = (uint8_t)subject.len;
	}
	return n;
}

static void client_send_msg(struct client *cl, const struct delivery *d)
{
	struct csub *cs = client_csub(cl, d->subid);
	if (!cs || (cs->max && cs->delivered >= cs->max)) {
		client_untrack(cl, d, cs);
		return; /* unsubscribed meanwhile, or its auto-unsubscribe max reached */
	}
	const struct mentry *e = d->e;
	unsigned pre = cl->t->srv->acc_pre;
	const char *subj = mentry_subject(d->b, e, pre);
	struct proto_span subject = {subj, e->subject_len - pre};
	struct proto_span reply = {subj + subject.len, e->reply_len};
	struct proto_span sid = {cs->sid, cs->sid_len};
	const char *payload = e->payload;
	if (RB_UNLIKELY(e->flags & (MENTRY_F_ROUTED | MENTRY_F_FROM_LEAF)) && reply.len > 8 &&
	    reply.ptr[0] == '$')
		client_js_ack_remap(&subject, &reply);
	if (RB_UNLIKELY(cs->perm_filter) &&
	    !perm_deliver_ok(cl->perms, subj, e->subject_len - pre)) {
		client_untrack(cl, d, cs);
		return; /* a subject its permissions deny, inside a pattern they allow */
	}
	bool hmsg = e->hdr_len && cl->opts.headers;
	uint32_t body = hmsg ? e->len : e->len - e->hdr_len;
	const char *p = hmsg ? payload : payload + e->hdr_len;

	size_t head = proto_msg_head_max(subject.len, cs->sid_len, e->reply_len) + 12;
	size_t need = head + body + 2;
	if (RB_UNLIKELY(cl->sub_over ||
	                io_conn_pending(cl->c) + need > server_adm(cl->t->srv)->min_sub_high) &&
	    !client_admit_delivery(cl, d, need)) {
		client_untrack(cl, d, cs);
		return;
	}
	bool ref = client_by_ref(cl, body, d->flags);
	char *out = io_conn_reserve(cl->c, ref ? head : need);
	if (!out) {
		client_untrack(cl, d, cs);
		return;
	}
	size_t n;
	if (hmsg)
		n = proto_encode_hmsg_head(out, head, subject, sid, reply, e->hdr_len, e->len);
	else if (reply.len)
		n = proto_encode_msg_head(out, head, subject, sid, reply, body);
	else
		n = client_msg_head(cl, cs, out, head, subject, body);
	if (!ref)
		client_commit_msg(cl, out, n, p, body);
	else if (!client_commit_ref(cl, d->b, n, p, body)) {
		client_untrack(cl, d, cs); /* closed: over max_pending, or out of memory */
		return;
	}
	if (RB_UNLIKELY(log_enabled(LOG_TRACE)))
		log_trace("cid %llu -> %s %.*s %s %.*s %u", (unsigned long long)cl->cid,
		          hmsg ? "HMSG" : "MSG", (int)subject.len, subject.ptr, cs->sid,
		          (int)reply.len, reply.ptr, body);
	if (RB_UNLIKELY(d->flags & DELIVERY_F_TRACKED) && cs->svc_ref)
		client_inflight_add(cl, cs, reply.ptr, reply.len, io_loop_now(cl->c->loop));
	if (RB_UNLIKELY(cl->perms != NULL) && cl->perms->resp_max && reply.len)
		client_perm_request(cl, reply.ptr, reply.len, io_loop_now(cl->c->loop));
	if (++cs->delivered == cs->max)
		client_unsub(cl, cs);
}

void client_deliver_one(struct iothr *t, const struct delivery *d)
{
	/* Deliveries come in runs for one connection, or take a few in turn
	 * (fan-out): look each up once a poll. */
	struct iothr_conn_cache *cc = &t->conn_cache[(uint32_t)d->conn & (IOTHR_CONN_CACHE - 1)];
	struct io_conn *c = cc->c;
	if (d->conn != cc->id) {
		c = io_loop_conn(t->loop, d->conn);
		cc->id = d->conn;
		cc->c = c;
	}
	if (!c || io_conn_is_closing(c) || !c->user)
		return;
	struct client *cl = c->user;
	switch (d->kind) {
	case DELIVERY_MSG:
		if (RB_UNLIKELY(cl->kind != NULL))
			cl->kind->deliver(cl, d);
		else
			client_send_msg(cl, d);
		break;
	case DELIVERY_NO_RESPONDERS: {
		const char *reply = mentry_str(d->b, d->e) + d->e->subject_len;
		client_send_503(cl, reply, d->e->reply_len);
		break;
	}
	case DELIVERY_PAUSE:
		cl->sub_pauses++;
		client_pause(cl, CLIENT_PAUSE_SUBSCRIBER, &server_adm(t->srv)->policies[0]);
		break;
	case DELIVERY_RESUME:
		if (cl->sub_pauses)
			cl->sub_pauses--;
		break;
	case DELIVERY_UNSUBBED:
		client_unsub_acked(cl, d->subid);
		break;
	case DELIVERY_NONE:
		break;
	}
}

void client_deliver(struct iothr *t, struct dbatch *db)
{
	for (uint32_t i = 0; i < db->n; i++)
		client_deliver_one(t, &db->d[i]);
	client_kind_flush(t); /* a route's RMSG points into @db */
	dbatch_free(db);
}
