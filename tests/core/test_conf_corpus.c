/* core/conf over tests/core/conf_corpus: realistic nats-server
 * configurations (conf_corpus_check.sh proves nats-server 2.9.10 accepts
 * each valid/ file and rejects each invalid/ one) parse, and the invalid
 * ones fail with the error their "# ringbus:" line quotes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "tests/core/conf_test.h"

#ifndef CONF_CORPUS_DIR
#error "CONF_CORPUS_DIR must name tests/core/conf_corpus"
#endif

/* Calls @fn on each *.conf of @sub; returns how many. */
static int each_file(const char *sub, void (*fn)(const char *path))
{
	char dir[512], path[1024];
	snprintf(dir, sizeof(dir), "%s/%s", CONF_CORPUS_DIR, sub);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "cannot open %s", dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".conf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(path);
		n++;
	}
	closedir(d);
	return n;
}

static void parses(const char *path)
{
	struct conf_value *root;
	struct conf_error err;
	int ret = conf_parse_file(path, CONF_NO_ENV, &root, &err);
	cr_expect_eq(ret, 0, "%s: %s", path, err.text);
	if (!ret) {
		cr_expect_gt(conf_map_len(root), 0, "%s is empty", path);
		conf_free(root);
	}
}

/* The text after "# ringbus: " in the file at @path. */
static void expected_error(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char line[512];
	out[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "# ringbus: ", 11) == 0) {
			snprintf(out, size, "%s", line + 11);
			out[strcspn(out, "\n")] = 0;
		}
	fclose(f);
	cr_assert(out[0], "%s has no \"# ringbus:\" line", path);
}

static void fails(const char *path)
{
	char want[512];
	struct conf_value *root;
	struct conf_error err;
	expected_error(path, want, sizeof(want));
	int ret = conf_parse_file(path, CONF_NO_ENV, &root, &err);
	cr_expect_lt(ret, 0, "%s parsed", path);
	if (!ret) {
		conf_free(root);
		return;
	}
	/* "path:" then the expected "line:col: message". */
	cr_expect(strncmp(err.text, path, strlen(path)) == 0 && err.text[strlen(path)] == ':' &&
	              strstr(err.text, want) == err.text + strlen(path) + 1,
	          "%s:\n got  %s\n want %s", path, err.text, want);
}

Test(conf_corpus, valid_files_parse)
{
	cr_expect_geq(each_file("valid", parses), 10);
	cr_expect_geq(each_file("valid/includes", parses), 3);
}

Test(conf_corpus, invalid_files_fail_where_they_say)
{
	cr_expect_geq(each_file("invalid", fails), 8);
}

/* A few values of the corpus read back, through includes and variables. */
Test(conf_corpus, values)
{
	struct conf_value *root;
	struct conf_error err;
	cr_assert_eq(
	    conf_parse_file(CONF_CORPUS_DIR "/valid/main_with_includes.conf", 0, &root, &err), 0,
	    "%s", err.text);
	const struct conf_value *users = conf_map_get(conf_map_get(root, "authorization"), "users");
	cr_expect_eq(conf_array_len(users), 2);
	int64_t v = 0;
	cr_expect_eq(conf_as_int(conf_map_get(root, "max_connections"), &v), 0);
	cr_expect_eq(v, 1000);
	cr_expect(strstr(conf_pos(users).file, "includes/users.conf"));
	conf_free(root);

	cr_assert_eq(conf_parse_file(CONF_CORPUS_DIR "/valid/authorization.conf", 0, &root, &err),
	             0);
	users = conf_map_get(conf_map_get(root, "authorization"), "users");
	cr_expect_eq(conf_array_len(users), 4);
	const char *pw;
	cr_expect_eq(conf_as_string(conf_map_get(conf_array_get(users, 1), "password"), &pw, NULL),
	             0);
	cr_expect(strncmp(pw, "$2a$11$", 7) == 0, "%s", pw);
	cr_expect(conf_used(conf_map_get(root, "ADMIN")));
	conf_free(root);
}
