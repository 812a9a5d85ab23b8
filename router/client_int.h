/* The per-connection protocol state shared by router/client.c (operations
 * in), router/deliver.c (deliveries out, subscriber-side admission) and
 * router/iothr*.c (the I/O thread's poll, publisher pauses, statistics).
 * Private to router/. */
#ifndef ROUTER_CLIENT_INT_H
#define ROUTER_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/copy.h"
#include "core/map.h"
#include "io/proto/connect.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/admission.h"
#include "router/batch.h"
#include "router/client.h"
#include "router/iothr.h"
#include "router/server.h"

#define CLIENT_SHARD_WORDS (CONFIG_MAX_SHARDS / 64)
#define CLIENT_ALL_SHARDS  UINT32_MAX

enum client_pause {
	CLIENT_PAUSE_SHARD = 1 << 0,      /* a shard it publishes to is over its mark */
	CLIENT_PAUSE_PROCESS = 1 << 1,    /* the process is over its mark */
	CLIENT_PAUSE_SUBSCRIBER = 1 << 2, /* a subscriber asked (defer policy) */
	CLIENT_PAUSE_CTRL = 1 << 3,       /* too many of its SUB/UNSUBs not yet applied */
};

/* Subscription changes (shard entries) a connection may have queued to the
 * shards before its reads pause until they are applied: a pipelined storm of
 * SUBs must not fill the shard queues ahead of everyone else's messages. */
#define CLIENT_CTRL_MAX 64

/* Subjects up to this long are remembered for the next PUB (client.last_*). */
#define CLIENT_LAST_SUBJ_MAX 48

/* The longest MSG head client.head keeps (a multiple of 16: it is copied
 * 16 bytes at a time). */
#define CLIENT_HEAD_MAX 64

/* A subscription as its connection knows it. Owner: the I/O thread. */
struct csub {
	uint64_t svc_ref;   /* a queue subscription's service reference (router/service.h), or 0 */
	struct csub *hnext; /* next with the same sid hash */
	uint64_t sid_hash;
	uint64_t max; /* auto-unsubscribe after this many deliveries; 0 = never */
	uint64_t delivered;
	uint32_t subid;
	uint32_t shard;      /* CLIENT_ALL_SHARDS for a wildcard subject */
	uint32_t unsub_acks; /* shards yet to acknowledge its UNSUB */
	bool unsubscribed;   /* UNSUB sent; its sid is free again */
	uint16_t sid_len;
	uint16_t subject_len;
	uint16_t queue_len;
	bool perm_filter; /* overlaps a deny entry: each delivery is checked */
	uint8_t remote;   /* 0: a client's SUB; CSUB_ROUTE (RS+) or CSUB_LEAF (LS+) */
	uint32_t weight;  /* a route's queue interest: the members it has there */
	uint16_t acc;     /* its account: the client's, or the one a route's RS+ names */
	char *sid;        /* all three NUL-terminated in str[] */
	char *subject;
	char *queue;
	char str[];
};

enum pend_kind {
	PEND_TEXT = 0, /* write @text */
	PEND_CTRL,     /* no text: the end of a CLIENT_PAUSE_CTRL wait */
	PEND_CLOSE,    /* write @text (maybe empty), then close once it is sent */
};

/* A reply that must wait for a mark in the route log: sent when @waiting is
 * cleared and everything queued before it was sent. Most replies (+OK, PONG,
 * -ERR) fit inline; a longer one (the INFO of lame duck mode) is copied to
 * the heap, never cut. */
#define PEND_INLINE 112
struct pend {
	bool waiting;
	uint8_t kind; /* enum pend_kind */
	uint32_t len;
	char *big; /* the text when len > PEND_INLINE, else NULL */
	char text[PEND_INLINE];
};

void client_pend_free(struct client *cl);

/* A request delivered to this connection as a queue member, waiting for
 * its reply (router/client_inflight.c). */
