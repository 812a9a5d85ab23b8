/* Tests of io/ws's permessage-deflate: the RFC 7692 section 7.2.3 examples,
 * round trips through the compressor and the decoder, no context takeover,
 * bounded output against decompression bombs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/ws/ws.h"
#include "tests/io/ws_feed.h"

#define MAX (1u << 20)

struct rfc_example {
	const char *name;
	uint8_t frames[24]; /* unmasked, as the RFC writes them (server frames) */
	size_t len;
};

static const struct rfc_example rfc_examples[] = {
    {"7.2.3.1 one frame", {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, 9},
    {"7.2.3.1 two fragments",
     {0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00},
     11},
    {"7.2.3.3 stored block",
     {0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00},
     13},
    {"7.2.3.4 BFINAL set", {0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, 10},
    {"7.2.3.5 two blocks",
     {0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00},
     15},
};

/* Re-encodes the unmasked frames of @in as masked client frames into @dst. */
static size_t masked_copy(const uint8_t *in, size_t len, uint8_t *dst)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		size_t plen = in[i + 1] & 0x7f; /* the examples are short */
		uint8_t b0 = in[i];
		n = ws_test_frame(dst, n, (enum ws_opcode)(b0 & 0x0f), in + i + 2, plen,
		                  (b0 & 0x80) != 0, b0 & 0x40, false);
		i += 2 + plen;
	}
	return n;
}

Test(ws_deflate, rfc7692_examples_inflate_to_hello)
{
	for (size_t i = 0; i < sizeof(rfc_examples) / sizeof(rfc_examples[0]); i++) {
		const struct rfc_example *e = &rfc_examples[i];
		uint8_t masked[64];
		size_t mn = masked_copy(e->frames, e->len, masked);
		struct ws_run r;

		ws_feed(&r, WS_SIDE_CLIENT, true, MAX, e->frames, e->len, NULL, 0, 64);
		cr_assert_null(r.violation, "%s", e->name);
		cr_assert_eq(r.status, WS_EV_NONE, "%s: %d", e->name, r.status);
		cr_assert_eq(r.out_len, 5, "%s: %zu bytes", e->name, r.out_len);
		cr_assert_eq(memcmp(r.out, "Hello", 5), 0, "%s", e->name);
		ws_run_fini(&r);
		ws_feed(&r, WS_SIDE_SERVER, true, MAX, masked, mn, NULL, 0, 1);
		cr_assert_eq(r.status, WS_EV_NONE, "%s masked: %d", e->name, r.status);
		cr_assert_eq(r.out_len, 5, "%s masked", e->name);
		ws_run_fini(&r);
	}
}

