/* Tests of io/proto's parser, line by line, against what nats-server 2.9.10
 * does with the same bytes.
 *
 * Each row below was sent to `nats-server -a 127.0.0.1 -p 4377` (Debian
 * 2.9.10) on a raw socket after CONNECT {"verbose":true,"pedantic":false}
 * (plus "headers":true for HPUB), followed by PING. "ok" means +OK (or PONG)
 * came back and the connection stayed; "close" means it closed with no -ERR.
 *
 *   input (server side)                  nats-server                    ringbus
 *   PUB a 1\r\nx\r\n, pub.., PUB\ta\t\t1\n ok                           frame
 *   PUB a 1 \r\n, PUB  a  1  \r\n          ok (runs of blanks)          frame
 *   PUB a 000000001\r\nx\r\n               ok (9 digits)                frame
 *   PUB a 0\r\n\r\n                        ok                           frame
 *   PUB a r 3\r\n\r\nx\r\n                 ok (payload holds \r\n)      frame
 *   PUB a 2\r\nx\r\r\n                     ok (payload "x\r")           frame
 *   PUB \na 1\r\nx\r\n                     ok (subject "\na")           frame
 *   PUB a, PUB \r\n, PUB a b 1 2, PUB a b c 1  close                    BAD_ARGS
 *   PUB a x, a -1, a +1, a 1x              close                        BAD_ARGS
 *   PUB a 0000000001 (10 digits)           close                        BAD_ARGS
 *   PUB a 1000000000                       close                        BAD_ARGS
 *   PUB a 1048577, PUB a 999999999         -ERR 'Maximum Payload Violation'  MAX_PAYLOAD
 *   PUB a\r1\r\n, PUB a 1\rX\n, PUB a 1\r 5\n  close (a stray \r drops the
 *                                          argument's last byte)        BAD_ARGS
 *   PUB\r\n, PUBX a 1                      -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   PUB a 1\r\nxy\r\n, ..x\n, ..x\r\r\n    -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   PUB + 10000 blanks + a 0               ok (blanks before the args are free)
 *   HPUB a 12 12 / hpub a r 12 14          ok                           frame
 *   HPUB a 0 2\r\nhi\r\n                   ok (hdr_len 0 accepted)      frame
 *   HPUB a 13 12, a 12, a x 12, a 12 x     close                        BAD_ARGS
 *   HPUB a b c 12 12, a -1 12, \r\n-less   close                        BAD_ARGS
 *   HPUB a 1048577 1048576 (hdr > total)   close                        BAD_ARGS
 *   HPUB a 2 1048577, a 1048577 1048577    -ERR 'Maximum Payload Violation'  MAX_PAYLOAD
 *   HPUB\r\n                               -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   HPUB without headers:true in CONNECT   close (server's check)       frame
 *   SUB a 1, sub a q 1, SUB a\t\tq\t1\n    ok                           frame
 *   SUB a\r1\r\n, SUB a 1\rX\n, a 1\r 5\n  ok, sid "1" (SUB splits on \r) frame
 *   SUB \na 1\r\n                          ok                           frame
 *   SUB a, SUB \r\n, SUB a q 1 x           close                        BAD_ARGS
 *   SUB\r\n, SUBX a 1                      -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   UNSUB 1, unsub 1 5, UNSUB 1\r5\r\n     ok                           frame
 *   UNSUB 1 x, 1 -5, 1 0, 1 0000000005     ok, as if no max             frame, max 0
 *   UNSUB 1 5 6, UNSUB \r\n                close                        BAD_ARGS
 *   UNSUB\r\n                              -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   CONNECT{..}, CONNECT\n{}\n             ok (no blank needed; \n may start the JSON)
 *   CONNECT\r\n, CONNECT x, [], trailing   close (JSON, see test_connect.c)
 *   MSG a 1 2, HMSG a 1 2 2                -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   INFO {}                                ignored, no +OK              consumed
 *   INFO x, INFO\r\n                       close                        BAD_ARGS
 *   +OK, +OKjunk                           ignored                      consumed
 *   -ERR 'x'                               close                        (the ERR op)
 *   -ERR\r\n, \r\n, \n, " PING", PIN\r\n   -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   PINGjunk, PING junk, ping\n, PONGx     ok (anything up to \n)       frame
 *   PING + 10000 bytes, +OK + 10000 bytes  ok (no limit on these)       frame
 *   XYZ (no newline yet)                   -ERR 'Unknown Protocol Operation' at once
 *   PUB a 1\r\nxy (no more bytes)          -ERR 'Unknown Protocol Operation' at once
 *
 * Control line: the limit counts the argument bytes (after the name and its
 * blanks, without the final \r): 4096 is accepted, 4097 gives -ERR 'maximum
 * control line exceeded' and close, for PUB HPUB SUB UNSUB CONNECT INFO -ERR,
 * ending in \r\n or \n. A line still without its newline fails as soon as
 * more than 4096 argument bytes (not counting a final \r) have arrived:
 * "PUB " + 4096 bytes, or + 4096 bytes + "\r", waits; + 4097 bytes fails. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"
#include "tests/io/proto_feed.h"

#define MAXP PROTO_DEFAULT_MAX_PAYLOAD

/* One line. want: a PROTO_OP_* when a frame is expected, 0 when the bytes are
 * consumed with no frame, or a PROTO_ERR_*. Expected spans: NULL = empty. */
