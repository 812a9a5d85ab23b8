/* A route connection on its I/O thread (router/route.h): the handshake, the
 * peer's interest and messages in, ours out. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/copy.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/proto/connect.h"
#include "io/proto/proto.h"
#include "router/account.h"
#include "router/client_int.h"
#include "router/creds.h"
#include "router/interest.h"
#include "router/route_int.h"
#include "router/server.h"

#define ROUTE_HELLO_NS      (5ull * 1000000000ull) /* the peer's INFO within this */
#define ROUTE_FIRST_PING_NS 1000000000ull

static bool route_list_add(struct iothr *t, struct client *cl)
{
	return client_list_add(&t->routes, &t->nroutes, &t->routes_cap, 8, cl);
}

static void route_list_del(struct iothr *t, struct client *cl)
{
	client_list_del(t->routes, &t->nroutes, cl);
}

static const struct client_kind route_kind;
static void leaf_on_info(struct client *cl, const struct proto_frame *f);

/* A leaf connection that reached its hub over TLS: the hub's INFO came
 * before the handshake (router/leaf_tls.c) and is answered now. */
static void leaf_open_tls(struct client *cl)
{
	char *info = leaf_tls_take_info(cl->t->srv, cl->route->url);
	if (!info)
		return;
	cl->route->tls = true;
	struct proto_frame f = {.op = PROTO_OP_INFO, .arg = {info, (uint32_t)strlen(info)}};
	leaf_on_info(cl, &f);
	free(info);
}

int client_open_route(struct iothr *t, struct io_conn *c)
{
	struct client *cl = calloc(1, sizeof(*cl));
	struct route_link *rl = calloc(1, sizeof(*rl));
	if (!cl || !rl || !route_list_add(t, cl)) {
		free(cl);
		free(rl);
		return -ENOMEM;
	}
	cl->c = c;
	cl->t = t;
	cl->route = rl;
	cl->kind = &route_kind;
	cl->cid = client_new_cid();
	cl->start_wall_ns = clock_wall_ns();
	cl->opened_ns = cl->last_in_ns = cl->last_ping_ns = clock_now_ns();
	proto_parser_init(&cl->parser, PROTO_SIDE_ROUTE, ROUTE_MAX_PAYLOAD);
	proto_parser_set_max_control(&cl->parser, PROTO_CONTROL_LINE_LIMIT);
	connect_opts_init(&cl->opts);
	map_init(&cl->by_sid);
	map_init(&cl->by_id);
	map_init(&cl->responses);
	c->user = cl;
	cl->connected = true;
	rl->leaf = c->adopt_tag & ROUTE_ADOPT_LEAF;
	/* a leaf that joined over TLS got our INFO, with its id, already */
	bool info_sent = rl->leaf && (c->adopt_tag & ROUTE_ADOPT_INFO);
	rl->url = info_sent ? -1 : (int)(c->adopt_tag & 0xffffffffu) - 1;
	if (info_sent)
		cl->cid = c->adopt_tag & (ROUTE_ADOPT_INFO - 1);
	if (rl->leaf) {
		/* a hub speaks first (INFO); we answer with CONNECT */
		proto_parser_fini(&cl->parser);
		proto_parser_init(&cl->parser, PROTO_SIDE_LEAF, ROUTE_MAX_PAYLOAD);
		proto_parser_set_max_control(&cl->parser, PROTO_CONTROL_LINE_LIMIT);
	}
	rl->peer = -1;
	rl->leaf_slot = -1;
	rl->reader = -1;
	rl->acc = rl->leaf ? route_mgr_leaf_account(t->srv, rl->url) : ACC_GLOBAL;
	route_mgr_leaf_denies(t->srv, rl->url, &rl->deny_exports, &rl->deny_imports);
	rl->opened_ns = cl->opened_ns;
	struct server *s = t->srv;
	char buf[4096];
	size_t n;
	if (!rl->leaf && rl->url >= 0 && (n = route_mgr_connect(s, rl->url, buf, sizeof(buf))) > 0)
		io_conn_write(c, buf, n);
	if (!rl->leaf && (n = route_mgr_info(s, buf, sizeof(buf))) > 0)
		io_conn_write(c, buf, n);
	if (rl->leaf && rl->url < 0 && !info_sent &&
	    (n = route_mgr_hub_info(s, cl->cid, false, buf, sizeof(buf))))
		io_conn_write(c, buf, n); /* a leaf joins us: the hub speaks first */
	if (rl->leaf && rl->url >= 0)
		leaf_open_tls(cl);
	log_debug("rid %llu %s:%u: %s connection %s", (unsigned long long)cl->cid, c->peer_ip,
	          c->peer_port, rl->leaf ? "leaf" : "route", rl->url >= 0 ? "dialled" : "accepted");
	return 0;
}

