/* nats-server's configuration file format: text into a tree of values that
 * carry their positions. Only the format; what keys mean is the caller's.
 *
 * Ownership: conf_parse_file() and conf_parse_string() return a tree owned
 * by the caller, released whole with conf_free(root). Every value, entry,
 * key, string and file name reached from the root is borrowed from it and
 * lives until conf_free(). A tree is read-only after parsing, so threads may
 * read it at the same time. The library never prints; errors come back in a
 * struct conf_error. docs/CONFIG-FORMAT.md describes the grammar. */
#ifndef CORE_CONF_H
#define CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* Limits: an input beyond them is an error, never a crash. */
#define CONF_MAX_DEPTH         64             /* maps and arrays nested */
#define CONF_MAX_INCLUDE_DEPTH 10             /* includes (and $ENV values) nested */
#define CONF_MAX_FILE_BYTES    (4u << 20)     /* one file or text */
#define CONF_MAX_TREE_BYTES    (256ull << 20) /* memory of one tree */

struct conf_value; /* opaque: a node of the tree */
struct conf_entry; /* opaque: one `key: value` of a map */

enum conf_type {
	CONF_MAP = 1,
	CONF_ARRAY,
	CONF_STRING,
	CONF_INT, /* sizes (`1k`, `2MB`) are integers, suffix applied */
	CONF_FLOAT,
	CONF_BOOL,     /* true false yes no on off, any case */
	CONF_DATETIME, /* 2006-01-02T15:04:05Z: the raw text (conf_raw) */
};

/* Where something was written: @file is borrowed from the tree; @line and
 * @col count from 1, @col in bytes (a tab is one). */
struct conf_pos {
	const char *file;
	unsigned line;
	unsigned col;
};

#define CONF_ERROR_TEXT 512

/* A failed parse. @text is the whole message, "file:line:col: what" (only a
 * file that cannot be read at all is "file: what", with @line 0), followed by
 * " (included from f.conf:3:1)" for each include it came through (the
 * first three). */
struct conf_error {
	int code;      /* the -errno the call returned */
	unsigned line; /* where, in @file; 0 when there is no position */
	unsigned col;
	char file[256];             /* truncated if longer */
	char text[CONF_ERROR_TEXT]; /* truncated if longer */
};

/* Flags for conf_parse_*. */
#define CONF_NO_INCLUDE (1u << 0) /* `include` is an error: for text from elsewhere */
#define CONF_NO_ENV     (1u << 1) /* $NAME never looks in the environment */

/* Parses the file at @path (its `include`s are relative to its directory).
 * On success *@out is the root map, owned by the caller. Returns 0 or:
 * -EINVAL a syntax error or a missing variable; -ENOENT, -EACCES, -EISDIR
 * (...) the file or an included one cannot be read; -ELOOP an include cycle,
 * or includes (or $NAME through the environment) nested too deep; -E2BIG a
 * limit above; -EPERM an include under CONF_NO_INCLUDE; -ENOMEM. On error
 * *@out is NULL and @err (may be NULL) says what and where. Reentrant; it
 * reads the environment with getenv(), so not while another thread sets it. */
RB_MUST_CHECK int conf_parse_file(const char *path, unsigned flags, struct conf_value **out,
                                  struct conf_error *err);

/* The same for @len bytes of @text (borrowed for the call only; NUL bytes
 * are allowed). @name (may be NULL: "<string>") names it in positions and
 * errors; includes are relative to its directory, else to the working
 * directory, as nats-server does. */
RB_MUST_CHECK int conf_parse_string(const char *text, size_t len, const char *name, unsigned flags,
                                    struct conf_value **out, struct conf_error *err);

/* Releases a tree. Takes the root a parse returned; NULL, or any other
 * value of a tree, is left alone. */
void conf_free(struct conf_value *root);

/* What a value is, and a word for it in messages ("map", "integer"...). */
enum conf_type conf_type(const struct conf_value *v);
const char *conf_type_name(enum conf_type type);

/* Where @v was written. A value that came from `$NAME` is where `$NAME` was
 * written; the values inside it keep the positions of the definition. */
struct conf_pos conf_pos(const struct conf_value *v);

/* The text a scalar was written as (quotes and `( )` not included, escapes
 * not decoded), e.g. "1m" for the integer 1000000, "2s" for a string, "Yes"
 * for a boolean; NUL-terminated. Maps and arrays: "". @len may be NULL. For
 * a value from the environment, the text of the variable. */
