/* Private to core/conf*.c: the tree's layout, its arena, the lexer and the
 * parser's state. Nothing outside core/conf*.c includes this. */
#ifndef CORE_CONF_INT_H
#define CORE_CONF_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/compiler.h"
#include "core/conf.h"

/* ASCII lower case: keys compare without case, as nats-server's do. */
static inline unsigned char conf_lower(char c)
{
	unsigned char x = (unsigned char)c;
	return x >= 'A' && x <= 'Z' ? (unsigned char)(x - 'A' + 'a') : x;
}

#define CONF_F_USED 0x1u /* a $NAME referred to it */
#define CONF_F_ROOT 0x2u /* the root of a tree: conf_free() takes it */

/* A node. Owner: its tree (arena memory), read-only after the parse. */
struct conf_value {
	uint8_t type;   /* enum conf_type */
	uint8_t flags;  /* CONF_F_* */
	uint8_t height; /* scalars 0, a container 1 + its deepest child */
	unsigned line, col;
	const char *file;
	const char *raw; /* source text of a scalar, NUL-terminated; "" otherwise */
	size_t raw_len;
	const char *var; /* $NAME it came from, or NULL */
	union {
		struct {
			const char *s; /* NUL-terminated, may hold NULs */
			size_t len;
		} str;
		int64_t i;
		double f;
		bool b;
		struct {
			struct conf_value **items;
			size_t len;
		} arr;
		struct {
			struct conf_entry *first, *last;
			size_t len;
		} map;
	} u;
};

struct conf_entry {
	struct conf_entry *next;
	const char *key; /* NUL-terminated, as written */
	size_t key_len;
	unsigned line, col;
	const char *file;
	struct conf_value *value;
	bool shadowed;
};

/* Bump allocator: chunks freed together. */
struct conf_chunk;
struct conf_arena {
	struct conf_chunk *chunks;
	char *next, *end;
	uint64_t total; /* bytes taken from malloc */
};

/* A returned tree: the arena and the root map it holds. */
struct conf_tree {
	struct conf_arena arena;
	struct conf_value root;
};

/* Entries of every map of one parse by (map, key): for variables (exact
 * case) and for shadowing (ASCII case folded). Owner: the parse. */
struct conf_index_slot {
	uint64_t hash;
	const struct conf_value *map;
	struct conf_entry *entry; /* NULL: empty */
};

struct conf_index {
	struct conf_index_slot *slots;
	size_t mask, n;
	bool fold;
};

/* A lexer over one text: a cursor with its line. */
struct conf_lexer {
	const char *base, *p, *end;
	const char *line_start;
	unsigned line;
};

enum conf_tok {
	CONF_TOK_SCALAR, /* tok.value set */
	CONF_TOK_VAR,    /* $NAME: tok.text is NAME */
	CONF_TOK_MAP,    /* '{' consumed */
	CONF_TOK_ARRAY,  /* '[' consumed */
};

struct conf_token {
	enum conf_tok kind;
	unsigned line, col;
	const char *raw; /* source span */
	size_t raw_len;
	const char *text; /* decoded (arena) or == raw */
	size_t len;
	struct conf_value *value; /* CONF_TOK_SCALAR: a new node */
};

struct conf_src;

/* One whole parse: the tree being built and what all its texts share. */
struct conf_ctx {
	struct conf_tree *tree;
	struct conf_index exact, fold;
	unsigned flags;
	struct conf_error *err; /* may be NULL */
	bool failed;            /* an error is recorded: keep the first */
	int alloc_err;          /* why conf_alloc() last failed */
	char *scratch;          /* decoding escapes (malloc) */
	size_t scratch_cap;
	/* What the parser asks of the texts' side (conf_source.c), through
	 * pointers so that the two files do not call each other: an include
	 * parses a new text, which may include again. */
	int (*include)(struct conf_src *s, const struct conf_token *path, struct conf_value *map,
	               unsigned level);
	int (*env_lookup)(struct conf_src *s, const struct conf_token *ref,
	                  struct conf_value **out);
};

/* One text: the file, an included file, or an environment value. Owner:
 * the parse, on the heap (a few KiB). */
struct conf_src {
	struct conf_ctx *ctx;
	const struct conf_src *parent; /* the includer (or the $NAME's text) */
	unsigned from_line, from_col;  /* the include or $NAME in @parent */
	const char *name;              /* arena copy, used in positions */
	const char *dir;               /* includes are joined to it */
	dev_t dev;
	ino_t ino;
	bool has_id;         /* dev/ino set: a file */
	bool is_env;         /* an environment value: no includes */
	unsigned nest;       /* includes and env values above this one */
	unsigned base_level; /* nesting of the map the text lands in */
	struct conf_lexer lx;
};

/* conf_tree.c */
void *conf_alloc(struct conf_ctx *ctx, size_t size);
char *conf_strndup(struct conf_ctx *ctx, const char *s, size_t len);
struct conf_tree *conf_tree_new(void);
void conf_tree_free(struct conf_tree *t);
struct conf_value *conf_value_new(struct conf_ctx *ctx, enum conf_type type, const char *file,
                                  unsigned line, unsigned col);
struct conf_value *conf_value_copy(struct conf_ctx *ctx, const struct conf_value *v);
void conf_map_add(struct conf_value *map, struct conf_entry *e);
int conf_map_complete(struct conf_ctx *ctx, struct conf_value *map, struct conf_entry *e);
struct conf_entry *conf_index_find(const struct conf_index *ix, const struct conf_value *map,
                                   const char *key, size_t len);
void conf_index_fini(struct conf_index *ix);

/* conf_lex.c */
void conf_lex_init(struct conf_lexer *lx, const char *text, size_t len);
int conf_lex_peek(const struct conf_lexer *lx);
int conf_lex_peek2(const struct conf_lexer *lx);
void conf_lex_advance(struct conf_lexer *lx);
/* The column (1-based) the lexer is at. */
static inline unsigned conf_lex_col(const struct conf_lexer *lx)
{
	return (unsigned)(lx->p - lx->line_start) + 1;
}
void conf_lex_skip_blank(struct conf_lexer *lx);
void conf_lex_skip_space(struct conf_lexer *lx);
bool conf_lex_comment(struct conf_lexer *lx);
int conf_lex_key(struct conf_src *s, struct conf_token *key, bool *spaced);
int conf_lex_include(struct conf_src *s, struct conf_token *path);
int conf_lex_value(struct conf_src *s, struct conf_token *tok);

/* conf_scalar.c: a scalar token's text into a value, or an error */
int conf_scalar_int(struct conf_src *s, struct conf_token *tok);
int conf_scalar_float(struct conf_src *s, struct conf_token *tok);
int conf_scalar_datetime(struct conf_src *s, struct conf_token *tok);

/* conf_parse.c */
int conf_parse_src(struct conf_src *s, struct conf_value *root);

/* conf_error.c */
RB_PRINTF(5, 6)
int conf_fail(struct conf_src *s, unsigned line, unsigned col, int code, const char *fmt, ...);
int conf_fail_alloc(struct conf_src *s);
int conf_scratch(struct conf_src *s, size_t need);
const char *conf_char_name(int c, char buf[8]);

#endif /* CORE_CONF_INT_H */
