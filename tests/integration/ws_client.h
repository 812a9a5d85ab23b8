/* A raw WebSocket client for the integration tests: the upgrade request,
 * masked frames out (io/ws's ws_frame_head_masked), server frames read one
 * at a time, over TCP or TLS (wss://). Every read is bounded by a timeout. */
#ifndef TESTS_INTEGRATION_WS_CLIENT_H
#define TESTS_INTEGRATION_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSC_WAIT_MS 5000

/* One connection. Owner: the test thread using it. */
struct wsc {
	int fd;
	void *ssl;   /* wss://: the OpenSSL SSL, or NULL */
	uint8_t *in; /* bytes received and not yet taken */
	size_t in_len, in_cap;
	char *text; /* payload of data frames not yet taken by wsc_read_until (NUL-ended) */
	size_t text_len, text_cap;
	char head[4096]; /* the HTTP answer to the upgrade, NUL-terminated */
	bool no_inflate; /* wsc_frame gives compressed frames as they came (set after open) */
};

/* One server frame. Owner: caller; payload is owned (free). */
struct wsc_frame {
	uint8_t op;
	bool fin;
	bool rsv1; /* it came compressed: payload is inflated */
	bool masked;
	size_t len;
	uint8_t *payload; /* len bytes and a NUL */
};

/* Connects to 127.0.0.1:@port (retrying for a second while refused) and
 * sends the upgrade request: @request when not NULL (sent as is), else a
 * valid one with @extra header lines (each ending in \r\n; may be NULL).
 * Reads the HTTP answer into w->head. Returns its status code, or -errno
 * (-ECONNRESET: closed without an answer). */
int wsc_open(struct wsc *w, uint16_t port, const char *request, const char *extra);

/* As wsc_open, over TLS (wss://): the handshake first, verifying the server
 * as "localhost" against @ca_file (NULL: no check). Returns the status, or
 * -EPROTO when the handshake failed (the reason in @why, may be NULL), or
 * -errno. */
int wsc_open_tls(struct wsc *w, uint16_t port, const char *ca_file, const char *request,
                 const char *extra, char *why, size_t why_len);

/* Sends one masked frame. Returns 0 or -errno. */
int wsc_send(struct wsc *w, uint8_t op, const void *payload, size_t len, bool fin);

/* Sends @len bytes compressed (permessage-deflate, RSV1) in one binary
 * frame. Returns 0 or -errno. */
int wsc_send_deflated(struct wsc *w, const void *payload, size_t len);

/* Sends @s as one binary frame. Returns 0 or -errno. */
int wsc_send_str(struct wsc *w, const char *s);

/* Sends raw bytes (an unmasked frame, say). Returns 0 or -errno. */
int wsc_send_raw(struct wsc *w, const void *buf, size_t len);

/* Reads the next frame within @timeout_ms; a compressed one (RSV1) is
 * inflated unless w->no_inflate. Returns 0, -ETIMEDOUT,
 * -ECONNRESET (EOF) or -errno. */
int wsc_frame(struct wsc *w, struct wsc_frame *f, int timeout_ms);

/* Inflates f->payload, a whole compressed message (its frames' payloads
 * joined), in place. Returns 0, -EBADMSG or -ENOMEM. */
int wsc_frame_inflate(struct wsc_frame *f);

/* Reads data frames until their payloads hold @needle; takes what comes up
 * to its end (copied to @out, @cap bytes, NUL-ended, when not NULL). A
 * control frame meanwhile fails with -EPROTO. Returns the bytes taken or
 * -errno. */
long wsc_read_until(struct wsc *w, const char *needle, char *out, size_t cap, int timeout_ms);

/* Waits for EOF, skipping frames; *@close_code (may be NULL) gets the code
 * of a close frame met on the way, 0 if none. Returns 0 or -ETIMEDOUT. */
int wsc_expect_eof(struct wsc *w, int *close_code, int timeout_ms);

/* What a server sent until it closed the connection. Owner: caller. */
struct wsc_end {
	char *data;       /* the data frames' payloads (NUL-ended; free), or NULL */
	size_t len;       /* their bytes */
	size_t frames;    /* data frames */
	size_t max_frame; /* the longest data frame's payload */
	bool fin_all;     /* every data frame had FIN */
	int close_code;   /* of its close frame: 0 when none came, 1005 when empty */
	char reason[124]; /* the close frame's reason, NUL-ended */
	bool after_close; /* a frame came after the close frame */
};

/* Reads frames until EOF (a frame cut by it ends the reading too) into @e;
 * the payloads are kept in e->data when @keep (with what wsc_read_until
 * left first). Returns 0, -ETIMEDOUT or -errno. */
int wsc_read_to_eof(struct wsc *w, struct wsc_end *e, bool keep, int timeout_ms);

/* Closes the socket and frees the buffers. */
void wsc_close(struct wsc *w);

#endif /* TESTS_INTEGRATION_WS_CLIENT_H */
