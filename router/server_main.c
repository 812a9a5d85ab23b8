/* The main thread once the server is up: it waits on a signalfd and on the
 * eventfd the other threads write (server_wake_main), with a timeout for
 * what it does on time (malloc_trim, freeing replaced settings, the steps of
 * lame duck mode, the figures on $SYS.RINGBUS.<id>.STATS). Signals as nats-server takes them:
 *   SIGINT, SIGTERM  graceful stop, exit 0 (nats-server exits 1 on SIGTERM;
 *                    in lame duck mode it ignores SIGTERM, and so does this)
 *   SIGHUP           reload (router/server_reload.c)
 *   SIGUSR1          reopen the log file
 *   SIGUSR2          lame duck mode: stop accepting (the listening sockets
 *                    close), INFO "ldm":true to the clients that take async
 *                    INFO, wait lame_duck_grace_period, close the clients
 *                    one at a time over lame_duck_duration (each after a
 *                    random pause in [1/2, 1) of min((duration - grace) /
 *                    clients, 1 s), as nats-server), then stop, exit 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "router/iothr.h"
#include "router/monitor/sys_stats.h"
#include "router/server_int.h"
#include "router/shard.h"

#define SERVER_TICK_MS       100  /* the longest the main thread sleeps */
#define SERVER_DRAIN_MS      5000 /* routing what was read, at most */
#define SERVER_DRAIN_LOOK_MS 10   /* how often the routing is looked at meanwhile */

/* Lame duck mode's steps, on the main thread. */
enum ldm_step {
	LDM_OFF = 0,
	LDM_STOPPING, /* waiting for the I/O threads to stop accepting */
	LDM_GRACE,    /* clients told; closing starts at @next_ns */
	LDM_CLOSING,  /* closing @batch clients at each @next_ns */
	LDM_DONE,     /* every client closed: stop */
};

struct ldm {
	enum ldm_step step;
	uint64_t next_ns;
	uint64_t interval_ns; /* nats-server's si */
	uint32_t batch;
	uint32_t left; /* clients still to close */
};

static uint64_t server_conns_open(struct server *s)
{
	uint64_t n = 0;
	for (int i = 0; i < s->nio; i++)
		n += atomic_load(&s->io[i].conns_open);
	return n;
}

/* Waits for a signal, a wake-up by another thread, or @timeout_ms (at most
 * SERVER_TICK_MS). Returns the signal, or 0. */
static int server_wait(struct server *s, int sfd, int64_t timeout_ms)
{
	struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = s->main_efd, .events = POLLIN}};
	if (timeout_ms < 0)
		timeout_ms = 0;
	int n = poll(p, 2, timeout_ms > SERVER_TICK_MS ? SERVER_TICK_MS : (int)timeout_ms);
	if (n > 0 && (p[1].revents & POLLIN)) {
		uint64_t v;
		ssize_t r = read(s->main_efd, &v, sizeof(v));
		(void)r;
	}
	if (n > 0 && (p[0].revents & POLLIN)) {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
	}
	return 0;
}

/* ---- the graceful stop ---- */

/* True when no message is queued or being routed anywhere. */
static bool server_quiet(struct server *s)
{
	for (int i = 0; i < s->nshards; i++)
		if (shard_has_work(&s->shards[i]) || atomic_load(&s->shards[i].claimed))
			return false;
	for (int i = 0; i < s->nio; i++)
		if (ring_count(&s->io[i].in) || atomic_load(&s->io[i].busy))
			return false;
	return true;
}

/* Stop reading, let what was read be routed and delivered, then close every
 * connection once its output is sent. Each step is bounded (SERVER_DRAIN_MS,
 * then shutdown_timeout). */
