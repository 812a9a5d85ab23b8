/* core/conf: reading a tree (maps, arrays, positions), the conversions,
 * Go durations, and the limits that keep a hostile file harmless. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "tests/core/conf_test.h"

/* Lookups ignore case and give the last of a repeated key; iteration shows
 * every entry in file order, the replaced ones marked shadowed. */
Test(conf_api, maps)
{
	struct conf_value *root = ct_parse("Port: 1\nhost: h\nPORT: 2\nport: 3\n", 0);
	cr_expect_eq(conf_map_len(root), 4);
	int64_t v;
	cr_assert_eq(conf_as_int(conf_map_get(root, "pOrT"), &v), 0);
	cr_expect_eq(v, 3);
	cr_expect_null(conf_map_get(root, "missing"));
	cr_expect_null(conf_map_get(root, "por"));
	const char *keys[4];
	bool shadowed[4];
	size_t n = 0;
	for (const struct conf_entry *e = conf_map_first(root); e; e = conf_entry_next(e), n++) {
		keys[n] = conf_entry_key(e);
		shadowed[n] = conf_entry_shadowed(e);
	}
	cr_assert_eq(n, 4);
	cr_expect_str_eq(keys[0], "Port");
	cr_expect_str_eq(keys[2], "PORT");
	cr_expect(shadowed[0] && !shadowed[1] && shadowed[2] && !shadowed[3]);
	const struct conf_entry *e = conf_map_find(root, "PORT");
	cr_expect_str_eq(conf_entry_key(e), "port");
	cr_expect_eq(conf_entry_pos(e).line, 4);
	cr_expect(conf_key_eq("Max_Payload", "max_payload"));
	cr_expect_not(conf_key_eq("max_payload", "max_payloads"));
	/* A map's functions on an array are empty. */
	struct conf_value *other = ct_parse("l: [1, 2]", 0);
	const struct conf_value *l = conf_map_get(other, "l");
	cr_expect_eq(conf_map_len(l), 0);
	cr_expect_null(conf_map_first(l));
	cr_expect_eq(conf_array_len(root), 0);
	/* Missing values read as empty, so lookups chain. */
	cr_expect_null(conf_map_get(conf_map_get(root, "nope"), "deeper"));
	cr_expect_eq(conf_map_len(NULL), 0);
	cr_expect_null(conf_array_get(NULL, 0));
	cr_expect_eq(conf_as_int(conf_map_get(root, "nope"), &v), -EINVAL);
	conf_free(other);
	conf_free(root);
}

Test(conf_api, arrays)
{
	struct conf_value *root = ct_parse("l: [a, 2, [3], {k: v}]", 0);
	const struct conf_value *l = conf_map_get(root, "l");
	cr_assert_eq(conf_type(l), CONF_ARRAY);
	cr_assert_eq(conf_array_len(l), 4);
	cr_expect_eq(conf_type(conf_array_get(l, 0)), CONF_STRING);
	cr_expect_eq(conf_type(conf_array_get(l, 2)), CONF_ARRAY);
	cr_expect_eq(conf_type(conf_array_get(l, 3)), CONF_MAP);
	cr_expect_null(conf_array_get(l, 4));
	cr_expect_null(conf_array_get(l, (size_t)-1));
	cr_expect_str_eq(conf_type_name(conf_type(l)), "array");
	cr_expect_str_eq(conf_type_name(CONF_INT), "integer");
	conf_free(root);
}

/* Values know where they were written (columns in bytes, from 1). */
Test(conf_api, positions)
{
	struct conf_value *root = ct_parse("a: 1\nm {\n\tb = \"x\"\n  l: [\n    true\n  ]\n}\n", 0);
	const struct conf_value *m = conf_map_get(root, "m");
	struct conf_pos p = conf_pos(m);
	cr_expect_str_eq(p.file, "t.conf");
	cr_expect_eq(p.line, 2);
	cr_expect_eq(p.col, 3);
	const struct conf_entry *b = conf_map_find(m, "b");
	cr_expect_eq(conf_entry_pos(b).line, 3);
	cr_expect_eq(conf_entry_pos(b).col, 2);
	cr_expect_eq(conf_pos(conf_entry_value(b)).col, 6);
	const struct conf_value *t = conf_array_get(conf_map_get(m, "l"), 0);
	cr_expect_eq(conf_pos(t).line, 5);
	cr_expect_eq(conf_pos(t).col, 5);
	p = conf_pos(root);
	cr_expect_eq(p.line, 1);
	cr_expect_eq(p.col, 1);
	conf_free(root);
}