void route_link_close(struct client *cl)
{
	struct route_link *rl = cl->route;
	struct server *s = cl->t->srv;
	route_list_del(cl->t, cl);
	if (cl->t->rpend.cl == cl)
		cl->t->rpend.cl = NULL;
	interest_reader_close(s->interest, rl->reader);
	cl->interest_src = 0;
	if (rl->leaf && rl->registered)
		route_mgr_leaf_down(s, rl->leaf_slot);
	route_mgr_closed(s, rl->registered ? rl->peer : -1, rl->url);
}

/* Closes the route, after @err (may be NULL: silently). */
static void route_fail(struct client *cl, const char *err)
{
	if (err && err[0]) {
		char line[512];
		size_t n = proto_encode_err(line, sizeof(line), err);
		io_conn_write(cl->c, line, n);
		log_error("%s:%u - rid:%llu - %s", cl->c->peer_ip, cl->c->peer_port,
		          (unsigned long long)cl->cid, err);
	}
	io_conn_close(cl->c, true);
}

/* ---- the handshake ---- */

/* The CONNECT of a leaf that joins us (we are its hub): checked as
 * nats-server checks it, then the INFO that says it was taken, our interest
 * (with our loop-finding subject), and its interest is taken from now on. */
static void hub_on_connect(struct client *cl, const struct proto_frame *f)
{
	struct route_link *rl = cl->route;
	struct server *s = cl->t->srv;
	struct route_hello h;
	char why[128], cluster[64];
	if (connect_opts_parse(&cl->opts, f->arg.ptr, f->arg.len, why, sizeof(why)) != 0 ||
	    !route_hello_parse(&h, f->arg.ptr, f->arg.len)) {
		route_fail(cl, NULL);
		return;
	}
	if (cl->opts.lang) {
		route_fail(cl, "attempted to connect to leaf node port");
		return;
	}
	if (!route_mgr_leaf_auth(s, cl->opts.user, cl->opts.pass, &rl->acc)) {
		log_warn("leafnodes: leaf from %s:%u: wrong user or password", cl->c->peer_ip,
		         cl->c->peer_port);
		route_fail(cl, "Authorization Violation");
		return;
	}
	const char *mv = s->cfg.leaf_min_version;
	if (mv && !connect_version_at_least(cl->opts.version, s->cfg.leaf_min_version_v)) {
		char err[96];
		snprintf(err, sizeof(err),
		         "connection rejected since minimum version required is \"%s\"", mv);
		route_fail(cl, err);
		return;
	}
	route_cluster_name(s, cluster, sizeof(cluster));
	if (h.cluster[0] && (s->cfg.cluster_listen || s->cfg.routes.n) &&
	    !strcmp(h.cluster, cluster)) {
		route_fail(cl, "remote leafnode has same cluster name");
		return;
	}
	char buf[2048];
	size_t n = route_mgr_hub_info(s, cl->cid, true, buf, sizeof(buf));
	if (n)
		io_conn_write(cl->c, buf, n);
	rl->registered = true;
	rl->headers = h.headers || cl->opts.headers;
	if (!h.name[0] && cl->opts.name)
		snprintf(h.name, sizeof(h.name), "%s", cl->opts.name);
	rl->leaf_slot = route_mgr_leaf_up(s, h.name[0] ? h.name : h.id, cl->c->peer_ip,
	                                  (int)cl->c->peer_port, rl->acc);
	if (rl->leaf_slot >= 0)
		rl->ctr = route_mgr_leaf_counters(s, rl->leaf_slot);
	char lds[80];
	route_mgr_lds(s, lds, sizeof(lds));
	route_write_interest(cl, &(struct interest_ev){.plus = true, .subject = lds});
	rl->reader = interest_reader_open(s->interest, INTEREST_LEAF, route_write_interest, cl);
	cl->interest_src = rl->reader + 1;
	log_info("leafnodes: leaf %s (%s) joined from %s:%u", h.name, h.id, cl->c->peer_ip,
	         cl->c->peer_port);
	cl->last_ping_ns = clock_now_ns() - (uint64_t)server_live(s)->ping_interval_ms * 1000000u +
	                   ROUTE_FIRST_PING_NS;
}

