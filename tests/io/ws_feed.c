/* See ws_feed.h. */
#include "tests/io/ws_feed.h"

#include <stdlib.h>
#include <string.h>

static void put(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		while (c < *len + n)
			c *= 2;
		*buf = realloc(*buf, c);
		if (!*buf)
			abort();
		*cap = c;
	}
	if (n)
		memcpy(*buf + *len, p, n);
	*len += n;
}

void ws_run_fini(struct ws_run *r)
{
	free(r->out);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

static void record_event(struct ws_run *r, const struct ws_decoder *d, int rc)
{
	uint8_t frame[WS_CONTROL_FRAME_MAX];
	uint8_t code = (uint8_t)(int8_t)rc, len;

	len = (uint8_t)ws_decoder_reply(d, frame);
	put(&r->events, &r->ev_len, &r->ev_cap, &code, 1);
	put(&r->events, &r->ev_len, &r->ev_cap, &len, 1);
	put(&r->events, &r->ev_len, &r->ev_cap, frame, len);
	if (rc == WS_EV_PONG)
		r->pongs++;
}

/* One chunk: calls ws_decode until it is used up or the run ends. Returns
 * false when the run ended. */
static bool feed_chunk(struct ws_run *r, struct ws_decoder *d, const uint8_t *chunk, size_t n,
                       struct ws_buf *out)
{
	size_t off = 0;

	bool in_place = out->ptr == NULL;
	for (int spins = 0;; spins++) {
		size_t used = (size_t)-1;
		if (in_place) /* chunk is the caller's copy: writable */
			*out = (struct ws_buf){(uint8_t *)(uintptr_t)(chunk + off), 0, n - off};
		int rc = ws_decode(d, chunk + off, n - off, &used, out);
		if (used > n - off)
			r->violation = "used beyond the input";
		put(&r->out, &r->out_len, &r->out_cap, out->ptr, out->len);
		if (rc == WS_EV_OUT_FULL && out->len != out->cap)
			r->violation = "OUT_FULL with room left";
		if (rc == WS_EV_NONE && used != n - off)
			r->violation = "NONE before the input is used up";
		if (spins > 1000000)
			r->violation = "no progress";
		out->len = 0;
		if (in_place)
			out->ptr = NULL;
		off += used;
		if (r->violation)
			return false;
		if (rc == WS_EV_PONG) {
			record_event(r, d, rc);
			continue;
		}
		if (rc == WS_EV_CLOSE || rc < 0) {
			record_event(r, d, rc);
			r->status = rc;
			return false;
		}
		if (rc == WS_EV_NONE)
			return true;
		if (rc != WS_EV_OUT_FULL) {
			r->violation = "undocumented result";
			return false;
		}
	}
}

int ws_feed(struct ws_run *r, enum ws_side side, bool deflate, uint64_t max, const uint8_t *in,
            size_t len, const size_t *sizes, size_t nsizes, size_t out_cap)
{
	struct ws_decoder d;
	bool in_place = out_cap == WS_FEED_IN_PLACE;
	uint8_t *obuf = in_place ? NULL : malloc(out_cap ? out_cap : 1);
	struct ws_buf out = {obuf, 0, in_place ? 0 : out_cap};
	size_t pos = 0, k = 0;

	memset(r, 0, sizeof(*r));
	if ((!obuf && !in_place) || ws_decoder_init(&d, side, deflate, max) != 0)
		abort();
	do {
		size_t n = sizes && nsizes ? sizes[k++ % nsizes] : 0;
		if (n == 0 || n > len - pos)
			n = len - pos;
		uint8_t *chunk = malloc(n ? n : 1);
		if (!chunk)
			abort();
		if (n)
			memcpy(chunk, in + pos, n);
		bool go_on = feed_chunk(r, &d, chunk, n, &out);
		free(chunk);
		pos += n;
		if (!go_on)
			break;
	} while (pos < len);
	ws_decoder_fini(&d);
	free(obuf);
	return r->status;
}

bool ws_run_same(const struct ws_run *a, const struct ws_run *b)
{
	return a->status == b->status && a->out_len == b->out_len && a->ev_len == b->ev_len &&
	       (a->out_len == 0 || memcmp(a->out, b->out, a->out_len) == 0) &&
	       (a->ev_len == 0 || memcmp(a->events, b->events, a->ev_len) == 0);
}

size_t ws_test_frame(uint8_t *dst, size_t n, enum ws_opcode op, const void *payload, size_t len,
                     bool fin, uint8_t b0_extra, bool unmasked)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	size_t h;

	if (unmasked)
		h = ws_frame_head(dst + n, op, len, fin, false);
	else
		h = ws_frame_head_masked(dst + n, op, len, fin, false, key);
	dst[n] |= b0_extra;
	if (len)
		memcpy(dst + n + h, payload, len);
	if (!unmasked)
		ws_mask(dst + n + h, len, key, 0);
	return n + h + len;
}
