/* Fuzz target for io/proto's parser. Input: one flags byte, four chunk-size
 * bytes, then the stream. The stream is parsed whole and in chunks (each chunk
 * in its own heap block, so ASan sees a span that outlives it); every call is
 * checked against the parser's contract and both runs must give the same
 * frames and the same final status. Aborts on any violation.
 * Flags: bit 0 the client side too, bits 1-2 max_payload, bit 3 the route
 * side too, bit 4 the leaf side too, bit 5 those two with a 64-byte control
 * line limit instead of PROTO_CONTROL_LINE_LIMIT (as route links get).
 * On every side, proto_parse_one() (with the server's PUB fast path, the
 * client side's MSG/HMSG fast path and the route and leaf sides' message
 * fast path) and proto_parse_general()
 * must also agree on each operation's prefixes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto_int.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/io/proto_paths.h"

#define HEAD 5

/* Frames of one run, serialised (op, spans, hdr_len, max_msgs, weight). */
struct run {
	char *log;
	size_t len, cap;
	int status;
	unsigned frames;
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_proto: invariant broken: %s\n", what);
	abort();
}

static void put(struct run *r, const void *p, size_t n)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		while (cap < r->len + n)
			cap *= 2;
		r->log = realloc(r->log, cap);
		if (!r->log)
			fail("out of memory");
		r->cap = cap;
	}
	memcpy(r->log + r->len, p, n);
	r->len += n;
}

static bool inside(struct proto_span s, const char *lo, size_t n)
{
	return s.len == 0 || (lo && s.ptr >= lo && s.ptr + s.len <= lo + n);
}

static bool op_allowed(enum proto_side side, enum proto_op op)
{
	bool common = op == PROTO_OP_PING || op == PROTO_OP_PONG;
	bool peer = common || op == PROTO_OP_CONNECT || op == PROTO_OP_INFO || op == PROTO_OP_OK ||
	            op == PROTO_OP_ERR || op == PROTO_OP_RHMSG || op == PROTO_OP_LS_PLUS ||
	            op == PROTO_OP_LS_MINUS || op == PROTO_OP_LMSG;

	switch (side) {
	case PROTO_SIDE_SERVER:
		return common || op == PROTO_OP_CONNECT || op == PROTO_OP_PUB ||
		       op == PROTO_OP_HPUB || op == PROTO_OP_SUB || op == PROTO_OP_UNSUB ||
		       op == PROTO_OP_ERR; /* a client's -ERR: the router closes it */
	case PROTO_SIDE_CLIENT:
		return common || op == PROTO_OP_INFO || op == PROTO_OP_MSG || op == PROTO_OP_HMSG ||
		       op == PROTO_OP_OK || op == PROTO_OP_ERR;
	case PROTO_SIDE_ROUTE:
		return peer || op == PROTO_OP_RS_PLUS || op == PROTO_OP_RS_MINUS ||
		       op == PROTO_OP_RMSG;
	case PROTO_SIDE_LEAF:
		return peer;
	}
	return false;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A name field: not empty, no separator inside. */
static bool name_ok(struct proto_span s)
{
	for (uint32_t i = 0; i < s.len; i++)
		if (is_sep(s.ptr[i]))
			return false;
	return s.len > 0;
}

/* Route and leaf frames: the fields their form has, names without blanks,
 * and a queue list that proto_queue_next() walks from end to end. */
static void check_peer_frame(enum proto_side side, const struct proto_frame *f)
{
	bool route = side == PROTO_SIDE_ROUTE;
	bool interest = f->op == PROTO_OP_RS_PLUS || f->op == PROTO_OP_RS_MINUS ||
	                f->op == PROTO_OP_LS_PLUS || f->op == PROTO_OP_LS_MINUS;
	bool msg = f->op == PROTO_OP_RMSG || f->op == PROTO_OP_RHMSG || f->op == PROTO_OP_LMSG;
	bool origin = route && (f->op == PROTO_OP_LS_PLUS || f->op == PROTO_OP_LMSG);

	if (!interest && !msg)
		return;
	if (!name_ok(f->subject) || (route ? !name_ok(f->account) : f->account.len != 0))
		fail("subject or account of a route/leaf frame");
	if (origin != (f->origin.len > 0) || (origin && !name_ok(f->origin)))
		fail("origin of a route/leaf frame");
	if ((f->queue.len && !name_ok(f->queue)) || (f->reply.len && !name_ok(f->reply)))
		fail("queue or reply with a blank");
	if (f->weight && f->op != PROTO_OP_RS_PLUS && f->op != PROTO_OP_LS_PLUS)
		fail("weight on a frame without one");
	if (f->weight > PROTO_WEIGHT_MAX || (f->weight && !f->queue.len))
		fail("weight beyond the size rule or without a queue");
	if (interest && (f->queues.len || f->payload.len || f->reply.len))
		fail("message fields on an interest frame");
	struct proto_span list = f->queues, q;
	unsigned n = 0;
	while (proto_queue_next(&list, &q)) {
		if (!name_ok(q) || (n == 0 && q.ptr != f->queues.ptr))
			fail("queue list does not start with a name");
		n++;
		if (list.len == 0 && q.ptr + q.len != f->queues.ptr + f->queues.len)
			fail("queue list does not end with a name");
	}
	if ((n > 0) != (f->queues.len > 0))
		fail("queue list without names");
}

static void check_frame(const struct proto_parser *p, const struct proto_frame *f, const char *in,
                        size_t n, struct run *r)
{
	const struct proto_span *spans[] = {&f->subject, &f->reply,  &f->queue,
	                                    &f->sid,     &f->arg,    &f->payload,
	                                    &f->account, &f->origin, &f->queues};
	int op = (int)f->op;

	if (!op_allowed(p->side, f->op))
		fail("operation of the other side");
	if (f->payload.len > p->max_payload)
		fail("payload above max_payload");
	if (f->hdr_len > f->payload.len)
		fail("hdr_len above payload length");
	if (f->arg.len > p->max_control || f->subject.len > p->max_control ||
	    f->queues.len > p->max_control)
		fail("argument above the control line limit");
	check_peer_frame(p->side, f);
	put(r, &op, sizeof(op));
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		if (!inside(*spans[i], in, n) && !inside(*spans[i], p->carry, p->carry_cap))
			fail("span outside the input and the carry");
		put(r, &spans[i]->len, sizeof(spans[i]->len));
		if (spans[i]->len)
			put(r, spans[i]->ptr, spans[i]->len);
	}
	put(r, &f->hdr_len, sizeof(f->hdr_len));
	put(r, &f->max_msgs, sizeof(f->max_msgs));
	put(r, &f->weight, sizeof(f->weight));
	r->frames++;
}