static void route_on_connect(struct client *cl, const struct proto_frame *f)
{
	if (cl->route->leaf) {
		if (cl->route->url < 0 && !cl->route->registered)
			hub_on_connect(cl, f);
		return;
	}
	struct server *s = cl->t->srv;
	char why[128];
	if (connect_opts_parse(&cl->opts, f->arg.ptr, f->arg.len, why, sizeof(why)) != 0) {
		route_fail(cl, NULL);
		return;
	}
	if (cl->opts.lang) {
		route_fail(cl, "attempted to connect to route port");
		return;
	}
	if (!route_mgr_auth_ok(s, cl->opts.user, cl->opts.pass)) {
		route_fail(cl, "Authorization Violation");
		return;
	}
	cl->route->got_connect = true;
}

/* Our CONNECT to the hub whose INFO is @f: with the remote's credentials
 * file, the user JWT and the INFO's nonce signed (as nats-server's
 * sendLeafConnect); a file that cannot be used fails this try only, as
 * nats-server's does (logged, redialled). */
static bool leaf_send_connect(struct client *cl, const struct proto_frame *f)
{
	struct server *s = cl->t->srv;
	const char *path = route_mgr_leaf_creds(s, cl->route->url);
	char *auth = NULL, why[256];
	if (path &&
	    !(auth = creds_connect_fields(path, f->arg.ptr, f->arg.len, why, sizeof(why)))) {
		log_error("leafnodes: hub %s:%u: credentials file \"%s\": %s", cl->c->peer_ip,
		          cl->c->peer_port, path, why);
		return false;
	}
	size_t cap = 2048 + (auth ? strlen(auth) : 0), n = 0;
	char *buf = malloc(cap);
	if (buf)
		n = route_mgr_leaf_connect(s, cl->route->url, auth ? auth : "", buf, cap);
	if (n)
		io_conn_write(cl->c, buf, n);
	free(buf);
	free(auth);
	return n > 0;
}

/* A hub's INFO on a leaf connection we made: the first one is answered with
 * CONNECT and our interest (with the subject that finds loops); later ones
 * (new leafnode_urls) change nothing here. */
