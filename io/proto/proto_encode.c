/* Encoders for NATS control lines: MSG/HMSG heads and -ERR for the server,
 * PUB/HPUB/SUB/UNSUB for clients (ringbus-load, tests), RS/LS interest and
 * RMSG/LMSG/HMSG heads for route and leaf links. Each computes the exact
 * length first and writes nothing useful when it does not fit. */
#include "io/proto/proto.h"

#include <assert.h>
#include <string.h>

#include "core/copy.h"

#define U32_DIGITS_MAX 10u

static size_t u64_digits(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static char *put(char *d, const char *s, size_t n)
{
	return copy_small(d, s, n);
}

static char *put_span(char *d, struct proto_span s)
{
	return put(d, s.ptr, s.len);
}

/* Writes @v in decimal, exactly @n = u64_digits(@v) bytes. */
static char *put_u64(char *d, uint64_t v, size_t n)
{
	char *e = d + n;

	do {
		*--e = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return d + n;
}

struct proto_span proto_span_str(const char *s)
{
	return (struct proto_span){s ? s : "", s ? (uint32_t)strlen(s) : 0};
}

/* "<op> <a> <b> [c] [n1] <n2>\r\n": the shape shared by every head. Spans of
 * length 0 after @a are left out; @n1 only when @has_n1. */
static size_t encode_line(char *dst, size_t cap, const char *op, size_t op_len, struct proto_span a,
                          struct proto_span b, struct proto_span c, bool has_n1, uint64_t n1,
                          bool has_n2, uint64_t n2)
{
	size_t d1 = has_n1 ? u64_digits(n1) : 0, d2 = has_n2 ? u64_digits(n2) : 0;
	size_t need = op_len + 1 + a.len + (b.len ? 1 + (size_t)b.len : 0) +
	              (c.len ? 1 + (size_t)c.len : 0) + (has_n1 ? 1 + d1 : 0) +
	              (has_n2 ? 1 + d2 : 0) + 2;
	char *d = dst;

	if (need > cap)
		return 0;
	d = put(d, op, op_len);
	*d++ = ' ';
	d = put_span(d, a);
	if (b.len) {
		*d++ = ' ';
		d = put_span(d, b);
	}
	if (c.len) {
		*d++ = ' ';
		d = put_span(d, c);
	}
	if (has_n1) {
		*d++ = ' ';
		d = put_u64(d, n1, d1);
	}
	if (has_n2) {
		*d++ = ' ';
		d = put_u64(d, n2, d2);
	}
	*d++ = '\r';
	*d++ = '\n';
	return (size_t)(d - dst);
}

/* The head written for every delivery: straight-line, without
 * encode_line's optional fields. */
size_t proto_encode_msg_head(char *dst, size_t cap, struct proto_span subject,
                             struct proto_span sid, struct proto_span reply, uint32_t payload_len)
{
	char num[U32_DIGITS_MAX];
	char *end = num + sizeof(num), *q = end;
	uint32_t v = payload_len;

	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	size_t nd = (size_t)(end - q);
	size_t need = 4 + (size_t)subject.len + 1 + sid.len +
	              (reply.len ? 1 + (size_t)reply.len : 0) + 1 + nd + 2;
	if (need > cap)
		return 0;
	char *d = put(dst, "MSG ", 4);
	d = put_span(d, subject);
	*d++ = ' ';
	d = put_span(d, sid);
	if (reply.len) {
		*d++ = ' ';
		d = put_span(d, reply);
	}
	*d++ = ' ';
	d = put(d, q, nd);
	*d++ = '\r';
	*d++ = '\n';
	return (size_t)(d - dst);
}

size_t proto_encode_hmsg_head(char *dst, size_t cap, struct proto_span subject,
                              struct proto_span sid, struct proto_span reply, uint32_t hdr_len,
                              uint32_t total_len)
{
	return encode_line(dst, cap, "HMSG", 4, subject, sid, reply, true, hdr_len, true,
	                   total_len);
}

size_t proto_encode_pub_head(char *dst, size_t cap, struct proto_span subject,
                             struct proto_span reply, uint32_t payload_len)
{
	struct proto_span none = {"", 0};

	return encode_line(dst, cap, "PUB", 3, subject, reply, none, false, 0, true, payload_len);
}

size_t proto_encode_hpub_head(char *dst, size_t cap, struct proto_span subject,
                              struct proto_span reply, uint32_t hdr_len, uint32_t total_len)
{
	struct proto_span none = {"", 0};

	return encode_line(dst, cap, "HPUB", 4, subject, reply, none, true, hdr_len, true,
	                   total_len);
}

size_t proto_encode_sub(char *dst, size_t cap, struct proto_span subject, struct proto_span queue,
                        struct proto_span sid)
{
	return encode_line(dst, cap, "SUB", 3, subject, queue, sid, false, 0, false, 0);
}

size_t proto_encode_unsub(char *dst, size_t cap, struct proto_span sid, uint64_t max_msgs)
{
	struct proto_span none = {"", 0};

	return encode_line(dst, cap, "UNSUB", 5, sid, none, none, false, 0, max_msgs != 0,
	                   max_msgs);
}

size_t proto_encode_err(char *dst, size_t cap, const char *text)
{
	size_t n = text ? strlen(text) : 0;
	size_t need = 6 + n + 3; /* "-ERR '" text "'\r\n" */
	char *d = dst;

	if (need > cap)
		return 0;
	d = put(d, "-ERR '", 6);
	d = put(d, text ? text : "", n);
	d = put(d, "'\r\n", 3);
	return (size_t)(d - dst);
}

size_t proto_encode_rs(char *dst, size_t cap, bool plus, struct proto_span account,
                       struct proto_span subject, struct proto_span queue, uint32_t weight)
{
	uint32_t w = weight < PROTO_WEIGHT_MAX ? weight : PROTO_WEIGHT_MAX;

	assert(account.len && subject.len);
	return encode_line(dst, cap, plus ? "RS+" : "RS-", 3, account, subject, queue, false, 0,
	                   plus && queue.len, w);
}

size_t proto_encode_ls(char *dst, size_t cap, bool plus, struct proto_span subject,
                       struct proto_span queue, uint32_t weight)
{
	struct proto_span none = {"", 0};
	uint32_t w = weight < PROTO_WEIGHT_MAX ? weight : PROTO_WEIGHT_MAX;

	assert(subject.len);
	return encode_line(dst, cap, plus ? "LS+" : "LS-", 3, subject, queue, none, false, 0,
	                   plus && queue.len, w);
}

size_t proto_rmsg_head_max(size_t account_len, size_t subject_len, size_t reply_len,
                           const struct proto_span *queues, unsigned nqueues)
{
	/* "HMSG " account " " subject " + " reply (" " queue).. " " hdr " " total "\r\n" */
	size_t n = 5 + account_len + 1 + subject_len + 3 + reply_len + 1 + U32_DIGITS_MAX + 1 +
	           U32_DIGITS_MAX + 2;

	for (unsigned i = 0; i < nqueues; i++)
		n += 1 + (size_t)queues[i].len;
	return n;
}

/* The length of what routed_args() writes. */
static size_t routed_args_len(struct proto_span reply, const struct proto_span *queues, unsigned nq)
{
	size_t n = 0;

	if (nq == 0)
		return reply.len ? 1 + (size_t)reply.len : 0;
	n = reply.len ? 3 + (size_t)reply.len : 2; /* " + reply" or " |" */
	for (unsigned i = 0; i < nq; i++) {
		assert(queues[i].len);
		n += 1 + (size_t)queues[i].len;
	}
	return n;
}

/* " reply", " + reply q1 q2..", " | q1 q2.." or nothing. */
static char *routed_args(char *d, struct proto_span reply, const struct proto_span *queues,
                         unsigned nq)
{
	if (nq == 0) {
		if (reply.len) {
			*d++ = ' ';
			d = put_span(d, reply);
		}
		return d;
	}
	if (reply.len) {
		d = put(d, " + ", 3);
		d = put_span(d, reply);
	} else {
		d = put(d, " |", 2);
	}
	for (unsigned i = 0; i < nq; i++) {
		*d++ = ' ';
		d = put_span(d, queues[i]);
	}
	return d;
}

/* "<op> [account] <subject> [args] [hdr_len] <total_len>\r\n" (@op 4 bytes;
 * no account when its length is 0). */
static size_t encode_routed(char *dst, size_t cap, const char *op, struct proto_span account,
                            struct proto_span subject, struct proto_span reply,
                            const struct proto_span *queues, unsigned nq, bool headers,
                            uint32_t hdr_len, uint32_t total_len)
{
	size_t dh = headers ? u64_digits(hdr_len) : 0, dt = u64_digits(total_len);
	size_t need = 4 + (account.len ? 1 + (size_t)account.len : 0) + 1 + subject.len +
	              routed_args_len(reply, queues, nq) + (headers ? 1 + dh : 0) + 1 + dt + 2;
	char *d;

	assert(subject.len);
	if (need > cap)
		return 0;
	d = put(dst, op, 4);
	if (account.len) {
		*d++ = ' ';
		d = put_span(d, account);
	}
	*d++ = ' ';
	d = put_span(d, subject);
	d = routed_args(d, reply, queues, nq);
	if (headers) {
		*d++ = ' ';
		d = put_u64(d, hdr_len, dh);
	}
	*d++ = ' ';
	d = put_u64(d, total_len, dt);
	*d++ = '\r';
	*d++ = '\n';
	return (size_t)(d - dst);
}

size_t proto_encode_rmsg_head(char *dst, size_t cap, struct proto_span account,
                              struct proto_span subject, struct proto_span reply,
                              const struct proto_span *queues, unsigned nqueues, uint32_t hdr_len,
                              uint32_t total_len, bool headers)
{
	assert(account.len);
	return encode_routed(dst, cap, headers ? "HMSG" : "RMSG", account, subject, reply, queues,
	                     nqueues, headers, hdr_len, total_len);
}

size_t proto_encode_lmsg_head(char *dst, size_t cap, struct proto_span subject,
                              struct proto_span reply, const struct proto_span *queues,
                              unsigned nqueues, uint32_t hdr_len, uint32_t total_len, bool headers)
{
	struct proto_span none = {"", 0};

	return encode_routed(dst, cap, headers ? "HMSG" : "LMSG", none, subject, reply, queues,
	                     nqueues, headers, hdr_len, total_len);
}
