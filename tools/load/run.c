/* ringbus-load's main-thread orchestration: set-up, the phases of a run,
 * progress, the end conditions, and the figures handed to the reports. */
#include "tools/load/run.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/clock.h"
#include "tools/load/hello.h"
#include "tools/load/probe.h"
#include "tools/load/report.h"
#include "tools/load/roles.h"

#define RUN_TICK_NS     10000000u /* main thread's polling period */
#define RUN_START_DELAY 2000000u  /* schedules start this long after the go */

void run_fail(struct load_run *run, const char *fmt, ...)
{
	pthread_mutex_lock(&run->lock);
	if (!run->error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->error, sizeof(run->error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&run->lock);
	__atomic_store_n(&run->failed, true, __ATOMIC_RELEASE); /* pairs with run_failed */
}

static void set_phase(struct load_run *run, enum load_phase phase)
{
	__atomic_store_n(&run->phase, (int)phase, __ATOMIC_RELEASE); /* pairs with run_phase */
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
	                      .tv_nsec = (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

static int resolve(struct load_run *run)
{
	char err[300];
	int rc = hello_targets_init(run->targets, &run->ntargets, run->cfg, "ringbus-load", err,
	                            sizeof(err));
	if (rc)
		fprintf(stderr, "ringbus-load: %s\n", err);
	return rc;
}

static void raise_nofile(uint64_t need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Sums the threads' snapshots; merges latency into @lat when given. */
static void snapshot_sum(struct load_run *run, uint64_t *sent, uint64_t *delivered,
                         struct hist *lat)
{
	*sent = *delivered = 0;
	if (lat)
		hist_reset(lat);
	for (uint32_t i = 0; i < run->nthreads; i++) {
		struct load_thread *t = &run->threads[i];
		pthread_mutex_lock(&t->snap_lock);
		*sent += t->snap.sent;
		*delivered += t->snap.delivered;
		if (lat)
			(void)!hist_add(lat, &t->snap.lat);
		pthread_mutex_unlock(&t->snap_lock);
	}
}

static const struct load_mode_ops *mode_ops(const struct load_config *cfg)
{
	return cfg->mode == LOAD_REQREP ? &reqrep_mode_ops : &pubsub_mode_ops;
}

/* Creates the threads' loops and hands out the connections round-robin. */
static int build_threads(struct load_run *run)
{
	const struct load_mode_ops *mops = mode_ops(run->cfg);
	static const enum load_role order[] = {ROLE_SUB, ROLE_REP, ROLE_PUB, ROLE_REQ};
	uint32_t n = run->cfg->threads;
	run->threads = calloc(n, sizeof(*run->threads));
	uint32_t *per = calloc(n, sizeof(*per));
	int err = (!run->threads || !per) ? -ENOMEM : 0;
	for (uint32_t i = 0; !err && i < run->nconns; i++)
		per[i % n]++;
	for (uint32_t i = 0; !err && i < n; i++) {
		err = loop_thread_init(&run->threads[i], run, i, per[i]);
		if (!err)
			run->nthreads++;
		per[i] = 0;
	}
	uint32_t next = 0;
	for (size_t r = 0; !err && r < RB_ARRAY_LEN(order); r++) {
		uint32_t count = mops->count(run, order[r]);
		for (uint32_t i = 0; !err && i < count; i++, next++) {
			struct load_thread *t = &run->threads[next % n];
			struct load_conn *c = &t->conns[per[next % n]++];
			c->target = order[r] == ROLE_SUB
			                ? hello_sub_target(run->targets, run->cfg, i)
			                : &run->targets[0];
			err = mops->attach(run, c, order[r], i);
		}
	}
	free(per);
	if (err)
		fprintf(stderr, "ringbus-load: set-up failed: %s\n", strerror(-err));
	return err;
}

static int wait_ready(struct load_run *run)
{
	uint64_t deadline = clock_now_ns() + run->cfg->connect_timeout_ns;
	while (!run_failed(run)) {
		if (__atomic_load_n(&run->ready, __ATOMIC_ACQUIRE) >= run->nconns)
			return 0;
		if (clock_now_ns() > deadline) {
			run_fail(run, "timed out: %u of %u connections to %s ready after %.1f s",
			         __atomic_load_n(&run->ready, __ATOMIC_ACQUIRE), run->nconns,
			         run->cfg->url_shown, (double)run->cfg->connect_timeout_ns / 1e9);
			return -ETIMEDOUT;
		}
		sleep_ns(1000000);
	}
	return -EIO;
}

/* With --sub-url: lets the publishers probe until every subscriber has had a
 * probe on each of its subjects, i.e. its interest has reached the
 * publishers' server. Returns 0, or -ETIMEDOUT / -EIO with the run failed. */
static int wait_interest(struct load_run *run, double *waited_s)
{
	const struct load_config *cfg = run->cfg;
	uint64_t t0 = clock_now_ns(), deadline = t0 + cfg->connect_timeout_ns;
	set_phase(run, PHASE_PROBE);
	while (!run_failed(run)) {
		uint32_t got = __atomic_load_n(&run->probed, __ATOMIC_ACQUIRE);
		if (got >= cfg->subs) {
			*waited_s = (double)(clock_now_ns() - t0) / 1e9;
			return 0;
		}
		if (clock_now_ns() > deadline) {
			run_fail(
			    run,
			    "interest did not cross: %u of %u subscribers had probes from the "
			    "publishers on %s after %.1f s (are --url and --sub-url one cluster?)",
			    got, cfg->subs, cfg->url_shown, (double)cfg->connect_timeout_ns / 1e9);
			return -ETIMEDOUT;
		}
		sleep_ns(1000000);
	}
	return -EIO;
}

/* Main-thread view of a run in progress. */
struct watch {
	uint64_t last_print;
	uint64_t last_sent, last_delivered;
	uint64_t last_change; /* the last time sent + delivered moved */
	uint64_t last_total;
	struct hist lat;
};

/* Polls the snapshots: prints progress, notes stalls. Returns sent and
 * delivered so far. */
static void watch_tick(struct load_run *run, struct watch *w, uint64_t now, uint64_t *sent,
                       uint64_t *delivered)
{
	bool print = run->cfg->progress && now >= w->last_print + 1000000000u;
	snapshot_sum(run, sent, delivered, print ? &w->lat : NULL);
	if (*sent + *delivered != w->last_total) {
		w->last_total = *sent + *delivered;
		w->last_change = now;
	}
	if (print) {
		double dt = (double)(now - w->last_print) / 1e9;
		report_progress(stderr, (double)(now - run->start_ns) / 1e9, *sent, *delivered,
		                (double)(*sent - w->last_sent) / dt,
		                (double)(*delivered - w->last_delivered) / dt, &w->lat);
		w->last_print = now;
		w->last_sent = *sent;
		w->last_delivered = *delivered;
	}
}

/* Runs PHASE_RUN and PHASE_DRAIN to their end. */
static void drive(struct load_run *run, struct load_result *res)
{
	const struct load_config *cfg = run->cfg;
	const struct load_mode_ops *mops = mode_ops(cfg);
	struct watch w = {.last_print = run->start_ns, .last_change = run->start_ns};
	if (hist_init(&w.lat, 1, STATS_HIST_MAX_NS, STATS_HIST_DIGITS))
		return;
	uint64_t sent = 0, delivered = 0;
	uint64_t want = mops->expected(run); /* known up front only for sub --msgs */
	for (;;) {
		sleep_ns(RUN_TICK_NS);
		uint64_t now = clock_now_ns();
		watch_tick(run, &w, now, &sent, &delivered);
		if (run_failed(run))
			goto out;
		if (run->nsenders &&
		    __atomic_load_n(&run->senders_done, __ATOMIC_ACQUIRE) >= run->nsenders)
			break;
		if (!run->nsenders) { /* sub: ends by time, count or silence */
			if (cfg->duration_ns && now >= run->measure_ns + cfg->duration_ns)
				break;
			if (want != ROLES_UNKNOWN && delivered >= want)
				break;
			if (now >= w.last_change + cfg->idle_ns)
				break;
			continue;
		}
		if (now >= w.last_change + cfg->drain_ns) {
			res->stalled = true;
			goto out;
		}
	}
	set_phase(run, PHASE_DRAIN);
	if (run->nsenders) {
		want = mops->expected(run);
		uint64_t deadline = clock_now_ns() + cfg->drain_ns;
		while (!run_failed(run) && delivered < want) {
			uint64_t now = clock_now_ns();
			if (now >= deadline) {
				res->drain_timed_out = true;
				break;
			}
			sleep_ns(RUN_TICK_NS);
			watch_tick(run, &w, now, &sent, &delivered);
		}
	}
out:
	hist_fini(&w.lat);
}

static int exit_status(const struct load_result *res)
{
	if (res->error)
		return 1;
	if (res->lost || res->dup || res->stalled)
		return 4;
	if (res->target_missed)
		return 3;
	return 0;
}

static void teardown(struct load_run *run)
{
	for (uint32_t i = 0; i < run->nthreads; i++)
		loop_thread_fini(&run->threads[i]);
	free(run->threads);
	mode_ops(run->cfg)->release(run);
	hello_targets_fini(run->targets, run->ntargets);
	pthread_mutex_destroy(&run->lock);
}

static int report_all(const struct load_config *cfg, const struct load_result *res)
{
	bool json_stdout = cfg->json_path && !strcmp(cfg->json_path, "-");
	report_summary(json_stdout ? stderr : stdout, cfg, res);
	int err = 0;
	if (cfg->json_path && (err = report_json(cfg->json_path, cfg, res)))
		fprintf(stderr, "ringbus-load: cannot write %s: %s\n", cfg->json_path,
		        strerror(-err));
	if (cfg->hgrm_path && (err = report_hgrm(cfg->hgrm_path, res)))
		fprintf(stderr, "ringbus-load: cannot write %s: %s\n", cfg->hgrm_path,
		        strerror(-err));
	return err;
}

int run_main(const struct load_config *cfg)
{
	const struct load_mode_ops *mops = mode_ops(cfg);
	struct load_run run;
	memset(&run, 0, sizeof(run));
	run.cfg = cfg;
	run.end_ns = UINT64_MAX;
	pthread_mutex_init(&run.lock, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct load_result res;
	memset(&res, 0, sizeof(res));
	int status = 1;
	if (resolve(&run) || mops->prepare(&run))
		goto out_teardown;
	run.nsenders = mops->count(&run, ROLE_PUB) + mops->count(&run, ROLE_REQ);
	for (enum load_role r = ROLE_PUB; r <= ROLE_REP; r++)
		run.nconns += mops->count(&run, r);
	raise_nofile((uint64_t)run.nconns + 64);
	if (build_threads(&run) || load_stats_init(&res.total))
		goto out_teardown;

	uint32_t started = 0;
	for (; started < run.nthreads; started++)
		if (pthread_create(&run.threads[started].tid, NULL, loop_thread_main,
		                   &run.threads[started])) {
			run_fail(&run, "cannot start thread %u", started);
			break;
		}
	struct rusage r0, r1;
	memset(&r0, 0, sizeof(r0));
	memset(&r1, 0, sizeof(r1));
	bool probe = cfg->nsub_urls && cfg->mode == LOAD_PUBSUB;
	if (!wait_ready(&run) && (!probe || !wait_interest(&run, &res.interest_wait_s))) {
		/* a probing publisher may sleep up to PROBE_EVERY_NS: it wakes
		 * before the schedules start */
		uint64_t now = clock_now_ns();
		run.start_ns = now + RUN_START_DELAY + (probe ? PROBE_EVERY_NS : 0);
		run.measure_ns = run.start_ns + cfg->warmup_ns;
		if (cfg->duration_ns && cfg->mode != LOAD_SUB)
			run.end_ns = run.measure_ns + cfg->duration_ns;
		getrusage(RUSAGE_SELF, &r0);
		set_phase(&run, PHASE_RUN);
		drive(&run, &res);
		getrusage(RUSAGE_SELF, &r1);
	}
	set_phase(&run, PHASE_STOP);
	for (uint32_t i = 0; i < started; i++)
		pthread_join(run.threads[i].tid, NULL);

	if (run_failed(&run)) {
		fprintf(stderr, "ringbus-load: %s\n", run.error);
		res.error = run.error;
		if (cfg->json_path)
			(void)!report_json(cfg->json_path, cfg, &res);
		goto out_teardown;
	}
	for (uint32_t i = 0; i < run.nthreads; i++)
		load_stats_merge(&res.total, &run.threads[i].stats);
	mops->collect(&run, &res);
	res.server_version = run.server.version;
	report_figures(&res, cfg, run.measure_ns, &r0, &r1);
	status = exit_status(&res);
	if (report_all(cfg, &res) && !status)
		status = 1;

out_teardown:
	free(res.recv);
	load_stats_fini(&res.total);
	teardown(&run);
	return status;
}
