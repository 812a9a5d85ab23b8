/* The streaming WebSocket frame decoder: frame heads checked as nats-server
 * 2.9.10 checks them, payloads unmasked (and inflated) into the caller's
 * buffer, control frames answered. Any split of the input gives the same
 * result: everything that spans two inputs is kept in the decoder. */
#include <stdio.h>
#include <string.h>

#include "io/ws/ws.h"
#include "io/ws/ws_int.h"

enum {
	WS_ST_HEAD = 0, /* reading a frame head */
	WS_ST_DATA,     /* a data frame's payload */
	WS_ST_CONTROL,  /* a control frame's payload, collected in ctl */
	WS_ST_TAIL,     /* a compressed message ended: inflating 00 00 ff ff */
	WS_ST_DONE,     /* closed or failed */
};

/* A step that cannot go on without more input (not returned to the caller). */
#define WS_NEED_INPUT 0x100

#define B0_FIN    0x80u
#define B0_RSV1   0x40u
#define B0_RSV23  0x30u
#define B1_MASK   0x80u
#define SCRATCH_N 4096u

static const uint8_t ws_tail[4] = {0x00, 0x00, 0xff, 0xff};

static const struct {
	uint16_t code;
	const char *text;
} ws_errs[] = {
    [-WS_ERR_NOT_MASKED] = {WS_CLOSE_PROTOCOL, "mask bit missing"},
    [-WS_ERR_MASKED] = {WS_CLOSE_PROTOCOL, "mask bit set"},
    [-WS_ERR_RESERVED_BITS] = {WS_CLOSE_PROTOCOL, "reserved bit set"},
    [-WS_ERR_CONTROL_LENGTH] = {WS_CLOSE_PROTOCOL,
                                "control frame length bigger than maximum allowed of 125 bytes"},
    [-WS_ERR_CONTROL_FIN] = {WS_CLOSE_PROTOCOL, "control frame does not have final bit set"},
    [-WS_ERR_NOT_FINAL] = {WS_CLOSE_PROTOCOL, "new message started before final frame for "
                                              "previous message was received"},
    [-WS_ERR_CONTINUATION] = {WS_CLOSE_PROTOCOL, "invalid continuation frame"},
    [-WS_ERR_OPCODE] = {WS_CLOSE_PROTOCOL, "unknown opcode"},
    [-WS_ERR_TOO_BIG] = {WS_CLOSE_TOO_BIG, "maximum message size exceeded"},
    [-WS_ERR_DEFLATE] = {WS_CLOSE_INVALID_DATA, "invalid compressed data"},
    [-WS_ERR_NOMEM] = {WS_CLOSE_INTERNAL, "out of memory"},
};

uint16_t ws_err_close_code(int err)
{
	if (err >= 0 || (size_t)-err >= RB_ARRAY_LEN(ws_errs))
		return WS_CLOSE_INTERNAL;
	return ws_errs[-err].code;
}

const char *ws_err_text(int err)
{
	if (err >= 0 || (size_t)-err >= RB_ARRAY_LEN(ws_errs))
		return "internal error";
	return ws_errs[-err].text;
}

int ws_decoder_init(struct ws_decoder *d, enum ws_side side, bool deflate, uint64_t max_message)
{
	memset(d, 0, sizeof(*d));
	d->side = (uint8_t)side;
	d->max_message = max_message;
	d->state = WS_ST_HEAD;
	d->head_need = 2;
	return deflate ? ws_inflate_new(&d->z) : 0;
}

void ws_decoder_fini(struct ws_decoder *d)
{
	ws_inflate_free(d->z);
	d->z = NULL;
}

/* Sets the reply payload to @code and @text, cut as nats-server cuts it. */
static void set_close(struct ws_decoder *d, uint16_t code, const char *text, size_t len)
{
	d->reply_op = WS_OP_CLOSE;
	d->ctl[0] = (uint8_t)(code >> 8);
	d->ctl[1] = (uint8_t)code;
	if (len > WS_CONTROL_MAX - 2) {
		memcpy(d->ctl + 2, text, WS_CONTROL_MAX - 5);
		memcpy(d->ctl + WS_CONTROL_MAX - 3, "...", 3);
		len = WS_CONTROL_MAX - 2;
	} else {
		memcpy(d->ctl + 2, text, len);
	}
	d->ctl_len = (uint8_t)(2 + len);
}

