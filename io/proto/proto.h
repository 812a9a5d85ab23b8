/* The NATS wire codec: a streaming, zero-copy parser for the operations each
 * side sends (clients, servers to clients, route and leaf-node peers), and the
 * encoders for what the other side reads. Behaviour on bad input follows
 * nats-server 2.9 (see docs/DESIGN.md; route and leaf wire facts in
 * tests/io/test_proto_route.c). */
#ifndef IO_PROTO_PROTO_H
#define IO_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* The longest control line by default (nats-server's max_control_line);
 * a server-side parser may be given another, up to PROTO_CONTROL_LINE_LIMIT. */
#define PROTO_MAX_CONTROL_LINE    4096u
#define PROTO_CONTROL_LINE_LIMIT  (1024u * 1024u)
#define PROTO_DEFAULT_MAX_PAYLOAD (1024u * 1024u)

enum proto_op {
	PROTO_OP_NONE = 0,
	/* sent by clients, parsed by the server side */
	PROTO_OP_CONNECT,
	PROTO_OP_PUB,
	PROTO_OP_HPUB,
	PROTO_OP_SUB,
	PROTO_OP_UNSUB,
	/* sent by both sides */
	PROTO_OP_PING,
	PROTO_OP_PONG,
	/* sent by servers, parsed by the client side (ringbus-load, tests) */
	PROTO_OP_INFO,
	PROTO_OP_MSG,
	PROTO_OP_HMSG,
	PROTO_OP_OK,
	PROTO_OP_ERR,
	/* sent by route and leaf-node peers, parsed by PROTO_SIDE_ROUTE and
	 * PROTO_SIDE_LEAF (which also return CONNECT INFO PING PONG +OK -ERR) */
	PROTO_OP_RS_PLUS,  /* RS+: interest in a subject (and queue group) */
	PROTO_OP_RS_MINUS, /* RS-: that interest is gone */
	PROTO_OP_RMSG,     /* RMSG: a message */
	PROTO_OP_RHMSG,    /* HMSG on a route or leaf link: a message with headers */
	PROTO_OP_LS_PLUS,  /* LS+: leaf interest (on a route: leaf-origin interest) */
	PROTO_OP_LS_MINUS, /* LS- */
	PROTO_OP_LMSG,     /* LMSG: a leaf message (on a route: leaf-origin message) */
};

/* Which operations a parser accepts: a server parses what clients send. A
 * route or leaf link speaks the same in both directions. */
enum proto_side {
	PROTO_SIDE_SERVER = 0,
	PROTO_SIDE_CLIENT,
	PROTO_SIDE_ROUTE,
	PROTO_SIDE_LEAF,
};

/* Parse outcomes (negative). Each names the -ERR text nats-server sends for it,
 * or none; proto_err_text() gives the text and proto_err_closes() whether the
 * connection must close (every one of these closes). */
enum proto_err {
	PROTO_ERR_UNKNOWN_OP = -1,   /* 'Unknown Protocol Operation' */
	PROTO_ERR_CONTROL_LINE = -2, /* 'maximum control line exceeded' */
	PROTO_ERR_MAX_PAYLOAD = -3,  /* 'Maximum Payload Violation' */
	PROTO_ERR_BAD_ARGS = -4,     /* malformed arguments (or a bad INFO): close, no
	                              * -ERR line */
	PROTO_ERR_NOMEM = -5,        /* could not grow the carry buffer */
};

/* A view into the input (or into the parser's carry buffer). Not terminated. */
struct proto_span {
	const char *ptr;
	uint32_t len;
};

/* One parsed operation. Spans not used by the operation have len 0. Valid
 * until the next proto_parse() call on the same parser.
 *
 * Route and leaf operations, as fields (? = optional):
 *   route RS+    account subject queue? weight     leaf LS+    subject queue? weight
 *   route RS-    account subject queue?            leaf LS-    subject queue?
 *   route LS+    origin account subject queue? weight
 *   route LS-    account subject queue?            (no origin: removal as RS-)
 *   route RMSG   account subject reply? queues? payload
 *   route RHMSG  account subject reply? queues? hdr_len payload
 *   route LMSG   origin account subject reply? queues? hdr_len payload
 *   leaf  LMSG   subject reply? queues? payload
 *   leaf  RHMSG  subject reply? queues? hdr_len payload
 * A route's LMSG always carries a header size (hdr_len, 0 when the message
 * has no headers: nats-server then delivers it as a MSG); a leaf's LMSG and
 * any RMSG never do. */