static void leaf_on_info(struct client *cl, const struct proto_frame *f)
{
	struct route_link *rl = cl->route;
	struct server *s = cl->t->srv;
	if (rl->registered)
		return;
	if (!rl->tls && memmem(f->arg.ptr, f->arg.len, "\"tls_required\":true", 19)) {
		log_error("leafnodes: hub %s:%u requires TLS: give its remote a tls { } block "
		          "(ca_file: the CA of the hub's certificate)",
		          cl->c->peer_ip, cl->c->peer_port);
		route_fail(cl, NULL);
		return;
	}
	if (!leaf_send_connect(cl, f)) {
		route_fail(cl, NULL);
		return;
	}
	rl->registered = true;
	rl->headers = true;
	struct route_hello h;
	if (!route_hello_parse(&h, f->arg.ptr, f->arg.len))
		h.name[0] = 0;
	rl->peer = -1;
	rl->leaf_slot = route_mgr_leaf_up(s, h.name[0] ? h.name : h.id, cl->c->peer_ip,
	                                  (int)cl->c->peer_port, rl->acc);
	if (rl->leaf_slot >= 0)
		rl->ctr = route_mgr_leaf_counters(s, rl->leaf_slot);
	char lds[80];
	route_mgr_lds(s, lds, sizeof(lds));
	route_write_interest(cl, &(struct interest_ev){.plus = true, .subject = lds});
	rl->reader = interest_reader_open(s->interest, INTEREST_LEAF, route_write_interest, cl);
	cl->interest_src = rl->reader + 1;
	if (rl->reader < 0)
		log_error("lid %llu: out of memory: local interest not announced",
		          (unsigned long long)cl->cid);
	log_info("leafnodes: joined hub %s:%u as a leaf node%s", cl->c->peer_ip, cl->c->peer_port,
	         rl->tls ? " over TLS" : "");
	cl->last_ping_ns = clock_now_ns() - (uint64_t)server_live(s)->ping_interval_ms * 1000000u +
	                   ROUTE_FIRST_PING_NS;
}

static void route_on_info(struct client *cl, const struct proto_frame *f)
{
	if (cl->route->leaf) {
		if (cl->route->url >= 0) /* a hub we joined; a leaf that joins us sends none */
			leaf_on_info(cl, f);
		return;
	}
	struct route_link *rl = cl->route;
	struct server *s = cl->t->srv;
	struct route_hello h;
	if (!route_hello_parse(&h, f->arg.ptr, f->arg.len)) {
		route_fail(cl, NULL);
		return;
	}
	if (rl->registered) {
		route_mgr_gossip(s, rl->peer, &h);
		return;
	}
	if (rl->url < 0 && !rl->got_connect && route_mgr_auth_required(s)) {
		route_fail(cl, "Authorization Violation");
		return;
	}
	char err[256];
	int slot = route_mgr_register(s, &h, cl->c->id, rl->url, cl->c->peer_ip, err, sizeof(err));
	if (slot < 0) {
		route_fail(cl, err);
		return;
	}
	rl->registered = true;
	rl->peer = slot;
	rl->headers = h.headers;
	rl->ctr = route_mgr_counters(s, slot);
	memcpy(rl->id, h.id, sizeof(rl->id));
	/* what we hold, then every change: the reader opens under the set's
	 * lock, so nothing falls between the dump and the log */
	rl->reader = interest_reader_open(s->interest, INTEREST_ROUTE, route_write_interest, cl);
	cl->interest_src = rl->reader + 1;
	if (rl->reader < 0)
		log_error("rid %llu: out of memory: local interest not announced",
		          (unsigned long long)cl->cid);
	cl->last_ping_ns = clock_now_ns() - (uint64_t)server_live(s)->ping_interval_ms * 1000000u +
	                   ROUTE_FIRST_PING_NS;
}

/* ---- the peer's interest and messages in ---- */

/* The account a route's RS+ or RMSG names, or -1 when it is not one of
 * ours ($SYS of nats-server nodes, say: ignored, as nats-server ignores an
 * account it does not have). A leaf connection is bound to one. */
static int route_account(const struct client *cl, const struct proto_frame *f)
{
	if (cl->route->leaf)
		return cl->route->acc;
	if (f->account.len == route_acc.len && !memcmp(f->account.ptr, route_acc.ptr, 2))
		return ACC_GLOBAL;
	return acc_find_n(server_acc(cl->t->srv), f->account.ptr, f->account.len);
}

/* Our own loop-finding subject came back: this leaf connection closes a
 * loop. As nats-server: -ERR, close, and wait 30 s before trying again. */
