/* Statistics snapshots: shard counters read as atomics, I/O threads and
 * their connections copied by their own thread on request, accounts' figures
 * summed from those copies. */
#include "router/monitor/stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/memacct.h"
#include "io/loop/loop.h"
#include "router/account.h"
#include "router/admission.h"
#include "router/conf/config.h"
#include "router/iothr.h"
#include "router/route.h"
#include "router/server.h"
#include "router/service.h"
#include "router/shard.h"

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t stats_load(const atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void stats_shard(struct shard *sh, struct stats_shard *o)
{
	o->queue_batches = ring_count(&sh->in);
	o->msgs = stats_load(&sh->st.msgs);
	o->deliveries = stats_load(&sh->st.deliveries);
	o->batches = stats_load(&sh->st.batches);
	o->inline_runs = stats_load(&sh->st.inline_runs);
	o->busy_ns = stats_load(&sh->st.busy_ns);
	o->subscriptions = stats_load(&sh->st.subs);
	o->sub_inserts = stats_load(&sh->st.inserts);
	o->sub_removes = stats_load(&sh->st.removes);
	o->matches = stats_load(&sh->st.matches);
	o->cache_hits = stats_load(&sh->st.cache_hits);
	o->cache_entries = stats_load(&sh->st.cache_entries);
}

/* Asks every I/O thread for its figures and waits (bounded) for the answers. */
static int stats_ask_io(struct server *s, bool conns, bool slowest)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	int ret = 0;
	for (int i = 0; i < s->nio; i++) {
		struct stats_req *q = &s->io[i].stats_req;
		pthread_mutex_lock(&q->lock);
		q->done = false;
		q->want_conns = conns;
		q->want_slowest = slowest;
		q->nconns = 0;
		/* release: the request's fields before the flag the I/O thread polls */
		atomic_store_explicit(&q->pending, true, memory_order_release);
		pthread_mutex_unlock(&q->lock);
		uint64_t one = 1;
		ssize_t n = write(wake_fd(&s->io[i].wake), &one, sizeof(one));
		(void)n;
	}
	for (int i = 0; i < s->nio; i++) {
		struct stats_req *q = &s->io[i].stats_req;
		pthread_mutex_lock(&q->lock);
		while (!q->done && ret == 0) {
			if (pthread_cond_timedwait(&q->cond, &q->lock, &deadline) == ETIMEDOUT)
				ret = -ETIMEDOUT;
		}
		pthread_mutex_unlock(&q->lock);
	}
	return ret;
}

/* The accounts' names and settings, borrowed from the accounts in force,
 * which @out holds until stats_free() (a reload may replace them). Accounts
 * a reload removed are left out. Returns 0 or -ENOMEM. */
static int stats_accounts(struct server *s, struct stats *out)
{
	out->srv = s;
	out->gen = server_gen_hold(s);
	const struct acc_table *t = out->gen->live->acc;
	int n = t->n;
	out->accounts = calloc((size_t)n, sizeof(*out->accounts));
	if (!out->accounts)
		return -ENOMEM;
	out->naccounts = n;
	for (int i = 0; i < n; i++) {
		out->accounts[i].name = t->acc[i].name;
		out->accounts[i].cfg = t->acc[i].cfg;
		out->accounts[i].gone = t->acc[i].gone;
	}
	if (t && t->system >= 0 && t->system < n)
		out->system_account = t->acc[t->system].name;
	return 0;
}

/* Each account's client connections and their subscriptions, from the
 * copies of the connections. */
static void stats_account_sums(struct stats *out)
{
	for (size_t i = 0; i < out->nconns; i++) {
		const struct stats_conn *c = &out->conns[i];
		if (c->link || c->account >= out->naccounts)
			continue;
		out->accounts[c->account].connections++;
		out->accounts[c->account].subscriptions += c->subscriptions;
	}
	out->account_figures = true;
}

/* Adds the answer @q of I/O thread @i (its lock held) to @out; with
 * @conns, its connections too (left out when out of memory). */
static void stats_merge_io(struct stats *out, int i, const struct stats_req *q, bool conns)
{
	out->io[i] = q->io;
	out->in_msgs += q->io.in_msgs;
	out->out_msgs += q->io.out_msgs;
	out->in_bytes += q->io.in_payload;
	out->out_bytes += q->io.out_payload;
	out->subscriptions += q->io.subscriptions;
	/* clients only, as nats-server counts them: links are in /routez, /leafz */
	out->connections += q->io.connections - q->io.links;
	out->total_connections += q->io.total_connections;
	out->slow_consumers += q->io.slow_consumers;
	out->perm_violations += q->io.perm_violations;
	for (size_t k = 0; k < q->nslowest; k++)
		stats_slowest_add(out->slowest, &out->nslowest, &q->slowest[k]);
	if (!conns || !q->nconns)
		return;
	struct stats_conn *c = realloc(out->conns, (out->nconns + q->nconns) * sizeof(*c));
	if (!c)
		return;
	memcpy(c + out->nconns, q->conns, q->nconns * sizeof(*c));
	out->conns = c;
	out->nconns += q->nconns;
}

