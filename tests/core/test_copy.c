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
