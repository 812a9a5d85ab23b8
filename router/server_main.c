/* The main thread once the server is up: it waits on a signalfd and on the
 * eventfd the other threads write (server_wake_main), with a timeout for
 * what it does on time (malloc_trim, freeing replaced settings). Signals as
 * nats-server takes them:
 *   SIGINT, SIGTERM  graceful stop, exit 0 (nats-server exits 1 on SIGTERM)
 *   SIGHUP           reload (router/server_reload.c)
 *   SIGUSR1          reopen the log file */
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
#include "router/server_int.h"
#include "router/shard.h"

#define SERVER_TICK_MS       100  /* the longest the main thread sleeps */
#define SERVER_DRAIN_MS      5000 /* routing what was read, at most */
#define SERVER_DRAIN_LOOK_MS 10   /* how often the routing is looked at meanwhile */

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

/* ---- the loop ---- */

static void server_trim_maybe(struct server *s)
{
	uint64_t at = atomic_load_explicit(&s->trim_at_ns, memory_order_relaxed);
	if (!at || clock_now_ns() < at || !atomic_compare_exchange_strong(&s->trim_at_ns, &at, 0))
		return;
	uint64_t t0 = clock_now_ns();
	malloc_trim(0);
	log_debug("malloc_trim: %.1f ms", (double)(clock_now_ns() - t0) / 1e6);
}

/* Acts on @sig. Returns true when the server should stop now. */
static bool server_on_signal(struct server *s, int sig)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		log_info("signal %s: stopping gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
		return true;
	case SIGUSR1:
		if (s->cfg.log_file && log_open(s->cfg.log_file) != 0)
			log_error("cannot reopen %s", s->cfg.log_file);
		else
			log_info("SIGUSR1: log file reopened");
		return false;
	case SIGHUP:
		server_reload(s);
		return false;
	default:
		return false;
	}
}

void server_main_loop(struct server *s)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_error("signalfd: %s; stopping", strerror(errno));
		return;
	}
	for (;;) {
		int sig = server_wait(s, sfd, SERVER_TICK_MS);
		if (sig && server_on_signal(s, sig))
			break;
		(void)server_gen_reap(s);
		server_trim_maybe(s);
	}
	server_drain(s, sfd);
	close(sfd);
}
