/* Tests of io/ws's frame decoder and encoders: RFC 6455 section 5.7 and RFC
 * 7692 section 7.2.3 examples, splits at every byte, every error, large
 * frames, close and ping answers.
 *
 * What nats-server 2.9.10 answers to bad frames from a client, probed with
 * tests/io/ws_probe_nats.py (websocket { no_tls: true }, with and without
 * compression; "close 1002 ..." frames are queued and then raced by the
 * connection's close: they reach the client only sometimes), and what this
 * decoder answers:
 *
 * | input                         | nats-server 2.9.10                | ringbus            |
 * |-------------------------------|-----------------------------------|--------------------|
 * | unmasked frame                | 1002 "mask bit missing"           | same               |
 * | ping of 126 bytes             | 1002 "control frame length bigger | same               |
 * |                               | than maximum allowed of 125 bytes"|                    |
 * | ping without FIN              | 1002 "control frame does not have | same               |
 * |                               | final bit set"                    |                    |
 * | new message before the final  | 1002 "new message started before  | same               |
 * | frame of the previous one     | final frame for previous message  |                    |
 * |                               | was received"                     |                    |
 * | continuation first, or with   | 1002 "invalid continuation frame" | same               |
 * | RSV1                          |                                   |                    |
 * | opcode 3 (11)                 | 1002 "unknown opcode 3" ("... 11")| same               |
 * | RSV2 or RSV3 set              | ignored (PING answered)           | 1002 "reserved bit |
 * |                               |                                   | set"               |
 * | RSV1, deflate not negotiated  | inflated anyway; EOF if it fails  | same as RSV2       |
 * | RSV1, data does not inflate   | EOF, no close frame               | 1007 "invalid      |
 * |                               |                                   | compressed data"   |
 * | close 1000 "bye"              | close 1000 "bye", EOF             | same               |
 * | close, empty                  | close 1005 (RFC: never sent), EOF | empty close        |
 * | close of 1 byte               | close 1005, EOF                   | 1002 "invalid      |
 * | close 999 (invalid code)      | close 999, EOF                    | close status code" |
 * | close 1000, reason not UTF-8  | 1007 "invalid utf8 body in close  | same               |
 * |                               | frame", EOF                       |                    |
 * | ping "hi"                     | pong "hi"                         | same               |
 * | pong                          | ignored                           | same               |
 * | text frame                    | read as binary: NATS bytes        | same               |
 * | length 2^63, or a message     | waits for the bytes: no limit     | 1009 "maximum      |
 * | above the decoder's limit     | (above max_payload, a PUB gets    | message size       |
 * |                               | -ERR and close 1009 "Maximum      | exceeded"          |
 * |                               | Message Payload Exceeded")        |                    |
 *
 * nats-server sends its data in binary frames (opcode 2), FIN set, RSV1 when
 * compressed (writes of more than 64 bytes only). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "io/ws/ws.h"
#include "tests/io/ws_feed.h"

#define MAX (1u << 20)

static const uint8_t rfc_masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t rfc_unmasked_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};

/* Runs @in whole and asserts the output and status. */
static void expect(enum ws_side side, bool deflate, const uint8_t *in, size_t len, const char *out,
                   int status)
{
	struct ws_run r;

	ws_feed(&r, side, deflate, MAX, in, len, NULL, 0, 1 << 16);
	cr_assert_null(r.violation, "%s", r.violation);
	cr_assert_eq(r.status, status, "status %d, want %d", r.status, status);
	cr_assert_eq(r.out_len, strlen(out), "out %zu bytes, want %zu", r.out_len, strlen(out));
	cr_assert(r.out_len == 0 || memcmp(r.out, out, r.out_len) == 0);
	ws_run_fini(&r);
}

/* The reply frame of the last event of a whole run of @in. */
static size_t reply_of(enum ws_side side, const uint8_t *in, size_t len, uint8_t *frame, int *st)
{
	struct ws_decoder d;
	uint8_t buf[256];
	struct ws_buf out = {buf, 0, sizeof(buf)};
	size_t used;

	cr_assert_eq(ws_decoder_init(&d, side, true, MAX), 0);
	*st = ws_decode(&d, in, len, &used, &out);
	size_t n = ws_decoder_reply(&d, frame);
	ws_decoder_fini(&d);
	return n;
}

