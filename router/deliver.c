/* Deliveries on a subscriber's I/O thread: MSG/HMSG into its output, barrier
 * acknowledgements, no-responders statuses, publisher pauses, and the
 * subscriber-side admission policies (drop-new, drop-old, disconnect, defer
 * capped in time). */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/copy.h"
#include "core/log.h"
#include "router/client_int.h"
#include "router/subject.h"

bool client_send_503(struct client *cl, const char *reply, size_t reply_len)
{
	for (uint32_t i = 0; cl->by_id.slots && i <= cl->by_id.mask; i++) {
		struct csub *cs = cl->by_id.slots[i].val;
		if (!cs || cs->queue_len || cs->unsubscribed ||
		    !subject_matches(cs->subject, cs->subject_len, reply, reply_len))
			continue;
		static const char status[] = "NATS/1.0 503\r\n\r\n";
		char head[PROTO_MAX_CONTROL_LINE + 64];
		size_t n = proto_encode_hmsg_head(
		    head, sizeof(head), (struct proto_span){reply, (uint32_t)reply_len},
		    (struct proto_span){cs->sid, cs->sid_len}, (struct proto_span){NULL, 0},
		    sizeof(status) - 1, sizeof(status) - 1);
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
	char *buf = c->fill.data;
	size_t len = c->fill.len, in = 0, out = 0;
	size_t in_flight = c->send.len - c->send.off;
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
	c->fill.len = (uint32_t)out;
	return dropped;
}

/* Asks the publisher @pub to stop reading until this subscriber drains. */
static void client_hold_publisher(struct client *cl, uint64_t pub)
{
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
	cl->held_pubs[cl->nheld_pubs++] = pub;
	struct delivery d = {.conn = pub, .kind = DELIVERY_PAUSE};
	runner_emit(&cl->t->run, &d);
}

static void client_release_publishers(struct client *cl)
{
	for (uint32_t i = 0; i < cl->nheld_pubs; i++) {
		struct delivery d = {.conn = cl->held_pubs[i], .kind = DELIVERY_RESUME};
		runner_emit(&cl->t->run, &d);
	}
	cl->nheld_pubs = 0;
}

void client_on_sent(void *ctx, struct io_conn *c)
{
	(void)ctx;
	struct client *cl = c->user;
	if (!cl || !cl->sub_over || io_conn_pending(c) > cl->sub_low)
		return;
	cl->sub_over = false;
	cl->defer_start = 0;
	if (cl->nheld_pubs)
		client_release_publishers(cl);
}

/* The message would take this subscriber's queue past a mark. Applies the
 * policy of its subject. Returns true when it is to be written. */
static bool client_admit_delivery(struct client *cl, const struct delivery *d, size_t need)
{
	struct iothr *t = cl->t;
	struct admission *a = t->srv->adm;
	const struct mentry *e = d->e;
	const char *subj = mentry_str(d->b, e);
	struct adm_policy *p = admission_lookup(a, subj, e->subject_len);
	uint64_t pending = io_conn_pending(cl->c);
	uint64_t now = clock_now_ns();

	if (!cl->sub_over) {
		if (pending + need <= p->sub_high)
			return true;
		cl->sub_over = true;
		cl->sub_low = p->sub_low;
		adm_count(&p->c.high_crossings, 1);
		if (log_ratelimit_ok(&t->adm_log, now))
			log_warn("admission: cid %llu %s:%u: %llu bytes queued, over the mark of "
			         "policy %s (%s)",
			         (unsigned long long)cl->cid, cl->c->peer_ip, cl->c->peer_port,
			         (unsigned long long)pending, p->name, adm_action_name(p->sub));
		char asubj[96], buf[512];
		size_t n =
		    admission_advisory(p, "subscriber", (int64_t)cl->cid, pending, p->sub_high, now,
		                       asubj, sizeof(asubj), buf, sizeof(buf));
		if (n)
			iothr_publish_system(t, asubj, buf, n);
	}

	enum adm_action act = p->sub;
	if (act == ADM_DEFER) {
		if (!cl->defer_start) {
			cl->defer_start = now;
			cl->defer_policy = p;
		}
		/* Capped in time, and by max_pending: a stuck consumer cannot
		 * hold its publishers forever. */
		if (now - cl->defer_start > p->defer_max_ns ||
		    pending + need > t->srv->cfg.max_pending) {
			act = p->fallback;
			if (cl->nheld_pubs)
				client_release_publishers(cl);
		}
	}
	switch (act) {
	case ADM_DEFER:
		if (e->conn)
			client_hold_publisher(cl, e->conn);
		adm_count(&p->c.admitted, 1);
		return true;
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
			runner_emit(&t->run, &busy);
			adm_count(&p->c.busy_replies, 1);
		}
		return false;
	case ADM_DISCONNECT:
		adm_count(&p->c.disconnects, 1);
		t->slow_consumers++;
		if (log_ratelimit_ok(&t->client_log, clock_now_ns()))
			log_warn("cid %llu %s:%u: slow consumer (%llu bytes pending, policy %s): "
			         "closing",
			         (unsigned long long)cl->cid, cl->c->peer_ip, cl->c->peer_port,
			         (unsigned long long)pending, p->name);
		io_conn_close(cl->c, false);
		return false;
	}
	return false;
}