Test(ws_deflate, hello_compresses_as_rfc7692_shows)
{
	static const uint8_t want[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
	struct ws_deflate z;
	struct iovec iov = {(void *)"Hello", 5};
	uint8_t out[64];
	size_t n;

	cr_assert_eq(ws_deflate_init(&z, 6), 0);
	cr_assert_eq(ws_deflate_message(&z, &iov, 1, out, sizeof(out), &n), 0);
	cr_assert_eq(n, sizeof(want));
	cr_assert_eq(memcmp(out, want, n), 0);
	/* no context takeover: the same message compresses the same again */
	cr_assert_eq(ws_deflate_message(&z, &iov, 1, out, sizeof(out), &n), 0);
	cr_assert_eq(n, sizeof(want));
	cr_assert_eq(memcmp(out, want, n), 0);
	/* RFC 7692 section 7.2.3.6: an empty message is one 0x00 byte */
	cr_assert_eq(ws_deflate_message(&z, NULL, 0, out, sizeof(out), &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0], 0x00);
	ws_deflate_fini(&z);
	ws_deflate_fini(&z);
	cr_assert_eq(ws_deflate_init(&z, 10), -EINVAL);
}

/* Compresses @len bytes of @data (given in three pieces), frames them as a
 * client would, and decodes them in chunks of @step into @cap-byte buffers. */
static void round_trip(const uint8_t *data, size_t len, size_t step, size_t cap)
{
	struct ws_deflate z;
	size_t bound = ws_deflate_bound(len), zn;
	uint8_t *zbuf = malloc(bound), *frames = malloc(bound + 64);
	struct iovec iov[3] = {{(void *)data, len / 3},
	                       {(void *)(data + len / 3), len / 3},
	                       {(void *)(data + 2 * (len / 3)), len - 2 * (len / 3)}};
	struct ws_run r;

	cr_assert_eq(ws_deflate_init(&z, 1), 0);
	cr_assert_eq(ws_deflate_message(&z, iov, 3, zbuf, bound, &zn), 0);
	ws_deflate_fini(&z);
	size_t half = zn / 2;
	size_t n = ws_test_frame(frames, 0, WS_OP_BINARY, zbuf, half, false, 0x40, false);
	n = ws_test_frame(frames, n, WS_OP_CONT, zbuf + half, zn - half, true, 0, false);
	size_t sizes[] = {step};
	ws_feed(&r, WS_SIDE_SERVER, true, len ? len : 1, frames, n, sizes, 1, cap);
	cr_assert_null(r.violation, "%s", r.violation);
	cr_assert_eq(r.status, WS_EV_NONE, "len %zu: %d", len, r.status);
	cr_assert_eq(r.out_len, len);
	cr_assert(len == 0 || memcmp(r.out, data, len) == 0);
	ws_run_fini(&r);
	free(zbuf);
	free(frames);
}

Test(ws_deflate, round_trips_through_the_decoder)
{
	static const size_t lens[] = {0, 1, 5, 64, 1000, 70000, 300000};
	uint8_t *text = malloc(300000), *noise = malloc(300000);
	uint32_t x = 12345;

	for (size_t i = 0; i < 300000; i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (uint8_t)(x >> 16);
		text[i] = (uint8_t)("PUB subject.a 11\r\nhello world\r\n"[i % 31]);
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		round_trip(text, lens[i], 100000, 65536);
		round_trip(noise, lens[i], 100000, 65536);
		if (lens[i] <= 1000) {
			round_trip(text, lens[i], 1, 1);
			round_trip(noise, lens[i], 3, 7);
		}
	}
	free(text);
	free(noise);
}

Test(ws_deflate, too_small_an_output_is_enobufs)
{
	struct ws_deflate z;
	uint8_t data[1000], out[1200];
	struct iovec iov = {data, sizeof(data)};
	size_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + (i >> 3));
	cr_assert_eq(ws_deflate_init(&z, 1), 0);
	cr_assert_eq(ws_deflate_message(&z, &iov, 1, out, 10, &n), -ENOBUFS);
	/* the compressor is usable afterwards */
	cr_assert_eq(ws_deflate_message(&z, &iov, 1, out, sizeof(out), &n), 0);
	cr_assert_leq(n, ws_deflate_bound(sizeof(data)));
	ws_deflate_fini(&z);
}

/* 8 MiB of zeros compress to a few KiB: the decoder stops at its limit with
 * 1009 and has given exactly max_message bytes, however it was fed. */
