/* Tests of io/proto's streaming: a stream cut anywhere gives the frames of the
 * whole stream, frames complete in one input are views into it, and a large
 * payload arriving in pieces is reserved once and copied once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"
#include "tests/io/proto_feed.h"

#define MAXP PROTO_DEFAULT_MAX_PAYLOAD

static const char server_stream[] =
    "CONNECT {\"verbose\":false,\"headers\":true,\"name\":\"a b\"}\r\n"
    "SUB foo 1\r\n"
    "SUB bar.* q1 2\r\n"
    "PUB foo 5\r\nhello\r\n"
    "PUB foo reply.1 13\r\nhe\r\nllo w rld\r\n"
    "HPUB foo 21 32\r\nNATS/1.0\r\nA: B  C\r\n\r\nhello world\r\n"
    "HPUB foo rep 12 12\r\nNATS/1.0\r\n\r\n\r\n"
    "UNSUB 1\r\n"
    "UNSUB 2 10\r\n"
    "PING\r\n"
    "PONG\r\n"
    "pub\tfoo\t\t0\n\r\n"
    "+OK\r\n"
    "INFO {}\r\n"
    "ping xyz\n"
    "PUB a  3\r\n \r\n\r\n";

static const int server_ops[] = {
    PROTO_OP_CONNECT, PROTO_OP_SUB,  PROTO_OP_SUB,   PROTO_OP_PUB,   PROTO_OP_PUB,
    PROTO_OP_HPUB,    PROTO_OP_HPUB, PROTO_OP_UNSUB, PROTO_OP_UNSUB, PROTO_OP_PING,
    PROTO_OP_PONG,    PROTO_OP_PUB,  PROTO_OP_PING,  PROTO_OP_PUB,
};

static const char client_stream[] = "INFO {\"server_id\":\"x\",\"max_payload\":1048576} \r\n"
                                    "+OK\r\n"
                                    "MSG foo 1 5\r\nhello\r\n"
                                    "MSG foo 1 reply.x 4\r\na\r\nb\r\n"
                                    "HMSG foo 2 12 17\r\nNATS/1.0\r\n\r\nhello\r\n"
                                    "HMSG foo 2 inbox 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
                                    "PING\r\n"
                                    "PONG\r\n"
                                    "-ERR 'Invalid Subject'\r\n";

static const int client_ops[] = {
    PROTO_OP_INFO, PROTO_OP_OK,   PROTO_OP_MSG,  PROTO_OP_MSG, PROTO_OP_HMSG,
    PROTO_OP_HMSG, PROTO_OP_PING, PROTO_OP_PONG, PROTO_OP_ERR,
};

struct stream {
	enum proto_side side;
	const char *s;
	size_t len;
	const int *ops;
	size_t nops;
};

static const struct stream streams[] = {
    {PROTO_SIDE_SERVER, server_stream, sizeof(server_stream) - 1, server_ops,
     RB_ARRAY_LEN(server_ops)},
    {PROTO_SIDE_CLIENT, client_stream, sizeof(client_stream) - 1, client_ops,
     RB_ARRAY_LEN(client_ops)},
};

/* The whole stream in one input: the expected ops, no error, nothing left. */
static void whole(const struct stream *st, struct feed_log *l)
{
	feed_log_init(l);
	cr_assert_eq(feed_run(st->side, MAXP, l, st->s, st->len, NULL, 0), 0);
	cr_assert_eq((size_t)l->frames, st->nops);
	for (size_t i = 0; i < st->nops; i++)
		cr_assert_eq(l->ops[i], st->ops[i], "frame %zu: op %d, want %d", i, l->ops[i],
		             st->ops[i]);
	cr_assert_not(l->pending);
}

static void expect_same_with(const struct stream *st, const struct feed_log *ref,
                             const size_t *sizes, size_t n, const char *what)
{
	struct feed_log l;

	feed_log_init(&l);
	feed_run(st->side, MAXP, &l, st->s, st->len, sizes, n);
	cr_assert(feed_same(ref, &l), "%s side, %s (%zu %zu %zu): frames differ (%d vs %d)",
	          st->side == PROTO_SIDE_SERVER ? "server" : "client", what, sizes[0],
	          n > 1 ? sizes[1] : 0, n > 2 ? sizes[2] : 0, l.frames, ref->frames);
	feed_log_fini(&l);
}

Test(proto_stream, every_split_point_gives_the_frames_of_the_whole_stream)
{
	for (size_t s = 0; s < RB_ARRAY_LEN(streams); s++) {
		struct feed_log ref;
		whole(&streams[s], &ref);
		for (size_t k = 1; k < streams[s].len; k++) {
			size_t sizes[2] = {k, 0};
			expect_same_with(&streams[s], &ref, sizes, 2, "two pieces");
		}
		feed_log_fini(&ref);
	}
}