static bool leaf_loop(struct client *cl, const struct proto_frame *f)
{
	char lds[80];
	route_mgr_lds(cl->t->srv, lds, sizeof(lds));
	if (f->subject.len != strlen(lds) || memcmp(f->subject.ptr, lds, f->subject.len))
		return false;
	route_mgr_delay(cl->t->srv, cl->route->url, 30ull * 1000000000ull);
	char err[256];
	snprintf(err, sizeof(err),
	         "Loop detected for leafnode account=\"%s\". Delaying attempt to reconnect for 30s",
	         server_acc(cl->t->srv)->acc[cl->route->acc].name);
	route_fail(cl, err);
	return true;
}

static void route_on_sub(struct client *cl, const struct proto_frame *f, bool add)
{
	bool leaf = cl->route->leaf;
	int acc = route_account(cl, f);
	if (acc < 0)
		return;
	if (leaf && add && leaf_loop(cl, f))
		return;
	if (!client_sub_remote(cl, f->subject, f->queue, add, leaf ? CSUB_LEAF : CSUB_ROUTE,
	                       (uint16_t)acc, f->weight)) {
		log_warn("rid %llu: route interest on an invalid subject ignored",
		         (unsigned long long)cl->cid);
		return;
	}
	if (cl->route->ctr)
		atomic_store_explicit(&cl->route->ctr->subs, cl->nsubs, memory_order_relaxed);
	client_ctrl_bound(cl); /* a storm of RS+ is bounded like a client's SUBs */
}

static void route_on_msg(struct client *cl, const struct proto_frame *f)
{
	bool leaf = cl->route->leaf;
	int acc = route_account(cl, f);
	if (acc < 0)
		return;
	if (RB_UNLIKELY(cl->route->deny_imports) &&
	    route_denied(cl->route->deny_imports, f->subject.ptr, f->subject.len))
		return; /* deny_imports: not taken from this hub */
	uint8_t flags = leaf ? MENTRY_F_FROM_LEAF : MENTRY_F_ROUTED;
	struct proto_frame m = *f;
	if (RB_UNLIKELY(!cl->route->headers && f->hdr_len)) {
		m.payload.ptr += m.hdr_len;
		m.payload.len -= m.hdr_len;
		m.hdr_len = 0;
	}
	if (RB_UNLIKELY(acc != ACC_GLOBAL || cl->t->srv->acc_pre))
		client_acc_routed(cl, &m, flags, (uint16_t)acc);
	else
		client_publish(cl, &m, flags, f->queues);
	if (cl->route->ctr)
		route_count_add(&cl->route->ctr->in_msgs, &cl->route->ctr->in_bytes,
		                f->payload.len);
}

/* A route closes on any -ERR it gets; a leaf only on a loop or a refusal
 * (as nats-server). */
static void route_on_err(struct client *cl, const struct proto_frame *f)
{
	struct route_link *rl = cl->route;
	log_error("%s:%u - rid:%llu - %s error from peer: '%.*s'", cl->c->peer_ip, cl->c->peer_port,
	          (unsigned long long)cl->cid, rl->leaf ? "leaf" : "route", (int)f->arg.len,
	          f->arg.ptr);
	bool loop = memmem(f->arg.ptr, f->arg.len, "Loop", 4) != NULL;
	if (rl->leaf && loop)
		route_mgr_delay(cl->t->srv, rl->url, 30ull * 1000000000ull);
	if (!rl->leaf || !rl->registered || loop ||
	    memmem(f->arg.ptr, f->arg.len, "cluster name", 12) ||
	    memmem(f->arg.ptr, f->arg.len, "Authorization", 13))
		io_conn_close(cl->c, true);
}