struct proto_frame {
	enum proto_op op;
	struct proto_span subject; /* PUB HPUB SUB MSG HMSG, every route/leaf op */
	struct proto_span reply;   /* PUB HPUB MSG HMSG RMSG RHMSG LMSG (optional) */
	struct proto_span queue;   /* SUB RS+ RS- LS+ LS- (optional) */
	struct proto_span sid;     /* SUB UNSUB MSG HMSG */
	struct proto_span arg;     /* CONNECT and INFO JSON, -ERR text (quotes stripped) */
	struct proto_span payload; /* PUB HPUB MSG HMSG RMSG RHMSG LMSG: headers + body,
	                            * without \r\n */
	struct proto_span account; /* route side: RS+ RS- RMSG RHMSG LS+ LS- LMSG */
	struct proto_span origin;  /* route side: LS+ LMSG, the leaf's cluster */
	struct proto_span queues;  /* RMSG RHMSG LMSG: the queue groups as received, from
	                            * the first name to the end of the last (may hold
	                            * runs of blanks); walk it with proto_queue_next() */
	uint32_t hdr_len;          /* HPUB HMSG RHMSG, route LMSG: bytes of payload that
	                            * are headers */
	/* RS+ LS+ with a queue: the members the peer has in the group. nats-server
	 * reads it with its size rule (1 to 9 digits) and takes anything else as
	 * -1 without complaint; 0 and that both arrive here as 0. On a route link
	 * a weight below 1 keeps the interest but the peer is never picked for
	 * the group's messages (its sublist repeats a route's queue member weight
	 * times); on a leaf link nats-server counts a leaf's member as one for
	 * delivery whatever the weight, and passes the weight on when it relays
	 * the interest (below 1 as 1). */
	uint32_t weight;
	uint64_t max_msgs; /* UNSUB: auto-unsubscribe after this many; 0 = none */
};

/* Streaming parser state. Owner: the thread that owns the connection.
 * Fields are private. */
struct proto_parser {
	enum proto_side side;
	uint32_t max_payload;
	uint32_t max_control; /* bytes of a control line's arguments */
	char *carry;          /* partial frame kept between inputs (heap, grown on demand) */
	uint32_t carry_len;
	uint32_t carry_cap;
	uint32_t carry_need; /* bytes the carried frame needs in all, 0 if unknown */
};

/* Initialises @p for @side with @max_payload (bytes of payload allowed in
 * PUB/HPUB/MSG/HMSG/RMSG/LMSG; nats-server sets no limit on what a route or
 * leaf peer sends, so give those a large one). Allocates nothing. */
void proto_parser_init(struct proto_parser *p, enum proto_side side, uint32_t max_payload);

/* Sets the longest control line @p accepts (arguments, in bytes; the default
 * is PROTO_MAX_CONTROL_LINE), at most PROTO_CONTROL_LINE_LIMIT. Call before
 * the first proto_parse(). nats-server has no limit on route and leaf links:
 * give those parsers PROTO_CONTROL_LINE_LIMIT. */
void proto_parser_set_max_control(struct proto_parser *p, uint32_t max);

/* Frees the carry buffer. @p may be re-initialised afterwards. */
void proto_parser_fini(struct proto_parser *p);

/* Parses the next operation from @buf/@len, the unread part of the latest
 * input. Sets *@used to how many bytes of @buf were consumed.
 * Returns 1 with *@out filled; 0 when every byte was consumed without
 * completing an operation (a partial one is kept in the carry buffer and
 * completed by the next call); or a negative enum proto_err, after which the
 * connection must be closed. A stream split at any byte boundary yields the
 * same operations as the whole stream. As nats-server does, the server side
 * consumes a client's +OK and INFO (valid JSON object) without returning them;
 * every side returns -ERR with its text in @arg (the caller decides: nats-server
 * closes a client or a route on any -ERR), the route and leaf sides INFO and +OK
 * too, and the leaf side consumes an LS- without 1 or 2 fields (nats-
 * server looks it up as a key no LS+ can have made, and goes on). Any other
 * malformed route or leaf operation gives PROTO_ERR_BAD_ARGS. */
RB_MUST_CHECK int proto_parse(struct proto_parser *p, const char *buf, size_t len, size_t *used,
                              struct proto_frame *out);

/* Takes the next queue group name off @list (a frame's queues, or any span of
 * names separated by blanks, \r or \n): true with *@out set and @list moved
 * past it, false when none is left. */
bool proto_queue_next(struct proto_span *list, struct proto_span *out);

/* True when a partial operation is held in the carry buffer. */
bool proto_parser_pending(const struct proto_parser *p);

/* The carry buffer, when the operation proto_parse() just returned was
 * completed there and @ptr/@n (its payload) lies in it: the caller owns it
 * from then on (free()), with its size in *@size, and the parser takes a new
 * one for its next partial operation. NULL otherwise (nothing changes). */
char *proto_parser_take_carry(struct proto_parser *p, const char *ptr, size_t n, uint32_t *size);

/* The -ERR text for @err (without quotes), or NULL when none is sent. */
const char *proto_err_text(int err);

/* True when the connection must be closed after @err (every enum proto_err). */
bool proto_err_closes(int err);

