/* The streaming NATS protocol parser: operations complete in the input are
 * returned as views into it; only a partial operation at its end is copied into
 * the parser's carry buffer, kept so it cannot grow where nats-server does not
 * limit a line. The grammar itself is in proto_parse.c. */
#include "io/proto/proto_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto_fast.h"

/* An empty carry buffer larger than this is freed rather than kept. */
#define CARRY_KEEP_MAX (64u * 1024u)
/* Room for the longest partial control line the carry can hold: a name, one
 * blank, max_control + 1 argument bytes and the newline. */
#define CARRY_LINE_CAP(p) ((size_t)(p)->max_control + 64u)
/* The first room taken for a partial line: a whole default-sized line. Routes
 * allow lines of up to PROTO_CONTROL_LINE_LIMIT but rarely send long ones, so
 * the room doubles as a line grows rather than being taken whole. */
#define CARRY_LINE_FIRST ((size_t)PROTO_MAX_CONTROL_LINE + 64u)

void proto_parser_init(struct proto_parser *p, enum proto_side side, uint32_t max_payload)
{
	memset(p, 0, sizeof(*p));
	p->side = side;
	p->max_payload = max_payload;
	p->max_control = PROTO_MAX_CONTROL_LINE;
}

void proto_parser_set_max_control(struct proto_parser *p, uint32_t max)
{
	p->max_control = max < PROTO_CONTROL_LINE_LIMIT ? max : PROTO_CONTROL_LINE_LIMIT;
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

char *proto_parser_take_carry(struct proto_parser *p, const char *ptr, size_t n, uint32_t *size)
{
	char *c = p->carry;
	if (!c || p->carry_len || ptr < c || ptr + n > c + p->carry_cap)
		return NULL;
	*size = p->carry_cap;
	p->carry = NULL;
	p->carry_cap = 0;
	return c;
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

/* Room for a partial line of @need bytes (at most CARRY_LINE_CAP: the limit
 * checks fail a longer one first), grown by doubling. */
static int carry_line_room(struct proto_parser *p, size_t need)
{
	size_t cap = p->carry_cap ? p->carry_cap : CARRY_LINE_FIRST;

	if (need <= p->carry_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > CARRY_LINE_CAP(p))
		cap = need > CARRY_LINE_CAP(p) ? need : CARRY_LINE_CAP(p);
	return carry_reserve(p, cap);
}

/* Appends to the carry (room reserved by the caller). */
static void carry_put(struct proto_parser *p, const char *s, size_t n)
{
	assert(p->carry_len + n <= p->carry_cap);
	memcpy(p->carry + p->carry_len, s, n);
	p->carry_len += (uint32_t)n;
}

/* Appends to a carried partial line, growing its room. */
static int carry_line_put(struct proto_parser *p, const char *s, size_t n)
{
	int r = carry_line_room(p, (size_t)p->carry_len + n);

	if (r < 0)
		return r;
	carry_put(p, s, n);
	return 0;
}

/* Keeps the incomplete operation @s/@n that proto_parse_one() described in @sc. A
 * line is kept normalised so it cannot grow without bound where nats-server
 * does not limit it: a bare operation keeps only its name, and blanks between
 * name and arguments shrink to one. */
static int carry_store(struct proto_parser *p, const char *s, size_t n, const struct proto_scan *sc)
{
	size_t L = sc->oplen, as, skip = 0;
	bool blank;
	int r;

	p->carry_len = 0;
	p->carry_need = 0;
	if (L == 0 || sc->cls == PROTO_CLS_BARE)
		return carry_line_put(p, s, L ? L : n);
	as = sc->as;
	blank = as > L;
	skip = as - L - blank;
	if (sc->need) {
		if ((r = carry_reserve(p, sc->need - skip)) < 0)
			return r;
		p->carry_need = (uint32_t)(sc->need - skip);
	} else if ((r = carry_line_room(p, L + blank + n - as)) < 0) {
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
	struct proto_scan sc;
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
	r = proto_parse_one(p, p->carry, p->carry_len, f, &u, &sc);
	assert(r < 0 || (r == 1 && u == p->carry_len));
	p->carry_len = 0;
	p->carry_need = 0;
	return r;
}

/* Line phase: extends the carried partial control line from @buf. */
static int carry_line(struct proto_parser *p, const char *buf, size_t len, size_t *off,
                      struct proto_frame *f)
{
	const struct proto_op_desc *d;
	struct proto_scan sc;
	size_t u;
	int r;

	for (;;) {
		r = proto_op_match(p->side, p->carry, p->carry_len, &d);
		if (r < 0)
			return r;
		if (*off == len)
			return 0;
		if (r == 0) { /* name still incomplete */
			if ((r = carry_line_put(p, buf + (*off)++, 1)) < 0)
				return r;
			continue;
		}
		size_t L = d->len;
		if (d->cls == PROTO_CLS_BARE) {
			const char *nl = memchr(buf + *off, '\n', len - *off);
			if (!nl) {
				*off = len;
				return 0;
			}
			*off = (size_t)(nl - buf) + 1;
			if ((r = carry_line_put(p, "\n", 1)) < 0)
				return r;
			break;
		}
		bool blank = p->carry_len > L && proto_is_blank(p->carry[L]);
		if (p->carry_len == L + blank) { /* arguments not started */
			char c = buf[*off];
			if (d->cls == PROTO_CLS_SEP && !blank && !proto_is_blank(c))
				return PROTO_ERR_UNKNOWN_OP;
			if (!(blank && proto_is_blank(c)) && (r = carry_line_put(p, &c, 1)) < 0)
				return r;
			(*off)++;
			continue;
		}
		size_t as = L + blank;
		const char *nl = memchr(buf + *off, '\n', len - *off);
		size_t seg = nl ? (size_t)(nl - (buf + *off)) : len - *off;
		if (p->carry_len - as + seg > (size_t)p->max_control + 1)
			return PROTO_ERR_CONTROL_LINE;
		if ((r = carry_line_put(p, buf + *off, seg + (nl != NULL))) < 0)
			return r;
		*off += seg + (nl != NULL);
		if (!nl)
			return proto_partial_arg_check(p, p->carry, as, p->carry_len);
		break;
	}
	/* The carry now holds one whole control line. */
	r = proto_parse_one(p, p->carry, p->carry_len, f, &u, &sc);
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
	struct proto_scan sc;
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
		if (r != PROTO_R_SKIP) {
			*used = off;
			return r;
		}
	}
	while (off < len) {
		/* proto_parse_one() as written out here, without its call */
		if (proto_fast(p, buf + off, len - off, out, &u)) {
			*used = off + u;
			return 1;
		}
		r = proto_parse_general(p, buf + off, len - off, out, &u, &sc);
		if (r == PROTO_R_SKIP) {
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
