/* A connection's subscriptions: SUB and UNSUB, the entries they send to
 * the shards (one shard, or every shard for a wildcard), the bookkeeping
 * that keeps a subscription reachable until every shard acknowledged its
 * UNSUB, and freeing them a slice at a time once the connection closed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/map.h"
#include "io/loop/loop.h"
#include "router/account.h"
#include "router/client_int.h"
#include "router/index/subject.h"
#include "router/interest.h"
#include "router/server.h"
#include "router/service.h"

/* The key of @cs in the interest announced to routes and leaf connections
 * (router/interest.h): its subject, after its account's name and a blank
 * when that is not $G ("A foo": routes are told `RS+ A foo`, leaf
 * connections, which carry $G only, nothing). Points at @cs->subject or
 * at @buf. */
static struct proto_span client_interest_key(const struct client *cl, const struct csub *cs,
                                             char *buf, size_t cap)
{
	if (cs->acc == ACC_GLOBAL)
		return (struct proto_span){cs->subject, cs->subject_len};
	int n = snprintf(buf, cap, "%s %s", server_acc(cl->t->srv)->acc[cs->acc].name, cs->subject);
	return (struct proto_span){buf, n > 0 && (size_t)n < cap ? (uint32_t)n : 0};
}

/* @cs came (@delta 1) or went (-1): the interest of this server's clients,
 * or of the route or leaf connection @cl, changes. */
static void client_interest_change(struct client *cl, const struct csub *cs, int delta)
{
	struct interest *in = cl->t->srv->interest;
	if (!in || (cs->remote && !cl->interest_src))
		return;
	char buf[PROTO_MAX_CONTROL_LINE];
	struct proto_span k = client_interest_key(cl, cs, buf, sizeof(buf));
	if (!k.len)
		return;
	if (cs->remote)
		interest_change_from(in, cl->interest_src - 1, k.ptr, k.len, cs->queue,
		                     cs->queue_len, delta);
	else if (delta > 0)
		interest_add(in, k.ptr, k.len, cs->queue, cs->queue_len);
	else
		interest_del(in, k.ptr, k.len, cs->queue, cs->queue_len);
}

/* Sends a SUB/UNSUB of @cs to its shard, or to every shard for a wildcard. */
/* Returns how many shards it was sent to, or -ENOMEM (after sending to some). */
static int client_sub_entry(struct client *cl, struct csub *cs, enum mentry_kind kind)
{
	int sent = 0;
	uint32_t first = cs->shard, last = cs->shard;
	if (cs->shard == CLIENT_ALL_SHARDS) {
		first = 0;
		last = (uint32_t)cl->t->srv->nshards - 1;
	}
	for (uint32_t sh = first; sh <= last; sh++) {
		size_t pre = cl->t->srv->acc_pre;
		size_t bytes = kind == MENTRY_SUB
		                   ? pre + cs->subject_len + cs->queue_len + cs->sid_len
		                   : cs->sid_len;
		struct mentry *e = client_add(cl, sh, kind, bytes);
		if (!e)
			return sent ? sent : -ENOMEM;
		sent++;
		char *p = cl->t->open[sh]->arena + e->off;
		if (kind == MENTRY_SUB) {
			/* the index keys it in its account (router/account.h) */
			memcpy(p, server_acc(cl->t->srv)->acc[cs->acc].prefix, pre);
			p += pre;
			memcpy(p, cs->subject, cs->subject_len);
			memcpy(p + cs->subject_len, cs->queue, cs->queue_len);
			memcpy(p + cs->subject_len + cs->queue_len, cs->sid, cs->sid_len);
			e->subject_len = (uint16_t)(pre + cs->subject_len);
			e->reply_len = cs->queue_len;
			e->aux = cs->subid;
			e->len = (uint32_t)(cs->svc_ref >> 32); /* 0 for a plain subscription */
			e->hdr_len = (uint32_t)cs->svc_ref;
			if (cs->remote) {
				/* a route's queue weight; the shard keeps it (shard.c) */
				e->flags |= MENTRY_F_REMOTE;
				e->len = cs->remote == CSUB_ROUTE ? cs->weight : 1;
				e->hdr_len = 0;
			}
			if (cs->remote == CSUB_LEAF)
				e->flags |= MENTRY_F_LEAF;
			client_bit_set(cl->sub_shards, sh);
		} else {
			memcpy(p, cs->sid, cs->sid_len);
			e->aux = cs->subid; /* acknowledged with DELIVERY_UNSUBBED */
		}
		e->sid_len = cs->sid_len;
	}
	cl->ctrl_queued += (uint32_t)sent;
	return sent;
}