struct inflight_req {
	uint64_t ref;  /* the member's service reference */
	uint64_t hash; /* of the reply subject */
	uint64_t sent_ns;
	uint64_t next; /* sequence + 1 of the next live request with this hash, or 0 */
	uint64_t tail; /* in the oldest of them: the sequence of the newest */
	bool live;     /* false: replied (or dropped) before it reached the head */
};

/* Requests in flight at one member connection: a ring in the order they
 * were delivered (expiry takes the oldest first), and the reply subjects'
 * hashes to find one when the member publishes. Requests that share a reply
 * subject (a requester that tells its replies apart by their contents) form
 * a chain from the oldest: a reply answers the oldest, as a member that
 * serves in order does. */
struct inflight {
	struct inflight_req *r;
	uint64_t head_seq; /* sequence of the oldest; entry s is r[s & (cap - 1)] */
	uint32_t n;
	uint32_t cap; /* a power of two */
	uint32_t live;
	bool listed;        /* in its thread's members list */
	struct map by_hash; /* reply hash -> sequence + 1 of the oldest live one */
};

/* Owner: the I/O thread of the connection. */
struct client {
	struct io_conn *c;
	struct iothr *t;
	struct proto_parser parser;
	struct connect_opts opts;
	bool connected;
	struct map by_sid; /* sid hash -> csub chain */
	struct map by_id;  /* subid -> csub */
	uint32_t next_subid;
	uint32_t nsubs;
	uint64_t sub_shards[CLIENT_SHARD_WORDS]; /* shards that may hold our subscriptions */
	struct pend *pend;
	uint32_t pend_head;
	uint32_t pend_n;
	uint32_t pend_cap; /* power of two */
	uint32_t pend_seq; /* sequence of pend[pend_head] */
	uint32_t pings_out;
	/* The subject this connection last published to, its shard and the
	 * checks made on it: most publishers send to the same subject again
	 * and again. A check made on a new subject leaves its result in pend_*,
	 * which the publish of that subject stores with it (never a mapped
	 * subject published for it: client_publish_acc's @remember). */
	uint32_t last_shard;
	bool last_pub_ok;   /* permissions: may publish to last_subj */
	bool last_no_rules; /* accounts: last_subj triggers no import (router/client_acc.c) */
	bool pend_pub_ok;
	bool pend_no_rules;
	uint8_t last_subj_len; /* 0: none cached */
	char last_subj[CLIENT_LAST_SUBJ_MAX];
	struct csub *last_cs; /* the subscription last delivered to (NULL: none) */
	/* The MSG head last written (router/deliver.c), "MSG <subject> <sid>
	 * <size>\r\n" without a reply, for subscription @head_subid: a
	 * subscriber usually gets one subject at one size again and again, and
	 * copying the head costs less than writing it. head_len 0: none. */
	uint32_t head_subid;
	uint32_t head_size;
	uint8_t head_len;
	uint8_t head_subj_len;
	char head[CLIENT_HEAD_MAX];
	uint32_t ctrl_queued; /* SUB/UNSUB entries since the last subscription mark */
	uint32_t ctrl_waits;  /* subscription marks not yet reached */
	bool quitting;        /* closes after what it sent so far: parse nothing more */
	bool first_pong;      /* a PING after CONNECT was answered: async INFO may follow (as
	                         nats-server's firstPongSent) */
	bool eof_pending;     /* the peer half-closed; quit once its input is parsed */
	uint64_t opened_ns;
	uint64_t last_in_ns;
	uint64_t last_ping_ns;
	uint64_t cid;
	uint64_t in_msgs;
	uint64_t in_bytes;
	uint64_t out_msgs;
	uint64_t out_bytes;
	uint64_t start_wall_ns;
	/* admission: reads paused (publisher side) */
	uint32_t pause_reasons; /* CLIENT_PAUSE_* */
	uint32_t sub_pauses;    /* subscribers that asked to pause this publisher */
	uint64_t wait_shards[CLIENT_SHARD_WORDS]; /* shards over their mark we wait for */
	uint64_t paused_since;
	struct adm_policy *pause_policy; /* charged with the time deferred */
	/* input read while paused and not parsed yet: a chain of blocks, from
	 * @stash_off of the first to the end of the last (router/client_stash.c);
	 * batches may hold a block (payloads left there) */
	struct mblock *stash;
	struct mblock *stash_tail;
	size_t stash_off;
	/* admission: this connection as a subscriber */
	bool sub_over;    /* its queue crossed a high mark, not yet below the low */
	bool stalled;     /* made no progress for its policy's defer_max: holds no one */
	uint64_t sub_low; /* the low mark of the policy that crossed */
	struct adm_policy *over_policy; /* the policy whose mark it crossed */
	/* the policy of the subject last delivered over the mark (a subscriber
	 * over its mark gets many messages of one subject in a row) */
	const struct admission *pol_adm;
	struct adm_policy *pol;
	uint8_t pol_subj_len; /* 0: none */
	char pol_subj[CLIENT_LAST_SUBJ_MAX];
	struct inflight *inflight; /* as a queue member (NULL: none yet) */
	/* permissions (router/perm.h): its own copy, NULL when unrestricted;
	 * with allow_responses, the reply subjects it may answer: hash ->
	 * (deadline in ms << 16 | replies sent) */
	struct perms *perms;
	uint16_t acc;         /* its account (router/account.h) */
	uint64_t auth_secret; /* the fingerprint of the password it logged in with (auth_who) */
	struct map responses;
	uint64_t perm_violations;
	struct route_link *route;       /* a route connection (router/route.h), else NULL */
	const struct client_kind *kind; /* how a route differs (NULL: a client) */
	int interest_src; /* a route's or leaf's interest reader + 1 (router/interest.h), 0: none */
	struct wsconn *ws; /* a WebSocket client's framing (router/wsconn.h), else NULL: owned by
	                      iothr's on_close, not by the client files */
	bool hold_ticks;   /* no pings or timeouts yet: its WebSocket handshake is not done */
	const char *close_err; /* the -ERR (static text) it is closed with, or NULL */
	uint8_t close_why;     /* enum client_close_why: why it is closed without an -ERR */
	bool over_max;         /* a WebSocket client over max_connections: not counted in
	                          nclients, refused once its upgrade is answered */
	uint64_t *held_pubs;   /* publishers it asked to pause */
	uint32_t nheld_pubs;
	uint32_t held_cap;
	uint64_t drops;
};

