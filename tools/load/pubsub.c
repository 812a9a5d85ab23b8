/* Publishers and subscribers (pubsub, pub, sub): who sends to which subject,
 * open- and closed-loop publishing, and what each subscriber received. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/load/payload.h"
#include "tools/load/probe.h"
#include "tools/load/roles.h"
#include "tools/load/topo.h"
#include "tools/load/track.h"

#define PUB_OBUF      (64u * 1024u)
#define SUB_OBUF_MIN  (4u * 1024u)
#define PUB_MAX_PINGS 2u /* closed loop: windows in flight per publisher */
#define PUB_HEAD_MAX  200u

/* Subjects are numbered 0..K-1 and named <prefix>.<k>. With K >= P publisher
 * p sends to subjects p, p+P, p+2P...; with K < P to subject p mod K. With
 * K <= S subscriber s takes subject s mod K; with K > S the subjects s, s+S,
 * s+2S... Every subject has at least one subscriber when S > 0. With
 * --sub-subject every subscriber takes that one pattern instead.
 *
 * Streams: by default one per (publisher, subject), numbered on its own; with
 * --stream-per-pub (implied by --sub-subject in pubsub) one per publisher,
 * numbered across its subjects, so that each subscriber checks the order
 * NATS promises: per publisher, whatever the subjects. */

/* Owner: the publisher connection's thread; @produced and @done are read by
 * the main thread after run_sender_done(). */
struct load_pub {
	uint32_t index;
	uint32_t first_stream; /* stream id of this publisher's first (or only) stream */
	struct topo_set subj;
	uint64_t quota;      /* messages to send; UINT64_MAX: until end_ns */
	uint64_t produced;   /* messages written so far */
	double period_ns;    /* open loop: time between messages; 0: closed loop */
	uint64_t t0;         /* open loop: intended time of message 0 */
	uint32_t since_ping; /* closed loop: messages since the last window PING */
	bool ping_owed;      /* a window PING did not fit: send it first */
	bool finishing;      /* the final PING is out */
	bool done;
	uint64_t probe_at; /* PHASE_PROBE: when its next probes leave */
	char *heads;       /* "PUB <subject> <size>\r\n" per subject, PUB_HEAD_MAX apart */
	uint8_t *head_len;
};

/* Owner: the subscriber connection's thread. */
struct load_sub {
	uint32_t index;
	struct topo_set subj; /* unused with --sub-subject */
	struct track track;
	bool subscribed;
	uint64_t foreign;         /* messages without a ringbus-load header */
	struct probe_seen probes; /* --sub-url: which subjects have had a probe */
};

/* run->roles for the pubsub family. */
struct pubsub_state {
	uint32_t npubs;
	uint32_t nsubs;
	struct load_pub *pubs;
	struct load_sub *subs;
	char *filler; /* payload bytes after the header */
};

static const struct load_role_ops pub_ops;
static const struct load_role_ops sub_ops;

static uint32_t count_roles(const struct load_run *run, enum load_role role)
{
	const struct load_config *cfg = run->cfg;
	if (role == ROLE_PUB)
		return cfg->mode == LOAD_SUB ? 0 : cfg->pubs;
	if (role == ROLE_SUB)
		return cfg->mode == LOAD_PUB ? 0 : cfg->subs;
	return 0;
}

