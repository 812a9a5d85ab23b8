/* hash_bytes: every byte of a short string reaches the hash (the tail is read
 * with overlapping loads), lengths are told apart, and the value is stable. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"

/* Changing any one byte of a string of any length up to 40 changes its hash,
 * and so does appending a zero byte. */
Test(hash, every_byte_and_the_length_count)
{
	unsigned char buf[48];
	for (size_t len = 1; len <= 40; len++) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)('a' + i % 26);
		buf[len] = 0;
		uint64_t base = hash_bytes(buf, len);
		cr_assert_neq(base, hash_bytes(buf, len + 1), "length %zu vs %zu", len, len + 1);
		for (size_t i = 0; i < len; i++) {
			for (int bit = 0; bit < 8; bit++) {
				buf[i] ^= (unsigned char)(1u << bit);
				cr_assert_neq(hash_bytes(buf, len), base,
				              "length %zu, byte %zu, bit %d", len, i, bit);
				buf[i] ^= (unsigned char)(1u << bit);
			}
		}
	}
}

/* The hash does not read outside its input: the same bytes at another
 * address, with different neighbours, hash the same. */
Test(hash, depends_on_the_bytes_only)
{
	unsigned char a[64], b[64];
	memset(a, 0x11, sizeof a);
	memset(b, 0xee, sizeof b);
	for (size_t len = 0; len <= 24; len++) {
		memcpy(a + 7, "subject.name.with.tokens", len);
		memcpy(b + 31, "subject.name.with.tokens", len);
		cr_assert_eq(hash_bytes(a + 7, len), hash_bytes(b + 31, len), "length %zu", len);
	}
}

/* Subjects that differ only in their last characters (load.0, load.1, ...)
 * spread over shards as the router picks them (top 32 bits scaled). */
Test(hash, numbered_subjects_spread_over_shards)
{
	unsigned count[8] = {0};
	char subj[32];
	for (int i = 0; i < 8000; i++) {
		int n = snprintf(subj, sizeof subj, "load.%d", i);
		uint64_t h = hash_bytes(subj, (size_t)n);
		count[((h >> 32) * 8) >> 32]++;
	}
	for (int s = 0; s < 8; s++)
		cr_assert(count[s] > 800 && count[s] < 1200, "shard %d got %u of 8000", s,
		          count[s]);
}
