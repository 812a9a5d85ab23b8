/* The operation names each side of the NATS protocol accepts, one table per
 * side and first byte, and the matcher shared by the parser and the carry. */
#include "io/proto/proto_int.h"

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

/* Route and leaf peers also send CONNECT, INFO, PING, PONG, +OK and -ERR, which
 * they return as the client side does (srv_c, cli_i, cli_p, cli_plus, cli_minus). */
static const struct proto_op_desc route_r[] = {
    OPD("rmsg", PROTO_OP_RMSG, PROTO_CLS_SEP, false),
    OPD("rs+", PROTO_OP_RS_PLUS, PROTO_CLS_SEP, false),
    OPD("rs-", PROTO_OP_RS_MINUS, PROTO_CLS_SEP, false),
};
static const struct proto_op_desc peer_l[] = {
    OPD("lmsg", PROTO_OP_LMSG, PROTO_CLS_SEP, false),
    OPD("ls+", PROTO_OP_LS_PLUS, PROTO_CLS_SEP, false),
    OPD("ls-", PROTO_OP_LS_MINUS, PROTO_CLS_SEP, false),
};
static const struct proto_op_desc peer_h[] = {OPD("hmsg", PROTO_OP_RHMSG, PROTO_CLS_SEP, false)};

/* The names that start with one byte. */
struct op_set {
	const struct proto_op_desc *t;
	size_t cnt;
};

#define SET(arr) ((struct op_set){(arr), RB_ARRAY_LEN(arr)})
#define NONE     ((struct op_set){NULL, 0})

/* Each side's names that start with @c. Letters are folded to lower case;
 * '+' and '-' are themselves under the fold but so are \v and \r, hence the
 * exact comparisons. */
static struct op_set server_set(char c)
{
	switch (c | 0x20) {
	case 'p':
		return SET(srv_p);
	case 's':
		return SET(srv_s);
	case 'c':
		return SET(srv_c);
	case 'h':
		return SET(srv_h);
	case 'u':
		return SET(srv_u);
	case 'i':
		return SET(srv_i);
	}
	if (c == '+')
		return SET(srv_plus);
	return c == '-' ? SET(srv_minus) : NONE;
}

static struct op_set client_set(char c)
{
	switch (c | 0x20) {
	case 'm':
		return SET(cli_m);
	case 'h':
		return SET(cli_h);
	case 'p':
		return SET(cli_p);
	case 'i':
		return SET(cli_i);
	}
	if (c == '+')
		return SET(cli_plus);
	return c == '-' ? SET(cli_minus) : NONE;
}

/* Route and leaf peers: the same names but RS+ RS- RMSG, which only a route
 * sends (nats-server takes them on a leaf link as LS+ LS- LMSG; no leaf does). */
static struct op_set peer_set(char c, bool route)
{
	switch (c | 0x20) {
	case 'r':
		return route ? SET(route_r) : NONE;
	case 'l':
		return SET(peer_l);
	case 'h':
		return SET(peer_h);
	case 'p':
		return SET(cli_p);
	case 'c':
		return SET(srv_c);
	case 'i':
		return SET(cli_i);
	}
	if (c == '+')
		return SET(cli_plus);
	return c == '-' ? SET(cli_minus) : NONE;
}

static struct op_set op_set_for(enum proto_side side, char c)
{
	switch (side) {
	case PROTO_SIDE_SERVER:
		return server_set(c);
	case PROTO_SIDE_CLIENT:
		return client_set(c);
	case PROTO_SIDE_ROUTE:
	case PROTO_SIDE_LEAF:
		return peer_set(c, side == PROTO_SIDE_ROUTE);
	}
	return NONE;
}

/* A name byte after the first: a letter matches in either case, anything else
 * only itself (folding '+' or '-' with 0x20 would let \v or \r pass for them). */
static inline bool name_byte_eq(char c, char t)
{
	return t >= 'a' && t <= 'z' ? (c | 0x20) == t : c == t;
}

/* Matches the operation name at the start of @s. Returns 1 with *@d set, 0 when
 * @s is a proper prefix of a name, or PROTO_ERR_UNKNOWN_OP. Case-insensitive.
 * No name is a prefix of another, so at most one matches in full. */
int proto_op_match(enum proto_side side, const char *s, size_t n, const struct proto_op_desc **d)
{
	struct op_set set;

	if (n == 0)
		return 0;
	set = op_set_for(side, s[0]);
	for (size_t k = 0; k < set.cnt; k++) {
		const struct proto_op_desc *t = &set.t[k];
		size_t m = n < t->len ? n : t->len;
		size_t i = 1;
		while (i < m && name_byte_eq(s[i], t->name[i]))
			i++;
		if (i < m)
			continue;
		if (n < t->len)
			return 0;
		*d = t;
		return 1;
	}
	return PROTO_ERR_UNKNOWN_OP;
}
