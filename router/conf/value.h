/* Setting values as they arrive: the text of a command-line flag or a value
 * of a configuration file's tree (core/conf.h), read into C types by the
 * same rules for every setting, with problems reported where they were
 * written ("file:line:col: ..." or "invalid value ... for flag -x"). Shared
 * by the settings table (router/conf/) and admission's policy table. */
#ifndef ROUTER_CONF_VALUE_H
#define ROUTER_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/conf.h"

struct config;

/* One value being applied. Exactly one of @text (a flag's value; NULL for a
 * boolean flag given bare) or @v (borrowed from the file's tree) is used:
 * @v when @from_file. @name is the setting as the user spelled it ("-p",
 * "max_payload"). */
struct config_in {
	bool from_file;
	const char *text;
	const struct conf_value *v;
	const char *name;
};

/* What reading the settings found. Owner: the thread that reads them. */
struct config_row;

struct config_ctx {
	struct config *c;
	int errors;
	int warnings;
	/* The table's lookup (config_row_by_key() of router/conf/table.c, the
	 * block given as an int), set by whoever starts a read: apply.c walks
	 * a block through it rather than calling into the table's file, whose
	 * rows point at the section readers, which call apply.c. */
	const struct config_row *(*row_by_key)(int block, const char *key);
};

/* True when @name is one of the space separated words of @list. */
bool config_word_in(const char *list, const char *name, bool ignore_case);

/* Reports one problem (an error, or a warning when @warning) with the value
 * @in: "file:line:col: <what>" for a file value, "ringbus: <what>" for a
 * flag; through c->report (NULL: stderr). Counts it in @x. */
RB_PRINTF(4, 5)
void config_report_in(struct config_ctx *x, bool warning, const struct config_in *in,
                      const char *fmt, ...);

/* The same at a position of the file (@pos.file NULL: no position). */
RB_PRINTF(4, 5)
void config_report_at(struct config_ctx *x, bool warning, struct conf_pos pos, const char *fmt,
                      ...);

/* Reads @in as each kind of setting. Each returns 0, or -EINVAL after
 * reporting the problem (naming @in and what was expected); the output is
 * left alone on error.
 * - bool: a file boolean; a flag given bare (true) or "=v" with Go's words
 *   (1 t T TRUE true True 0 f F FALSE false False).
 * - int: an integer in [@min, @max] (a file integer; a flag's decimal text).
 * - size: the same, and a flag may carry a size suffix (1K = 1000, 1KB =
 *   1024, as in the file).
 * - ms: a duration in milliseconds in [@min, @max]: a Go duration string
 *   ("2s", "1m30s"); a file integer is seconds only with @int_seconds (with
 *   nats-server's warning), a flag's bare number is seconds.
 * - seconds: seconds as a file integer or float, or a Go duration string;
 *   in milliseconds.
 * - string: a file string, or the flag's text (borrowed either way).
 * - list: a file array of strings (or one string); a flag's text split at
 *   commas. *@out is owned: free with config_list_free(). */
RB_MUST_CHECK int config_in_bool(struct config_ctx *x, const struct config_in *in, bool *out);
RB_MUST_CHECK int config_in_int(struct config_ctx *x, const struct config_in *in, int64_t min,
                                int64_t max, int64_t *out);
RB_MUST_CHECK int config_in_size(struct config_ctx *x, const struct config_in *in, int64_t min,
                                 int64_t max, int64_t *out);
RB_MUST_CHECK int config_in_ms(struct config_ctx *x, const struct config_in *in, bool int_seconds,
                               int64_t min, int64_t max, int64_t *out);
RB_MUST_CHECK int config_in_seconds(struct config_ctx *x, const struct config_in *in, int64_t min,
                                    int64_t max, int64_t *out);
RB_MUST_CHECK int config_in_string(struct config_ctx *x, const struct config_in *in,
                                   const char **out);

/* A list of strings. Owned by its holder. */
struct config_list {
	char **v;
	size_t n;
};

RB_MUST_CHECK int config_in_list(struct config_ctx *x, const struct config_in *in,
                                 struct config_list *out);
void config_list_free(struct config_list *l);
/* Copies @src into *@dst (freed first). Returns 0 or -ENOMEM. */
RB_MUST_CHECK int config_list_copy(struct config_list *dst, const struct config_list *src);
bool config_list_eq(const struct config_list *a, const struct config_list *b);

/* The Go type nats-server's messages name for a value of @v's kind
 * ("string", "int64", "map[string]interface {}", "[]interface {}"...). */
const char *config_go_type(const struct conf_value *v);

/* Formats @ms as Go prints a duration ("2m0s", "500ms", "1m30s") into
 * @buf; returns @buf. */
const char *config_ms_text(uint64_t ms, char *buf, size_t cap);

#endif /* ROUTER_CONF_VALUE_H */