/* Conversions never cross types; conf_raw keeps the spelling. */
Test(conf_api, conversions)
{
	struct conf_value *root =
	    ct_parse("i: 1K\nf: 0.5\nb: Yes\ns: \"a\\x00b\"\nn: -1\nq: \"true\"\n"
	             "d: 2020-01-01T00:00:00Z\nm {}",
	             0);
	const struct conf_value *i = conf_map_get(root, "i"), *f = conf_map_get(root, "f");
	const struct conf_value *b = conf_map_get(root, "b"), *s = conf_map_get(root, "s");
	const struct conf_value *n = conf_map_get(root, "n"), *q = conf_map_get(root, "q");
	const struct conf_value *d = conf_map_get(root, "d"), *m = conf_map_get(root, "m");
	int64_t iv = 0;
	uint64_t uv = 0;
	double dv = 0;
	bool bv = false;
	const char *sv = NULL;
	size_t len = 0;
	cr_expect_eq(conf_as_int(i, &iv), 0);
	cr_expect_eq(iv, 1000);
	cr_expect_eq(conf_as_size(i, &uv), 0);
	cr_expect_eq(uv, 1000);
	cr_expect_eq(conf_as_float(i, &dv), 0);
	cr_expect_eq(dv, 1000.0);
	cr_expect_eq(conf_as_float(f, &dv), 0);
	cr_expect_eq(dv, 0.5);
	cr_expect_eq(conf_as_int(f, &iv), -EINVAL);
	cr_expect_eq(conf_as_bool(b, &bv), 0);
	cr_expect(bv);
	cr_expect_eq(conf_as_bool(q, &bv), -EINVAL);
	cr_expect_eq(conf_as_string(s, &sv, &len), 0);
	cr_expect_eq(len, 3);
	cr_expect_eq(memcmp(sv, "a\0b", 4), 0);
	cr_expect_eq(conf_as_size(n, &uv), -ERANGE);
	cr_expect_eq(conf_as_string(i, &sv, NULL), -EINVAL);
	cr_expect_eq(conf_as_string(d, &sv, NULL), -EINVAL);
	cr_expect_eq(conf_as_int(m, &iv), -EINVAL);
	cr_expect_str_eq(conf_raw(i, &len), "1K");
	cr_expect_eq(len, 2);
	cr_expect_str_eq(conf_raw(b, NULL), "Yes");
	cr_expect_str_eq(conf_raw(s, NULL), "a\\x00b");
	cr_expect_str_eq(conf_raw(d, NULL), "2020-01-01T00:00:00Z");
	cr_expect_str_eq(conf_raw(m, NULL), "");
	conf_free(root);
}

/* conf_parse_duration_ns is Go's time.ParseDuration. */
Test(conf_api, go_durations)
{
	static const struct {
		const char *text;
		int ret;
		int64_t ns;
	} rows[] = {
	    {"0", 0, 0},
	    {"-0", 0, 0},
	    {"2s", 0, 2000000000},
	    {"1m30s", 0, 90000000000},
	    {"1.5h", 0, 5400000000000},
	    {"500ms", 0, 500000000},
	    {"10us", 0, 10000},
	    {"10\xc2\xb5s", 0, 10000},
	    {"10\xce\xbcs", 0, 10000},
	    {"100ns", 0, 100},
	    {"-3us", 0, -3000},
	    {"+5m", 0, 300000000000},
	    {".5s", 0, 500000000},
	    {"1.s", 0, 1000000000},
	    {"1h1m1s1ms1us1ns", 0, 3661001001001},
	    {"0.1ns", 0, 0},
	    {"1.0000000001s", 0, 1000000000},
	    {"2562047h47m16.854775807s", 0, INT64_MAX},
	    {"-2562047h47m16.854775808s", 0, INT64_MIN},
	    {"2562047h47m16.854775808s", -ERANGE, 0},
	    {"9223372036854775808ns", -ERANGE, 0},
	    {"99999999999999999999s", -ERANGE, 0},
	    {"3000000h", -ERANGE, 0},
	    {"", -EINVAL, 0},
	    {"1", -EINVAL, 0},
	    {"s", -EINVAL, 0},
	    {".s", -EINVAL, 0},
	    {"1d", -EINVAL, 0},
	    {"1S", -EINVAL, 0},
	    {"1 s", -EINVAL, 0},
	    {"-", -EINVAL, 0},
	    {"1s2", -EINVAL, 0},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		int64_t ns = 12345;
		int ret = conf_parse_duration_ns(rows[i].text, strlen(rows[i].text), &ns);
		cr_expect_eq(ret, rows[i].ret, "[%s]: %d", rows[i].text, ret);
		if (rows[i].ret == 0)
			cr_expect_eq(ns, rows[i].ns, "[%s]: %lld", rows[i].text, (long long)ns);
		else
			cr_expect_eq(ns, 12345, "[%s] changed its output on error", rows[i].text);
	}
}

