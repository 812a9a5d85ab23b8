/* Server assembly: listening sockets, shards, workers, I/O threads, and
 * starting and stopping the threads. The main thread's loop (signals, lame
 * duck mode, the graceful stop) is router/server_main.c; reloads are
 * router/server_reload.c and router/server_gen.c. */
#define _GNU_SOURCE
#include "router/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "router/account.h"
#include "router/admission.h"
#include "router/iothr.h"
#include "router/monitor/monitor.h"
#include "router/route.h"
#include "router/server_int.h"
#include "router/service.h"
#include "router/shard.h"
#include "router/tls_glue.h"
#include "router/worker.h"
#include "router/ws_listen.h"

#define SERVER_SHARD_RING  4096
#define SERVER_IO_RING     4096
#define SERVER_STREAM_RING 1024 /* a shard's results for one I/O thread */

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

static void server_env_freeing(void *ctx)
{
	server_freeing(ctx);
}

static void server_env_freed(void *ctx)
{
	server_freed(ctx);
}

static void server_env_low_marks(void *ctx, uint64_t *bytes, uint64_t *msgs)
{
	const struct admission *a = server_adm(ctx);
	*bytes = a->shard_low;
	*msgs = a->shard_low_msgs;
}

static void server_make_id(struct server *s)
{
	if (getrandom(s->nonce_key, sizeof(s->nonce_key), 0) != (ssize_t)sizeof(s->nonce_key))
		log_warn("getrandom: nonces for NKey logins are weaker"); /* still per cid */
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char rnd[22];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 7, sizeof(rnd));
	s->server_id[0] = 'N';
	for (size_t i = 0; i < sizeof(rnd); i++)
		s->server_id[i + 1] = alphabet[rnd[i] & 31];
	s->server_id[sizeof(rnd) + 1] = 0;
	snprintf(s->server_name, sizeof(s->server_name), "%s",
	         s->cfg.server_name ? s->cfg.server_name : s->server_id);
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

void server_set_args(struct server *s, int argc, char **argv)
{
	s->argc = argc;
	s->argv = argv;
}

/* The first generation of the reloadable settings. */
static int server_new_settings(struct server *s)
{
	struct admission *adm = NULL;
	int ret = svc_table_new(&s->svc);
	if (ret)
		return ret;
	s->replies = calloc(1, sizeof(*s->replies));
	if (!s->replies || acc_replies_init(s->replies, ACC_REPLY_TTL_NS)) {
		free(s->replies);
		s->replies = NULL;
		return -ENOMEM;
	}
	ret = admission_new(s->cfg.adm, s->cfg.report, &adm);
	if (ret)
		return ret;
	server_svc_apply(s, adm);
	admission_log(adm);
	struct live *lv = server_live_new(&s->cfg, NULL);
	if (lv)
		s->acc_pre = acc_on(lv->acc) ? ACC_PREFIX_LEN : 0;
	if (!lv) {
		admission_free(adm);
		return -ENOMEM;
	}
	return server_gen_init(s, adm, lv);
}

static int server_new_workers(struct server *s)
{
	for (int i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];
		w->index = i;
		w->stop = &s->stop;
		w->gen_seq = &s->gen_seq;
		w->spin_ns = (uint64_t)s->cfg.spin_us * 1000u;
		w->pin_cpu = s->cfg.pin ? s->nio + i : -1;
		w->shards = calloc((size_t)s->nshards, sizeof(*w->shards));
		if (!w->shards)
			return -ENOMEM;
		int ret = wake_init(&w->wake, false);
		if (ret)
			return ret;
	}
	const struct shard_env env = {
	    .ctx = s,
	    .nio = s->nio,
	    .wake_io = server_env_wake_io,
	    .marks_cleared = server_env_marks_cleared,
	    .want_trim = server_env_want_trim,
	    .freeing = server_env_freeing,
	    .freed = server_env_freed,
	    .low_marks = server_env_low_marks,
	    .svc = s->svc,
	    .cluster = route_configured(s),
	};
	for (int i = 0; i < s->nshards; i++) {
		struct worker *w = &s->workers[i % s->nworkers];
		w->shards[w->nshards++] = &s->shards[i];
		int ret = shard_init(&s->shards[i], i, &env, &w->wake, SERVER_SHARD_RING,
		                     SERVER_STREAM_RING);
		if (ret)
			return ret;
	}
	return 0;
}

