/* Server assembly: listening sockets, shards, workers, I/O threads, signals,
 * and an orderly stop. */
#define _GNU_SOURCE
#include "router/server.h"

#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/pin.h"
#include "io/loop/loop.h"
#include "router/admission.h"
#include "router/auth.h"
#include "router/client.h"
#include "router/iothr.h"
#include "router/monitor/monitor.h"
#include "router/shard.h"
#include "router/tls_glue.h"
#include "router/worker.h"

#define SERVER_SHARD_RING  4096
#define SERVER_IO_RING     4096
#define SERVER_STREAM_RING 1024 /* a shard's results for one I/O thread */
#define SERVER_TICK_MS     100  /* subscribers holding publishers are checked this often */
#define SERVER_DRAIN_MS    5000 /* routing what was read, at most */

static int server_listen(const struct config *cfg, int *out)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	char port[16];
	snprintf(port, sizeof(port), "%d", cfg->port);
	int ret = getaddrinfo(cfg->host, port, &hints, &res);
	if (ret) {
		log_error("cannot resolve listen address %s: %s", cfg->host, gai_strerror(ret));
		return -EINVAL;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_error("cannot listen on %s:%d: %s", cfg->host, cfg->port, strerror(err));
		return -err;
	}
	*out = fd;
	return 0;
}

/* ---- what the shards need of the server (struct shard_env) ---- */

static void server_env_wake_io(void *ctx, int io)
{
	struct server *s = ctx;
	wake_notify(&s->io[io].wake);
}

static void server_env_marks_cleared(void *ctx)
{
	struct server *s = ctx;
	/* Publishers paused for the shard wait in their I/O threads. */
	for (int i = 0; i < s->nio; i++)
		wake_notify(&s->io[i].wake);
}

static void server_env_want_trim(void *ctx)
{
	server_want_trim(ctx);
}

static void server_env_low_marks(void *ctx, uint64_t *bytes, uint64_t *msgs)
{
	const struct admission *a = server_adm(ctx);
	*bytes = a->shard_low;
	*msgs = a->shard_low_msgs;
}

static void server_make_id(struct server *s)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char rnd[22];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 7, sizeof(rnd));
	s->server_id[0] = 'N';
	for (size_t i = 0; i < sizeof(rnd); i++)
		s->server_id[i + 1] = alphabet[rnd[i] & 31];
	s->server_id[sizeof(rnd) + 1] = 0;
	snprintf(s->server_name, sizeof(s->server_name), "%s", s->server_id);
}

static void server_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open files limit: %s", strerror(errno));
	}
}

static void server_live_free(struct live *lv)
{
	if (lv) {
		auth_free(lv->auth);
		free(lv);
	}
}

/* The reloadable settings of @c. NULL when out of memory or a user entry is
 * invalid (logged). */
static struct live *server_make_live(const struct config *c)
{
	struct live *lv = calloc(1, sizeof(*lv));
	if (!lv)
		return NULL;
	lv->auth = auth_new();
	if (!lv->auth)
		goto err;
	if (c->user && auth_add_user(lv->auth, c->user, c->pass))
		goto err;
	if (c->token && auth_set_token(lv->auth, c->token))
		goto err;
	for (int i = 0; i < c->nusers; i++)
		if (auth_add_user(lv->auth, c->users[2 * i], c->users[2 * i + 1])) {
			log_error("[users]: invalid entry '%s'", c->users[2 * i]);
			goto err;
		}
	lv->max_payload = c->max_payload;
	lv->max_connections = c->max_connections;
	lv->max_subscriptions = c->max_subscriptions;
	lv->ping_interval_ms = c->ping_interval_ms;
	lv->ping_max = c->ping_max;
	lv->auth_timeout_ms = c->auth_timeout_ms;
	lv->inline_max = c->inline_max;
	return lv;
err:
	server_live_free(lv);
	return NULL;
}

void server_set_args(struct server *s, int argc, char **argv)
{
	s->argc = argc;
	s->argv = argv;
}

/* Logs a setting that a reload cannot change. */
static void server_reload_fixed(const char *name, long long was, long long now)
{
	if (was != now)
		log_warn("reload: %s %lld -> %lld needs a restart; keeping %lld", name, was, now,
		         was);
}

/* SIGHUP: reads the configuration again (file, then the same command line)
 * and applies what can change without dropping connections: admission
 * policies, authentication, limits for new connections, ping settings,
 * logging. */
/* A problem found while reading the settings again: in the log with
 * everything else, not on stderr (which a daemon's log file is not). */
static void server_reload_problem(const char *problem)
{
	log_error("reload: %s", problem);
}