void route_link_op(struct client *cl, const struct proto_frame *f)
{
	struct route_link *rl = cl->route;
	bool ready = rl->registered;
	switch (f->op) {
	case PROTO_OP_CONNECT:
		route_on_connect(cl, f);
		return;
	case PROTO_OP_INFO:
		route_on_info(cl, f);
		return;
	case PROTO_OP_PING:
		io_conn_write(cl->c, PROTO_PONG_LINE, sizeof(PROTO_PONG_LINE) - 1);
		return;
	case PROTO_OP_PONG:
		cl->pings_out = 0;
		return;
	case PROTO_OP_OK:
		return;
	case PROTO_OP_ERR:
		route_on_err(cl, f);
		return;
	case PROTO_OP_RS_PLUS:
	case PROTO_OP_RS_MINUS:
	case PROTO_OP_LS_PLUS:
	case PROTO_OP_LS_MINUS:
		/* each kind of link takes its own forms */
		if (ready && rl->leaf == (f->op == PROTO_OP_LS_PLUS || f->op == PROTO_OP_LS_MINUS))
			route_on_sub(cl, f, f->op == PROTO_OP_RS_PLUS || f->op == PROTO_OP_LS_PLUS);
		return;
	case PROTO_OP_RMSG:
	case PROTO_OP_LMSG:
	case PROTO_OP_RHMSG:
		if (ready &&
		    rl->leaf == (f->op == PROTO_OP_LMSG || (f->op == PROTO_OP_RHMSG && rl->leaf)))
			route_on_msg(cl, f);
		return;
	default:
		/* LS+/LS-/LMSG: only sent to peers that said lnoc, which we do not */
		return;
	}
}

/* ---- each poll, each tick ---- */

static void route_tell_client(struct io_conn *c, void *arg)
{
	struct iothr *t = arg;
	struct client *cl = c->user;
	if (!cl || cl->route || !cl->connected || cl->opts.protocol < 1 || !cl->first_pong)
		return;
	char info[4096];
	size_t n = client_info(t->srv, server_live(t->srv), cl->cid, c->peer_ip, false, info,
	                       sizeof(info));
	if (n)
		io_conn_write(c, info, n);
}

bool route_link_poll(struct iothr *t)
{
	struct server *s = t->srv;
	bool did = false;
	for (uint32_t i = 0; i < t->nroutes; i++) {
		struct client *cl = t->routes[i];
		struct route_link *rl = cl->route;
		if (!rl->registered || io_conn_is_closing(cl->c))
			continue;
		if (rl->reader >= 0 && interest_pending(s->interest, rl->reader))
			did |= interest_read(s->interest, rl->reader, route_write_interest, cl) > 0;
		if (rl->peer >= 0 && route_mgr_outbox_pending(s, rl->peer)) {
			route_mgr_outbox(s, rl->peer, cl->c);
			did = true;
		}
	}
	uint64_t gen = route_info_gen(s);
	if (gen != t->info_gen_seen) {
		t->info_gen_seen = gen;
		io_loop_foreach(t->loop, route_tell_client, t);
		did = true;
	}
	return did;
}

void route_link_tick(struct client *cl, uint64_t now)
{
	struct route_link *rl = cl->route;
	if (!rl->registered) {
		if (now - rl->opened_ns > ROUTE_HELLO_NS)
			route_fail(cl, NULL); /* no INFO: not a route */
		return;
	}
	uint64_t interval = (uint64_t)server_live(cl->t->srv)->ping_interval_ms * 1000000u;
	if (now - cl->last_ping_ns < interval)
		return;
	cl->last_ping_ns = now;
	if (cl->pings_out + 1 > server_live(cl->t->srv)->ping_max) {
		route_fail(cl, "Stale Connection");
		return;
	}
	cl->pings_out++;
	io_conn_write(cl->c, PROTO_PING_LINE, sizeof(PROTO_PING_LINE) - 1);
}

static const struct client_kind route_kind = {
    .op = route_link_op,
    .deliver = route_link_deliver,
    .tick = route_link_tick,
    .close = route_link_close,
    .flush = route_link_flush,
};