static int prepare(struct load_run *run)
{
	const struct load_config *cfg = run->cfg;
	struct pubsub_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	run->roles = st;
	st->npubs = count_roles(run, ROLE_PUB);
	st->nsubs = count_roles(run, ROLE_SUB);
	st->pubs = calloc(st->npubs ? st->npubs : 1, sizeof(*st->pubs));
	st->subs = calloc(st->nsubs ? st->nsubs : 1, sizeof(*st->subs));
	st->filler = malloc(cfg->size);
	if (!st->pubs || !st->subs || !st->filler)
		return -ENOMEM;
	memset(st->filler, 'x', cfg->size);
	uint64_t streams = cfg->id_base;
	for (uint32_t p = 0; p < st->npubs; p++) {
		struct load_pub *pub = &st->pubs[p];
		pub->index = p;
		pub->subj = topo_spread(cfg->subjects, st->npubs, p, true);
		pub->first_stream = (uint32_t)streams;
		streams += cfg->stream_per_pub ? 1 : pub->subj.count;
		if (cfg->msgs)
			pub->quota = cfg->msgs / st->npubs + (p < cfg->msgs % st->npubs);
		else
			pub->quota = UINT64_MAX;
		if (cfg->rate > 0)
			pub->period_ns = 1e9 * st->npubs / cfg->rate;
	}
	if (streams > PAYLOAD_MAX_STREAM + 1ull) {
		fprintf(stderr,
		        "ringbus-load: %llu publisher streams from --id-base %u do not fit "
		        "24 bits\n",
		        (unsigned long long)streams, cfg->id_base);
		return -EINVAL;
	}
	for (uint32_t s = 0; s < st->nsubs; s++) {
		struct load_sub *sub = &st->subs[s];
		sub->index = s;
		sub->subj = topo_spread(cfg->subjects, st->nsubs, s, false);
		if (probe_seen_init(&sub->probes, &sub->subj, cfg->sub_subject[0] != 0))
			return -ENOMEM;
	}
	return 0;
}

/* The longest SUB line a subscriber writes. */
static uint32_t sub_line_max(const struct load_config *cfg)
{
	/* "SUB " + subject + " " + queue + " " + sid + "\r\n"; ".<k>" and the sid
	 * take at most 11 and 10 bytes */
	const char *subject = cfg->sub_subject[0] ? cfg->sub_subject : cfg->prefix;
	return (uint32_t)(strlen(subject) + strlen(cfg->queue) + 48u);
}

static int attach(struct load_run *run, struct load_conn *c, enum load_role role, uint32_t index)
{
	const struct load_config *cfg = run->cfg;
	struct pubsub_state *st = run->roles;
	if (role == ROLE_PUB) {
		struct load_pub *pub = &st->pubs[index];
		pub->heads = malloc((size_t)pub->subj.count * PUB_HEAD_MAX);
		pub->head_len = malloc(pub->subj.count);
		if (!pub->heads || !pub->head_len)
			return -ENOMEM;
		for (uint32_t j = 0; j < pub->subj.count; j++) {
			char subject[160];
			topo_subject(subject, sizeof(subject), cfg->prefix,
			             topo_nth(&pub->subj, j));
			size_t n = proto_encode_pub_head(pub->heads + (size_t)j * PUB_HEAD_MAX,
			                                 PUB_HEAD_MAX, proto_span_str(subject),
			                                 proto_span_str(NULL), cfg->size);
			if (!n)
				return -EINVAL;
			pub->head_len[j] = (uint8_t)n;
		}
		c->role_state = pub;
		uint32_t ocap = PUB_OBUF;
		if (ocap < cfg->size + PUB_HEAD_MAX + 2)
			ocap = cfg->size + PUB_HEAD_MAX + 2;
		return loop_conn_setup(c, ROLE_PUB, index, &pub_ops, ocap);
	}
	struct load_sub *sub = &st->subs[index];
	uint32_t nsubj = cfg->sub_subject[0] ? 1 : sub->subj.count;
	uint32_t per_pub = cfg->stream_per_pub ? 1 : nsubj;
	int err = track_init(&sub->track, st->npubs ? st->npubs * per_pub : 16);
	if (err)
		return err;
	c->role_state = sub;
	uint32_t ocap = SUB_OBUF_MIN + nsubj * sub_line_max(cfg);
	return loop_conn_setup(c, ROLE_SUB, index, &sub_ops, ocap);
}

/* ---- publisher ---- */

static void pub_ready(struct load_conn *c, uint64_t now)
{
	(void)now;
	run_conn_ready(c->t->run);
}