/* Finishes @d with @err and its close frame. Returns @err. */
static int fail(struct ws_decoder *d, int err)
{
	const char *text = ws_err_text(err);
	char buf[32];

	if (err == WS_ERR_OPCODE) {
		snprintf(buf, sizeof(buf), "%s %u", text, d->head[0] & 0x0fu);
		text = buf;
	}
	set_close(d, ws_err_close_code(err), text, strlen(text));
	d->status = err;
	d->state = WS_ST_DONE;
	return err;
}

/* Checks the first two bytes of a head and sets how long the head is.
 * Returns 0 or an enum ws_err; the checks go in nats-server's order. */
static int check_head(struct ws_decoder *d)
{
	uint8_t b0 = d->head[0], b1 = d->head[1], len7 = b1 & 0x7fu;
	bool masked = (b1 & B1_MASK) != 0, fin = (b0 & B0_FIN) != 0, rsv1 = (b0 & B0_RSV1) != 0;

	if (d->side == WS_SIDE_SERVER && !masked)
		return WS_ERR_NOT_MASKED;
	if (d->side == WS_SIDE_CLIENT && masked)
		return WS_ERR_MASKED;
	if (b0 & B0_RSV23)
		return WS_ERR_RESERVED_BITS;
	switch (b0 & 0x0fu) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (len7 > WS_CONTROL_MAX)
			return WS_ERR_CONTROL_LENGTH;
		if (!fin)
			return WS_ERR_CONTROL_FIN;
		if (rsv1)
			return WS_ERR_RESERVED_BITS;
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (d->in_message)
			return WS_ERR_NOT_FINAL;
		if (rsv1 && !d->z)
			return WS_ERR_RESERVED_BITS;
		break;
	case WS_OP_CONT:
		if (!d->in_message || rsv1) /* RSV1 goes on a message's first frame */
			return WS_ERR_CONTINUATION;
		break;
	default:
		return WS_ERR_OPCODE;
	}
	d->opcode = b0 & 0x0fu;
	d->fin = fin;
	d->head_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0));
	return 0;
}

/* The most compressed bytes a message may take. */
static uint64_t wire_limit(uint64_t max)
{
	return max > SIZE_MAX / 2 ? UINT64_MAX : ws_deflate_bound((size_t)max);
}

/* The head is complete: reads length and key, starts the payload. */
static int start_payload(struct ws_decoder *d)
{
	uint8_t len7 = d->head[1] & 0x7fu, *p = d->head + 2;
	uint64_t len = len7;

	if (len7 >= 126) {
		size_t n = len7 == 126 ? 2 : 8;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | *p++;
	}
	if (d->head[1] & B1_MASK)
		memcpy(d->key, p, 4);
	d->key_pos = 0;
	d->rem = len;
	d->head_len = 0;
	d->head_need = 2;
	if (d->opcode >= WS_OP_CLOSE) {
		d->ctl_len = 0;
		d->reply_op = 0;
		d->state = WS_ST_CONTROL;
		return 0;
	}
	if (d->opcode != WS_OP_CONT) {
		d->in_message = true;
		d->compressed = (d->head[0] & B0_RSV1) != 0;
		d->z_end = false;
		d->z_pending = false;
		d->msg_len = 0;
		d->wire_len = 0;
	}
	if (d->compressed ? len > wire_limit(d->max_message) - d->wire_len
	                  : len > d->max_message - d->msg_len)
		return fail(d, WS_ERR_TOO_BIG);
	d->state = WS_ST_DATA;
	return 0;
}

static int read_head(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *pos)
{
	size_t n = d->head_need - d->head_len;
	int rc;

	if (n > len - *pos)
		n = len - *pos;
	memcpy(d->head + d->head_len, in + *pos, n);
	d->head_len = (uint8_t)(d->head_len + n);
	*pos += n;
	if (d->head_len < d->head_need)
		return WS_NEED_INPUT;
	if (d->head_len == 2) {
		rc = check_head(d);
		if (rc < 0)
			return fail(d, rc);
		if (d->head_need > 2)
			return 0;
	}
	return start_payload(d);
}

/* Copies @n payload bytes from @src to @dst, unmasking them on the server side. */
static void take(struct ws_decoder *d, uint8_t *dst, const uint8_t *src, size_t n)
{
	if (d->side != WS_SIDE_SERVER) {
		memmove(dst, src, n); /* @dst may be at or before @src (ws_decode) */
		return;
	}
	ws_mask_copy(dst, src, n, d->key, d->key_pos);
	d->key_pos = (uint8_t)((d->key_pos + n) & 3u);
}

