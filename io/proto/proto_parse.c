/* The NATS control-line grammar: one operation parsed from contiguous bytes,
 * with nats-server 2.9.10's rules for names, blanks, sizes and limits (the
 * probes are listed in tests/io/test_proto.c), and the arguments of client
 * and server operations (route and leaf ones: proto_route.c). No state, no
 * copies. */
#include "io/proto/proto_int.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "io/proto/proto_fast.h"

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

int proto_parse_one(const struct proto_parser *p, const char *s, size_t n, struct proto_frame *f,
                    size_t *used, struct proto_scan *sc)
{
	if (proto_fast(p, s, n, f, used))
		return 1;
	return proto_parse_general(p, s, n, f, used, sc);
}
