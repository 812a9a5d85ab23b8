/* Tests of io/proto's route and leaf encoders: the exact lines of the cluster
 * notes, nothing written when a line does not fit, the head bound, and a
 * round trip over generated fields through the route and leaf parsers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"
#include "tests/io/proto_feed.h"

#define MAXP PROTO_DEFAULT_MAX_PAYLOAD
#define S(x) proto_span_str(x)

static const struct proto_span q12[] = {{"q1", 2}, {"q2", 2}};
static const struct proto_span grp[] = {{"grp", 3}};

/* Checks one encoder result against @want, and that a buffer one byte short
 * gets 0 while one of exactly the length gets the line. */
#define EXPECT_LINE(want, call_with_cap)                                                           \
	do {                                                                                       \
		char buf_[256];                                                                    \
		size_t len_ = strlen(want), cap;                                                   \
		cap = sizeof(buf_);                                                                \
		size_t n_ = (call_with_cap);                                                       \
		cr_expect_eq(n_, len_, "%s: %zu bytes", want, n_);                                 \
		cr_expect(n_ == len_ && memcmp(buf_, want, len_) == 0, "%s: got %.*s", want,       \
		          (int)n_, buf_);                                                          \
		cap = len_ - 1;                                                                    \
		cr_expect_eq((call_with_cap), 0, "%s: fits in one byte less", want);               \
		cap = len_;                                                                        \
		cr_expect_eq((call_with_cap), len_, "%s: exact room", want);                       \
	} while (0)

Test(proto_route_encode, rs_and_ls_lines_are_the_notes_lines)
{
	EXPECT_LINE("RS+ $G foo\r\n",
	            proto_encode_rs(buf_, cap, true, S("$G"), S("foo"), S(""), 0));
	EXPECT_LINE("RS+ $G bar q1 2\r\n",
	            proto_encode_rs(buf_, cap, true, S("$G"), S("bar"), S("q1"), 2));
	EXPECT_LINE("RS- $G foo\r\n",
	            proto_encode_rs(buf_, cap, false, S("$G"), S("foo"), S(""), 7));
	EXPECT_LINE("RS- $G bar q1\r\n",
	            proto_encode_rs(buf_, cap, false, S("$G"), S("bar"), S("q1"), 2));
	EXPECT_LINE("RS+ $G bar q1 0\r\n",
	            proto_encode_rs(buf_, cap, true, S("$G"), S("bar"), S("q1"), 0));
	EXPECT_LINE("RS+ $G bar q1 999999999\r\n",
	            proto_encode_rs(buf_, cap, true, S("$G"), S("bar"), S("q1"), UINT32_MAX));
	EXPECT_LINE("LS+ foo\r\n", proto_encode_ls(buf_, cap, true, S("foo"), S(""), 0));
	EXPECT_LINE("LS+ q1 grp 2\r\n", proto_encode_ls(buf_, cap, true, S("q1"), S("grp"), 2));
	EXPECT_LINE("LS- foo\r\n", proto_encode_ls(buf_, cap, false, S("foo"), S(""), 0));
	EXPECT_LINE("LS- q1 grp\r\n", proto_encode_ls(buf_, cap, false, S("q1"), S("grp"), 2));
}

Test(proto_route_encode, rmsg_heads_are_the_notes_lines)
{
	EXPECT_LINE("RMSG $G foo 5\r\n", proto_encode_rmsg_head(buf_, cap, S("$G"), S("foo"), S(""),
	                                                        NULL, 0, 0, 5, false));
	EXPECT_LINE("RMSG $G foo _INBOX.r 5\r\n",
	            proto_encode_rmsg_head(buf_, cap, S("$G"), S("foo"), S("_INBOX.r"), NULL, 0, 0,
	                                   5, false));
	EXPECT_LINE(
	    "RMSG $G bar | q1 q2 3\r\n",
	    proto_encode_rmsg_head(buf_, cap, S("$G"), S("bar"), S(""), q12, 2, 0, 3, false));
	EXPECT_LINE("RMSG $G bar + _INBOX.r q1 q2 3\r\n",
	            proto_encode_rmsg_head(buf_, cap, S("$G"), S("bar"), S("_INBOX.r"), q12, 2, 0,
	                                   3, false));
	EXPECT_LINE("HMSG $G foo 20 25\r\n", proto_encode_rmsg_head(buf_, cap, S("$G"), S("foo"),
	                                                            S(""), NULL, 0, 20, 25, true));
	EXPECT_LINE("HMSG $G bar + _INBOX.r q1 q2 20 25\r\n",
	            proto_encode_rmsg_head(buf_, cap, S("$G"), S("bar"), S("_INBOX.r"), q12, 2, 20,
	                                   25, true));
	EXPECT_LINE("RMSG $G foo 4294967295\r\n",
	            proto_encode_rmsg_head(buf_, cap, S("$G"), S("foo"), S(""), NULL, 0, 7,
	                                   UINT32_MAX, false));
}

