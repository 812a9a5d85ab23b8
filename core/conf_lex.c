/* The configuration lexer: keys, include paths and values, read the way
 * nats-server 2.9.10's conf/lex.go reads them (its quirks are listed in
 * docs/CONFIG-FORMAT.md). The parser (conf_parse.c) handles the structure
 * between them; this file turns one token's text into a value. */
#include <errno.h>
#include <string.h>

#include "core/conf_int.h"

void conf_lex_init(struct conf_lexer *lx, const char *text, size_t len)
{
	lx->base = lx->p = lx->line_start = text;
	lx->end = text + len;
	lx->line = 1;
}

/* The next byte, or -1 at the end. */
int conf_lex_peek(const struct conf_lexer *lx)
{
	return lx->p < lx->end ? (unsigned char)*lx->p : -1;
}

/* The byte after the next one, or -1. */
int conf_lex_peek2(const struct conf_lexer *lx)
{
	return lx->end - lx->p > 1 ? (unsigned char)lx->p[1] : -1;
}

void conf_lex_advance(struct conf_lexer *lx)
{
	if (lx->p >= lx->end)
		return;
	if (*lx->p == '\n') {
		lx->line++;
		lx->line_start = lx->p + 1;
	}
	lx->p++;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static bool is_nl(int c)
{
	return c == '\n' || c == '\r';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The length of the white space at the cursor as Go's unicode.IsSpace
 * reads it (nats-server uses it around keys): the ASCII ones, and the UTF-8
 * of U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F
 * and U+3000. 0 when there is none. */
static size_t space_len(const struct conf_lexer *lx)
{
	const unsigned char *p = (const unsigned char *)lx->p;
	size_t left = (size_t)(lx->end - lx->p);
	if (left == 0)
		return 0;
	if (is_blank(p[0]) || is_nl(p[0]) || p[0] == '\v' || p[0] == '\f')
		return 1;
	if (left >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (left < 3)
		return 0;
	unsigned cp = (p[0] & 0xfu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	if ((p[0] & 0xf0) != 0xe0 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
		return 0;
	bool space = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	             cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
	return space ? 3 : 0;
}

/* Skips spaces and tabs. */
void conf_lex_skip_blank(struct conf_lexer *lx)
{
	while (is_blank(conf_lex_peek(lx)))
		conf_lex_advance(lx);
}

/* Skips all white space, new lines and Unicode spaces included. */
void conf_lex_skip_space(struct conf_lexer *lx)
{
	for (size_t n; (n = space_len(lx)) != 0;)
		while (n--)
			conf_lex_advance(lx);
}

/* At `#` or `//`: skips to the end of the line (not the new line itself)
 * and returns true. */
bool conf_lex_comment(struct conf_lexer *lx)
{
	int c = conf_lex_peek(lx);
	if (c != '#' && !(c == '/' && conf_lex_peek2(lx) == '/'))
		return false;
	while (conf_lex_peek(lx) >= 0 && !is_nl(conf_lex_peek(lx)))
		conf_lex_advance(lx);
	return true;
}

static void tok_start(struct conf_src *s, struct conf_token *tok)
{
	memset(tok, 0, sizeof(*tok));
	tok->line = s->lx.line;
	tok->col = conf_lex_col(&s->lx);
}

/* Sets the token's text to an arena copy of @raw/@len; its decoded text is
 * the same copy unless @decoded is given. Returns 0 or -errno. */
static int tok_text(struct conf_src *s, struct conf_token *tok, const char *raw, size_t len,
                    const char *decoded, size_t dlen)
{
	char *r = conf_strndup(s->ctx, raw, len);
	char *d = r;
	if (r && decoded)
		d = conf_strndup(s->ctx, decoded, dlen);
	if (!d)
		return conf_fail_alloc(s);
	tok->raw = r;
	tok->raw_len = len;
	tok->text = d;
	tok->len = decoded ? dlen : len;
	return 0;
}

/* Makes the token a scalar value of @type from its text. */
static int tok_scalar(struct conf_src *s, struct conf_token *tok, enum conf_type type)
{
	struct conf_value *v = conf_value_new(s->ctx, type, s->name, tok->line, tok->col);
	if (!v)
		return conf_fail_alloc(s);
	v->raw = tok->raw;
	v->raw_len = tok->raw_len;
	v->u.str.s = tok->text;
	v->u.str.len = tok->len;
	tok->kind = CONF_TOK_SCALAR;
	tok->value = v;
	return 0;
}

/* At a quote @q: the text up to the closing one (no escapes), may span
 * lines; NULL at the end of the input. */
static const char *lex_quoted_span(struct conf_lexer *lx, int q, size_t *len)
{
	conf_lex_advance(lx);
	const char *from = lx->p;
	while (conf_lex_peek(lx) >= 0 && conf_lex_peek(lx) != q)
		conf_lex_advance(lx);
	if (conf_lex_peek(lx) < 0)
		return NULL;
	*len = (size_t)(lx->p - from);
	conf_lex_advance(lx);
	return from;
}

/* A key's text: keys are C strings, so no NUL byte in them. */
static int key_text(struct conf_src *s, struct conf_token *key, const char *from, size_t len)
{
	if (memchr(from, 0, len))
		return conf_fail(s, key->line, key->col, -EINVAL, "a key cannot hold a NUL byte");
	return tok_text(s, key, from, len, NULL, 0);
}

/* A key: "quoted", 'quoted' (no escapes) or bare up to white space, `:` or
 * `=`. *@spaced: a bare key that white space ended (it may be `include`).
 * The parser has dealt with what cannot start a key. */
int conf_lex_key(struct conf_src *s, struct conf_token *key, bool *spaced)
{
	struct conf_lexer *lx = &s->lx;
	int c = conf_lex_peek(lx);
	size_t len;
	tok_start(s, key);
	*spaced = false;
	if (c == '"' || c == '\'') {
		const char *from = lex_quoted_span(lx, c, &len);
		if (!from)
			return conf_fail(
			    s, lx->line, conf_lex_col(lx), -EINVAL,
			    "unexpected end of file inside a quoted key (opened at %u:%u)",
			    key->line, key->col);
		return key_text(s, key, from, len);
	}
	const char *from = lx->p;
	while ((c = conf_lex_peek(lx)) >= 0 && !space_len(lx) && c != ':' && c != '=')
		conf_lex_advance(lx);
	*spaced = space_len(lx) > 0;
	return key_text(s, key, from, (size_t)(lx->p - from));
}

/* What an include path cannot start with, in words; NULL if @c can. */
static const char *include_refused(int c)
{
	if (c < 0)
		return "the end of the file";
	if (is_digit(c) || c == '-')
		return "the start of a number";
	switch (c) {
	case '[':
		return "the start of an array";
	case '{':
		return "the start of a map";
	case '(':
		return "the start of a block";
	case '\\':
		return "an escape";
	case '\n':
	case '\r':
		return "a new line";
	}
	return NULL;
}

/* The path after `include `: quoted (no escapes) or bare up to white space,
 * `;`, `}` or a `'` (taken, not kept). */
int conf_lex_include(struct conf_src *s, struct conf_token *path)
{
	struct conf_lexer *lx = &s->lx;
	size_t len;
	conf_lex_skip_blank(lx);
	tok_start(s, path);
	int c = conf_lex_peek(lx);
	const char *refused = include_refused(c);
	if (refused)
		return conf_fail(s, path->line, path->col, -EINVAL,
		                 "expected an include path, found %s", refused);
	if (c == '"' || c == '\'') {
		const char *from = lex_quoted_span(lx, c, &len);
		if (!from)
			return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
			                 "unexpected end of file inside a quoted include path");
		return tok_text(s, path, from, len, NULL, 0);
	}
	const char *from = lx->p;
	while ((c = conf_lex_peek(lx)) >= 0 && !is_nl(c) && !is_blank(c) && c != ';' && c != '}' &&
	       c != '\'')
		conf_lex_advance(lx);
	len = (size_t)(lx->p - from);
	if (c == '\'')
		conf_lex_advance(lx);
	return tok_text(s, path, from, len, NULL, 0);
}

static int hex(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At a backslash: decodes one escape into *@out. */
static int lex_escape(struct conf_src *s, char *out)
{
	struct conf_lexer *lx = &s->lx;
	unsigned line = lx->line, col = conf_lex_col(lx);
	char name[8];
	conf_lex_advance(lx);
	int c = conf_lex_peek(lx);
	static const char from[] = "tnr\"\\", to[] = "\t\n\r\"\\";
	const char *hit = c > 0 ? strchr(from, c) : NULL;
	if (hit) {
		*out = to[hit - from];
		conf_lex_advance(lx);
		return 0;
	}
	if (c != 'x')
		return conf_fail(
		    s, line, col, -EINVAL,
		    "invalid escape %s: only \\t \\n \\r \\\" \\\\ and \\xHH are allowed",
		    c < 0 ? "at the end of the file" : conf_char_name(c, name));
	conf_lex_advance(lx);
	int hi = hex(conf_lex_peek(lx)), lo = hex(conf_lex_peek2(lx));
	if (hi < 0 || lo < 0)
		return conf_fail(s, line, col, -EINVAL,
		                 "expected two hexadecimal digits after '\\x'");
	conf_lex_advance(lx);
	conf_lex_advance(lx);
	*out = (char)(hi << 4 | lo);
	return 0;
}

/* Appends @c to the scratch text at *@n. */
static int scratch_put(struct conf_src *s, size_t *n, char c)
{
	int ret = conf_scratch(s, *n + 1);
	if (ret)
		return ret;
	s->ctx->scratch[(*n)++] = c;
	return 0;
}

static bool stop_dquote(int c)
{
	return c == '"';
}

static bool ends_bare(int c)
{
	return c < 0 || is_nl(c) || is_blank(c) || c == ';' || c == ',' || c == ']' || c == '}';
}

static bool stop_bare(int c)
{
	return ends_bare(c) || c == '\'';
}

/* Scans from the cursor (the text is literal from @from to it) to the end
 * of the input or a byte @stop accepts, decoding escapes. Once an escape is
 * seen, *@escaped is set and the decoded text is in the scratch buffer, *@n
 * bytes. */
static int lex_run(struct conf_src *s, const char *from, bool (*stop)(int), bool *escaped,
                   size_t *n)
{
	struct conf_lexer *lx = &s->lx;
	int c, ret;
	*escaped = false;
	*n = 0;
	while ((c = conf_lex_peek(lx)) >= 0 && !stop(c)) {
		char ch = (char)c;
		if (c == '\\' && !*escaped) {
			*n = (size_t)(lx->p - from);
			if ((ret = conf_scratch(s, *n)) != 0)
				return ret;
			memcpy(s->ctx->scratch, from, *n);
			*escaped = true;
		}
		if (c != '\\')
			conf_lex_advance(lx);
		else if ((ret = lex_escape(s, &ch)) != 0)
			return ret;
		if (*escaped && (ret = scratch_put(s, n, ch)) != 0)
			return ret;
	}
	return 0;
}

/* "..." with escapes; may span lines. */
static int lex_dquoted(struct conf_src *s, struct conf_token *tok)
{
	struct conf_lexer *lx = &s->lx;
	bool escaped;
	size_t n;
	conf_lex_advance(lx);
	const char *from = lx->p;
	int ret = lex_run(s, from, stop_dquote, &escaped, &n);
	if (ret)
		return ret;
	if (conf_lex_peek(lx) < 0)
		return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
		                 "unexpected end of file inside a quoted string (opened at %u:%u)",
		                 tok->line, tok->col);
	size_t len = (size_t)(lx->p - from);
	conf_lex_advance(lx);
	ret = tok_text(s, tok, from, len, escaped ? s->ctx->scratch : NULL, n);
	return ret ? ret : tok_scalar(s, tok, CONF_STRING);
}

/* '...': raw, may span lines. */
static int lex_squoted(struct conf_src *s, struct conf_token *tok)
{
	struct conf_lexer *lx = &s->lx;
	size_t len;
	const char *from = lex_quoted_span(lx, '\'', &len);
	if (!from)
		return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
		                 "unexpected end of file inside a quoted string (opened at %u:%u)",
		                 tok->line, tok->col);
	int ret = tok_text(s, tok, from, len, NULL, 0);
	return ret ? ret : tok_scalar(s, tok, CONF_STRING);
}

/* ( ... ) ending at a `)` alone on its line: the text between, the new line
 * before the `)` included. */
static int lex_block(struct conf_src *s, struct conf_token *tok)
{
	struct conf_lexer *lx = &s->lx;
	conf_lex_advance(lx);
	const char *from = lx->p;
	for (;;) {
		int c = conf_lex_peek(lx);
		if (c < 0)
			return conf_fail(
			    s, lx->line, conf_lex_col(lx), -EINVAL,
			    "unexpected end of file inside a block opened at %u:%u (it "
			    "ends at a ')' alone on a line)",
			    tok->line, tok->col);
		if (c == ')' && lx->p[-1] == '\n' && (lx->end - lx->p == 1 || lx->p[1] == '\n'))
			break;
		conf_lex_advance(lx);
	}
	size_t len = (size_t)(lx->p - from);
	conf_lex_advance(lx);
	int ret = tok_text(s, tok, from, len, NULL, 0);
	return ret ? ret : tok_scalar(s, tok, CONF_STRING);
}

static bool is_bool_word(const char *t, size_t n)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off"};
	for (size_t i = 0; i < RB_ARRAY_LEN(words); i++)
		if (strlen(words[i]) == n && strncasecmp(words[i], t, n) == 0)
			return true;
	return false;
}

/* A bare string that began at @from and is literal up to the cursor: up to
 * white space, a new line, `;`, `,`, `]`, `}` or a `'` (taken, not kept),
 * with escapes. Unless @wordy (it began as a number), a bare true/false/
 * yes/no/on/off is a boolean and `$NAME` a variable, if no escape is in it. */
static int lex_bare(struct conf_src *s, struct conf_token *tok, const char *from, bool wordy)
{
	struct conf_lexer *lx = &s->lx;
	bool escaped;
	size_t n;
	int ret = lex_run(s, from, stop_bare, &escaped, &n);
	if (ret)
		return ret;
	size_t len = (size_t)(lx->p - from);
	if (conf_lex_peek(lx) == '\'')
		conf_lex_advance(lx);
	ret = tok_text(s, tok, from, len, escaped ? s->ctx->scratch : NULL, n);
	if (ret)
		return ret;
	if (!escaped && !wordy && len && from[0] == '$') {
		tok->kind = CONF_TOK_VAR;
		tok->text++;
		tok->len--;
		return 0;
	}
	if (!escaped && !wordy && is_bool_word(from, len)) {
		ret = tok_scalar(s, tok, CONF_BOOL);
		if (!ret)
			tok->value->u.b =
			    strchr("tTyY", from[0]) ||
			    (len == 2 && strchr("oO", from[0]) && strchr("nN", from[1]));
		return ret;
	}
	return tok_scalar(s, tok, CONF_STRING);
}

static bool ends_number(int c)
{
	return c < 0 || is_nl(c) || is_blank(c) || c == '}' || c == ';' || c == ',';
}

/* An integer token from @from to the cursor. */
static int lex_int(struct conf_src *s, struct conf_token *tok, const char *from)
{
	int ret = tok_text(s, tok, from, (size_t)(s->lx.p - from), NULL, 0);
	if (!ret)
		ret = tok_scalar(s, tok, CONF_INT);
	return ret ? ret : conf_scalar_int(s, tok);
}

/* After the digits, at `.`: a float, or an IP address (a string) when a
 * second `.` follows. */
static int lex_float(struct conf_src *s, struct conf_token *tok, const char *from)
{
	struct conf_lexer *lx = &s->lx;
	char name[8];
	conf_lex_advance(lx);
	if (!is_digit(conf_lex_peek(lx)))
		return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
		                 "expected a digit after '.', found %s",
		                 conf_char_name(conf_lex_peek(lx), name));
	while (is_digit(conf_lex_peek(lx)))
		conf_lex_advance(lx);
	bool ip = conf_lex_peek(lx) == '.';
	while (ip && (is_digit(conf_lex_peek(lx)) || strchr(".:-", conf_lex_peek(lx) & 0xff)) &&
	       conf_lex_peek(lx) > 0)
		conf_lex_advance(lx);
	int ret = tok_text(s, tok, from, (size_t)(lx->p - from), NULL, 0);
	if (!ret)
		ret = tok_scalar(s, tok, ip ? CONF_STRING : CONF_FLOAT);
	return ret || ip ? ret : conf_scalar_float(s, tok);
}

/* After four digits, at `-`: the rest of YYYY-MM-DDTHH:MM:SSZ. */
static int lex_date(struct conf_src *s, struct conf_token *tok, const char *from, size_t ndigits)
{
	static const char form[] = "-00-00T00:00:00Z";
	struct conf_lexer *lx = &s->lx;
	char want[8], got[8];
	if (ndigits != 4)
		return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
		                 "unexpected '-': dates must be in full Zulu form "
		                 "(YYYY-MM-DDTHH:MM:SSZ)");
	for (const char *f = form; *f; f++) {
		int c = conf_lex_peek(lx);
		if (*f == '0' ? !is_digit(c) : c != *f)
			return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
			                 "expected %s in a date (YYYY-MM-DDTHH:MM:SSZ), found %s",
			                 *f == '0' ? "a digit" : conf_char_name(*f, want),
			                 conf_char_name(c, got));
		conf_lex_advance(lx);
	}
	int ret = tok_text(s, tok, from, (size_t)(lx->p - from), NULL, 0);
	if (!ret)
		ret = tok_scalar(s, tok, CONF_DATETIME);
	return ret ? ret : conf_scalar_datetime(s, tok);
}

