/* ringbus-load-blocking: pub/sub load from a plain client on blocking
 * sockets, one thread per connection (tools/load/bconn.c), as most NATS
 * client libraries work; the yardstick for ringbus-load and the bench
 * suite's 'blocking' client profile. Same flags, payload, checks and
 * reports as ringbus-load pubsub; see docs/LOAD.md. This file: set-up, the
 * end of a run and the report; the threads are in blocking_roles.c. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/clock.h"
#include "tools/load/blocking.h"
#include "tools/load/hello.h"
#include "tools/load/probe.h"
#include "tools/load/report.h"
#include "tools/load/roles.h"

#define BC_TICK_NS 5000000u /* the main thread's polling while draining */

/* ---- set-up ---- */

/* The SUB lines of @sub (heap, *@len bytes), or NULL when out of memory. */
static char *sub_lines(const struct load_config *cfg, const struct bc_sub *sub, size_t *len)
{
	uint32_t n = cfg->sub_subject[0] ? 1 : sub->subj.count;
	size_t line =
	    strlen(cfg->sub_subject[0] ? cfg->sub_subject : cfg->prefix) + strlen(cfg->queue) + 48;
	char *buf = malloc((size_t)n * line);
	*len = 0;
	for (uint32_t j = 0; buf && j < n; j++) {
		char subject[300], sid[16];
		if (cfg->sub_subject[0])
			snprintf(subject, sizeof(subject), "%s", cfg->sub_subject);
		else
			topo_subject(subject, sizeof(subject), cfg->prefix,
			             topo_nth(&sub->subj, j));
		snprintf(sid, sizeof(sid), "%u", j + 1);
		*len += proto_encode_sub(buf + *len, line, proto_span_str(subject),
		                         proto_span_str(cfg->queue[0] ? cfg->queue : NULL),
		                         proto_span_str(sid));
	}
	return buf;
}

static int open_sub(struct bc_run *run, struct bc_sub *sub, uint32_t index)
{
	const struct load_config *cfg = run->cfg;
	sub->run = run;
	sub->index = index;
	sub->subj = topo_spread(cfg->subjects, cfg->subs, index, false);
	sub->expected = ROLES_UNKNOWN;
	if (bconn_init(&sub->io, 0) || track_init(&sub->track, cfg->pubs) ||
	    load_stats_init(&sub->stats))
		return -ENOMEM;
	size_t len;
	char *subs = sub_lines(cfg, sub, &len);
	if (!subs)
		return -ENOMEM;
	const struct hello_target *to = hello_sub_target(run->targets, cfg, index);
	int err = bconn_open(&sub->io, (const struct sockaddr *)&to->addr, to->addrlen, to->shown,
	                     to->ws_host[0] ? to->ws_host : NULL, to->connect_line, to->connect_len,
	                     subs, len, cfg->connect_timeout_ns, cfg->size);
	free(subs);
	if (!err)
		err = bconn_timeouts(&sub->io, BC_POLL_NS, cfg->drain_ns);
	if (err)
		bc_fail(run, "subscriber %u: %s", index, sub->io.error);
	return err;
}