static struct csub *client_find_sid(struct client *cl, const char *sid, size_t len, uint64_t h)
{
	for (struct csub *cs = map_get(&cl->by_sid, h); cs; cs = cs->hnext)
		if (cs->sid_len == len && !memcmp(cs->sid, sid, len))
			return cs;
	return NULL;
}

static void client_csub_free(struct client *cl, struct csub *cs)
{
	map_del(&cl->by_id, cs->subid);
	if (cl->last_cs == cs)
		cl->last_cs = NULL;
	if (cl->head_subid == cs->subid)
		cl->head_len = 0; /* its sid in the head: never for another (subids wrap) */
	free(cs);
}

void client_unsub(struct client *cl, struct csub *cs)
{
	if (cs->unsubscribed)
		return;
	/* The shards may still hold deliveries for it that they matched before
	 * this UNSUB (from this connection's own PUBs, say): the entry stays
	 * reachable by its number until every shard acknowledged the UNSUB, and
	 * only its sid is given up now (a new SUB may reuse it at once). */
	int acks = client_sub_entry(cl, cs, MENTRY_UNSUB);
	cs->unsubscribed = true;
	client_interest_change(cl, cs, -1);
	/* no more requests for it: the shards see it gone from now on */
	svc_leave(cl->t->srv->svc, cs->svc_ref);
	cs->svc_ref = 0;
	cs->unsub_acks = acks > 0 ? (uint32_t)acks : 0;
	struct csub *head = map_get(&cl->by_sid, cs->sid_hash);
	if (head == cs) {
		if (cs->hnext) {
			if (map_put(&cl->by_sid, cs->sid_hash, cs->hnext) != 0)
				log_error("cid %llu: out of memory", (unsigned long long)cl->cid);
		} else {
			map_del(&cl->by_sid, cs->sid_hash);
		}
	} else {
		for (struct csub *p = head; p; p = p->hnext)
			if (p->hnext == cs) {
				p->hnext = cs->hnext;
				break;
			}
	}
	cs->hnext = NULL;
	cl->nsubs--;
	if (cs->unsub_acks == 0)
		client_csub_free(cl, cs);
}

void client_unsub_acked(struct client *cl, uint32_t subid)
{
	struct csub *cs = map_get(&cl->by_id, subid);
	if (!cs || !cs->unsubscribed || cs->unsub_acks == 0)
		return;
	if (--cs->unsub_acks == 0)
		client_csub_free(cl, cs);
}

/* The service reference of the queue subscription @cs (0: not tracked),
 * with the limit and wait of its subject's admission policy. A group of an
 * account other than $G is its own service, named "account:subject". */
static uint64_t client_join_service(struct client *cl, const struct csub *cs)
{
	struct server *s = cl->t->srv;
	const struct adm_policy *p = admission_lookup(server_adm(s), cs->subject, cs->subject_len);
	uint32_t limit =
	    p->max_inflight > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)p->max_inflight;
	char name[SVC_NAME_MAX];
	int n = snprintf(name, sizeof(name), "%s%s%s",
	                 cl->acc == ACC_GLOBAL ? "" : server_acc(s)->acc[cl->acc].name,
	                 cl->acc == ACC_GLOBAL ? "" : ":", cs->subject);
	if (n < 0 || (size_t)n >= sizeof(name))
		n = (int)sizeof(name) - 1;
	return svc_join(s->svc, name, (size_t)n, cs->queue, cs->queue_len, limit, p->queue_wait_ns);
}

/* Adds subscription @sid on @subject (@queue: empty for none); @remote for
 * a route's interest. Returns false when memory ran out (then closing). */