/* Parses @s/@len in chunks of @sizes (cycled; NULL: one chunk) with a
 * control-line limit of @max_control (0: the default). */
static void run(enum proto_side side, uint32_t max_payload, uint32_t max_control, const char *s,
                size_t len, const uint8_t *sizes, struct run *r)
{
	struct proto_parser p;
	size_t pos = 0, k = 0;

	proto_parser_init(&p, side, max_payload);
	if (max_control)
		proto_parser_set_max_control(&p, max_control);
	while (pos < len && r->status == 0) {
		size_t n = sizes ? (size_t)sizes[k++ % 4] + 1 : len;
		if (n > len - pos)
			n = len - pos;
		char *chunk = malloc(n);
		if (!chunk)
			fail("out of memory");
		memcpy(chunk, s + pos, n);
		for (size_t off = 0; off < n;) {
			struct proto_frame f;
			size_t used = (size_t)-1;
			int rc = proto_parse(&p, chunk + off, n - off, &used, &f);
			if (rc < 0) {
				if (rc < PROTO_ERR_NOMEM)
					fail("undocumented error");
				if (rc != PROTO_ERR_BAD_ARGS && rc != PROTO_ERR_NOMEM &&
				    !proto_err_text(rc))
					fail("error without its -ERR text");
				r->status = rc;
				break;
			}
			if (rc > 1)
				fail("undocumented result");
			if (used > n - off)
				fail("used beyond the input");
			if (p.carry_len > p.carry_cap)
				fail("carry overrun");
			if (p.carry_need == 0 && p.carry_len > p.max_control + 64)
				fail("partial line carry above the limit");
			if (rc == 0) {
				if (used != n - off)
					fail("0 without consuming everything");
				break;
			}
			if (used == 0)
				fail("frame without consuming");
			check_frame(&p, &f, chunk + off, n - off, r);
			/* a payload completed in the carry may leave with it (the
			 * router's batch takes it): the parse must go on the same */
			uint32_t sz = 0;
			char *taken = f.payload.len ? proto_parser_take_carry(&p, f.payload.ptr,
			                                                      f.payload.len, &sz)
			                            : NULL;
			if (taken &&
			    (f.payload.ptr < taken || f.payload.ptr + f.payload.len > taken + sz))
				fail("carry taken for a payload outside it");
			free(taken);
			off += used;
		}
		free(chunk);
		pos += n;
	}
	proto_parser_fini(&p);
}

