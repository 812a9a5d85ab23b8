/* core/conf: variables ($NAME from enclosing maps, then the environment),
 * bcrypt hashes, and includes (relative paths, maps, cycles, depth). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "tests/core/conf_test.h"

struct row {
	const char *text;
	const char *tree;
};

static void check_rows(const struct row *rows, size_t n, unsigned flags)
{
	for (size_t i = 0; i < n; i++) {
		struct conf_value *root = ct_parse(rows[i].text, flags);
		cr_expect_str_eq(ct_dump(root), rows[i].tree, "row %zu [%s]", i, rows[i].text);
		conf_free(root);
	}
}

/* A reference copies the last value of that name already complete in an
 * enclosing map, inner to outer; names match exactly (nats-server). */
Test(conf_vars, scoping)
{
	static const struct row rows[] = {
	    {"A = 1\nb: $A", "{A:1(used) b:1($A)}"},
	    {"A: 1, A: 2, b: $A", "{~A:1 A:2(used) b:2($A)}"},
	    {"A = 1\nm { A = 2, b: $A }\nc: $A", "{A:1(used) m:{A:2(used) b:2($A)} c:1($A)}"},
	    {"A = 1\nm { n { b: $A } }", "{A:1(used) m:{n:{b:1($A)}}}"},
	    {"A = 1\nl: [$A, {b: $A}, [$A]]", "{A:1(used) l:[1($A) {b:1($A)} [1($A)]]}"},
	    {"M = {x: [1, 2]}\nb: $M", "{M:{x:[1 2]}(used) b:{x:[1 2]}($M)}"},
	    {"m { x: 1, y: $x }", "{m:{x:1(used) y:1($x)}}"},
	    {"a: 1\nm { a: $a }", "{a:1(used) m:{a:1($a)}}"},
	    {"S = \"two words\"\nb: [$S]", "{S:\"two words\"(used) b:[\"two words\"($S)]}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows), CONF_NO_ENV);
}

/* Not yet defined, defined after, only in a sibling map, another case: all
 * missing, with nats-server's message and the reference's position. */
Test(conf_vars, missing)
{
	static const struct {
		const char *text, *message;
	} rows[] = {
	    {"b: $A", "t.conf:1:4: variable reference for 'A' on line 1 can not be found"},
	    {"b: $A\nA = 1", "t.conf:1:4: variable reference for 'A' on line 1 can not be found"},
	    {"m { A = 1 }\nb: $A",
	     "t.conf:2:4: variable reference for 'A' on line 2 can not be found"},
	    {"a = 1\n\nb: $A", "t.conf:3:4: variable reference for 'A' on line 3 can not be found"},
	    {"m {\n  m: $m\n}",
	     "t.conf:2:6: variable reference for 'm' on line 2 can not be found"},
	    {"b: $", "t.conf:1:4: variable reference for '' on line 1 can not be found"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct conf_error err;
		cr_expect_eq(ct_parse_fail(rows[i].text, CONF_NO_ENV, &err), -EINVAL);
		cr_expect_str_eq(err.text, rows[i].message, "row %zu", i);
	}
}

/* A bare $2a$... is a bcrypt hash, not a variable; $2b$ is a variable. */
Test(conf_vars, bcrypt)
{
	struct conf_value *root = ct_parse("p: $2a$11$abc/def.ghi", CONF_NO_ENV);
	cr_expect_str_eq(ct_dump(root), "{p:\"$2a$11$abc/def.ghi\"}");
	conf_free(root);
	root = ct_parse("p: \"$2b$11$abc\"", CONF_NO_ENV);
	cr_expect_str_eq(ct_dump(root), "{p:\"$2b$11$abc\"}");
	conf_free(root);
	struct conf_error err;
	ct_parse_fail("p: $2b$11$abc", CONF_NO_ENV, &err);
	cr_expect_str_eq(
	    err.text, "t.conf:1:4: variable reference for '2b$11$abc' on line 1 can not be found");
}

/* The value from a variable is where the reference is; what is inside it
 * stays where it was defined; the definition is marked used. */
Test(conf_vars, positions_and_flags)
{
	struct conf_value *root = ct_parse("V = {\n  x: 1\n}\nunused: 2\n\nref: $V", CONF_NO_ENV);
	const struct conf_value *def = conf_map_get(root, "V"), *ref = conf_map_get(root, "ref");
	cr_expect(conf_used(def));
	cr_expect_not(conf_used(conf_map_get(root, "unused")));
	cr_expect_not(conf_used(ref));
	cr_expect_null(conf_var_name(def));
	cr_expect_str_eq(conf_var_name(ref), "V");
	struct conf_pos p = conf_pos(ref);
	cr_expect_eq(p.line, 6);
	cr_expect_eq(p.col, 6);
	p = conf_pos(conf_map_get(ref, "x"));
	cr_expect_eq(p.line, 2);
	cr_expect_eq(p.col, 6);
	conf_free(root);
}

/* After the environment: its text is parsed as a value (77 is an
 * integer); errors in it are reported; CONF_NO_ENV turns it off. */
Test(conf_vars, environment)
{
	setenv("RB_CONF_INT", "77", 1);
	setenv("RB_CONF_STR", "\"a b\"", 1);
	setenv("RB_CONF_MAP", "{x: 1k}", 1);
	setenv("RB_CONF_REF", "$RB_CONF_INT", 1);
	setenv("RB_CONF_EMPTY", "", 1);
	setenv("RB_CONF_BAD", "a b", 1);
	setenv("RB_CONF_LOOP", "$RB_CONF_LOOP", 1);
	static const struct row rows[] = {
	    {"a: $RB_CONF_INT", "{a:77($RB_CONF_INT)}"},
	    {"a: $RB_CONF_STR", "{a:\"a b\"($RB_CONF_STR)}"},
	    {"a: $RB_CONF_MAP", "{a:{x:1000}($RB_CONF_MAP)}"},
	    {"a: $RB_CONF_REF", "{a:77($RB_CONF_REF)}"},
	    {"a: $RB_CONF_EMPTY", "{a:\"\"($RB_CONF_EMPTY)}"},
	    {"RB_CONF_INT = 5\na: $RB_CONF_INT", "{RB_CONF_INT:5(used) a:5($RB_CONF_INT)}"},
	};
	check_rows(rows, RB_ARRAY_LEN(rows), 0);

	struct conf_error err;
	cr_expect_eq(ct_parse_fail("\na: $RB_CONF_BAD", 0, &err), -EINVAL);
	cr_expect_str_eq(err.text, "environment variable RB_CONF_BAD:1:3: expected a new line, ';' "
	                           "or ',' after the value of \"pk\", found 'b' (in an environment "
	                           "variable referred to at t.conf:2:4)");
	cr_expect_eq(ct_parse_fail("a: $RB_CONF_LOOP", 0, &err), -ELOOP);
	cr_expect(strstr(err.text, "nested deeper than 10 levels"), "%s", err.text);
	cr_expect_eq(ct_parse_fail("a: $RB_CONF_INT", CONF_NO_ENV, &err), -EINVAL);
	cr_expect(strstr(err.text, "can not be found"));
	unsetenv("RB_CONF_INT");
	cr_expect_eq(ct_parse_fail("a: $RB_CONF_INT", 0, &err), -EINVAL);
}

/* Includes: relative to the including file, at the top or in a map, in
 * place; an included file does not see the includer's variables, but the
 * includer sees the included file's afterwards. */
Test(conf_include, relative_paths_and_scope)
{
	const char *dir = ct_tmpdir();
	ct_write(dir, "main.conf",
	         "a: 1\ninclude sub/one.conf\nm {\n  include 'sub/two.conf'\n  z: $Y\n}\nw: $X\n");
	ct_write(dir, "sub/one.conf", "b: 2\ninclude \"deeper/three.conf\"\n");
	ct_write(dir, "sub/deeper/three.conf", "X = 3\n");
	ct_write(dir, "sub/two.conf", "Y: 4; c: 5\n");
	char path[512];
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	struct conf_value *root;
	struct conf_error err;
	cr_assert_eq(conf_parse_file(path, 0, &root, &err), 0, "%s", err.text);
	cr_expect_str_eq(ct_dump(root), "{a:1 b:2 X:3(used) m:{Y:4(used) c:5 z:4($Y)} w:3($X)}");
	const struct conf_entry *e = conf_map_find(root, "x");
	char want[512];
	snprintf(want, sizeof(want), "%s/sub/deeper/three.conf", dir);
	cr_expect_str_eq(conf_entry_pos(e).file, want);
	cr_expect_eq(conf_entry_pos(e).line, 1);
	cr_expect_str_eq(conf_pos(root).file, path);
	conf_free(root);

	ct_write(dir, "main.conf", "X = 1\ninclude sub/uses.conf\n");
	ct_write(dir, "sub/uses.conf", "\ny: $X\n");
	cr_assert_eq(conf_parse_file(path, CONF_NO_ENV, &root, &err), -EINVAL);
	snprintf(want, sizeof(want),
	         "%s/sub/uses.conf:2:4: variable reference for 'X' on line 2 can not be found "
	         "(included from %s/main.conf:2:9)",
	         dir, dir);
	cr_expect_str_eq(err.text, want);
	ct_rmdir(dir);
}

/* An absolute path is still under the including file's directory, as Go's
 * filepath.Join makes it for nats-server. */
Test(conf_include, absolute_path_is_joined)
{
	const char *dir = ct_tmpdir();
	char path[512], text[600];
	snprintf(path, sizeof(path), "%s/main.conf", dir);
	snprintf(text, sizeof(text), "include %s/x.conf\n", dir);
	ct_write(dir, "main.conf", text);
	ct_write(dir, "x.conf", "a: 1\n");
	struct conf_value *root;
	struct conf_error err;
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), -ENOENT);
	cr_expect(strstr(err.text, "cannot read include file"), "%s", err.text);
	ct_write(dir, "main.conf", "include /x.conf\n");
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), 0, "%s", err.text);
	conf_free(root);
	ct_rmdir(dir);
}

