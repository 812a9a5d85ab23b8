/* Errors of a parse: "file:line:col: message" with the includes on the way,
 * the first one kept; and the scratch buffer the lexer decodes escapes into.
 * Every other file of the parser reports through here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>

#include "core/conf_int.h"

/* The byte @c as an error message shows it: 'x', '\n', '\x01'. */
const char *conf_char_name(int c, char buf[8])
{
	if (c < 0)
		return "the end of the file";
	if (c == '\n')
		return "a new line";
	if (c == '\r')
		return "'\\r'";
	if (c == '\t')
		return "'\\t'";
	if (c < 0x20 || c >= 0x7f)
		snprintf(buf, 8, "'\\x%02x'", (unsigned)c & 0xffu);
	else
		snprintf(buf, 8, "'%c'", c);
	return buf;
}

/* Appends to @err->text what printf would, truncating. */
RB_PRINTF(2, 3)
static void text_add(struct conf_error *err, const char *fmt, ...)
{
	size_t used = strlen(err->text);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->text + used, sizeof(err->text) - used, fmt, ap);
	va_end(ap);
}

/* Records the error "name:line:col: message" (the first one only: the
 * innermost, as callers return it outward). Returns @code. */
int conf_fail(struct conf_src *s, unsigned line, unsigned col, int code, const char *fmt, ...)
{
	struct conf_ctx *ctx = s->ctx;
	if (ctx->failed || !ctx->err)
		return code;
	struct conf_error *err = ctx->err;
	ctx->failed = true;
	if (s->is_env && line == 1 && col > 3)
		col -= 3; /* the text parsed was "pk=" and the value */
	err->code = code;
	err->line = line;
	err->col = col;
	snprintf(err->file, sizeof(err->file), "%s", s->name);
	snprintf(err->text, sizeof(err->text), "%s:%u:%u: ", s->name, line, col);
	va_list ap;
	va_start(ap, fmt);
	size_t used = strlen(err->text);
	vsnprintf(err->text + used, sizeof(err->text) - used, fmt, ap);
	va_end(ap);
	unsigned shown = 0;
	for (const struct conf_src *p = s; p->parent; p = p->parent) {
		if (shown++ == 3) {
			text_add(err, " (...)");
			break;
		}
		text_add(err,
		         p->is_env ? " (in an environment variable referred to at %s:%u:%u)"
		                   : " (included from %s:%u:%u)",
		         p->parent->name, p->from_line, p->from_col);
	}
	return code;
}

/* Records why conf_alloc() (or a malloc) failed, at the cursor. */
int conf_fail_alloc(struct conf_src *s)
{
	int code = s->ctx->alloc_err ? s->ctx->alloc_err : -ENOMEM;
	if (code == -E2BIG)
		return conf_fail(s, s->lx.line, conf_lex_col(&s->lx), code,
		                 "the configuration needs more than %llu bytes of memory",
		                 (unsigned long long)CONF_MAX_TREE_BYTES);
	return conf_fail(s, s->lx.line, conf_lex_col(&s->lx), code, "out of memory");
}

/* Makes the scratch buffer hold at least @need bytes (never NULL after). */
int conf_scratch(struct conf_src *s, size_t need)
{
	struct conf_ctx *ctx = s->ctx;
	if (ctx->scratch && need <= ctx->scratch_cap)
		return 0;
	size_t cap = ctx->scratch_cap ? ctx->scratch_cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(ctx->scratch, cap);
	if (!p) {
		ctx->alloc_err = -ENOMEM;
		return conf_fail_alloc(s);
	}
	ctx->scratch = p;
	ctx->scratch_cap = cap;
	return 0;
}