Test(ws, rfc_masked_hello_decodes)
{
	expect(WS_SIDE_SERVER, false, rfc_masked_hello, sizeof(rfc_masked_hello), "Hello", 0);
}

Test(ws, rfc_unmasked_hello_is_refused_with_1002)
{
	static const uint8_t want[] = "\x88\x12\x03\xea"
	                              "mask bit missing";
	uint8_t frame[WS_CONTROL_FRAME_MAX];
	int st;
	size_t n =
	    reply_of(WS_SIDE_SERVER, rfc_unmasked_hello, sizeof(rfc_unmasked_hello), frame, &st);

	cr_assert_eq(st, WS_ERR_NOT_MASKED);
	cr_assert_eq(n, sizeof(want) - 1);
	cr_assert_eq(memcmp(frame, want, n), 0);
	cr_assert_eq(ws_err_close_code(st), 1002);
}

Test(ws, client_side_reads_unmasked_and_refuses_masked)
{
	expect(WS_SIDE_CLIENT, false, rfc_unmasked_hello, sizeof(rfc_unmasked_hello), "Hello", 0);
	expect(WS_SIDE_CLIENT, false, rfc_masked_hello, sizeof(rfc_masked_hello), "",
	       WS_ERR_MASKED);
}

Test(ws, rfc_fragmented_hello)
{
	static const uint8_t rfc[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
	uint8_t in[64];
	size_t n = ws_test_frame(in, 0, WS_OP_TEXT, "Hel", 3, false, 0, false);

	n = ws_test_frame(in, n, WS_OP_CONT, "lo", 2, true, 0, false);
	expect(WS_SIDE_SERVER, false, in, n, "Hello", 0);
	expect(WS_SIDE_CLIENT, false, rfc, sizeof(rfc), "Hello", 0);
}

Test(ws, rfc_ping_is_answered_with_its_payload)
{
	static const uint8_t rfc_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static const uint8_t want_pong[] = {0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static const uint8_t want_client_pong[] = {0x8a, 0x85, 0,    0,    0,   0,
	                                           0x48, 0x65, 0x6c, 0x6c, 0x6f};
	uint8_t in[64], frame[WS_CONTROL_FRAME_MAX];
	size_t n = ws_test_frame(in, 0, WS_OP_PING, "Hello", 5, true, 0, false);
	int st;

	cr_assert_eq(reply_of(WS_SIDE_SERVER, in, n, frame, &st), sizeof(want_pong));
	cr_assert_eq(st, WS_EV_PONG);
	cr_assert_eq(memcmp(frame, want_pong, sizeof(want_pong)), 0);
	/* a client answers with a masked pong (zero key) */
	cr_assert_eq(reply_of(WS_SIDE_CLIENT, rfc_ping, sizeof(rfc_ping), frame, &st),
	             sizeof(want_client_pong));
	cr_assert_eq(memcmp(frame, want_client_pong, sizeof(want_client_pong)), 0);
}

Test(ws, pong_is_ignored_and_control_frames_may_split_a_message)
{
	uint8_t in[128];
	size_t n = ws_test_frame(in, 0, WS_OP_BINARY, "PI", 2, false, 0, false);
	struct ws_run r;

	n = ws_test_frame(in, n, WS_OP_PONG, "x", 1, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_PING, "", 0, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_CONT, "NG\r\n", 4, true, 0, false);
	ws_feed(&r, WS_SIDE_SERVER, false, MAX, in, n, NULL, 0, 64);
	cr_assert_null(r.violation);
	cr_assert_eq(r.status, WS_EV_NONE);
	cr_assert_eq(r.pongs, 1);
	cr_assert_eq(r.out_len, 6);
	cr_assert_eq(memcmp(r.out, "PING\r\n", 6), 0);
	ws_run_fini(&r);
}

/* What router/wsconn.c does for an uncompressed stream: the payload
 * unmasked in place in the receive buffer gives the same bytes and events
 * as a separate output buffer, however the input is cut. */
Test(ws, decoding_in_place_gives_what_a_separate_buffer_gives)
{
	static const size_t cuts[][2] = {{0, 0}, {1, 1}, {2, 5}, {7, 3}, {64, 1}, {300, 9}};
	uint8_t in[2048], big[700];
	size_t n = 0;
	struct ws_run ref, r;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	n = ws_test_frame(in, n, WS_OP_BINARY, "PUB a 3\r\nxyz", 13, false, 0, false);
	n = ws_test_frame(in, n, WS_OP_PING, "p", 1, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_CONT, "\r\n", 2, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_BINARY, big, sizeof(big), true, 0, false);
	n = ws_test_frame(in, n, WS_OP_TEXT, "PING\r\n", 6, true, 0, false);
	ws_feed(&ref, WS_SIDE_SERVER, false, MAX, in, n, NULL, 0, 1 << 16);
	cr_assert_null(ref.violation);
	cr_assert_eq(ref.out_len, 13 + 2 + sizeof(big) + 6);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		ws_feed(&r, WS_SIDE_SERVER, false, MAX, in, n, cuts[i][0] ? cuts[i] : NULL, 2,
		        WS_FEED_IN_PLACE);
		cr_assert_null(r.violation, "cut %zu: %s", i, r.violation);
		cr_assert(ws_run_same(&ref, &r), "cut %zu: in place differs", i);
		ws_run_fini(&r);
	}
	ws_run_fini(&ref);
}

/* RFC 6455 section 5.7: 256 bytes (16-bit length) and 64 KiB (64-bit). */
Test(ws, large_frames_use_16_and_64_bit_lengths)
{
	static const size_t sizes[] = {125, 126, 256, 65535, 65536, 1 << 20};
	uint8_t head[WS_FRAME_HEAD_MAX];

	cr_assert_eq(ws_frame_head(head, WS_OP_BINARY, 256, true, false), 4);
	cr_assert_eq(memcmp(head, "\x82\x7e\x01\x00", 4), 0);
	cr_assert_eq(ws_frame_head(head, WS_OP_BINARY, 65536, true, false), 10);
	cr_assert_eq(memcmp(head, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		char *payload = malloc(len + 1);
		uint8_t *in = malloc(len + WS_FRAME_HEAD_MAX);
		for (size_t k = 0; k < len; k++)
			payload[k] = (char)('a' + k % 26);
		payload[len] = '\0';
		size_t n = ws_test_frame(in, 0, WS_OP_BINARY, payload, len, true, 0, false);
		cr_assert_eq(n, len + (len < 126 ? 6 : len < 65536 ? 8 : 14));
		expect(WS_SIDE_SERVER, false, in, n, payload, 0);
		free(payload);
		free(in);
	}
}

/* A stream with every kind of frame, compressed messages among them. */
static size_t mixed_stream(uint8_t *in)
{
	static const uint8_t hello_z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
	size_t n = ws_test_frame(in, 0, WS_OP_BINARY, "CONNECT {}\r\n", 12, true, 0, false);

	n = ws_test_frame(in, n, WS_OP_TEXT, "PUB a 5\r\n", 9, false, 0, false);
	n = ws_test_frame(in, n, WS_OP_PING, "abc", 3, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_CONT, "hello\r\n", 7, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_BINARY, hello_z, sizeof(hello_z), true, 0x40, false);
	n = ws_test_frame(in, n, WS_OP_BINARY, hello_z, 3, false, 0x40, false);
	n = ws_test_frame(in, n, WS_OP_PONG, "", 0, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_CONT, hello_z + 3, 4, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_BINARY, "", 0, true, 0, false);
	n = ws_test_frame(in, n, WS_OP_CLOSE,
	                  "\x03\xe8"
	                  "bye",
	                  5, true, 0, false);
	return n;
}

Test(ws, split_at_every_byte_gives_the_whole_result)
{
	uint8_t in[256];
	size_t n = mixed_stream(in);
	struct ws_run whole, cut;

	ws_feed(&whole, WS_SIDE_SERVER, true, MAX, in, n, NULL, 0, 4096);
	cr_assert_null(whole.violation);
	cr_assert_eq(whole.status, WS_EV_CLOSE);
	cr_assert_eq(whole.out_len, 12 + 9 + 7 + 5 + 5);
	cr_assert_eq(
	    memcmp(whole.out, "CONNECT {}\r\nPUB a 5\r\nhello\r\nHelloHello", whole.out_len), 0);
	cr_assert_eq(whole.pongs, 1);
	for (size_t at = 1; at < n; at++) {
		size_t sizes[] = {at, 0};
		ws_feed(&cut, WS_SIDE_SERVER, true, MAX, in, n, sizes, 2, 4096);
		cr_assert_null(cut.violation, "split at %zu: %s", at, cut.violation);
		cr_assert(ws_run_same(&whole, &cut), "split at %zu differs", at);
		ws_run_fini(&cut);
	}
	for (size_t step = 1; step <= 7; step++) {
		for (size_t cap = 1; cap <= 5; cap++) {
			size_t sizes[] = {step};
			ws_feed(&cut, WS_SIDE_SERVER, true, MAX, in, n, sizes, 1, cap);
			cr_assert_null(cut.violation, "%s", cut.violation);
			cr_assert(ws_run_same(&whole, &cut), "chunks of %zu, out %zu differ", step,
			          cap);
			ws_run_fini(&cut);
		}
	}
	ws_run_fini(&whole);
}

struct bad_case {
	const char *name;
	uint8_t frames[24];
	size_t len;
	bool deflate;
	int err;
	uint16_t code;
	const char *reason;
};

/* Masked frames with an all-zero key, so the bytes read as they are. */
#define M4 0, 0, 0, 0

static const struct bad_case bad_cases[] = {
    {"unmasked", {0x82, 0x01, 'x'}, 3, false, WS_ERR_NOT_MASKED, 1002, "mask bit missing"},
    {"ping of 126 bytes",
     {0x89, 0xfe, 0, 126},
     4,
     false,
     WS_ERR_CONTROL_LENGTH,
     1002,
     "control frame length bigger than maximum allowed of 125 bytes"},
    {"ping without FIN",
     {0x09, 0x80, M4},
     6,
     false,
     WS_ERR_CONTROL_FIN,
     1002,
     "control frame does not have final bit set"},
    {"new message before final",
     {0x02, 0x81, M4, 'a', 0x82, 0x81, M4, 'b'},
     14,
     false,
     WS_ERR_NOT_FINAL,
     1002,
     "new message started before final frame for previous message was received"},
    {"continuation first",
     {0x80, 0x81, M4, 'a'},
     7,
     false,
     WS_ERR_CONTINUATION,
     1002,
     "invalid continuation frame"},
    {"RSV1 on a continuation",
     {0x42, 0x81, M4, 0x00, 0xc0, 0x80, M4},
     14,
     true,
     WS_ERR_CONTINUATION,
     1002,
     "invalid continuation frame"},
    {"opcode 3", {0x83, 0x80, M4}, 6, false, WS_ERR_OPCODE, 1002, "unknown opcode 3"},
    {"opcode 11", {0x8b, 0x80, M4}, 6, false, WS_ERR_OPCODE, 1002, "unknown opcode 11"},
    {"RSV2", {0xa2, 0x80, M4}, 6, false, WS_ERR_RESERVED_BITS, 1002, "reserved bit set"},
    {"RSV3", {0x92, 0x80, M4}, 6, true, WS_ERR_RESERVED_BITS, 1002, "reserved bit set"},
    {"RSV1 without deflate",
     {0xc2, 0x80, M4},
     6,
     false,
     WS_ERR_RESERVED_BITS,
     1002,
     "reserved bit set"},
    {"RSV1 on a ping", {0xc9, 0x80, M4}, 6, true, WS_ERR_RESERVED_BITS, 1002, "reserved bit set"},
    {"length 2^63",
     {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, M4},
     14,
     false,
     WS_ERR_TOO_BIG,
     1009,
     "maximum message size exceeded"},
    {"not deflate data",
     {0xc2, 0x82, M4, 0xff, 0xff},
     8,
     true,
     WS_ERR_DEFLATE,
     1007,
     "invalid compressed data"},
    {"deflate cut inside a block",
     {0xc2, 0x83, M4, 0xf2, 0x48, 0xcd},
     9,
     true,
     WS_ERR_DEFLATE,
     1007,
     "invalid compressed data"},
};

Test(ws, every_error_closes_with_nats_server_code_and_text)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct ws_decoder d;
		uint8_t buf[64], frame[WS_CONTROL_FRAME_MAX];
		struct ws_buf out = {buf, 0, sizeof(buf)};
		size_t used;

		cr_assert_eq(ws_decoder_init(&d, WS_SIDE_SERVER, c->deflate, MAX), 0);
		int st = ws_decode(&d, c->frames, c->len, &used, &out);
		cr_assert_eq(st, c->err, "%s: %d, want %d", c->name, st, c->err);
		cr_assert_eq(ws_err_close_code(st), c->code, "%s", c->name);
		size_t n = ws_decoder_reply(&d, frame);
		size_t rl = strlen(c->reason);
		cr_assert_eq(n, 4 + rl, "%s: reply of %zu bytes", c->name, n);
		cr_assert_eq(frame[0], 0x88);
		cr_assert_eq(frame[1], 2 + rl);
		cr_assert_eq(frame[2] << 8 | frame[3], c->code);
		cr_assert_eq(memcmp(frame + 4, c->reason, rl), 0, "%s: %.*s", c->name, (int)rl,
		             (const char *)frame + 4);
		/* finished: the same answer again, nothing used */
		cr_assert_eq(ws_decode(&d, c->frames, c->len, &used, &out), st);
		cr_assert_eq(used, 0);
		ws_decoder_fini(&d);
	}
}