Test(ws_deflate, decompression_bomb_stops_at_the_limit)
{
	size_t len = 8u << 20, zn, limit = 100000;
	uint8_t *zeros = calloc(1, len), *zbuf = malloc(ws_deflate_bound(len));
	uint8_t *frames = malloc(ws_deflate_bound(len) + 16);
	struct iovec iov = {zeros, len};
	struct ws_deflate z;
	struct ws_run whole, cut;

	cr_assert_eq(ws_deflate_init(&z, 9), 0);
	cr_assert_eq(ws_deflate_message(&z, &iov, 1, zbuf, ws_deflate_bound(len), &zn), 0);
	ws_deflate_fini(&z);
	cr_assert_lt(zn, 20000);
	size_t n = ws_test_frame(frames, 0, WS_OP_BINARY, zbuf, zn, true, 0x40, false);
	ws_feed(&whole, WS_SIDE_SERVER, true, limit, frames, n, NULL, 0, 1 << 20);
	cr_assert_eq(whole.status, WS_ERR_TOO_BIG);
	cr_assert_eq(whole.out_len, limit);
	size_t sizes[] = {7, 100};
	ws_feed(&cut, WS_SIDE_SERVER, true, limit, frames, n, sizes, 2, 999);
	cr_assert(ws_run_same(&whole, &cut));
	uint8_t frame[WS_CONTROL_FRAME_MAX];
	struct ws_decoder d;
	struct ws_buf out = {zeros, 0, len};
	size_t used;
	cr_assert_eq(ws_decoder_init(&d, WS_SIDE_SERVER, true, limit), 0);
	cr_assert_eq(ws_decode(&d, frames, n, &used, &out), WS_ERR_TOO_BIG);
	cr_assert_eq(ws_decoder_reply(&d, frame), 4 + strlen("maximum message size exceeded"));
	cr_assert_eq(frame[2] << 8 | frame[3], 1009);
	ws_decoder_fini(&d);
	ws_run_fini(&whole);
	ws_run_fini(&cut);
	free(zeros);
	free(zbuf);
	free(frames);
}

Test(ws_deflate, compressed_bytes_above_the_bound_are_refused_at_the_head)
{
	uint8_t in[32];
	struct ws_run r;
	size_t n = ws_test_frame(in, 0, WS_OP_BINARY, NULL, 0, false, 0x40, false);

	/* a continuation announcing more compressed bytes than max can need */
	in[n] = 0x80;
	in[n + 1] = 0x80 | 126;
	in[n + 2] = 0x10;
	in[n + 3] = 0x00;
	memset(in + n + 4, 0, 4);
	ws_feed(&r, WS_SIDE_SERVER, true, 1000, in, n + 8, NULL, 0, 64);
	cr_assert_eq(r.status, WS_ERR_TOO_BIG);
	ws_run_fini(&r);
}

/* A few compressed bytes can stand for many: what zlib holds behind a full
 * output buffer is given before the frame ends (here a bad head follows)
 * and before the input runs out, as a roomy buffer would have it. */
Test(ws_deflate, output_held_by_zlib_is_given_before_moving_on)
{
	uint8_t data[600], zbuf[128], in[256];
	struct iovec iov = {data, sizeof(data)};
	struct ws_deflate z;
	struct ws_run whole, cut;
	size_t zn, sizes[] = {1};

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t) "E>"[i & 1];
	cr_assert_eq(ws_deflate_init(&z, 9), 0);
	cr_assert_eq(ws_deflate_message(&z, &iov, 1, zbuf, sizeof(zbuf), &zn), 0);
	ws_deflate_fini(&z);
	cr_assert_lt(zn, 20);
	/* the whole message in a first frame, then opcode 15 */
	size_t n = ws_test_frame(in, 0, WS_OP_BINARY, zbuf, zn, false, 0x40, false);
	n = ws_test_frame(in, n, (enum ws_opcode)15, "", 0, true, 0, false);
	ws_feed(&whole, WS_SIDE_SERVER, true, MAX, in, n, NULL, 0, 1 << 16);
	cr_assert_eq(whole.status, WS_ERR_OPCODE);
	cr_assert_eq(whole.out_len, sizeof(data));
	ws_feed(&cut, WS_SIDE_SERVER, true, MAX, in, n, NULL, 0, 17);
	cr_assert(ws_run_same(&whole, &cut));
	ws_run_fini(&cut);
	ws_run_fini(&whole);
	/* the input ends inside the frame */
	n = ws_test_frame(in, 0, WS_OP_BINARY, zbuf, zn, true, 0x40, false) - 1;
	ws_feed(&whole, WS_SIDE_SERVER, true, MAX, in, n, NULL, 0, 1 << 16);
	cr_assert_eq(whole.status, WS_EV_NONE);
	cr_assert_gt(whole.out_len, 0);
	ws_feed(&cut, WS_SIDE_SERVER, true, MAX, in, n, sizes, 1, 1);
	cr_assert(ws_run_same(&whole, &cut));
	ws_run_fini(&cut);
	ws_run_fini(&whole);
}
