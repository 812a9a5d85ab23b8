/* Helpers for the tests of core/conf (see conf_test.h). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/compiler.h"
#include "tests/core/conf_test.h"

static char out[1 << 16];
static size_t used;

/* Appends @n bytes of @s, cut at the end of the buffer. */
static void put(const char *s, size_t n)
{
	if (used >= sizeof(out) - 1)
		return;
	size_t room = sizeof(out) - 1 - used;
	if (n > room)
		n = room;
	memcpy(out + used, s, n);
	used += n;
	out[used] = 0;
}

RB_PRINTF(1, 2)
static void putf(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void dump_string(const struct conf_value *v)
{
	const char *s;
	size_t n;
	cr_assert_eq(conf_as_string(v, &s, &n), 0);
	put("\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			put("\\n", 2);
		else if (c == '\t')
			put("\\t", 2);
		else if (c == '"' || c == '\\')
			putf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			putf("\\x%02x", c);
		else
			put((const char *)&s[i], 1);
	}
	put("\"", 1);
}

static void dump(const struct conf_value *v)
{
	int64_t i;
	double f;
	bool b;
	switch (conf_type(v)) {
	case CONF_MAP:
		put("{", 1);
		for (const struct conf_entry *e = conf_map_first(v); e; e = conf_entry_next(e)) {
			if (e != conf_map_first(v))
				put(" ", 1);
			putf("%s%s:", conf_entry_shadowed(e) ? "~" : "", conf_entry_key(e));
			dump(conf_entry_value(e));
		}
		put("}", 1);
		break;
	case CONF_ARRAY:
		put("[", 1);
		for (size_t k = 0; k < conf_array_len(v); k++) {
			if (k)
				put(" ", 1);
			dump(conf_array_get(v, k));
		}
		put("]", 1);
		break;
	case CONF_STRING:
		dump_string(v);
		break;
	case CONF_INT:
		cr_assert_eq(conf_as_int(v, &i), 0);
		putf("%lld", (long long)i);
		break;
	case CONF_FLOAT:
		cr_assert_eq(conf_as_float(v, &f), 0);
		putf("%gf", f);
		break;
	case CONF_BOOL:
		cr_assert_eq(conf_as_bool(v, &b), 0);
		putf("%s", b ? "true" : "false");
		break;
	case CONF_DATETIME:
		putf("@%s", conf_raw(v, NULL));
		break;
	}
	if (conf_var_name(v))
		putf("($%s)", conf_var_name(v));
	if (conf_used(v))
		put("(used)", 6);
}

const char *ct_dump(const struct conf_value *v)
{
	used = 0;
	out[0] = 0;
	dump(v);
	return out;
}

struct conf_value *ct_parse(const char *text, unsigned flags)
{
	struct conf_value *root;
	struct conf_error err;
	int ret = conf_parse_string(text, strlen(text), "t.conf", flags, &root, &err);
	cr_assert_eq(ret, 0, "parsing [%s]: %d %s", text, ret, err.text);
	cr_assert_not_null(root);
	return root;
}

int ct_parse_fail(const char *text, unsigned flags, struct conf_error *err)
{
	struct conf_value *root = (struct conf_value *)1;
	int ret = conf_parse_string(text, strlen(text), "t.conf", flags, &root, err);
	cr_assert_lt(ret, 0, "parsing [%s] should fail, gave %s", text, ret ? "" : ct_dump(root));
	cr_assert_null(root);
	cr_assert_eq(err->code, ret);
	return ret;
}

const char *ct_tmpdir(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/ringbus-conf-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

void ct_write(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Make the directories on the way. */
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = 0;
		mkdir(path, 0700);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ct_rmdir(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