/* A cycle is -ELOOP, so are includes nested deeper than 10; a missing file
 * -ENOENT, a directory -EISDIR, includes off -EPERM. */
Test(conf_include, cycles_depth_and_failures)
{
	const char *dir = ct_tmpdir();
	char path[512], name[32], text[64];
	struct conf_value *root;
	struct conf_error err;
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	ct_write(dir, "a.conf", "include b.conf\n");
	ct_write(dir, "b.conf", "m { include a.conf }\n");
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), -ELOOP);
	cr_expect(strstr(err.text, "b.conf:1:13: include cycle"), "%s", err.text);

	ct_write(dir, "a.conf", "include a.conf\n");
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), -ELOOP);

	for (int i = 0; i <= 11; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), i < 11 ? "include d%d.conf\n" : "x: 1\n", i + 1);
		ct_write(dir, name, text);
	}
	snprintf(path, sizeof(path), "%s/d1.conf", dir); /* 10 includes below it */
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), 0, "%s", err.text);
	conf_free(root);
	snprintf(path, sizeof(path), "%s/d0.conf", dir); /* 11 */
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), -ELOOP);
	cr_expect(strstr(err.text, "includes nested deeper than 10 levels"), "%s", err.text);
	cr_expect(strstr(err.text, "(...)"), "%s", err.text);

	snprintf(path, sizeof(path), "%s/a.conf", dir);
	ct_write(dir, "a.conf", "\n  include nope.conf\n");
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), -ENOENT);
	snprintf(text, sizeof(text), "a.conf:2:11: cannot read include file 'nope.conf' (");
	cr_expect(strstr(err.text, text), "%s", err.text);
	cr_expect(strstr(err.text, "No such file or directory"), "%s", err.text);
	cr_expect_eq(err.line, 2);
	cr_expect_eq(err.col, 11);
	ct_write(dir, "a.conf", "include sub\n");
	ct_write(dir, "sub/x.conf", "");
	cr_expect_eq(conf_parse_file(path, 0, &root, &err), -EISDIR);
	ct_write(dir, "a.conf", "include b.conf\n");
	cr_expect_eq(conf_parse_file(path, CONF_NO_INCLUDE, &root, &err), -EPERM);
	cr_expect_null(root);
	ct_rmdir(dir);
}

/* conf_parse_string: includes are relative to the name's directory. */
Test(conf_include, from_a_string)
{
	const char *dir = ct_tmpdir();
	char name[512];
	ct_write(dir, "x.conf", "a: 1\n");
	snprintf(name, sizeof(name), "%s/virtual.conf", dir);
	struct conf_value *root;
	struct conf_error err;
	cr_assert_eq(conf_parse_string("include x.conf", 14, name, 0, &root, &err), 0, "%s",
	             err.text);
	cr_expect_str_eq(ct_dump(root), "{a:1}");
	conf_free(root);
	ct_rmdir(dir);
}

/* Files: a missing one is "name: reason" with no position. */
Test(conf_include, missing_top_file)
{
	struct conf_value *root = (struct conf_value *)1;
	struct conf_error err;
	cr_expect_eq(conf_parse_file("/nonexistent/x.conf", 0, &root, &err), -ENOENT);
	cr_expect_null(root);
	cr_expect_str_eq(err.text, "/nonexistent/x.conf: No such file or directory");
	cr_expect_eq(err.line, 0);
	cr_expect_eq(conf_parse_file("/tmp", 0, &root, &err), -EISDIR);
}