static void server_reload(struct server *s)
{
	if (!s->cfg.config_file) {
		/* nats-server: "can only reload config when a file is provided
		 * using -c or --config"; the command line has not changed. */
		log_error("reload: ringbus was started without a configuration file (-c FILE): "
		          "nothing to reload");
		return;
	}
	struct config c;
	config_init(&c);
	c.report = server_reload_problem;
	if (!s->argv || config_parse_args(&c, s->argc, s->argv) != 0 || config_validate(&c) != 0) {
		log_error("reload: the configuration is invalid; nothing changed");
		config_fini(&c);
		return;
	}
	struct admission *adm = NULL;
	struct live *lv = NULL;
	if (admission_new(c.adm, c.report, &adm) != 0 || !(lv = server_make_live(&c))) {
		log_error("reload: cannot build the new settings; nothing changed");
		admission_free(adm);
		config_fini(&c);
		return;
	}
	if (s->nretired == (int)RB_ARRAY_LEN(s->retired_adm)) {
		log_error("reload: too many reloads since start; restart to reload again");
		admission_free(adm);
		server_live_free(lv);
		config_fini(&c);
		return;
	}
	const struct live *old = server_live(s);
	server_reload_fixed("io_threads", s->cfg.io_threads, c.io_threads);
	server_reload_fixed("workers", s->cfg.workers, c.workers);
	server_reload_fixed("shards", s->cfg.shards, c.shards);
	server_reload_fixed("port", s->cfg.port, c.port);
	if (old->max_payload != lv->max_payload)
		log_info("reload: max_payload %u -> %u (new connections)", old->max_payload,
		         lv->max_payload);
	if (old->max_connections != lv->max_connections)
		log_info("reload: max_connections %u -> %u", old->max_connections,
		         lv->max_connections);
	if (old->ping_interval_ms != lv->ping_interval_ms || old->ping_max != lv->ping_max)
		log_info("reload: ping every %u ms (max %u) -> %u ms (max %u)",
		         old->ping_interval_ms, old->ping_max, lv->ping_interval_ms, lv->ping_max);
	if (auth_required(old->auth) != auth_required(lv->auth) ||
	    auth_nusers(old->auth) != auth_nusers(lv->auth))
		log_info("reload: authentication %s, %d users -> %s, %d users",
		         auth_required(old->auth) ? "on" : "off", auth_nusers(old->auth),
		         auth_required(lv->auth) ? "on" : "off", auth_nusers(lv->auth));
	else
		log_info("reload: authentication unchanged (%d users%s)", auth_nusers(lv->auth),
		         auth_required(lv->auth) ? "" : ", off");
	enum log_level level = c.trace ? LOG_TRACE : c.debug ? LOG_DEBUG : LOG_INFO;
	if (level != log_get_level()) {
		log_info("reload: log level %d -> %d", (int)log_get_level(), (int)level);
		log_set_level(level);
	}
	admission_log(adm);

	/* release: the new settings are complete before anyone can see them */
	s->retired_adm[s->nretired] = atomic_exchange_explicit(&s->adm, adm, memory_order_acq_rel);
	s->retired_live[s->nretired] = atomic_exchange_explicit(&s->live, lv, memory_order_acq_rel);
	s->nretired++;
	config_fini(&c);
	log_info("reload: done");
}

