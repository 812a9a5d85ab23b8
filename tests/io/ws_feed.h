/* Test helper for io/ws's frame decoder: runs it over a byte stream in chosen
 * chunk sizes and output capacities, checking its contract on every call and
 * recording what it produced, so runs can be compared. Also builds client
 * frames. Used by tests/io/test_ws*.c and tests/fuzz/fuzz_ws.c. */
#ifndef TESTS_IO_WS_FEED_H
#define TESTS_IO_WS_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/ws/ws.h"

/* What one run produced. Owner: the test. */
struct ws_run {
	uint8_t *out; /* decoded payload bytes, in order */
	size_t out_len, out_cap;
	uint8_t *events; /* per event: its code, then the reply frame's length and bytes */
	size_t ev_len, ev_cap;
	int pongs;             /* WS_EV_PONG events */
	int status;            /* WS_EV_NONE at the end of input, WS_EV_CLOSE, or an error */
	const char *violation; /* the broken contract, or NULL */
};

void ws_run_fini(struct ws_run *r);

/* Decodes @in/@len with a fresh decoder (@side, @deflate, @max) in chunks of
 * @sizes (cycled; 0 = the rest; NULL = one chunk), each copied into its own
 * heap block, into an output buffer of @out_cap bytes emptied after each
 * call, or with WS_FEED_IN_PLACE into the chunk itself (as router/wsconn.c
 * decodes an uncompressed stream). Returns r->status. */
#define WS_FEED_IN_PLACE ((size_t)-1)
int ws_feed(struct ws_run *r, enum ws_side side, bool deflate, uint64_t max, const uint8_t *in,
            size_t len, const size_t *sizes, size_t nsizes, size_t out_cap);

/* True when both runs produced the same bytes, events and status. */
bool ws_run_same(const struct ws_run *a, const struct ws_run *b);

/* Appends a client frame (masked with a fixed key unless @unmasked) to
 * @dst at *@n; @b0_extra ORs bits into the first byte (RSV bits, FIN is
 * @fin). Returns the new length. @dst must hold 14 + @len more bytes. */
size_t ws_test_frame(uint8_t *dst, size_t n, enum ws_opcode op, const void *payload, size_t len,
                     bool fin, uint8_t b0_extra, bool unmasked);

#endif /* TESTS_IO_WS_FEED_H */