Test(proto_route_encode, lmsg_heads_are_the_notes_lines)
{
	EXPECT_LINE("LMSG foo 2\r\n",
	            proto_encode_lmsg_head(buf_, cap, S("foo"), S(""), NULL, 0, 0, 2, false));
	EXPECT_LINE(
	    "LMSG foo _INBOX.s 2\r\n",
	    proto_encode_lmsg_head(buf_, cap, S("foo"), S("_INBOX.s"), NULL, 0, 0, 2, false));
	EXPECT_LINE("LMSG q1 | grp 2\r\n",
	            proto_encode_lmsg_head(buf_, cap, S("q1"), S(""), grp, 1, 0, 2, false));
	EXPECT_LINE("LMSG q1 + _INBOX.s grp 2\r\n",
	            proto_encode_lmsg_head(buf_, cap, S("q1"), S("_INBOX.s"), grp, 1, 0, 2, false));
	EXPECT_LINE("HMSG foo 12 14\r\n",
	            proto_encode_lmsg_head(buf_, cap, S("foo"), S(""), NULL, 0, 12, 14, true));
	EXPECT_LINE(
	    "HMSG q1 + _INBOX.s grp 12 14\r\n",
	    proto_encode_lmsg_head(buf_, cap, S("q1"), S("_INBOX.s"), grp, 1, 12, 14, true));
}

/* The bound is exact for the longest RMSG/HMSG head (headers, reply, queues,
 * ten-digit sizes) and holds for LMSG with account_len 0. */
Test(proto_route_encode, the_head_bound_is_reached_by_the_longest_head)
{
	char buf[256];
	size_t n = proto_encode_rmsg_head(buf, sizeof(buf), S("$G"), S("foo.bar"), S("_INBOX.r"),
	                                  q12, 2, UINT32_MAX, UINT32_MAX, true);

	cr_assert_eq(n, proto_rmsg_head_max(2, 7, 8, q12, 2));
	n = proto_encode_lmsg_head(buf, sizeof(buf), S("foo.bar"), S("_INBOX.r"), q12, 2,
	                           UINT32_MAX, UINT32_MAX, true);
	cr_assert_eq(n + 1, proto_rmsg_head_max(0, 7, 8, q12, 2));
	n = proto_encode_rmsg_head(buf, sizeof(buf), S("$G"), S("f"), S(""), NULL, 0, 0, 0, false);
	cr_assert_lt(n, proto_rmsg_head_max(2, 1, 0, NULL, 0));
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32) % n;
}

/* A name of 1 to 12 bytes: anything but blanks, \r and \n (so '+', '|',
 * '$', '>', bytes above 0x7f may all appear). */
static struct proto_span name(char *buf)
{
	static const char seps[] = " \t\r\n";
	uint32_t n = 1 + rnd(12);

	for (uint32_t i = 0; i < n; i++) {
		char c;
		do
			c = rnd(4) ? "abcdefgh.*>$_+|-0123456789"[rnd(26)] : (char)(1 + rnd(255));
		while (memchr(seps, c, 4));
		buf[i] = c;
	}
	return (struct proto_span){buf, n};
}

static void expect_same(struct proto_span got, struct proto_span want, const char *what,
                        unsigned it)
{
	cr_assert_eq(got.len, want.len, "iteration %u: %s length %u, want %u", it, what, got.len,
	             want.len);
	cr_assert(got.len == 0 || memcmp(got.ptr, want.ptr, got.len) == 0,
	          "iteration %u: %s differs", it, what);
}

/* The generated fields of one message. */
struct gen_msg {
	char names[64][16];
	struct proto_span account, subject, reply, queues[48];
	unsigned nq;
	bool headers;
	uint32_t hdr_len, total;
};

static void gen_msg(struct gen_msg *m, bool leaf)
{
	m->account = leaf ? (struct proto_span){"", 0} : name(m->names[0]);
	m->subject = name(m->names[1]);
	m->reply = rnd(2) ? name(m->names[2]) : (struct proto_span){"", 0};
	m->nq = rnd(4) ? rnd(7) : rnd(48);
	for (unsigned i = 0; i < m->nq; i++)
		m->queues[i] = name(m->names[3 + i]);
	m->headers = rnd(2);
	m->total = rnd(200);
	m->hdr_len = m->headers ? rnd(m->total + 1) : 0;
}

/* Encodes @m with a payload of random bytes, parses it back whole and byte
 * by byte, and checks every field. */
