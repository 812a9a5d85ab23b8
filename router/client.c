/* The client protocol on an I/O thread: CONNECT, PUB/HPUB into batches for the
 * shards, SUB/UNSUB bookkeeping, PING barriers, and writing what the shards
 * deliver (MSG/HMSG, PONG, no-responders statuses). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/copy.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/map.h"
#include "core/memacct.h"
#include "io/proto/connect.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/account.h"
#include "router/auth.h"
#include "router/client_int.h"
#include "router/client_stash.h"
#include "router/nkey.h"
#include "router/route.h"
#include "router/server.h"
#include "router/shard.h"
#include "router/index/subject.h"

static void client_publish_js(struct client *cl, const struct proto_frame *f, const char *dom);

static void client_on_pub(struct client *cl, const struct proto_frame *f)
{
	if (f->op == PROTO_OP_HPUB && !cl->opts.headers) {
		client_log_closing(cl, "message headers not supported");
		cl->close_why = CLIENT_CLOSE_PROTOCOL;
		client_quit(cl, NULL, 0);
		return;
	}
	if (cl->opts.pedantic && !subject_valid_pub(f->subject.ptr, f->subject.len))
		client_err(cl, "Invalid Publish Subject", false);
	if (RB_UNLIKELY(cl->perms != NULL) && !client_perm_publish(cl, f))
		return;
	if (RB_UNLIKELY(f->reply.len > 4 && (f->reply.ptr[0] == '_' || f->reply.ptr[0] == '$')) &&
	    !client_perm_reply(cl, f))
		return;
	if (RB_UNLIKELY(cl->inflight != NULL)) /* a queue member: the reply to a request? */
		client_inflight_reply(cl, f->subject.ptr, f->subject.len, io_loop_now(cl->c->loop));
	if (RB_UNLIKELY(cl->t->srv->acc_pre) && client_acc_publish(cl, f))
		return;
	const char *dom = cl->t->srv->cfg.js_domain;
	if (RB_UNLIKELY(dom != NULL) && f->subject.len > 5 && f->subject.ptr[0] == '$')
		client_publish_js(cl, f, dom);
	else
		client_publish(cl, f, 0, (struct proto_span){NULL, 0});
}

/* default_js_domain: what a client sends to JetStream naming no domain goes
 * to the hub's domain, as nats-server's leaf maps it: $JS.API.x to
 * $JS.<domain>.API.x, and key-value and object store subjects ($KV.x,
 * $OBJ.x) to $JS.<domain>.API.$KV.x (the hub announces those). */
static void client_publish_js(struct client *cl, const struct proto_frame *f, const char *dom)
{
	char subj[PROTO_MAX_CONTROL_LINE + 128];
	size_t dl = strlen(dom), n = f->subject.len, keep = 0;
	const char *p = f->subject.ptr;
	struct proto_frame m = *f;
	if (n > 8 && !memcmp(p, "$JS.API.", 8))
		keep = 3; /* from ".API." on */
	else if ((n > 4 && !memcmp(p, "$KV.", 4)) || (n > 5 && !memcmp(p, "$OBJ.", 5)))
		keep = n; /* the whole subject after the prefix */
	if (dl && keep && dl + n + 16 <= sizeof(subj)) {
		size_t k =
		    (size_t)snprintf(subj, sizeof(subj), "$JS.%s%s", dom, keep == n ? ".API." : "");
		memcpy(subj + k, keep == n ? p : p + keep, keep == n ? n : n - keep);
		m.subject = (struct proto_span){subj, (uint32_t)(k + (keep == n ? n : n - keep))};
	}
	/* not remembered: the checks were made on the subject the client sent */
	if (client_publish_acc(cl, &m, client_pub_flags(cl, f), (struct proto_span){NULL, 0},
	                       cl->acc, m.subject.ptr == f->subject.ptr ? CLIENT_PUB_REMEMBER : 0))
		client_published(cl, f);
}

