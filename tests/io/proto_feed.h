/* Test helper: feeds a byte stream to a proto_parser in chosen chunk sizes and
 * records every frame (op, each span's bytes) so runs can be compared. */
#ifndef TESTS_IO_PROTO_FEED_H
#define TESTS_IO_PROTO_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "io/proto/proto.h"

/* What one run produced. Owner: the test. */
struct feed_log {
	char *buf; /* frames, serialised: op, then each span as length + bytes */
	size_t len, cap;
	int frames;
	int status;   /* 0, or the error that stopped the run */
	bool pending; /* a partial operation was left in the carry */
	int ops[64];  /* the first 64 ops, for quick checks */
};

void feed_log_init(struct feed_log *l);
void feed_log_fini(struct feed_log *l);

/* Feeds @s/@len to @p in chunks of @sizes[0], @sizes[1], ... (cycled; a size of
 * 0 means "the rest"), each chunk copied into its own heap buffer so a span
 * that outlives its chunk is caught by ASan. Checks that every frame's spans
 * lie inside the current chunk or the carry and that @used stays in range.
 * Returns the status (0 or a negative enum proto_err). */
int feed_chunks(struct proto_parser *p, struct feed_log *l, const char *s, size_t len,
                const size_t *sizes, size_t nsizes);

/* feed_chunks() on a fresh parser of @side and @max_payload, finished after. */
int feed_run(enum proto_side side, uint32_t max_payload, struct feed_log *l, const char *s,
             size_t len, const size_t *sizes, size_t nsizes);

/* True when two runs gave the same frames, status and pending flag. */
bool feed_same(const struct feed_log *a, const struct feed_log *b);

#endif /* TESTS_IO_PROTO_FEED_H */
