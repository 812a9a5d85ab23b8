/* Test helper: chunked feeding of a proto_parser with a log of frames. */
#include "tests/io/proto_feed.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void feed_log_init(struct feed_log *l)
{
	memset(l, 0, sizeof(*l));
}

void feed_log_fini(struct feed_log *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

static void log_put(struct feed_log *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		while (cap < l->len + n)
			cap *= 2;
		l->buf = realloc(l->buf, cap);
		cr_assert_not_null(l->buf);
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void log_span(struct feed_log *l, struct proto_span s)
{
	log_put(l, &s.len, sizeof(s.len));
	if (s.len)
		log_put(l, s.ptr, s.len);
}

static bool span_inside(struct proto_span s, const char *lo, size_t n)
{
	if (s.len == 0)
		return true;
	return lo && s.ptr >= lo && s.ptr + s.len <= lo + n;
}

static void check_span(const struct proto_parser *p, struct proto_span s, const char *chunk,
                       size_t n)
{
	cr_assert(span_inside(s, chunk, n) || span_inside(s, p->carry, p->carry_cap),
	          "span outside both the input and the carry");
}

static void log_frame(struct feed_log *l, const struct proto_parser *p, const struct proto_frame *f,
                      const char *chunk, size_t n)
{
	const struct proto_span *spans[] = {&f->subject, &f->reply,  &f->queue,
	                                    &f->sid,     &f->arg,    &f->payload,
	                                    &f->account, &f->origin, &f->queues};
	int op = (int)f->op;

	if (l->frames < (int)(sizeof(l->ops) / sizeof(l->ops[0])))
		l->ops[l->frames] = op;
	l->frames++;
	log_put(l, &op, sizeof(op));
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		check_span(p, *spans[i], chunk, n);
		log_span(l, *spans[i]);
	}
	log_put(l, &f->hdr_len, sizeof(f->hdr_len));
	log_put(l, &f->max_msgs, sizeof(f->max_msgs));
	log_put(l, &f->weight, sizeof(f->weight));
	cr_assert_leq(f->hdr_len, f->payload.len);
	cr_assert_leq(f->payload.len, p->max_payload);
}

int feed_chunks(struct proto_parser *p, struct feed_log *l, const char *s, size_t len,
                const size_t *sizes, size_t nsizes)
{
	size_t pos = 0, k = 0;

	while (pos < len && l->status == 0) {
		size_t n = nsizes ? sizes[k++ % nsizes] : 0;
		if (n == 0 || n > len - pos)
			n = len - pos;
		char *chunk = malloc(n);
		cr_assert_not_null(chunk);
		memcpy(chunk, s + pos, n);
		size_t off = 0;
		while (off < n) {
			struct proto_frame f;
			size_t used = SIZE_MAX;
			int r = proto_parse(p, chunk + off, n - off, &used, &f);
			if (r < 0) {
				l->status = r;
				break;
			}
			cr_assert_leq(used, n - off);
			if (r == 0) {
				cr_assert_eq(used, n - off, "0 must consume the whole input");
				break;
			}
			cr_assert_eq(r, 1);
			cr_assert_gt(used, 0);
			log_frame(l, p, &f, chunk + off, n - off);
			off += used;
		}
		free(chunk);
		pos += n;
	}
	l->pending = l->status == 0 && proto_parser_pending(p); /* meaningless after an error */
	return l->status;
}

int feed_run(enum proto_side side, uint32_t max_payload, struct feed_log *l, const char *s,
             size_t len, const size_t *sizes, size_t nsizes)
{
	struct proto_parser p;
	int r;

	proto_parser_init(&p, side, max_payload);
	r = feed_chunks(&p, l, s, len, sizes, nsizes);
	proto_parser_fini(&p);
	return r;
}

bool feed_same(const struct feed_log *a, const struct feed_log *b)
{
	return a->status == b->status && a->frames == b->frames && a->pending == b->pending &&
	       a->len == b->len && (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);
}
