/* Private to io/proto*.c: fast paths for each side's most common operation,
 * a whole plain PUB on the server side, a MSG or HMSG on the client side
 * and a message without queue groups on route and leaf links. Inline in a header so that
 * proto_parse()'s loop takes it without a call (proto.c) and proto_parse_one() too (proto_parse.c,
 * where the carry and tests/fuzz/fuzz_proto.c reach it). */
#ifndef IO_PROTO_PROTO_FAST_H
#define IO_PROTO_PROTO_FAST_H

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "io/proto/proto_int.h"

/* "pub " with its three letters in either case, as one little- or big-endian
 * word, and the bits that fold those letters (not the blank: 0x00 | 0x20
 * would pass for it). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PUB_WORD 0x20627570u
#define MSG_WORD 0x2067736du
#define PUB_FOLD 0x00202020u
#else
#define PUB_WORD 0x70756220u
#define MSG_WORD 0x6d736720u
#define PUB_FOLD 0x20202000u
#endif

/* The first field separator (blank, \r or \n) in s[@i, @lim), or @lim; @n
 * bounds what may be read. 16 bytes a turn where they can be read (x86-64
 * always has SSE2): a field is mostly found in one turn, with no branch per
 * byte to mispredict at its end. */
static inline size_t field_end(const char *s, size_t i, size_t lim, size_t n)
{
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

	while (i < lim && i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i b = _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, tab));
		__m128i c = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
		unsigned bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(b, c));
		if (bits) {
			i += (size_t)__builtin_ctz(bits);
			return i < lim ? i : lim;
		}
		i += 16;
	}
	if (i >= lim)
		return lim;
#else
	(void)n;
#endif
	while (i < lim && !proto_sep_class[(uint8_t)s[i]])
		i++;
	return i;
}

/* The fields of a control line whose arguments start at @i: each after one
 * space, at most @most, nothing but a field separator ending each, the
 * line's \r\n before @lim. Returns how many, with *@end at the \r, or 0
 * for anything else (then the general path decides). */
static inline int fast_fields(const char *s, size_t n, size_t i, size_t lim, struct proto_span *fl,
                              int most, size_t *end)
{
	int nf = 0;
	for (;;) {
		size_t st = i;
		i = field_end(s, i, lim, n);
		if (i == st || i == lim || nf == most)
			return 0;
		fl[nf++] = proto_span_at(s + st, i - st);
		if (s[i] != ' ')
			break;
		i++;
	}
	if (s[i] != '\r' || s[i + 1] != '\n')
		return 0;
	*end = i;
	return nf;
}

/* A message of @size bytes after the line ending at @cr (its \r): whole
 * and followed by \r\n within @n bytes? Sets the frame's payload and
 * *@used, and every other field as the general path's memset leaves it,
 * one store each: a compound literal for the frame became a rep stos (a
 * third of the time), and chained assignments a store reloaded as a wider
 * load. The caller then sets what its operation has. */
static inline bool fast_message(const char *s, size_t n, size_t cr, int64_t size,
                                struct proto_frame *f, size_t *used)
{
	size_t le = cr + 2, total = le + (size_t)size + 2;
	if (total > n || s[total - 2] != '\r' || s[total - 1] != '\n')
		return false;
	const struct proto_span none = {NULL, 0};
	f->reply = none;
	f->queue = none;
	f->sid = none;
	f->arg = none;
	f->payload = proto_span_at(s + le, (size_t)size);
	f->account = none;
	f->origin = none;
	f->queues = none;
	f->hdr_len = 0;
	f->weight = 0;
	f->max_msgs = 0;
	*used = total;
	return true;
}

/* A message line's fields after its operation's @at bytes ("MSG ",
 * "HMSG "...): within max_control, at least @least and at most @most
 * fields, the last @sizes of them (1 or 2) its sizes (the header's, then
 * the total), and the whole message behind it. Returns the fields' count
 * with *@f's payload, hdr_len and *@used set, or 0. */
static inline int fast_msg_fields(const struct proto_parser *p, const char *s, size_t n, size_t at,
                                  struct proto_span *fl, int least, int most, int sizes,
                                  struct proto_frame *f, size_t *used)
{
	size_t cr, lim = n - 1;
	if (lim > (size_t)p->max_control + at + 1)
		lim = (size_t)p->max_control + at + 1;
	int nf = fast_fields(s, n, at, lim, fl, most, &cr);
	if (nf < least)
		return 0;
	int64_t hdr = sizes == 2 ? proto_parse_size(fl[nf - 2]) : 0;
	int64_t size = proto_parse_size(fl[nf - 1]);
	if (hdr < 0 || size < 0 || hdr > size || size > (int64_t)p->max_payload ||
	    !fast_message(s, n, cr, size, f, used))
		return 0;
	f->hdr_len = (uint32_t)hdr;
	return nf;
}

/* Server side, the common case: a whole "PUB <subject> [reply] <size>\r\n
 * <payload>\r\n" with one space before each field, no tab, \r or \n inside
 * the line, a size of 1 to 9 digits within max_payload and a line within
 * max_control. The line is scanned once, without memchr or a field split.
 * Returns 1 with *@f and *@used set exactly as proto_parse_general() sets
 * them for such input, or 0 for anything else, which it then parses: errors,
 * partial input and every unusual form keep their one definition there. */