struct row {
	const char *in;
	int want;
	const char *subject, *reply, *queue, *sid, *arg, *payload;
	uint32_t hdr_len;
	uint64_t max_msgs;
};

static void expect_span(struct proto_span s, const char *want, const char *what, size_t i)
{
	size_t n = want ? strlen(want) : 0;

	cr_expect_eq(s.len, n, "row %zu: %s length %u, want %zu", i, what, s.len, n);
	if (s.len == n && n)
		cr_expect(memcmp(s.ptr, want, n) == 0, "row %zu: %s differs", i, what);
}

/* Parses each row whole, then one byte at a time: the first frame (if any) must
 * match, the rest of the row must leave nothing pending and no error, and the
 * byte-wise run must give the same frames. */
static void run_rows(enum proto_side side, const struct row *rows, size_t n)
{
	static const size_t one = 1;

	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		struct proto_parser p;
		struct proto_frame f;
		size_t len = strlen(w->in), off = 0, used;
		int r, got = 0, frames = 0;

		proto_parser_init(&p, side, MAXP);
		while (off < len) {
			r = proto_parse(&p, w->in + off, len - off, &used, &f);
			if (r < 0) {
				got = r;
				break;
			}
			if (r == 0)
				break;
			if (frames++ == 0) {
				got = (int)f.op;
				expect_span(f.subject, w->subject, "subject", i);
				expect_span(f.reply, w->reply, "reply", i);
				expect_span(f.queue, w->queue, "queue", i);
				expect_span(f.sid, w->sid, "sid", i);
				expect_span(f.arg, w->arg, "arg", i);
				expect_span(f.payload, w->payload, "payload", i);
				cr_expect_eq(f.hdr_len, w->hdr_len, "row %zu: hdr_len", i);
				cr_expect_eq(f.max_msgs, w->max_msgs, "row %zu: max_msgs", i);
			}
			off += used;
		}
		cr_expect_eq(got, w->want, "row %zu (%s): got %d want %d", i, w->in, got, w->want);
		cr_expect_leq(frames, 1, "row %zu: %d frames", i, frames);
		if (got >= 0)
			cr_expect_not(proto_parser_pending(&p), "row %zu: left pending", i);
		proto_parser_fini(&p);

		struct feed_log whole, bytes;
		feed_log_init(&whole);
		feed_log_init(&bytes);
		feed_run(side, MAXP, &whole, w->in, len, NULL, 0);
		feed_run(side, MAXP, &bytes, w->in, len, &one, 1);
		cr_expect(feed_same(&whole, &bytes), "row %zu (%s): byte-wise run differs", i,
		          w->in);
		feed_log_fini(&whole);
		feed_log_fini(&bytes);
	}
}

#define E_BAD PROTO_ERR_BAD_ARGS
#define E_UNK PROTO_ERR_UNKNOWN_OP
#define E_MAX PROTO_ERR_MAX_PAYLOAD