/* The message ended (its tail inflated, if compressed). */
static void end_message(struct ws_decoder *d)
{
	if (d->compressed)
		ws_inflate_reset(d->z);
	d->in_message = false;
	d->compressed = false;
	d->z_end = false;
	d->z_pending = false;
	d->msg_len = 0;
	d->wire_len = 0;
	d->state = WS_ST_HEAD;
}

static int end_data_frame(struct ws_decoder *d)
{
	d->state = WS_ST_HEAD;
	if (!d->fin)
		return 0;
	if (d->compressed) {
		d->tail_pos = 0;
		d->state = WS_ST_TAIL;
		return 0;
	}
	end_message(d);
	return 0;
}

/* Inflates @src/@n into @out, at most one byte beyond the message limit.
 * Sets *@consumed. Returns 0 or an enum ws_err (after failing @d). */
static int inflate_into(struct ws_decoder *d, const uint8_t *src, size_t n, size_t *consumed,
                        struct ws_buf *out)
{
	size_t room = out->cap - out->len, produced;
	uint64_t left = d->max_message - d->msg_len; /* msg_len <= max_message */
	int rc;

	if (left < UINT64_MAX && room > left + 1)
		room = (size_t)(left + 1);
	rc = ws_inflate_step(d->z, src, n, consumed, out->ptr + out->len, room, &produced);
	if (produced > left) { /* keep exactly max_message bytes, whatever the splits */
		out->len += (size_t)left;
		d->msg_len += left;
		return fail(d, WS_ERR_TOO_BIG);
	}
	/* What inflated before an error is given too: a split input gives it
	 * in earlier calls. */
	out->len += produced;
	d->msg_len += produced;
	d->z_pending = produced == room; /* zlib may hold more: flush before reading on */
	if (rc < 0)
		return fail(d, rc);
	if (rc == 1)
		d->z_end = true;
	if (*consumed == 0 && produced == 0 && !d->z_end && n > 0)
		return fail(d, WS_ERR_DEFLATE); /* cannot happen with room: never spin */
	return 0;
}

static int read_compressed(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *pos,
                           struct ws_buf *out)
{
	uint8_t scratch[SCRATCH_N];
	size_t n = len - *pos, consumed = 0;
	uint8_t key_pos = d->key_pos;
	int rc;

	if (n > d->rem)
		n = (size_t)d->rem;
	if (n > sizeof(scratch))
		n = sizeof(scratch);
	if (d->z_end) { /* bytes after a final deflate block are ignored, as Go does */
		consumed = n;
	} else {
		if (out->len == out->cap)
			return WS_EV_OUT_FULL;
		take(d, scratch, in + *pos, n);
		d->key_pos = key_pos; /* advanced below by what zlib took */
		rc = inflate_into(d, scratch, n, &consumed, out);
		if (rc < 0)
			return rc;
	}
	d->key_pos = (uint8_t)((key_pos + consumed) & 3u);
	*pos += consumed;
	d->rem -= consumed;
	d->wire_len += consumed;
	return 0;
}

static int read_data(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *pos,
                     struct ws_buf *out)
{
	size_t n = len - *pos;

	/* Output zlib holds is given before the frame ends or input runs out,
	 * as it would be with room enough. */
	if (d->compressed && d->z_pending && !d->z_end && (n == 0 || d->rem == 0)) {
		size_t consumed;
		if (out->len == out->cap)
			return WS_EV_OUT_FULL;
		return inflate_into(d, in, 0, &consumed, out);
	}
	if (d->rem == 0)
		return end_data_frame(d);
	if (n == 0)
		return WS_NEED_INPUT;
	if (d->compressed)
		return read_compressed(d, in, len, pos, out);
	if (out->len == out->cap)
		return WS_EV_OUT_FULL;
	if (n > d->rem)
		n = (size_t)d->rem;
	if (n > out->cap - out->len)
		n = out->cap - out->len;
	take(d, out->ptr + out->len, in + *pos, n);
	out->len += n;
	*pos += n;
	d->rem -= n;
	d->msg_len += n;
	return 0;
}

