/* The streaming NATS protocol parser: operations complete in the input are
 * returned as views into it; only a partial operation at its end is copied into
 * the parser's carry buffer. What counts as bad input, and the error it gets,
 * follows nats-server 2.9.10 (the probes are listed in tests/io/test_proto.c). */
#include "io/proto.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* An empty carry buffer larger than this is freed rather than kept. */
#define CARRY_KEEP_MAX (64u * 1024u)
/* Room for the longest partial control line the carry can hold: a name, one
 * blank, PROTO_MAX_CONTROL_LINE + 1 argument bytes and the newline. */
#define CARRY_LINE_CAP (PROTO_MAX_CONTROL_LINE + 64u)
/* nats-server reads sizes of 1 to 9 decimal digits, nothing else. */
#define SIZE_DIGITS_MAX 9u
#define FIELDS_MAX      5

/* parse_one() outcome besides 1 (a frame), 0 (need more) and errors: an
 * operation was consumed that the caller never sees (a client's +OK or INFO,
 * which nats-server accepts and ignores). */
#define R_SKIP 2

/* How an operation's name is followed. */
enum op_class {
	CLS_BARE, /* PING PONG +OK: anything up to the newline is ignored */
	CLS_SEP,  /* PUB HPUB SUB UNSUB MSG HMSG -ERR: a space or tab must follow */
	CLS_OPT,  /* CONNECT INFO: the argument may follow the name directly */
};

struct op_desc {
	const char *name; /* lower case */
	uint8_t len;
	uint8_t op;  /* enum proto_op */
	uint8_t cls; /* enum op_class */
	bool skip;   /* consumed silently (server side +OK, INFO) */
};

#define OPD(n, o, c, s)                                                                            \
	{                                                                                          \
		n, (uint8_t)(sizeof(n) - 1), (uint8_t)(o), (uint8_t)(c), s                         \
	}

static const struct op_desc srv_c[] = {OPD("connect", PROTO_OP_CONNECT, CLS_OPT, false)};
static const struct op_desc srv_p[] = {OPD("pub", PROTO_OP_PUB, CLS_SEP, false),
                                       OPD("ping", PROTO_OP_PING, CLS_BARE, false),
                                       OPD("pong", PROTO_OP_PONG, CLS_BARE, false)};
static const struct op_desc srv_h[] = {OPD("hpub", PROTO_OP_HPUB, CLS_SEP, false)};
static const struct op_desc srv_s[] = {OPD("sub", PROTO_OP_SUB, CLS_SEP, false)};
static const struct op_desc srv_u[] = {OPD("unsub", PROTO_OP_UNSUB, CLS_SEP, false)};
static const struct op_desc srv_i[] = {OPD("info", PROTO_OP_INFO, CLS_OPT, true)};
static const struct op_desc srv_plus[] = {OPD("+ok", PROTO_OP_OK, CLS_BARE, true)};
static const struct op_desc srv_minus[] = {OPD("-err", PROTO_OP_ERR, CLS_SEP, false)};

static const struct op_desc cli_i[] = {OPD("info", PROTO_OP_INFO, CLS_OPT, false)};
static const struct op_desc cli_m[] = {OPD("msg", PROTO_OP_MSG, CLS_SEP, false)};
static const struct op_desc cli_h[] = {OPD("hmsg", PROTO_OP_HMSG, CLS_SEP, false)};
static const struct op_desc cli_p[] = {OPD("ping", PROTO_OP_PING, CLS_BARE, false),
                                       OPD("pong", PROTO_OP_PONG, CLS_BARE, false)};
static const struct op_desc cli_plus[] = {OPD("+ok", PROTO_OP_OK, CLS_BARE, false)};
static const struct op_desc cli_minus[] = {OPD("-err", PROTO_OP_ERR, CLS_SEP, false)};

/* What parse_one() learnt about an incomplete operation. */
struct scan {
	size_t as;     /* where the arguments start (== input length if not yet) */
	size_t need;   /* whole frame length once a payload op's line is complete */
	uint8_t oplen; /* name length, 0 while the name is incomplete */
	uint8_t cls;
};

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline struct proto_span span(const char *p, size_t n)
{
	return (struct proto_span){p, (uint32_t)n};
}

/* Matches the operation name at the start of @s. Returns 1 with *@d set, 0 when
 * @s is a proper prefix of a name, or PROTO_ERR_UNKNOWN_OP. Case-insensitive. */
