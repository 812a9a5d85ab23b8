/* The pieces every NATS control line is made of, as nats-server reads them:
 * fields split on blanks, sizes in decimal, a payload ended by \r\n. */
#include "io/proto/proto_int.h"

/* Byte classes for splitting arguments: 1 blank, 2 carriage return or newline. */
const uint8_t proto_sep_class[256] = {[' '] = 1, ['\t'] = 1, ['\r'] = 2, ['\n'] = 2};
#define sep_class proto_sep_class

int proto_split_fields(const char *s, size_t a, size_t e, struct proto_span *f, int max, bool crlf)
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
		f[nf++] = proto_span_at(s + st, i - st);
	}
}

int proto_take_payload(const struct proto_parser *p, const char *s, size_t n, size_t le,
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
	f->payload = proto_span_at(s + le, sz);
	*used = total;
	return 1;
}

bool proto_queue_next(struct proto_span *list, struct proto_span *out)
{
	const char *s = list->ptr;
	uint32_t n = list->len, i = 0;

	while (i < n && sep_class[(uint8_t)s[i]])
		i++;
	if (i == n) {
		list->len = 0;
		return false;
	}
	uint32_t st = i;
	while (i < n && !sep_class[(uint8_t)s[i]])
		i++;
	*out = proto_span_at(s + st, i - st);
	*list = proto_span_at(s + i, n - i);
	return true;
}