struct close_case {
	const char *name;
	const char *payload;
	size_t len;
	const char *reply; /* the close frame's payload */
	size_t reply_len;
};

static const struct close_case close_cases[] = {
    {"1000 bye",
     "\x03\xe8"
     "bye",
     5,
     "\x03\xe8"
     "bye",
     5},
    {"4000 UTF-8", "\x0f\xa0\xc3\xa9t\xc3\xa9", 7, "\x0f\xa0\xc3\xa9t\xc3\xa9", 7},
    {"empty", "", 0, "", 0},
    {"1 byte", "\x03", 1,
     "\x03\xea"
     "invalid close status code",
     27},
    {"999", "\x03\xe7", 2,
     "\x03\xea"
     "invalid close status code",
     27},
    {"1005", "\x03\xed", 2,
     "\x03\xea"
     "invalid close status code",
     27},
    {"reason not UTF-8", "\x03\xe8\xff\xfe", 4,
     "\x03\xef"
     "invalid utf8 body in close frame",
     34},
    {"surrogate in reason", "\x03\xe8\xed\xa0\x80", 5,
     "\x03\xef"
     "invalid utf8 body in close frame",
     34},
};

Test(ws, close_is_echoed_or_answered)
{
	for (size_t i = 0; i < sizeof(close_cases) / sizeof(close_cases[0]); i++) {
		const struct close_case *c = &close_cases[i];
		uint8_t in[64], frame[WS_CONTROL_FRAME_MAX];
		size_t n = ws_test_frame(in, 0, WS_OP_CLOSE, c->payload, c->len, true, 0, false);
		int st;

		/* data after the close is not read */
		n = ws_test_frame(in, n, WS_OP_BINARY, "x", 1, true, 0, false);
		size_t r = reply_of(WS_SIDE_SERVER, in, n, frame, &st);
		cr_assert_eq(st, WS_EV_CLOSE, "%s", c->name);
		cr_assert_eq(r, 2 + c->reply_len, "%s: %zu", c->name, r);
		cr_assert_eq(frame[0], 0x88);
		cr_assert_eq(frame[1], c->reply_len);
		cr_assert_eq(memcmp(frame + 2, c->reply, c->reply_len), 0, "%s", c->name);
	}
}

