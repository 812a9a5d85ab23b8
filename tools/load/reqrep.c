/* Request/reply (reqrep): requesters publish to <prefix>.req with their own
 * inbox as reply subject; responders, one queue group, echo each request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/load/payload.h"
#include "tools/load/roles.h"
#include "tools/load/track.h"

#define REQ_OBUF     (64u * 1024u)
#define REP_OBUF     (1024u * 1024u)
#define REQ_HEAD_MAX 320u
#define REP_QUEUE    "ringbus-load"

/* Owner: the requester connection's thread; @produced is read by the main
 * thread after run_sender_done(). */
struct load_req {
	uint32_t index;
	uint32_t stream;
	uint64_t quota;
	uint64_t produced;
	double period_ns; /* open loop; 0: closed loop with cfg->inflight outstanding */
	uint64_t t0;
	struct track track; /* replies */
	char head[REQ_HEAD_MAX];
	uint32_t head_len;
	char inbox[200];
	bool subscribed;
	bool finishing;
	bool done;
};

/* Owner: the responder connection's thread. */
struct load_rep {
	uint32_t index;
	bool subscribed;
	uint64_t dropped; /* replies that did not fit the output buffers */
};

struct reqrep_state {
	uint32_t nreqs;
	uint32_t nreps;
	struct load_req *reqs;
	struct load_rep *reps;
	char *filler;
};

static const struct load_role_ops req_ops;
static const struct load_role_ops rep_ops;

static uint32_t count_roles(const struct load_run *run, enum load_role role)
{
	if (role == ROLE_REQ)
		return run->cfg->clients;
	if (role == ROLE_REP)
		return run->cfg->responders;
	return 0;
}

static int prepare(struct load_run *run)
{
	const struct load_config *cfg = run->cfg;
	struct reqrep_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	run->roles = st;
	st->nreqs = cfg->clients;
	st->nreps = cfg->responders;
	st->reqs = calloc(st->nreqs ? st->nreqs : 1, sizeof(*st->reqs));
	st->reps = calloc(st->nreps ? st->nreps : 1, sizeof(*st->reps));
	st->filler = malloc(cfg->size);
	if (!st->reqs || !st->reps || !st->filler)
		return -ENOMEM;
	memset(st->filler, 'x', cfg->size);
	if ((uint64_t)cfg->id_base + st->nreqs > PAYLOAD_MAX_STREAM + 1ull) {
		fprintf(stderr, "ringbus-load: too many clients for 24-bit stream ids\n");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < st->nreqs; i++) {
		struct load_req *r = &st->reqs[i];
		r->index = i;
		r->stream = cfg->id_base + i;
		r->quota =
		    cfg->msgs ? cfg->msgs / st->nreqs + (i < cfg->msgs % st->nreqs) : UINT64_MAX;
		if (cfg->rate > 0)
			r->period_ns = 1e9 * st->nreqs / cfg->rate;
	}
	for (uint32_t i = 0; i < st->nreps; i++)
		st->reps[i].index = i;
	return 0;
}

static int attach(struct load_run *run, struct load_conn *c, enum load_role role, uint32_t index)
{
	const struct load_config *cfg = run->cfg;
	struct reqrep_state *st = run->roles;
	if (role == ROLE_REP) {
		c->role_state = &st->reps[index];
		int ret = loop_conn_setup(c, ROLE_REP, index, &rep_ops, REP_OBUF + cfg->size);
		/* a responder answers every request: its output grows rather than
		 * dropping replies (64 MiB at most) */
		if (!ret)
			loop_conn_allow_growth(c, 64u << 20);
		return ret;
	}
	struct load_req *r = &st->reqs[index];
	snprintf(r->inbox, sizeof(r->inbox), "%s.inbox.%u.%u", cfg->prefix, cfg->id_base, index);
	char subject[160];
	snprintf(subject, sizeof(subject), "%s.req", cfg->prefix);
	size_t n = proto_encode_pub_head(r->head, sizeof(r->head), proto_span_str(subject),
	                                 proto_span_str(r->inbox), cfg->size);
	if (!n)
		return -EINVAL;
	r->head_len = (uint32_t)n;
	int err = track_init(&r->track, 1);
	if (err)
		return err;
	c->role_state = r;
	return loop_conn_setup(c, ROLE_REQ, index, &req_ops, REQ_OBUF + cfg->size);
}

/* ---- requester ---- */

