/* Private to bconn.c and bconn_ws.c: the WebSocket state of a connection and
 * the pieces both files use. Not for the connection's users (bconn.h). */
#ifndef TOOLS_LOAD_BCONN_INT_H
#define TOOLS_LOAD_BCONN_INT_H

#include <stdint.h>

#include "io/ws/ws.h"
#include "tools/load/bconn.h"

/* A WebSocket connection's codec state. Owner: as its struct bconn. */
struct bconn_ws {
	struct ws_decoder dec; /* the server's frames (unmasked) */
	uint8_t *plain;        /* heap, BCONN_RBUF bytes: unframed NATS bytes for the parser */
	uint32_t mask_state;   /* xorshift32, never 0: the next frame's mask key */
	uint32_t woff, wend;   /* the frame being sent: [woff, wend) of the struct bconn's wmem */
};

/* Sets @c->error from @fmt and returns @err. */
int bconn_fail(struct bconn *c, int err, const char *fmt, ...) RB_PRINTF(3, 4);

/* Sends @p[*@off..@len) on @c's socket, advancing *@off. Returns 0 once all
 * went, -EAGAIN (the send timeout passed without progress), -EPIPE (the
 * server closed) or -errno, with @c->error set. */
RB_MUST_CHECK int bconn_send_all(struct bconn *c, const char *p, uint32_t len, uint32_t *off);

/* Parses @n plain NATS bytes at @p (borrowed), as bconn_read describes.
 * Returns 0 or a negative error, @c->error set. */
RB_MUST_CHECK int bconn_parse(struct bconn *c, const char *p, size_t n, bconn_msg_fn fn, void *arg,
                              uint64_t now);

/* Makes @c, connected, a WebSocket client of Host @host: the upgrade request,
 * the 101 answer and its Sec-WebSocket-Accept checked (@url names the server
 * in errors), the codec state allocated; bytes after the answer are decoded
 * and parsed. Before the receive timeout passes. Returns 0 or -errno with
 * @c->error set. */
RB_MUST_CHECK int bconn_ws_upgrade(struct bconn *c, const char *host, const char *url);

/* Frees @c's WebSocket state (NULL: nothing). */
void bconn_ws_free(struct bconn_ws *w);

/* bconn_flush for a WebSocket connection: frames and masks the buffered
 * bytes in place (once; a failed flush resumes the same frame). */
RB_MUST_CHECK int bconn_ws_flush(struct bconn *c);

/* Decodes @n received bytes at @in and parses what they carry; answers a
 * ping with a pong and a close with a close. Returns 0, 1 when the server
 * closed the WebSocket, or a negative error with @c->error set. */
RB_MUST_CHECK int bconn_ws_feed(struct bconn *c, const uint8_t *in, size_t n, bconn_msg_fn fn,
                                void *arg, uint64_t now);

#endif /* TOOLS_LOAD_BCONN_INT_H */