static int op_match(enum proto_side side, const char *s, size_t n, const struct op_desc **d)
{
	const struct op_desc *t;
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

/* Splits @s[@a, @e) into at most @max fields on runs of spaces and tabs (and,
 * with @crlf, carriage returns and newlines: nats-server splits SUB and UNSUB
 * arguments that way, PUB and HPUB only on blanks). Returns the count, or -1
 * when there are more than @max. */
static int split_fields(const char *s, size_t a, size_t e, struct proto_span *f, int max, bool crlf)
{
	int nf = 0;
	size_t i = a;

	for (;;) {
		while (i < e && (is_blank(s[i]) || (crlf && (s[i] == '\r' || s[i] == '\n'))))
			i++;
		if (i == e)
			return nf;
		size_t st = i;
		while (i < e && !is_blank(s[i]) && !(crlf && (s[i] == '\r' || s[i] == '\n')))
			i++;
		if (nf == max)
			return -1;
		f[nf++] = span(s + st, i - st);
	}
}

/* A partial argument is over the limit once it cannot end within it: more than
 * PROTO_MAX_CONTROL_LINE bytes after discounting one for a carriage return
 * (nats-server drops one byte from an argument that contains one). */
static int partial_arg_check(const char *s, size_t as, size_t n)
{
	size_t region = n - as;

	if (region > PROTO_MAX_CONTROL_LINE + 1)
		return PROTO_ERR_CONTROL_LINE;
	if (region == PROTO_MAX_CONTROL_LINE + 1 && !memchr(s + as + 1, '\r', region - 1))
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
                        int64_t size, struct proto_frame *f, size_t *used, struct scan *sc)
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

/* Interprets the arguments s[@as, @ae) of a complete control line ending at
 * @le (one past its newline). */
static int parse_args(const struct proto_parser *p, const struct op_desc *d, const char *s,
                      size_t n, size_t as, size_t ae, size_t le, struct proto_frame *f,
                      size_t *used, struct scan *sc)
{
	struct proto_span fl[FIELDS_MAX];
	int64_t size, hdr;
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
			return info_json_ok(s + as, ae - as) ? R_SKIP : PROTO_ERR_BAD_ARGS;
		f->arg = span(s + as, ae - as);
		return 1;
	case PROTO_OP_ERR:
		if (p->side == PROTO_SIDE_SERVER)
			return PROTO_ERR_BAD_ARGS; /* nats-server closes, no -ERR back */
		while (ae > as && is_blank(s[ae - 1]))
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
		if (nf == 2 && (size = parse_size(fl[1])) > 0)
			f->max_msgs = (uint64_t)size;
		return 1;
	case PROTO_OP_PUB:
		nf = split_fields(s, as, ae, fl, 3, false);
		if (nf != 2 && nf != 3)
			return PROTO_ERR_BAD_ARGS;
		f->subject = fl[0];
		if (nf == 3)
			f->reply = fl[1];
		if ((size = parse_size(fl[nf - 1])) < 0)
			return PROTO_ERR_BAD_ARGS;
		return take_payload(p, s, n, le, size, f, used, sc);
	case PROTO_OP_HPUB:
		nf = split_fields(s, as, ae, fl, 4, false);
		if (nf != 3 && nf != 4)
			return PROTO_ERR_BAD_ARGS;
		f->subject = fl[0];
		if (nf == 4)
			f->reply = fl[1];
		hdr = parse_size(fl[nf - 2]);
		size = parse_size(fl[nf - 1]);
		if (hdr < 0 || size < 0 || hdr > size)
			return PROTO_ERR_BAD_ARGS;
		f->hdr_len = (uint32_t)hdr;
		return take_payload(p, s, n, le, size, f, used, sc);
	case PROTO_OP_MSG:
		nf = split_fields(s, as, ae, fl, 4, false);
		if (nf != 3 && nf != 4)
			return PROTO_ERR_BAD_ARGS;
		f->subject = fl[0];
		f->sid = fl[1];
		if (nf == 4)
			f->reply = fl[2];
		if ((size = parse_size(fl[nf - 1])) < 0)
			return PROTO_ERR_BAD_ARGS;
		return take_payload(p, s, n, le, size, f, used, sc);
	case PROTO_OP_HMSG:
		nf = split_fields(s, as, ae, fl, 5, false);
		if (nf != 4 && nf != 5)
			return PROTO_ERR_BAD_ARGS;
		f->subject = fl[0];
		f->sid = fl[1];
		if (nf == 5)
			f->reply = fl[2];
		hdr = parse_size(fl[nf - 2]);
		size = parse_size(fl[nf - 1]);
		if (hdr < 0 || size < 0 || hdr > size)
			return PROTO_ERR_BAD_ARGS;
		f->hdr_len = (uint32_t)hdr;
		return take_payload(p, s, n, le, size, f, used, sc);
	default:
		return PROTO_ERR_UNKNOWN_OP;
	}
}

