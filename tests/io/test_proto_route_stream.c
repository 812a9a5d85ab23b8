/* Tests of io/proto's route and leaf sides as streams: cut at any byte, in one
 * piece or byte by byte, a stream gives the same frames; queue lists are not
 * bounded by a field count; the control-line and payload limits are the
 * parser's own, and a partial line's room grows with it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"
#include "tests/io/proto_feed.h"

#define MAXP PROTO_DEFAULT_MAX_PAYLOAD

static const char route_stream[] =
    "INFO {\"server_id\":\"NB\",\"headers\":true,\"lnoc\":true} \r\n"
    "CONNECT {\"echo\":true,\"headers\":true,\"name\":\"NB\",\"cluster\":\"X\"}\r\n"
    "RS+ $G foo\r\n"
    "RS+ $G bar q1 2\r\n"
    "LS+ rbc $G baz lq 3\r\n"
    "PING\r\n"
    "RMSG $G foo 5\r\nhello\r\n"
    "RMSG $G foo _INBOX.r 5\r\nhe\r\no\r\n"
    "RMSG $G bar | q1 q2 3\r\nabc\r\n"
    "RMSG $G bar + _INBOX.r q1\t\tq2 3\r\nabc\r\n"
    "HMSG $G foo 20 25\r\nNATS/1.0\r\nAB: 12\r\n\r\nhello\r\n"
    "HMSG $G bar + _INBOX.r q1 q2 12 12\r\nNATS/1.0\r\n\r\n\r\n"
    "LMSG rbc $G from.route 0 2\r\nhi\r\n"
    "LMSG rbc $G from.route + rep lq 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    "+OK\r\n"
    "RS- $G bar q1\r\n"
    "LS-  $G baz lq\r\n"
    "rmsg\t$G  foo   0\n\r\n"
    "PONG\r\n"
    "-ERR 'Stale Connection'\r\n";

static const int route_ops[] = {
    PROTO_OP_INFO,     PROTO_OP_CONNECT,  PROTO_OP_RS_PLUS, PROTO_OP_RS_PLUS, PROTO_OP_LS_PLUS,
    PROTO_OP_PING,     PROTO_OP_RMSG,     PROTO_OP_RMSG,    PROTO_OP_RMSG,    PROTO_OP_RMSG,
    PROTO_OP_RHMSG,    PROTO_OP_RHMSG,    PROTO_OP_LMSG,    PROTO_OP_LMSG,    PROTO_OP_OK,
    PROTO_OP_RS_MINUS, PROTO_OP_LS_MINUS, PROTO_OP_RMSG,    PROTO_OP_PONG,    PROTO_OP_ERR,
};

static const char leaf_stream[] =
    "INFO {\"server_id\":\"H\",\"client_id\":4,\"leafnode_urls\":[\"127.0.0.1:7422\"]} \r\n"
    "CONNECT {\"version\":\"2.9.10\",\"name\":\"spoke\",\"headers\":true}\r\n"
    "LS+ foo\r\n"
    "LS+ q1 grp 2\r\n"
    "LS- a b c\r\n" /* consumed: no LS+ makes such a key */
    "LMSG foo 2\r\nhi\r\n"
    "LMSG foo _INBOX.s 2\r\nhi\r\n"
    "LMSG q1 | grp 2\r\nhi\r\n"
    "LMSG q1 + _INBOX.s grp  grp2 2\r\nhi\r\n"
    "HMSG foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    "HMSG q1 + _INBOX.s grp 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    "PING\r\n"
    "LS- foo\r\n"
    "LS- q1 grp\r\n"
    "+OK\r\n"
    "-ERR 'Loop detected'\r\n";

static const int leaf_ops[] = {
    PROTO_OP_INFO, PROTO_OP_CONNECT,  PROTO_OP_LS_PLUS,  PROTO_OP_LS_PLUS, PROTO_OP_LMSG,
    PROTO_OP_LMSG, PROTO_OP_LMSG,     PROTO_OP_LMSG,     PROTO_OP_RHMSG,   PROTO_OP_RHMSG,
    PROTO_OP_PING, PROTO_OP_LS_MINUS, PROTO_OP_LS_MINUS, PROTO_OP_OK,      PROTO_OP_ERR,
};

struct stream {
	enum proto_side side;
	const char *s;
	size_t len;
	const int *ops;
	size_t nops;
};

static const struct stream streams[] = {
    {PROTO_SIDE_ROUTE, route_stream, sizeof(route_stream) - 1, route_ops, RB_ARRAY_LEN(route_ops)},
    {PROTO_SIDE_LEAF, leaf_stream, sizeof(leaf_stream) - 1, leaf_ops, RB_ARRAY_LEN(leaf_ops)},
};

