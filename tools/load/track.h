/* Per-receiver sequence tracking: which messages of each stream arrived,
 * telling duplicates from late (reordered) ones within a sliding window. */
#ifndef TOOLS_LOAD_TRACK_H
#define TOOLS_LOAD_TRACK_H

#include <stdint.h>

#include "core/compiler.h"

#define TRACK_WINDOW 1024u /* sequence numbers remembered behind the newest */

/* One stream as one receiver sees it. Owner: the receiver's thread. */
struct track_stream {
	uint32_t stream;
	uint32_t used;
	uint64_t next;                    /* newest sequence seen + 1 */
	uint64_t bits[TRACK_WINDOW / 64]; /* received flags of [next - WINDOW, next) */
};

/* Counts over all streams of one receiver. */
struct track_counts {
	uint64_t received; /* every arrival, duplicates included */
	uint64_t dup;      /* arrivals of a sequence number already seen */
	uint64_t reorder;  /* arrivals older than the newest already seen */
	uint64_t gaps;     /* sequence numbers skipped and not filled in later */
	uint64_t streams;  /* distinct streams seen */
};

/* Owner: the receiver's thread. */
struct track {
	struct track_stream *slots; /* open addressing on stream id */
	struct track_stream *last;  /* the stream of the previous arrival */
	uint32_t cap;
	struct track_counts c;
};

enum track_verdict {
	TRACK_IN_ORDER = 0, /* the next one, or a jump forward over a gap */
	TRACK_LATE,         /* older than the newest, first arrival */
	TRACK_DUP,          /* seen before */
};

/* Sizes the table for about @streams streams. Returns 0 or -ENOMEM. */
RB_MUST_CHECK int track_init(struct track *t, uint32_t streams);
void track_fini(struct track *t);

/* Records the arrival of (@stream, @seq). Returns a track_verdict, or -ENOMEM
 * when a new stream did not fit and the table could not grow (the table only
 * allocates on the first message of a stream beyond the initial size). A
 * sequence number older than the window counts as late when a gap is open,
 * otherwise as a duplicate. */
RB_MUST_CHECK int track_seen(struct track *t, uint32_t stream, uint64_t seq);

/* Arrivals that were not duplicates. */
static inline uint64_t track_unique(const struct track *t)
{
	return t->c.received - t->c.dup;
}

/* Sequence numbers of @stream received so far counted from 0 (the newest + 1),
 * or 0 when the stream was never seen. */
uint64_t track_next(const struct track *t, uint32_t stream);

#endif /* TOOLS_LOAD_TRACK_H */