/* conf_parse_size reads a flag's text as the lexer reads a bare size. */
Test(conf_api, sizes_from_text)
{
	static const struct {
		const char *text;
		int ret;
		int64_t v;
	} rows[] = {
	    {"0", 0, 0},
	    {"4096", 0, 4096},
	    {"1k", 0, 1000},
	    {"1K", 0, 1000},
	    {"2KB", 0, 2048},
	    {"1ki", 0, 1024},
	    {"1KiB", 0, 1024},
	    {"1m", 0, 1000000},
	    {"1MB", 0, 1048576},
	    {"3g", 0, 3000000000},
	    {"-2k", 0, -2000},
	    {"8EB", -ERANGE, 0},
	    {"99999999999999999999", -ERANGE, 0},
	    {"", -EINVAL, 0},
	    {"k", -EINVAL, 0},
	    {"1x", -EINVAL, 0},
	    {"1kbb", -EINVAL, 0},
	    {"1.5k", -EINVAL, 0},
	    {" 1", -EINVAL, 0},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		int64_t v = 12345;
		int ret = conf_parse_size(rows[i].text, strlen(rows[i].text), &v);
		cr_expect_eq(ret, rows[i].ret, "[%s]: %d", rows[i].text, ret);
		cr_expect_eq(v, rows[i].ret == 0 ? rows[i].v : 12345, "[%s]: %lld", rows[i].text,
		             (long long)v);
	}
}

/* conf_as_duration_ns reads strings only: a bare 2s is one; the integer
 * 1m (a size!) is not a duration. */
Test(conf_api, durations_from_values)
{
	struct conf_value *root = ct_parse("a: 2s\nb: \"1m30s\"\nc: 1m\nd: 5\ne: \"soon\"", 0);
	int64_t ns = 0;
	cr_expect_eq(conf_as_duration_ns(conf_map_get(root, "a"), &ns), 0);
	cr_expect_eq(ns, 2000000000);
	cr_expect_eq(conf_as_duration_ns(conf_map_get(root, "b"), &ns), 0);
	cr_expect_eq(ns, 90000000000);
	cr_expect_eq(conf_as_duration_ns(conf_map_get(root, "c"), &ns), -EINVAL);
	cr_expect_eq(conf_as_duration_ns(conf_map_get(root, "d"), &ns), -EINVAL);
	cr_expect_eq(conf_as_duration_ns(conf_map_get(root, "e"), &ns), -EINVAL);
	int64_t size = 0;
	cr_expect_eq(conf_as_int(conf_map_get(root, "c"), &size), 0);
	cr_expect_eq(size, 1000000);
	conf_free(root);
}

/* Nesting: 64 levels parse, 65 do not, and 100,000 fail without using the
 * C stack; a variable cannot carry a tree past the limit either. */