/* @text (a PONG) is written, or @ctrl's wait ends, once everything this
 * connection sent before has been applied by the shards and its results
 * written (a mark in the route log), and every earlier reply was written. */
static void client_barrier(struct client *cl, const char *text, size_t len, bool ctrl)
{
	if (ctrl) {
		cl->ctrl_queued = 0;
		cl->ctrl_waits++;
		client_pause(cl, CLIENT_PAUSE_CTRL, NULL);
	}
	client_wait_mark(cl, text, len, ctrl ? PEND_CTRL : PEND_TEXT);
}

/* PING: PONG once the shards applied everything sent before it. */
static void client_on_ping(struct client *cl)
{
	if (cl->connected)
		cl->first_pong = true; /* from now on it may get an INFO at any time */
	client_barrier(cl, PROTO_PONG_LINE, sizeof(PROTO_PONG_LINE) - 1, false);
}

/* After CLIENT_CTRL_MAX subscription changes, stop reading the connection
 * until the shards applied them. */
void client_ctrl_bound(struct client *cl)
{
	if (RB_UNLIKELY(cl->ctrl_queued >= CLIENT_CTRL_MAX))
		client_barrier(cl, NULL, 0, true);
}

/* The credentials of CONNECT; *@who: the user's permissions and account. */
static bool client_check_auth(struct client *cl, struct auth_who *who)
{
	const struct auth *a = server_live_auth(server_live(cl->t->srv), cl->ws != NULL);
	if (cl->opts.nkey) {
		char nonce[NKEY_NONCE_LEN + 1];
		nkey_nonce(cl->t->srv->nonce_key, cl->cid, nonce);
		return auth_check_nkey(a, cl->opts.nkey, cl->opts.sig, nonce, who);
	}
	const struct connect_opts *o = &cl->opts;
	bool anonymous = !o->user && !o->pass && !o->auth_token;
	*who = auth_user_who(a, anonymous ? auth_no_auth_user(a) : o->user);
	return auth_check(a, o->user, o->pass, o->auth_token);
}

static bool client_auth_required(struct client *cl)
{
	return auth_required(server_live_auth(server_live(cl->t->srv), cl->ws != NULL));
}

static void client_on_connect(struct client *cl, const struct proto_frame *f)
{
	char why[128] = "invalid CONNECT";
	int ret = connect_opts_parse(&cl->opts, f->arg.ptr, f->arg.len, why, sizeof(why));
	if (ret) {
		const char *text = connect_err_text(ret);
		if (text) {
			client_err(cl, text, true);
		} else {
			client_log_closing(cl, why);
			cl->close_why = CLIENT_CLOSE_PROTOCOL;
			client_quit(cl, NULL, 0);
		}
		return;
	}
	struct auth_who who = {0};
	if (client_auth_required(cl) && !client_check_auth(cl, &who)) {
		client_err(cl, "Authorization Violation", true);
		return;
	}
	cl->acc = who.acc;
	cl->auth_secret = who.secret;
	if (!client_perm_connect(cl, who.perms)) {
		log_error("cid %llu: out of memory for its permissions: closing",
		          (unsigned long long)cl->cid);
		io_conn_close(cl->c, false);
		return;
	}
	cl->connected = true;
	client_ok(cl);
}

static void client_trace(struct client *cl, const struct proto_frame *f)
{
	static const char *const names[] = {
	    "?",    "CONNECT", "PUB",  "HPUB", "SUB", "UNSUB", "PING", "PONG", "INFO", "MSG",
	    "HMSG", "+OK",     "-ERR", "RS+",  "RS-", "RMSG",  "HMSG", "LS+",  "LS-",  "LMSG"};
	const char *name = (size_t)f->op < RB_ARRAY_LEN(names) ? names[f->op] : "?";
	log_trace("cid %llu <- %s %.*s %.*s %.*s %.*s", (unsigned long long)cl->cid, name,
	          (int)f->subject.len, f->subject.ptr, (int)f->reply.len, f->reply.ptr,
	          (int)f->queue.len, f->queue.ptr, (int)f->sid.len, f->sid.ptr);
}