/* feed_chunks() on a parser of @side with the control-line limit @max_control. */
static int feed_limit(enum proto_side side, uint32_t max_control, uint32_t maxp, struct feed_log *l,
                      const char *s, size_t len, const size_t *sizes, size_t nsizes)
{
	struct proto_parser p;
	int r;

	proto_parser_init(&p, side, maxp);
	proto_parser_set_max_control(&p, max_control);
	r = feed_chunks(&p, l, s, len, sizes, nsizes);
	proto_parser_fini(&p);
	return r;
}

Test(proto_route_stream, whole_streams_give_the_expected_operations)
{
	for (size_t k = 0; k < RB_ARRAY_LEN(streams); k++) {
		const struct stream *st = &streams[k];
		struct feed_log l;

		feed_log_init(&l);
		cr_assert_eq(feed_run(st->side, MAXP, &l, st->s, st->len, NULL, 0), 0);
		cr_assert_eq((size_t)l.frames, st->nops, "stream %zu: %d frames", k, l.frames);
		for (size_t i = 0; i < st->nops; i++)
			cr_expect_eq(l.ops[i], st->ops[i], "stream %zu frame %zu: op %d want %d", k,
			             i, l.ops[i], st->ops[i]);
		cr_assert_not(l.pending);
		feed_log_fini(&l);
	}
}

/* Every cut point (two pieces), one byte at a time, and a few cycled sizes,
 * with the default and the route control-line limit: the frames of the whole. */
Test(proto_route_stream, a_stream_cut_anywhere_gives_the_same_frames)
{
	static const size_t one = 1, mixed[] = {3, 1, 7, 64, 2};
	static const uint32_t limits[] = {PROTO_MAX_CONTROL_LINE, PROTO_CONTROL_LINE_LIMIT};

	for (size_t k = 0; k < RB_ARRAY_LEN(streams); k++) {
		const struct stream *st = &streams[k];
		for (size_t m = 0; m < RB_ARRAY_LEN(limits); m++) {
			struct feed_log ref, l;
			feed_log_init(&ref);
			cr_assert_eq(
			    feed_limit(st->side, limits[m], MAXP, &ref, st->s, st->len, NULL, 0),
			    0);
			for (size_t cut = 1; cut < st->len; cut++) {
				size_t sizes[2] = {cut, 0};
				feed_log_init(&l);
				feed_limit(st->side, limits[m], MAXP, &l, st->s, st->len, sizes, 2);
				cr_expect(feed_same(&ref, &l), "stream %zu cut at %zu differs", k,
				          cut);
				feed_log_fini(&l);
			}
			feed_log_init(&l);
			feed_limit(st->side, limits[m], MAXP, &l, st->s, st->len, &one, 1);
			cr_expect(feed_same(&ref, &l), "stream %zu byte-wise differs", k);
			feed_log_fini(&l);
			feed_log_init(&l);
			feed_limit(st->side, limits[m], MAXP, &l, st->s, st->len, mixed,
			           RB_ARRAY_LEN(mixed));
			cr_expect(feed_same(&ref, &l), "stream %zu mixed sizes differ", k);
			feed_log_fini(&l);
			feed_log_fini(&ref);
		}
	}
}

/* "RMSG $G bar + r q0 q1 .. q<n-1> 2\r\nhi\r\n" (or the leaf's LMSG). */
static char *many_queues(bool leaf, unsigned n, size_t *len)
{
	size_t cap = 64 + (size_t)n * 12, o;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	o = (size_t)snprintf(s, cap, "%s bar + r", leaf ? "LMSG" : "RMSG $G");
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, " q%u", i);
	o += (size_t)snprintf(s + o, cap - o, " 2\r\nhi\r\n");
	*len = o;
	return s;
}