static void round_trip_msg(const struct gen_msg *m, bool leaf, unsigned it)
{
	enum proto_side side = leaf ? PROTO_SIDE_LEAF : PROTO_SIDE_ROUTE;
	char buf[2048];
	size_t max =
	    proto_rmsg_head_max(m->account.len, m->subject.len, m->reply.len, m->queues, m->nq);
	size_t n = leaf
	               ? proto_encode_lmsg_head(buf, sizeof(buf), m->subject, m->reply, m->queues,
	                                        m->nq, m->hdr_len, m->total, m->headers)
	               : proto_encode_rmsg_head(buf, sizeof(buf), m->account, m->subject, m->reply,
	                                        m->queues, m->nq, m->hdr_len, m->total, m->headers);
	cr_assert_gt(n, 0, "iteration %u: did not fit", it);
	cr_assert_leq(n, max, "iteration %u: %zu bytes above the bound %zu", it, n, max);
	for (uint32_t i = 0; i < m->total; i++)
		buf[n + i] = (char)rnd(256);
	memcpy(buf + n + m->total, "\r\n", 2);
	size_t len = n + m->total + 2;

	struct proto_parser p;
	struct proto_frame f;
	size_t used;
	proto_parser_init(&p, side, MAXP);
	cr_assert_eq(proto_parse(&p, buf, len, &used, &f), 1, "iteration %u: %.*s", it, (int)n,
	             buf);
	cr_assert_eq(used, len);
	int want_op = m->headers ? PROTO_OP_RHMSG : leaf ? PROTO_OP_LMSG : PROTO_OP_RMSG;
	cr_assert_eq((int)f.op, want_op, "iteration %u", it);
	expect_same(f.account, m->account, "account", it);
	expect_same(f.subject, m->subject, "subject", it);
	expect_same(f.reply, m->reply, "reply", it);
	expect_same(f.payload, (struct proto_span){buf + n, m->total}, "payload", it);
	cr_assert_eq(f.hdr_len, m->hdr_len, "iteration %u: hdr_len", it);
	struct proto_span list = f.queues, q;
	unsigned k = 0;
	while (proto_queue_next(&list, &q)) {
		cr_assert_lt(k, m->nq, "iteration %u: more queues", it);
		expect_same(q, m->queues[k++], "queue", it);
	}
	cr_assert_eq(k, m->nq, "iteration %u: %u queues, want %u", it, k, m->nq);
	proto_parser_fini(&p);

	static const size_t one = 1;
	struct feed_log whole, bytes;
	feed_log_init(&whole);
	feed_log_init(&bytes);
	feed_run(side, MAXP, &whole, buf, len, NULL, 0);
	feed_run(side, MAXP, &bytes, buf, len, &one, 1);
	cr_assert(feed_same(&whole, &bytes), "iteration %u: byte-wise run differs", it);
	feed_log_fini(&whole);
	feed_log_fini(&bytes);
}

Test(proto_route_encode, generated_messages_round_trip_through_the_parsers)
{
	rng_state = 0x9e3779b97f4a7c15ull;
	for (unsigned it = 0; it < 3000; it++) {
		bool leaf = it & 1;
		struct gen_msg m;
		gen_msg(&m, leaf);
		round_trip_msg(&m, leaf, it);
	}
}

Test(proto_route_encode, generated_interest_round_trips_through_the_parsers)
{
	rng_state = 0x2545f4914f6cdd1dull;
	for (unsigned it = 0; it < 3000; it++) {
		bool leaf = it & 1, plus = rnd(2);
		char nb[3][16], buf[128];
		struct proto_span acc = name(nb[0]), subj = name(nb[1]);
		struct proto_span queue = rnd(2) ? name(nb[2]) : (struct proto_span){"", 0};
		uint32_t w = rnd(3) ? rnd(1000) : rnd(UINT32_MAX);
		size_t n = leaf ? proto_encode_ls(buf, sizeof(buf), plus, subj, queue, w)
		                : proto_encode_rs(buf, sizeof(buf), plus, acc, subj, queue, w);
		struct proto_parser p;
		struct proto_frame f;
		size_t used;

		proto_parser_init(&p, leaf ? PROTO_SIDE_LEAF : PROTO_SIDE_ROUTE, MAXP);
		cr_assert_eq(proto_parse(&p, buf, n, &used, &f), 1, "iteration %u: %.*s", it,
		             (int)n, buf);
		cr_assert_eq(used, n);
		int want = leaf ? (plus ? PROTO_OP_LS_PLUS : PROTO_OP_LS_MINUS)
		                : (plus ? PROTO_OP_RS_PLUS : PROTO_OP_RS_MINUS);
		cr_assert_eq((int)f.op, want, "iteration %u", it);
		expect_same(f.account, leaf ? (struct proto_span){"", 0} : acc, "account", it);
		expect_same(f.subject, subj, "subject", it);
		expect_same(f.queue, queue, "queue", it);
		uint32_t ww = w < PROTO_WEIGHT_MAX ? w : PROTO_WEIGHT_MAX;
		cr_assert_eq(f.weight, plus && queue.len ? ww : 0, "iteration %u: weight", it);
		proto_parser_fini(&p);
	}
}