Test(ws, message_limit_counts_every_fragment)
{
	uint8_t in[64];
	struct ws_run r;
	size_t n = ws_test_frame(in, 0, WS_OP_BINARY, "12345", 5, false, 0, false);

	n = ws_test_frame(in, n, WS_OP_CONT, "678", 3, true, 0, false);
	ws_feed(&r, WS_SIDE_SERVER, false, 8, in, n, NULL, 0, 64);
	cr_assert_eq(r.status, WS_EV_NONE, "exactly the limit passes");
	ws_run_fini(&r);
	ws_feed(&r, WS_SIDE_SERVER, false, 7, in, n, NULL, 0, 64);
	cr_assert_eq(r.status, WS_ERR_TOO_BIG);
	cr_assert_eq(r.out_len, 5, "refused at the head, before its payload");
	ws_run_fini(&r);
	/* the limit is per message */
	n = ws_test_frame(in, n, WS_OP_BINARY, "12345678", 8, true, 0, false);
	ws_feed(&r, WS_SIDE_SERVER, false, 8, in, n, NULL, 0, 64);
	cr_assert_eq(r.status, WS_EV_NONE);
	cr_assert_eq(r.out_len, 16);
	ws_run_fini(&r);
}

Test(ws, close_frame_encoder_cuts_long_reasons_as_nats_server)
{
	char reason[200];
	uint8_t frame[WS_CONTROL_FRAME_MAX];

	memset(reason, 'r', sizeof(reason));
	cr_assert_eq(ws_frame_close(frame, sizeof(frame), 1000, reason, 123), 127);
	cr_assert_eq(frame[1], 125);
	cr_assert_eq(ws_frame_close(frame, sizeof(frame), 1001, reason, 124), 127);
	cr_assert_eq(frame[2] << 8 | frame[3], 1001);
	cr_assert_eq(memcmp(frame + 4 + 120, "...", 3), 0);
	cr_assert_eq(ws_frame_close(frame, sizeof(frame), 1000, NULL, 0), 4);
	cr_assert_eq(memcmp(frame, "\x88\x02\x03\xe8", 4), 0);
	cr_assert_eq(ws_frame_close(frame, 3, 1000, NULL, 0), 0, "too small");
}

