/* Numbers from their text: integers with size suffixes, floats and dates as
 * the lexer found them, and Go duration strings for conf_as_duration_ns. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf_int.h"

/* Size suffixes, any case: powers of 1000 or of 1024. */
static const struct {
	const char *suffix;
	unsigned power;
	bool binary;
} suffixes[] = {
    {"k", 1, false},  {"kb", 1, true},  {"ki", 1, true},  {"kib", 1, true}, {"m", 2, false},
    {"mb", 2, true},  {"mi", 2, true},  {"mib", 2, true}, {"g", 3, false},  {"gb", 3, true},
    {"gi", 3, true},  {"gib", 3, true}, {"t", 4, false},  {"tb", 4, true},  {"ti", 4, true},
    {"tib", 4, true}, {"p", 5, false},  {"pb", 5, true},  {"pi", 5, true},  {"pib", 5, true},
    {"e", 6, false},  {"eb", 6, true},  {"ei", 6, true},  {"eib", 6, true},
};

/* The multiplier of @suffix/@len ("" is 1), or 0 when it is not one. */
static int64_t suffix_scale(const char *suffix, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < RB_ARRAY_LEN(suffixes); i++) {
		if (strlen(suffixes[i].suffix) != len ||
		    strncasecmp(suffixes[i].suffix, suffix, len))
			continue;
		int64_t scale = 1;
		for (unsigned p = 0; p < suffixes[i].power; p++)
			scale *= suffixes[i].binary ? 1024 : 1000;
		return scale;
	}
	return 0;
}

/* The token's text, [-]digits[suffix], into its integer value. Overflow and
 * unknown suffixes are errors here (nats-server wraps the one and drops the
 * key of the other without a word). */
int conf_scalar_int(struct conf_src *s, struct conf_token *tok)
{
	const char *p = tok->raw, *end = tok->raw + tok->raw_len;
	bool neg = p < end && *p == '-';
	uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	bool over = false;
	for (p += neg; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (mag > (limit - d) / 10)
			over = true;
		else
			mag = mag * 10 + d;
	}
	int64_t scale = suffix_scale(p, (size_t)(end - p));
	if (scale == 0)
		return conf_fail(s, tok->line, tok->col, -EINVAL,
		                 "invalid size suffix in '%s' (k, kb, ki, kib ... e, eb, ei, eib)",
		                 tok->raw);
	int64_t v = 0;
	if (!over) {
		/* -mag is representable: mag <= 2^63 for a negative number. */
		int64_t base = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		over = __builtin_mul_overflow(base, scale, &v);
	}
	if (over)
		return conf_fail(s, tok->line, tok->col, -EINVAL, "integer '%s' is out of range",
		                 tok->raw);
	tok->value->u.i = v;
	return 0;
}

int conf_parse_size(const char *s, size_t len, int64_t *out)
{
	const char *p = s, *end = s + len;
	bool neg = p < end && *p == '-';
	uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	const char *digits = p + neg;
	for (p = digits; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (mag > (limit - d) / 10)
			return -ERANGE;
		mag = mag * 10 + d;
	}
	if (p == digits)
		return -EINVAL;
	int64_t scale = suffix_scale(p, (size_t)(end - p));
	if (scale == 0)
		return -EINVAL;
	int64_t v;
	if (__builtin_mul_overflow(neg ? (int64_t)(0 - mag) : (int64_t)mag, scale, &v))
		return -ERANGE;
	*out = v;
	return 0;
}

/* The token's text, [-]digits.digits, into a double. strtod() reads the C
 * locale's `.`: ringbus never calls setlocale(). */
int conf_scalar_float(struct conf_src *s, struct conf_token *tok)
{
	errno = 0;
	double v = strtod(tok->raw, NULL);
	if (errno == ERANGE && isinf(v))
		return conf_fail(s, tok->line, tok->col, -EINVAL, "float '%s' is out of range",
		                 tok->raw);
	tok->value->u.f = v;
	return 0;
}

static unsigned digits2(const char *p)
{
	return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

/* The token's text, YYYY-MM-DDTHH:MM:SSZ (the form is checked), checked as
 * a real date and time; the value keeps the text (conf_raw). */
int conf_scalar_datetime(struct conf_src *s, struct conf_token *tok)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *t = tok->raw;
	unsigned year = digits2(t) * 100 + digits2(t + 2), month = digits2(t + 5);
	unsigned day = digits2(t + 8), hour = digits2(t + 11), min = digits2(t + 14);
	unsigned sec = digits2(t + 17);
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	bool ok = month >= 1 && month <= 12 && day >= 1 && day <= mdays[month - 1] &&
	          (month != 2 || day <= 28 || leap) && hour < 24 && min < 60 && sec < 60;
	if (!ok)
		return conf_fail(s, tok->line, tok->col, -EINVAL,
		                 "expected Zulu formatted DateTime, but got '%s'", tok->raw);
	return 0;
}

/* Nanoseconds per unit of a Go duration; 0 when @u/@len is not a unit. */
static uint64_t duration_unit(const char *u, size_t len)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},
	    {"us", 1000},
	    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
	    {"ms", 1000000},
	    {"s", 1000000000},
	    {"m", 60ull * 1000000000},
	    {"h", 3600ull * 1000000000},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(units); i++)
		if (strlen(units[i].name) == len && memcmp(units[i].name, u, len) == 0)
			return units[i].ns;
	return 0;
}

/* One run "12.5ms" at *@pp: adds its nanoseconds to *@total. The sums
 * and their limits are Go's, so both give the same nanosecond. */
static int duration_run(const char **pp, const char *end, uint64_t *total)
{
	const uint64_t max = (uint64_t)1 << 63;
	const char *p = *pp;
	uint64_t whole = 0, frac = 0;
	double scale = 1;
	bool digits = false, over = false;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits = true) {
		if (whole > max / 10)
			over = true;
		else
			whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p == '.') {
		bool full = false; /* further digits cannot change the sum */
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits = true) {
			if (full || frac > (max - 1) / 10 ||
			    frac * 10 + (uint64_t)(*p - '0') > max) {
				full = true;
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	if (!digits)
		return -EINVAL;
	const char *u = p;
	while (p < end && *p != '.' && (*p < '0' || *p > '9'))
		p++;
	uint64_t unit = duration_unit(u, (size_t)(p - u));
	if (!unit)
		return -EINVAL;
	if (over || whole > max || whole > max / unit)
		return -ERANGE;
	uint64_t v = whole * unit;
	if (frac)
		v += (uint64_t)((double)frac * ((double)unit / scale));
	if (v > max || v > max - *total)
		return -ERANGE;
	*total += v;
	*pp = p;
	return 0;
}

int conf_parse_duration_ns(const char *s, size_t len, int64_t *out)
{
	const char *p = s, *end = s + len;
	bool neg = false;
	uint64_t total = 0;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (end - p == 1 && *p == '0') {
		*out = 0;
		return 0;
	}
	if (p == end)
		return -EINVAL;
	while (p < end) {
		int ret = duration_run(&p, end, &total);
		if (ret)
			return ret;
	}
	if (!neg && total > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}
