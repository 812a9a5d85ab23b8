/* NATS subject rules: validation and tokenising. Pure functions. */
#ifndef ROUTER_INDEX_SUBJECT_H
#define ROUTER_INDEX_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

/* Tokens are separated by '.', non-empty, contain no whitespace (space, tab,
 * \r, \n). In a subscription subject '*' matches one token and '>' one or
 * more and may only be the last token; wildcard characters count only as whole
 * tokens ("a*b" is a literal token). */

/* True when @s/@len is a valid subscription subject (wildcards allowed). */
bool subject_valid_sub(const char *s, size_t len);

/* True when @s/@len is a valid literal subject (no wildcard tokens): what a
 * pedantic client may publish to. */
bool subject_valid_pub(const char *s, size_t len);

/* True when the valid subject @s/@len has a '*' or '>' token. */
bool subject_has_wildcard(const char *s, size_t len);

/* True when the literal subject @subj matches the subscription @pattern. Both
 * must be valid. A reference matcher: tokenises every time; not for the hot path. */
bool subject_matches(const char *pattern, size_t plen, const char *subj, size_t slen);

#endif /* ROUTER_INDEX_SUBJECT_H */