Test(ws, pong_and_head_encoders)
{
	uint8_t frame[WS_CONTROL_FRAME_MAX], payload[126] = {0};
	uint8_t head[WS_FRAME_HEAD_MAX];
	static const uint8_t key[4] = {1, 2, 3, 4};

	cr_assert_eq(ws_frame_pong(frame, sizeof(frame), (const uint8_t *)"hi", 2), 4);
	cr_assert_eq(memcmp(frame, "\x8a\x02hi", 4), 0);
	cr_assert_eq(ws_frame_pong(frame, sizeof(frame), payload, 126), 0);
	cr_assert_eq(ws_frame_pong(frame, 3, payload, 2), 0);
	cr_assert_eq(ws_frame_head(head, WS_OP_BINARY, 5, true, true), 2);
	cr_assert_eq(memcmp(head, "\xc2\x05", 2), 0);
	cr_assert_eq(ws_frame_head(head, WS_OP_CONT, 0, false, false), 2);
	cr_assert_eq(memcmp(head, "\x00\x00", 2), 0);
	cr_assert_eq(ws_frame_head_masked(head, WS_OP_TEXT, 70000, true, false, key), 14);
	cr_assert_eq(memcmp(head, "\x81\xff\0\0\0\0\0\x01\x11\x70\x01\x02\x03\x04", 14), 0);
}