/* Parses one operation from the contiguous bytes @s/@n. Returns 1 with *@f and
 * *@used set, R_SKIP with *@used set, 0 when incomplete (*@sc says how far it
 * got), or a negative enum proto_err. Pure: the carry is not touched. */
static int parse_one(const struct proto_parser *p, const char *s, size_t n, struct proto_frame *f,
                     size_t *used, struct scan *sc)
{
	const struct op_desc *d;
	const char *nl;
	size_t i, e, ae;
	int r;

	sc->oplen = 0;
	sc->need = 0;
	r = op_match(p->side, s, n, &d);
	if (r <= 0)
		return r;
	sc->oplen = d->len;
	sc->cls = d->cls;
	i = d->len;
	if (d->cls == CLS_BARE) {
		nl = memchr(s + i, '\n', n - i);
		if (!nl)
			return 0;
		*used = (size_t)(nl - s) + 1;
		if (d->skip)
			return R_SKIP;
		memset(f, 0, sizeof(*f));
		f->op = (enum proto_op)d->op;
		return 1;
	}
	if (d->cls == CLS_SEP) {
		if (i == n) {
			sc->as = n;
			return 0;
		}
		if (!is_blank(s[i]))
			return PROTO_ERR_UNKNOWN_OP;
		i++;
	}
	while (i < n && is_blank(s[i]))
		i++;
	sc->as = i;
	/* The first argument byte may itself be a newline (nats-server takes it
	 * as the start of the argument), so the line ends at a later one. */
	nl = i + 1 < n ? memchr(s + i + 1, '\n', n - i - 1) : NULL;
	if (!nl)
		return i < n ? partial_arg_check(s, i, n) : 0;
	e = (size_t)(nl - s);
	/* nats-server drops the last byte of an argument holding a carriage
	 * return anywhere after its first byte: normally the one before \n. */
	ae = e;
	if (s[e - 1] == '\r' && e - 1 > i)
		ae = e - 1;
	else if (e - i > 2 && memchr(s + i + 1, '\r', e - i - 2))
		ae = e - 1;
	if (ae - i > PROTO_MAX_CONTROL_LINE)
		return PROTO_ERR_CONTROL_LINE;
	return parse_args(p, d, s, n, i, ae, e + 1, f, used, sc);
}

void proto_parser_init(struct proto_parser *p, enum proto_side side, uint32_t max_payload)
{
	memset(p, 0, sizeof(*p));
	p->side = side;
	p->max_payload = max_payload;
}

void proto_parser_fini(struct proto_parser *p)
{
	free(p->carry);
	p->carry = NULL;
	p->carry_len = p->carry_cap = p->carry_need = 0;
}

bool proto_parser_pending(const struct proto_parser *p)
{
	return p->carry_len > 0;
}

static int carry_reserve(struct proto_parser *p, size_t cap)
{
	char *c;

	if (cap <= p->carry_cap)
		return 0;
	if (cap > UINT32_MAX)
		return PROTO_ERR_NOMEM;
	c = realloc(p->carry, cap);
	if (!c)
		return PROTO_ERR_NOMEM;
	p->carry = c;
	p->carry_cap = (uint32_t)cap;
	return 0;
}

/* Appends to a carried partial line (room reserved by carry_store). */
static void carry_put(struct proto_parser *p, const char *s, size_t n)
{
	assert(p->carry_len + n <= p->carry_cap);
	memcpy(p->carry + p->carry_len, s, n);
	p->carry_len += (uint32_t)n;
}

/* Keeps the incomplete operation @s/@n that parse_one() described in @sc. A
 * line is kept normalised so it cannot grow without bound where nats-server
 * does not limit it: a bare operation keeps only its name, and blanks between
 * name and arguments shrink to one. */
static int carry_store(struct proto_parser *p, const char *s, size_t n, const struct scan *sc)
{
	size_t L = sc->oplen, as, skip = 0;
	bool blank;
	int r;

	p->carry_len = 0;
	p->carry_need = 0;
	if (L == 0 || sc->cls == CLS_BARE) {
		if ((r = carry_reserve(p, CARRY_LINE_CAP)) < 0)
			return r;
		carry_put(p, s, L ? L : n);
		return 0;
	}
	as = sc->as;
	blank = as > L;
	skip = as - L - blank;
	if (sc->need) {
		if ((r = carry_reserve(p, sc->need - skip)) < 0)
			return r;
		p->carry_need = (uint32_t)(sc->need - skip);
	} else if ((r = carry_reserve(p, CARRY_LINE_CAP)) < 0) {
		return r;
	}
	carry_put(p, s, L + blank);
	carry_put(p, s + as, n - as);
	return 0;
}