/* Writes message number pub->produced; false when the buffers are full. */
static bool pub_write(struct load_conn *c, struct load_pub *pub, uint64_t intended, uint64_t stamp)
{
	const struct load_config *cfg = c->t->run->cfg;
	const struct pubsub_state *st = c->t->run->roles;
	uint32_t j = (uint32_t)(pub->produced % pub->subj.count);
	uint32_t stream = pub->first_stream;
	uint64_t seq = pub->produced;
	if (!cfg->stream_per_pub) {
		stream += j;
		seq /= pub->subj.count;
	}
	uint32_t hl = pub->head_len[j];
	char *dst = loop_reserve(c, hl + cfg->size + 2);
	if (!dst)
		return false;
	memcpy(dst, pub->heads + (size_t)j * PUB_HEAD_MAX, hl);
	char *body = dst + hl;
	uint32_t hdr = cfg->size >= PAYLOAD_STAMPED ? PAYLOAD_STAMPED : PAYLOAD_MIN;
	payload_write(body, cfg->size, stream, seq, intended, stamp);
	memcpy(body + hdr, st->filler, cfg->size - hdr);
	body[cfg->size] = '\r';
	body[cfg->size + 1] = '\n';
	loop_commit(c, hl + cfg->size + 2);
	pub->produced++;

	struct load_stats *s = &c->t->stats;
	s->sent++;
	s->sent_bytes += cfg->size;
	s->last_send = stamp;
	if (intended >= c->t->run->measure_ns) {
		s->sent_measured++;
		if (pub->period_ns > 0)
			hist_record(&s->delay, stamp - intended);
	}
	return true;
}

/* Open loop: the number of messages due before the end of the run. */
static uint64_t pub_scheduled(const struct load_pub *pub, uint64_t end_ns)
{
	if (end_ns == UINT64_MAX || pub->t0 >= end_ns)
		return end_ns == UINT64_MAX ? pub->quota : 0;
	double due = (double)(end_ns - pub->t0) / pub->period_ns;
	uint64_t n = (uint64_t)due;
	if ((double)n < due)
		n++;
	return n < pub->quota ? n : pub->quota;
}

static uint64_t pub_finish(struct load_conn *c, struct load_pub *pub)
{
	if (!loop_ping(c))
		return UINT64_MAX; /* retried after the next send completes */
	pub->finishing = true;
	if (pub->period_ns > 0)
		c->t->stats.scheduled += pub_scheduled(pub, c->t->run->end_ns);
	return UINT64_MAX;
}

/* PHASE_PROBE: a probe on each of its subjects every PROBE_EVERY_NS (what
 * does not fit now leaves with the next round). */
static uint64_t pub_probe(struct load_conn *c, struct load_pub *pub, uint64_t now)
{
	if (now < pub->probe_at)
		return pub->probe_at;
	const char *prefix = c->t->run->cfg->prefix;
	for (uint32_t j = 0; j < pub->subj.count; j++) {
		char *dst = loop_reserve(c, PUB_HEAD_MAX);
		size_t n =
		    dst ? probe_encode(dst, PUB_HEAD_MAX, prefix, topo_nth(&pub->subj, j)) : 0;
		if (!n)
			break;
		loop_commit(c, (uint32_t)n);
	}
	pub->probe_at = now + PROBE_EVERY_NS;
	return pub->probe_at;
}

static uint64_t pub_pump(struct load_conn *c, uint64_t now)
{
	struct load_pub *pub = c->role_state;
	struct load_run *run = c->t->run;
	if (pub->finishing)
		return UINT64_MAX;
	if (run_phase(run) < PHASE_RUN)
		return pub_probe(c, pub, now);
	if (!pub->t0)
		pub->t0 = run->start_ns + (uint64_t)(pub->period_ns * pub->index /
		                                     (run->cfg->pubs ? run->cfg->pubs : 1));
	if (pub->period_ns > 0) {
		while (pub->produced < pub->quota && now < run->end_ns) {
			uint64_t intended =
			    pub->t0 + (uint64_t)((double)pub->produced * pub->period_ns);
			if (intended >= run->end_ns)
				break;
			if (intended > now)
				return intended;
			if (!pub_write(c, pub, intended, now))
				return UINT64_MAX;
		}
		return pub_finish(c, pub);
	}
	if (now < run->start_ns)
		return run->start_ns;
	while (pub->produced < pub->quota && now < run->end_ns) {
		if (pub->ping_owed) {
			if (!loop_ping(c))
				return UINT64_MAX;
			pub->ping_owed = false;
		}
		if (c->pings >= PUB_MAX_PINGS)
			return UINT64_MAX;
		if (!pub_write(c, pub, now, now))
			return UINT64_MAX;
		if (++pub->since_ping >= run->cfg->window) {
			pub->since_ping = 0;
			pub->ping_owed = true;
		}
	}
	return pub_finish(c, pub);
}