/* The client sent -ERR: as nats-server, logged ("Client Error '<text>'") and
 * closed, with no -ERR back. */
static void client_on_peer_err(struct client *cl, const struct proto_frame *f)
{
	char text[160];
	snprintf(text, sizeof(text), "Client Error '%.*s'",
	         (int)(f->arg.len < 128 ? f->arg.len : 128), f->arg.ptr);
	client_log_closing(cl, text);
	cl->close_why = CLIENT_CLOSE_PARSE;
	client_quit(cl, NULL, 0);
}

static void client_op(struct client *cl, const struct proto_frame *f)
{
	if (RB_UNLIKELY(log_enabled(LOG_TRACE)))
		client_trace(cl, f);
	if (RB_UNLIKELY(cl->kind != NULL)) {
		cl->kind->op(cl, f);
		return;
	}
	if (RB_UNLIKELY(!cl->connected && client_auth_required(cl) && f->op != PROTO_OP_CONNECT)) {
		client_err(cl, "Authorization Violation", true);
		return;
	}
	switch (f->op) {
	case PROTO_OP_PUB:
	case PROTO_OP_HPUB:
		client_on_pub(cl, f);
		break;
	case PROTO_OP_SUB:
		client_on_sub(cl, f);
		client_ctrl_bound(cl);
		break;
	case PROTO_OP_UNSUB:
		client_on_unsub(cl, f);
		client_ctrl_bound(cl);
		break;
	case PROTO_OP_PING:
		client_on_ping(cl);
		break;
	case PROTO_OP_PONG:
		cl->pings_out = 0;
		break;
	case PROTO_OP_CONNECT:
		client_on_connect(cl, f);
		break;
	case PROTO_OP_ERR:
		client_on_peer_err(cl, f);
		break;
	default:
		client_err(cl, "Unknown Protocol Operation", true);
		break;
	}
}

/* ---- io_ops ---- */

/* @c is over max_connections: INFO first, as nats-server does (clients
 * parse it before the -ERR; an adopted TLS connection already got its
 * INFO), the -ERR, closed. */
static void client_refuse_full(struct iothr *t, const struct live *lv, struct io_conn *c)
{
	static const char full[] = "-ERR 'maximum connections exceeded'\r\n";
	uint64_t cid = c->adopted ? c->adopt_tag & (CLIENT_ADOPT_WS - 1) : client_new_cid();
	if (log_ratelimit_ok(&t->client_log, clock_now_ns()))
		log_error("%s:%u - cid:%llu - maximum connections exceeded", c->peer_ip,
		          c->peer_port, (unsigned long long)cid);
	if (!c->adopted) {
		char info[4096];
		io_conn_write(c, info,
		              client_info(t->srv, lv, cid, c->peer_ip, false, info, sizeof(info)));
	}
	io_conn_write(c, full, sizeof(full) - 1);
	io_conn_close(c, true);
}