/* Why the server closes a client without an -ERR, for the close frame a
 * WebSocket client then gets (router/wsconn.c, as nats-server's reasons).
 * Unsaid: no close frame (a slow consumer, an I/O error), as nats-server,
 * which skips it where it does not flush. */
enum client_close_why {
	CLIENT_CLOSE_UNSAID = 0,
	CLIENT_CLOSE_CLIENT,   /* the peer half-closed: 1000 "Client Closed" */
	CLIENT_CLOSE_SHUTDOWN, /* lame duck mode, the server's stop: 1001 "Server Shutdown" */
	CLIENT_CLOSE_PROTOCOL, /* malformed input without an -ERR: 1002 "Protocol Violation" */
	CLIENT_CLOSE_PARSE,    /* the client sent -ERR: 1002 "Parse Error" */
};

/* What a connection that is not a client's does instead (a route's:
 * router/route_link.c). Callbacks, so that the client's files need not call
 * the route's, which call theirs. */
struct client_kind {
	void (*op)(struct client *cl, const struct proto_frame *f);
	void (*deliver)(struct client *cl, const struct delivery *d);
	void (*tick)(struct client *cl, uint64_t now);
	void (*close)(struct client *cl);
	/* writes what deliver() gathered on @t (a route's RMSG) */
	void (*flush)(struct iothr *t);
};

/* Writes what a connection of another kind gathered from the deliveries
 * handled so far (they point into a dbatch about to be freed). */
static inline void client_kind_flush(struct iothr *t)
{
	if (RB_UNLIKELY(t->rpend.cl != NULL))
		t->rpend.cl->kind->flush(t);
}

