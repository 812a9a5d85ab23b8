/* core/conf: the grammar of nats-server's configuration files, each
 * construct as a row of text and the tree it gives, and the errors with
 * their positions. Rows marked "nats-server" were checked with
 * `nats-server -c f -t` (2.9.10); see docs/CONFIG-FORMAT.md. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "tests/core/conf_test.h"

struct row {
	const char *text;
	const char *tree;
};

/* Each row's text gives its tree, or (tree NULL) an error. */
static void check_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].tree) {
			struct conf_error err;
			ct_parse_fail(rows[i].text, CONF_NO_ENV, &err);
			continue;
		}
		struct conf_value *root = ct_parse(rows[i].text, CONF_NO_ENV);
		cr_expect_str_eq(ct_dump(root), rows[i].tree, "row %zu [%s]", i, rows[i].text);
		conf_free(root);
	}
}

/* `key: v`, `key = v`, `key v`; entries end at a new line, `;` or `,`. */
Test(conf, separators_and_entry_ends)
{
	static const struct row rows[] = {
	    {"a: 1", "{a:1}"},
	    {"a = 1", "{a:1}"},
	    {"a 1", "{a:1}"},
	    {"a:1\nb=2\nc 3\n", "{a:1 b:2 c:3}"},
	    {"a: 1; b: 2, c: 3", "{a:1 b:2 c:3}"},
	    {"a\t=\t1", "{a:1}"},
	    {"a\n1", "{a:1}"},     /* a key's value may start on the next line... */
	    {"a\n=\n\"x\"", NULL}, /* ...but not after a separator at the top level */
	    {"a:=1", "{a:\"=1\"}"},
	    {"a: 1;;\n", "{a:1}"}, /* empty entries at the top level */
	    {"a: 1\r\nb: 2\r\n", "{a:1 b:2}"},
	    {"", "{}"},
	    {"\n  \n", "{}"},
	    {"a =", "{a:\"\"}"}, /* an empty value at the end (nats-server) */
	    {"a = ;", "{a:\"\"}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* Keys keep their spelling; they may be quoted (then anything goes), and a
 * bare key ends at white space, `:` or `=`. */
Test(conf, keys)
{
	static const struct row rows[] = {
	    {"Server_Name: a", "{Server_Name:\"a\"}"},
	    {"\"a key\": 1", "{a key:1}"},
	    {"'a:key' = 1", "{a:key:1}"},
	    {"\"a\"1", "{a:1}"},
	    {"a/b.c-d: 1", "{a/b.c-d:1}"},
	    {"m { /x: 1, \"y z\": 2 }", "{m:{/x:1 y z:2}}"},
	    {"\xc3\xa9t\xc3\xa9: 1", "{\xc3\xa9t\xc3\xa9:1}"},
	    /* Unicode spaces around keys, as Go's unicode.IsSpace (nats-server) */
	    {"a\xc2\xa0: 1\nb\xe3\x80\x80"
	     "2",
	     "{a:1 b:2}"},
	    {"m {\xc2\x85x: 1 }", "{m:{x:1}}"},
	    {"a:\xc2\xa0x", "{a:\"\\xc2\\xa0x\"}"}, /* not before a value */
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* # and // comments run to the end of the line, wherever a key or the end
 * of a value may be; inside a value they are text. */
Test(conf, comments)
{
	static const struct row rows[] = {
	    {"# only a comment", "{}"},
	    {"a: 1 # one\nb: 2 // two\n// three\n", "{a:1 b:2}"},
	    {"m { # open\n a: 1 # one\n // alone\n b: 2 }", "{m:{a:1 b:2}}"},
	    {"l [ # open\n 1 # one\n // alone\n 2 ]", "{l:[1 2]}"},
	    {"a: x#y, b: x//y", "{a:\"x#y\" b:\"x//y\"}"},
	    {"a: #x", "{a:\"#x\"}"},
	    {"a: \"#x\" # c", "{a:\"#x\"}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* Maps and arrays, nested; arrays split by `,` or new lines, trailing ones
 * allowed; a whole file may sit in `{ }`. */
Test(conf, maps_and_arrays)
{
	static const struct row rows[] = {
	    {"m {}", "{m:{}}"},
	    {"m: {a: 1, b: {c: [1, 2]}}", "{m:{a:1 b:{c:[1 2]}}}"},
	    {"m = {\n a = 1\n b 2;\n c: 3,\n}", "{m:{a:1 b:2 c:3}}"},
	    {"m {\n a:\n 1\n}", "{m:{a:1}}"}, /* in a map, a value may follow on a new line */
	    {"l: []", "{l:[]}"},
	    {"l: [1, 2, 3,]", "{l:[1 2 3]}"},
	    {"l: [\n 1\n 2,\n 3\n]", "{l:[1 2 3]}"},
	    {"l: [[1], [], [[x]]]", "{l:[[1] [] [[\"x\"]]]}"},
	    {"l: [{a: 1}, {b: 2}]", "{l:[{a:1} {b:2}]}"},
	    {"l: [1]", "{l:[1]}"}, /* nats-server 2.9.10 rejects this one */
	    {"a {}, b {}; c {}", "{a:{} b:{} c:{}}"},
	    {"{ a: 1 }", "{a:1}"},
	    {"{\n \"a\": 1,\n \"b\": [\"x\", \"y\"]\n}\n", "{a:1 b:[\"x\" \"y\"]}"},
	    {"{{ a: 1 }} }", "{a:1}"}, /* as nats-server takes them at the top level */
	    {"{ a: 1", "{a:1}"},
	    {"{\n a: 1\n} # end\n}\n;", "{a:1}"},
	    {"a: 1 } b: 2", "{a:1 b:2}"}, /* after a value, a `}` ends the entry */
	    {"m { a: 1; }", "{m:{a:1}}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* Bare strings end at white space, a new line, `,;]}`; booleans in any
 * case; quoted strings; escapes in "..." and in bare strings; raw '...'. */
Test(conf, strings_and_booleans)
{
	static const struct row rows[] = {
	    {"a: hello", "{a:\"hello\"}"},
	    {"a: nats://u:p@host:4222/x?y", "{a:\"nats://u:p@host:4222/x?y\"}"},
	    {"a: [x,y]z", NULL},
	    {"a: [x;y]", NULL},
	    {"a: x}", "{a:\"x\"}"},
	    {"a: true, b: FALSE, c: Yes, d: no, e: ON, f: off",
	     "{a:true b:false c:true d:false e:true f:false}"},
	    {"a: \"true\", b: truely, c: 'no'", "{a:\"true\" b:\"truely\" c:\"no\"}"},
	    {"a: \"x y\\tz\\n\\r\\\"\\\\\\x41\\x00\"", "{a:\"x y\\tz\\n\\x0d\\\"\\\\A\\x00\"}"},
	    {"a: \"two\nlines\"", "{a:\"two\\nlines\"}"},
	    {"a: 'raw \\t \" x'", "{a:\"raw \\\\t \\\" x\"}"},
	    {"a: tab\\there", "{a:\"tab\\there\"}"},
	    {"a: \"\"", "{a:\"\"}"},
	    {"a: abc'", "{a:\"abc\"}"}, /* a quote ends a bare string (nats-server) */
	    {"a: x$y", "{a:\"x$y\"}"},
	    {"a: \xc3\xa9", "{a:\"\\xc3\\xa9\"}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* Block strings: from `(` to a `)` alone on its line; the first new line
 * and the one before the `)` stay. */
Test(conf, block_strings)
{
	static const struct row rows[] = {
	    {"a: (\nline 1\n  line 2\n)\nb: 1", "{a:\"\\nline 1\\n  line 2\\n\" b:1}"},
	    {"a: (\n)", "{a:\"\\n\"}"},
	    {"a: (x\n)", "{a:\"x\\n\"}"},
	    {"a: (\n (nested) ) and more\n)", "{a:\"\\n (nested) ) and more\\n\"}"},
	    {"a: (\n-----BEGIN X-----\nAAAA\n-----END X-----\n)\n",
	     "{a:\"\\n-----BEGIN X-----\\nAAAA\\n-----END X-----\\n\"}"},
	    {"l: [\n(\nx\n)\n]", "{l:[\"\\nx\\n\"]}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* Numbers: integers, negative ones, floats; words that start with digits
 * are strings (2s, 500ms), IP addresses too; dates. */
Test(conf, numbers_and_words)
{
	static const struct row rows[] = {
	    {"a: 0, b: 42, c: -7, d: 007", "{a:0 b:42 c:-7 d:7}"},
	    {"a: 9223372036854775807, b: -9223372036854775808",
	     "{a:9223372036854775807 b:-9223372036854775808}"},
	    {"a: 1.5, b: -0.25, c: 10.0", "{a:1.5f b:-0.25f c:10f}"},
	    {"a: 2s, b: 500ms, c: 1h, d: 10us", "{a:\"2s\" b:\"500ms\" c:\"1h\" d:\"10us\"}"},
	    {"a: 1ms, b: 5min, c: 1kx", "{a:\"1ms\" b:\"5min\" c:\"1kx\"}"},
	    {"a: 127.0.0.1, b: 0.0.0.0:4222, c: 1.2.3",
	     "{a:\"127.0.0.1\" b:\"0.0.0.0:4222\" c:\"1.2.3\"}"},
	    {"a: 10.0.0.1:6222-x", NULL},
	    {"a: 0x10, b: 1_000, c: +1, d: 1b", "{a:\"0x10\" b:\"1_000\" c:\"+1\" d:\"1b\"}"},
	    {"a: 1'x", "{a:\"1'x\"}"},
	    {"a: 2023-01-02T03:04:05Z", "{a:@2023-01-02T03:04:05Z}"},
	    {"a: 2024-02-29T23:59:59Z", "{a:@2024-02-29T23:59:59Z}"},
	    {"l: [1k]", "{l:[\"1k\"]}"}, /* nats-server: a `]` turns 1k into a string */
	};
	check_rows(rows, RB_ARRAY_LEN(rows));
}

/* Sizes: k m g t p e are powers of 1000; kb/ki/kib and so on powers of
 * 1024; any case. They are integers; conf_raw keeps the spelling. */
Test(conf, sizes)
{
	static const struct {
		const char *text;
		int64_t value;
	} rows[] = {
	    {"1k", 1000},
	    {"1K", 1000},
	    {"2kb", 2048},
	    {"2KB", 2048},
	    {"2Ki", 2048},
	    {"2kIB", 2048},
	    {"1m", 1000000},
	    {"1MB", 1048576},
	    {"1mib", 1048576},
	    {"3g", 3000000000},
	    {"3GB", 3221225472},
	    {"1t", 1000000000000},
	    {"1TiB", 1099511627776},
	    {"1p", 1000000000000000},
	    {"1pb", 1125899906842624},
	    {"1e", 1000000000000000000},
	    {"7EB", 8070450532247928832},
	    {"-5k", -5000},
	    {"0G", 0},
	};
	char text[64];
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		snprintf(text, sizeof(text), "v: %s", rows[i].text);
		struct conf_value *root = ct_parse(text, 0);
		const struct conf_value *v = conf_map_get(root, "v");
		int64_t got;
		uint64_t size;
		cr_assert_eq(conf_as_int(v, &got), 0, "%s", text);
		cr_expect_eq(got, rows[i].value, "%s gave %lld", text, (long long)got);
		cr_expect_str_eq(conf_raw(v, NULL), rows[i].text);
		cr_expect_eq(conf_as_size(v, &size), rows[i].value < 0 ? -ERANGE : 0, "%s", text);
		conf_free(root);
	}
}

struct bad {
	const char *text;
	int code;
	const char *where; /* "line:col: start of the message" after "t.conf:" */
};

static void check_errors(const struct bad *rows, size_t n)
{
	char want[256];
	for (size_t i = 0; i < n; i++) {
		struct conf_error err;
		int ret = ct_parse_fail(rows[i].text, CONF_NO_ENV, &err);
		cr_expect_eq(ret, rows[i].code, "row %zu [%s]: %d %s", i, rows[i].text, ret,
		             err.text);
		snprintf(want, sizeof(want), "t.conf:%s", rows[i].where);
		cr_expect(strncmp(err.text, want, strlen(want)) == 0,
		          "row %zu [%s]:\n got  %s\n want %s", i, rows[i].text, err.text, want);
		cr_expect_str_eq(err.file, "t.conf");
		cr_expect_gt(err.line, 0);
	}
}

/* Syntax errors say where, as file:line:col, columns counted in bytes from 1. */
Test(conf, syntax_errors_have_positions)
{
	static const struct bad rows[] = {
	    {"a {\n b: 1\n", -EINVAL, "3:1: unexpected end of file inside a map (opened at 1:3)"},
	    {"a [1,\n2", -EINVAL, "2:2: unexpected end of file inside an array (opened at 1:3)"},
	    {"a: \"abc", -EINVAL,
	     "1:8: unexpected end of file inside a quoted string (opened at 1:4)"},
	    {"a: 'abc", -EINVAL, "1:8: unexpected end of file inside a quoted string"},
	    {"\"abc: 1", -EINVAL,
	     "1:8: unexpected end of file inside a quoted key (opened at 1:1)"},
	    {"a: (\nabc)\n", -EINVAL, "3:1: unexpected end of file inside a block opened at 1:4"},
	    {"a: \"x\\qy\"", -EINVAL, "1:6: invalid escape 'q'"},
	    {"a: x\\qy", -EINVAL, "1:5: invalid escape 'q'"},
	    {"a: \"\\x4\"", -EINVAL, "1:5: expected two hexadecimal digits after '\\x'"},
	    {"a: \"\\xg0\"", -EINVAL, "1:5: expected two hexadecimal digits after '\\x'"},
	    {"a: 1m30s", -EINVAL,
	     "1:6: expected a new line, ';' or ',' after the value of \"a\", found '3'"},
	    {"a: 1.5h", -EINVAL,
	     "1:7: expected a new line, ';' or ',' after the value of \"a\", found 'h'"},
	    {"a: b c", -EINVAL,
	     "1:6: expected a new line, ';' or ',' after the value of \"a\", found 'c'"},
	    {"m { a: 1 b: 2 }", -EINVAL, "1:10: expected a new line, ';', '}' or ','"},
	    {"l [1 2]", -EINVAL,
	     "1:6: expected ',', a new line or ']' after an array element, found '2'"},
	    {"l [1; 2]", -EINVAL,
	     "1:5: expected ',', a new line or ']' after an array element, found ';'"},
	    {"l [1,,2]", -EINVAL, "1:6: unexpected ',' in an array"},
	    {"m { a: 1,, b: 2 }", -EINVAL, "1:10: unexpected ',' in a map"},
	    {"m { ] }", -EINVAL, "1:5: unexpected ']' in a map"},
	    {": 1", -EINVAL, "1:1: unexpected ':' at the top level"},
	    {"/a: 1", -EINVAL, "1:1: unexpected '/' at the top level"},
	    {"{\na: 1\n}\nb: 2", -EINVAL, "3:1: unexpected '}' at the top level"},
	    {"a: 1;;\nb: 2", -EINVAL, "1:6: unexpected ';' at the top level"},
	    {"]", -EINVAL, "1:1: unexpected ']' at the top level"},
	    {"a: 1\n\n  = 2", -EINVAL, "3:3: unexpected '=' at the top level"},
	    {"a:\n 1", -EINVAL, "1:3: expected a value, found a new line"},
	    {"a", -EINVAL, "1:1: key \"a\" has no value"},
	    {"m {\n  a\n}", -EINVAL, "2:3: key \"a\" has no value"},
	    {"m { a: , }", -EINVAL, "1:8: unexpected ',' where the value of \"a\" should be"},
	    {"a: .5", -EINVAL, "1:4: floats must start with a digit"},
	    {"a: 1.", -EINVAL, "1:6: expected a digit after '.', found the end of the file"},
	    {"a: -x", -EINVAL, "1:5: expected a digit after '-', found 'x'"},
	    {"a: -1x", -EINVAL, "1:6: expected a new line"},
	    {"a: 12-3", -EINVAL, "1:6: unexpected '-': dates must be in full Zulu form"},
	    {"a: 2023-01-02 03:04:05Z", -EINVAL, "1:14: expected 'T' in a date"},
	    {"a: 2023-02-29T00:00:00Z", -EINVAL,
	     "1:4: expected Zulu formatted DateTime, but got '2023-02-29T00:00:00Z'"},
	    {"a: 99999999999999999999", -EINVAL,
	     "1:4: integer '99999999999999999999' is out of range"},
	    {"a: 9223372036854775808", -EINVAL,
	     "1:4: integer '9223372036854775808' is out of range"},
	    {"a: 8EB", -EINVAL, "1:4: integer '8EB' is out of range"},
	    {"a: 1kbb", -EINVAL, "1:4: invalid size suffix in '1kbb'"},
	    {"include [a]", -EINVAL, "1:9: expected an include path, found the start of an array"},
	    {"include\nx", -EINVAL, "1:8: expected an include path, found a new line"},
	};
	check_errors(rows, RB_ARRAY_LEN(rows));
}

/* A float with 400 digits overflows; a tiny one is a tiny float. */
Test(conf, float_range)
{
	char text[512] = "a: 1";
	memset(text + 4, '0', 400);
	strcpy(text + 404, ".5");
	struct conf_error err;
	ct_parse_fail(text, 0, &err);
	cr_expect(strstr(err.text, "is out of range"), "%s", err.text);

	char tiny[512] = "a: 0.";
	memset(tiny + 5, '0', 400);
	strcpy(tiny + 405, "1");
	struct conf_value *root = ct_parse(tiny, 0);
	double f = 1;
	cr_assert_eq(conf_as_float(conf_map_get(root, "a"), &f), 0);
	cr_expect(f >= 0 && f < 1e-300);
	conf_free(root);
}
