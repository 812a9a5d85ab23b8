/* Strict JSON syntax check: an iterative scanner with Go's grammar and error
 * wording, and the rewrite of lone surrogate escapes. */
#include "io/proto/json_strict.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The scanner's position and its stack of open containers (a bit each:
 * 1 object, 0 array). */
struct js {
	const char *s;
	size_t len, i;
	uint32_t depth;
	uint8_t stack[JSON_STRICT_MAX_DEPTH / 8 + 1];
	struct json_strict_err *err;
};

/* A byte as Go's scanner quotes it in its errors ('\t', '\x00', 'x'). */
static void js_quote(char *out, size_t cap, unsigned char c)
{
	static const char shorts[] = "\a\b\f\n\r\t\v";
	static const char names[] = "abfnrtv";
	const char *k = c ? strchr(shorts, c) : NULL;
	if (c == '\'')
		snprintf(out, cap, "'\\''");
	else if (k)
		snprintf(out, cap, "'\\%c'", names[k - shorts]);
	else if (c < 0x20 || c >= 0x7f)
		snprintf(out, cap, "'\\x%02x'", c);
	else
		snprintf(out, cap, "'%c'", c);
}

/* Records an error at the current byte: "invalid character ... @context", or
 * the end of the input. Returns -EINVAL. */
static int js_fail(struct js *j, const char *context)
{
	if (!j->err)
		return -EINVAL;
	j->err->at = j->i;
	if (j->i >= j->len) {
		snprintf(j->err->why, sizeof(j->err->why), "unexpected end of JSON input");
	} else {
		char q[8];
		js_quote(q, sizeof(q), (unsigned char)j->s[j->i]);
		snprintf(j->err->why, sizeof(j->err->why), "invalid character %s %s", q, context);
	}
	return -EINVAL;
}

static bool js_more(const struct js *j)
{
	return j->i < j->len;
}

static unsigned char js_cur(const struct js *j)
{
	return (unsigned char)j->s[j->i];
}

static void js_blanks(struct js *j)
{
	while (js_more(j) &&
	       (js_cur(j) == ' ' || js_cur(j) == '\t' || js_cur(j) == '\r' || js_cur(j) == '\n'))
		j->i++;
}

static bool js_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool js_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A string, from its opening quote to after its closing one. */
static int js_string(struct js *j)
{
	for (j->i++; js_more(j); j->i++) {
		unsigned char c = js_cur(j);
		if (c == '"') {
			j->i++;
			return 0;
		}
		if (c < 0x20)
			return js_fail(j, "in string literal");
		if (c != '\\')
			continue;
		j->i++;
		if (!js_more(j))
			break;
		c = js_cur(j);
		if (c == 'u') {
			for (int k = 0; k < 4; k++) {
				j->i++;
				if (!js_more(j))
					return js_fail(j, "");
				if (!js_hex(js_cur(j)))
					return js_fail(j, "in \\u hexadecimal character escape");
			}
		} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
			return js_fail(j, "in string escape code");
		}
	}
	return js_fail(j, "");
}

/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int js_number(struct js *j)
{
	if (js_cur(j) == '-')
		j->i++;
	if (!js_more(j))
		return js_fail(j, "");
	if (js_cur(j) == '0')
		j->i++;
	else if (js_digit(js_cur(j)))
		while (js_more(j) && js_digit(js_cur(j)))
			j->i++;
	else
		return js_fail(j, "in numeric literal");
	if (js_more(j) && js_cur(j) == '.') {
		j->i++;
		if (!js_more(j) || !js_digit(js_cur(j)))
			return js_fail(j, "after decimal point in numeric literal");
		while (js_more(j) && js_digit(js_cur(j)))
			j->i++;
	}
	if (js_more(j) && (js_cur(j) == 'e' || js_cur(j) == 'E')) {
		j->i++;
		if (js_more(j) && (js_cur(j) == '+' || js_cur(j) == '-'))
			j->i++;
		if (!js_more(j) || !js_digit(js_cur(j)))
			return js_fail(j, "in exponent of numeric literal");
		while (js_more(j) && js_digit(js_cur(j)))
			j->i++;
	}
	return 0;
}