static int read_tail(struct ws_decoder *d, struct ws_buf *out)
{
	size_t consumed;
	int rc;

	if (!d->z_end) {
		if (out->len == out->cap)
			return WS_EV_OUT_FULL;
		rc = inflate_into(d, ws_tail + d->tail_pos, sizeof(ws_tail) - d->tail_pos,
		                  &consumed, out);
		if (rc < 0)
			return rc;
		d->tail_pos = (uint8_t)(d->tail_pos + consumed);
		/* Inflated output may wait behind a full buffer: ask again. */
		if (!d->z_end && (d->tail_pos < sizeof(ws_tail) || out->len == out->cap))
			return 0;
		if (!d->z_end && !ws_inflate_at_boundary(d->z))
			return fail(d, WS_ERR_DEFLATE); /* the message ended inside a block */
	}
	end_message(d);
	return 0;
}

static bool close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* Go's utf8.Valid: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t k = c < 0x80             ? 1
		           : (c & 0xe0) == 0xc0 ? 2
		           : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 ? 4
		                                : 0;
		if (k == 0 || i + k > n || (k == 2 && c < 0xc2) || (k == 4 && c > 0xf4))
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		if (k == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f)))
			return false;
		if (k == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f)))
			return false;
		i += k;
	}
	return true;
}

/* A close came (its payload in ctl): the reply echoes it when it is valid. */
static int on_close(struct ws_decoder *d)
{
	static const char bad_code[] = "invalid close status code";
	static const char bad_utf8[] = "invalid utf8 body in close frame";
	unsigned code = d->ctl_len >= 2 ? (unsigned)d->ctl[0] << 8 | d->ctl[1] : 0;

	d->reply_op = WS_OP_CLOSE;
	if (d->ctl_len == 1 || (d->ctl_len >= 2 && !close_code_valid(code)))
		set_close(d, WS_CLOSE_PROTOCOL, bad_code, sizeof(bad_code) - 1);
	else if (d->ctl_len > 2 && !utf8_valid(d->ctl + 2, d->ctl_len - 2u))
		set_close(d, WS_CLOSE_INVALID_DATA, bad_utf8, sizeof(bad_utf8) - 1);
	d->status = WS_EV_CLOSE;
	d->state = WS_ST_DONE;
	return WS_EV_CLOSE;
}

static int read_control(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *pos)
{
	size_t n = len - *pos;

	if (n > d->rem)
		n = (size_t)d->rem;
	take(d, d->ctl + d->ctl_len, in + *pos, n);
	d->ctl_len = (uint8_t)(d->ctl_len + n);
	*pos += n;
	d->rem -= n;
	if (d->rem > 0)
		return WS_NEED_INPUT;
	d->state = WS_ST_HEAD;
	switch (d->opcode) {
	case WS_OP_PING:
		d->reply_op = WS_OP_PONG;
		return WS_EV_PONG;
	case WS_OP_CLOSE:
		return on_close(d);
	default: /* a pong: nothing to do */
		return 0;
	}
}

int ws_decode(struct ws_decoder *d, const uint8_t *in, size_t len, size_t *used, struct ws_buf *out)
{
	size_t pos = 0;
	int rc = 0;

	while (rc == 0) {
		switch (d->state) {
		case WS_ST_HEAD:
			rc = pos < len ? read_head(d, in, len, &pos) : WS_NEED_INPUT;
			break;
		case WS_ST_DATA:
			rc = read_data(d, in, len, &pos, out);
			break;
		case WS_ST_CONTROL:
			rc = read_control(d, in, len, &pos);
			break;
		case WS_ST_TAIL:
			rc = read_tail(d, out);
			break;
		default:
			rc = d->status;
			break;
		}
	}
	*used = pos;
	return rc == WS_NEED_INPUT ? WS_EV_NONE : rc;
}

size_t ws_decoder_reply(const struct ws_decoder *d, uint8_t dst[WS_CONTROL_FRAME_MAX])
{
	static const uint8_t zero_key[4] = {0, 0, 0, 0};
	size_t n;

	if (d->reply_op == 0)
		return 0;
	if (d->side == WS_SIDE_CLIENT)
		n = ws_frame_head_masked(dst, (enum ws_opcode)d->reply_op, d->ctl_len, true, false,
		                         zero_key);
	else
		n = ws_frame_head(dst, (enum ws_opcode)d->reply_op, d->ctl_len, true, false);
	memcpy(dst + n, d->ctl, d->ctl_len);
	return n + d->ctl_len;
}