int client_on_open(void *ctx, struct io_conn *c)
{
	struct iothr *t = ctx;
	struct server *s = t->srv;
	const struct live *lv = server_live(s);
	/* relaxed: a count, not a guard of other data */
	unsigned before = atomic_fetch_add_explicit(&s->nclients, 1, memory_order_relaxed);
	bool over = before >= lv->max_connections;
	if (over) {
		atomic_fetch_sub_explicit(&s->nclients, 1, memory_order_relaxed);
		/* a WebSocket client is refused after its upgrade (router/wsconn.c) */
		if (!c->adopted || !(c->adopt_tag & CLIENT_ADOPT_WS)) {
			client_refuse_full(t, lv, c);
			return 0;
		}
	}
	struct client *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		if (!over)
			atomic_fetch_sub_explicit(&s->nclients, 1, memory_order_relaxed);
		return -ENOMEM;
	}
	cl->over_max = over;
	if (!over) {
		t->total_connections++;
		if (before + 1 > t->clients_high)
			t->clients_high = before + 1;
	}
	cl->start_wall_ns = clock_wall_ns();
	cl->c = c;
	cl->t = t;
	/* An adopted (TLS) connection got its INFO, with this id, before the
	 * handshake. */
	cl->cid = c->adopted ? c->adopt_tag & (CLIENT_ADOPT_WS - 1) : client_new_cid();
	cl->opened_ns = cl->last_in_ns = cl->last_ping_ns = clock_now_ns();
	proto_parser_init(&cl->parser, PROTO_SIDE_SERVER, lv->max_payload);
	proto_parser_set_max_control(&cl->parser, lv->max_control_line);
	connect_opts_init(&cl->opts);
	map_init(&cl->by_sid);
	map_init(&cl->by_id);
	map_init(&cl->responses);
	c->user = cl;

	if (!c->adopted) {
		char info[4096];
		size_t n = client_info(s, lv, cl->cid, c->peer_ip, false, info, sizeof(info));
		io_conn_write(c, info, n);
	}
	log_debug("cid %llu %s:%u: connected", (unsigned long long)cl->cid, c->peer_ip,
	          c->peer_port);
	return 0;
}

size_t client_parse(struct client *cl, struct io_conn *c, const char *data, size_t len)
{
	size_t done = 0;
	while (done < len) {
		size_t used = 0;
		struct proto_frame f;
		int r = proto_parse(&cl->parser, data + done, len - done, &used, &f);
		done += used;
		if (r == 0)
			break;
		if (r < 0) {
			const char *text = proto_err_text(r);
			if (text) {
				client_err(cl, text, true);
			} else {
				client_log_closing(cl, r == PROTO_ERR_NOMEM
				                           ? "out of memory for its input"
				                           : "malformed arguments");
				if (r != PROTO_ERR_NOMEM)
					cl->close_why = CLIENT_CLOSE_PROTOCOL;
				client_quit(cl, NULL, 0);
			}
			return len;
		}
		client_op(cl, &f);
		if (io_conn_is_closing(c) || cl->quitting)
			return len;
		if (RB_UNLIKELY(cl->pause_reasons))
			break;
	}
	return done;
}

void client_on_data(void *ctx, struct io_conn *c, const char *data, size_t len)
{
	(void)ctx;
	struct client *cl = c->user;
	cl->last_in_ns = io_loop_now(c->loop);
	if (cl->quitting)
		return;
	size_t used = 0;
	if (!cl->pause_reasons && !client_stashed(cl)) {
		used = client_parse(cl, c, data, len);
		if (io_conn_is_closing(c) || cl->quitting)
			return;
	}
	if (used < len && client_stash(cl, data + used, len - used) != 0) {
		log_error("cid %llu: out of memory for paused input: closing",
		          (unsigned long long)cl->cid);
		io_conn_close(c, false);
	}
}

/* After this many connections closed, counted down from the most that were
 * open (so steady churn, which reuses what it frees, asks for nothing), the
 * main thread is asked for a malloc_trim: glibc keeps the freed buffers in
 * the I/O thread's arena otherwise (10,000 closed connections left about
 * 100 MiB behind, more after each round; docs/HARDENING.md). */
#define CLIENT_TRIM_CLOSED 1000

