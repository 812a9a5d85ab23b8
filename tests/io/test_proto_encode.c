/* Tests of io/proto's encoders: each line round-trips through the parser of the
 * side that reads it, and nothing is written when the line does not fit. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"

#define MAXP PROTO_DEFAULT_MAX_PAYLOAD

struct msg_case {
	const char *subject, *sid, *reply, *payload;
	uint32_t hdr_len; /* > 0: HMSG / HPUB */
};

static const struct msg_case cases[] = {
    {"foo", "1", "", "hello", 0},
    {"foo.bar.baz", "123456", "_INBOX.abc.def", "", 0},
    {"a", "9", "r", "with spaces\r\nand CRLF", 0},
    {"x.y", "42", "", "NATS/1.0\r\n\r\nbody", 12},
    {"x.y", "42", "reply.to", "NATS/1.0 503\r\n\r\n", 16},
};

static void expect_span(struct proto_span s, const char *want, size_t i, const char *what)
{
	cr_assert_eq(s.len, strlen(want), "case %zu: %s length", i, what);
	cr_assert(s.len == 0 || memcmp(s.ptr, want, s.len) == 0, "case %zu: %s differs", i, what);
}

/* Parses @buf/@len as exactly one frame. */
static struct proto_frame parse_one(enum proto_side side, const char *buf, size_t len,
                                    struct proto_parser *p)
{
	struct proto_frame f;
	size_t used;

	proto_parser_init(p, side, MAXP);
	cr_assert_eq(proto_parse(p, buf, len, &used, &f), 1);
	cr_assert_eq(used, len);
	return f;
}

/* Appends payload and its \r\n after a head of @n bytes. */
static size_t add_payload(char *buf, size_t n, const char *payload)
{
	size_t pl = strlen(payload);

	memcpy(buf + n, payload, pl);
	memcpy(buf + n + pl, "\r\n", 2);
	return n + pl + 2;
}

Test(proto_encode, msg_and_hmsg_round_trip_through_the_client_parser)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(cases); i++) {
		const struct msg_case *c = &cases[i];
		struct proto_parser p;
		char buf[512];
		uint32_t pl = (uint32_t)strlen(c->payload);
		size_t n;

		if (c->hdr_len)
			n = proto_encode_hmsg_head(buf, sizeof(buf), proto_span_str(c->subject),
			                           proto_span_str(c->sid), proto_span_str(c->reply),
			                           c->hdr_len, pl);
		else
			n = proto_encode_msg_head(buf, sizeof(buf), proto_span_str(c->subject),
			                          proto_span_str(c->sid), proto_span_str(c->reply),
			                          pl);
		cr_assert_gt(n, 0);
		cr_assert_leq(
		    n, proto_msg_head_max(strlen(c->subject), strlen(c->sid), strlen(c->reply)));
		n = add_payload(buf, n, c->payload);
		struct proto_frame f = parse_one(PROTO_SIDE_CLIENT, buf, n, &p);
		cr_assert_eq(f.op, c->hdr_len ? PROTO_OP_HMSG : PROTO_OP_MSG);
		expect_span(f.subject, c->subject, i, "subject");
		expect_span(f.sid, c->sid, i, "sid");
		expect_span(f.reply, c->reply, i, "reply");
		expect_span(f.payload, c->payload, i, "payload");
		cr_assert_eq(f.hdr_len, c->hdr_len);
		proto_parser_fini(&p);
	}
}

Test(proto_encode, pub_and_hpub_round_trip_through_the_server_parser)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(cases); i++) {
		const struct msg_case *c = &cases[i];
		struct proto_parser p;
		char buf[512];
		uint32_t pl = (uint32_t)strlen(c->payload);
		size_t n;

		if (c->hdr_len)
			n = proto_encode_hpub_head(buf, sizeof(buf), proto_span_str(c->subject),
			                           proto_span_str(c->reply), c->hdr_len, pl);
		else
			n = proto_encode_pub_head(buf, sizeof(buf), proto_span_str(c->subject),
			                          proto_span_str(c->reply), pl);
		cr_assert_gt(n, 0);
		n = add_payload(buf, n, c->payload);
		struct proto_frame f = parse_one(PROTO_SIDE_SERVER, buf, n, &p);
		cr_assert_eq(f.op, c->hdr_len ? PROTO_OP_HPUB : PROTO_OP_PUB);
		expect_span(f.subject, c->subject, i, "subject");
		expect_span(f.reply, c->reply, i, "reply");
		expect_span(f.payload, c->payload, i, "payload");
		cr_assert_eq(f.hdr_len, c->hdr_len);
		proto_parser_fini(&p);
	}
}

