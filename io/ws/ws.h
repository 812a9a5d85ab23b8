/* The WebSocket codec (RFC 6455, RFC 7692 permessage-deflate) for NATS clients
 * over WebSocket, as nats-server 2.9.10 serves them: the upgrade handshake,
 * a streaming frame decoder, frame encoders and deflate. No I/O: the caller
 * feeds received bytes and sends what the codec writes. docs/WEBSOCKET.md. */
#ifndef IO_WS_WS_H
#define IO_WS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"

/* ---- Upgrade handshake (ws_upgrade.c, ws_origin.c) ---- */

/* The longest upgrade request accepted, in bytes (Go's http server allows 1 MiB). */
#define WS_UPGRADE_MAX_REQUEST 8192u
/* Length of a Sec-WebSocket-Accept value (base64 of a SHA-1). */
#define WS_ACCEPT_LEN 28u

/* A view into the caller's buffer. Not terminated. */
struct ws_span {
	const char *ptr;
	size_t len;
};

/* Why an upgrade request is refused. The first six are the answers of Go's
 * HTTP server, before nats-server sees the request; the others are
 * nats-server's own (wsUpgrade). ws_upgrade_reject() writes the answer;
 * ws_upgrade_err_text() gives the reason nats-server logs. */
enum ws_upgrade_err {
	WS_UP_ERR_BAD_REQUEST = -1,  /* 400, Go: malformed request or header line */
	WS_UP_ERR_HEADER_NAME = -2,  /* 400, Go: "invalid header name" */
	WS_UP_ERR_HEADER_VALUE = -3, /* 400, Go: "invalid header value" */
	WS_UP_ERR_HOST_HEADER = -4,  /* 400, Go: Host missing (HTTP/1.1), twice, or malformed */
	WS_UP_ERR_HTTP_VERSION = -5, /* 505, Go: "unsupported protocol version" */
	WS_UP_ERR_TOO_LARGE = -6,    /* 431, Go: request above WS_UPGRADE_MAX_REQUEST */
	WS_UP_ERR_METHOD = -7,       /* 405 "request method must be GET" */
	WS_UP_ERR_HOST = -8,         /* 400 "'Host' missing in request" (empty, or HTTP/1.0) */
	WS_UP_ERR_UPGRADE = -9,      /* 400 "invalid value for header 'Upgrade'" */
	WS_UP_ERR_CONNECTION = -10,  /* 400 "invalid value for header 'Connection'" */
	WS_UP_ERR_KEY = -11,         /* 400 "key missing" */
	WS_UP_ERR_VERSION = -12,     /* 400 "invalid version" */
	WS_UP_ERR_ORIGIN = -13,      /* 403 "origin not allowed" (ws_origin_check) */
	WS_UP_ERR_EARLY_DATA = -14,  /* no answer: close ("client sent data before handshake
	                              * is complete") */
};

/* One upgrade request being parsed. Owner: the thread that owns the
 * connection. The public fields are set when ws_upgrade_parse() returns > 0
 * and point into the buffer given to that call; the rest is private. */
struct ws_upgrade {
	struct ws_span path;             /* request target */
	struct ws_span host;             /* Host (first) */
	struct ws_span key;              /* Sec-WebSocket-Key (first) */
	struct ws_span origin;           /* Origin, else Sec-WebSocket-Origin (first) */
	struct ws_span user_agent;       /* User-Agent (first): nats-server frames for browsers */
	bool deflate_offered;            /* permessage-deflate in Sec-WebSocket-Extensions */
	bool client_no_context_takeover; /* parameters of the first permessage-deflate offer */
	bool server_no_context_takeover;
	uint8_t http_minor; /* HTTP/1.<minor> */
	/* private */
	uint32_t pos;            /* start of the next line to read */
	uint32_t flags;          /* WS_UP_F_*: headers seen, tokens found */
	uint16_t off[6], len[6]; /* the spans above (and Sec-WebSocket-Origin) as offsets */
};

/* Prepares @u for a new request. */
void ws_upgrade_init(struct ws_upgrade *u);

