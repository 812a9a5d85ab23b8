/* Fuzz target for core/conf. Input: configuration text, parsed with
 * includes and the environment off (the files and the variables of the
 * machine stay out of it). A success must give a well-formed tree: types,
 * positions, map entries and their shadowing, lookups, strings and raw text
 * that end where their lengths say, no value nested deeper than the limit.
 * A failure must say where, as "fuzz.conf:line:col: ", and leave no tree.
 * The same text must give the same result twice. Aborts on any violation. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "tests/fuzz/fuzz_target.h"

#define NAME  "fuzz.conf"
#define FLAGS (CONF_NO_INCLUDE | CONF_NO_ENV)

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_conf: invariant broken: %s\n", what);
	abort();
}

static void check(bool ok, const char *what)
{
	if (!ok)
		fail(what);
}

/* A running hash of the tree's shape and values, to compare two parses. */
static uint64_t mix(uint64_t h, uint64_t x)
{
	return (h ^ x) * 0x100000001b3ull;
}

static uint64_t mix_bytes(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = mix(h, (unsigned char)s[i]);
	return h;
}

static uint64_t walk(const struct conf_value *v, unsigned depth);

static uint64_t walk_map(const struct conf_value *v, unsigned depth)
{
	uint64_t h = 1;
	size_t n = 0;
	for (const struct conf_entry *e = conf_map_first(v); e; e = conf_entry_next(e), n++) {
		const char *key = conf_entry_key(e);
		struct conf_pos p = conf_entry_pos(e);
		check(key && p.file && p.line >= 1 && p.col >= 1, "entry position");
		/* Shadowed exactly when a later entry has the same key in any case. */
		bool later = false;
		for (const struct conf_entry *f = conf_entry_next(e); f && !later;
		     f = conf_entry_next(f))
			later = conf_key_eq(key, conf_entry_key(f));
		check(later == conf_entry_shadowed(e), "shadowed flag");
		if (!later)
			check(conf_map_find(v, key) == e, "lookup finds the last entry");
		h = mix_bytes(mix(h, conf_entry_shadowed(e)), key, strlen(key));
		h = mix(h, walk(conf_entry_value(e), depth + 1));
	}
	check(n == conf_map_len(v), "map length");
	return h;
}

static uint64_t walk_scalar(const struct conf_value *v)
{
	size_t raw_len;
	const char *raw = conf_raw(v, &raw_len);
	check(raw && raw[raw_len] == 0, "raw text ends at its length");
	uint64_t h = mix_bytes(7, raw, raw_len);
	const char *s;
	size_t len;
	int64_t i, ns;
	double f;
	bool b;
	check((conf_as_string(v, &s, &len) == 0) == (conf_type(v) == CONF_STRING), "as_string");
	if (conf_type(v) == CONF_STRING) {
		check(s[len] == 0, "string ends at its length");
		h = mix_bytes(h, s, len);
		int r = conf_as_duration_ns(v, &ns);
		check(r == 0 || r == -EINVAL || r == -ERANGE, "a duration's result");
	}
	check((conf_as_int(v, &i) == 0) == (conf_type(v) == CONF_INT), "as_int");
	if (conf_type(v) == CONF_INT)
		h = mix(h, (uint64_t)i);
	check((conf_as_bool(v, &b) == 0) == (conf_type(v) == CONF_BOOL), "as_bool");
	if (conf_type(v) == CONF_BOOL)
		h = mix(h, b);
	check((conf_as_float(v, &f) == 0) ==
	          (conf_type(v) == CONF_FLOAT || conf_type(v) == CONF_INT),
	      "as_float");
	return h;
}

static uint64_t walk(const struct conf_value *v, unsigned depth)
{
	struct conf_pos p = conf_pos(v);
	check(p.file && p.line >= 1 && p.col >= 1, "value position");
	/* The root is at depth 0; maps and arrays nest at most the limit deep. */
	check(depth <= CONF_MAX_DEPTH || conf_type(v) > CONF_ARRAY, "nesting limit");
	uint64_t h = mix(conf_type(v), p.line * 131ull + p.col);
	switch (conf_type(v)) {
	case CONF_MAP:
		check(conf_array_len(v) == 0, "a map is no array");
		return mix(h, walk_map(v, depth));
	case CONF_ARRAY:
		check(conf_map_len(v) == 0 && !conf_map_first(v), "an array is no map");
		for (size_t i = 0; i < conf_array_len(v); i++)
			h = mix(h, walk(conf_array_get(v, i), depth + 1));
		check(!conf_array_get(v, conf_array_len(v)), "index past the end");
		return h;
	case CONF_STRING:
	case CONF_INT:
	case CONF_FLOAT:
	case CONF_BOOL:
	case CONF_DATETIME:
		return mix(h, walk_scalar(v));
	}
	fail("unknown type");
	return 0;
}

/* Parses once; returns a hash of the outcome. */
static uint64_t run(const char *text, size_t len)
{
	struct conf_value *root = (struct conf_value *)&root;
	struct conf_error err;
	int ret = conf_parse_string(text, len, NAME, FLAGS, &root, &err);
	if (ret == 0) {
		check(root && conf_type(root) == CONF_MAP, "the root is a map");
		uint64_t h = walk(root, 0);
		conf_free(root);
		return h;
	}
	check(ret < 0 && !root && err.code == ret, "a failure returns -errno and no tree");
	unsigned line, col;
	int used = 0;
	check(sscanf(err.text, NAME ":%u:%u: %n", &line, &col, &used) == 2 && used > 0,
	      "an error says file:line:col");
	check(line == err.line && col == err.col && line >= 1 && col >= 1, "the error's position");
	check(strcmp(err.file, NAME) == 0, "the error's file");
	return mix_bytes((uint64_t)-ret, err.text, strlen(err.text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	if (run(text, size) != run(text, size))
		fail("two parses of the same text differ");
	/* Any bytes as a Go duration: no undefined behaviour. */
	int64_t ns;
	int r = conf_parse_duration_ns(text, size, &ns);
	check(r == 0 || r == -EINVAL || r == -ERANGE, "a duration's result");
	return 0;
}