static void client_send_msg(struct client *cl, const struct delivery *d)
{
	struct csub *cs = client_csub(cl, d->subid);
	if (!cs || (cs->max && cs->delivered >= cs->max))
		return; /* unsubscribed meanwhile, or its auto-unsubscribe max reached */
	const struct mentry *e = d->e;
	const char *subj = mentry_str(d->b, e);
	struct proto_span subject = {subj, e->subject_len};
	struct proto_span reply = {subj + e->subject_len, e->reply_len};
	struct proto_span sid = {cs->sid, cs->sid_len};
	const char *payload = subj + e->subject_len + e->reply_len;
	bool hmsg = e->hdr_len && cl->opts.headers;
	uint32_t body = hmsg ? e->len : e->len - e->hdr_len;
	const char *p = hmsg ? payload : payload + e->hdr_len;

	size_t head = proto_msg_head_max(e->subject_len, cs->sid_len, e->reply_len) + 12;
	size_t need = head + body + 2;
	if (RB_UNLIKELY(cl->sub_over ||
	                io_conn_pending(cl->c) + need > cl->t->srv->adm->min_sub_high) &&
	    !client_admit_delivery(cl, d, need))
		return;
	char *out = io_conn_reserve(cl->c, need);
	if (!out)
		return;
	size_t n = hmsg ? proto_encode_hmsg_head(out, head, subject, sid, reply, e->hdr_len, e->len)
	                : proto_encode_msg_head(out, head, subject, sid, reply, body);
	copy_small(out + n, p, body);
	n += body;
	out[n++] = '\r';
	out[n++] = '\n';
	io_conn_commit(cl->c, n);
	cl->out_msgs++;
	cl->out_bytes += body;
	if (++cs->delivered == cs->max)
		client_unsub(cl, cs);
}

static void client_barrier_ack(struct client *cl, uint32_t seq)
{
	uint32_t idx = seq - cl->pend_seq;
	if (idx >= cl->pend_n)
		return;
	struct pend *e = &cl->pend[(cl->pend_head + idx) & (cl->pend_cap - 1)];
	if (e->acks)
		e->acks--;
	client_pend_drain(cl);
}

void client_deliver(struct iothr *t, struct dbatch *db)
{
	uint64_t last_id = 0;
	struct io_conn *c = NULL;
	for (uint32_t i = 0; i < db->n; i++) {
		const struct delivery *d = &db->d[i];
		if (d->conn != last_id) {
			last_id = d->conn;
			c = io_loop_conn(t->loop, d->conn);
		}
		if (!c || c->closing || !c->user)
			continue;
		struct client *cl = c->user;
		switch (d->kind) {
		case DELIVERY_MSG:
			client_send_msg(cl, d);
			break;
		case DELIVERY_BARRIER:
			client_barrier_ack(cl, d->subid);
			break;
		case DELIVERY_NO_RESPONDERS: {
			const char *reply = mentry_str(d->b, d->e) + d->e->subject_len;
			client_send_503(cl, reply, d->e->reply_len);
			break;
		}
		case DELIVERY_PAUSE:
			cl->sub_pauses++;
			client_pause(cl, CLIENT_PAUSE_SUBSCRIBER, &t->srv->adm->policies[0]);
			break;
		case DELIVERY_RESUME:
			if (cl->sub_pauses)
				cl->sub_pauses--;
			break;
		case DELIVERY_UNSUBBED:
			client_unsub_acked(cl, d->subid);
			break;
		}
	}
	dbatch_free(db);
}
