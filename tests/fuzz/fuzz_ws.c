/* Fuzz target for io/ws: the upgrade parser and the frame decoder. Input: one
 * flags byte, four chunk-size bytes, then the stream. Each is run whole and
 * in chunks (each in its own heap block, so ASan sees a read beyond one);
 * both runs must give the same result, and every call keeps its contract.
 * Aborts on any violation. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/ws/ws.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/io/ws_feed.h"

#define HEAD 5

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_ws: invariant broken: %s\n", what);
	abort();
}

static bool inside(struct ws_span s, const char *buf, size_t len)
{
	return s.len == 0 || (s.ptr >= buf && s.ptr + s.len <= buf + len);
}

/* Uses what a parsed request offers: spans, answers, origin rules. */
static void check_request(struct ws_upgrade *u, const char *buf, size_t len, int rc)
{
	static const char *const allowed[] = {"http://h:1", "https://x", "bad", "http://[::1]:2"};
	char out[512];

	if (rc == 0)
		return; /* not complete yet */
	if (rc < 0) {
		if (rc < WS_UP_ERR_EARLY_DATA || !ws_upgrade_err_text(rc))
			fail("undocumented upgrade error");
		if (rc != WS_UP_ERR_EARLY_DATA && ws_upgrade_reject(u, rc, out, sizeof(out)) == 0)
			fail("refusal without an answer");
		return;
	}
	if ((size_t)rc > len || rc > (int)WS_UPGRADE_MAX_REQUEST)
		fail("request length beyond the input or the cap");
	if (!inside(u->path, buf, len) || !inside(u->host, buf, len) || !inside(u->key, buf, len) ||
	    !inside(u->origin, buf, len) || !inside(u->user_agent, buf, len))
		fail("span outside the request");
	if (u->key.len == 0 || u->path.len == 0)
		fail("accepted without a key or a path");
	if (ws_upgrade_accept(u, true, out, sizeof(out)) == 0)
		fail("no 101 answer");
	for (int same = 0; same < 2; same++) {
		int o = ws_origin_check(u, same, same, allowed, same ? 4 : 0);
		if (o != 0 && o != WS_UP_ERR_ORIGIN)
			fail("undocumented origin result");
	}
}

/* Parses @s/@len whole, then growing by @sizes (cycled). */
static void upgrade(const char *s, size_t len, const uint8_t *sizes)
{
	struct ws_upgrade whole, cut;
	char *buf = malloc(len ? len : 1);
	int want, rc = 0;
	size_t have = 0, k = 0;

	if (!buf)
		fail("out of memory");
	memcpy(buf, s, len);
	ws_upgrade_init(&whole);
	want = ws_upgrade_parse(&whole, buf, len);
	check_request(&whole, buf, len, want);
	ws_upgrade_init(&cut);
	while (rc == 0 && have < len) {
		have += (size_t)sizes[k++ % 4] + 1;
		if (have > len)
			have = len;
		char *grown = malloc(have); /* the buffer moves as it grows */
		if (!grown)
			fail("out of memory");
		memcpy(grown, s, have);
		rc = ws_upgrade_parse(&cut, grown, have);
		if (rc > 0)
			check_request(&cut, grown, have, rc);
		free(grown);
	}
	if (rc != want && !(rc == 0 && want == 0))
		fail("chunked upgrade parse differs from the whole parse");
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t maxes[] = {1u << 20, 0, 5, 100};
	static const size_t caps[] = {1u << 16, 1, 3, 17};
	struct ws_run whole, cut;
	size_t sizes[4];

	if (size < HEAD)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *s = data + HEAD;
	size_t len = size - HEAD;
	bool deflate = flags & 1;
	enum ws_side side = (flags & 2) ? WS_SIDE_CLIENT : WS_SIDE_SERVER;
	uint64_t max = maxes[(flags >> 2) & 3];

	upgrade((const char *)s, len, data + 1);
	for (int i = 0; i < 4; i++)
		sizes[i] = (size_t)data[1 + i] + 1;
	ws_feed(&whole, side, deflate, max, s, len, NULL, 0, 1u << 16);
	ws_feed(&cut, side, deflate, max, s, len, sizes, 4, caps[(flags >> 4) & 3]);
	if (whole.violation || cut.violation)
		fail(whole.violation ? whole.violation : cut.violation);
	if (whole.status < WS_ERR_NOMEM || cut.status < WS_ERR_NOMEM)
		fail("undocumented decoder error");
	if (!ws_run_same(&whole, &cut))
		fail("chunked decode differs from the whole decode");
	if (!deflate) { /* the server unmasks an uncompressed stream in place */
		struct ws_run inplace;
		ws_feed(&inplace, side, false, max, s, len, sizes, 4, WS_FEED_IN_PLACE);
		if (inplace.violation)
			fail(inplace.violation);
		if (!ws_run_same(&whole, &inplace))
			fail("decoding in place differs from the whole decode");
		ws_run_fini(&inplace);
	}
	ws_run_fini(&whole);
	ws_run_fini(&cut);
	return 0;
}
