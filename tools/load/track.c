/* Sequence tracking: a ring bitmap per stream, indexed by sequence number
 * modulo the window, holds which of the last TRACK_WINDOW numbers arrived. */
#include "tools/load/track.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

int track_init(struct track *t, uint32_t streams)
{
	memset(t, 0, sizeof(*t));
	uint32_t cap = 4;
	while (cap < streams * 2u && cap < (1u << 26))
		cap <<= 1;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->cap = cap;
	return 0;
}

void track_fini(struct track *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
}

static struct track_stream *lookup(struct track_stream *slots, uint32_t cap, uint32_t stream)
{
	for (uint32_t i = hash32(stream) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i].used || slots[i].stream == stream)
			return &slots[i];
}

static int grow(struct track *t)
{
	uint32_t cap = t->cap * 2;
	struct track_stream *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->slots[i].used)
			*lookup(slots, cap, t->slots[i].stream) = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	t->last = NULL;
	return 0;
}

static bool bit_get(const struct track_stream *s, uint64_t seq)
{
	uint64_t i = seq % TRACK_WINDOW;
	return (s->bits[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(struct track_stream *s, uint64_t seq)
{
	uint64_t i = seq % TRACK_WINDOW;
	s->bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bit_clear(struct track_stream *s, uint64_t seq)
{
	uint64_t i = seq % TRACK_WINDOW;
	s->bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

int track_seen(struct track *t, uint32_t stream, uint64_t seq)
{
	/* Consecutive arrivals mostly come from one stream: skip the hash. */
	struct track_stream *s = t->last;
	if (!s || s->stream != stream)
		s = lookup(t->slots, t->cap, stream);
	if (RB_UNLIKELY(!s->used)) {
		if ((t->c.streams + 1) * 2 > t->cap) {
			if (grow(t))
				return -ENOMEM;
			s = lookup(t->slots, t->cap, stream);
		}
		memset(s, 0, sizeof(*s));
		s->used = 1;
		s->stream = stream;
		t->c.streams++;
	}
	t->last = s;
	t->c.received++;
	if (RB_LIKELY(seq >= s->next)) {
		uint64_t gap = seq - s->next;
		if (RB_UNLIKELY(gap)) {
			/* The skipped numbers take over ring positions of numbers that
			 * fall out of the window: mark them missing. */
			if (gap >= TRACK_WINDOW)
				memset(s->bits, 0, sizeof(s->bits));
			else
				for (uint64_t q = s->next; q < seq; q++)
					bit_clear(s, q);
			t->c.gaps += gap;
		}
		bit_clear(s, seq);
		bit_set(s, seq);
		s->next = seq + 1;
		return TRACK_IN_ORDER;
	}
	if (s->next - seq > TRACK_WINDOW) {
		if (t->c.gaps) {
			t->c.gaps--;
			t->c.reorder++;
			return TRACK_LATE;
		}
		t->c.dup++;
		return TRACK_DUP;
	}
	if (bit_get(s, seq)) {
		t->c.dup++;
		return TRACK_DUP;
	}
	bit_set(s, seq);
	t->c.gaps--;
	t->c.reorder++;
	return TRACK_LATE;
}

uint64_t track_next(const struct track *t, uint32_t stream)
{
	const struct track_stream *s = lookup(t->slots, t->cap, stream);
	return s->used ? s->next : 0;
}