/* Parses the request in @buf/@len: every byte received so far, from the
 * first (the caller appends and calls again; the buffer may move between
 * calls). Lines already read are not read again. Returns 0 when the request
 * is not complete yet, the request's length when it is complete and valid
 * (the public fields are then set; later calls return the same), or a
 * negative enum ws_upgrade_err (do not call again). Splitting the bytes at
 * any point gives the same result. Bytes after the request are not looked
 * at: nats-server refuses them when they came before its answer
 * (WS_UP_ERR_EARLY_DATA), which the caller knows. */
RB_MUST_CHECK int ws_upgrade_parse(struct ws_upgrade *u, const char *buf, size_t len);

/* nats-server's origin rules for a parsed request: with neither rule, or
 * without an Origin, any request passes; @same_origin wants the Origin's
 * host and port equal to Host's (ports default to 80, or 443 for https and
 * for Host when @tls); @allowed (@n_allowed URLs such as "https://h:443")
 * wants the Origin's scheme, host and port in the list. Returns 0 or
 * WS_UP_ERR_ORIGIN. Borrows everything. */
int ws_origin_check(const struct ws_upgrade *u, bool tls, bool same_origin,
                    const char *const *allowed, size_t n_allowed);

/* Writes the Sec-WebSocket-Accept value for @key/@len into @out (28
 * characters and a NUL). Returns 0, or -EIO when libcrypto fails. */
RB_MUST_CHECK int ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1]);

/* True when permessage-deflate is used: enabled by the caller (@compression)
 * and offered by the client. */
bool ws_upgrade_deflate(const struct ws_upgrade *u, bool compression);

/* Writes nats-server's "101 Switching Protocols" answer to @u into @dst
 * (capacity @cap), with the permessage-deflate answer (no context takeover
 * either way) when ws_upgrade_deflate(@u, @compression). Returns its length,
 * or 0 when it does not fit (256 bytes always do) or libcrypto fails. */
size_t ws_upgrade_accept(const struct ws_upgrade *u, bool compression, char *dst, size_t cap);

/* Writes the HTTP answer for @err (from ws_upgrade_parse or ws_origin_check
 * on @u) into @dst. Returns its length; 0 for WS_UP_ERR_EARLY_DATA (nothing
 * is sent) or when it does not fit (256 bytes always do). The connection is
 * closed after it. */
size_t ws_upgrade_reject(const struct ws_upgrade *u, int err, char *dst, size_t cap);

/* The reason nats-server logs for @err ("websocket handshake error: ..."). */
const char *ws_upgrade_err_text(int err);

/* ---- Frames (ws_frame.c: decoder; ws_frame_encode.c: encoders) ---- */

#define WS_CONTROL_MAX       125u /* payload of a control frame */
#define WS_FRAME_HEAD_MAX    14u  /* 2 + 8 (length) + 4 (mask key) */
#define WS_CONTROL_FRAME_MAX (6u + WS_CONTROL_MAX)
/* What nats-server does not compress (bytes of one write), and the frame
 * size it keeps to for browsers (User-Agent "Mozilla/..."). */
#define WS_COMPRESS_THRESHOLD 64u
#define WS_BROWSER_FRAME_MAX  4096u

enum ws_opcode {
	WS_OP_CONT = 0,
	WS_OP_TEXT = 1,
	WS_OP_BINARY = 2,
	WS_OP_CLOSE = 8,
	WS_OP_PING = 9,
	WS_OP_PONG = 10,
};

/* Close status codes (RFC 6455 section 7.4.1) used here. */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_NO_STATUS = 1005,
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* Which frames a decoder reads: a server reads masked client frames. */
enum ws_side {
	WS_SIDE_SERVER = 0,
	WS_SIDE_CLIENT,
};

/* What ws_decode() returns besides errors. */
enum ws_event {
	WS_EV_NONE = 0,     /* every input byte used, nothing pending */
	WS_EV_OUT_FULL = 1, /* @out is full: empty it and call again with the rest */
	WS_EV_PONG = 2,     /* a ping came: send ws_decoder_reply() (a pong) */
	WS_EV_CLOSE = 3,    /* a close came: send ws_decoder_reply(), then close */
};

/* Decoding errors (negative). After one the decoder is finished: send
 * ws_decoder_reply() (a close frame with ws_err_close_code() and
 * ws_err_text(), nats-server's texts where it has one), then close. */