static int open_pub(struct bc_run *run, struct bc_pub *pub, uint32_t index)
{
	const struct load_config *cfg = run->cfg;
	pub->run = run;
	pub->index = index;
	pub->subj = cfg->pub_subject_per_pub
	                ? (struct topo_set){.first = index, .step = 1, .count = 1}
	                : (struct topo_set){.first = 0, .step = 1, .count = cfg->subjects};
	pub->quota =
	    cfg->msgs ? cfg->msgs / cfg->pubs + (index < cfg->msgs % cfg->pubs) : UINT64_MAX;
	if (cfg->rate > 0)
		pub->period_ns = 1e9 * cfg->pubs / cfg->rate;
	pub->filler = malloc(cfg->size);
	if (pub->filler)
		memset(pub->filler, 'x', cfg->size);
	pub->heads = malloc((size_t)pub->subj.count * BC_HEAD_MAX);
	pub->head_len = malloc(pub->subj.count * sizeof(*pub->head_len));
	if (!pub->filler || !pub->heads || !pub->head_len || load_stats_init(&pub->stats) ||
	    bconn_init(&pub->io, BC_HEAD_MAX + cfg->size + 2))
		return -ENOMEM;
	for (uint32_t j = 0; j < pub->subj.count; j++) {
		char subject[200];
		topo_subject(subject, sizeof(subject), cfg->prefix, topo_nth(&pub->subj, j));
		size_t n =
		    proto_encode_pub_head(pub->heads + (size_t)j * BC_HEAD_MAX, BC_HEAD_MAX,
		                          proto_span_str(subject), proto_span_str(NULL), cfg->size);
		if (!n)
			return -EINVAL;
		pub->head_len[j] = (uint16_t)n;
	}
	const struct hello_target *to = &run->targets[0];
	int err = bconn_open(&pub->io, (const struct sockaddr *)&to->addr, to->addrlen, to->shown,
	                     to->ws_host[0] ? to->ws_host : NULL, to->connect_line, to->connect_len,
	                     NULL, 0, cfg->connect_timeout_ns, cfg->size);
	if (!err)
		err = bconn_timeouts(&pub->io, cfg->drain_ns, cfg->drain_ns);
	if (err)
		bc_fail(run, "publisher %u: %s", index, pub->io.error);
	return err;
}

/* ---- interest across servers (--sub-url) ---- */

/* What a subscriber's reads during probing go to. */
struct probe_ctx {
	struct probe_seen *seen;
	uint32_t *left; /* subscribers still waiting for a probe */
};

static void probe_msg(void *arg, struct proto_span body, uint64_t now)
{
	(void)now;
	struct probe_ctx *ctx = arg;
	uint32_t k;
	if (probe_read(body.ptr, (uint32_t)body.len, &k) && probe_seen_add(ctx->seen, k))
		(*ctx->left)--;
}

/* One probe on each of @pub's subjects, flushed. 0 or as bconn_flush. */
static int pub_probe(struct bc_pub *pub)
{
	const char *prefix = pub->run->cfg->prefix;
	for (uint32_t j = 0; j < pub->subj.count; j++) {
		char *dst;
		int err = bconn_reserve(&pub->io, BC_HEAD_MAX, &dst);
		if (err)
			return err;
		bconn_commit(&pub->io, (uint32_t)probe_encode(dst, BC_HEAD_MAX, prefix,
		                                              topo_nth(&pub->subj, j)));
	}
	return bconn_flush(&pub->io);
}

/* Before any thread runs, on the main thread: every publisher probes each
 * of its subjects every PROBE_EVERY_NS until every subscriber has had a
 * probe on each of its own (its interest has reached the publishers'
 * server), within --connect-timeout. Returns 0, or -errno with the run
 * failed. */