/* ---- Encoders. Each writes into @dst (capacity @cap) and returns the bytes
 * written, or 0 when it would not fit (nothing useful written then). ---- */

#define PROTO_PING_LINE "PING\r\n"
#define PROTO_PONG_LINE "PONG\r\n"
#define PROTO_OK_LINE   "+OK\r\n"

/* Longest MSG/HMSG control line for the given field lengths (inline: it
 * is asked once per delivery). */
static inline size_t proto_msg_head_max(size_t subject_len, size_t sid_len, size_t reply_len)
{
	/* "HMSG " subject " " sid " " reply " " hdr " " total "\r\n", the
	 * sizes 10 digits at most */
	return 5 + subject_len + 1 + sid_len + 1 + reply_len + 1 + 10 + 1 + 10 + 2;
}

/* "MSG <subject> <sid> [reply] <payload_len>\r\n" */
size_t proto_encode_msg_head(char *dst, size_t cap, struct proto_span subject,
                             struct proto_span sid, struct proto_span reply, uint32_t payload_len);

/* "HMSG <subject> <sid> [reply] <hdr_len> <total_len>\r\n" */
size_t proto_encode_hmsg_head(char *dst, size_t cap, struct proto_span subject,
                              struct proto_span sid, struct proto_span reply, uint32_t hdr_len,
                              uint32_t total_len);

/* Route and leaf-node encoders. Names (account, subject, reply, queue) must
 * be non-empty and free of blanks; an empty reply or queue means none. */

/* The largest queue weight nats-server reads (its size rule: 9 digits); the
 * encoders write a larger one as this. */
#define PROTO_WEIGHT_MAX 999999999u

/* "RS+ <account> <subject> [<queue> <weight>]\r\n" with @plus, else
 * "RS- <account> <subject> [<queue>]\r\n". A weight of 0 tells the peer to
 * give this side none of the group's messages. */
size_t proto_encode_rs(char *dst, size_t cap, bool plus, struct proto_span account,
                       struct proto_span subject, struct proto_span queue, uint32_t weight);

/* The same on a leaf link, without account: "LS+ <subject> [<queue> <weight>]",
 * "LS- <subject> [<queue>]". */
size_t proto_encode_ls(char *dst, size_t cap, bool plus, struct proto_span subject,
                       struct proto_span queue, uint32_t weight);

/* Longest head proto_encode_rmsg_head() writes for these fields (with
 * @account_len 0, a bound for proto_encode_lmsg_head()). */
size_t proto_rmsg_head_max(size_t account_len, size_t subject_len, size_t reply_len,
                           const struct proto_span *queues, unsigned nqueues);

/* "RMSG <account> <subject> [reply | + <reply> <q>.. | '|' <q>..] <total_len>\r\n",
 * or with @headers "HMSG <account> <subject> [..] <hdr_len> <total_len>\r\n"
 * (@hdr_len is ignored without). The @nqueues names of @queues (borrowed) are
 * the groups of which the peer is to give one member a copy. */
size_t proto_encode_rmsg_head(char *dst, size_t cap, struct proto_span account,
                              struct proto_span subject, struct proto_span reply,
                              const struct proto_span *queues, unsigned nqueues, uint32_t hdr_len,
                              uint32_t total_len, bool headers);

/* The same on a leaf link, without account: "LMSG <subject> [..] <total_len>\r\n"
 * or "HMSG <subject> [..] <hdr_len> <total_len>\r\n". */
size_t proto_encode_lmsg_head(char *dst, size_t cap, struct proto_span subject,
                              struct proto_span reply, const struct proto_span *queues,
                              unsigned nqueues, uint32_t hdr_len, uint32_t total_len, bool headers);

/* "-ERR '<text>'\r\n" */
size_t proto_encode_err(char *dst, size_t cap, const char *text);

/* Client-side encoders (ringbus-load, tests). */
/* "PUB <subject> [reply] <len>\r\n" (payload and its \r\n follow, written by the caller) */
size_t proto_encode_pub_head(char *dst, size_t cap, struct proto_span subject,
                             struct proto_span reply, uint32_t payload_len);
/* "HPUB <subject> [reply] <hdr_len> <total_len>\r\n" */
size_t proto_encode_hpub_head(char *dst, size_t cap, struct proto_span subject,
                              struct proto_span reply, uint32_t hdr_len, uint32_t total_len);
/* "SUB <subject> [queue] <sid>\r\n" */
size_t proto_encode_sub(char *dst, size_t cap, struct proto_span subject, struct proto_span queue,
                        struct proto_span sid);
/* "UNSUB <sid> [max]\r\n" (max 0 = none) */
size_t proto_encode_unsub(char *dst, size_t cap, struct proto_span sid, uint64_t max_msgs);

/* Makes a span of a NUL-terminated string (NULL gives an empty span). */
struct proto_span proto_span_str(const char *s);

#endif /* IO_PROTO_PROTO_H */