/* A thread's list of connections (holders, members, routes): appends @cl,
 * growing the array (first @first slots). False when out of memory. */
static inline bool client_list_add(struct client ***v, uint32_t *n, uint32_t *cap, uint32_t first,
                                   struct client *cl)
{
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : first;
		struct client **a = realloc(*v, c * sizeof(*a));
		if (!a)
			return false;
		*v = a;
		*cap = c;
	}
	(*v)[(*n)++] = cl;
	return true;
}

/* Removes @cl from such a list (order is not kept). */
static inline void client_list_del(struct client **v, uint32_t *n, const struct client *cl)
{
	for (uint32_t i = 0; i < *n; i++)
		if (v[i] == cl) {
			v[i] = v[--*n];
			return;
		}
}

static inline void client_bit_set(uint64_t *w, uint32_t i)
{
	w[i / 64] |= 1ull << (i % 64);
}

/* ---- router/client_reply.c ---- */

/* Sends @text now, or after the replies still waiting for marks. */
void client_reply(struct client *cl, const char *text, size_t len);
/* +OK when the connection is verbose. */
void client_ok(struct client *cl);
/* Queues @text (or @kind's action) behind a mark in the route log. */
void client_wait_mark(struct client *cl, const char *text, size_t len, enum pend_kind kind);
/* Logs, rate-limited, why @cl is closed for what it sent. */
void client_log_closing(struct client *cl, const char *reason);
/* -ERR '<text>': with @close, the connection reads nothing more and closes
 * once the results of what it sent before are written (its own messages
 * included), after the -ERR. */
void client_err(struct client *cl, const char *text, bool close);
/* Closes @cl once what it sent before has its results; @text (may be NULL)
 * is written last. */
void client_quit(struct client *cl, const char *text, size_t len);
/* Writes the replies whose marks were reached. @cl may be closed and freed
 * on return when a PEND_CLOSE was reached (check the connection first). */
void client_pend_drain(struct client *cl);
/* The merge reached mark @aux of connection @conn (router/iothr_order.c). */
void client_mark_reached(struct iothr *t, uint64_t conn, uint32_t aux);

/* Appends an entry of @bytes for @shard to this thread's open batch. NULL
 * when out of memory. */
static inline struct mentry *client_add(struct client *cl, uint32_t shard, enum mentry_kind kind,
                                        size_t bytes)
{
	return iothr_add(cl->t, shard, kind, bytes, cl->c->id);
}
/* The subscription numbered @subid, or NULL; the last one found is
 * remembered (a subscriber usually gets many messages in a row for it). */
static inline struct csub *client_csub(struct client *cl, uint32_t subid)
{
	struct csub *cs = cl->last_cs;
	if (cs && cs->subid == subid)
		return cs;
	cs = map_get(&cl->by_id, subid);
	if (cs)
		cl->last_cs = cs;
	return cs;
}
/* ---- router/client.c ---- */

/* The message would take @cl's queue past a mark: its policy decides
 * (router/deliver.c). True when it is to be written. */
bool client_admit_delivery(struct client *cl, const struct delivery *d, size_t need);
/* After CLIENT_CTRL_MAX subscription changes, reads pause until the shards
 * applied them. */
void client_ctrl_bound(struct client *cl);

/* How client_publish_acc() may use the frame it is given. */
enum {
	/* @f's subject is the one @cl sent and the checks just made on it: it
	 * becomes last_subj with their results */
	CLIENT_PUB_REMEMBER = 1u << 0,
	/* @f is published this once: a payload the parser assembled in its
	 * carry may go to the batch with that buffer instead of a copy */
	CLIENT_PUB_SOLE = 1u << 1,
};

/* Payloads of this size or more that the parser assembled (they arrived
 * across two receive buffers) go to the batch in the parser's buffer: the
 * parser allocates another rather than the payload being copied. */
#define CLIENT_OWN_MIN 4096u

