/* Fast non-cryptographic hashing of short byte strings (subjects, sids). */
#ifndef CORE_HASH_H
#define CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Mixes a 64-bit integer (ids, counters) into a well-spread 64-bit hash:
 * murmur3's finaliser. The one integer mixer of the project. */
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* 64-bit hash of @p/@len: FNV-1a style over 8-byte words, the short tail
 * read as one word (overlapping loads, never a byte past the end), then a
 * final avalanche. Every byte of the input reaches the hash; the length
 * seeds it. Stable for a given input across runs and threads. */
static inline uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)len;
	size_t n = len;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w;
		if (len >= 8) {
			memcpy(&w, s + n - 8, 8); /* the last 8 bytes, overlapping */
		} else if (n >= 4) {
			uint32_t a, b;
			memcpy(&a, s, 4);
			memcpy(&b, s + n - 4, 4);
			w = (uint64_t)a << 32 | b;
		} else {
			w = (uint64_t)s[0] << 16 | (uint64_t)s[n >> 1] << 8 | s[n - 1];
		}
		h = (h ^ w) * 0x100000001b3ull;
	}
	return hash_u64(h); /* the final avalanche */
}

#endif /* CORE_HASH_H */
