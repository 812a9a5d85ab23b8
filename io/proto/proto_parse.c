/* The NATS control-line grammar: one operation parsed from contiguous bytes,
 * with nats-server 2.9.10's rules for names, blanks, sizes and limits (the
 * probes are listed in tests/io/test_proto.c), and the arguments of client
 * and server operations (route and leaf ones: proto_route.c). No state, no
 * copies. */
#include "io/proto/proto_int.h"

#include <cjson/cJSON.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The most fields of a client or server operation (HMSG with a reply). */
#define FIELDS_MAX 5

/* A partial argument is over the limit once it cannot end within it: more than
 * max_control bytes after discounting one for a carriage return (nats-server
 * drops one byte from an argument that contains one). */
int proto_partial_arg_check(const struct proto_parser *p, const char *s, size_t as, size_t n)
{
	size_t region = n - as, max = p->max_control;

	if (region > max + 1)
		return PROTO_ERR_CONTROL_LINE;
	if (region == max + 1 && !memchr(s + as + 1, '\r', region - 1))
		return PROTO_ERR_CONTROL_LINE;
	return 0;
}

/* Server side: a client's INFO is accepted and ignored when its JSON is an
 * object (or null), as nats-server's decode into its Info struct does. */
static bool info_json_ok(const char *s, size_t n)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
	bool ok = j && (cJSON_IsObject(j) || cJSON_IsNull(j));

	cJSON_Delete(j);
	if (!ok || !end)
		return false;
	for (; end < s + n; end++)
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
			return false;
	return true;
}

/* The arguments of PUB, HPUB, MSG and HMSG: subject, the sid (MSG, HMSG),
 * an optional reply, the header length (HPUB, HMSG) and the total size. */
static int parse_msg_args(const struct proto_parser *p, int op, const char *s, size_t n, size_t as,
                          size_t ae, size_t le, struct proto_frame *f, size_t *used,
                          struct proto_scan *sc)
{
	struct proto_span fl[FIELDS_MAX];
	bool with_sid = op == PROTO_OP_MSG || op == PROTO_OP_HMSG;
	bool with_hdr = op == PROTO_OP_HPUB || op == PROTO_OP_HMSG;
	int fixed = 2 + with_sid + with_hdr; /* without the optional reply */
	int nf = proto_split_fields(s, as, ae, fl, fixed + 1, false);
	if (nf != fixed && nf != fixed + 1)
		return PROTO_ERR_BAD_ARGS;
	int i = 0;
	f->subject = fl[i++];
	if (with_sid)
		f->sid = fl[i++];
	if (nf == fixed + 1)
		f->reply = fl[i++];
	int64_t hdr = with_hdr ? proto_parse_size(fl[i++]) : 0;
	int64_t size = proto_parse_size(fl[i]);
	if (hdr < 0 || size < 0 || hdr > size)
		return PROTO_ERR_BAD_ARGS;
	f->hdr_len = (uint32_t)hdr;
	return proto_take_payload(p, s, n, le, size, f, used, sc);
}

/* Interprets the arguments s[@as, @ae) of a complete control line ending at
 * @le (one past its newline). */
static int parse_args(const struct proto_parser *p, const struct proto_op_desc *d, const char *s,
                      size_t n, size_t as, size_t ae, size_t le, struct proto_frame *f,
                      size_t *used, struct proto_scan *sc)
{
	struct proto_span fl[FIELDS_MAX];
	int nf;

	memset(f, 0, sizeof(*f));
	f->op = (enum proto_op)d->op;
	*used = le;
	switch (d->op) {
	case PROTO_OP_CONNECT:
		f->arg = proto_span_at(s + as, ae - as);
		return 1;
	case PROTO_OP_INFO:
		if (d->skip)
			return info_json_ok(s + as, ae - as) ? PROTO_R_SKIP : PROTO_ERR_BAD_ARGS;
		f->arg = proto_span_at(s + as, ae - as);
		return 1;
	case PROTO_OP_ERR:
		if (p->side == PROTO_SIDE_SERVER)
			return PROTO_ERR_BAD_ARGS; /* nats-server closes, no -ERR back */
		while (ae > as && proto_is_blank(s[ae - 1]))
			ae--;
		if (ae > as && s[as] == '\'')
			as++;
		if (ae > as && s[ae - 1] == '\'')
			ae--;
		f->arg = proto_span_at(s + as, ae - as);
		return 1;
	case PROTO_OP_SUB:
		nf = proto_split_fields(s, as, ae, fl, 3, true);
		if (nf != 2 && nf != 3)
			return PROTO_ERR_BAD_ARGS;
		f->subject = fl[0];
		if (nf == 3)
			f->queue = fl[1];
		f->sid = fl[nf - 1];
		return 1;
	case PROTO_OP_UNSUB:
		nf = proto_split_fields(s, as, ae, fl, 2, true);
		if (nf != 1 && nf != 2)
			return PROTO_ERR_BAD_ARGS;
		f->sid = fl[0];
		/* a max that is not a size means none, as in nats-server */
		if (nf == 2) {
			int64_t max = proto_parse_size(fl[1]);
			if (max > 0)
				f->max_msgs = (uint64_t)max;
		}
		return 1;
	case PROTO_OP_PUB:
	case PROTO_OP_HPUB:
	case PROTO_OP_MSG:
	case PROTO_OP_HMSG:
		return parse_msg_args(p, d->op, s, n, as, ae, le, f, used, sc);
	case PROTO_OP_RS_PLUS:
	case PROTO_OP_RS_MINUS:
	case PROTO_OP_LS_PLUS:
	case PROTO_OP_LS_MINUS:
		return proto_route_interest(p, d->op, s, as, ae, f);
	case PROTO_OP_RMSG:
	case PROTO_OP_RHMSG:
	case PROTO_OP_LMSG:
		return proto_route_msg(p, d->op, s, n, as, ae, le, f, used, sc);
	default:
		return PROTO_ERR_UNKNOWN_OP;
	}
}