/* true, false or null. */
static int js_literal(struct js *j, const char *word)
{
	for (size_t k = 0; word[k]; k++, j->i++) {
		if (!js_more(j))
			return js_fail(j, "");
		if (js_cur(j) != (unsigned char)word[k]) {
			char why[48];
			snprintf(why, sizeof(why), "in literal %s (expecting '%c')", word, word[k]);
			return js_fail(j, why);
		}
	}
	return 0;
}

static int js_push(struct js *j, bool object)
{
	if (j->depth >= JSON_STRICT_MAX_DEPTH)
		return js_fail(j, "exceeding the maximum depth");
	if (object)
		j->stack[j->depth / 8] |= (uint8_t)(1u << (j->depth % 8));
	else
		j->stack[j->depth / 8] &= (uint8_t) ~(1u << (j->depth % 8));
	j->depth++;
	j->i++;
	return 0;
}

static bool js_in_object(const struct js *j)
{
	uint32_t d = j->depth - 1;
	return j->stack[d / 8] & (1u << (d % 8));
}

/* After '{' or ',' in an object: a key, its colon. */
static int js_key(struct js *j)
{
	js_blanks(j);
	if (!js_more(j) || js_cur(j) != '"')
		return js_fail(j, "looking for beginning of object key string");
	int r = js_string(j);
	if (r)
		return r;
	js_blanks(j);
	if (!js_more(j) || js_cur(j) != ':')
		return js_fail(j, "after object key");
	j->i++;
	return 0;
}

int json_strict_check(const char *s, size_t len, struct json_strict_err *err)
{
	struct js j = {.s = s, .len = len, .err = err};
	int r;
	for (;;) {
		/* a value */
		js_blanks(&j);
		if (!js_more(&j))
			return js_fail(&j, "");
		unsigned char c = js_cur(&j);
		if (c == '{' || c == '[') {
			if ((r = js_push(&j, c == '{')) != 0)
				return r;
			js_blanks(&j);
			if (js_more(&j) && js_cur(&j) == (c == '{' ? '}' : ']')) {
				j.i++;
				j.depth--;
			} else if (c == '{') {
				if ((r = js_key(&j)) != 0)
					return r;
				continue;
			} else {
				continue;
			}
		} else if (c == '"') {
			r = js_string(&j);
		} else if (c == '-' || js_digit(c)) {
			r = js_number(&j);
		} else if (c == 't' || c == 'f' || c == 'n') {
			r = js_literal(&j, c == 't' ? "true" : c == 'f' ? "false" : "null");
		} else {
			r = js_fail(&j, "looking for beginning of value");
		}
		if (r)
			return r;
		/* after a value: close containers, or go on to the next value */
		for (;;) {
			js_blanks(&j);
			if (j.depth == 0)
				return js_more(&j) ? js_fail(&j, "after top-level value") : 0;
			if (!js_more(&j))
				return js_fail(&j, "");
			bool object = js_in_object(&j);
			c = js_cur(&j);
			if (c == (object ? '}' : ']')) {
				j.i++;
				j.depth--;
				continue;
			}
			if (c != ',')
				return js_fail(&j, object ? "after object key:value pair"
				                          : "after array element");
			j.i++;
			if (object && (r = js_key(&j)) != 0)
				return r;
			break;
		}
	}
}

/* The code unit of the escape "\uXXXX" at @s + @i, or -1 when there is none. */
static long js_u4(const char *s, size_t len, size_t i)
{
	if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	long v = 0;
	for (size_t k = i + 2; k < i + 6; k++) {
		unsigned char c = (unsigned char)s[k];
		if (!js_hex(c))
			return -1;
		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

size_t json_strict_lone_surrogates(const char *s, size_t len, char *fix)
{
	size_t n = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			in_string = !in_string;
			continue;
		}
		if (!in_string || s[i] != '\\')
			continue;
		long u = js_u4(s, len, i);
		if (u < 0) {
			i++; /* a two-character escape: skip its second */
			continue;
		}
		/* as Go's unquote: a high surrogate followed by a low one is a
		 * pair; any other surrogate stands for U+FFFD */
		long next = js_u4(s, len, i + 6);
		if (u >= 0xD800 && u < 0xDC00 && next >= 0xDC00 && next < 0xE000) {
			i += 11;
			continue;
		}
		if (u >= 0xD800 && u < 0xE000) {
			n++;
			if (fix)
				memcpy(fix + i + 2, "fffd", 4);
		}
		i += 5;
	}
	return n;
}