/* Payload phase: the carry holds a whole control line and part of what follows. */
static int carry_payload(struct proto_parser *p, const char *buf, size_t len, size_t *off,
                         struct proto_frame *f)
{
	size_t want = p->carry_need - p->carry_len, take = len - *off, u;
	struct scan sc;
	int r;

	if (take > want)
		take = want;
	memcpy(p->carry + p->carry_len, buf + *off, take);
	p->carry_len += (uint32_t)take;
	*off += take;
	if (p->carry_len < p->carry_need) {
		if (p->carry_len == p->carry_need - 1 && p->carry[p->carry_len - 1] != '\r')
			return PROTO_ERR_UNKNOWN_OP;
		return 0;
	}
	r = parse_one(p, p->carry, p->carry_len, f, &u, &sc);
	assert(r < 0 || (r == 1 && u == p->carry_len));
	p->carry_len = 0;
	p->carry_need = 0;
	return r;
}

/* Line phase: extends the carried partial control line from @buf. */
static int carry_line(struct proto_parser *p, const char *buf, size_t len, size_t *off,
                      struct proto_frame *f)
{
	const struct op_desc *d;
	struct scan sc;
	size_t u;
	int r;

	for (;;) {
		r = op_match(p->side, p->carry, p->carry_len, &d);
		if (r < 0)
			return r;
		if (*off == len)
			return 0;
		if (r == 0) { /* name still incomplete */
			carry_put(p, buf + (*off)++, 1);
			continue;
		}
		size_t L = d->len;
		if (d->cls == CLS_BARE) {
			const char *nl = memchr(buf + *off, '\n', len - *off);
			if (!nl) {
				*off = len;
				return 0;
			}
			*off = (size_t)(nl - buf) + 1;
			carry_put(p, "\n", 1);
			break;
		}
		bool blank = p->carry_len > L && is_blank(p->carry[L]);
		if (p->carry_len == L + blank) { /* arguments not started */
			char c = buf[*off];
			if (is_blank(c)) {
				if (!blank)
					carry_put(p, &c, 1);
				(*off)++;
				continue;
			}
			if (d->cls == CLS_SEP && !blank)
				return PROTO_ERR_UNKNOWN_OP;
			carry_put(p, &c, 1);
			(*off)++;
			continue;
		}
		size_t as = L + blank;
		const char *nl = memchr(buf + *off, '\n', len - *off);
		size_t seg = nl ? (size_t)(nl - (buf + *off)) : len - *off;
		if (p->carry_len - as + seg > PROTO_MAX_CONTROL_LINE + 1)
			return PROTO_ERR_CONTROL_LINE;
		carry_put(p, buf + *off, seg + (nl != NULL));
		*off += seg + (nl != NULL);
		if (!nl)
			return partial_arg_check(p->carry, as, p->carry_len);
		break;
	}
	/* The carry now holds one whole control line. */
	r = parse_one(p, p->carry, p->carry_len, f, &u, &sc);
	if (r != 0) {
		assert(r < 0 || u == p->carry_len);
		p->carry_len = 0;
		return r;
	}
	assert(sc.need > p->carry_len);
	if ((r = carry_reserve(p, sc.need)) < 0)
		return r;
	p->carry_need = (uint32_t)sc.need;
	return carry_payload(p, buf, len, off, f);
}

int proto_parse(struct proto_parser *p, const char *buf, size_t len, size_t *used,
                struct proto_frame *out)
{
	size_t off = 0, u;
	struct scan sc;
	int r;

	*used = 0;
	if (p->carry_len == 0 && p->carry_cap > CARRY_KEEP_MAX) {
		free(p->carry);
		p->carry = NULL;
		p->carry_cap = 0;
	}
	if (p->carry_len > 0) {
		if (p->carry_need)
			r = carry_payload(p, buf, len, &off, out);
		else
			r = carry_line(p, buf, len, &off, out);
		if (r != R_SKIP) {
			*used = off;
			return r;
		}
	}
	while (off < len) {
		r = parse_one(p, buf + off, len - off, out, &u, &sc);
		if (r == R_SKIP) {
			off += u;
			continue;
		}
		if (r == 1) {
			*used = off + u;
			return 1;
		}
		if (r < 0)
			return r;
		if ((r = carry_store(p, buf + off, len - off, &sc)) < 0)
			return r;
		off = len;
	}
	*used = len;
	return 0;
}

const char *proto_err_text(int err)
{
	switch (err) {
	case PROTO_ERR_UNKNOWN_OP:
		return "Unknown Protocol Operation";
	case PROTO_ERR_CONTROL_LINE:
		return "maximum control line exceeded";
	case PROTO_ERR_MAX_PAYLOAD:
		return "Maximum Payload Violation";
	default:
		return NULL;
	}
}

bool proto_err_closes(int err)
{
	return err < 0;
}