static bool client_sub_new(struct client *cl, struct proto_span subject, struct proto_span queue,
                           struct proto_span sid, uint64_t h, bool filter, uint8_t remote,
                           uint16_t acc, uint32_t weight)
{
	size_t slen = sid.len, jlen = subject.len, qlen = queue.len;
	struct csub *cs = malloc(sizeof(*cs) + slen + jlen + qlen + 3);
	if (!cs)
		goto nomem;
	memset(cs, 0, sizeof(*cs));
	cs->sid = cs->str;
	cs->subject = cs->sid + slen + 1;
	cs->queue = cs->subject + jlen + 1;
	memcpy(cs->sid, sid.ptr, slen);
	cs->sid[slen] = 0;
	memcpy(cs->subject, subject.ptr, jlen);
	cs->subject[jlen] = 0;
	if (qlen)
		memcpy(cs->queue, queue.ptr, qlen);
	cs->queue[qlen] = 0;
	cs->sid_len = (uint16_t)slen;
	cs->subject_len = (uint16_t)jlen;
	cs->queue_len = (uint16_t)qlen;
	cs->sid_hash = h;
	cs->perm_filter = filter;
	cs->remote = remote;
	cs->weight = weight;
	cs->acc = acc;
	cs->subid = ++cl->next_subid;
	cs->shard = subject_has_wildcard(cs->subject, jlen)
	                ? CLIENT_ALL_SHARDS
	                : server_shard_of(cl->t->srv, cs->subject, jlen);
	if (qlen && !remote)
		cs->svc_ref = client_join_service(cl, cs);
	cs->hnext = map_get(&cl->by_sid, h);
	if (map_put(&cl->by_sid, h, cs) != 0) {
		svc_leave(cl->t->srv->svc, cs->svc_ref);
		free(cs);
		goto nomem;
	}
	if (map_put(&cl->by_id, cs->subid, cs) != 0) {
		cl->nsubs++;
		client_unsub(cl, cs);
		goto nomem;
	}
	cl->nsubs++;
	if (client_sub_entry(cl, cs, MENTRY_SUB) < 0)
		goto nomem;
	client_interest_change(cl, cs, 1);
	return true;
nomem:
	log_error("cid %llu: out of memory for a subscription: closing",
	          (unsigned long long)cl->cid);
	io_conn_close(cl->c, false);
	return false;
}

void client_on_sub(struct client *cl, const struct proto_frame *f)
{
	if (!subject_valid_sub(f->subject.ptr, f->subject.len) ||
	    (f->queue.len && !subject_valid_pub(f->queue.ptr, f->queue.len))) {
		client_err(cl, "Invalid Subject", false);
		return;
	}
	uint64_t h = hash_bytes(f->sid.ptr, f->sid.len);
	if (client_find_sid(cl, f->sid.ptr, f->sid.len, h)) {
		client_ok(cl); /* a duplicate sid is ignored, as nats-server does */
		return;
	}
	bool filter = false;
	if (RB_UNLIKELY(cl->perms != NULL) && !client_perm_subscribe(cl, f, &filter))
		return;
	uint32_t max_subs = server_live(cl->t->srv)->max_subscriptions;
	if (max_subs && cl->nsubs >= max_subs) {
		client_err(cl, "maximum subscriptions exceeded", false);
		return;
	}
	if (client_sub_new(cl, f->subject, f->queue, f->sid, h, filter, 0, cl->acc, 1))
		client_ok(cl);
}