static int wait_interest(struct bc_run *run, double *waited_s)
{
	const struct load_config *cfg = run->cfg;
	struct probe_seen *seen = calloc(cfg->subs, sizeof(*seen));
	struct pollfd *pfd = calloc(cfg->subs, sizeof(*pfd));
	uint32_t *who = calloc(cfg->subs, sizeof(*who));
	int err = seen && pfd && who ? 0 : -ENOMEM;
	for (uint32_t s = 0; !err && s < cfg->subs; s++)
		err = probe_seen_init(&seen[s], &run->subs[s].subj, cfg->sub_subject[0] != 0);
	if (err)
		bc_fail(run, "out of memory");
	uint64_t t0 = clock_now_ns(), next = t0;
	uint32_t left = cfg->subs;
	while (!err && left) {
		uint64_t now = clock_now_ns();
		if (now - t0 > cfg->connect_timeout_ns) {
			bc_fail(
			    run,
			    "interest did not cross: %u of %u subscribers had probes from the "
			    "publishers on %s after %.1f s (are --url and --sub-url one cluster?)",
			    cfg->subs - left, cfg->subs, cfg->url_shown,
			    (double)cfg->connect_timeout_ns / 1e9);
			err = -ETIMEDOUT;
			break;
		}
		for (uint32_t p = 0; now >= next && !err && p < cfg->pubs; p++)
			if ((err = pub_probe(&run->pubs[p])))
				bc_fail(run, "publisher %u: %s", p, run->pubs[p].io.error);
		if (now >= next)
			next = now + PROBE_EVERY_NS;
		nfds_t n = 0;
		for (uint32_t s = 0; s < cfg->subs; s++)
			if (!probe_seen_done(&seen[s])) {
				pfd[n] =
				    (struct pollfd){.fd = run->subs[s].io.fd, .events = POLLIN};
				who[n++] = s;
			}
		int ready = err ? 0 : poll(pfd, n, (int)((next - now) / 1000000u) + 1);
		for (nfds_t i = 0; ready > 0 && !err && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			struct bc_sub *sub = &run->subs[who[i]];
			struct probe_ctx ctx = {&seen[who[i]], &left};
			ssize_t got = bconn_read(&sub->io, probe_msg, &ctx);
			if (got > 0 || got == -EAGAIN)
				continue;
			bc_fail(run, "subscriber %u: %s", who[i],
			        got ? sub->io.error : "the server closed the connection");
			err = got ? (int)got : -EPIPE;
		}
	}
	*waited_s = (double)(clock_now_ns() - t0) / 1e9;
	for (uint32_t s = 0; seen && s < cfg->subs; s++)
		probe_seen_fini(&seen[s]);
	free(seen);
	free(pfd);
	free(who);
	return err;
}

/* ---- the end of a run ---- */

/* Per-subscriber (or queue-group) expectations once every publisher is done;
 * returns what the whole group should get (queue) or all of them (no queue). */
static uint64_t set_expected(struct bc_run *run)
{
	const struct load_config *cfg = run->cfg;
	uint64_t *sent = calloc(cfg->subjects, sizeof(*sent));
	if (!sent)
		return ROLES_UNKNOWN;
	for (uint32_t p = 0; p < cfg->pubs; p++)
		topo_add_sent(sent, &run->pubs[p].subj, run->pubs[p].produced);
	uint64_t on_pattern = cfg->sub_subject[0] ? topo_sum_matching(sent, cfg->subjects,
	                                                              cfg->prefix, cfg->sub_subject)
	                                          : 0;
	uint64_t all = 0;
	if (cfg->queue[0]) {
		for (uint32_t k = 0; k < cfg->subjects; k++)
			all += sent[k];
		if (cfg->sub_subject[0])
			all = on_pattern;
	} else {
		for (uint32_t s = 0; s < cfg->subs; s++) {
			struct bc_sub *sub = &run->subs[s];
			sub->expected =
			    cfg->sub_subject[0] ? on_pattern : topo_sum(sent, &sub->subj);
			all += sub->expected;
		}
	}
	free(sent);
	return all;
}

/* True when every subscriber has what it should, or was closed. */
static bool all_delivered(struct bc_run *run, uint64_t group_expected)
{
	const struct load_config *cfg = run->cfg;
	uint64_t got = 0;
	bool all_closed = true;
	for (uint32_t s = 0; s < cfg->subs; s++) {
		struct bc_sub *sub = &run->subs[s];
		uint64_t n = __atomic_load_n(&sub->progress, __ATOMIC_RELAXED);
		bool closed = __atomic_load_n(&sub->closed, __ATOMIC_RELAXED);
		all_closed &= closed;
		got += n;
		if (!cfg->queue[0] && !closed && n < sub->expected)
			return false;
	}
	return !cfg->queue[0] || all_closed || got >= group_expected;
}

