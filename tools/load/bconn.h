/* ringbus-load-blocking's connection: a NATS client on one blocking socket,
 * as most client libraries are written (buffered writes, one recv at a time,
 * socket timeouts instead of an event loop), over plain TCP or WebSocket
 * (bconn_ws.c). */
#ifndef TOOLS_LOAD_BCONN_H
#define TOOLS_LOAD_BCONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/compiler.h"
#include "io/proto/proto.h"

#define BCONN_WBUF (64u * 1024u) /* writes leave in buffers of up to this */
#define BCONN_RBUF (64u * 1024u) /* one recv reads up to this */
/* Room kept before the write buffer for a WebSocket frame head (masked,
 * 64-bit length), so a buffered write is framed without a copy. */
#define BCONN_WS_ROOM 14u

struct bconn_ws; /* bconn_int.h */

/* A message's body (headers skipped), borrowed for the call; @now is when
 * the recv that carried it returned. */
typedef void (*bconn_msg_fn)(void *arg, struct proto_span body, uint64_t now);

/* One connection. Owner: one thread at a time (the main thread while it
 * opens, then the connection's own thread). */
struct bconn {
	int fd;
	struct proto_parser parser;
	char *wbuf; /* wcap bytes, BCONN_WS_ROOM into the heap block wmem */
	char *wmem;
	uint32_t wcap;
	uint32_t wlen;
	bool wpending;        /* WebSocket: a frame is partly sent (after a failed flush) */
	struct bconn_ws *ws;  /* heap; NULL on a plain NATS connection */
	char *rbuf;           /* heap, BCONN_RBUF bytes */
	uint64_t pongs;       /* PONGs received */
	char version[64];     /* the server's, from INFO */
	uint32_t max_payload; /* from INFO; 0: not said */
	bool info_seen;
	bool ready;      /* the handshake is done */
	char error[400]; /* why the last failing call failed */
};

/* Sets up @c with write buffers of at least @wcap bytes (BCONN_WBUF when
 * smaller): one message must fit. Returns 0 or -ENOMEM. */
RB_MUST_CHECK int bconn_init(struct bconn *c, uint32_t wcap);

/* Closes the socket and frees the buffers. Safe on a failed init. */
void bconn_fini(struct bconn *c);

/* Connects to @addr within @timeout_ns (with @ws_host, not NULL, a
 * WebSocket upgrade to that Host first: then everything goes in frames),
 * reads INFO, sends @hello (a CONNECT
 * line ending in PING, borrowed) and @extra (SUB lines, or NULL) followed by
 * a PING when @extra is given, and waits for the PONGs: everything @extra
 * asked is in place when this returns 0. A payload of @size bytes must fit
 * the server's max_payload. Returns 0 or -errno with @c->error set (@url is
 * named in it). */
RB_MUST_CHECK int bconn_open(struct bconn *c, const struct sockaddr *addr, socklen_t addrlen,
                             const char *url, const char *ws_host, const char *hello,
                             size_t hello_len, const char *extra, size_t extra_len,
                             uint64_t timeout_ns, uint32_t size);

/* How long a recv and a send may block: a recv returns -EAGAIN after
 * @recv_ns without a byte, a send fails with -EAGAIN after @send_ns without
 * progress. 0 or -errno. */
RB_MUST_CHECK int bconn_timeouts(struct bconn *c, uint64_t recv_ns, uint64_t send_ns);

/* Points *@dst at room for @n <= wcap bytes at the end of the write buffer,
 * flushing it first when it is too full. Returns 0, or the failure of that
 * flush (as bconn_flush). Commit what was written with bconn_commit. */
RB_MUST_CHECK int bconn_reserve(struct bconn *c, uint32_t n, char **dst);

static inline void bconn_commit(struct bconn *c, uint32_t n)
{
	c->wlen += n;
}

/* Sends everything buffered (on WebSocket as one masked binary frame).
 * Returns 0, -EAGAIN (the send timeout passed
 * without progress), -EPIPE (the server closed the connection) or -errno;
 * @c->error is set on failure. */
RB_MUST_CHECK int bconn_flush(struct bconn *c);

/* Appends PING and flushes. As bconn_flush. */
RB_MUST_CHECK int bconn_ping(struct bconn *c);

/* One recv, blocking up to the receive timeout; parses what came (on
 * WebSocket unframed first, pings answered): answers the server's PINGs,
 * counts PONGs, hands each MSG body to @fn (may be NULL). Returns the bytes
 * read, 0 when the server closed the connection (or sent a close frame),
 * -EAGAIN when the timeout passed, -EPROTO on a protocol error or a -ERR
 * (@c->error says which), or -errno. */
RB_MUST_CHECK ssize_t bconn_read(struct bconn *c, bconn_msg_fn fn, void *arg);

#endif /* TOOLS_LOAD_BCONN_H */