Test(proto_encode, sub_and_unsub_round_trip_through_the_server_parser)
{
	static const struct {
		const char *subject, *queue, *sid;
		uint64_t max;
	} rows[] = {
	    {"foo", "", "1", 0},
	    {"foo.*.>", "workers", "77", 0},
	    {"", "", "5", 999999999},
	    {"", "", "abc", 3},
	};

	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct proto_parser p;
		char buf[128];
		size_t n;
		bool sub = rows[i].subject[0] != '\0';

		if (sub)
			n = proto_encode_sub(buf, sizeof(buf), proto_span_str(rows[i].subject),
			                     proto_span_str(rows[i].queue),
			                     proto_span_str(rows[i].sid));
		else
			n = proto_encode_unsub(buf, sizeof(buf), proto_span_str(rows[i].sid),
			                       rows[i].max);
		cr_assert_gt(n, 0);
		struct proto_frame f = parse_one(PROTO_SIDE_SERVER, buf, n, &p);
		cr_assert_eq(f.op, sub ? PROTO_OP_SUB : PROTO_OP_UNSUB);
		expect_span(f.subject, rows[i].subject, i, "subject");
		expect_span(f.queue, rows[i].queue, i, "queue");
		expect_span(f.sid, rows[i].sid, i, "sid");
		cr_assert_eq(f.max_msgs, rows[i].max);
		proto_parser_fini(&p);
	}
}

Test(proto_encode, exact_bytes_of_each_line)
{
	char b[128];
	size_t n;

	n = proto_encode_msg_head(b, sizeof(b), proto_span_str("a.b"), proto_span_str("7"),
	                          proto_span_str(NULL), 0);
	cr_assert_eq(n, strlen("MSG a.b 7 0\r\n"));
	cr_assert(memcmp(b, "MSG a.b 7 0\r\n", n) == 0);
	n = proto_encode_hmsg_head(b, sizeof(b), proto_span_str("a"), proto_span_str("1"),
	                           proto_span_str("r"), 4294967295u, 4294967295u);
	cr_assert_eq(n, strlen("HMSG a 1 r 4294967295 4294967295\r\n"));
	cr_assert(memcmp(b, "HMSG a 1 r 4294967295 4294967295\r\n", n) == 0);
	cr_assert_eq(n, proto_msg_head_max(1, 1, 1), "the longest line is the maximum");
	n = proto_encode_unsub(b, sizeof(b), proto_span_str("12"), 0);
	cr_assert(n == 10 && memcmp(b, "UNSUB 12\r\n", n) == 0);
	n = proto_encode_err(b, sizeof(b), "Invalid Subject");
	cr_assert_eq(n, strlen("-ERR 'Invalid Subject'\r\n"));
	cr_assert(memcmp(b, "-ERR 'Invalid Subject'\r\n", n) == 0);
	cr_assert_str_eq(PROTO_PING_LINE, "PING\r\n");
	cr_assert_str_eq(PROTO_PONG_LINE, "PONG\r\n");
	cr_assert_str_eq(PROTO_OK_LINE, "+OK\r\n");
}

/* Encodes into every capacity below the needed one: 0 returned and no byte
 * written; at the needed capacity the full line. */
static void check_caps(int which)
{
	char ref[128], buf[128];
	size_t need = 0;

	for (size_t cap = 0; cap <= sizeof(buf); cap++) {
		size_t n = 0;
		memset(buf, 0x5a, sizeof(buf));
		switch (which) {
		case 0:
			n = proto_encode_msg_head(buf, cap, proto_span_str("subj"),
			                          proto_span_str("1"), proto_span_str("re"), 1234);
			break;
		case 1:
			n = proto_encode_hmsg_head(buf, cap, proto_span_str("subj"),
			                           proto_span_str("1"), proto_span_str(""), 12,
			                           1234);
			break;
		case 2:
			n = proto_encode_pub_head(buf, cap, proto_span_str("s"), proto_span_str(""),
			                          7);
			break;
		case 3:
			n = proto_encode_hpub_head(buf, cap, proto_span_str("s"),
			                           proto_span_str("r"), 7, 9);
			break;
		case 4:
			n = proto_encode_sub(buf, cap, proto_span_str("s"), proto_span_str("q"),
			                     proto_span_str("99"));
			break;
		case 5:
			n = proto_encode_unsub(buf, cap, proto_span_str("99"), 5);
			break;
		default:
			n = proto_encode_err(buf, cap, "Maximum Payload Violation");
			break;
		}
		if (n == 0) {
			for (size_t i = 0; i < sizeof(buf); i++)
				cr_assert_eq(buf[i], 0x5a, "encoder %d wrote with cap %zu", which,
				             cap);
			continue;
		}
		if (need == 0) {
			need = n;
			cr_assert_eq(cap, n, "encoder %d: first fit must be exact", which);
			memcpy(ref, buf, n);
		}
		cr_assert_eq(n, need);
		cr_assert(memcmp(ref, buf, n) == 0);
		cr_assert_eq(buf[n - 2], '\r');
		cr_assert_eq(buf[n - 1], '\n');
	}
	cr_assert_gt(need, 0, "encoder %d never fit", which);
}

Test(proto_encode, encoders_write_nothing_when_the_line_does_not_fit)
{
	for (int which = 0; which < 7; which++)
		check_caps(which);
}

Test(proto_encode, span_str_handles_null)
{
	struct proto_span s = proto_span_str(NULL);

	cr_assert_eq(s.len, 0);
	s = proto_span_str("abc");
	cr_assert_eq(s.len, 3);
	cr_assert(memcmp(s.ptr, "abc", 3) == 0);
}