Test(ws, mask_copy_matches_bytewise_xor_at_every_offset_and_alignment)
{
	static const uint8_t key[4] = {0x9c, 0x01, 0xe4, 0x5b};
	uint8_t src[80], dst[80];

	for (size_t pos = 0; pos < 8; pos++)
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len + off <= 64; len++) {
				for (size_t i = 0; i < sizeof(src); i++)
					src[i] = (uint8_t)(i * 13 + pos);
				memset(dst, 0xee, sizeof(dst));
				ws_mask_copy(dst + off, src + 7 - (off & 7), len, key, pos);
				for (size_t i = 0; i < len; i++)
					cr_assert_eq(dst[off + i],
					             src[7 - (off & 7) + i] ^ key[(pos + i) & 3]);
				cr_assert_eq(dst[off + len], 0xee, "wrote past the end");
			}
}

Test(ws, mask_copy_works_in_place_with_bytes_moving_down)
{
	static const uint8_t key[4] = {0x11, 0x80, 0x7f, 0xfe};
	uint8_t buf[120], ref[120];

	for (size_t shift = 0; shift < 40; shift++)
		for (size_t len = 0; len + shift <= 80; len += 3) {
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = ref[i] = (uint8_t)(i * 29 + shift);
			ws_mask_copy(buf, buf + shift, len, key, shift);
			for (size_t i = 0; i < len; i++)
				cr_assert_eq(buf[i], ref[shift + i] ^ key[(shift + i) & 3],
				             "shift %zu len %zu byte %zu", shift, len, i);
		}
}

Test(ws, mask_matches_bytewise_xor_at_every_offset)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t buf[40], ref[40];

	for (size_t pos = 0; pos < 8; pos++) {
		for (size_t len = 0; len <= sizeof(buf); len++) {
			for (size_t i = 0; i < len; i++)
				buf[i] = ref[i] = (uint8_t)(i * 7 + pos);
			ws_mask(buf, len, key, pos);
			for (size_t i = 0; i < len; i++)
				cr_assert_eq(buf[i], ref[i] ^ key[(pos + i) & 3]);
		}
	}
}