static bool is_suffix(int c)
{
	return c > 0 && strchr("kKmMgGtTpPeE", c);
}

/* A value starting with a digit or `-`: an integer (with a size suffix), a
 * float, a date, an IP address, or a string that starts with digits (`2s`,
 * `1ms`, `10.0.0.1:4222`). */
static int lex_number(struct conf_src *s, struct conf_token *tok)
{
	struct conf_lexer *lx = &s->lx;
	const char *from = lx->p;
	char name[8];
	bool neg = conf_lex_peek(lx) == '-';
	if (neg) {
		conf_lex_advance(lx);
		int c = conf_lex_peek(lx);
		if (!is_digit(c))
			return conf_fail(s, lx->line, conf_lex_col(lx), -EINVAL,
			                 "expected a digit after '-', found %s",
			                 conf_char_name(c, name));
	}
	size_t ndigits = 0;
	for (; is_digit(conf_lex_peek(lx)); ndigits++)
		conf_lex_advance(lx);
	int c = conf_lex_peek(lx);
	if (!neg && c == '-')
		return lex_date(s, tok, from, ndigits);
	if (c == '.')
		return lex_float(s, tok, from);
	if (is_suffix(c)) {
		conf_lex_advance(lx);
		while ((c = conf_lex_peek(lx)) > 0 && strchr("bBiI", c))
			conf_lex_advance(lx);
		if (ends_number(c) || is_digit(c))
			return lex_int(s, tok, from);
		return lex_bare(s, tok, from, true);
	}
	/* nats-server also keeps a `]` here as text ([1] fails there); ringbus
	 * ends the number. */
	if (neg || ends_number(c) || c == ']')
		return lex_int(s, tok, from);
	conf_lex_advance(lx); /* taken as it is, even a `\` or a `'` */
	return lex_bare(s, tok, from, true);
}

/* A value, at its first byte (the parser skipped what comes before). A map
 * or an array is only opened: the parser reads what is in it. */
int conf_lex_value(struct conf_src *s, struct conf_token *tok)
{
	struct conf_lexer *lx = &s->lx;
	int c = conf_lex_peek(lx);
	tok_start(s, tok);
	switch (c) {
	case '[':
	case '{':
		conf_lex_advance(lx);
		tok->kind = c == '[' ? CONF_TOK_ARRAY : CONF_TOK_MAP;
		return 0;
	case '"':
		return lex_dquoted(s, tok);
	case '\'':
		return lex_squoted(s, tok);
	case '(':
		return lex_block(s, tok);
	case '-':
		return lex_number(s, tok);
	case '.':
		return conf_fail(s, tok->line, tok->col, -EINVAL, "floats must start with a digit");
	case '\n':
	case '\r':
		return conf_fail(s, tok->line, tok->col, -EINVAL,
		                 "expected a value, found a new line");
	}
	if (is_digit(c))
		return lex_number(s, tok);
	return lex_bare(s, tok, lx->p, false);
}