Test(proto_route_stream, queue_lists_are_not_bounded_by_a_field_count)
{
	static const size_t sizes[][3] = {{0}, {1}, {1000, 7, 3}};
	static const unsigned counts[] = {1, 4, 5, 6, 40, 10000};

	for (int leaf = 0; leaf < 2; leaf++) {
		enum proto_side side = leaf ? PROTO_SIDE_LEAF : PROTO_SIDE_ROUTE;
		for (size_t c = 0; c < RB_ARRAY_LEN(counts); c++) {
			size_t len;
			char *s = many_queues(leaf, counts[c], &len);
			struct proto_parser p;
			struct proto_frame f;
			size_t used;

			proto_parser_init(&p, side, MAXP);
			proto_parser_set_max_control(&p, PROTO_CONTROL_LINE_LIMIT);
			cr_assert_eq(proto_parse(&p, s, len, &used, &f), 1);
			cr_assert_eq(used, len);
			cr_assert_eq(f.reply.len, 1);
			struct proto_span q, list = f.queues;
			unsigned k = 0;
			while (proto_queue_next(&list, &q)) {
				char name[16];
				int nl = snprintf(name, sizeof(name), "q%u", k++);
				cr_assert(q.len == (uint32_t)nl && !memcmp(q.ptr, name, q.len));
			}
			cr_assert_eq(k, counts[c], "%u names, want %u", k, counts[c]);
			proto_parser_fini(&p);

			struct feed_log ref;
			feed_log_init(&ref);
			for (size_t z = 0; z < RB_ARRAY_LEN(sizes); z++) {
				struct feed_log l;
				feed_log_init(&l);
				feed_limit(side, PROTO_CONTROL_LINE_LIMIT, MAXP, &l, s, len,
				           sizes[z], 3);
				cr_expect_eq(l.status, 0);
				cr_expect_eq(l.frames, 1);
				if (z == 0)
					ref = l;
				else
					cr_expect(feed_same(&ref, &l), "count %u sizes %zu",
					          counts[c], z);
				if (z)
					feed_log_fini(&l);
			}
			feed_log_fini(&ref);
			free(s);
		}
	}
}

/* The limits are the parser's: the default control line fails a long queue
 * list, the route limit takes it; max_payload is checked before the payload. */
Test(proto_route_stream, limits_are_the_parsers_settings)
{
	static const size_t sizes[][3] = {{0}, {1}, {100, 3, 1}};
	size_t len;
	char *s = many_queues(false, 1000, &len); /* about 5 KiB of arguments */

	for (size_t z = 0; z < RB_ARRAY_LEN(sizes); z++) {
		struct feed_log l;
		feed_log_init(&l);
		feed_limit(PROTO_SIDE_ROUTE, PROTO_MAX_CONTROL_LINE, MAXP, &l, s, len, sizes[z], 3);
		cr_expect_eq(l.status, PROTO_ERR_CONTROL_LINE, "sizes %zu: %d", z, l.status);
		feed_log_fini(&l);
		feed_log_init(&l);
		feed_limit(PROTO_SIDE_ROUTE, PROTO_CONTROL_LINE_LIMIT, 1, &l, s, len, sizes[z], 3);
		cr_expect_eq(l.status, PROTO_ERR_MAX_PAYLOAD, "sizes %zu: %d", z, l.status);
		feed_log_fini(&l);
		feed_log_init(&l);
		feed_limit(PROTO_SIDE_ROUTE, PROTO_CONTROL_LINE_LIMIT, 2, &l, s, len, sizes[z], 3);
		cr_expect_eq(l.status, 0);
		cr_expect_eq(l.frames, 1);
		feed_log_fini(&l);
	}
	free(s);
}

/* A route parser allows lines of PROTO_CONTROL_LINE_LIMIT, but a short
 * partial line does not take that much room: it grows with the line. */
Test(proto_route_stream, a_partial_line_takes_room_as_it_grows)
{
	struct proto_parser p;
	struct proto_frame f;
	size_t used, len;
	char *s = many_queues(false, 20000, &len); /* about 120 KiB */

	proto_parser_init(&p, PROTO_SIDE_ROUTE, MAXP);
	proto_parser_set_max_control(&p, PROTO_CONTROL_LINE_LIMIT);
	cr_assert_eq(proto_parse(&p, s, 16, &used, &f), 0);
	cr_assert(proto_parser_pending(&p));
	cr_assert_leq(p.carry_cap, PROTO_MAX_CONTROL_LINE + 64, "first room %u", p.carry_cap);
	size_t off = 16;
	while (off < len) {
		size_t n = len - off < 1000 ? len - off : 1000;
		int r = proto_parse(&p, s + off, n, &used, &f);
		cr_assert_geq(r, 0);
		if (r == 0)
			cr_assert_leq(p.carry_cap,
			              2 * (size_t)p.carry_len + PROTO_MAX_CONTROL_LINE + 64,
			              "room %u for %u bytes", p.carry_cap, p.carry_len);
		off += r == 1 ? used : n;
		if (r == 1)
			cr_assert_eq(off, len);
	}
	cr_assert_not(proto_parser_pending(&p));
	proto_parser_fini(&p);
	free(s);
}
