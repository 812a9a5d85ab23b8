/* The configuration parser: the structure between tokens (entries, maps,
 * arrays, their ends and separators) and $NAME references. An explicit
 * stack of open maps and arrays, no recursion: nesting is bounded by
 * CONF_MAX_DEPTH, not by the C stack. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf_int.h"

/* An open map or array. */
struct frame {
	struct conf_value *node;
	struct conf_value *parent_map; /* the map whose @entry holds @node */
	struct conf_entry *entry;      /* NULL: in an array, or the root */
	struct conf_value **items;     /* an array's values so far (malloc) */
	size_t n, cap;
	unsigned line, col; /* where it opened */
	bool after_value;   /* a value was read; its end is next */
	const char *key;    /* the last key, for messages */
};

struct parser {
	struct conf_src *s;
	struct frame frames[CONF_MAX_DEPTH + 1];
	unsigned top; /* frames[top] is the innermost */
};

#define DONE 1 /* a step's result: the text is over */

static unsigned level(const struct parser *p)
{
	return p->s->base_level + p->top;
}

static const char *where(const struct frame *f)
{
	return f->node->type == CONF_ARRAY ? "an array" : "a map";
}

/* "unexpected 'c' @context" about the byte at the cursor. */
static int fail_unexpected(struct parser *p, const char *context)
{
	struct conf_lexer *lx = &p->s->lx;
	char name[8];
	return conf_fail(p->s, lx->line, conf_lex_col(lx), -EINVAL, "unexpected %s %s",
	                 conf_char_name(conf_lex_peek(lx), name), context);
}

static int fail_eof(struct parser *p)
{
	struct frame *f = &p->frames[p->top];
	struct conf_lexer *lx = &p->s->lx;
	return conf_fail(p->s, lx->line, conf_lex_col(lx), -EINVAL,
	                 "unexpected end of file inside %s (opened at %u:%u)", where(f), f->line,
	                 f->col);
}

/* Deepest child + 1: with every level bounded, so is everything below. */
static void set_height(struct conf_value *v)
{
	unsigned h = 0;
	if (v->type == CONF_ARRAY)
		for (size_t i = 0; i < v->u.arr.len; i++)
			h = v->u.arr.items[i]->height > h ? v->u.arr.items[i]->height : h;
	else
		for (const struct conf_entry *e = v->u.map.first; e; e = e->next)
			h = e->value->height > h ? e->value->height : h;
	v->height = (uint8_t)(h + 1);
}

/* Puts @v into the innermost map (as @key's value) or array. */
static int place(struct parser *p, struct conf_entry *key, struct conf_value *v)
{
	struct frame *f = &p->frames[p->top];
	if (level(p) + v->height > CONF_MAX_DEPTH)
		return conf_fail(p->s, v->line, v->col, -E2BIG,
		                 "maps and arrays nested deeper than %d levels%s", CONF_MAX_DEPTH,
		                 v->var ? " (through a variable)" : "");
	if (key) {
		key->value = v;
		conf_map_add(f->node, key);
		return 0;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct conf_value **items = realloc(f->items, cap * sizeof(*items));
		if (!items) {
			p->s->ctx->alloc_err = -ENOMEM;
			return conf_fail_alloc(p->s);
		}
		f->items = items;
		f->cap = cap;
	}
	f->items[f->n++] = v;
	return 0;
}

/* Opens a map or an array that @tok began, held by @key or the array. */
static int open_frame(struct parser *p, struct conf_entry *key, const struct conf_token *tok)
{
	enum conf_type type = tok->kind == CONF_TOK_MAP ? CONF_MAP : CONF_ARRAY;
	struct conf_value *v = conf_value_new(p->s->ctx, type, p->s->name, tok->line, tok->col);
	if (!v)
		return conf_fail_alloc(p->s);
	int ret = place(p, key, v);
	if (ret)
		return ret;
	struct conf_value *parent = p->frames[p->top].node;
	p->frames[++p->top] = (struct frame){
	    .node = v,
	    .parent_map = key ? parent : NULL,
	    .entry = key,
	    .line = tok->line,
	    .col = tok->col,
	};
	return 0;
}

/* Closes the innermost map or array at its `}` or `]` (consumed). */
static int close_frame(struct parser *p)
{
	struct frame *f = &p->frames[p->top];
	struct conf_value *v = f->node;
	if (v->type == CONF_ARRAY && f->n) {
		v->u.arr.items = conf_alloc(p->s->ctx, f->n * sizeof(*v->u.arr.items));
		if (!v->u.arr.items)
			return conf_fail_alloc(p->s);
		memcpy(v->u.arr.items, f->items, f->n * sizeof(*v->u.arr.items));
		v->u.arr.len = f->n;
	}
	free(f->items);
	f->items = NULL;
	set_height(v);
	if (f->entry && conf_map_complete(p->s->ctx, f->parent_map, f->entry))
		return conf_fail_alloc(p->s);
	p->top--;
	return 0;
}