static void pub_pong(struct load_conn *c, uint64_t now)
{
	(void)now;
	struct load_pub *pub = c->role_state;
	if (pub->finishing && !c->pings && !pub->done) {
		pub->done = true;
		run_sender_done(c->t->run);
	}
}

static const struct load_role_ops pub_ops = {
    .ready = pub_ready,
    .pong = pub_pong,
    .pump = pub_pump,
};

/* ---- subscriber ---- */

static void sub_ready(struct load_conn *c, uint64_t now)
{
	(void)now;
	const struct load_config *cfg = c->t->run->cfg;
	struct load_sub *sub = c->role_state;
	uint32_t nsubj = cfg->sub_subject[0] ? 1 : sub->subj.count;
	for (uint32_t j = 0; j < nsubj; j++) {
		char subject[300], sid[16];
		if (cfg->sub_subject[0])
			snprintf(subject, sizeof(subject), "%s", cfg->sub_subject);
		else
			topo_subject(subject, sizeof(subject), cfg->prefix,
			             topo_nth(&sub->subj, j));
		snprintf(sid, sizeof(sid), "%u", j + 1);
		char *dst = loop_reserve(c, sub_line_max(cfg));
		size_t n = dst ? proto_encode_sub(dst, sub_line_max(cfg), proto_span_str(subject),
		                                  proto_span_str(cfg->queue[0] ? cfg->queue : NULL),
		                                  proto_span_str(sid))
		               : 0;
		if (!n) {
			loop_conn_fail(c, "SUB does not fit the output buffer");
			return;
		}
		loop_commit(c, (uint32_t)n);
	}
	if (!loop_ping(c))
		loop_conn_fail(c, "PING does not fit the output buffer");
}

static void sub_pong(struct load_conn *c, uint64_t now)
{
	(void)now;
	struct load_sub *sub = c->role_state;
	if (!sub->subscribed) {
		sub->subscribed = true;
		run_conn_ready(c->t->run);
	}
}

static void sub_msg(struct load_conn *c, const struct proto_frame *f, struct proto_span payload,
                    uint64_t now)
{
	(void)f;
	struct load_sub *sub = c->role_state;
	struct payload_hdr h;
	if (!payload_read(payload.ptr, payload.len, &h)) {
		uint32_t k;
		if (!probe_read(payload.ptr, payload.len, &k))
			sub->foreign++;
		else if (probe_seen_add(&sub->probes, k))
			run_sub_probed(c->t->run);
		return;
	}
	int v = track_seen(&sub->track, h.stream, h.seq);
	if (v < 0) {
		loop_conn_fail(c, "out of memory tracking streams");
		return;
	}
	if (v == TRACK_DUP)
		return;
	struct load_stats *s = &c->t->stats;
	s->delivered++;
	s->delivered_bytes += payload.len;
	s->last_recv = now;
	if (h.intended_ns >= c->t->run->measure_ns) {
		s->delivered_measured++;
		hist_record(&s->lat, now > h.intended_ns ? now - h.intended_ns : 0);
		/* Closed-loop stamps equal the intended times: nothing to add. */
		const struct load_config *cfg = c->t->run->cfg;
		if (h.stamped && (cfg->rate > 0 || cfg->mode == LOAD_SUB))
			hist_record(&s->lat_raw, now > h.stamp_ns ? now - h.stamp_ns : 0);
	}
}

static const struct load_role_ops sub_ops = {
    .ready = sub_ready,
    .pong = sub_pong,
    .msg = sub_msg,
};

/* ---- results ---- */

/* Sent counts per subject (heap, cfg->subjects entries), or NULL. */
static uint64_t *subject_sent(const struct load_run *run)
{
	const struct pubsub_state *st = run->roles;
	uint64_t *sent = calloc(run->cfg->subjects, sizeof(*sent));
	if (!sent)
		return NULL;
	for (uint32_t p = 0; p < st->npubs; p++)
		topo_add_sent(sent, &st->pubs[p].subj, st->pubs[p].produced);
	return sent;
}

/* What subscriber @sub should receive; @on_pattern: what a subscriber of
 * --sub-subject receives (computed once by the caller). */
