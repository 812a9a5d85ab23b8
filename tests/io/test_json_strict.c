/* Tests of io/json_strict: Go's JSON grammar and its error wording, checked
 * against nats-server 2.9.10 (raw CONNECT, its [ERR] log line quoted in
 * tests/io/test_connect.c), and the rewrite of lone surrogate escapes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "io/proto/json_strict.h"

/* Documents Go's decoder accepts (lengths explicit: some hold NUL bytes). */
static const struct {
	const char *doc;
	size_t len;
} accepted[] = {
#define DOC(s)                                                                                     \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}
    DOC("{}"),
    DOC("null"),
    DOC(" \t\r\n{ }\t\r\n"),
    DOC("{\"a\":[1,-0,0.5,-1.25e+10,1E5,2e-3,true,false,null,\"\"],\"b\":{\"c\":{}}}"),
    DOC("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\""),
    DOC("\"\x7f\x80\xff\xfe\""), /* any byte from 0x20 up, valid UTF-8 or not */
    DOC("\"\\ud800\""),          /* lone surrogates: read as U+FFFD */
    DOC("[[[[[]]]]]"),
    DOC("0"),
    DOC("-0.0e-1"),
#undef DOC
};

Test(json_strict, accepts_what_go_accepts)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(accepted); i++) {
		struct json_strict_err e = {0};
		cr_expect_eq(json_strict_check(accepted[i].doc, accepted[i].len, &e), 0,
		             "case %zu (%s): %s", i, accepted[i].doc, e.why);
	}
}

/* Refused documents, the offset of the offending byte and Go's reason. */
static const struct {
	const char *doc;
	size_t len;
	size_t at;
	const char *why;
} refused[] = {
#define DOC(s) s, sizeof(s) - 1
    {DOC("{\"n\":\"a\tb\"}"), 7, "invalid character '\\t' in string literal"},
    {DOC("{\"n\":\"a\0b\"}"), 7, "invalid character '\\x00' in string literal"},
    {DOC("{\"n\":\"a\rb\"}"), 7, "invalid character '\\r' in string literal"},
    {DOC("{\"n\":\"a\nb\"}"), 7, "invalid character '\\n' in string literal"},
    {DOC("{\"n\":\"a\x01"
         "b\"}"),
     7, "invalid character '\\x01' in string literal"},
    {DOC("{\"n\":\"a\x1f"
         "b\"}"),
     7, "invalid character '\\x1f' in string literal"},
    {DOC("{\"a\tb\":1}"), 3, "invalid character '\\t' in string literal"},
    {DOC("{\"n\":\"a\\xb\"}"), 8, "invalid character 'x' in string escape code"},
    {DOC("{\"n\":\"\\U0041\"}"), 7, "invalid character 'U' in string escape code"},
    {DOC("{\"n\":\"a\\u00zzb\"}"), 11, "invalid character 'z' in \\u hexadecimal character escape"},
    {DOC("{\"n\":\"\\u12\"}"), 10, "invalid character '\"' in \\u hexadecimal character escape"},
    {DOC("{} x"), 3, "invalid character 'x' after top-level value"},
    {DOC("{}}"), 2, "invalid character '}' after top-level value"},
    {DOC("{} {}"), 3, "invalid character '{' after top-level value"},
    {DOC("{}\0"), 2, "invalid character '\\x00' after top-level value"},
    {DOC("{}\rx"), 3, "invalid character 'x' after top-level value"},
    {DOC("{\"x\":01}"), 6, "invalid character '1' after object key:value pair"},
    {DOC("{\"x\":+1}"), 5, "invalid character '+' looking for beginning of value"},
    {DOC("{\"x\":.5}"), 5, "invalid character '.' looking for beginning of value"},
    {DOC("{\"x\":1.}"), 7, "invalid character '}' after decimal point in numeric literal"},
    {DOC("{\"x\":-}"), 6, "invalid character '}' in numeric literal"},
    {DOC("{\"x\":1e}"), 7, "invalid character '}' in exponent of numeric literal"},
    {DOC("{\f\"x\":1}"), 1, "invalid character '\\f' looking for beginning of object key string"},
    {DOC("{\v\"x\":1}"), 1, "invalid character '\\v' looking for beginning of object key string"},
    {DOC("{\"x\":[1,]}"), 8, "invalid character ']' looking for beginning of value"},
    {DOC("{\"x\":1,}"), 7, "invalid character '}' looking for beginning of object key string"},
    {DOC("{\"x\":tru}"), 8, "invalid character '}' in literal true (expecting 'e')"},
    {DOC("{\"x\":nul}"), 8, "invalid character '}' in literal null (expecting 'l')"},
    {DOC("{\"x\":'a'}"), 5, "invalid character '\\'' looking for beginning of value"},
    {DOC("{verbose:false}"), 1, "invalid character 'v' looking for beginning of object key string"},
    {DOC("{\"x\":1 2}"), 7, "invalid character '2' after object key:value pair"},
    {DOC("{\"x\" 1}"), 5, "invalid character '1' after object key"},
    {DOC("[1 2]"), 3, "invalid character '2' after array element"},
    {DOC(""), 0, "unexpected end of JSON input"},
    {DOC(" \r\n"), 3, "unexpected end of JSON input"},
    {DOC("{\"x\":"), 5, "unexpected end of JSON input"},
    {DOC("{\"x\":\"ab"), 8, "unexpected end of JSON input"},
    {DOC("{\"x\":\"\\u12"), 10, "unexpected end of JSON input"},
    {DOC("[[["), 3, "unexpected end of JSON input"},
    {DOC("-"), 1, "unexpected end of JSON input"},
#undef DOC
};