Test(conf_api, nesting_limit)
{
	enum { DEEP = 100000 };
	char *text = malloc(2 * DEEP + 8);
	cr_assert_not_null(text);
	for (int depth = 64; depth <= 65; depth++) {
		memcpy(text, "a: ", 3);
		memset(text + 3, '[', (size_t)depth);
		memset(text + 3 + depth, ']', (size_t)depth);
		text[3 + 2 * depth] = 0;
		struct conf_value *root;
		struct conf_error err;
		int ret = conf_parse_string(text, strlen(text), "t.conf", 0, &root, &err);
		cr_expect_eq(ret, depth == 64 ? 0 : -E2BIG, "depth %d: %s", depth, err.text);
		if (!ret)
			conf_free(root);
		else
			cr_expect_str_eq(
			    err.text, "t.conf:1:68: maps and arrays nested deeper than 64 levels");
	}
	struct conf_error err;
	memset(text, '[', 2 * DEEP);
	text[2 * DEEP] = 0;
	memcpy(text, "a: ", 3);
	cr_expect_eq(ct_parse_fail(text, 0, &err), -E2BIG);
	for (int i = 3; i + 3 < 2 * DEEP; i += 3)
		memcpy(text + i, "{x:", 3);
	cr_expect_eq(ct_parse_fail(text, 0, &err), -E2BIG);
	cr_expect_str_eq(err.text, "t.conf:1:196: maps and arrays nested deeper than 64 levels");
	free(text);

	/* 40 levels in a variable, used 30 deep. */
	char buf[512] = "V = ";
	size_t n = strlen(buf);
	for (int i = 0; i < 40; i++)
		buf[n++] = '[';
	for (int i = 0; i < 40; i++)
		buf[n++] = ']';
	buf[n++] = '\n';
	memcpy(buf + n, "m: ", 3);
	n += 3;
	for (int i = 0; i < 30; i++)
		buf[n++] = '[';
	memcpy(buf + n, "$V", 2);
	n += 2;
	for (int i = 0; i < 30; i++)
		buf[n++] = ']';
	buf[n] = 0;
	ct_parse_fail(buf, 0, &err);
	cr_expect_eq(err.code, -E2BIG);
	cr_expect(strstr(err.text, "through a variable"), "%s", err.text);
}

/* Copies through variables cannot make a tree of unbounded size. */
Test(conf_api, variable_expansion_is_bounded)
{
	char text[1024] = "V0 = [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]\n";
	for (int i = 1; i < 12; i++) {
		char line[128];
		snprintf(line, sizeof(line), "V%d = [$V%d,$V%d,$V%d,$V%d,$V%d,$V%d,$V%d,$V%d]\n", i,
		         i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		strcat(text, line);
	}
	struct conf_error err;
	cr_expect_eq(ct_parse_fail(text, 0, &err), -E2BIG);
	cr_expect(strstr(err.text, "bytes of memory"), "%s", err.text);
}

/* A text larger than CONF_MAX_FILE_BYTES is refused whole. */
Test(conf_api, size_limit)
{
	size_t len = CONF_MAX_FILE_BYTES + 1;
	char *text = malloc(len);
	cr_assert_not_null(text);
	memset(text, '\n', len);
	struct conf_value *root;
	struct conf_error err;
	cr_expect_eq(conf_parse_string(text, len, NULL, 0, &root, &err), -E2BIG);
	cr_expect(strncmp(err.text, "<string>: ", 10) == 0, "%s", err.text);
	cr_expect_eq(conf_parse_string(text, len - 1, NULL, 0, &root, &err), 0);
	conf_free(root);

	/* The same for files, read without trusting their size. */
	const char *dir = ct_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	for (size_t size = len - 1; size <= len; size++) {
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		cr_assert_eq(fwrite(text, 1, size, f), size);
		fclose(f);
		int ret = conf_parse_file(path, 0, &root, &err);
		cr_expect_eq(ret, size == len ? -E2BIG : 0, "%zu bytes: %s", size, err.text);
		if (!ret)
			conf_free(root);
	}
	ct_rmdir(dir);
	free(text);
	conf_free(NULL);
}

/* Bytes the grammar does not know are text; NUL bytes too, but not in keys. */
Test(conf_api, odd_bytes)
{
	static const char text[] = "a: x\0y\nb: \0\n";
	struct conf_value *root;
	struct conf_error err;
	cr_assert_eq(conf_parse_string(text, sizeof(text) - 1, NULL, 0, &root, &err), 0, "%s",
	             err.text);
	const char *s;
	size_t len;
	cr_assert_eq(conf_as_string(conf_map_get(root, "a"), &s, &len), 0);
	cr_expect_eq(len, 3);
	cr_expect_eq(conf_map_len(root), 2);
	conf_free(root);
	cr_expect_eq(conf_parse_string("a\0b: 1", 7, NULL, 0, &root, &err), -EINVAL);
	cr_expect_str_eq(err.text, "<string>:1:1: a key cannot hold a NUL byte");
}
