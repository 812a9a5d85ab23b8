/* copy_small: every length from 0 to 40 copies exactly its bytes, to and from
 * any alignment, and writes nothing outside the destination range. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/copy.h"

Test(copy, every_length_copies_exactly_its_bytes)
{
	unsigned char src[64], dst[96];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (unsigned char)(i * 7 + 1);
	for (size_t n = 0; n <= 40; n++) {
		for (size_t so = 0; so < 8; so++) {
			for (size_t off = 0; off < 8; off++) {
				memset(dst, 0xa5, sizeof dst);
				char *end = copy_small((char *)dst + 16 + off, src + so, n);
				cr_assert_eq(end, (char *)dst + 16 + off + n);
				cr_assert_eq(memcmp(dst + 16 + off, src + so, n), 0, "n %zu", n);
				for (size_t i = 0; i < sizeof dst; i++)
					if (i < 16 + off || i >= 16 + off + n)
						cr_assert_eq(dst[i], 0xa5,
						             "n %zu, byte %zu written", n, i);
			}
		}
	}
}

Test(copy, equal_small_agrees_with_memcmp_for_every_length_and_difference)
{
	unsigned char a[64], b[64];
	for (size_t n = 0; n <= 48; n++) {
		for (size_t i = 0; i < n + 1; i++) {
			for (size_t k = 0; k < sizeof(a); k++)
				a[k] = b[k] = (unsigned char)(k * 7 + 1);
			if (i < n)
				b[i] ^= 0x40; /* one byte differs, or none (i == n) */
			/* a difference just outside the range must not count */
			b[n] ^= 0x10;
			cr_assert_eq(equal_small(a, b, n), memcmp(a, b, n) == 0, "n %zu, i %zu", n,
			             i);
		}
	}
}