Test(json_strict, refuses_what_go_refuses_with_its_reason)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(refused); i++) {
		struct json_strict_err e = {0};
		int r = json_strict_check(refused[i].doc, refused[i].len, &e);
		cr_expect_eq(r, -EINVAL, "case %zu accepted", i);
		cr_expect_str_eq(e.why, refused[i].why, "case %zu", i);
		cr_expect_eq(e.at, refused[i].at, "case %zu: at %zu, want %zu", i, e.at,
		             refused[i].at);
	}
}

Test(json_strict, nesting_is_bounded)
{
	static char deep[2 * JSON_STRICT_MAX_DEPTH + 2];
	memset(deep, '[', JSON_STRICT_MAX_DEPTH);
	memset(deep + JSON_STRICT_MAX_DEPTH, ']', JSON_STRICT_MAX_DEPTH);
	cr_assert_eq(json_strict_check(deep, 2 * JSON_STRICT_MAX_DEPTH, NULL), 0);
	memset(deep, '[', JSON_STRICT_MAX_DEPTH + 1);
	memset(deep + JSON_STRICT_MAX_DEPTH + 1, ']', JSON_STRICT_MAX_DEPTH + 1);
	cr_assert_eq(json_strict_check(deep, 2 * JSON_STRICT_MAX_DEPTH + 2, NULL), -EINVAL);
}

Test(json_strict, lone_surrogates_become_the_replacement_character)
{
	static const struct {
		const char *in;
		const char *out;
		size_t n;
	} rows[] = {
	    {"{\"n\":\"\\ud800\"}", "{\"n\":\"\\ufffd\"}", 1},
	    {"{\"n\":\"\\udc00x\"}", "{\"n\":\"\\ufffdx\"}", 1},
	    {"{\"n\":\"\\uD83D\\uDE00\"}", "{\"n\":\"\\uD83D\\uDE00\"}", 0},
	    {"{\"n\":\"\\ud800\\ud800\\udc00\"}", "{\"n\":\"\\ufffd\\ud800\\udc00\"}", 1},
	    {"{\"n\":\"\\ud800\\u0041\"}", "{\"n\":\"\\ufffd\\u0041\"}", 1},
	    {"{\"n\":\"\\\\ud800\"}", "{\"n\":\"\\\\ud800\"}", 0}, /* an escaped backslash */
	    {"{\"n\\\"\":\"\\udfff\"}", "{\"n\\\"\":\"\\ufffd\"}", 1},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		size_t len = strlen(rows[i].in);
		char fix[64];
		cr_assert_eq(json_strict_check(rows[i].in, len, NULL), 0, "row %zu", i);
		memcpy(fix, rows[i].in, len + 1);
		cr_expect_eq(json_strict_lone_surrogates(rows[i].in, len, NULL), rows[i].n,
		             "row %zu", i);
		cr_expect_eq(json_strict_lone_surrogates(rows[i].in, len, fix), rows[i].n,
		             "row %zu", i);
		cr_expect_str_eq(fix, rows[i].out, "row %zu", i);
	}
}
