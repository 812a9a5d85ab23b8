/* WebSocket frame encoders: heads written apart from their payload (so the
 * payload goes out without a copy), masking, and the small control frames a
 * server sends (close, pong). */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "io/ws/ws.h"

#define B0_FIN  0x80u
#define B0_RSV1 0x40u
#define B1_MASK 0x80u

/* Writes the head without a mask key; @mask_bit is B1_MASK or 0. */
static size_t head(uint8_t *dst, enum ws_opcode op, size_t len, bool fin, bool rsv1,
                   uint8_t mask_bit)
{
	size_t n;

	dst[0] = (uint8_t)((unsigned)op | (fin ? B0_FIN : 0) | (rsv1 ? B0_RSV1 : 0));
	if (len <= WS_CONTROL_MAX) {
		dst[1] = (uint8_t)(mask_bit | len);
		return 2;
	}
	if (len <= UINT16_MAX) {
		dst[1] = (uint8_t)(mask_bit | 126);
		n = 2;
	} else {
		dst[1] = (uint8_t)(mask_bit | 127);
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		dst[2 + i] = (uint8_t)((uint64_t)len >> (8 * (n - 1 - i)));
	return 2 + n;
}

size_t ws_frame_head(uint8_t dst[WS_FRAME_HEAD_MAX], enum ws_opcode op, size_t len, bool fin,
                     bool rsv1)
{
	return head(dst, op, len, fin, rsv1, 0);
}

size_t ws_frame_head_masked(uint8_t dst[WS_FRAME_HEAD_MAX], enum ws_opcode op, size_t len, bool fin,
                            bool rsv1, const uint8_t key[4])
{
	size_t n = head(dst, op, len, fin, rsv1, B1_MASK);

	memcpy(dst + n, key, 4);
	return n + 4;
}

void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t pos)
{
	uint8_t k16[16];
	size_t i = 0;

	for (size_t j = 0; j < sizeof(k16); j++)
		k16[j] = key[(pos + j) & 3u];
#ifdef __SSE2__
	/* 32 bytes a turn in two vector registers (x86-64 always has SSE2). */
	__m128i k = _mm_loadu_si128((const __m128i *)k16);
	for (; i + 32 <= len; i += 32) {
		__m128i a = _mm_loadu_si128((const __m128i *)(src + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
		_mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
		_mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
	}
#endif
	uint64_t k8, w;
	memcpy(&k8, k16, sizeof(k8));
	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, src + i, sizeof(w));
		w ^= k8;
		memcpy(dst + i, &w, sizeof(w));
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ k16[i & 15u];
}

void ws_mask(uint8_t *buf, size_t len, const uint8_t key[4], size_t pos)
{
	ws_mask_copy(buf, buf, len, key, pos); /* in place: allowed */
}

size_t ws_frame_close(uint8_t *dst, size_t cap, uint16_t code, const char *reason,
                      size_t reason_len)
{
	size_t body = reason_len > WS_CONTROL_MAX - 2 ? WS_CONTROL_MAX - 2 : reason_len;
	size_t n = 2 + 2 + body;

	if (cap < n)
		return 0;
	head(dst, WS_OP_CLOSE, 2 + body, true, false, 0);
	dst[2] = (uint8_t)(code >> 8);
	dst[3] = (uint8_t)code;
	if (body < reason_len) { /* nats-server: cut, and "..." to say so */
		memcpy(dst + 4, reason, body - 3);
		memcpy(dst + 4 + body - 3, "...", 3);
	} else if (body) {
		memcpy(dst + 4, reason, body);
	}
	return n;
}

size_t ws_frame_pong(uint8_t *dst, size_t cap, const uint8_t *payload, size_t len)
{
	if (len > WS_CONTROL_MAX || cap < 2 + len)
		return 0;
	head(dst, WS_OP_PONG, len, true, false, 0);
	if (len)
		memcpy(dst + 2, payload, len);
	return 2 + len;
}
