/* Parsing of setting values: numbers, sizes, durations, booleans. */
#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses a whole number in [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses a size: a number with an optional K, M or G (powers of 1024). */
int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	uint64_t mul = 1;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'K':
		mul = 1024;
		break;
	case 'M':
		mul = 1024 * 1024;
		break;
	case 'G':
		mul = 1024ull * 1024 * 1024;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && !end[2]))
		return -EINVAL;
	if (v > max / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* Parses a duration into milliseconds: "250ms", "2s", "1m", "1h", or a bare
 * number of seconds (nats-server's convention). */
int parse_duration_ms(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	double ms;
	if (!*end || !strcmp(end, "s"))
		ms = v * 1000;
	else if (!strcmp(end, "ms"))
		ms = v;
	else if (!strcmp(end, "m"))
		ms = v * 60000;
	else if (!strcmp(end, "h"))
		ms = v * 3600000;
	else
		return -EINVAL;
	if (ms < 0 || ms > 1e12)
		return -EINVAL;
	*out = (uint64_t)ms;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") ||
	    !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") ||
	    !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}
