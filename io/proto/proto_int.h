/* Private to io/proto*.c: parsing one operation from contiguous bytes. The
 * files call downwards only: proto.c (streaming, carry) -> proto_parse.c
 * (framing, client grammar) -> proto_route.c (route and leaf grammar) ->
 * proto_fields.c (fields, sizes, payload); proto_ops.c (operation names) is
 * used by proto.c and proto_parse.c, and proto_fast.h (the server's PUB fast
 * path, inline) by both too. */
#ifndef IO_PROTO_PROTO_INT_H
#define IO_PROTO_PROTO_INT_H

#include "io/proto/proto.h"

/* proto_parse_one() outcome besides 1 (a frame), 0 (need more) and errors: an
 * operation was consumed that the caller never sees (a client's +OK or INFO,
 * which nats-server accepts and ignores). */
#define PROTO_R_SKIP 2

/* How an operation's name is followed. */
enum proto_op_class {
	PROTO_CLS_BARE, /* PING PONG +OK: anything up to the newline is ignored */
	PROTO_CLS_SEP,  /* PUB HPUB SUB UNSUB MSG HMSG -ERR: a space or tab must follow */
	PROTO_CLS_OPT,  /* CONNECT INFO: the argument may follow the name directly */
};

/* One operation name a side accepts. Read-only tables. */
struct proto_op_desc {
	const char *name; /* lower case */
	uint8_t len;
	uint8_t op;  /* enum proto_op */
	uint8_t cls; /* enum proto_op_class */
	bool skip;   /* consumed silently (server side +OK, INFO) */
};

/* What proto_parse_one() learnt about an incomplete operation. */
struct proto_scan {
	size_t as;     /* where the arguments start (== input length if not yet) */
	size_t need;   /* whole frame length once a payload op's line is complete */
	uint8_t oplen; /* name length, 0 while the name is incomplete */
	uint8_t cls;   /* enum proto_op_class, when oplen > 0 */
};

static inline bool proto_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline struct proto_span proto_span_at(const char *p, size_t n)
{
	return (struct proto_span){p, (uint32_t)n};
}

/* ---- proto_ops.c ---- */

/* Matches the operation name at the start of @s (borrowed). Returns 1 with *@d
 * set, 0 when @s is a proper prefix of a name, or PROTO_ERR_UNKNOWN_OP. */
int proto_op_match(enum proto_side side, const char *s, size_t n, const struct proto_op_desc **d);

/* ---- proto_fields.c ---- */

/* nats-server's size rule: 1 to 9 decimal digits, else -1. Inline: the
 * fast paths (proto_fast.h) make no call for a few digits. */
static inline int64_t proto_parse_size(struct proto_span f)
{
	int64_t v = 0;

	if (f.len == 0 || f.len > 9)
		return -1;
	for (uint32_t i = 0; i < f.len; i++) {
		unsigned d = (unsigned)(unsigned char)f.ptr[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

/* Splits @s[@a, @e) into at most @max fields on runs of spaces and tabs (and,
 * with @crlf, carriage returns and newlines: nats-server splits SUB, UNSUB and
 * every route and leaf operation that way, PUB and HPUB only on blanks).
 * Returns the count, or -1 when there are more than @max. */
int proto_split_fields(const char *s, size_t a, size_t e, struct proto_span *f, int max, bool crlf);

/* The payload of a message whose control line in @s/@n ends at @le and which
 * announced @size bytes: 1 with f->payload and *@used set, 0 when more bytes
 * are needed (sc->need then holds the whole frame's length), or a negative
 * enum proto_err. */
int proto_take_payload(const struct proto_parser *p, const char *s, size_t n, size_t le,
                       int64_t size, struct proto_frame *f, size_t *used, struct proto_scan *sc);

/* ---- proto_route.c: arguments s[@as, @ae) of a complete control line, @f
 * zeroed with its op set by the caller ---- */

/* RS+ RS- LS+ LS- (@op) on @p's side: 1 with *@f filled, PROTO_R_SKIP (a
 * leaf's LS- without 1 or 2 fields) or PROTO_ERR_BAD_ARGS. */
int proto_route_interest(const struct proto_parser *p, int op, const char *s, size_t as, size_t ae,
                         struct proto_frame *f);

/* RMSG HMSG LMSG (@op) on @p's side, whose control line in @s/@n ends at @le:
 * as proto_take_payload(), or PROTO_ERR_BAD_ARGS. */
int proto_route_msg(const struct proto_parser *p, int op, const char *s, size_t n, size_t as,
                    size_t ae, size_t le, struct proto_frame *f, size_t *used,
                    struct proto_scan *sc);

/* ---- proto_parse.c ---- */

/* Checks a partial argument s[@as, @n): 0, or PROTO_ERR_CONTROL_LINE once it
 * cannot end within @p's limit. */
int proto_partial_arg_check(const struct proto_parser *p, const char *s, size_t as, size_t n);

/* Parses one operation from the contiguous bytes @s/@n (borrowed; *@f points
 * into them). Returns 1 with *@f and *@used set, PROTO_R_SKIP with *@used set,
 * 0 when incomplete (*@sc says how far it got), or a negative enum proto_err.
 * Reads only the side, max_payload and max_control of @p. A whole plain
 * server-side PUB takes a fast path; anything else proto_parse_general(). */
int proto_parse_one(const struct proto_parser *p, const char *s, size_t n, struct proto_frame *f,
                    size_t *used, struct proto_scan *sc);

/* proto_parse_one() without the fast path: the grammar's one definition,
 * which the fast path must match on every input it takes (tests/fuzz/
 * fuzz_proto.c runs both). */
int proto_parse_general(const struct proto_parser *p, const char *s, size_t n,
                        struct proto_frame *f, size_t *used, struct proto_scan *sc);

/* Field separators: 1 for blanks, 2 for \r and \n (proto_fields.c). */
extern const uint8_t proto_sep_class[256];

#endif /* IO_PROTO_PROTO_INT_H */