Test(proto, server_accepts_what_nats_server_accepts)
{
	static const struct row rows[] = {
	    {.in = "PUB a 1\r\nx\r\n", .want = PROTO_OP_PUB, .subject = "a", .payload = "x"},
	    {.in = "pub a 1\r\nx\r\n", .want = PROTO_OP_PUB, .subject = "a", .payload = "x"},
	    {.in = "PUB\ta\t\t1\nx\r\n", .want = PROTO_OP_PUB, .subject = "a", .payload = "x"},
	    {.in = "PUB a 1 \r\nx\r\n", .want = PROTO_OP_PUB, .subject = "a", .payload = "x"},
	    {.in = "PUB  a  1  \r\nx\r\n", .want = PROTO_OP_PUB, .subject = "a", .payload = "x"},
	    {.in = "PUB a 000000001\r\nx\r\n",
	     .want = PROTO_OP_PUB,
	     .subject = "a",
	     .payload = "x"},
	    {.in = "PUB a 0\r\n\r\n", .want = PROTO_OP_PUB, .subject = "a"},
	    {.in = "PUB a r 3\r\n\r\nx\r\n",
	     .want = PROTO_OP_PUB,
	     .subject = "a",
	     .reply = "r",
	     .payload = "\r\nx"},
	    {.in = "PUB a 2\r\nx\r\r\n", .want = PROTO_OP_PUB, .subject = "a", .payload = "x\r"},
	    {.in = "PUB \na 1\r\nx\r\n", .want = PROTO_OP_PUB, .subject = "\na", .payload = "x"},
	    {.in = "Pub foo.bar INBOX.1 5\r\nhello\r\n",
	     .want = PROTO_OP_PUB,
	     .subject = "foo.bar",
	     .reply = "INBOX.1",
	     .payload = "hello"},
	    {.in = "HPUB a 12 12\r\nNATS/1.0\r\n\r\n\r\n",
	     .want = PROTO_OP_HPUB,
	     .subject = "a",
	     .payload = "NATS/1.0\r\n\r\n",
	     .hdr_len = 12},
	    {.in = "hpub a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
	     .want = PROTO_OP_HPUB,
	     .subject = "a",
	     .reply = "r",
	     .payload = "NATS/1.0\r\n\r\nhi",
	     .hdr_len = 12},
	    {.in = "HPUB a 0 2\r\nhi\r\n", .want = PROTO_OP_HPUB, .subject = "a", .payload = "hi"},
	    {.in = "SUB a 1\r\n", .want = PROTO_OP_SUB, .subject = "a", .sid = "1"},
	    {.in = "sub a q 1\r\n", .want = PROTO_OP_SUB, .subject = "a", .queue = "q", .sid = "1"},
	    {.in = "SUB a\t\tq\t1\n",
	     .want = PROTO_OP_SUB,
	     .subject = "a",
	     .queue = "q",
	     .sid = "1"},
	    {.in = "SUB a\r1\r\n", .want = PROTO_OP_SUB, .subject = "a", .sid = "1"},
	    {.in = "SUB a 1\rX\n", .want = PROTO_OP_SUB, .subject = "a", .sid = "1"},
	    {.in = "SUB a 1\r 5\n", .want = PROTO_OP_SUB, .subject = "a", .sid = "1"},
	    {.in = "SUB \na 1\r\n", .want = PROTO_OP_SUB, .subject = "a", .sid = "1"},
	    {.in = "UNSUB 1\r\n", .want = PROTO_OP_UNSUB, .sid = "1"},
	    {.in = "unsub 1 5\r\n", .want = PROTO_OP_UNSUB, .sid = "1", .max_msgs = 5},
	    {.in = "UNSUB 1\r5\r\n", .want = PROTO_OP_UNSUB, .sid = "1", .max_msgs = 5},
	    {.in = "UNSUB 1 x\r\n", .want = PROTO_OP_UNSUB, .sid = "1"},
	    {.in = "UNSUB 1 -5\r\n", .want = PROTO_OP_UNSUB, .sid = "1"},
	    {.in = "UNSUB 1 0\r\n", .want = PROTO_OP_UNSUB, .sid = "1"},
	    {.in = "UNSUB 1 0000000005\r\n", .want = PROTO_OP_UNSUB, .sid = "1"},
	    {.in = "UNSUB 1 999999999\r\n",
	     .want = PROTO_OP_UNSUB,
	     .sid = "1",
	     .max_msgs = 999999999},
	    {.in = "CONNECT {\"verbose\":false}\r\n",
	     .want = PROTO_OP_CONNECT,
	     .arg = "{\"verbose\":false}"},
	    {.in = "connect\t {}\n", .want = PROTO_OP_CONNECT, .arg = "{}"},
	    {.in = "CONNECT{}\r\n", .want = PROTO_OP_CONNECT, .arg = "{}"},
	    {.in = "CONNECT\n{}\n", .want = PROTO_OP_CONNECT, .arg = "\n{}"},
	    {.in = "CONNECT\r\n", .want = PROTO_OP_CONNECT, .arg = "\r"},
	    {.in = "PING\r\n", .want = PROTO_OP_PING},
	    {.in = "ping\n", .want = PROTO_OP_PING},
	    {.in = "PINGjunk\r\n", .want = PROTO_OP_PING},
	    {.in = "PING junk\r\n", .want = PROTO_OP_PING},
	    {.in = "PONG\r\n", .want = PROTO_OP_PONG},
	    {.in = "PONGx\r\n", .want = PROTO_OP_PONG},
	    {.in = "INFO {}\r\n", .want = 0},
	    {.in = "INFO null\r\n", .want = 0},
	    {.in = "+OK\r\n", .want = 0},
	    {.in = "+OKjunk\r\n", .want = 0},
	};
	run_rows(PROTO_SIDE_SERVER, rows, RB_ARRAY_LEN(rows));
}