static void server_drain(struct server *s, int sfd)
{
	atomic_store(&s->phase, SERVER_DRAINING);
	server_wake_all(s);
	/* A poll, kept on purpose: "nothing routed anywhere" is a property of
	 * every shard's and I/O thread's counters together, which no single
	 * thread could announce; it is looked at every few ms, a bounded while. */
	int quiet = 0;
	for (int ms = 0; ms < SERVER_DRAIN_MS && quiet < 3; ms += SERVER_DRAIN_LOOK_MS) {
		struct timespec ts = {.tv_nsec = SERVER_DRAIN_LOOK_MS * 1000000L};
		nanosleep(&ts, NULL);
		quiet = server_quiet(s) ? quiet + 1 : 0;
		server_wake_all(s);
	}
	if (quiet < 3)
		log_warn("stop: messages still being routed after %d ms; closing anyway",
		         SERVER_DRAIN_MS);
	atomic_store(&s->phase, SERVER_CLOSING);
	server_wake_all(s);
	/* Each I/O thread wakes this one when its last connection closed. */
	uint64_t end = clock_now_ns() + (uint64_t)s->cfg.shutdown_timeout_ms * 1000000u, now;
	uint64_t left;
	while ((left = server_conns_open(s)) != 0 && (now = clock_now_ns()) < end)
		(void)server_wait(s, sfd, (int64_t)((end - now) / 1000000u) + 1);
	if (left)
		log_warn("stop: %llu connections still sending after %u ms; dropping them",
		         (unsigned long long)left, s->cfg.shutdown_timeout_ms);
	else
		log_info("stop: every connection's output was sent");
}

/* ---- lame duck mode ---- */

static void server_ldm_start(struct server *s, struct ldm *l)
{
	log_info("Entering lame duck mode, stop accepting new clients");
	l->step = LDM_STOPPING;
	atomic_store(&s->phase, SERVER_LAME_DUCK);
	server_wake_all(s);
}

/* Every I/O thread has stopped accepting and told its clients: plan the
 * closing as nats-server does. */
static void server_ldm_plan(struct server *s, struct ldm *l, uint64_t now)
{
	uint32_t n = atomic_load(&s->nclients);
	if (n == 0) {
		l->step = LDM_DONE;
		return;
	}
	uint64_t grace = (uint64_t)s->cfg.lame_duck_grace_ms * 1000000u;
	int64_t dur = (int64_t)s->cfg.lame_duck_duration_ms * 1000000 - (int64_t)grace;
	if (dur <= 0)
		dur = 1000000000;
	uint64_t si = (uint64_t)dur / n;
	l->batch = 1;
	if (si < 1000000) { /* more clients than milliseconds: close in batches */
		l->batch = (uint32_t)((1000000 + si - 1) / (si ? si : 1));
		si = 1000000;
	} else if (si > 1000000000) {
		si = 1000000000; /* no need to wait more than a second between two */
	}
	l->interval_ns = si;
	l->left = n;
	l->step = LDM_GRACE;
	l->next_ns = now + grace;
}

/* Asks the I/O thread with the most connections to close @n of them now. */
static void server_ldm_close(struct server *s, uint32_t n)
{
	struct iothr *most = &s->io[0];
	for (int i = 1; i < s->nio; i++)
		if (atomic_load(&s->io[i].conns_open) > atomic_load(&most->conns_open))
			most = &s->io[i];
	/* release: ldm_tell (set before) is seen with it (iothr_phase) */
	atomic_fetch_add_explicit(&most->ldm_close, n, memory_order_release);
	uint64_t one = 1;
	ssize_t w = write(wake_fd(&most->wake), &one, sizeof(one));
	(void)w;
}

/* One step of lame duck mode, when its time has come. */
static void server_ldm_step(struct server *s, struct ldm *l, uint64_t now)
{
	if (l->step == LDM_STOPPING) {
		for (int i = 0; i < s->nio; i++)
			if (!atomic_load_explicit(&s->io[i].ldm_ready, memory_order_acquire))
				return;
		/* No thread accepts any more: the clients may be told. */
		atomic_store(&s->ldm_tell, true);
		server_wake_all(s);
		server_ldm_plan(s, l, now);
		return;
	}
	if (l->step == LDM_DONE)
		return;
	/* Every client has gone elsewhere on its own (they were told): nothing
	 * is left to wait for. nats-server waits out the grace regardless. */
	if (server_conns_open(s) == 0) {
		l->step = LDM_DONE;
		return;
	}
	if (now < l->next_ns)
		return;
	if (l->step == LDM_GRACE) {
		log_info("Closing existing clients");
		l->step = LDM_CLOSING;
	}
	uint32_t n = l->batch < l->left ? l->batch : l->left;
	server_ldm_close(s, n);
	l->left -= n;
	if (l->left == 0 || server_conns_open(s) == 0) {
		l->step = LDM_DONE;
		return;
	}
	/* A random pause in [si/2, si) */
	uint64_t half = l->interval_ns / 2;
	l->next_ns =
	    now + half + (uint64_t)random() % (l->interval_ns - half ? l->interval_ns - half : 1);
}