Test(proto_stream, every_pair_of_split_points_gives_the_same_frames)
{
	for (size_t s = 0; s < RB_ARRAY_LEN(streams); s++) {
		struct feed_log ref;
		whole(&streams[s], &ref);
		for (size_t a = 1; a < streams[s].len; a += 3) {
			for (size_t b = 1; a + b < streams[s].len; b++) {
				size_t sizes[3] = {a, b, 0};
				expect_same_with(&streams[s], &ref, sizes, 3, "three pieces");
			}
		}
		feed_log_fini(&ref);
	}
}

Test(proto_stream, one_byte_at_a_time_gives_the_same_frames)
{
	static const size_t one = 1;

	for (size_t s = 0; s < RB_ARRAY_LEN(streams); s++) {
		struct feed_log ref;
		whole(&streams[s], &ref);
		expect_same_with(&streams[s], &ref, &one, 1, "bytes");
		feed_log_fini(&ref);
	}
}

Test(proto_stream, random_chunk_sizes_give_the_same_frames)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t s = 0; s < RB_ARRAY_LEN(streams); s++) {
		struct feed_log ref;
		whole(&streams[s], &ref);
		for (int run = 0; run < 300; run++) {
			size_t sizes[16];
			for (size_t i = 0; i < RB_ARRAY_LEN(sizes); i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				sizes[i] = 1 + x % 40;
			}
			expect_same_with(&streams[s], &ref, sizes, RB_ARRAY_LEN(sizes), "random");
		}
		feed_log_fini(&ref);
	}
}

Test(proto_stream, frames_complete_in_the_input_are_views_into_it)
{
	struct proto_parser p;
	struct proto_frame f;
	size_t off = 0, used, len = sizeof(server_stream) - 1;
	int frames = 0;

	proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
	while (off < len) {
		int r = proto_parse(&p, server_stream + off, len - off, &used, &f);
		cr_assert_geq(r, 0);
		if (r == 0)
			break;
		const struct proto_span *sp[] = {&f.subject, &f.reply, &f.queue,
		                                 &f.sid,     &f.arg,   &f.payload};
		for (size_t i = 0; i < RB_ARRAY_LEN(sp); i++) {
			if (sp[i]->len == 0)
				continue;
			cr_assert(sp[i]->ptr >= server_stream + off &&
			              sp[i]->ptr + sp[i]->len <= server_stream + off + used,
			          "frame %d: span %zu is not inside its bytes of the input", frames,
			          i);
		}
		frames++;
		off += used;
	}
	cr_assert_eq(off, len);
	cr_assert_eq((size_t)frames, RB_ARRAY_LEN(server_ops));
	cr_assert_null(p.carry, "nothing may be copied");
	proto_parser_fini(&p);
}

/* "PUB big <n>\r\n" + n pattern bytes + "\r\nPING\r\n" */
static char *big_stream(size_t n, size_t *len)
{
	char head[64];
	int h = snprintf(head, sizeof(head), "PUB big %zu\r\n", n);
	char *s = malloc((size_t)h + n + 8);

	cr_assert_not_null(s);
	memcpy(s, head, (size_t)h);
	for (size_t i = 0; i < n; i++)
		s[(size_t)h + i] = (char)('a' + (i * 7 + i / 251) % 26);
	memcpy(s + h + n, "\r\nPING\r\n", 8);
	*len = (size_t)h + n + 8;
	return s;
}

Test(proto_stream, megabyte_payload_in_chunks_of_many_sizes)
{
	static const size_t sizes[] = {1,     2,     7,     100,   1000,   4096,
	                               16384, 65535, 65536, 65537, 1048576};
	size_t len;
	char *s = big_stream(MAXP, &len);
	struct feed_log ref;

	feed_log_init(&ref);
	cr_assert_eq(feed_run(PROTO_SIDE_SERVER, MAXP, &ref, s, len, NULL, 0), 0);
	cr_assert_eq(ref.frames, 2);
	cr_assert_eq(ref.ops[0], PROTO_OP_PUB);
	cr_assert_eq(ref.ops[1], PROTO_OP_PING);
	for (size_t i = 0; i < RB_ARRAY_LEN(sizes); i++) {
		struct feed_log l;
		feed_log_init(&l);
		feed_run(PROTO_SIDE_SERVER, MAXP, &l, s, len, &sizes[i], 1);
		cr_assert(feed_same(&ref, &l), "chunks of %zu differ", sizes[i]);
		feed_log_fini(&l);
	}
	feed_log_fini(&ref);
	free(s);
}