Test(proto, server_rejects_what_nats_server_rejects)
{
	static const struct row rows[] = {
	    {.in = "PUB a\r\n", .want = E_BAD},
	    {.in = "PUB \r\n", .want = E_BAD},
	    {.in = "PUB a b 1 2\r\n", .want = E_BAD},
	    {.in = "PUB a b c 1\r\n", .want = E_BAD},
	    {.in = "PUB a x\r\n", .want = E_BAD},
	    {.in = "PUB a -1\r\n", .want = E_BAD},
	    {.in = "PUB a +1\r\nx\r\n", .want = E_BAD},
	    {.in = "PUB a 1x\r\n", .want = E_BAD},
	    {.in = "PUB a 0000000001\r\nx\r\n", .want = E_BAD},
	    {.in = "PUB a 1000000000\r\n", .want = E_BAD},
	    {.in = "PUB a\r1\r\nx\r\n", .want = E_BAD},
	    {.in = "PUB a 1\rX\nx\r\n", .want = E_BAD},
	    {.in = "PUB a 1\r 5\nx\r\n", .want = E_BAD},
	    {.in = "PUB a 1048577\r\n", .want = E_MAX},
	    {.in = "PUB a 999999999\r\n", .want = E_MAX},
	    {.in = "PUB\r\n", .want = E_UNK},
	    {.in = "PUBX a 1\r\nx\r\n", .want = E_UNK},
	    {.in = "PUB a 1\r\nxy\r\n", .want = E_UNK},
	    {.in = "PUB a 1\r\nx\n", .want = E_UNK},
	    {.in = "PUB a 1\r\nx\r\r\n", .want = E_UNK},
	    {.in = "HPUB a 13 12\r\n", .want = E_BAD},
	    {.in = "HPUB a 12\r\n", .want = E_BAD},
	    {.in = "HPUB a x 12\r\n", .want = E_BAD},
	    {.in = "HPUB a 12 x\r\n", .want = E_BAD},
	    {.in = "HPUB a b c 12 12\r\n", .want = E_BAD},
	    {.in = "HPUB a -1 12\r\n", .want = E_BAD},
	    {.in = "HPUB \r\n", .want = E_BAD},
	    {.in = "HPUB a\r\n", .want = E_BAD},
	    {.in = "HPUB a 0000000001 12\r\n", .want = E_BAD},
	    {.in = "HPUB a 12 0000000012\r\n", .want = E_BAD},
	    {.in = "HPUB a 1048577 1048576\r\n", .want = E_BAD},
	    {.in = "HPUB a 2 1048577\r\n", .want = E_MAX},
	    {.in = "HPUB a 1048577 1048577\r\n", .want = E_MAX},
	    {.in = "HPUB a 2 2\r\nhi\n", .want = E_UNK},
	    {.in = "HPUB\r\n", .want = E_UNK},
	    {.in = "SUB a\r\n", .want = E_BAD},
	    {.in = "SUB \r\n", .want = E_BAD},
	    {.in = "SUB a q 1 x\r\n", .want = E_BAD},
	    {.in = "SUB\r\n", .want = E_UNK},
	    {.in = "SUBX a 1\r\n", .want = E_UNK},
	    {.in = "UNSUB 1 5 6\r\n", .want = E_BAD},
	    {.in = "UNSUB \r\n", .want = E_BAD},
	    {.in = "UNSUB\r\n", .want = E_UNK},
	    {.in = "HMSG a 1 2 2\r\nhi\r\n", .want = E_UNK},
	    {.in = "MSG a 1 2\r\nhi\r\n", .want = E_UNK},
	    {.in = "INFO x\r\n", .want = E_BAD},
	    {.in = "INFO\r\n", .want = E_BAD},
	    {.in = "INFO []\r\n", .want = E_BAD},
	    {.in = "-ERR 'x'\r\n", .want = PROTO_OP_ERR, .arg = "x"},
	    {.in = "-ERR\r\n", .want = E_UNK},
	    {.in = "\r\n", .want = E_UNK},
	    {.in = "\n", .want = E_UNK},
	    {.in = " PING\r\n", .want = E_UNK},
	    {.in = "PIN\r\n", .want = E_UNK},
	    {.in = "+O\r\n", .want = E_UNK},
	    {.in = "XYZ", .want = E_UNK},
	    {.in = "PUB a 1\r\nxy", .want = E_UNK},
	};
	run_rows(PROTO_SIDE_SERVER, rows, RB_ARRAY_LEN(rows));
}

