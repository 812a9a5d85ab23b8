/* Tests of io/proto's route and leaf-node sides: every wire example of
 * /work/shared/NATS-CLUSTER-NOTES.md (sections 2, 3, 7, 8), the malformed
 * forms, queue lists, weights and streams cut anywhere.
 *
 * Probes against nats-server 2.9.10 (Debian), raw sockets from python3: a
 * hand-made route peer on `--cluster nats://127.0.0.1:<port> --cluster_name X`
 * (CONNECT + INFO with lnoc:true), or a hand-made spoke on a hub's
 * `leafnodes { listen }` port, plus a client on the client port; "open" means
 * the link answered a later PING, "close" that it closed with no -ERR.
 *
 *   input (route side)                  nats-server                 ringbus
 *   RMSG $G foo | 2                     open, client gets reply "|" frame, reply "|"
 *   RMSG $G foo + r 2                   open, reply r, no queues    frame
 *   RMSG $G bar |  q1 \t q2  2          open, q2's member gets it   queues "q1 \t q2"
 *   RMSG $G bar | q1\rq2 x 2            open, q2's member gets it   queues "q1\rq2 x"
 *   rmsg\t$G\tfoo\t\t2                  open, delivered             frame
 *   RMSG $G foo x r 2, .. || q 2        close                       BAD_ARGS
 *   RMSG $G foo, HMSG $G foo 14 12      close                       BAD_ARGS
 *   RMSG $G foo 1048577 (> max_payload) open, delivered (no limit)  the caller's limit
 *   HMSG $G foo + r 12 14               open, client gets HMSG      frame
 *   LMSG org $G foo 0 2                 open, delivered             frame
 *   LMSG org $G foo 2                   close (header size needed)  BAD_ARGS
 *   RS+ $G bar q1 2, then a client PUB  RMSG $G bar | q1 2 sent     weight 2
 *   RS+ $G bar q1 0, .. q1 x, then PUB  open, nothing sent          weight 0
 *   RS+ $G bar q1, .. q1 1 x            close                       BAD_ARGS
 *   RS- $G bar q1 x, RS- $G             close                       BAD_ARGS
 *   LS+ org $G baz, then PUB baz        RMSG $G baz 2 sent          frame
 *   rS+ $G bar                          open, interest registered   frame
 *   MSG foo 1 2, RS\r $G bar            -ERR 'Unknown Protocol Operation' UNKNOWN_OP
 *   SUB foo 1, A+ foo                   open, ignored               UNKNOWN_OP (no peer
 *                                                                    sends them)
 *   input (leaf side)
 *   LS- a b c, LS- (no fields)          open, ignored               consumed, no frame
 *   LS+ foo q 0, then PUB foo           LMSG foo | q 2 sent (a leaf weight 0
 *                                       does not stop delivery)
 *   LS+ foo q, LS+ a b 1 d              close                       BAD_ARGS
 *   LMSG foo | 2                        open, reply "|"             frame, reply "|"
 *   LMSG foo x r 2, LMSG foo            close                       BAD_ARGS
 *   HMSG foo + r 12 14                  open, client gets HMSG      frame
 *   LMSG foo 1048577 (> max_payload)    open, delivered (no limit)  the caller's limit
 *   -ERR 'whatever'                     open (a leaf only logs it)  frame
 *   RS+ foo, RMSG foo 2                 taken as LS+ / LMSG         UNKNOWN_OP (no leaf
 *                                                                    sends them)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto.h"
#include "tests/io/proto_feed.h"

#define MAXP  PROTO_DEFAULT_MAX_PAYLOAD
#define E_BAD PROTO_ERR_BAD_ARGS
#define E_UNK PROTO_ERR_UNKNOWN_OP
#define E_MAX PROTO_ERR_MAX_PAYLOAD

/* One line. want: a PROTO_OP_* when a frame is expected, 0 when the bytes are
 * consumed with no frame, or a PROTO_ERR_*. Expected spans: NULL = empty. */
struct row {
	const char *in;
	int want;
	const char *account, *origin, *subject, *reply, *queue, *queues, *arg, *payload;
	uint32_t hdr_len, weight;
};

static void expect_span(struct proto_span s, const char *want, const char *what, size_t i)
{
	size_t n = want ? strlen(want) : 0;

	cr_expect_eq(s.len, n, "row %zu: %s length %u, want %zu", i, what, s.len, n);
	if (s.len == n && n)
		cr_expect(memcmp(s.ptr, want, n) == 0, "row %zu: %s differs", i, what);
}