enum ws_err {
	WS_ERR_NOT_MASKED = -1,     /* 1002 "mask bit missing" */
	WS_ERR_MASKED = -2,         /* 1002, client side: a server frame is masked */
	WS_ERR_RESERVED_BITS = -3,  /* 1002: RSV2/RSV3, or RSV1 not on a compressed message */
	WS_ERR_CONTROL_LENGTH = -4, /* 1002 "control frame length bigger than ... 125 bytes" */
	WS_ERR_CONTROL_FIN = -5,    /* 1002 "control frame does not have final bit set" */
	WS_ERR_NOT_FINAL = -6,      /* 1002 "new message started before final frame ..." */
	WS_ERR_CONTINUATION = -7,   /* 1002 "invalid continuation frame" */
	WS_ERR_OPCODE = -8,         /* 1002 "unknown opcode <n>" */
	WS_ERR_TOO_BIG = -9,        /* 1009: a message above the decoder's max_message */
	WS_ERR_DEFLATE = -10,       /* 1007: compressed data that does not inflate */
	WS_ERR_NOMEM = -11,         /* 1011: zlib could not allocate its window */
};

/* An output buffer the caller owns: ws_decode() appends at @len, up to @cap. */
struct ws_buf {
	uint8_t *ptr;
	size_t len;
	size_t cap;
};

/* Streaming frame decoder. Owner: the thread that owns the connection.
 * Fields are private. */
struct ws_decoder {
	struct z_stream_s *z; /* inflater, NULL without permessage-deflate (owned) */
	uint64_t max_message; /* payload bytes of one message, after inflating */
	uint64_t rem;         /* payload bytes left in the current frame */
	uint64_t msg_len;     /* payload bytes of the current message so far */
	uint64_t wire_len;    /* compressed bytes of the current message so far */
	int status;           /* WS_EV_CLOSE or enum ws_err once finished, else 0 */
	uint8_t side;         /* enum ws_side */
	uint8_t state;        /* WS_ST_* (ws_frame.c) */
	uint8_t opcode;       /* of the current frame */
	bool fin;             /* of the current frame */
	bool in_message;      /* a data message started and its final frame is to come */
	bool compressed;      /* the current message has RSV1 */
	bool z_end;           /* the current message's deflate stream ended (BFINAL) */
	bool z_pending;       /* the last inflate filled its output: more may wait */
	uint8_t head[WS_FRAME_HEAD_MAX];
	uint8_t head_len, head_need;
	uint8_t key[4];
	uint8_t key_pos;  /* mask key index of the next payload byte */
	uint8_t tail_pos; /* bytes of 00 00 ff ff given to the inflater */
	uint8_t ctl_len;  /* control payload collected; after an event, the reply's */
	uint8_t reply_op; /* after an event or error: the reply's opcode */
	uint8_t ctl[WS_CONTROL_MAX];
};

/* Initialises @d to read @side's frames; @deflate when permessage-deflate was
 * negotiated (RSV1 then marks compressed messages); @max_message bounds a
 * message's payload (after inflating; nats-server has no such bound, so
 * pick one above the NATS max_payload plus a control line). Returns 0, or
 * -ENOMEM (zlib's inflater; its 32 KiB window comes with the first
 * compressed message). */
RB_MUST_CHECK int ws_decoder_init(struct ws_decoder *d, enum ws_side side, bool deflate,
                                  uint64_t max_message);

/* Frees the inflater. @d may be initialised again afterwards. */
void ws_decoder_fini(struct ws_decoder *d);

/* Decodes @in/@len (the rest of the latest input), appending the payload of
 * data frames (text and binary alike: NATS bytes; inflated and unmasked) to
 * @out. Without permessage-deflate @out may be @in itself (out->ptr == @in,
 * out->len 0, out->cap @len): the payload is then unmasked in place, each
 * byte written at or before the byte it came from. Sets *@used to the bytes of @in consumed.
 * Returns an enum ws_event (then @out holds the bytes decoded before it) or a negative enum ws_err.
 * After WS_EV_CLOSE or an error every call returns the same and uses
 * nothing. Splitting the input at any byte, or draining @out at any point,
 * gives the same output bytes and the same events. */