Test(proto, client_accepts_server_operations)
{
	static const struct row rows[] = {
	    {.in = "MSG a 1 2\r\nhi\r\n",
	     .want = PROTO_OP_MSG,
	     .subject = "a",
	     .sid = "1",
	     .payload = "hi"},
	    {.in = "msg a 1 r 2\r\nhi\r\n",
	     .want = PROTO_OP_MSG,
	     .subject = "a",
	     .reply = "r",
	     .sid = "1",
	     .payload = "hi"},
	    {.in = "MSG\ta\t1  0\n\r\n", .want = PROTO_OP_MSG, .subject = "a", .sid = "1"},
	    {.in = "HMSG a 1 4 6\r\n\r\n\r\nhi\r\n",
	     .want = PROTO_OP_HMSG,
	     .subject = "a",
	     .sid = "1",
	     .payload = "\r\n\r\nhi",
	     .hdr_len = 4},
	    {.in = "HMSG a 1 r 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
	     .want = PROTO_OP_HMSG,
	     .subject = "a",
	     .reply = "r",
	     .sid = "1",
	     .payload = "NATS/1.0 503\r\n\r\n",
	     .hdr_len = 16},
	    {.in = "INFO {\"server_id\":\"x\"} \r\n",
	     .want = PROTO_OP_INFO,
	     .arg = "{\"server_id\":\"x\"} "},
	    {.in = "-ERR 'Unknown Protocol Operation'\r\n",
	     .want = PROTO_OP_ERR,
	     .arg = "Unknown Protocol Operation"},
	    {.in = "-ERR 'Permissions Violation for Publish to \"a\"'\r\n",
	     .want = PROTO_OP_ERR,
	     .arg = "Permissions Violation for Publish to \"a\""},
	    {.in = "-err plain\n", .want = PROTO_OP_ERR, .arg = "plain"},
	    {.in = "+OK\r\n", .want = PROTO_OP_OK},
	    {.in = "PING\r\n", .want = PROTO_OP_PING},
	    {.in = "PONG\r\n", .want = PROTO_OP_PONG},
	};
	run_rows(PROTO_SIDE_CLIENT, rows, RB_ARRAY_LEN(rows));
}

Test(proto, client_rejects_client_operations_and_bad_messages)
{
	static const struct row rows[] = {
	    {.in = "PUB a 1\r\nx\r\n", .want = E_UNK},
	    {.in = "SUB a 1\r\n", .want = E_UNK},
	    {.in = "CONNECT {}\r\n", .want = E_UNK},
	    {.in = "UNSUB 1\r\n", .want = E_UNK},
	    {.in = "HPUB a 0 0\r\n\r\n", .want = E_UNK},
	    {.in = "MSG a 1\r\n", .want = E_BAD},
	    {.in = "MSG a 1 r x 2\r\n", .want = E_BAD},
	    {.in = "MSG a 1 x\r\n", .want = E_BAD},
	    {.in = "HMSG a 1 5 4\r\n", .want = E_BAD},
	    {.in = "HMSG a 1 4\r\n", .want = E_BAD},
	    {.in = "MSG a 1 2000000\r\n", .want = E_MAX},
	    {.in = "MSG a 1 2\r\nhi\n", .want = E_UNK},
	    {.in = "MSGX\r\n", .want = E_UNK},
	    {.in = "-ERR\r\n", .want = E_UNK},
	};
	run_rows(PROTO_SIDE_CLIENT, rows, RB_ARRAY_LEN(rows));
}

