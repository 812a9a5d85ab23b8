/* Helpers shared by the tests of core/conf: a one-line dump of a tree, and
 * files in a temporary directory. */
#ifndef TESTS_CORE_CONF_TEST_H
#define TESTS_CORE_CONF_TEST_H

#include <stddef.h>

#include "core/conf.h"

/* The tree in one line: maps {k:v k:v}, arrays [v v], strings "..." (\n,
 * \t, \xHH, \" and \\ escaped), integers 12, floats 1.5f, booleans
 * true/false, dates @2006-01-02T15:04:05Z. A shadowed entry's key has a `~`
 * before it; a value from $NAME has ($NAME) after it, one a $NAME referred
 * to (used). Returns a static buffer. */
const char *ct_dump(const struct conf_value *v);

/* Parses @text (named "t.conf", environment off unless @flags say) and
 * asserts success; the caller frees the tree. */
struct conf_value *ct_parse(const char *text, unsigned flags);

/* Parses @text (named "t.conf") and asserts failure; returns the code and
 * fills @err. */
int ct_parse_fail(const char *text, unsigned flags, struct conf_error *err);

/* A new empty directory under /tmp (static buffer), and files in it. */
const char *ct_tmpdir(void);
void ct_write(const char *dir, const char *name, const char *text);
/* Removes @dir and everything in it. */
void ct_rmdir(const char *dir);

#endif /* TESTS_CORE_CONF_TEST_H */