/* The I/O threads' state and their listening sockets: the first decides the
 * port when the configuration leaves it to the kernel (-p -1). */
static int server_new_io(struct server *s)
{
	int port = s->cfg.port == 0 ? 4222 : s->cfg.port == -1 ? 0 : s->cfg.port;
	for (int i = 0; i < s->nio; i++) {
		struct iothr *t = &s->io[i];
		int ret = iothr_init(t, s, i, s->nshards, s->nio);
		if (ret)
			return ret;
		if ((ret = wake_init(&t->wake, true)) != 0 ||
		    (ret = ring_init(&t->in, SERVER_IO_RING)) != 0 ||
		    (ret = server_listen(s->cfg.host, port, &t->listen_fd)) != 0)
			return ret;
		if (port == 0)
			port = server_bound_port(t->listen_fd);
	}
	s->port = port;
	return 0;
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
	pthread_mutex_init(&s->gen_lock, NULL);
	pthread_mutex_init(&s->life_lock, NULL);
	pthread_cond_init(&s->life_cond, NULL);
	s->start_wall_ns = clock_wall_ns();
	s->main_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	server_make_id(s);
	sys_stats_box_init(&s->sys_box, s->server_id);
	server_raise_nofile();

	int ret = s->main_efd < 0 ? -errno : server_new_settings(s);
	if (ret)
		goto err;
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
	if ((ret = server_new_workers(s)) != 0 || (ret = server_new_io(s)) != 0 ||
	    (ret = tls_glue_start(s)) != 0 || (ret = route_mgr_new(s)) != 0 ||
	    (ret = ws_listen_new(s)) != 0)
		goto err;
	*out = s;
	return 0;
err:
	if (ret == -ENOMEM)
		log_error("out of memory while starting");
	server_free(s);
	return ret;
}

/* Starts I/O thread @t and waits until its loop exists (or failed). */
static int server_start_io(struct server *s, struct iothr *t)
{
	int ret = -pthread_create(&t->tid, NULL, iothr_main, t);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->life_lock);
	while (!t->ready)
		pthread_cond_wait(&s->life_cond, &s->life_lock);
	pthread_mutex_unlock(&s->life_lock);
	return 0;
}

int server_run(struct server *s)
{
	/* The main loop reads these through a signalfd: blocked here, and in
	 * the threads started from here on. */
	server_block_signals();

	int ret = 0, started_w = 0, started_io = 0;
	for (; started_w < s->nworkers; started_w++) {
		ret = -pthread_create(&s->workers[started_w].tid, NULL, worker_main,
		                      &s->workers[started_w]);
		if (ret)
			goto stop;
	}
	for (; started_io < s->nio; started_io++) {
		struct iothr *t = &s->io[started_io];
		ret = server_start_io(s, t);
		if (ret)
			goto stop;
		if (t->start_ret) {
			ret = t->start_ret;
			started_io++;
			goto stop;
		}
	}
	if (s->cfg.http_port) {
		const char *host = s->cfg.http_host ? s->cfg.http_host : s->cfg.host;
		ret = monitor_start(s, host, s->cfg.http_port, &s->mon);
		if (ret)
			goto stop;
	}
	ret = route_mgr_start(s);
	if (ret == 0)
		ret = ws_listen_start(s);
	if (ret)
		goto stop;
	log_info("ready for connections on %s:%d (server_id %s)", s->cfg.host, s->port,
	         s->server_id);
	server_main_loop(s);
stop:
	if (ret)
		log_error("cannot start: %s", strerror(-ret));
	monitor_stop(s->mon);
	s->mon = NULL;
	route_mgr_stop(s);
	ws_listen_stop(s);
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
	route_mgr_free(s);
	ws_listen_free(s);
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
	server_gen_fini(s);
	svc_table_free(s->svc);
	if (s->replies)
		acc_replies_fini(s->replies);
	free(s->replies);
	if (s->main_efd >= 0)
		close(s->main_efd);
	sys_stats_box_fini(&s->sys_box);
	pthread_mutex_destroy(&s->gen_lock);
	pthread_mutex_destroy(&s->life_lock);
	pthread_cond_destroy(&s->life_cond);
	config_fini(&s->cfg);
	free(s);
}