/* A generated line: head + n copies of fill + tail. want as in struct row;
 * pending: the parser must be left holding a partial operation. */
struct long_row {
	const char *head;
	char fill;
	size_t n;
	const char *tail;
	int want;
	bool pending;
};

static char *build(const struct long_row *w, size_t *len)
{
	size_t h = strlen(w->head), t = strlen(w->tail);
	char *s = malloc(h + w->n + t + 1);

	cr_assert_not_null(s);
	memcpy(s, w->head, h);
	memset(s + h, w->fill, w->n);
	memcpy(s + h + w->n, w->tail, t + 1);
	*len = h + w->n + t;
	return s;
}

static void run_long_rows(const struct long_row *rows, size_t n)
{
	static const size_t sizes[][3] = {{0}, {1}, {1000, 7, 3}, {4096}, {4100}};

	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *s = build(&rows[i], &len);
		struct feed_log first;
		feed_log_init(&first);
		for (size_t k = 0; k < RB_ARRAY_LEN(sizes); k++) {
			struct feed_log l;
			feed_log_init(&l);
			feed_run(PROTO_SIDE_SERVER, MAXP, &l, s, len, sizes[k], 3);
			int got = l.status ? l.status : l.frames ? l.ops[0] : 0;
			cr_expect_eq(got, rows[i].want, "long row %zu, sizes %zu: got %d want %d",
			             i, k, got, rows[i].want);
			cr_expect_eq(l.pending, rows[i].pending, "long row %zu, sizes %zu: pending",
			             i, k);
			if (k == 0)
				first = l;
			else
				cr_expect(feed_same(&first, &l), "long row %zu: sizes %zu differ",
				          i, k);
			if (k)
				feed_log_fini(&l);
		}
		feed_log_fini(&first);
		free(s);
	}
}