/* Routes @f, published in account @acc (router/account.h), to its shard
 * with exactly @flags, unless admission drops it; @how: CLIENT_PUB_*.
 * Counts nothing and answers nothing (client_publish() does). False when
 * @cl was closed (out of memory). */
bool client_publish_acc(struct client *cl, const struct proto_frame *f, uint8_t flags,
                        struct proto_span queues, uint16_t acc, unsigned how);

/* Ends a MSG (or RMSG, LMSG) whose head of @n bytes was written at @out
 * (reserved by io_conn_reserve()): its @body bytes from @p, CRLF; then
 * commits it and counts it. */
static inline void client_commit_msg(struct client *cl, char *out, size_t n, const char *p,
                                     uint32_t body)
{
	copy_small(out + n, p, body);
	n += body;
	out[n++] = '\r';
	out[n++] = '\n';
	io_conn_commit(cl->c, n);
	cl->out_msgs++;
	cl->out_bytes += body;
}

/* A payload this large is sent from the batch it was read into rather than
 * copied into the output (io_conn_write_ref()): one copy in all, however
 * many subscribers. Below it a copy costs less than the iovec and the
 * hold: measured on loopback (docs/PERFORMANCE.md), a message with one
 * delivery was cheaper copied up to 1.5 KiB and by reference from 2 KiB;
 * one with several deliveries by reference from 1 KiB. */
#define CLIENT_REF_MIN        2048u
#define CLIENT_REF_MIN_SHARED 1024u /* DELIVERY_F_SHARED: other deliveries too */

/* A payload this large that arrived whole in one receive buffer stays
 * there: the batch holds the buffer (io_loop_lend()) instead of a copy.
 * Below it the copy is cheaper than a hold. */
#define CLIENT_LEND_MIN 512u
/* ... unless the batches the output already holds take this much: a slow
 * reader of one message in many batches would otherwise keep them all.
 * Twice the default subscriber mark (8 MiB), so that a subscriber held at
 * its mark is still sent by reference rather than copied. */
#define CLIENT_PIN_MAX (16u << 20)

/* True when a payload of @body bytes to @cl goes by reference: reserve
 * only the head, then client_commit_ref(). WebSocket output is framed (and
 * may be compressed) whole: always copied. */
static inline bool client_by_ref(const struct client *cl, uint32_t body, uint16_t dflags)
{
	uint32_t min = dflags & DELIVERY_F_SHARED ? CLIENT_REF_MIN_SHARED : CLIENT_REF_MIN;
	return body >= min && !cl->c->frame && io_conn_pinned(cl->c) < CLIENT_PIN_MAX;
}

/* Ends a MSG (RMSG, LMSG) whose head of @n bytes was written at the end of
 * @cl's output (reserved, not committed): the @body bytes at @p, which live
 * in @b, go by reference (a copy when they cannot), then CRLF; commits and
 * counts it. False when @cl was closed (over max_pending, or no memory).
 * (router/deliver.c) */
bool client_commit_ref(struct client *cl, const struct mbatch *b, size_t n, const char *p,
                       uint32_t body);

/* A message read from @cl was handled: counted, and +OK when verbose. */
static inline void client_published(struct client *cl, const struct proto_frame *f)
{
	cl->in_msgs++;
	cl->in_bytes += f->payload.len;
	client_ok(cl);
}

/* The flags @cl's CONNECT options give a message it publishes. */
static inline uint8_t client_pub_flags(const struct client *cl, const struct proto_frame *f)
{
	uint8_t flags = cl->opts.echo ? 0 : MENTRY_F_NO_ECHO;
	if (cl->opts.no_responders && cl->opts.headers && f->reply.len)
		flags |= MENTRY_F_NO_RESPONDERS;
	return flags;
}

/* Routes @f (a PUB, or a route's RMSG with @flags MENTRY_F_ROUTED and the
 * queue groups it is for in @queues) to its shard, in @cl's account. */
