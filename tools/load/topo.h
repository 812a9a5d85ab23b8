/* Who publishes and subscribes to which subject in ringbus-load and
 * ringbus-load-blocking, and how many messages each subscriber should get.
 * Pure functions; subjects are <prefix>.0 .. <prefix>.K-1. */
#ifndef TOOLS_LOAD_TOPO_H
#define TOOLS_LOAD_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The subjects first, first + step, ... (count of them). A sender cycles
 * over them: its message i goes to the (i mod count)-th. */
struct topo_set {
	uint32_t first;
	uint32_t step;
	uint32_t count;
};

/* ringbus-load's rule for member @i of @n over @k subjects: with k > n (or
 * k == n and @wide_when_equal) the subjects i, i+n, i+2n...; otherwise the
 * one subject i mod k. Publishers use it wide (k == P: publisher p on p),
 * subscribers narrow, so every subject has a subscriber when n > 0. */
struct topo_set topo_spread(uint32_t k, uint32_t n, uint32_t i, bool wide_when_equal);

/* The @j-th subject of @s. */
static inline uint32_t topo_nth(const struct topo_set *s, uint32_t j)
{
	return s->first + j * s->step;
}

/* Messages a sender that wrote @n messages cycling over @s put on its @j-th
 * subject. */
static inline uint64_t topo_sent_on(const struct topo_set *s, uint64_t n, uint32_t j)
{
	return (n + s->count - 1 - j) / s->count;
}

/* Adds to @sent (one counter per subject) the @n messages of a sender
 * cycling over @s. */
void topo_add_sent(uint64_t *sent, const struct topo_set *s, uint64_t n);

/* Sum of @sent over the subjects of @s: what a subscriber of @s gets. */
uint64_t topo_sum(const uint64_t *sent, const struct topo_set *s);

/* Writes "<prefix>.<k>" into @dst. Returns its length, or 0 when it does not
 * fit @cap. */
size_t topo_subject(char *dst, size_t cap, const char *prefix, uint32_t k);

/* How many of <prefix>.0 .. <prefix>.@k-1 the subscription @pattern (a valid
 * subscription subject, wildcards allowed) matches. */
uint32_t topo_count_matching(uint32_t k, const char *prefix, const char *pattern);

/* Sum of @sent (@k counters) over the subjects @pattern matches: what a
 * subscriber of @pattern gets. Tokenises K subjects: once per run, not per
 * message. */
uint64_t topo_sum_matching(const uint64_t *sent, uint32_t k, const char *prefix,
                           const char *pattern);

#endif /* TOOLS_LOAD_TOPO_H */
