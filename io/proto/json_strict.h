/* Strict JSON syntax, as Go's encoding/json (and so nats-server) reads it:
 * RFC 8259 to the letter, and nothing after the value but blanks. cJSON,
 * which decodes ringbus's JSON, accepts more: raw control characters inside
 * strings, \u escapes with bad digits, numbers such as 01 or 1., form feeds
 * between tokens. Not on the hot path: once per CONNECT. */
#ifndef IO_PROTO_JSON_STRICT_H
#define IO_PROTO_JSON_STRICT_H

#include <stddef.h>

#include "core/compiler.h"

/* Deepest nesting of objects and arrays accepted (Go's limit). */
#define JSON_STRICT_MAX_DEPTH 10000

/* Where and why a document was refused. Caller storage. */
struct json_strict_err {
	size_t at;     /* offset of the offending byte; the length when the input ended */
	char why[112]; /* Go's wording: "invalid character '\t' in string literal" */
};

/* Checks that @s/@len (borrowed) is exactly one JSON value, with only blanks
 * (space, tab, CR, LF) around it. Returns 0, or -EINVAL and fills @err (may
 * be NULL). */
RB_MUST_CHECK int json_strict_check(const char *s, size_t len, struct json_strict_err *err);

/* Counts, in a document json_strict_check() accepted, the \u escapes of
 * UTF-16 surrogates that are not half of a valid pair: Go's decoder reads
 * each as U+FFFD, cJSON refuses the document. When @fix is not NULL (a copy
 * of @s, @len bytes, owned by the caller) each is rewritten there as
 * \ufffd, which cJSON reads as Go would. Returns the count. */
size_t json_strict_lone_surrogates(const char *s, size_t len, char *fix);

#endif /* IO_PROTO_JSON_STRICT_H */