void client_on_close(void *ctx, struct io_conn *c)
{
	(void)ctx;
	struct client *cl = c->user;
	if (!cl)
		return;
	struct server *s = cl->t->srv;
	if (cl->kind)
		cl->kind->close(cl);
	else
		client_interest_drop(cl);
	unsigned left = cl->route || cl->over_max
	                    ? atomic_load(&s->nclients)
	                    : atomic_fetch_sub_explicit(&s->nclients, 1, memory_order_relaxed) - 1;
	if (cl->t->clients_high - left >= CLIENT_TRIM_CLOSED) {
		server_want_trim(s);
		cl->t->clients_high = left;
	}
	client_unpause_all(cl);
	client_release_all(cl); /* publishers this subscriber held back may go on */
	free(cl->held_pubs);
	cl->t->in_msgs += cl->in_msgs;
	cl->t->out_msgs += cl->out_msgs;
	cl->t->in_bytes += cl->in_bytes;
	cl->t->out_bytes += cl->out_bytes;
	/* Tell the shards that may hold our subscriptions to drop them. */
	for (uint32_t sh = 0; sh < (uint32_t)s->nshards; sh++) {
		if (cl->sub_shards[sh / 64] & (1ull << (sh % 64)))
			client_add(cl, sh, MENTRY_CLOSE, 0);
	}
	map_fini(&cl->by_sid);
	client_bury(cl);
	proto_parser_fini(&cl->parser);
	connect_opts_fini(&cl->opts);
	client_pend_free(cl);
	client_inflight_free(cl);
	client_perm_free(cl);
	client_stash_free(cl);
	free(cl->route);
	log_debug("cid %llu %s:%u: closed (%llu msgs in, %llu out)", (unsigned long long)cl->cid,
	          c->peer_ip, c->peer_port, (unsigned long long)cl->in_msgs,
	          (unsigned long long)cl->out_msgs);
	free(cl);
	c->user = NULL;
}

static void client_tick_one(struct io_conn *c, void *arg)
{
	uint64_t now = *(uint64_t *)arg;
	struct client *cl = c->user;
	const struct live *cfg = server_live(cl->t->srv);
	if (RB_UNLIKELY(cl->hold_ticks))
		return;
	if (RB_UNLIKELY(cl->kind != NULL)) {
		cl->kind->tick(cl, now);
		return;
	}
	client_perm_tick(cl, now);
	if (RB_UNLIKELY(io_conn_stalled_ns(c, now) >
	                (uint64_t)cl->t->srv->cfg.write_deadline_ms * 1000000u) &&
	    client_missed_deadline(cl, now))
		return;
	uint32_t auth_ms = cl->ws ? cfg->ws_auth_timeout_ms : cfg->auth_timeout_ms;
	if (!cl->connected && client_auth_required(cl) &&
	    now - cl->opened_ns > (uint64_t)auth_ms * 1000000u) {
		client_err(cl, "Authentication Timeout", true);
		return;
	}
	uint64_t interval = (uint64_t)cfg->ping_interval_ms * 1000000u;
	if (cl->pause_reasons) {
		/* We stopped reading it: its PONGs wait in the kernel. Not stale. */
		cl->pings_out = 0;
		cl->last_ping_ns = now;
		return;
	}
	if (now - cl->last_ping_ns < interval)
		return;
	cl->last_ping_ns = now;
	if (now - cl->last_in_ns < interval)
		return; /* heard from it recently: no need to ask (as nats-server) */
	if (cl->pings_out + 1 > cfg->ping_max) {
		client_err(cl, "Stale Connection", true);
		return;
	}
	cl->pings_out++;
	io_conn_write(c, PROTO_PING_LINE, sizeof(PROTO_PING_LINE) - 1);
}

/* The peer half-closed: answer what it sent (its own messages included),
 * then close. Input stashed while it was paused is parsed first. */
void client_on_eof(void *ctx, struct io_conn *c)
{
	(void)ctx;
	struct client *cl = c->user;
	cl->close_why = CLIENT_CLOSE_CLIENT;
	if (cl->pause_reasons || client_stashed(cl)) {
		cl->eof_pending = true;
		return;
	}
	client_quit(cl, NULL, 0);
}

/* Every tick (100 ms): subscribers that hold publishers back are checked
 * for progress; once a second every connection (pings, deadlines). */
void client_on_tick(void *ctx, uint64_t now)
{
	struct iothr *t = ctx;
	client_check_holders(t, now);
	client_inflight_tick(t, now);
	if (now - t->last_slow_tick < 1000000000ull)
		return;
	t->last_slow_tick = now;
	io_loop_foreach(t->loop, client_tick_one, &now);
}