static void req_ready(struct load_conn *c, uint64_t now)
{
	(void)now;
	struct load_req *r = c->role_state;
	char *dst = loop_reserve(c, 256);
	size_t n = dst ? proto_encode_sub(dst, 256, proto_span_str(r->inbox), proto_span_str(NULL),
	                                  proto_span_str("1"))
	               : 0;
	if (!n) {
		loop_conn_fail(c, "SUB does not fit the output buffer");
		return;
	}
	loop_commit(c, (uint32_t)n);
	if (!loop_ping(c))
		loop_conn_fail(c, "PING does not fit the output buffer");
}

static bool req_write(struct load_conn *c, struct load_req *r, uint64_t intended, uint64_t stamp)
{
	const struct load_config *cfg = c->t->run->cfg;
	const struct reqrep_state *st = c->t->run->roles;
	char *dst = loop_reserve(c, r->head_len + cfg->size + 2);
	if (!dst)
		return false;
	memcpy(dst, r->head, r->head_len);
	char *body = dst + r->head_len;
	uint32_t hdr = cfg->size >= PAYLOAD_STAMPED ? PAYLOAD_STAMPED : PAYLOAD_MIN;
	payload_write(body, cfg->size, r->stream, r->produced, intended, stamp);
	memcpy(body + hdr, st->filler, cfg->size - hdr);
	body[cfg->size] = '\r';
	body[cfg->size + 1] = '\n';
	loop_commit(c, r->head_len + cfg->size + 2);
	r->produced++;
	struct load_stats *s = &c->t->stats;
	s->sent++;
	s->sent_bytes += cfg->size;
	s->last_send = stamp;
	if (intended >= c->t->run->measure_ns) {
		s->sent_measured++;
		if (r->period_ns > 0)
			hist_record(&s->delay, stamp - intended);
	}
	return true;
}

static uint64_t req_finish(struct load_conn *c, struct load_req *r)
{
	if (!loop_ping(c))
		return UINT64_MAX;
	r->finishing = true;
	if (r->period_ns > 0) {
		uint64_t end = c->t->run->end_ns;
		uint64_t due = r->quota;
		if (end != UINT64_MAX) {
			double d = end > r->t0 ? (double)(end - r->t0) / r->period_ns : 0.0;
			uint64_t n = (uint64_t)d + ((double)(uint64_t)d < d);
			due = n < due ? n : due;
		}
		c->t->stats.scheduled += due;
	}
	return UINT64_MAX;
}

static uint64_t req_pump(struct load_conn *c, uint64_t now)
{
	struct load_req *r = c->role_state;
	struct load_run *run = c->t->run;
	if (r->finishing)
		return UINT64_MAX;
	if (!r->t0)
		r->t0 = run->start_ns + (uint64_t)(r->period_ns * r->index /
		                                   (run->cfg->clients ? run->cfg->clients : 1));
	if (r->period_ns > 0) {
		while (r->produced < r->quota && now < run->end_ns) {
			uint64_t intended = r->t0 + (uint64_t)((double)r->produced * r->period_ns);
			if (intended >= run->end_ns)
				break;
			if (intended > now)
				return intended;
			if (!req_write(c, r, intended, now))
				return UINT64_MAX;
		}
		return req_finish(c, r);
	}
	if (now < run->start_ns)
		return run->start_ns;
	while (r->produced < r->quota && now < run->end_ns) {
		if (r->produced - track_unique(&r->track) >= run->cfg->inflight)
			return UINT64_MAX; /* a reply makes room */
		if (!req_write(c, r, now, now))
			return UINT64_MAX;
	}
	return req_finish(c, r);
}

static void req_pong(struct load_conn *c, uint64_t now)
{
	(void)now;
	struct load_req *r = c->role_state;
	if (!r->subscribed) {
		r->subscribed = true;
		run_conn_ready(c->t->run);
	} else if (r->finishing && !c->pings && !r->done) {
		r->done = true;
		run_sender_done(c->t->run);
	}
}