const char *conf_raw(const struct conf_value *v, size_t *len);

/* The variable @v was copied from (`$NAME` gives "NAME"), or NULL. */
const char *conf_var_name(const struct conf_value *v);

/* True when some `$NAME` referred to this value (it is a variable's
 * definition). nats-server reports an unknown key whose value was never
 * referred to as an unknown field, and ignores one that was. */
bool conf_used(const struct conf_value *v);

/* Maps. Keys keep their spelling; lookups ignore ASCII case. A key written
 * twice (in any case) gives two entries in file order; conf_map_get()
 * returns the last, as nats-server keeps the last, and
 * conf_entry_shadowed() marks the earlier ones. An `include` adds the
 * included file's entries in place. Each is O(1) except conf_map_find and
 * conf_map_get: O(number of entries). A NULL or non-map @map reads as an
 * empty map, so lookups chain: conf_map_get(conf_map_get(root, "a"), "b"). */
size_t conf_map_len(const struct conf_value *map); /* entries, shadowed ones too */
const struct conf_entry *conf_map_first(const struct conf_value *map);
const struct conf_entry *conf_entry_next(const struct conf_entry *e);
const char *conf_entry_key(const struct conf_entry *e);
struct conf_pos conf_entry_pos(const struct conf_entry *e); /* of the key */
const struct conf_value *conf_entry_value(const struct conf_entry *e);
bool conf_entry_shadowed(const struct conf_entry *e);
const struct conf_entry *conf_map_find(const struct conf_value *map, const char *key);
const struct conf_value *conf_map_get(const struct conf_value *map, const char *key);

/* Keys compared as nats-server's settings are: ASCII case ignored. */
bool conf_key_eq(const char *a, const char *b);

/* Arrays. conf_array_get() is NULL past the end; a NULL or non-array
 * @array reads as an empty one. */
size_t conf_array_len(const struct conf_value *array);
const struct conf_value *conf_array_get(const struct conf_value *array, size_t i);

/* Conversions. Each returns 0, -EINVAL when @v is NULL or of another type
 * (or a malformed duration), -ERANGE when it does not fit; *@out is left
 * alone on error. No conversion between types: a quoted "true" is a string, as it is
 * to nats-server. */
RB_MUST_CHECK int conf_as_bool(const struct conf_value *v, bool *out);
RB_MUST_CHECK int conf_as_int(const struct conf_value *v, int64_t *out);
/* A non-negative integer (sizes are integers already). */
RB_MUST_CHECK int conf_as_size(const struct conf_value *v, uint64_t *out);
/* An integer or a float. */
RB_MUST_CHECK int conf_as_float(const struct conf_value *v, double *out);
/* A string: *@out is borrowed from the tree, NUL-terminated; @len (may be
 * NULL) counts bytes, as a string may hold NUL bytes (`"\x00"`). */
RB_MUST_CHECK int conf_as_string(const struct conf_value *v, const char **out, size_t *len);
/* A string holding a Go duration ("2s", "1m30s", "1.5h", "500ms", "-3us")
 * in nanoseconds. Integers are -EINVAL: whether a bare number means seconds
 * is the setting's business (nats-server: yes, with a warning, for
 * ping_interval and write_deadline; an error for lame_duck_duration). */
RB_MUST_CHECK int conf_as_duration_ns(const struct conf_value *v, int64_t *out);

/* Go's time.ParseDuration over @len bytes of @s: "0", or signed runs of a
 * decimal number and a unit (ns us µs ms s m h). Returns 0, -EINVAL or
 * -ERANGE (beyond ±292 years). */
RB_MUST_CHECK int conf_parse_duration_ns(const char *s, size_t len, int64_t *out);

/* A size written as a bare value is: [-]digits and an optional suffix, any
 * case (`1k` 1000, `1kb`/`1ki`/`1kib` 1024, up to `e`/`eb`), over @len bytes
 * of @s; for sizes that come from elsewhere (a command-line flag). Returns
 * 0, -EINVAL (not a size) or -ERANGE (beyond int64). */
RB_MUST_CHECK int conf_parse_size(const char *s, size_t len, int64_t *out);

#endif /* CORE_CONF_H */