/* ---- the loop ---- */

static void server_trim_maybe(struct server *s)
{
	uint64_t at = atomic_load_explicit(&s->trim_at_ns, memory_order_relaxed);
	if (!at || clock_now_ns() < at || !atomic_compare_exchange_strong(&s->trim_at_ns, &at, 0))
		return;
	uint64_t t0 = clock_now_ns();
	malloc_trim(0);
	/* Back to keeping freed memory, unless a mass free is under way: one
	 * that began meanwhile lowers it again (it counts itself first). */
	if (atomic_load(&s->freeing) == 0) {
		mallopt(M_TRIM_THRESHOLD, (int)SERVER_ARENA_KEEP);
		if (atomic_load(&s->freeing) != 0)
			mallopt(M_TRIM_THRESHOLD, (int)SERVER_ARENA_KEEP_FREEING);
	}
	log_debug("malloc_trim: %.1f ms", (double)(clock_now_ns() - t0) / 1e6);
}

/* Acts on @sig. Returns true when the server should stop now. */
static bool server_on_signal(struct server *s, struct ldm *l, int sig)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		if (sig == SIGTERM && l->step != LDM_OFF) {
			log_info("signal SIGTERM: ignored in lame duck mode (as nats-server)");
			return false;
		}
		log_info("signal %s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
		return true;
	case SIGUSR1:
		if (s->cfg.log_file && log_open(s->cfg.log_file) != 0)
			log_error("cannot reopen %s", s->cfg.log_file);
		else
			log_info("SIGUSR1: log file reopened");
		return false;
	case SIGUSR2:
		if (l->step == LDM_OFF)
			server_ldm_start(s, l);
		return false;
	case SIGHUP:
		server_reload(s);
		return false;
	default:
		return false;
	}
}

void server_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

void server_block_signals(void)
{
	sigset_t set;
	server_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void server_main_loop(struct server *s)
{
	sigset_t set;
	server_signal_set(&set);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_error("signalfd: %s; stopping", strerror(errno));
		return;
	}
	struct ldm l = {0};
	/* The $SYS figures are collected here rather than on a thread of their
	 * own: this loop already wakes on time, is no I/O thread (so it may
	 * wait for their answers, stats_collect()) and has nothing urgent to do
	 * meanwhile; a collection takes microseconds to a few milliseconds, and
	 * at most 1 s when an I/O thread does not answer, which then delays a
	 * signal by as much, never loses it. One more thread would need its own
	 * start, stop and wake-up for nothing more. */
	struct sys_stats_timer stats;
	sys_stats_timer_init(&stats, s->cfg.stats_interval_ms, clock_now_ns());
	for (;;) {
		uint64_t now = clock_now_ns();
		int64_t wait = SERVER_TICK_MS;
		if (l.step == LDM_GRACE || l.step == LDM_CLOSING)
			wait = l.next_ns > now ? (int64_t)((l.next_ns - now) / 1000000u) + 1 : 0;
		int64_t due = sys_stats_timer_wait_ms(&stats, now);
		if (due < wait)
			wait = due;
		int sig = server_wait(s, sfd, wait);
		if (sig && server_on_signal(s, &l, sig))
			break;
		if (l.step != LDM_OFF)
			server_ldm_step(s, &l, clock_now_ns());
		if (l.step == LDM_DONE) {
			log_info("lame duck mode: every client closed; stopping");
			break;
		}
		(void)server_gen_reap(s);
		server_trim_maybe(s);
		sys_stats_tick(s, &stats, clock_now_ns());
	}
	server_drain(s, sfd);
	close(sfd);
}