static void req_msg(struct load_conn *c, const struct proto_frame *f, struct proto_span payload,
                    uint64_t now)
{
	(void)f;
	struct load_req *r = c->role_state;
	struct payload_hdr h;
	if (!payload_read(payload.ptr, payload.len, &h) || h.stream != r->stream)
		return;
	int v = track_seen(&r->track, h.stream, h.seq);
	if (v < 0 || v == TRACK_DUP)
		return;
	struct load_stats *s = &c->t->stats;
	s->delivered++;
	s->delivered_bytes += payload.len;
	s->last_recv = now;
	if (h.intended_ns >= c->t->run->measure_ns) {
		s->delivered_measured++;
		hist_record(&s->lat, now > h.intended_ns ? now - h.intended_ns : 0);
		if (h.stamped && r->period_ns > 0)
			hist_record(&s->lat_raw, now > h.stamp_ns ? now - h.stamp_ns : 0);
	}
}

static const struct load_role_ops req_ops = {
    .ready = req_ready,
    .pong = req_pong,
    .msg = req_msg,
    .pump = req_pump,
};

/* ---- responder ---- */

static void rep_ready(struct load_conn *c, uint64_t now)
{
	(void)now;
	const struct load_config *cfg = c->t->run->cfg;
	char subject[160];
	snprintf(subject, sizeof(subject), "%s.req", cfg->prefix);
	char *dst = loop_reserve(c, 256);
	size_t n = dst ? proto_encode_sub(dst, 256, proto_span_str(subject),
	                                  proto_span_str(REP_QUEUE), proto_span_str("1"))
	               : 0;
	if (!n) {
		loop_conn_fail(c, "SUB does not fit the output buffer");
		return;
	}
	loop_commit(c, (uint32_t)n);
	if (!loop_ping(c))
		loop_conn_fail(c, "PING does not fit the output buffer");
}

static void rep_pong(struct load_conn *c, uint64_t now)
{
	(void)now;
	struct load_rep *rep = c->role_state;
	if (!rep->subscribed) {
		rep->subscribed = true;
		run_conn_ready(c->t->run);
	}
}

static void rep_msg(struct load_conn *c, const struct proto_frame *f, struct proto_span payload,
                    uint64_t now)
{
	(void)now;
	struct load_rep *rep = c->role_state;
	if (!f->reply.len)
		return;
	size_t max = 32 + f->reply.len + payload.len + 2;
	char *dst = loop_reserve(c, (uint32_t)max);
	if (!dst) {
		rep->dropped++;
		return;
	}
	size_t n = proto_encode_pub_head(dst, max, f->reply, proto_span_str(NULL), payload.len);
	memcpy(dst + n, payload.ptr, payload.len);
	memcpy(dst + n + payload.len, "\r\n", 2);
	loop_commit(c, (uint32_t)(n + payload.len + 2));
	c->t->stats.served++;
}

static const struct load_role_ops rep_ops = {
    .ready = rep_ready,
    .pong = rep_pong,
    .msg = rep_msg,
};

/* ---- results ---- */

static uint64_t expected(const struct load_run *run)
{
	const struct reqrep_state *st = run->roles;
	uint64_t n = 0;
	for (uint32_t i = 0; i < st->nreqs; i++)
		n += st->reqs[i].produced;
	return n;
}

static void collect(const struct load_run *run, struct load_result *res)
{
	const struct reqrep_state *st = run->roles;
	res->recv_kind = "requester";
	res->nrecv = st->nreqs;
	res->recv = calloc(st->nreqs ? st->nreqs : 1, sizeof(*res->recv));
	res->per_recv_loss = true;
	res->expected = expected(run);
	res->expected_known = true;
	for (uint32_t i = 0; i < st->nreqs && res->recv; i++) {
		const struct load_req *r = &st->reqs[i];
		struct load_recv_result *out = &res->recv[i];
		out->id = i;
		out->received = r->track.c.received;
		out->delivered = track_unique(&r->track);
		out->expected = r->produced;
		out->dup = r->track.c.dup;
		out->reorder = r->track.c.reorder;
		out->lost = r->produced > out->delivered ? r->produced - out->delivered : 0;
		res->received += out->received;
		res->dup += out->dup;
		res->reorder += out->reorder;
		res->lost += out->lost;
	}
}

static void release(struct load_run *run)
{
	struct reqrep_state *st = run->roles;
	if (!st)
		return;
	for (uint32_t i = 0; i < st->nreqs && st->reqs; i++)
		track_fini(&st->reqs[i].track);
	free(st->reqs);
	free(st->reps);
	free(st->filler);
	free(st);
	run->roles = NULL;
}

const struct load_mode_ops reqrep_mode_ops = {
    .prepare = prepare,
    .count = count_roles,
    .attach = attach,
    .expected = expected,
    .collect = collect,
    .release = release,
};
