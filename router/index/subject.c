/* NATS subject rules: validation of subscription and publish subjects, and a
 * reference matcher of a literal subject against a subscription pattern. */
#include "router/index/subject.h"

#include <string.h>

static bool subject_is_space(char c)
{
	/* nats-server 2.9 rejects these four; '\f' and '\v' are accepted. */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the token starting at @s, up to @end (exclusive). */
static size_t subject_token_len(const char *s, const char *end)
{
	const char *dot = memchr(s, '.', (size_t)(end - s));
	return dot ? (size_t)(dot - s) : (size_t)(end - s);
}

static bool subject_token_is(const char *tok, size_t len, char wc)
{
	return len == 1 && tok[0] == wc;
}

bool subject_valid_sub(const char *s, size_t len)
{
	const char *end = s + len;
	const char *p = s;

	if (len == 0)
		return false;
	for (;;) {
		size_t tl = subject_token_len(p, end);
		if (tl == 0)
			return false;
		for (size_t i = 0; i < tl; i++)
			if (subject_is_space(p[i]))
				return false;
		p += tl;
		if (p == end)
			return true;
		/* A '>' token followed by a separator is not the last token. */
		if (subject_token_is(p - tl, tl, '>'))
			return false;
		p++; /* the '.'; a trailing '.' leaves an empty token above */
	}
}

bool subject_has_wildcard(const char *s, size_t len)
{
	const char *end = s + len;
	const char *p = s;

	for (;;) {
		size_t tl = subject_token_len(p, end);
		if (subject_token_is(p, tl, '*') || subject_token_is(p, tl, '>'))
			return true;
		p += tl;
		if (p == end)
			return false;
		p++;
	}
}

bool subject_valid_pub(const char *s, size_t len)
{
	return subject_valid_sub(s, len) && !subject_has_wildcard(s, len);
}

bool subject_matches(const char *pattern, size_t plen, const char *subj, size_t slen)
{
	const char *pend = pattern + plen, *send = subj + slen;
	const char *p = pattern, *s = subj;

	for (;;) {
		size_t pl = subject_token_len(p, pend);
		size_t sl = subject_token_len(s, send);

		/* Here both sides have a token left: '>' takes it and the rest. */
		if (subject_token_is(p, pl, '>'))
			return true;
		if (!subject_token_is(p, pl, '*') && (pl != sl || memcmp(p, s, pl) != 0))
			return false;
		p += pl;
		s += sl;
		if (p == pend || s == send)
			return p == pend && s == send;
		p++;
		s++;
	}
}