static void compare(enum proto_side side, uint32_t max_payload, uint32_t max_control, const char *s,
                    size_t len, const uint8_t *sizes)
{
	struct run whole = {0}, cut = {0};

	run(side, max_payload, max_control, s, len, NULL, &whole);
	run(side, max_payload, max_control, s, len, sizes, &cut);
	if (whole.status != cut.status || whole.frames != cut.frames || whole.len != cut.len ||
	    (whole.len && memcmp(whole.log, cut.log, whole.len) != 0))
		fail("chunked parse differs from the whole parse");
	free(whole.log);
	free(cut.log);
}

/* Prefixes of each operation given to both parsers: all up to this length,
 * then only the whole rest of the input. */
#define DIFF_PREFIX_MAX 256u

/* The two paths on @s/@n (tests/io/proto_paths.h). */
static void diff_one(const struct proto_parser *p, const char *s, size_t n)
{
	int result;
	const char *why = proto_paths_differ(p, s, n, &result);
	if (why)
		fail(why);
}

/* Runs diff_one() on the prefixes of each operation of @s/@len in turn, as
 * long as the general path finds one, and checks that proto_parse() (which
 * takes the fast path itself) returns what the general path does. */
static void diff(enum proto_side side, uint32_t max_payload, uint32_t max_control, const char *s,
                 size_t len)
{
	struct proto_parser p, q;
	struct proto_frame f, fq;
	struct proto_scan sc;
	size_t off = 0, u, uq;

	proto_parser_init(&p, side, max_payload);
	proto_parser_init(&q, side, max_payload);
	if (max_control) {
		proto_parser_set_max_control(&p, max_control);
		proto_parser_set_max_control(&q, max_control);
	}
	for (size_t qoff = 0; off < len; qoff = off) {
		size_t rest = len - off;
		for (size_t k = 0; k <= rest; k++) {
			if (k > DIFF_PREFIX_MAX)
				k = rest;
			diff_one(&p, s + off, k);
		}
		int r = proto_parse_general(&p, s + off, rest, &f, &u, &sc);
		if (r == PROTO_R_SKIP) {
			off += u;
			continue;
		}
		int rq = proto_parse(&q, s + qoff, len - qoff, &uq, &fq);
		if (rq != r || (r == 1 && (qoff + uq != off + u || !proto_frame_same(&f, &fq))))
			fail("fast path: proto_parse() differs from the general path");
		if (r != 1)
			break;
		off += u;
	}
	proto_parser_fini(&p);
	proto_parser_fini(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t max_payloads[] = {PROTO_DEFAULT_MAX_PAYLOAD, 0, 5, 100};

	if (size < HEAD)
		return 0;
	uint8_t flags = data[0];
	uint32_t maxp = max_payloads[(flags >> 1) & 3];
	const char *s = (const char *)data + HEAD;
	size_t len = size - HEAD;

	uint32_t peer_control = flags & 0x20 ? 64 : PROTO_CONTROL_LINE_LIMIT;

	compare(PROTO_SIDE_SERVER, maxp, 0, s, len, data + 1);
	diff(PROTO_SIDE_SERVER, maxp, 0, s, len);
	/* a small limit puts the fast path's line bound within reach */
	diff(PROTO_SIDE_SERVER, maxp, data[1] % 32, s, len);
	if (flags & 1) {
		diff(PROTO_SIDE_CLIENT, maxp, 0, s, len);
		diff(PROTO_SIDE_CLIENT, maxp, data[1] % 32, s, len);
		compare(PROTO_SIDE_CLIENT, maxp, 0, s, len, data + 1);
	}
	if (flags & 0x08) {
		compare(PROTO_SIDE_ROUTE, maxp, peer_control, s, len, data + 1);
		diff(PROTO_SIDE_ROUTE, maxp, peer_control, s, len);
		diff(PROTO_SIDE_ROUTE, maxp, data[1] % 32, s, len);
	}
	if (flags & 0x10) {
		compare(PROTO_SIDE_LEAF, maxp, peer_control, s, len, data + 1);
		diff(PROTO_SIDE_LEAF, maxp, peer_control, s, len);
		diff(PROTO_SIDE_LEAF, maxp, data[1] % 32, s, len);
	}
	return 0;
}