int server_new(struct config *cfg, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg)); /* taken */
	s->nio = s->cfg.io_threads;
	s->nworkers = s->cfg.workers;
	s->nshards = s->cfg.shards;
	atomic_init(&s->stop, false);
	atomic_init(&s->proc_over, false);
	s->start_wall_ns = clock_wall_ns();
	server_make_id(s);
	server_raise_nofile();

	struct admission *adm = NULL;
	int ret = admission_new(s->cfg.adm, s->cfg.report, &adm);
	if (ret) {
		config_fini(&s->cfg);
		free(s);
		return ret;
	}
	atomic_init(&s->adm, adm);
	admission_log(adm);
	struct live *lv = server_make_live(&s->cfg);
	if (!lv) {
		admission_free(adm);
		config_fini(&s->cfg);
		free(s);
		return -ENOMEM;
	}
	atomic_init(&s->live, lv);
	ret = -ENOMEM;
	s->shards = calloc((size_t)s->nshards, sizeof(*s->shards));
	s->workers = calloc((size_t)s->nworkers, sizeof(*s->workers));
	s->io = calloc((size_t)s->nio, sizeof(*s->io));
	if (!s->shards || !s->workers || !s->io)
		goto err;
	/* Mark every descriptor unopened first, so server_free() can undo a
	 * partial start. */
	for (int i = 0; i < s->nworkers; i++)
		s->workers[i].wake.efd = -1;
	for (int i = 0; i < s->nio; i++) {
		s->io[i].wake.efd = -1;
		s->io[i].listen_fd = -1;
	}

	for (int i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];
		w->index = i;
		w->stop = &s->stop;
		w->spin_ns = (uint64_t)s->cfg.spin_us * 1000u;
		w->pin_cpu = s->cfg.pin ? s->nio + i : -1;
		w->shards = calloc((size_t)s->nshards, sizeof(*w->shards));
		if (!w->shards)
			goto err;
		ret = wake_init(&w->wake, false);
		if (ret)
			goto err;
	}
	const struct shard_env env = {
	    .ctx = s,
	    .nio = s->nio,
	    .wake_io = server_env_wake_io,
	    .marks_cleared = server_env_marks_cleared,
	    .want_trim = server_env_want_trim,
	    .low_marks = server_env_low_marks,
	};
	for (int i = 0; i < s->nshards; i++) {
		struct worker *w = &s->workers[i % s->nworkers];
		w->shards[w->nshards++] = &s->shards[i];
		ret = shard_init(&s->shards[i], i, &env, &w->wake, SERVER_SHARD_RING,
		                 SERVER_STREAM_RING);
		if (ret)
			goto err;
	}
	for (int i = 0; i < s->nio; i++) {
		struct iothr *t = &s->io[i];
		ret = iothr_init(t, s, i, s->nshards, s->nio);
		if (ret)
			goto err;
		ret = wake_init(&t->wake, true);
		if (ret)
			goto err;
		ret = ring_init(&t->in, SERVER_IO_RING);
		if (ret)
			goto err;
		ret = server_listen(&s->cfg, &t->listen_fd);
		if (ret)
			goto err;
	}
	ret = tls_glue_start(s);
	if (ret)
		goto err;
	*out = s;
	return 0;
err:
	if (ret == -ENOMEM)
		log_error("out of memory while starting");
	server_free(s);
	return ret;
}

static void *iothr_main(void *arg)
{
	struct iothr *t = arg;
	struct server *s = t->srv;
	if (s->cfg.pin) {
		int ret = pin_self(t->index);
		if (ret)
			log_warn("io[%d]: cannot pin: %s", t->index, strerror(-ret));
	}
	struct io_loop_config lc = {
	    .index = t->index,
	    .listen_fd = t->listen_fd,
	    .buf_count = s->cfg.buf_count,
	    .buf_size = s->cfg.buf_size,
	    /* The router applies max_pending itself (a deferring subscriber
	     * that still drains may go above it); this is the last resort. */
	    .max_pending = IO_MAX_PENDING_LIMIT,
	    .spin_us = s->cfg.spin_us,
	    .close_linger_ms = s->cfg.shutdown_timeout_ms,
	    .tick_ms = SERVER_TICK_MS,
	    .wake = &t->wake,
	    .stop = &s->stop,
	    .ops = &iothr_io_ops,
	    .ctx = t,
	    .on_accept_fd = s->tls ? tls_glue_on_accept : NULL,
	};
	t->start_ret = io_loop_new(&lc, &t->loop);
	atomic_store(&t->ready, true);
	if (t->start_ret)
		return NULL;
	if (t->index == 0)
		log_info("io_uring: %s, multishot accept and recv, provided buffers %u x %u",
		         io_loop_features(t->loop), s->cfg.buf_count, s->cfg.buf_size);
	int ret = io_loop_run(t->loop);
	if (ret) {
		log_error("io[%d]: stopped: %s", t->index, strerror(-ret));
		server_stop(s);
	}
	/* Wait for the stop so no runner pushes into a loop that is gone. */
	while (!atomic_load(&s->stop))
		usleep(1000);
	tls_glue_stop(s); /* after it, no TLS connection is handed to this loop */
	io_loop_free(t->loop);
	t->loop = NULL;
	return NULL;
}

static void server_trim(void)
{
	uint64_t t0 = clock_now_ns();
	malloc_trim(0);
	log_debug("malloc_trim: %.1f ms", (double)(clock_now_ns() - t0) / 1e6);
}

static void server_wake_all(struct server *s)
{
	uint64_t one = 1;
	for (int i = 0; i < s->nio; i++) {
		ssize_t n = write(wake_fd(&s->io[i].wake), &one, sizeof(one));
		(void)n;
	}
}

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

static uint64_t server_conns_open(struct server *s)
{
	uint64_t n = 0;
	for (int i = 0; i < s->nio; i++)
		n += atomic_load(&s->io[i].conns_open);
	return n;
}

/* The graceful stop: stop reading, let what was read be routed and
 * delivered, then close every connection once its output is sent. Each step
 * is bounded (SERVER_DRAIN_MS, then shutdown_timeout). */