static inline void client_publish(struct client *cl, const struct proto_frame *f, uint8_t flags,
                                  struct proto_span queues)
{
	if (client_publish_acc(cl, f, flags | client_pub_flags(cl, f), queues, cl->acc,
	                       CLIENT_PUB_REMEMBER | CLIENT_PUB_SOLE))
		client_published(cl, f);
}

/* ---- router/client_acc.c ---- */

/* A publish of @cl where accounts are configured: an answer to a request
 * that came through a service import goes back to the requester's account;
 * a subject that exports or imports carry is published in each account
 * concerned as well as in @cl's. True when done; false: publish @f as
 * usual. */
bool client_acc_publish(struct client *cl, const struct proto_frame *f);

/* A message a route (@flags MENTRY_F_ROUTED) sent in account @acc, where
 * accounts are configured: the answer to a request of one of our clients
 * through a service import goes to it; anything else is published in @acc
 * for this server's clients, and copied here for each stream import of it
 * (router/account.h). */
void client_acc_routed(struct client *cl, const struct proto_frame *f, uint8_t flags, uint16_t acc);

/* ---- router/route_link.c ---- */

/* on_open for an adopted route socket. */
int client_open_route(struct iothr *t, struct io_conn *c);

/* ---- router/client_sub.c (route interest) ---- */

/* A route's RS+ (@add) or RS- on @subject in @queue (empty: none) of
 * account @acc, with the @weight an RS+ with a queue gives (the members the
 * peer has: a route is picked for the group in proportion to it, as
 * nats-server does; a leaf counts as one). A weight that changes reaches
 * the shards as the same SUB again. False when the subject or queue is not
 * valid. */
#define CSUB_ROUTE 1
#define CSUB_LEAF  2
bool client_sub_remote(struct client *cl, struct proto_span subject, struct proto_span queue,
                       bool add, uint8_t kind, uint16_t acc, uint32_t weight);
/* A client closes: its subscriptions leave the interest routes are told. */
void client_interest_drop(struct client *cl);

/* ---- router/client_inflight.c ---- */

/* Request @reply (delivered now at @now through @cs) waits for its reply. */
void client_inflight_add(struct client *cl, const struct csub *cs, const char *reply, size_t len,
                         uint64_t now);
/* @cl published on @subj: the reply to one of its requests? */
void client_inflight_reply(struct client *cl, const char *subj, size_t len, uint64_t now);
/* Every tick: requests without a reply for the expiry are given back; the
 * shards with waiting requests are kicked. */
void client_inflight_tick(struct iothr *t, uint64_t now);
/* Frees @cl's requests (it closes). */
void client_inflight_free(struct client *cl);

/* ---- router/client_perm.c ---- */

/* Permissions at CONNECT: copies the user's (NULL: none). False when out
 * of memory. */
bool client_perm_connect(struct client *cl, const struct perms *p);
/* May @cl publish @f? Answers -ERR when it may not (the connection stays). */
bool client_perm_publish(struct client *cl, const struct proto_frame *f);
/* A reply subject that only servers hand out (a service import's "_R_.",
 * a gateway's "_GR_.", JetStream's "$JS.ACK.") is refused from a client,
 * with or without permissions, as nats-server 2.9.10 refuses it: -ERR,
 * counted, logged. False when refused. */
bool client_perm_reply(struct client *cl, const struct proto_frame *f);
/* May @cl subscribe as @f says? Answers -ERR when not; sets *@filter. */
bool client_perm_subscribe(struct client *cl, const struct proto_frame *f, bool *filter);
/* A message with reply @reply was delivered to @cl: with allow_responses it
 * may answer it. */
void client_perm_request(struct client *cl, const char *reply, size_t len, uint64_t now);
/* Every tick: forgets the expired replies @cl could have sent. */
void client_perm_tick(struct client *cl, uint64_t now);
void client_perm_free(struct client *cl);

/* ---- router/client_perm_reload.c ---- */

/* A reload put @lv in force: @cl takes its user's permissions from it, and
 * each subscription they no longer allow is removed, the client told as
 * nats-server tells it. */
void client_perm_reload(struct client *cl, const struct live *lv);