RB_MUST_CHECK int ws_decode(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *used,
                            struct ws_buf *out);

/* Writes the frame to send for the latest WS_EV_PONG, WS_EV_CLOSE or error
 * into @dst (for a pong, before the next ws_decode(), which may reuse it): the pong echoing the
 * ping's payload; the close echoing the client's code and reason (an empty close for an empty one,
 * 1007 for a reason that is not UTF-8, 1002 for a code no endpoint may send); a close with the
 * error's code and text. Server side frames are unmasked; client side ones carry a zero mask key.
 * Returns its length, 0 if there is none. */
size_t ws_decoder_reply(const struct ws_decoder *d, uint8_t dst[WS_CONTROL_FRAME_MAX]);

/* The close code and text nats-server (or ringbus, where nats-server has
 * none) sends for enum ws_err @err. */
uint16_t ws_err_close_code(int err);
const char *ws_err_text(int err);

/* Writes an unmasked (server) frame header into @dst for a payload of @len
 * bytes; @op is WS_OP_CONT for the later frames of a fragmented message,
 * @rsv1 marks the first frame of a compressed message. Returns 2, 4 or 10.
 * nats-server sends NATS bytes in binary frames. */
size_t ws_frame_head(uint8_t dst[WS_FRAME_HEAD_MAX], enum ws_opcode op, size_t len, bool fin,
                     bool rsv1);

/* The same with the mask bit and @key (client frames): returns 6, 8 or 14. */
size_t ws_frame_head_masked(uint8_t dst[WS_FRAME_HEAD_MAX], enum ws_opcode op, size_t len, bool fin,
                            bool rsv1, const uint8_t key[4]);

/* XORs @buf/@len with @key, starting at key byte @pos % 4 (the offset of
 * @buf in the frame's payload). Masking and unmasking are the same. */
void ws_mask(uint8_t *buf, size_t len, const uint8_t key[4], size_t pos);

/* The same while copying @len bytes from @src to @dst: one pass over the
 * bytes where a copy and ws_mask() take two. @dst may overlap @src if it
 * starts at or before it (unmasking in place, bytes moving down). */
void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t pos);

/* Writes an unmasked close frame with @code and @reason/@reason_len into
 * @dst; a reason longer than 123 bytes is cut to 120 and "..." as
 * nats-server does. Returns its length (at most 127), or 0 if it does not
 * fit in @cap. */
size_t ws_frame_close(uint8_t *dst, size_t cap, uint16_t code, const char *reason,
                      size_t reason_len);

/* Writes an unmasked pong frame echoing @payload/@len (at most 125 bytes).
 * Returns its length, or 0 if it does not fit or @len is too long. */
size_t ws_frame_pong(uint8_t *dst, size_t cap, const uint8_t *payload, size_t len);

/* ---- permessage-deflate, sending side (ws_deflate.c) ---- */

/* A compressor with no context takeover: each message stands alone.
 * Owner: the thread that owns the connection. Fields are private. */
struct ws_deflate {
	struct z_stream_s *z; /* owned */
};

/* Initialises @d at zlib @level (nats-server uses 1, best speed). Returns 0,
 * -ENOMEM, or -EINVAL for a bad level. */
RB_MUST_CHECK int ws_deflate_init(struct ws_deflate *d, int level);

/* Frees the compressor. @d may be initialised again afterwards. */
void ws_deflate_fini(struct ws_deflate *d);

/* Bytes that always hold the compressed form of @len bytes. */
size_t ws_deflate_bound(size_t len);

/* Compresses the message made of @iov/@iovcnt (borrowed) into @dst/@cap,
 * without the 00 00 ff ff tail (RFC 7692 section 7.2.1), ready for a frame
 * with RSV1. Sets *@out_len. Returns 0, -ENOBUFS when @cap is too small
 * (ws_deflate_bound() of the total is enough), or -EIO. */
RB_MUST_CHECK int ws_deflate_message(struct ws_deflate *d, const struct iovec *iov, int iovcnt,
                                     uint8_t *dst, size_t cap, size_t *out_len);

#endif /* IO_WS_WS_H */