int stats_collect(struct server *s, struct stats *out, unsigned want)
{
	bool conns = want & (STATS_CONNS | STATS_ACCOUNTS);
	memset(out, 0, sizeof(*out));
	out->now_ns = clock_wall_ns();
	out->start_ns = s->start_wall_ns;
	out->server_id = s->server_id;
	out->server_name = s->server_name;
	out->version = CONFIG_NATS_VERSION;
	out->ringbus_version = RINGBUS_VERSION;
	out->host = s->cfg.host;
	out->port = s->port;
	/* This thread is no I/O thread: it holds the settings it reads. */
	const struct server_gen *g = server_gen_hold(s);
	out->max_payload = g->live->max_payload;
	out->max_pending = s->cfg.max_pending;
	out->max_connections = g->live->max_connections;
	out->ping_interval_ms = g->live->ping_interval_ms;
	out->ping_max = g->live->ping_max;
	admission_stats(g->adm, &out->admission, &out->nadmission);
	server_gen_release(s, g);
	out->bytes_held = memacct_marked();
	_Static_assert(STATS_HELD_KINDS == MEMACCT_KINDS, "one figure per kind");
	for (int k = 0; k < MEMACCT_KINDS; k++)
		out->bytes_held_by[k] = memacct_get((enum memacct_kind)k);
	if (s->routes) {
		out->cluster = true;
		route_cluster_name(s, out->cluster_name, sizeof(out->cluster_name));
		out->cluster_port = route_port(s);
		out->routes = route_count(s, &out->leafnodes);
	}
	if (stats_accounts(s, out) != 0 ||
	    svc_snapshot(s->svc, &out->services, &out->nservices) != 0) {
		stats_free(out);
		return -ENOMEM;
	}

	out->nshards = s->nshards;
	out->nio = s->nio;
	out->shards = calloc((size_t)s->nshards, sizeof(*out->shards));
	out->io = calloc((size_t)s->nio, sizeof(*out->io));
	if (!out->shards || !out->io) {
		stats_free(out);
		return -ENOMEM;
	}
	for (int i = 0; i < s->nshards; i++)
		stats_shard(&s->shards[i], &out->shards[i]);

	pthread_mutex_lock(&stats_lock);
	int ret = stats_ask_io(s, conns, want & STATS_SLOWEST);
	for (int i = 0; i < s->nio; i++) {
		struct stats_req *q = &s->io[i].stats_req;
		pthread_mutex_lock(&q->lock);
		if (q->done)
			stats_merge_io(out, i, q, conns);
		pthread_mutex_unlock(&q->lock);
	}
	pthread_mutex_unlock(&stats_lock);
	if (want & STATS_ACCOUNTS)
		stats_account_sums(out);
	if (!(want & STATS_CONNS)) {
		free(out->conns);
		out->conns = NULL;
		out->nconns = 0;
	}
	return ret;
}

void stats_slowest_add(struct stats_conn *top, size_t *n, const struct stats_conn *c)
{
	if (!c->pending_bytes)
		return;
	size_t at = *n;
	while (at > 0 &&
	       (top[at - 1].pending_bytes < c->pending_bytes ||
	        (top[at - 1].pending_bytes == c->pending_bytes && top[at - 1].cid > c->cid)))
		at--;
	if (at >= STATS_SLOWEST_MAX)
		return;
	size_t keep = *n < STATS_SLOWEST_MAX ? *n : STATS_SLOWEST_MAX - 1;
	memmove(&top[at + 1], &top[at], (keep - at) * sizeof(*top));
	memset(&top[at], 0, sizeof(*top));
	top[at].cid = c->cid;
	top[at].pending_bytes = c->pending_bytes;
	memcpy(top[at].name, c->name, sizeof(top[at].name));
	if (*n < STATS_SLOWEST_MAX)
		(*n)++;
}

void stats_free(struct stats *st)
{
	free(st->io);
	free(st->shards);
	free(st->admission);
	free(st->services);
	free(st->conns);
	free(st->accounts);
	if (st->gen)
		server_gen_release(st->srv, st->gen);
	memset(st, 0, sizeof(*st));
}