Test(proto, control_line_limit_counts_argument_bytes_like_nats_server)
{
	static const struct long_row rows[] = {
	    /* complete lines: 4096 argument bytes pass, 4097 fail */
	    {"PUB ", 'a', 4094, " 0\r\n\r\n", PROTO_OP_PUB, false},
	    {"PUB ", 'a', 4095, " 0\r\n\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"PUB ", 'a', 4094, " 0\n\r\n", PROTO_OP_PUB, false},
	    {"PUB ", 'a', 4095, " 0\n\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"PUB a  ", ' ', 4092, "0\r\n\r\n", PROTO_OP_PUB, false},
	    {"PUB a  ", ' ', 4093, "0\r\n\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"SUB ", 'a', 4094, " 1\r\n", PROTO_OP_SUB, false},
	    {"SUB ", 'a', 4095, " 1\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"UNSUB ", '1', 4094, " 1\r\n", PROTO_OP_UNSUB, false},
	    {"UNSUB ", '1', 4095, " 1\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"HPUB ", 'a', 4092, " 0 0\r\n\r\n", PROTO_OP_HPUB, false},
	    {"HPUB ", 'a', 4093, " 0 0\r\n\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"CONNECT {\"name\":\"", 'x', 4085, "\"}\r\n", PROTO_OP_CONNECT, false},
	    {"CONNECT {\"name\":\"", 'x', 4086, "\"}\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"INFO {\"a\":\"", 'x', 4088, "\"}\r\n", 0, false},
	    {"INFO {\"a\":\"", 'x', 4089, "\"}\r\n", PROTO_ERR_CONTROL_LINE, false},
	    {"-ERR '", 'x', 4094, "'\r\n", PROTO_OP_ERR, false},
	    {"-ERR '", 'x', 4095, "'\r\n", PROTO_ERR_CONTROL_LINE, false},
	    /* lines still without their newline */
	    {"PUB ", 'a', 4096, "", 0, true},
	    {"PUB ", 'a', 4096, "\r", 0, true},
	    {"PUB ", 'a', 4097, "", PROTO_ERR_CONTROL_LINE, false},
	    {"PUB ", 'a', 1000, "\r", 0, true},
	    {"CONNECT ", 'a', 4097, "", PROTO_ERR_CONTROL_LINE, false},
	    {"SUB a ", 'x', 10000, "", PROTO_ERR_CONTROL_LINE, false},
	    /* no limit: blanks before the arguments, anything after PING/PONG/+OK */
	    {"PUB", ' ', 10000, "a 0\r\n\r\n", PROTO_OP_PUB, false},
	    {"SUB", '\t', 10000, "", 0, true},
	    {"PING", 'x', 10000, "\r\n", PROTO_OP_PING, false},
	    {"PONG", 'x', 10000, "", 0, true},
	    {"+OK", 'x', 10000, "\r\nPING\r\n", PROTO_OP_PING, false},
	};
	run_long_rows(rows, RB_ARRAY_LEN(rows));
}

/* Feeds @line to a server parser whose limit is @max, whole and one byte
 * at a time; returns the first non-zero result of either (they must agree). */
static int parse_with_limit(uint32_t max, const char *line, size_t len)
{
	int results[2];
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct proto_parser p;
		struct proto_frame f;
		proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
		proto_parser_set_max_control(&p, max);
		int r = 0;
		for (size_t off = 0; off < len && r == 0;) {
			size_t used = 0, n = bytewise ? 1 : len - off;
			r = proto_parse(&p, line + off, n, &used, &f);
			off += r < 0 ? n : (r == 0 ? n : used);
		}
		results[bytewise] = r;
		proto_parser_fini(&p);
	}
	cr_expect_eq(results[0], results[1], "whole %d, bytewise %d", results[0], results[1]);
	return results[0];
}

Test(proto, a_configured_control_line_limit_is_kept_either_way)
{
	static const uint32_t limits[] = {64, 4096, 10000};
	for (size_t i = 0; i < RB_ARRAY_LEN(limits); i++) {
		uint32_t max = limits[i];
		size_t len = max + 16;
		char *line = malloc(len);
		/* "SUB " + subject + " 1": the arguments are subject + 2 bytes */
		for (int over = 0; over < 2; over++) {
			size_t subj = max - 2 + (size_t)over;
			memcpy(line, "SUB ", 4);
			memset(line + 4, 'a', subj);
			memcpy(line + 4 + subj, " 1\r\n", 4);
			int r = parse_with_limit(max, line, 4 + subj + 4);
			cr_expect_eq(r, over ? PROTO_ERR_CONTROL_LINE : 1,
			             "limit %u, %zu bytes: %d", max, subj + 2, r);
		}
		free(line);
	}
}

Test(proto, unbounded_lines_keep_the_carry_small)
{
	static const char *heads[] = {"PUB", "PING", "CONNECT", "+OK"};

	for (size_t h = 0; h < RB_ARRAY_LEN(heads); h++) {
		struct proto_parser p;
		struct proto_frame f;
		char chunk[1000];
		size_t used;

		proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
		cr_assert_eq(proto_parse(&p, heads[h], strlen(heads[h]), &used, &f), 0);
		memset(chunk, heads[h][1] == 'I' || heads[h][0] == '+' ? 'z' : ' ', sizeof(chunk));
		for (int i = 0; i < 1000; i++) {
			cr_assert_eq(proto_parse(&p, chunk, sizeof(chunk), &used, &f), 0);
			cr_assert_eq(used, sizeof(chunk));
			cr_assert_leq(p.carry_len, 16, "%s: carry grew to %u", heads[h],
			              p.carry_len);
		}
		cr_assert(proto_parser_pending(&p));
		proto_parser_fini(&p);
	}
}

/* A payload completed in the carry can be taken with its buffer: it stays
 * intact while the parser carries the next partial operation in a new one;
 * a payload that lay whole in the input is not taken. */
Test(proto, a_payload_completed_in_the_carry_can_be_taken_with_it)
{
	struct proto_parser p;
	struct proto_frame f;
	size_t used;
	uint32_t size = 0;
	char body[2000];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	char in[2100];
	int n = snprintf(in, sizeof(in), "PUB a 2000\r\n");
	memcpy(in + n, body, sizeof(body));
	static const char tail[] = "\r\nPUB b 2000\r\n";
	memcpy(in + n + sizeof(body), tail, sizeof(tail) - 1);
	size_t total = (size_t)n + sizeof(body) + sizeof(tail) - 1;

	proto_parser_init(&p, PROTO_SIDE_SERVER, MAXP);
	/* the first PUB split in its payload: completed in the carry */
	cr_assert_eq(proto_parse(&p, in, 700, &used, &f), 0);
	cr_assert_eq(proto_parse(&p, in + 700, total - 700, &used, &f), 1);
	cr_assert_eq(f.payload.len, sizeof(body));
	char *taken = proto_parser_take_carry(&p, f.payload.ptr, f.payload.len, &size);
	cr_assert_not_null(taken, "a payload completed in the carry is taken");
	cr_expect_geq(size, sizeof(body));
	cr_assert(f.payload.ptr >= taken && f.payload.ptr + f.payload.len <= taken + size);
	size_t at = (size_t)(f.payload.ptr - taken);
	cr_expect_null(proto_parser_take_carry(&p, f.payload.ptr, f.payload.len, &size),
	               "taken twice");
	/* the rest of the input starts the next PUB: a new carry */
	size_t off = 700 + used;
	cr_assert_eq(proto_parse(&p, in + off, total - off, &used, &f), 0);
	cr_assert(proto_parser_pending(&p));
	cr_assert_eq(proto_parse(&p, body, sizeof(body), &used, &f), 0);
	cr_assert_eq(proto_parse(&p, "\r\n", 2, &used, &f), 1);
	cr_expect_eq(memcmp(f.payload.ptr, body, sizeof(body)), 0);
	cr_expect(f.payload.ptr < taken || f.payload.ptr >= taken + size,
	          "the next payload was carried in the taken buffer");
	cr_expect_eq(memcmp(taken + at, body, sizeof(body)), 0, "the taken payload changed");
	free(taken);
	/* a payload whole in the input is not the carry's */
	cr_assert_eq(proto_parse(&p, in, total - (sizeof(tail) - 1) + 2, &used, &f), 1);
	cr_expect_null(proto_parser_take_carry(&p, f.payload.ptr, f.payload.len, &size));
	proto_parser_fini(&p);
}

Test(proto, max_payload_is_the_parsers_setting)
{
	static const struct {
		const char *in;
		int want;
	} rows[] = {
	    {"PUB a 10\r\n0123456789\r\n", PROTO_OP_PUB},
	    {"PUB a 11\r\n", PROTO_ERR_MAX_PAYLOAD},
	    {"HPUB a 4 10\r\n\r\n\r\n012345\r\n", PROTO_OP_HPUB},
	    {"HPUB a 4 11\r\n", PROTO_ERR_MAX_PAYLOAD},
	    {"HPUB a 11 11\r\n", PROTO_ERR_MAX_PAYLOAD},
	};

	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct feed_log l;
		feed_log_init(&l);
		feed_run(PROTO_SIDE_SERVER, 10, &l, rows[i].in, strlen(rows[i].in), NULL, 0);
		int got = l.status ? l.status : l.ops[0];
		cr_expect_eq(got, rows[i].want, "row %zu: got %d", i, got);
		feed_log_fini(&l);
	}
}

Test(proto, server_skips_client_info_and_ok_between_operations)
{
	static const char in[] = "+OK\r\nINFO {\"x\":1}\r\nPING\r\n+OK\r\nINFO null\nPONG\r\n";
	struct feed_log l;

	feed_log_init(&l);
	cr_assert_eq(feed_run(PROTO_SIDE_SERVER, MAXP, &l, in, sizeof(in) - 1, NULL, 0), 0);
	cr_assert_eq(l.frames, 2);
	cr_assert_eq(l.ops[0], PROTO_OP_PING);
	cr_assert_eq(l.ops[1], PROTO_OP_PONG);
	cr_assert_not(l.pending);
	feed_log_fini(&l);
}

Test(proto, error_texts_are_nats_server_texts)
{
	cr_assert_str_eq(proto_err_text(PROTO_ERR_UNKNOWN_OP), "Unknown Protocol Operation");
	cr_assert_str_eq(proto_err_text(PROTO_ERR_CONTROL_LINE), "maximum control line exceeded");
	cr_assert_str_eq(proto_err_text(PROTO_ERR_MAX_PAYLOAD), "Maximum Payload Violation");
	cr_assert_null(proto_err_text(PROTO_ERR_BAD_ARGS));
	cr_assert_null(proto_err_text(PROTO_ERR_NOMEM));
	cr_assert(proto_err_closes(PROTO_ERR_BAD_ARGS));
	cr_assert(proto_err_closes(PROTO_ERR_UNKNOWN_OP));
	cr_assert_not(proto_err_closes(0));
}