static void expect_row(const struct row *w, const struct proto_frame *f, size_t i)
{
	expect_span(f->account, w->account, "account", i);
	expect_span(f->origin, w->origin, "origin", i);
	expect_span(f->subject, w->subject, "subject", i);
	expect_span(f->reply, w->reply, "reply", i);
	expect_span(f->queue, w->queue, "queue", i);
	expect_span(f->queues, w->queues, "queues", i);
	expect_span(f->arg, w->arg, "arg", i);
	expect_span(f->payload, w->payload, "payload", i);
	expect_span(f->sid, NULL, "sid", i);
	cr_expect_eq(f->hdr_len, w->hdr_len, "row %zu: hdr_len %u", i, f->hdr_len);
	cr_expect_eq(f->weight, w->weight, "row %zu: weight %u", i, f->weight);
}

/* Parses each row whole (the first frame must match, nothing else may follow),
 * then one byte at a time, which must give the same frames. */
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
			if (r <= 0) {
				got = r < 0 ? r : got;
				break;
			}
			if (frames++ == 0) {
				got = (int)f.op;
				expect_row(w, &f, i);
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

/* A 20-byte header block and a 5-byte body: the notes' HMSG 20 25. */
#define HDR20      "NATS/1.0\r\nAB: 12\r\n\r\n"
#define HDR20_BODY HDR20 "hello"
#define HDR12      "NATS/1.0\r\n\r\n"

/* Sections 2 and 3 of the notes, then the probes above. */
static const struct row route_ok[] = {
    {.in = "RS+ $G foo\r\n", .want = PROTO_OP_RS_PLUS, .account = "$G", .subject = "foo"},
    {.in = "RS+ $G bar q1 2\r\n",
     .want = PROTO_OP_RS_PLUS,
     .account = "$G",
     .subject = "bar",
     .queue = "q1",
     .weight = 2},
    {.in = "RS- $G foo\r\n", .want = PROTO_OP_RS_MINUS, .account = "$G", .subject = "foo"},
    {.in = "RS- $G bar q1\r\n",
     .want = PROTO_OP_RS_MINUS,
     .account = "$G",
     .subject = "bar",
     .queue = "q1"},
    {.in = "RS+ $SYS $SYS.REQ.SERVER.PING\r\n",
     .want = PROTO_OP_RS_PLUS,
     .account = "$SYS",
     .subject = "$SYS.REQ.SERVER.PING"},
    {.in = "LS+ rbc $G foo\r\n",
     .want = PROTO_OP_LS_PLUS,
     .origin = "rbc",
     .account = "$G",
     .subject = "foo"},
    {.in = "LS+ rbc $G bar lq 3\r\n",
     .want = PROTO_OP_LS_PLUS,
     .origin = "rbc",
     .account = "$G",
     .subject = "bar",
     .queue = "lq",
     .weight = 3},
    {.in = "LS-  $G foo\r\n", .want = PROTO_OP_LS_MINUS, .account = "$G", .subject = "foo"},
    {.in = "LS-  $G bar lq\r\n",
     .want = PROTO_OP_LS_MINUS,
     .account = "$G",
     .subject = "bar",
     .queue = "lq"},
    {.in = "RMSG $G foo 5\r\nhello\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "foo",
     .payload = "hello"},
    {.in = "RMSG $G foo _INBOX.r 5\r\nhello\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "foo",
     .reply = "_INBOX.r",
     .payload = "hello"},
    {.in = "RMSG $G bar | q1 q2 3\r\nabc\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "bar",
     .queues = "q1 q2",
     .payload = "abc"},
    {.in = "RMSG $G bar + _INBOX.r q1 q2 3\r\nabc\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "bar",
     .reply = "_INBOX.r",
     .queues = "q1 q2",
     .payload = "abc"},
    {.in = "HMSG $G foo 20 25\r\n" HDR20_BODY "\r\n",
     .want = PROTO_OP_RHMSG,
     .account = "$G",
     .subject = "foo",
     .payload = HDR20_BODY,
     .hdr_len = 20},
    {.in = "HMSG $G bar + _INBOX.r q1 q2 20 25\r\n" HDR20_BODY "\r\n",
     .want = PROTO_OP_RHMSG,
     .account = "$G",
     .subject = "bar",
     .reply = "_INBOX.r",
     .queues = "q1 q2",
     .payload = HDR20_BODY,
     .hdr_len = 20},
    {.in = "LMSG rbc $G from.route 0 2\r\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .origin = "rbc",
     .account = "$G",
     .subject = "from.route",
     .payload = "hi"},
    {.in = "LMSG rbc $G from.route rep 12 14\r\n" HDR12 "hi\r\n",
     .want = PROTO_OP_LMSG,
     .origin = "rbc",
     .account = "$G",
     .subject = "from.route",
     .reply = "rep",
     .payload = HDR12 "hi",
     .hdr_len = 12},
    {.in = "LMSG rbc $G bar | lq 0 2\r\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .origin = "rbc",
     .account = "$G",
     .subject = "bar",
     .queues = "lq",
     .payload = "hi"},
    {.in = "LMSG rbc $G bar + rep lq lq2 12 14\r\n" HDR12 "hi\r\n",
     .want = PROTO_OP_LMSG,
     .origin = "rbc",
     .account = "$G",
     .subject = "bar",
     .reply = "rep",
     .queues = "lq lq2",
     .payload = HDR12 "hi",
     .hdr_len = 12},
    {.in = "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"tls_required\":false,"
           "\"headers\":true,\"name\":\"NA\",\"cluster\":\"X\",\"lnoc\":true}\r\n",
     .want = PROTO_OP_CONNECT,
     .arg = "{\"echo\":true,\"verbose\":false,\"pedantic\":false,\"tls_required\":false,"
            "\"headers\":true,\"name\":\"NA\",\"cluster\":\"X\",\"lnoc\":true}"},
    {.in = "INFO {\"server_id\":\"NA\",\"proto\":2,\"lnoc\":true} \r\n",
     .want = PROTO_OP_INFO,
     .arg = "{\"server_id\":\"NA\",\"proto\":2,\"lnoc\":true} "},
    {.in = "PING\r\n", .want = PROTO_OP_PING},
    {.in = "PONG\r\n", .want = PROTO_OP_PONG},
    {.in = "+OK\r\n", .want = PROTO_OP_OK},
    {.in = "-ERR 'Rejecting connection, cluster name \"Y\" does not match \"X\"'\r\n",
     .want = PROTO_OP_ERR,
     .arg = "Rejecting connection, cluster name \"Y\" does not match \"X\""},
    {.in = "-ERR 'Authorization Violation'\r\n",
     .want = PROTO_OP_ERR,
     .arg = "Authorization Violation"},
    /* the probes */
    {.in = "RMSG $G foo | 2\r\nhi\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "foo",
     .reply = "|",
     .payload = "hi"},
    {.in = "RMSG $G foo + r 2\r\nhi\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "foo",
     .reply = "r",
     .payload = "hi"},
    {.in = "RMSG $G bar |  q1 \t q2  2\r\nhi\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "bar",
     .queues = "q1 \t q2",
     .payload = "hi"},
    {.in = "RMSG $G bar | q1\rq2 x 2\r\nhi\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "bar",
     .queues = "q1\rq2 x",
     .payload = "hi"},
    {.in = "rmsg\t$G\tfoo\t\t2\r\nhi\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "foo",
     .payload = "hi"},
    {.in = "HMSG $G foo + r 12 14\r\n" HDR12 "hi\r\n",
     .want = PROTO_OP_RHMSG,
     .account = "$G",
     .subject = "foo",
     .reply = "r",
     .payload = HDR12 "hi",
     .hdr_len = 12},
    {.in = "RS+ $G bar q1 0\r\n",
     .want = PROTO_OP_RS_PLUS,
     .account = "$G",
     .subject = "bar",
     .queue = "q1"},
    {.in = "RS+ $G bar q1 x\r\n",
     .want = PROTO_OP_RS_PLUS,
     .account = "$G",
     .subject = "bar",
     .queue = "q1"},
    {.in = "rS+ $G bar\r\n", .want = PROTO_OP_RS_PLUS, .account = "$G", .subject = "bar"},
    /* case, blanks and the other quirks of nats-server's reading */
    {.in = "Rmsg $G foo 0\r\n\r\n", .want = PROTO_OP_RMSG, .account = "$G", .subject = "foo"},
    {.in = "hMsG $G foo 0 0\r\n\r\n", .want = PROTO_OP_RHMSG, .account = "$G", .subject = "foo"},
    {.in = "lS- $G foo\n", .want = PROTO_OP_LS_MINUS, .account = "$G", .subject = "foo"},
    {.in = "RS+ \n$G foo\r\n", .want = PROTO_OP_RS_PLUS, .account = "$G", .subject = "foo"},
    {.in = "RS+\t$G  foo \r\n", .want = PROTO_OP_RS_PLUS, .account = "$G", .subject = "foo"},
    {.in = "LS- org $G foo\r\n", /* read as RS-: account org, subject $G, queue foo */
     .want = PROTO_OP_LS_MINUS,
     .account = "org",
     .subject = "$G",
     .queue = "foo"},
    {.in = "RMSG $G foo 000000002\r\nhi\r\n",
     .want = PROTO_OP_RMSG,
     .account = "$G",
     .subject = "foo",
     .payload = "hi"},
};

Test(proto_route, route_side_reads_every_form_nats_server_sends)
{
	run_rows(PROTO_SIDE_ROUTE, route_ok, RB_ARRAY_LEN(route_ok));
}

Test(proto_route, route_side_rejects_what_nats_server_rejects)
{
	static const struct row rows[] = {
	    {.in = "RMSG $G foo x r 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "RMSG $G foo || q 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "RMSG $G foo ++ r q 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "RMSG $G foo\r\n", .want = E_BAD},
	    {.in = "RMSG $G\r\n", .want = E_BAD},
	    {.in = "RMSG \r\n", .want = E_BAD},
	    {.in = "RMSG $G foo x\r\n", .want = E_BAD},
	    {.in = "RMSG $G foo | q x\r\n", .want = E_BAD},
	    {.in = "RMSG $G foo 0000000002\r\n", .want = E_BAD},
	    {.in = "HMSG $G foo 14 12\r\n", .want = E_BAD},
	    {.in = "HMSG $G foo 12\r\n", .want = E_BAD},
	    {.in = "HMSG $G foo x r 12 14\r\n", .want = E_BAD},
	    {.in = "HMSG $G foo | q 12 x\r\n", .want = E_BAD},
	    {.in = "LMSG org $G foo 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "LMSG org $G foo r q 0 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "LMSG org $G foo 3 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "RS+ $G bar q1\r\n", .want = E_BAD},
	    {.in = "RS+ $G bar q1 1 x\r\n", .want = E_BAD},
	    {.in = "RS+ $G\r\n", .want = E_BAD},
	    {.in = "RS+ \r\n", .want = E_BAD},
	    {.in = "RS- $G bar q1 x\r\n", .want = E_BAD},
	    {.in = "RS- $G\r\n", .want = E_BAD},
	    {.in = "LS+ o $G\r\n", .want = E_BAD},
	    {.in = "LS+ o $G foo q\r\n", .want = E_BAD},
	    {.in = "LS+ o $G foo q 1 x\r\n", .want = E_BAD},
	    {.in = "LS- $G\r\n", .want = E_BAD},
	    {.in = "RMSG $G foo 1048577\r\n", .want = E_MAX},
	    {.in = "HMSG $G foo 0 1048577\r\n", .want = E_MAX},
	    {.in = "RMSG $G foo 2\r\nhi\n", .want = E_UNK},
	    {.in = "MSG foo 1 2\r\nhi\r\n", .want = E_UNK},
	    {.in = "RS\r $G bar\r\n", .want = E_UNK},
	    {.in = "RS+\r\n", .want = E_UNK},
	    {.in = "RS+x $G foo\r\n", .want = E_UNK},
	    {.in = "RMSGX $G foo 0\r\n", .want = E_UNK},
	    {.in = "RS* $G foo\r\n", .want = E_UNK},
	    {.in = "SUB foo 1\r\n", .want = E_UNK},
	    {.in = "PUB foo 2\r\nhi\r\n", .want = E_UNK},
	    {.in = "HPUB foo 0 0\r\n\r\n", .want = E_UNK},
	    {.in = "UNSUB 1\r\n", .want = E_UNK},
	    {.in = "A+ foo\r\n", .want = E_UNK},
	    {.in = "-ERR\r\n", .want = E_UNK},
	    {.in = "\r\n", .want = E_UNK},
	};
	run_rows(PROTO_SIDE_ROUTE, rows, RB_ARRAY_LEN(rows));
}

/* Sections 7 and 8 of the notes, then the probes above. */
static const struct row leaf_ok[] = {
    {.in = "LS+ foo\r\n", .want = PROTO_OP_LS_PLUS, .subject = "foo"},
    {.in = "LS+ q1 grp 2\r\n",
     .want = PROTO_OP_LS_PLUS,
     .subject = "q1",
     .queue = "grp",
     .weight = 2},
    {.in = "LS- foo\r\n", .want = PROTO_OP_LS_MINUS, .subject = "foo"},
    {.in = "LS- q1 grp\r\n", .want = PROTO_OP_LS_MINUS, .subject = "q1", .queue = "grp"},
    {.in = "LMSG foo 2\r\nhi\r\n", .want = PROTO_OP_LMSG, .subject = "foo", .payload = "hi"},
    {.in = "LMSG foo _INBOX.s 2\r\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .subject = "foo",
     .reply = "_INBOX.s",
     .payload = "hi"},
    {.in = "LMSG q1 | grp 2\r\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .subject = "q1",
     .queues = "grp",
     .payload = "hi"},
    {.in = "LMSG q1 + _INBOX.s grp 2\r\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .subject = "q1",
     .reply = "_INBOX.s",
     .queues = "grp",
     .payload = "hi"},
    {.in = "HMSG foo 12 14\r\n" HDR12 "hi\r\n",
     .want = PROTO_OP_RHMSG,
     .subject = "foo",
     .payload = HDR12 "hi",
     .hdr_len = 12},
    {.in = "HMSG q1 + _INBOX.s grp 12 14\r\n" HDR12 "hi\r\n",
     .want = PROTO_OP_RHMSG,
     .subject = "q1",
     .reply = "_INBOX.s",
     .queues = "grp",
     .payload = HDR12 "hi",
     .hdr_len = 12},
    {.in = "LS+ lq lg 3\r\n",
     .want = PROTO_OP_LS_PLUS,
     .subject = "lq",
     .queue = "lg",
     .weight = 3},
    {.in = "LS+ $LDS.x1y2\r\n", .want = PROTO_OP_LS_PLUS, .subject = "$LDS.x1y2"},
    {.in = "INFO {\"server_id\":\"H\",\"client_id\":4,\"leafnode_urls\":[\"127.0.0.1:7422\"]} \r\n",
     .want = PROTO_OP_INFO,
     .arg = "{\"server_id\":\"H\",\"client_id\":4,\"leafnode_urls\":[\"127.0.0.1:7422\"]} "},
    {.in = "CONNECT {\"version\":\"2.9.10\",\"server_id\":\"S\",\"name\":\"spoke\","
           "\"cluster\":\"spoke\",\"headers\":true}\r\n",
     .want = PROTO_OP_CONNECT,
     .arg = "{\"version\":\"2.9.10\",\"server_id\":\"S\",\"name\":\"spoke\","
            "\"cluster\":\"spoke\",\"headers\":true}"},
    {.in = "PING\r\n", .want = PROTO_OP_PING},
    {.in = "PONG\r\n", .want = PROTO_OP_PONG},
    {.in = "+OK\r\n", .want = PROTO_OP_OK},
    {.in = "-ERR 'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect "
           "for 30s'\r\n",
     .want = PROTO_OP_ERR,
     .arg = "Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s"},
    /* the probes */
    {.in = "LMSG foo | 2\r\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .subject = "foo",
     .reply = "|",
     .payload = "hi"},
    {.in = "LS+ foo q 0\r\n", .want = PROTO_OP_LS_PLUS, .subject = "foo", .queue = "q"},
    {.in = "HMSG foo + r 12 14\r\n" HDR12 "hi\r\n",
     .want = PROTO_OP_RHMSG,
     .subject = "foo",
     .reply = "r",
     .payload = HDR12 "hi",
     .hdr_len = 12},
    {.in = "LS- a b c\r\n", .want = 0},
    {.in = "LS- \r\n", .want = 0},
    {.in = "lmsg\tfoo\t+\tr\tg1  g2\t2\nhi\r\n",
     .want = PROTO_OP_LMSG,
     .subject = "foo",
     .reply = "r",
     .queues = "g1  g2",
     .payload = "hi"},
};

Test(proto_route, leaf_side_reads_every_form_nats_server_sends)
{
	run_rows(PROTO_SIDE_LEAF, leaf_ok, RB_ARRAY_LEN(leaf_ok));
}

Test(proto_route, leaf_side_rejects_what_nats_server_rejects)
{
	static const struct row rows[] = {
	    {.in = "LS+ foo q\r\n", .want = E_BAD},
	    {.in = "LS+ a b 1 d\r\n", .want = E_BAD},
	    {.in = "LS+ \r\n", .want = E_BAD},
	    {.in = "LMSG foo x r 2\r\nhi\r\n", .want = E_BAD},
	    {.in = "LMSG foo\r\n", .want = E_BAD},
	    {.in = "LMSG foo | q\r\n", .want = E_BAD},
	    {.in = "HMSG foo 14 12\r\n", .want = E_BAD},
	    {.in = "HMSG foo 12\r\n", .want = E_BAD},
	    {.in = "HMSG foo | g 12 x\r\n", .want = E_BAD},
	    {.in = "LMSG foo 1048577\r\n", .want = E_MAX},
	    {.in = "RS+ foo\r\n", .want = E_UNK},
	    {.in = "RMSG foo 2\r\nhi\r\n", .want = E_UNK},
	    {.in = "MSG foo 1 2\r\nhi\r\n", .want = E_UNK},
	    {.in = "SUB foo 1\r\n", .want = E_UNK},
	    {.in = "LS\v foo\r\n", .want = E_UNK},
	    {.in = "LMSG\r\n", .want = E_UNK},
	};
	run_rows(PROTO_SIDE_LEAF, rows, RB_ARRAY_LEN(rows));
}

Test(proto_route, client_and_server_sides_do_not_read_route_operations)
{
	static const struct row rows[] = {
	    {.in = "RS+ $G foo\r\n", .want = E_UNK},
	    {.in = "LS+ foo\r\n", .want = E_UNK},
	    {.in = "RMSG $G foo 0\r\n\r\n", .want = E_UNK},
	    {.in = "LMSG foo 0\r\n\r\n", .want = E_UNK},
	};
	run_rows(PROTO_SIDE_SERVER, rows, RB_ARRAY_LEN(rows));
	run_rows(PROTO_SIDE_CLIENT, rows, RB_ARRAY_LEN(rows));
}

Test(proto_route, weight_is_read_with_the_size_rule_and_zero_otherwise)
{
	static const struct {
		const char *w;
		uint32_t want;
	} rows[] = {
	    {"1", 1},  {"2", 2},  {"000000005", 5},  {"999999999", 999999999}, {"0", 0},  {"x", 0},
	    {"-1", 0}, {"+1", 0}, {"1000000000", 0}, {"0000000005", 0},        {"5x", 0},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		for (int leaf = 0; leaf < 2; leaf++) {
			char line[64];
			struct proto_parser p;
			struct proto_frame f;
			size_t used;
			int n = snprintf(line, sizeof(line), "%s bar q1 %s\r\n",
			                 leaf ? "LS+" : "RS+ $G", rows[i].w);

			proto_parser_init(&p, leaf ? PROTO_SIDE_LEAF : PROTO_SIDE_ROUTE, MAXP);
			cr_assert_eq(proto_parse(&p, line, (size_t)n, &used, &f), 1, "%s", line);
			cr_expect_eq(f.weight, rows[i].want, "%s: weight %u", line, f.weight);
			cr_expect_eq(f.queue.len, 2);
			proto_parser_fini(&p);
		}
	}
}

Test(proto_route, queue_next_yields_each_name_of_a_list)
{
	static const char list[] = "  q1 \t q2\r\nq3\rq.4  ";
	static const char *want[] = {"q1", "q2", "q3", "q.4"};
	struct proto_span l = {list, sizeof(list) - 1}, q;
	size_t k = 0;

	while (proto_queue_next(&l, &q)) {
		cr_assert_lt(k, RB_ARRAY_LEN(want));
		cr_assert_eq(q.len, strlen(want[k]));
		cr_assert(memcmp(q.ptr, want[k], q.len) == 0, "name %zu", k);
		k++;
	}
	cr_assert_eq(k, RB_ARRAY_LEN(want));
	cr_assert_eq(l.len, 0);
	cr_assert_not(proto_queue_next(&l, &q));

	struct proto_span none = {NULL, 0}, blanks = {" \t ", 3};
	cr_assert_not(proto_queue_next(&none, &q));
	cr_assert_not(proto_queue_next(&blanks, &q));
}