/* Fills @res from the joined threads. */
static void collect(struct bc_run *run, struct load_result *res, uint64_t group_expected)
{
	const struct load_config *cfg = run->cfg;
	bool queue = cfg->queue[0] != 0;
	res->recv_kind = "subscriber";
	res->nrecv = cfg->subs;
	res->recv = calloc(cfg->subs ? cfg->subs : 1, sizeof(*res->recv));
	res->per_recv_loss = !queue;
	res->expected = group_expected;
	res->expected_known = group_expected != ROLES_UNKNOWN;
	for (uint32_t p = 0; p < cfg->pubs; p++)
		load_stats_merge(&res->total, &run->pubs[p].stats);
	uint64_t unique = 0;
	for (uint32_t s = 0; s < cfg->subs && res->recv; s++) {
		const struct bc_sub *sub = &run->subs[s];
		struct load_recv_result *r = &res->recv[s];
		load_stats_merge(&res->total, &sub->stats);
		r->id = s;
		r->received = sub->track.c.received;
		r->delivered = track_unique(&sub->track);
		r->dup = sub->track.c.dup;
		r->reorder = sub->track.c.reorder;
		r->expected = sub->expected;
		r->closed = sub->closed;
		if (!queue && r->expected != ROLES_UNKNOWN)
			r->lost = r->expected > r->delivered ? r->expected - r->delivered : 0;
		res->received += r->received;
		res->dup += r->dup;
		res->reorder += r->reorder;
		res->lost += r->lost;
		res->closed += r->closed;
		unique += r->delivered;
	}
	if (queue) /* loss over the group: what no member received */
		res->lost =
		    res->expected_known && res->expected > unique ? res->expected - unique : 0;
	res->stalled = __atomic_load_n(&run->stalled, __ATOMIC_RELAXED);
	res->server_version = cfg->pubs ? run->pubs[0].io.version : "";
}

