/* Copies of a few bytes without a call: subjects, sids and small payloads
 * are written into output buffers once per delivery. */
#ifndef CORE_COPY_H
#define CORE_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copies @n bytes from @s to @d (not overlapping) and returns @d + @n. Up
 * to 16 bytes take two overlapping loads and stores, never touching a byte
 * outside either range; longer copies go to memcpy. */
static inline char *copy_small(char *d, const void *src, size_t n)
{
	const unsigned char *s = src;
	if (n > 16) {
		memcpy(d, s, n);
	} else if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n) {
		d[0] = (char)s[0];
		d[n >> 1] = (char)s[n >> 1];
		d[n - 1] = (char)s[n - 1];
	}
	return d + n;
}

#endif /* CORE_COPY_H */