/* The value of `$NAME`: a copy of the last NAME (exact case) already whole
 * in an enclosing map, inner to outer, else the environment's. A bare
 * `$2a$...` is a bcrypt hash, kept as a string. */
static int resolve(struct parser *p, const struct conf_token *tok, struct conf_value **out)
{
	struct conf_ctx *ctx = p->s->ctx;
	if (tok->len >= 3 && memcmp(tok->text, "2a$", 3) == 0) {
		struct conf_value *v =
		    conf_value_new(ctx, CONF_STRING, p->s->name, tok->line, tok->col);
		if (!v)
			return conf_fail_alloc(p->s);
		v->raw = v->u.str.s = tok->raw;
		v->raw_len = v->u.str.len = tok->raw_len;
		*out = v;
		return 0;
	}
	struct conf_value *v = NULL;
	for (unsigned i = p->top + 1; i-- > 0 && !v;) {
		struct conf_value *map = p->frames[i].node;
		struct conf_entry *e = map->type == CONF_MAP
		                           ? conf_index_find(&ctx->exact, map, tok->text, tok->len)
		                           : NULL;
		if (e) {
			e->value->flags |= CONF_F_USED;
			v = conf_value_copy(ctx, e->value);
			if (!v)
				return conf_fail_alloc(p->s);
		}
	}
	if (!v) {
		int ret = p->s->ctx->env_lookup(p->s, tok, &v);
		if (ret < 0)
			return ret;
	}
	if (!v)
		return conf_fail(p->s, tok->line, tok->col, -EINVAL,
		                 "variable reference for '%s' on line %u can not be found",
		                 tok->text, tok->line);
	v->file = p->s->name;
	v->line = tok->line;
	v->col = tok->col;
	v->var = tok->text;
	*out = v;
	return 0;
}

/* Reads a value at the cursor and puts it under @key or into the array. */
static int value(struct parser *p, struct conf_entry *key)
{
	struct conf_token tok;
	struct conf_value *v = NULL;
	int ret = conf_lex_value(p->s, &tok);
	if (ret)
		return ret;
	p->frames[p->top].after_value = true;
	if (tok.kind == CONF_TOK_MAP || tok.kind == CONF_TOK_ARRAY)
		return open_frame(p, key, &tok);
	if (tok.kind == CONF_TOK_VAR) {
		ret = resolve(p, &tok, &v);
		if (ret)
			return ret;
	} else {
		v = tok.value;
	}
	ret = place(p, key, v);
	if (!ret && key && conf_map_complete(p->s->ctx, p->frames[p->top].node, key))
		ret = conf_fail_alloc(p->s);
	return ret;
}

static bool is_include(const struct conf_token *key, bool spaced)
{
	return spaced && key->len == 7 && strncasecmp(key->text, "include", 7) == 0;
}

/* One `key value` (or `include path`) of the innermost map, at its key. */
static int entry(struct parser *p)
{
	struct frame *f = &p->frames[p->top];
	struct conf_lexer *lx = &p->s->lx;
	struct conf_token key;
	bool spaced, top = p->top == 0;
	int ret = conf_lex_key(p->s, &key, &spaced);
	if (ret)
		return ret;
	f->key = key.text;
	if (is_include(&key, spaced)) {
		struct conf_token path;
		ret = conf_lex_include(p->s, &path);
		f->after_value = true;
		return ret ? ret : p->s->ctx->include(p->s, &path, f->node, level(p));
	}
	conf_lex_skip_space(lx);
	int c = conf_lex_peek(lx);
	bool sep = c == ':' || c == '=';
	if (sep) {
		conf_lex_advance(lx);
		/* nats-server: a value may follow on the next line in a map only. */
		if (top)
			conf_lex_skip_blank(lx);
		else
			conf_lex_skip_space(lx);
		c = conf_lex_peek(lx);
	}
	if (c < 0 && !top)
		return fail_eof(p);
	if ((c < 0 && !sep) || (!top && c == '}'))
		return conf_fail(p->s, key.line, key.col, -EINVAL, "key \"%s\" has no value",
		                 key.text);
	if (!top && c == ',')
		return conf_fail(p->s, lx->line, conf_lex_col(lx), -EINVAL,
		                 "unexpected ',' where the value of \"%s\" should be", key.text);
	struct conf_entry *e = conf_alloc(p->s->ctx, sizeof(*e));
	if (!e)
		return conf_fail_alloc(p->s);
	*e = (struct conf_entry){
	    .key = key.text,
	    .key_len = key.len,
	    .line = key.line,
	    .col = key.col,
	    .file = p->s->name,
	};
	return value(p, e);
}

/* At the top level, where a key could start: a `{` is skipped (nats-server
 * skips it, so a text may be wrapped in `{ }`, and an unclosed one goes
 * unnoticed); a `}`, `;` or `,` only where nothing but more of them, white
 * space and comments follows (nats-server takes it for a key, and drops a
 * key without a value at the end). */
