/* The parser's two paths on the same input, for tests/io/test_proto_fast.c
 * and tests/fuzz/fuzz_proto.c: proto_parse_one() (which takes the fast paths
 * of io/proto/proto_fast.h) against proto_parse_general() (the grammar's one
 * definition). Private to the tests: it includes io/proto's own header. */
#ifndef TESTS_IO_PROTO_PATHS_H
#define TESTS_IO_PROTO_PATHS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto_int.h"

static inline bool proto_span_same(struct proto_span a, struct proto_span b)
{
	return a.ptr == b.ptr && a.len == b.len;
}

static inline bool proto_frame_same(const struct proto_frame *a, const struct proto_frame *b)
{
	return a->op == b->op && proto_span_same(a->subject, b->subject) &&
	       proto_span_same(a->reply, b->reply) && proto_span_same(a->queue, b->queue) &&
	       proto_span_same(a->sid, b->sid) && proto_span_same(a->arg, b->arg) &&
	       proto_span_same(a->payload, b->payload) && proto_span_same(a->account, b->account) &&
	       proto_span_same(a->origin, b->origin) && proto_span_same(a->queues, b->queues) &&
	       a->hdr_len == b->hdr_len && a->weight == b->weight && a->max_msgs == b->max_msgs;
}

/* Both paths over @s/@n, copied into a block of exactly @n bytes so ASan
 * sees a read past it. The frames start out different so a field one path
 * leaves unset shows; the scans start the same, as only what the paths
 * write may differ. Returns NULL when they agree (*@result: what they
 * returned), else what differs. */
static inline const char *proto_paths_differ(const struct proto_parser *p, const char *s, size_t n,
                                             int *result)
{
	char *b = malloc(n ? n : 1);
	*result = 0;
	if (!b)
		return "out of memory";
	memcpy(b, s, n);
	struct proto_frame fa, fb;
	struct proto_scan sa, sb;
	size_t ua = 1, ub = 1;
	memset(&fa, 0xa5, sizeof(fa));
	memset(&fb, 0x5a, sizeof(fb));
	memset(&sa, 0x33, sizeof(sa));
	memset(&sb, 0x33, sizeof(sb));
	int ra = proto_parse_one(p, b, n, &fa, &ua, &sa);
	int rb = proto_parse_general(p, b, n, &fb, &ub, &sb);
	free(b);
	*result = ra;
	if (ra != rb)
		return "fast path: result differs from the general path";
	if (ra > 0 && ua != ub)
		return "fast path: used differs from the general path";
	if (ra == 1 && !proto_frame_same(&fa, &fb))
		return "fast path: frame differs from the general path";
	if (ra == 0 &&
	    (sa.as != sb.as || sa.need != sb.need || sa.oplen != sb.oplen || sa.cls != sb.cls))
		return "fast path: scan differs from the general path";
	return NULL;
}

#endif /* TESTS_IO_PROTO_PATHS_H */