static uint64_t sub_expected(const struct load_run *run, const struct load_sub *sub,
                             const uint64_t *sent, uint64_t on_pattern)
{
	return run->cfg->sub_subject[0] ? on_pattern : topo_sum(sent, &sub->subj);
}

static uint64_t pattern_expected(const struct load_run *run, const uint64_t *sent)
{
	const struct load_config *cfg = run->cfg;
	return cfg->sub_subject[0]
	           ? topo_sum_matching(sent, cfg->subjects, cfg->prefix, cfg->sub_subject)
	           : 0;
}

static uint64_t expected(const struct load_run *run)
{
	const struct load_config *cfg = run->cfg;
	const struct pubsub_state *st = run->roles;
	if (cfg->mode == LOAD_PUB)
		return 0;
	if (cfg->mode == LOAD_SUB)
		return cfg->msgs ? cfg->msgs * st->nsubs : ROLES_UNKNOWN;
	uint64_t *sent = subject_sent(run);
	if (!sent)
		return ROLES_UNKNOWN;
	uint64_t n = 0;
	uint64_t on_pattern = pattern_expected(run, sent);
	if (cfg->queue[0] && cfg->sub_subject[0]) {
		n = on_pattern;
	} else if (cfg->queue[0]) {
		for (uint32_t k = 0; k < cfg->subjects; k++)
			n += sent[k];
	} else {
		for (uint32_t s = 0; s < st->nsubs; s++)
			n += sub_expected(run, &st->subs[s], sent, on_pattern);
	}
	free(sent);
	return n;
}

static void collect(const struct load_run *run, struct load_result *res)
{
	const struct load_config *cfg = run->cfg;
	const struct pubsub_state *st = run->roles;
	res->recv_kind = "subscriber";
	res->nrecv = st->nsubs;
	res->recv = calloc(st->nsubs ? st->nsubs : 1, sizeof(*res->recv));
	uint64_t *sent = cfg->mode == LOAD_PUBSUB ? subject_sent(run) : NULL;
	uint64_t on_pattern = sent ? pattern_expected(run, sent) : 0;
	bool queue = cfg->queue[0] != 0;
	res->per_recv_loss = !queue;
	res->expected = expected(run);
	res->expected_known = res->expected != ROLES_UNKNOWN;
	uint64_t unique = 0, gaps = 0;
	for (uint32_t s = 0; s < st->nsubs && res->recv; s++) {
		const struct load_sub *sub = &st->subs[s];
		struct load_recv_result *r = &res->recv[s];
		r->id = s;
		r->received = sub->track.c.received;
		r->delivered = track_unique(&sub->track);
		r->dup = sub->track.c.dup;
		r->reorder = sub->track.c.reorder;
		r->expected = ROLES_UNKNOWN;
		if (!queue && sent)
			r->expected = sub_expected(run, sub, sent, on_pattern);
		else if (!queue && cfg->mode == LOAD_SUB && cfg->msgs)
			r->expected = cfg->msgs;
		if (r->expected != ROLES_UNKNOWN)
			r->lost = r->expected > r->delivered ? r->expected - r->delivered : 0;
		else
			r->lost = queue ? 0 : sub->track.c.gaps;
		res->received += r->received;
		res->dup += r->dup;
		res->reorder += r->reorder;
		res->lost += r->lost;
		unique += r->delivered;
		gaps += sub->track.c.gaps;
	}
	if (queue) /* loss over the group: what no member received */
		res->lost =
		    res->expected_known && res->expected > unique ? res->expected - unique : 0;
	(void)gaps;
	free(sent);
}

static void release(struct load_run *run)
{
	struct pubsub_state *st = run->roles;
	if (!st)
		return;
	for (uint32_t p = 0; p < st->npubs && st->pubs; p++) {
		free(st->pubs[p].heads);
		free(st->pubs[p].head_len);
	}
	for (uint32_t s = 0; s < st->nsubs && st->subs; s++) {
		track_fini(&st->subs[s].track);
		probe_seen_fini(&st->subs[s].probes);
	}
	free(st->pubs);
	free(st->subs);
	free(st->filler);
	free(st);
	run->roles = NULL;
}

const struct load_mode_ops pubsub_mode_ops = {
    .prepare = prepare,
    .count = count_roles,
    .attach = attach,
    .expected = expected,
    .collect = collect,
    .release = release,
};