static int skip_top(struct parser *p, int c)
{
	struct conf_lexer *lx = &p->s->lx;
	if (c == '{') {
		conf_lex_advance(lx);
		return 0;
	}
	struct conf_lexer rest = *lx;
	for (;;) {
		conf_lex_skip_space(&rest);
		int r = conf_lex_peek(&rest);
		if (r < 0) {
			*lx = rest;
			return DONE;
		}
		if (r == '}' || r == ';' || r == ',')
			conf_lex_advance(&rest);
		else if (!conf_lex_comment(&rest))
			return fail_unexpected(p, "at the top level");
	}
}

/* In a map (or the top level), expecting a key. */
static int step_key(struct parser *p)
{
	struct conf_lexer *lx = &p->s->lx;
	bool top = p->top == 0;
	do
		conf_lex_skip_space(lx);
	while (conf_lex_comment(lx));
	int c = conf_lex_peek(lx);
	if (c < 0)
		return top ? DONE : fail_eof(p);
	if (top && (c == '{' || c == '}' || c == ';' || c == ','))
		return skip_top(p, c);
	if (c == '}') {
		conf_lex_advance(lx);
		return close_frame(p);
	}
	if (c == ']' || c == ':' || c == '=' || c == ';' || c == ',' || (c == '/' && top))
		return fail_unexpected(p, top ? "at the top level" : "in a map");
	return entry(p);
}

/* In a map (or the top level), after a value. */
static int step_map_end(struct parser *p)
{
	struct frame *f = &p->frames[p->top];
	struct conf_lexer *lx = &p->s->lx;
	bool top = p->top == 0;
	conf_lex_skip_blank(lx);
	if (conf_lex_comment(lx)) {
		f->after_value = false;
		return 0;
	}
	int c = conf_lex_peek(lx);
	if (c == '\n' || c == '\r' || c == ';' || c == ',') {
		conf_lex_advance(lx);
		f->after_value = false;
		return 0;
	}
	if (c < 0)
		return top ? DONE : fail_eof(p);
	if (c == '}' && top) { /* ends the entry, as a new line would */
		conf_lex_advance(lx);
		f->after_value = false;
		return 0;
	}
	if (c == '}') {
		conf_lex_advance(lx);
		return close_frame(p);
	}
	char name[8];
	return conf_fail(p->s, lx->line, conf_lex_col(lx), -EINVAL,
	                 "expected a new line, ';'%s or ',' after the value of \"%s\", found %s",
	                 top ? "" : ", '}'", f->key ? f->key : "", conf_char_name(c, name));
}

/* In an array, expecting a value or its end. */
static int step_item(struct parser *p)
{
	struct conf_lexer *lx = &p->s->lx;
	do
		conf_lex_skip_space(lx);
	while (conf_lex_comment(lx));
	int c = conf_lex_peek(lx);
	if (c < 0)
		return fail_eof(p);
	if (c == ']') {
		conf_lex_advance(lx);
		return close_frame(p);
	}
	if (c == ',')
		return fail_unexpected(p, "in an array");
	return value(p, NULL);
}

/* In an array, after a value. */
static int step_item_end(struct parser *p)
{
	struct conf_lexer *lx = &p->s->lx;
	conf_lex_skip_blank(lx);
	if (conf_lex_comment(lx))
		return 0;
	int c = conf_lex_peek(lx);
	if (c < 0)
		return fail_eof(p);
	if (c == ']') {
		conf_lex_advance(lx);
		return close_frame(p);
	}
	if (c == ',' || c == '\n' || c == '\r') {
		conf_lex_advance(lx);
		p->frames[p->top].after_value = false;
		return 0;
	}
	char name[8];
	return conf_fail(p->s, lx->line, conf_lex_col(lx), -EINVAL,
	                 "expected ',', a new line or ']' after an array element, found %s",
	                 conf_char_name(c, name));
}

/* Parses the source's text into @root (a map: the tree's root, or a
 * temporary one an include's entries move out of). Returns 0 or -errno with
 * the error recorded. */
int conf_parse_src(struct conf_src *s, struct conf_value *root)
{
	struct parser *p = calloc(1, sizeof(*p));
	if (!p) {
		s->ctx->alloc_err = -ENOMEM;
		return conf_fail_alloc(s);
	}
	p->s = s;
	p->frames[0] = (struct frame){.node = root, .line = 1, .col = 1};
	int ret;
	for (;;) {
		struct frame *f = &p->frames[p->top];
		if (f->node->type == CONF_MAP)
			ret = f->after_value ? step_map_end(p) : step_key(p);
		else
			ret = f->after_value ? step_item_end(p) : step_item(p);
		if (ret)
			break;
	}
	if (ret == DONE) {
		set_height(root);
		ret = 0;
	}
	for (unsigned i = 0; i <= p->top; i++)
		free(p->frames[i].items);
	free(p);
	return ret;
}