static inline int proto_pub_fast(const struct proto_parser *p, const char *s, size_t n,
                                 struct proto_frame *f, size_t *used)
{
	struct proto_span fl[3];
	size_t lim, cr;
	uint32_t w;

	if (n < 11) /* "PUB a 0\r\n\r\n" */
		return 0;
	memcpy(&w, s, sizeof(w));
	if ((w | PUB_FOLD) != PUB_WORD)
		return 0;
	/* The line's \r must come before lim: with a byte after it, and at most
	 * max_control argument bytes before it. */
	lim = n - 1;
	if (lim > (size_t)p->max_control + 5)
		lim = (size_t)p->max_control + 5;
	int nf = fast_fields(s, n, 4, lim, fl, 3, &cr);
	if (nf < 2)
		return 0;
	int64_t size = proto_parse_size(fl[nf - 1]);
	if (size < 0 || size > (int64_t)p->max_payload || !fast_message(s, n, cr, size, f, used))
		return 0;
	f->op = PROTO_OP_PUB;
	f->subject = fl[0];
	if (nf == 3)
		f->reply = fl[1];
	return 1;
}

/* "rmsg", "lmsg", "hmsg" as words like PUB_WORD, and the fold of four
 * letters. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RMSG_WORD 0x67736d72u
#define LMSG_WORD 0x67736d6cu
#define HMSG_WORD 0x67736d68u
#else
#define RMSG_WORD 0x726d7367u
#define LMSG_WORD 0x6c6d7367u
#define HMSG_WORD 0x686d7367u
#endif
#define FOLD4 0x20202020u

/* Route and leaf sides, the common case: a whole message without queue
 * groups — on a route "RMSG <account> <subject> [reply] <size>" or "HMSG
 * <account> <subject> [reply] <hdr> <size>", on a leaf link the same without
 * the account and LMSG for RMSG — with proto_pub_fast()'s conditions on the
 * line (one space before each field, nothing unusual, within max_control)
 * and the payload. A route's LMSG (a leaf's message relayed, with its
 * origin) and anything with a queue list go to the general path, as does
 * everything proto_pub_fast() leaves there. Returns 1 with *@f and *@used
 * set exactly as proto_parse_general() sets them, or 0. */
static inline int proto_peer_msg_fast(const struct proto_parser *p, const char *s, size_t n,
                                      struct proto_frame *f, size_t *used)
{
	struct proto_span fl[5];
	uint32_t w;
	int sizes = 1;
	bool route = p->side == PROTO_SIDE_ROUTE;
	enum proto_op op = route ? PROTO_OP_RMSG : PROTO_OP_LMSG;

	if (n < 12 || s[4] != ' ') /* "LMSG a 0\r\n\r\n" */
		return 0;
	memcpy(&w, s, sizeof(w));
	w |= FOLD4;
	if (w == HMSG_WORD) {
		op = PROTO_OP_RHMSG;
		sizes = 2;
	} else if (w != (route ? RMSG_WORD : LMSG_WORD)) {
		return 0;
	}
	int lead = route ? 2 : 1;
	int nf = fast_msg_fields(p, s, n, 5, fl, lead + sizes, lead + 1 + sizes, sizes, f, used);
	if (!nf)
		return 0;
	f->op = op;
	f->subject = fl[lead - 1];
	if (nf == lead + sizes + 1)
		f->reply = fl[lead];
	if (route)
		f->account = fl[0];
	return 1;
}

/* Client side (what ringbus-load and the tests' clients read): a whole
 * "MSG <subject> <sid> [reply] <size>" or "HMSG <subject> <sid> [reply]
 * <hdr> <size>" with proto_pub_fast()'s conditions on the line and the
 * payload. Returns 1 with *@f and *@used set exactly as
 * proto_parse_general() sets them, or 0. */
static inline int proto_client_msg_fast(const struct proto_parser *p, const char *s, size_t n,
                                        struct proto_frame *f, size_t *used)
{
	struct proto_span fl[5];
	size_t at = 4;
	uint32_t w;
	int sizes = 1;
	enum proto_op op = PROTO_OP_MSG;

	if (n < 13) /* "MSG a 1 0\r\n\r\n" */
		return 0;
	memcpy(&w, s, sizeof(w));
	if ((w | FOLD4) == HMSG_WORD && s[4] == ' ') {
		op = PROTO_OP_HMSG;
		sizes = 2;
		at = 5;
	} else if ((w | PUB_FOLD) != MSG_WORD) {
		return 0;
	}
	int nf = fast_msg_fields(p, s, n, at, fl, 2 + sizes, 3 + sizes, sizes, f, used);
	if (!nf)
		return 0;
	f->op = op;
	f->subject = fl[0];
	f->sid = fl[1];
	if (nf == 3 + sizes)
		f->reply = fl[2];
	return 1;
}

/* The fast path of @p's side, if it has one (see the three above). */
static inline int proto_fast(const struct proto_parser *p, const char *s, size_t n,
                             struct proto_frame *f, size_t *used)
{
	if (p->side == PROTO_SIDE_SERVER)
		return proto_pub_fast(p, s, n, f, used);
	if (p->side == PROTO_SIDE_CLIENT)
		return proto_client_msg_fast(p, s, n, f, used);
	if (p->side == PROTO_SIDE_ROUTE || p->side == PROTO_SIDE_LEAF)
		return proto_peer_msg_fast(p, s, n, f, used);
	return 0;
}

#endif /* IO_PROTO_PROTO_FAST_H */
