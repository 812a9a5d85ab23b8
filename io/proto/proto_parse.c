/* The NATS control-line grammar: one operation parsed from contiguous bytes,
 * with nats-server 2.9.10's rules for names, blanks, sizes and limits (the
 * probes are listed in tests/io/test_proto.c). No state, no copies. */
#include "io/proto/proto_int.h"

#include <cjson/cJSON.h>
#include <string.h>

/* nats-server reads sizes of 1 to 9 decimal digits, nothing else. */
#define SIZE_DIGITS_MAX 9u
#define FIELDS_MAX      5

#define OPD(n, o, c, s)                                                                            \
	{                                                                                          \
		n, (uint8_t)(sizeof(n) - 1), (uint8_t)(o), (uint8_t)(c), s                         \
	}

static const struct proto_op_desc srv_c[] = {
    OPD("connect", PROTO_OP_CONNECT, PROTO_CLS_OPT, false)};
static const struct proto_op_desc srv_p[] = {OPD("pub", PROTO_OP_PUB, PROTO_CLS_SEP, false),
                                             OPD("ping", PROTO_OP_PING, PROTO_CLS_BARE, false),
                                             OPD("pong", PROTO_OP_PONG, PROTO_CLS_BARE, false)};
static const struct proto_op_desc srv_h[] = {OPD("hpub", PROTO_OP_HPUB, PROTO_CLS_SEP, false)};
static const struct proto_op_desc srv_s[] = {OPD("sub", PROTO_OP_SUB, PROTO_CLS_SEP, false)};
static const struct proto_op_desc srv_u[] = {OPD("unsub", PROTO_OP_UNSUB, PROTO_CLS_SEP, false)};
static const struct proto_op_desc srv_i[] = {OPD("info", PROTO_OP_INFO, PROTO_CLS_OPT, true)};
static const struct proto_op_desc srv_plus[] = {OPD("+ok", PROTO_OP_OK, PROTO_CLS_BARE, true)};
static const struct proto_op_desc srv_minus[] = {OPD("-err", PROTO_OP_ERR, PROTO_CLS_SEP, false)};

static const struct proto_op_desc cli_i[] = {OPD("info", PROTO_OP_INFO, PROTO_CLS_OPT, false)};
static const struct proto_op_desc cli_m[] = {OPD("msg", PROTO_OP_MSG, PROTO_CLS_SEP, false)};
static const struct proto_op_desc cli_h[] = {OPD("hmsg", PROTO_OP_HMSG, PROTO_CLS_SEP, false)};
static const struct proto_op_desc cli_p[] = {OPD("ping", PROTO_OP_PING, PROTO_CLS_BARE, false),
                                             OPD("pong", PROTO_OP_PONG, PROTO_CLS_BARE, false)};
static const struct proto_op_desc cli_plus[] = {OPD("+ok", PROTO_OP_OK, PROTO_CLS_BARE, false)};
static const struct proto_op_desc cli_minus[] = {OPD("-err", PROTO_OP_ERR, PROTO_CLS_SEP, false)};

static inline struct proto_span span(const char *p, size_t n)
{
	return (struct proto_span){p, (uint32_t)n};
}

/* Matches the operation name at the start of @s. Returns 1 with *@d set, 0 when
 * @s is a proper prefix of a name, or PROTO_ERR_UNKNOWN_OP. Case-insensitive. */
int proto_op_match(enum proto_side side, const char *s, size_t n, const struct proto_op_desc **d)
{
	const struct proto_op_desc *t;
	size_t cnt;

	if (n == 0)
		return 0;
#define PICK(arr)                                                                                  \
	do {                                                                                       \
		t = (arr);                                                                         \
		cnt = RB_ARRAY_LEN(arr);                                                           \
	} while (0)
	if (side == PROTO_SIDE_SERVER) {
		switch (s[0] | 0x20) {
		case 'p':
			PICK(srv_p);
			break;
		case 's':
			PICK(srv_s);
			break;
		case 'c':
			PICK(srv_c);
			break;
		case 'h':
			PICK(srv_h);
			break;
		case 'u':
			PICK(srv_u);
			break;
		case 'i':
			PICK(srv_i);
			break;
		default:
			if (s[0] == '+')
				PICK(srv_plus);
			else if (s[0] == '-')
				PICK(srv_minus);
			else
				return PROTO_ERR_UNKNOWN_OP;
		}
	} else {
		switch (s[0] | 0x20) {
		case 'm':
			PICK(cli_m);
			break;
		case 'h':
			PICK(cli_h);
			break;
		case 'p':
			PICK(cli_p);
			break;
		case 'i':
			PICK(cli_i);
			break;
		default:
			if (s[0] == '+')
				PICK(cli_plus);
			else if (s[0] == '-')
				PICK(cli_minus);
			else
				return PROTO_ERR_UNKNOWN_OP;
		}
	}
#undef PICK
	/* Names sharing a first letter differ in the second, and every byte after
	 * the first is a letter, so folding with 0x20 cannot alias anything. */
	for (size_t k = 0; k < cnt; k++) {
		size_t m = n < t[k].len ? n : t[k].len;
		size_t i = 1;
		while (i < m && (s[i] | 0x20) == t[k].name[i])
			i++;
		if (i < m)
			continue;
		if (n < t[k].len)
			return 0;
		*d = &t[k];
		return 1;
	}
	return PROTO_ERR_UNKNOWN_OP;
}