static int exit_status(const struct load_result *res)
{
	if (res->error)
		return 1;
	if (res->lost || res->dup || res->reorder || res->closed || res->stalled)
		return 4;
	if (res->target_missed)
		return 3;
	return 0;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
	                      .tv_nsec = (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

/* Starts the threads, publishes, drains. Returns the group expectation. */
static uint64_t drive(struct bc_run *run, struct load_result *res)
{
	const struct load_config *cfg = run->cfg;
	for (uint32_t s = 0; s < cfg->subs; s++)
		run->subs[s].started =
		    !pthread_create(&run->subs[s].tid, NULL, bc_sub_main, &run->subs[s]);
	for (uint32_t p = 0; p < cfg->pubs; p++)
		run->pubs[p].started =
		    !pthread_create(&run->pubs[p].tid, NULL, bc_pub_main, &run->pubs[p]);
	run->start_ns = clock_now_ns() + BC_START_DELAY;
	run->measure_ns = run->start_ns + cfg->warmup_ns;
	run->end_ns = cfg->duration_ns ? run->measure_ns + cfg->duration_ns : UINT64_MAX;
	pthread_barrier_wait(&run->go); /* orders the anchors before the threads' reads */
	for (uint32_t p = 0; p < cfg->pubs; p++)
		if (run->pubs[p].started)
			pthread_join(run->pubs[p].tid, NULL);
	uint64_t want = set_expected(run);
	uint64_t deadline = clock_now_ns() + cfg->drain_ns;
	while (!bc_failed(run) && !all_delivered(run, want)) {
		if (clock_now_ns() >= deadline) {
			res->drain_timed_out = true;
			break;
		}
		sleep_ns(BC_TICK_NS);
	}
	__atomic_store_n(&run->stop, 1, __ATOMIC_RELAXED);
	for (uint32_t s = 0; s < cfg->subs; s++)
		if (run->subs[s].started)
			pthread_join(run->subs[s].tid, NULL);
	return want;
}

static void teardown(struct bc_run *run)
{
	const struct load_config *cfg = run->cfg;
	for (uint32_t p = 0; run->pubs && p < cfg->pubs; p++) {
		struct bc_pub *pub = &run->pubs[p];
		bconn_fini(&pub->io);
		load_stats_fini(&pub->stats);
		free(pub->heads);
		free(pub->head_len);
		free(pub->filler);
	}
	for (uint32_t s = 0; run->subs && s < cfg->subs; s++) {
		bconn_fini(&run->subs[s].io);
		track_fini(&run->subs[s].track);
		load_stats_fini(&run->subs[s].stats);
	}
	free(run->pubs);
	free(run->subs);
	hello_targets_fini(run->targets, run->ntargets);
	pthread_mutex_destroy(&run->lock);
}

static int report_all(const struct load_config *cfg, const struct load_result *res)
{
	bool json_stdout = cfg->json_path && !strcmp(cfg->json_path, "-");
	if (!res->error)
		report_summary(json_stdout ? stderr : stdout, cfg, res);
	int err = 0;
	if (cfg->json_path && (err = report_json(cfg->json_path, cfg, res)))
		fprintf(stderr, "ringbus-load-blocking: cannot write %s: %s\n", cfg->json_path,
		        strerror(-err));
	if (!res->error && cfg->hgrm_path && (err = report_hgrm(cfg->hgrm_path, res)))
		fprintf(stderr, "ringbus-load-blocking: cannot write %s: %s\n", cfg->hgrm_path,
		        strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("ringbus-load-blocking %s\n", RINGBUS_VERSION);
		return 0;
	}
	struct load_config cfg;
	int rc = load_flags_parse(&cfg, LOAD_BLOCKING, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	struct bc_run run = {.cfg = &cfg};
	pthread_mutex_init(&run.lock, NULL);
	struct load_result res;
	memset(&res, 0, sizeof(res));
	int status = 1;
	run.pubs = calloc(cfg.pubs, sizeof(*run.pubs));
	run.subs = calloc(cfg.subs ? cfg.subs : 1, sizeof(*run.subs));
	if (!run.pubs || !run.subs || load_stats_init(&res.total)) {
		fprintf(stderr, "ringbus-load-blocking: out of memory\n");
		goto out;
	}
	char why[300];
	int err = hello_targets_init(run.targets, &run.ntargets, &cfg, "ringbus-load-blocking", why,
	                             sizeof(why));
	if (err)
		bc_fail(&run, "%s", why);
	/* Subscribers first: every SUB is in place before anything is published. */
	for (uint32_t s = 0; !err && s < cfg.subs; s++)
		err = open_sub(&run, &run.subs[s], s);
	for (uint32_t p = 0; !err && p < cfg.pubs; p++)
		err = open_pub(&run, &run.pubs[p], p);
	if (!err && cfg.nsub_urls)
		err = wait_interest(&run, &res.interest_wait_s);
	struct rusage r0, r1;
	memset(&r0, 0, sizeof(r0));
	memset(&r1, 0, sizeof(r1));
	uint64_t want = ROLES_UNKNOWN;
	if (!err && pthread_barrier_init(&run.go, NULL, cfg.pubs + cfg.subs + 1) == 0) {
		getrusage(RUSAGE_SELF, &r0);
		want = drive(&run, &res);
		getrusage(RUSAGE_SELF, &r1);
		pthread_barrier_destroy(&run.go);
	} else if (!err) {
		bc_fail(&run, "cannot set up the start barrier");
	}
	if (bc_failed(&run)) {
		if (err == -ENOMEM && !run.error[0])
			bc_fail(&run, "out of memory");
		fprintf(stderr, "ringbus-load-blocking: %s\n", run.error);
		res.error = run.error;
		(void)report_all(&cfg, &res);
		goto out;
	}
	collect(&run, &res, want);
	report_figures(&res, &cfg, run.measure_ns, &r0, &r1);
	status = exit_status(&res);
	if (report_all(&cfg, &res) && !status)
		status = 1;
out:
	free(res.recv);
	load_stats_fini(&res.total);
	teardown(&run);
	return status;
}