Test(proto_stream, large_payload_is_reserved_once_and_released_after)
{
	static const size_t piece = 64 * 1024;
	size_t len, off = 0, used, reserves = 0;
	char *s = big_stream(MAXP, &len);
	struct proto_parser p;
	struct proto_frame f;
	const char *last = NULL;
	uint32_t cap = 0;
	int r = 0;

	proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;
		r = proto_parse(&p, s + off, n, &used, &f);
		cr_assert_geq(r, 0);
		if (p.carry != last || p.carry_cap != cap) {
			reserves++;
			last = p.carry;
			cap = p.carry_cap;
		}
		off += used;
		if (r == 1)
			break;
	}
	cr_assert_eq(r, 1);
	cr_assert_eq(f.op, PROTO_OP_PUB);
	cr_assert_eq(f.payload.len, MAXP);
	cr_assert(memcmp(f.payload.ptr, s + 17, MAXP) == 0, "payload bytes differ");
	cr_assert_eq(reserves, 1, "carry reallocated %zu times", reserves);
	cr_assert(f.payload.ptr >= p.carry && f.payload.ptr < p.carry + p.carry_cap);
	cr_assert_not(proto_parser_pending(&p));
	/* the next call frees the big, empty carry */
	r = proto_parse(&p, s + off, len - off, &used, &f);
	cr_assert_eq(r, 1);
	cr_assert_eq(f.op, PROTO_OP_PING);
	cr_assert_null(p.carry);
	proto_parser_fini(&p);
	free(s);
}

Test(proto_stream, pending_reports_a_partial_operation)
{
	struct proto_parser p;
	struct proto_frame f;
	size_t used;

	proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
	cr_assert_not(proto_parser_pending(&p));
	cr_assert_eq(proto_parse(&p, "PUB a 5\r\nhel", 12, &used, &f), 0);
	cr_assert_eq(used, 12);
	cr_assert(proto_parser_pending(&p));
	cr_assert_eq(proto_parse(&p, "lo\r\nPI", 6, &used, &f), 1);
	cr_assert_eq(used, 4);
	cr_assert_eq(f.payload.len, 5);
	cr_assert(memcmp(f.payload.ptr, "hello", 5) == 0);
	cr_assert_not(proto_parser_pending(&p));
	cr_assert_eq(proto_parse(&p, "PI", 2, &used, &f), 0);
	cr_assert(proto_parser_pending(&p));
	cr_assert_eq(proto_parse(&p, "NG\r\n", 4, &used, &f), 1);
	cr_assert_eq(f.op, PROTO_OP_PING);
	cr_assert_not(proto_parser_pending(&p));
	cr_assert_eq(proto_parse(&p, "", 0, &used, &f), 0);
	cr_assert_eq(used, 0);
	proto_parser_fini(&p);
}

Test(proto_stream, a_missing_payload_terminator_fails_as_soon_as_it_arrives)
{
	struct proto_parser p;
	struct proto_frame f;
	size_t used;

	proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
	cr_assert_eq(proto_parse(&p, "PUB a 3\r\nab", 11, &used, &f), 0);
	cr_assert_eq(proto_parse(&p, "c", 1, &used, &f), 0);
	cr_assert_eq(proto_parse(&p, "X", 1, &used, &f), PROTO_ERR_UNKNOWN_OP);
	proto_parser_fini(&p);

	proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
	cr_assert_eq(proto_parse(&p, "PUB a 3\r\nab", 11, &used, &f), 0);
	cr_assert_eq(proto_parse(&p, "c\r", 2, &used, &f), 0);
	cr_assert_eq(proto_parse(&p, "\r", 1, &used, &f), PROTO_ERR_UNKNOWN_OP);
	proto_parser_fini(&p);
}

Test(proto_stream, an_unknown_operation_fails_before_its_newline)
{
	static const char *ins[] = {"X", "PUX", "PUB\r", "CONNEXT", "HMSG", "UNSUBX", "+X", "-ERX"};

	for (size_t i = 0; i < RB_ARRAY_LEN(ins); i++) {
		struct proto_parser p;
		struct proto_frame f;
		size_t used, n = strlen(ins[i]);
		int r = 0;

		proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
		for (size_t k = 0; k < n && r == 0; k++)
			r = proto_parse(&p, ins[i] + k, 1, &used, &f);
		cr_expect_eq(r, PROTO_ERR_UNKNOWN_OP, "%s: %d", ins[i], r);
		proto_parser_fini(&p);
	}
}
