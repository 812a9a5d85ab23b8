/* Interest probes of ringbus-load and ringbus-load-blocking: with --sub-url
 * the subscribers sit on other servers than the publishers, and a message
 * published before a subscriber's interest has crossed the route is dropped
 * by the publishers' server (NATS routes forward only to known interest).
 * Before the run each publisher sends a probe on each of its subjects until
 * every subscriber has seen one on each of its own; only then do the
 * measured messages start, so every one of them must arrive. */
#ifndef TOOLS_LOAD_PROBE_H
#define TOOLS_LOAD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "tools/load/topo.h"

/* A probe payload: "RLPB" and the subject number (32 bits, little-endian),
 * shorter than any payload ringbus-load sends (PAYLOAD_MIN), so a probe
 * arriving late is never taken for a message. */
#define PROBE_LEN      8u
#define PROBE_EVERY_NS 10000000u /* a publisher's probes leave this often */

/* "PUB <prefix>.<k> 8\r\n<probe>\r\n" into @dst. Returns its length, or 0
 * when it does not fit @cap. */
size_t probe_encode(char *dst, size_t cap, const char *prefix, uint32_t k);

/* True when the @len bytes at @src are a probe; *@k gets its subject. */
bool probe_read(const char *src, uint32_t len, uint32_t *k);

/* Which of one subscriber's subjects a probe has reached. Owner: the
 * subscriber's thread (ringbus-load) or the main thread while probing
 * (ringbus-load-blocking). */
struct probe_seen {
	struct topo_set set; /* its subjects; unused with a pattern */
	uint8_t *bits;       /* one per subject of @set, heap; NULL with a pattern */
	uint32_t need;       /* subjects still without a probe */
};

/* Sets up @s for a subscriber of the subjects @set, or of one pattern
 * (@pattern: a single subscription, whose interest crosses as one: any probe
 * will do). Returns 0 or -ENOMEM. */
RB_MUST_CHECK int probe_seen_init(struct probe_seen *s, const struct topo_set *set, bool pattern);

/* Frees @s's bits. */
void probe_seen_fini(struct probe_seen *s);

/* Notes a probe on subject @k. Returns true exactly once: for the probe that
 * leaves no subject of @s without one. */
bool probe_seen_add(struct probe_seen *s, uint32_t k);

/* True when every subject of @s has had a probe. */
static inline bool probe_seen_done(const struct probe_seen *s)
{
	return s->need == 0;
}

#endif /* TOOLS_LOAD_PROBE_H */
