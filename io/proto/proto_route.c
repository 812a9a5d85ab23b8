/* The route and leaf-node grammar of nats-server 2.9.10: interest (RS+ RS- LS+
 * LS-) and messages (RMSG HMSG LMSG), whose leading fields depend on the side
 * (account on a route, origin too for a route's LS+ and LMSG, neither on a
 * leaf link). Fields split on blanks, \r and \n; a queue list may be as long
 * as the control line. The wire facts are listed in tests/io/test_proto_route.c. */
#include "io/proto/proto_int.h"

#include <assert.h>

int proto_route_interest(const struct proto_parser *p, int op, const char *s, size_t as, size_t ae,
                         struct proto_frame *f)
{
	bool route = p->side == PROTO_SIDE_ROUTE;
	bool plus = op == PROTO_OP_RS_PLUS || op == PROTO_OP_LS_PLUS;
	int lead = route + (route && op == PROTO_OP_LS_PLUS); /* [origin] [account] */
	int opt = plus ? 2 : 1;                               /* queue [weight] */
	struct proto_span fl[5];
	int nf = proto_split_fields(s, as, ae, fl, lead + 1 + opt, true);
	int i = 0;

	if (nf != lead + 1 && nf != lead + 1 + opt)
		return route || plus ? PROTO_ERR_BAD_ARGS : PROTO_R_SKIP;
	if (lead == 2)
		f->origin = fl[i++];
	if (lead >= 1)
		f->account = fl[i++];
	f->subject = fl[i++];
	if (i < nf) {
		f->queue = fl[i++];
		if (plus) {
			int64_t w = proto_parse_size(fl[i]);
			f->weight = w > 0 ? (uint32_t)w : 0; /* see struct proto_frame */
		}
	}
	return 1;
}

#define HEAD_FIELDS 6u /* up to origin account subject + reply q1 */
#define TAIL_FIELDS 3u /* the last queue name and two sizes */

/* A message line's fields without a bound on their number: the first
 * HEAD_FIELDS and the last TAIL_FIELDS, enough to find everything else. */
struct msg_fields {
	struct proto_span head[HEAD_FIELDS];
	struct proto_span tail[TAIL_FIELDS]; /* field k at [k % TAIL_FIELDS] */
	uint32_t n;
};

static struct proto_span field_at(const struct msg_fields *m, uint32_t k)
{
	assert(k < m->n && (k < HEAD_FIELDS || k + TAIL_FIELDS >= m->n));
	return k < HEAD_FIELDS ? m->head[k] : m->tail[k % TAIL_FIELDS];
}

/* More than one field between the @lead fields and the @sizes: the first is
 * the indicator, '+' (a reply and queue names follow) or '|' (queue names
 * follow); anything else is malformed. "+ r" alone is a reply, no queues. */
static int take_queues(const struct msg_fields *m, uint32_t lead, uint32_t sizes,
                       struct proto_frame *f)
{
	struct proto_span ind = field_at(m, lead);
	uint32_t first = lead + 1, last = m->n - sizes - 1;

	if (ind.len != 1 || (ind.ptr[0] != '+' && ind.ptr[0] != '|'))
		return PROTO_ERR_BAD_ARGS;
	if (ind.ptr[0] == '+')
		f->reply = field_at(m, first++);
	if (first <= last) {
		struct proto_span a = field_at(m, first), b = field_at(m, last);
		f->queues = proto_span_at(a.ptr, (size_t)(b.ptr + b.len - a.ptr));
	}
	return 0;
}

int proto_route_msg(const struct proto_parser *p, int op, const char *s, size_t n, size_t as,
                    size_t ae, size_t le, struct proto_frame *f, size_t *used,
                    struct proto_scan *sc)
{
	bool route = p->side == PROTO_SIDE_ROUTE;
	bool lnoc = route && op == PROTO_OP_LMSG;             /* a route's leaf-origin message */
	uint32_t lead = 1u + route + lnoc;                    /* [origin] [account] subject */
	uint32_t sizes = 1u + (op == PROTO_OP_RHMSG || lnoc); /* [hdr] size */
	struct msg_fields m; /* not zeroed: only the n fields found are read */
	uint32_t k = 0;
	const char *q = s + as, *end = s + ae;

	/* the fields, split here rather than by proto_queue_next(): this runs
	 * for every message a route or leaf sends */
	m.n = 0;
	for (;;) {
		while (q < end && proto_sep_class[(uint8_t)*q])
			q++;
		if (q == end)
			break;
		const char *st = q;
		while (q < end && !proto_sep_class[(uint8_t)*q])
			q++;
		struct proto_span t = proto_span_at(st, (size_t)(q - st));
		if (m.n < HEAD_FIELDS)
			m.head[m.n] = t;
		m.tail[m.n % TAIL_FIELDS] = t;
		m.n++;
	}
	if (m.n < lead + sizes)
		return PROTO_ERR_BAD_ARGS;
	if (m.n == lead + sizes + 1) {
		f->reply = field_at(&m, lead); /* even "+" or "|", as nats-server */
	} else if (m.n > lead + sizes + 1) {
		int r = take_queues(&m, lead, sizes, f);
		if (r < 0)
			return r;
	}
	if (lnoc)
		f->origin = field_at(&m, k++);
	if (route)
		f->account = field_at(&m, k++);
	f->subject = field_at(&m, k);
	int64_t hdr = sizes == 2 ? proto_parse_size(field_at(&m, m.n - 2)) : 0;
	int64_t size = proto_parse_size(field_at(&m, m.n - 1));
	if (hdr < 0 || size < 0 || hdr > size)
		return PROTO_ERR_BAD_ARGS;
	f->hdr_len = (uint32_t)hdr;
	return proto_take_payload(p, s, n, le, size, f, used, sc);
}