/* nats-server's size rule: 1 to 9 digits, else -1. */
static int64_t parse_size(struct proto_span f)
{
	int64_t v = 0;

	if (f.len == 0 || f.len > SIZE_DIGITS_MAX)
		return -1;
	for (uint32_t i = 0; i < f.len; i++) {
		unsigned d = (unsigned)(unsigned char)f.ptr[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

/* Byte classes for splitting arguments: 1 blank, 2 carriage return or newline. */
static const uint8_t sep_class[256] = {[' '] = 1, ['\t'] = 1, ['\r'] = 2, ['\n'] = 2};

/* Splits @s[@a, @e) into at most @max fields on runs of spaces and tabs (and,
 * with @crlf, carriage returns and newlines: nats-server splits SUB and UNSUB
 * arguments that way, PUB and HPUB only on blanks). Returns the count, or -1
 * when there are more than @max. */
static int split_fields(const char *s, size_t a, size_t e, struct proto_span *f, int max, bool crlf)
{
	const uint8_t mask = crlf ? 3 : 1;
	int nf = 0;
	size_t i = a;

	for (;;) {
		while (i < e && (sep_class[(uint8_t)s[i]] & mask))
			i++;
		if (i == e)
			return nf;
		size_t st = i;
		while (i < e && !(sep_class[(uint8_t)s[i]] & mask))
			i++;
		if (nf == max)
			return -1;
		f[nf++] = span(s + st, i - st);
	}
}

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

/* The payload of a PUB/HPUB/MSG/HMSG whose control line ends at @le. */
static int take_payload(const struct proto_parser *p, const char *s, size_t n, size_t le,
                        int64_t size, struct proto_frame *f, size_t *used, struct proto_scan *sc)
{
	if (size > (int64_t)p->max_payload)
		return PROTO_ERR_MAX_PAYLOAD;
	size_t sz = (size_t)size;
	size_t total = le + sz + 2;
	if (n < total) {
		sc->need = total;
		if (n > le + sz && s[le + sz] != '\r')
			return PROTO_ERR_UNKNOWN_OP;
		return 0;
	}
	if (s[le + sz] != '\r' || s[le + sz + 1] != '\n')
		return PROTO_ERR_UNKNOWN_OP;
	f->payload = span(s + le, sz);
	*used = total;
	return 1;
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
	int nf = split_fields(s, as, ae, fl, fixed + 1, false);
	if (nf != fixed && nf != fixed + 1)
		return PROTO_ERR_BAD_ARGS;
	int i = 0;
	f->subject = fl[i++];
	if (with_sid)
		f->sid = fl[i++];
	if (nf == fixed + 1)
		f->reply = fl[i++];
	int64_t hdr = with_hdr ? parse_size(fl[i++]) : 0;
	int64_t size = parse_size(fl[i]);
	if (hdr < 0 || size < 0 || hdr > size)
		return PROTO_ERR_BAD_ARGS;
	f->hdr_len = (uint32_t)hdr;
	return take_payload(p, s, n, le, size, f, used, sc);
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
		f->arg = span(s + as, ae - as);
		return 1;
	case PROTO_OP_INFO:
		if (d->skip)
			return info_json_ok(s + as, ae - as) ? PROTO_R_SKIP : PROTO_ERR_BAD_ARGS;
		f->arg = span(s + as, ae - as);
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
		f->arg = span(s + as, ae - as);
		return 1;
	case PROTO_OP_SUB:
		nf = split_fields(s, as, ae, fl, 3, true);
		if (nf != 2 && nf != 3)
			return PROTO_ERR_BAD_ARGS;
		f->subject = fl[0];
		if (nf == 3)
			f->queue = fl[1];
		f->sid = fl[nf - 1];
		return 1;
	case PROTO_OP_UNSUB:
		nf = split_fields(s, as, ae, fl, 2, true);
		if (nf != 1 && nf != 2)
			return PROTO_ERR_BAD_ARGS;
		f->sid = fl[0];
		/* a max that is not a size means none, as in nats-server */
		if (nf == 2) {
			int64_t max = parse_size(fl[1]);
			if (max > 0)
				f->max_msgs = (uint64_t)max;
		}
		return 1;
	case PROTO_OP_PUB:
	case PROTO_OP_HPUB:
	case PROTO_OP_MSG:
	case PROTO_OP_HMSG:
		return parse_msg_args(p, d->op, s, n, as, ae, le, f, used, sc);
	default:
		return PROTO_ERR_UNKNOWN_OP;
	}
}

/* Parses one operation from the contiguous bytes @s/@n. Returns 1 with *@f and
 * *@used set, PROTO_R_SKIP with *@used set, 0 when incomplete (*@sc says how far it
 * got), or a negative enum proto_err. Pure: the carry is not touched. */
int proto_parse_one(const struct proto_parser *p, const char *s, size_t n, struct proto_frame *f,
                    size_t *used, struct proto_scan *sc)
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