static void server_drain(struct server *s)
{
	atomic_store(&s->phase, SERVER_DRAINING);
	server_wake_all(s);
	int quiet = 0;
	for (int ms = 0; ms < SERVER_DRAIN_MS && quiet < 3; ms += 10) {
		usleep(10000);
		quiet = server_quiet(s) ? quiet + 1 : 0;
		server_wake_all(s);
	}
	if (quiet < 3)
		log_warn("stop: messages still being routed after %d ms; closing anyway",
		         SERVER_DRAIN_MS);
	atomic_store(&s->phase, SERVER_CLOSING);
	server_wake_all(s);
	uint64_t left = 0;
	for (int ms = 0; ms < (int)s->cfg.shutdown_timeout_ms; ms += 10) {
		usleep(10000);
		server_wake_all(s);
		if ((left = server_conns_open(s)) == 0)
			break;
	}
	if (left)
		log_warn("stop: %llu connections still sending after %u ms; dropping them",
		         (unsigned long long)left, s->cfg.shutdown_timeout_ms);
	else
		log_info("stop: every connection's output was sent");
}

void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	uint64_t one = 1;
	for (int i = 0; i < s->nio; i++) {
		ssize_t n = write(wake_fd(&s->io[i].wake), &one, sizeof(one));
		(void)n;
	}
	for (int i = 0; i < s->nworkers; i++) {
		ssize_t n = write(wake_fd(&s->workers[i].wake), &one, sizeof(one));
		(void)n;
	}
}

int server_run(struct server *s)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int ret = 0, started_w = 0, started_io = 0;
	for (; started_w < s->nworkers; started_w++) {
		ret = -pthread_create(&s->workers[started_w].tid, NULL, worker_main,
		                      &s->workers[started_w]);
		if (ret)
			goto stop;
	}
	for (; started_io < s->nio; started_io++) {
		struct iothr *t = &s->io[started_io];
		ret = -pthread_create(&t->tid, NULL, iothr_main, t);
		if (ret)
			goto stop;
		while (!atomic_load(&t->ready))
			usleep(100);
		if (t->start_ret) {
			ret = t->start_ret;
			started_io++;
			goto stop;
		}
	}
	if (s->cfg.http_port) {
		ret = monitor_start(s, s->cfg.host, s->cfg.http_port, &s->mon);
		if (ret)
			goto stop;
	}
	log_info("ready for connections on %s:%d (server_id %s)", s->cfg.host, s->cfg.port,
	         s->server_id);

	for (;;) {
		/* Between signals this thread gives freed memory back when many
		 * subscriptions went (malloc keeps it otherwise), a job that takes
		 * tens of milliseconds and so stays off the I/O threads. */
		const struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			uint64_t at = atomic_load_explicit(&s->trim_at_ns, memory_order_relaxed);
			if (at && clock_now_ns() >= at &&
			    atomic_compare_exchange_strong(&s->trim_at_ns, &at, 0))
				server_trim();
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM) {
			log_info("signal %s: stopping gracefully",
			         sig == SIGINT ? "SIGINT" : "SIGTERM");
			server_drain(s);
			break;
		}
		if (sig == SIGUSR1) {
			if (s->cfg.log_file && log_open(s->cfg.log_file) != 0)
				log_error("cannot reopen %s", s->cfg.log_file);
			else
				log_info("SIGUSR1: log file reopened");
		} else {
			server_reload(s);
		}
	}
stop:
	if (ret)
		log_error("cannot start: %s", strerror(-ret));
	monitor_stop(s->mon);
	s->mon = NULL;
	server_stop(s);
	for (int i = 0; i < started_io; i++)
		pthread_join(s->io[i].tid, NULL);
	for (int i = 0; i < started_w; i++)
		pthread_join(s->workers[i].tid, NULL);
	return ret;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	tls_glue_free(s);
	for (int i = 0; s->io && i < s->nio; i++) {
		struct iothr *t = &s->io[i];
		io_loop_free(t->loop);
		if (t->listen_fd >= 0)
			close(t->listen_fd);
		if (t->srv)
			iothr_fini(t);
	}
	for (int i = 0; s->shards && i < s->nshards; i++)
		shard_fini(&s->shards[i]);
	for (int i = 0; s->workers && i < s->nworkers; i++) {
		wake_fini(&s->workers[i].wake);
		free(s->workers[i].shards);
	}
	free(s->io);
	free(s->shards);
	free(s->workers);
	admission_free(atomic_load(&s->adm));
	server_live_free(atomic_load(&s->live));
	for (int i = 0; i < s->nretired; i++) {
		admission_free(s->retired_adm[i]);
		server_live_free(s->retired_live[i]);
	}
	config_fini(&s->cfg);
	free(s);
}