/* ---- router/client_sub.c ---- */

/* SUB and UNSUB of a connection. */
void client_on_sub(struct client *cl, const struct proto_frame *f);
void client_on_unsub(struct client *cl, const struct proto_frame *f);
/* Unsubscribes @cs: tells its shards, frees its sid now and the entry once
 * every shard acknowledged (client_unsub_acked()). */
void client_unsub(struct client *cl, struct csub *cs);
/* A shard applied the UNSUB of subscription @subid. */
void client_unsub_acked(struct client *cl, uint32_t subid);

/* Stops reading @cl for @reason (admission, charged to policy @p; NULL for
 * CLIENT_PAUSE_CTRL); resumed by iothr_poll() when every reason has cleared.
 * (router/iothr_out.c, with the paused list.) */
void client_pause(struct client *cl, enum client_pause reason, struct adm_policy *p);
/* Takes the paused client at @i off its thread's list and reads it again. */
void iothr_unpause_at(struct iothr *t, uint32_t i, uint64_t now);
/* Parses @data until it is used up, the connection closes or its reads are
 * paused. Returns the bytes used. (router/client.c) */
size_t client_parse(struct client *cl, struct io_conn *c, const char *data, size_t len);
/* Frees a slice of the subscriptions closed connections left on @t (all of
 * them with @all). Returns true when there were any. */
bool client_graves_reap(struct iothr *t, bool all);
/* @cl closes: its subscriptions are freed now, or a slice per poll when
 * there are many (router/client_sub.c). */
void client_bury(struct client *cl);
/* Removes @cl from its thread's paused list (closing). */
void client_unpause_all(struct client *cl);

/* Lame duck mode (router/client_ldm.c): the INFO with "ldm":true to every
 * client that takes async INFO; and closing up to @n clients now, each
 * once what it sent has its results. Returns how many it closed. */
void client_ldm_info_all(struct iothr *t);
uint32_t client_ldm_close(struct iothr *t, uint32_t n);
/* The server stops: closes every connection of @t after its output, its
 * clients as shut down (a WebSocket's close frame says so). */
void client_stop_all(struct iothr *t);

/* Answers the request @reply of @cl with a 503 status through its own
 * subscription matching the reply subject. True when one was sent. */
bool client_send_503(struct client *cl, const char *reply, size_t reply_len);

/* Handles one result or forwarded delivery for a connection of @t. */
void client_deliver_one(struct iothr *t, const struct delivery *d);
/* Handles a dbatch another thread (or this one) forwarded, and frees it. */
void client_deliver(struct iothr *t, struct dbatch *db);

/* ---- router/client.c: the loop's callbacks for a connection ---- */

int client_on_open(void *ctx, struct io_conn *c);
void client_on_data(void *ctx, struct io_conn *c, const char *data, size_t len);
void client_on_close(void *ctx, struct io_conn *c);
void client_on_tick(void *ctx, uint64_t now);
void client_on_eof(void *ctx, struct io_conn *c);

/* ---- router/deliver.c ---- */

/* Subscriber side: called after a send of @c completed. */
void client_on_sent(void *ctx, struct io_conn *c);
/* Subscriber side, every tick: subscribers holding publishers that stopped
 * making progress let them go. */
void client_check_holders(struct iothr *t, uint64_t now);
/* Subscriber side: @cl closes; the publishers it holds may go on. */
void client_release_all(struct client *cl);
/* Subscriber side: @cl made no progress for write_deadline. Applies its
 * policy (closes it as a slow consumer unless the policy drops instead).
 * Returns true when @cl was closed. */
bool client_missed_deadline(struct client *cl, uint64_t now);
/* The process is over its mark: @cl, if it stopped reading (no progress
 * for its policy's defer_max) under a defer policy whose fallback is
 * disconnect, is closed now rather than at its next delivery, which does
 * not come while every publisher is deferred. True when it was closed. */
bool client_drop_stalled(struct client *cl, uint64_t now);

#endif /* ROUTER_CLIENT_INT_H */
