/* An I/O thread's answers to monitoring: its loop's counters and a copy of
 * each connection's figures, made on the thread itself (router/stats.c asks
 * and waits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/loop/loop.h"
#include "router/auth.h"
#include "router/client_int.h"
#include "router/iothr.h"
#include "router/server.h"

/* The user @cl logged in as, as nats-server's /connz?auth=1 names it: the
 * NKey, else the user name of CONNECT, else the no_auth_user a client
 * without credentials became (the one in force now, as a reload re-applies
 * it: client_perm_reload.c). A token is never shown (nats-server 2.9 shows
 * the token itself). NULL: none. */
static const char *iothr_stats_user(struct iothr *t, const struct client *cl)
{
	const struct connect_opts *o = &cl->opts;
	if (!cl->connected)
		return NULL;
	if (o->nkey)
		return o->nkey;
	if (o->user)
		return o->user;
	const struct auth *a = server_live_auth(server_live(t->srv), cl->ws != NULL);
	if (!o->pass && !o->auth_token && auth_required(a))
		return auth_no_auth_user(a);
	return NULL;
}

static void iothr_stats_conn(struct io_conn *c, void *arg)
{
	struct iothr *t = arg;
	struct stats_req *q = &t->stats_req;
	struct client *cl = c->user;
	if (!cl)
		return;
	if (q->nconns == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct stats_conn *a = realloc(q->conns, cap * sizeof(*a));
		if (!a)
			return;
		q->conns = a;
		q->cap = cap;
	}
	struct stats_conn *o = &q->conns[q->nconns++];
	memset(o, 0, sizeof(*o));
	o->cid = cl->cid;
	snprintf(o->ip, sizeof(o->ip), "%s", c->peer_ip);
	o->port = (uint16_t)c->peer_port;
	o->start_ns = cl->start_wall_ns;
	o->last_activity_ns = cl->start_wall_ns + (cl->last_in_ns - cl->opened_ns);
	o->in_msgs = cl->in_msgs;
	o->in_bytes = cl->in_bytes;
	o->out_msgs = cl->out_msgs;
	o->out_bytes = cl->out_bytes;
	o->pending_bytes = io_conn_pending(c);
	o->drops = cl->drops;
	o->subscriptions = cl->nsubs;
	o->websocket = cl->ws != NULL;
	snprintf(o->name, sizeof(o->name), "%s", cl->opts.name ? cl->opts.name : "");
	snprintf(o->lang, sizeof(o->lang), "%s", cl->opts.lang ? cl->opts.lang : "");
	snprintf(o->version, sizeof(o->version), "%s", cl->opts.version ? cl->opts.version : "");
	const char *user = iothr_stats_user(t, cl);
	snprintf(o->user, sizeof(o->user), "%s", user ? user : "");
	o->account = cl->acc;
	o->link = cl->kind != NULL;
}

/* Adds @c's figures to the answer; with want_slowest, keeps it among the
 * client connections with the most output pending. */
static void iothr_stats_sum(struct io_conn *c, void *arg)
{
	struct stats_req *q = arg;
	struct client *cl = c->user;
	if (!cl)
		return;
	q->io.in_msgs += cl->in_msgs;
	q->io.out_msgs += cl->out_msgs;
	q->io.in_payload += cl->in_bytes;
	q->io.out_payload += cl->out_bytes;
	q->io.subscriptions += cl->nsubs;
	if (cl->kind)
		q->io.links++;
	if (!q->want_slowest || cl->kind)
		return;
	struct stats_conn o;
	o.pending_bytes = io_conn_pending(c);
	if (!o.pending_bytes || (q->nslowest == STATS_SLOWEST_MAX &&
	                         o.pending_bytes < q->slowest[STATS_SLOWEST_MAX - 1].pending_bytes))
		return; /* the usual case: nothing to copy */
	o.cid = cl->cid;
	snprintf(o.name, sizeof(o.name), "%s", cl->opts.name ? cl->opts.name : "");
	stats_slowest_add(q->slowest, &q->nslowest, &o);
}

void iothr_answer_stats(struct iothr *t)
{
	struct stats_req *q = &t->stats_req;
	pthread_mutex_lock(&q->lock);
	struct io_loop_stats ls;
	io_loop_get_stats(t->loop, &ls);
	memset(&q->io, 0, sizeof(q->io));
	q->io.connections = io_loop_nconns(t->loop);
	q->io.total_connections = t->total_connections;
	q->io.recv_completions = ls.recv_completions;
	q->io.send_completions = ls.send_completions;
	q->io.bytes_in = ls.bytes_in;
	q->io.bytes_out = ls.bytes_out;
	q->io.enobufs = ls.enobufs;
	q->io.lent = ls.lent;
	q->io.wakeups = ls.wakeups;
	q->io.in_msgs = t->in_msgs;
	q->io.out_msgs = t->out_msgs;
	q->io.in_payload = t->in_bytes;
	q->io.out_payload = t->out_bytes;
	q->io.slow_consumers = t->slow_consumers;
	q->io.perm_violations = t->perm_violations;
	q->nslowest = 0;
	io_loop_foreach(t->loop, iothr_stats_sum, q);
	q->nconns = 0;
	if (q->want_conns)
		io_loop_foreach(t->loop, iothr_stats_conn, t);
	q->done = true;
	atomic_store_explicit(&q->pending, false, memory_order_relaxed);
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