bool client_sub_remote(struct client *cl, struct proto_span subject, struct proto_span queue,
                       bool add, uint8_t kind, uint16_t acc, uint32_t weight)
{
	/* the route's subscriptions are keyed by account, subject and queue,
	 * as NATS keeps a route's interest: "foo", "foo q", "A foo q" */
	char sid[PROTO_CONTROL_LINE_LIMIT / 32];
	const char *an = acc == ACC_GLOBAL ? "" : server_acc(cl->t->srv)->acc[acc].name;
	size_t al = strlen(an) + (acc == ACC_GLOBAL ? 0 : 1);
	if (!subject_valid_sub(subject.ptr, subject.len) ||
	    (queue.len && !subject_valid_pub(queue.ptr, queue.len)) ||
	    al + subject.len + queue.len + 1 > sizeof(sid))
		return false;
	if (al) {
		memcpy(sid, an, al - 1);
		sid[al - 1] = ' ';
	}
	memcpy(sid + al, subject.ptr, subject.len);
	uint32_t n = (uint32_t)al + subject.len;
	if (queue.len) {
		sid[n++] = ' ';
		memcpy(sid + n, queue.ptr, queue.len);
		n += queue.len;
	}
	uint64_t h = hash_bytes(sid, n);
	struct csub *cs = client_find_sid(cl, sid, n, h);
	if (!add) {
		if (cs)
			client_unsub(cl, cs);
		return true;
	}
	if (cs) {
		/* a new weight for a route's queue interest: the same SUB again */
		if (kind == CSUB_ROUTE && queue.len && cs->weight != weight) {
			cs->weight = weight;
			if (client_sub_entry(cl, cs, MENTRY_SUB) < 0) {
				log_error("rid %llu: out of memory: closing",
				          (unsigned long long)cl->cid);
				io_conn_close(cl->c, false);
			}
		}
		return true;
	}
	return client_sub_new(cl, subject, queue, (struct proto_span){sid, n}, h, false, kind, acc,
	                      weight);
}

void client_interest_drop(struct client *cl)
{
	void *v;
	if (!cl->t->srv->interest || cl->route)
		return;
	for (uint32_t it = 0; map_next(&cl->by_id, &it, NULL, &v);) {
		struct csub *cs = v;
		if (!cs->unsubscribed)
			client_interest_change(cl, cs, -1);
	}
}

void client_on_unsub(struct client *cl, const struct proto_frame *f)
{
	uint64_t h = hash_bytes(f->sid.ptr, f->sid.len);
	struct csub *cs = client_find_sid(cl, f->sid.ptr, f->sid.len, h);
	if (cs) {
		if (f->max_msgs && cs->delivered < f->max_msgs)
			cs->max = f->max_msgs;
		else
			client_unsub(cl, cs);
	}
	client_ok(cl);
}

/* ---- after the close ---- */

/* The subscriptions of a closed connection, freed a slice per poll so that
 * closing a connection with a million of them does not stop its thread. */
struct client_grave {
	struct client_grave *next;
	struct svc_table *svc; /* where its queue subscriptions leave their services */
	struct map by_id;
	uint32_t pos; /* next slot of by_id to free */
	bool big;     /* worth a malloc_trim() once freed */
};

#define CLIENT_FREE_SLICE 1024
#define CLIENT_TRIM_AFTER 10000

/* Frees @g's subscriptions from iteration position @g->pos on, at most
 * @max of them. Returns true when all are freed (and the map with them). */
static bool client_grave_free(struct client_grave *g, uint32_t max)
{
	void *v;
	for (uint32_t n = 0; n < max; n++) {
		if (!map_next(&g->by_id, &g->pos, NULL, &v)) {
			map_fini(&g->by_id);
			return true;
		}
		struct csub *cs = v;
		svc_leave(g->svc, cs->svc_ref);
		free(v);
	}
	return false;
}

void client_bury(struct client *cl)
{
	struct iothr *t = cl->t;
	struct client_grave now = {.svc = t->srv->svc, .by_id = cl->by_id};
	struct client_grave *g = NULL;
	if (map_count(&cl->by_id) > CLIENT_FREE_SLICE)
		g = malloc(sizeof(*g));
	if (!g) {
		client_grave_free(&now, UINT32_MAX);
		return;
	}
	*g = now;
	g->big = map_count(&cl->by_id) >= CLIENT_TRIM_AFTER;
	if (g->big)
		server_freeing(t->srv); /* the shards free their part meanwhile */
	g->next = t->graves;
	t->graves = g;
}

bool client_graves_reap(struct iothr *t, bool all)
{
	struct client_grave *g = t->graves;
	if (!g)
		return false;
	do {
		if (!client_grave_free(g, all ? UINT32_MAX : CLIENT_FREE_SLICE))
			return true;
		t->graves = g->next;
		if (g->big)
			server_freed(t->srv);
		free(g);
	} while (all && (g = t->graves) != NULL);
	return true;
}