/* The general path (see proto_int.h): the grammar for every operation and
 * every form of it, one operation from the contiguous bytes @s/@n. Pure: the
 * carry is not touched. */
int proto_parse_general(const struct proto_parser *p, const char *s, size_t n,
                        struct proto_frame *f, size_t *used, struct proto_scan *sc)
{
	const struct proto_op_desc *d;
	const char *nl;
	size_t i, e, ae;
	int r;

	sc->oplen = 0;
	sc->need = 0;
	r = proto_op_match(p->side, s, n, &d);
	if (r <= 0)
		return r;
	sc->oplen = d->len;
	sc->cls = d->cls;
	i = d->len;
	if (d->cls == PROTO_CLS_BARE) {
		nl = memchr(s + i, '\n', n - i);
		if (!nl)
			return 0;
		*used = (size_t)(nl - s) + 1;
		if (d->skip)
			return PROTO_R_SKIP;
		memset(f, 0, sizeof(*f));
		f->op = (enum proto_op)d->op;
		return 1;
	}
	if (d->cls == PROTO_CLS_SEP) {
		if (i == n) {
			sc->as = n;
			return 0;
		}
		if (!proto_is_blank(s[i]))
			return PROTO_ERR_UNKNOWN_OP;
		i++;
	}
	while (i < n && proto_is_blank(s[i]))
		i++;
	sc->as = i;
	/* The first argument byte may itself be a newline (nats-server takes it
	 * as the start of the argument), so the line ends at a later one. */
	nl = i + 1 < n ? memchr(s + i + 1, '\n', n - i - 1) : NULL;
	if (!nl)
		return i < n ? proto_partial_arg_check(p, s, i, n) : 0;
	e = (size_t)(nl - s);
	/* nats-server drops the last byte of an argument holding a carriage
	 * return anywhere after its first byte: normally the one before \n. */
	ae = e;
	if (s[e - 1] == '\r' && e - 1 > i)
		ae = e - 1;
	else if (e - i > 2 && memchr(s + i + 1, '\r', e - i - 2))
		ae = e - 1;
	if (ae - i > p->max_control)
		return PROTO_ERR_CONTROL_LINE;
	return parse_args(p, d, s, n, i, ae, e + 1, f, used, sc);
}

/* "pub " with its three letters in either case, as one little- or big-endian
 * word, and the bits that fold those letters (not the blank: 0x00 | 0x20
 * would pass for it). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PUB_WORD 0x20627570u
#define PUB_FOLD 0x00202020u
#else
#define PUB_WORD 0x70756220u
#define PUB_FOLD 0x20202000u
#endif

/* The size of a PUB's last field by nats-server's rule, -1 if not one. Here
 * so the fast path need not call across files for a few digits. */
static inline int64_t fast_size(struct proto_span f)
{
	int64_t v = 0;

	if (f.len == 0 || f.len > 9)
		return -1;
	for (uint32_t i = 0; i < f.len; i++) {
		unsigned d = (unsigned)(unsigned char)f.ptr[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

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

/* Server side, the common case: a whole "PUB <subject> [reply] <size>\r\n
 * <payload>\r\n" with one space before each field, no tab, \r or \n inside
 * the line, a size of 1 to 9 digits within max_payload and a line within
 * max_control. The line is scanned once, without memchr or a field split.
 * Returns 1 with *@f and *@used set exactly as proto_parse_general() sets
 * them for such input, or 0 for anything else, which it then parses: errors,
 * partial input and every unusual form keep their one definition there. */
static int pub_fast(const struct proto_parser *p, const char *s, size_t n, struct proto_frame *f,
                    size_t *used)
{
	struct proto_span fl[3];
	size_t i = 4, lim, st;
	uint32_t w;
	int nf = 0;

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
	for (;;) {
		st = i;
		i = field_end(s, i, lim, n);
		if (i == st || i == lim || nf == 3)
			return 0;
		fl[nf++] = proto_span_at(s + st, i - st);
		if (s[i] != ' ')
			break;
		i++;
	}
	if (nf < 2 || s[i] != '\r' || s[i + 1] != '\n')
		return 0;
	int64_t size = fast_size(fl[nf - 1]);
	if (size < 0 || size > (int64_t)p->max_payload)
		return 0;
	size_t le = i + 2, total = le + (size_t)size + 2;
	if (total > n || s[total - 2] != '\r' || s[total - 1] != '\n')
		return 0;
	/* Every field defined as the general path's memset leaves it, one store
	 * each: a compound literal for the frame became a rep stos (a third of
	 * the time), and chained assignments a store reloaded as a wider load. */
	const struct proto_span none = {NULL, 0};
	f->op = PROTO_OP_PUB;
	f->subject = fl[0];
	f->reply = nf == 3 ? fl[1] : none;
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
	return 1;
}

int proto_parse_one(const struct proto_parser *p, const char *s, size_t n, struct proto_frame *f,
                    size_t *used, struct proto_scan *sc)
{
	if (p->side == PROTO_SIDE_SERVER && pub_fast(p, s, n, f, used))
		return 1;
	return proto_parse_general(p, s, n, f, used, sc);
}
