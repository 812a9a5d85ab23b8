/* Prometheus text format 0.0.4 checker for the monitoring tests: one pass over
 * the lines, keeping the families and series seen so far. */
#include "tests/router/prom_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_NAME_MAX 200

struct pc_family {
	char name[PC_NAME_MAX];
	char type[16];
	bool help;
	bool closed; /* another family's lines came after ours */
};

struct pc_state {
	struct pc_family *fam;
	size_t nfam;
	char **series;
	size_t nseries;
	long cur; /* family of the previous line, -1 none */
	int line;
	char *why;
	size_t cap;
};

__attribute__((format(printf, 2, 3))) static int pc_fail(struct pc_state *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->why, s->cap, "line %d: %s", s->line, msg);
	return -1;
}

static bool pc_name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (colon && c == ':')
		return true;
	return !first && c >= '0' && c <= '9';
}

/* Reads a name at *p into out; returns its length (0: none or too long). */
static size_t pc_name(const char **p, char *out, bool colon)
{
	size_t n = 0;
	while (pc_name_char((*p)[n], n == 0, colon))
		n++;
	if (n == 0 || n >= PC_NAME_MAX)
		return 0;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return n;
}

/* A float as the format writes one: decimal with optional fraction and
 * exponent, or NaN, +Inf, -Inf. */
static bool pc_float(const char *tok, size_t len, double *v)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	if (!strcmp(buf, "NaN") || !strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") ||
	    !strcmp(buf, "Inf")) {
		*v = strtod(buf, NULL);
		return true;
	}
	const char *p = buf;
	if (*p == '+' || *p == '-')
		p++;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return false;
	*v = strtod(buf, NULL);
	return true;
}

static long pc_family_find(struct pc_state *s, const char *name, bool add)
{
	for (size_t i = 0; i < s->nfam; i++)
		if (!strcmp(s->fam[i].name, name))
			return (long)i;
	if (!add)
		return -1;
	struct pc_family *f = realloc(s->fam, (s->nfam + 1) * sizeof(*f));
	if (!f)
		return -1;
	s->fam = f;
	memset(&f[s->nfam], 0, sizeof(*f));
	snprintf(f[s->nfam].name, PC_NAME_MAX, "%s", name);
	return (long)s->nfam++;
}

/* Moves to family @i: the previous one is closed; a closed one may not come back. */
static int pc_enter(struct pc_state *s, long i)
{
	if (i == s->cur)
		return 0;
	if (s->fam[i].closed)
		return pc_fail(s, "lines of family %s are not contiguous", s->fam[i].name);
	if (s->cur >= 0)
		s->fam[s->cur].closed = true;
	s->cur = i;
	return 0;
}

static int pc_comment(struct pc_state *s, const char *p)
{
	bool help = !strncmp(p, "# HELP ", 7), type = !strncmp(p, "# TYPE ", 7);
	if (!help && !type)
		return 0; /* free comment */
	p += 7;
	char name[PC_NAME_MAX];
	if (!pc_name(&p, name, true) || (*p != ' ' && *p != '\0'))
		return pc_fail(s, "bad metric name in HELP/TYPE");
	long i = pc_family_find(s, name, true);
	if (i < 0)
		return pc_fail(s, "out of memory");
	if (pc_enter(s, i))
		return -1;
	struct pc_family *f = &s->fam[i];
	if (help) {
		if (f->help)
			return pc_fail(s, "second HELP for %s", name);
		f->help = true;
		return 0;
	}
	if (f->type[0])
		return pc_fail(s, "second TYPE for %s", name);
	if (*p == ' ')
		p++;
	static const char *const types[] = {"counter", "gauge", "untyped", "histogram", "summary"};
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		if (!strcmp(p, types[k])) {
			snprintf(f->type, sizeof(f->type), "%s", p);
			if (!strcmp(p, "counter")) {
				size_t n = strlen(name);
				if (n < 6 || strcmp(name + n - 6, "_total"))
					return pc_fail(s, "counter %s does not end in _total",
					               name);
			}
			return 0;
		}
	}
	return pc_fail(s, "unknown TYPE '%s' for %s", p, name);
}

struct pc_label {
	char name[PC_NAME_MAX];
	const char *val; /* raw, escaped, not terminated */
	size_t len;
};

static int pc_label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pc_label *)a)->name, ((const struct pc_label *)b)->name);
}

/* Parses "{...}" at *p into labels (at most cap). Returns the count or -1. */
static int pc_labels(struct pc_state *s, const char **p, struct pc_label *l, int cap)
{
	int n = 0;
	(*p)++; /* '{' */
	while (**p != '}') {
		if (n == cap)
			return pc_fail(s, "too many labels");
		if (!pc_name(p, l[n].name, false))
			return pc_fail(s, "bad label name");
		if (!strncmp(l[n].name, "__", 2))
			return pc_fail(s, "reserved label name %s", l[n].name);
		for (int k = 0; k < n; k++)
			if (!strcmp(l[k].name, l[n].name))
				return pc_fail(s, "label %s repeated", l[n].name);
		if (**p != '=' || (*p)[1] != '"')
			return pc_fail(s, "label %s: expected =\"", l[n].name);
		*p += 2;
		l[n].val = *p;
		while (**p != '"') {
			if (**p == '\0')
				return pc_fail(s, "unterminated label value");
			if (**p == '\\') {
				char e = (*p)[1];
				if (e != '\\' && e != '"' && e != 'n')
					return pc_fail(s, "bad escape \\%c in label value",
					               e ? e : '0');
				(*p)++;
			}
			(*p)++;
		}
		l[n].len = (size_t)(*p - l[n].val);
		(*p)++;
		n++;
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return pc_fail(s, "expected , or } after a label");
	}
	(*p)++;
	return n;
}

static int pc_sample(struct pc_state *s, const char *p)
{
	char name[PC_NAME_MAX];
	if (!pc_name(&p, name, true))
		return pc_fail(s, "bad metric name");
	long i = pc_family_find(s, name, false);
	if (i < 0) { /* a histogram's series: <family>_bucket, _sum, _count */
		static const char *const sfx[] = {"_bucket", "_sum", "_count"};
		size_t n = strlen(name);
		for (size_t k = 0; i < 0 && k < 3; k++) {
			size_t ls = strlen(sfx[k]);
			if (n <= ls || strcmp(name + n - ls, sfx[k]))
				continue;
			char fam[PC_NAME_MAX];
			snprintf(fam, sizeof(fam), "%.*s", (int)(n - ls), name);
			long j = pc_family_find(s, fam, false);
			if (j >= 0 && !strcmp(s->fam[j].type, "histogram"))
				i = j;
		}
	}
	if (i < 0 || !s->fam[i].help || !s->fam[i].type[0])
		return pc_fail(s, "sample %s without HELP and TYPE before it", name);
	if (pc_enter(s, i))
		return -1;
	struct pc_label l[16];
	int nl = 0;
	if (*p == '{' && (nl = pc_labels(s, &p, l, 16)) < 0)
		return -1;
	if (*p != ' ')
		return pc_fail(s, "expected a space before the value");
	while (*p == ' ')
		p++;
	const char *tok = p;
	while (*p && *p != ' ')
		p++;
	double v;
	if (!pc_float(tok, (size_t)(p - tok), &v))
		return pc_fail(s, "value '%.*s' is not a float", (int)(p - tok), tok);
	if (!strcmp(s->fam[i].type, "counter") && !(v >= 0))
		return pc_fail(s, "counter %s has negative value", name);
	if (*p == ' ') { /* optional timestamp: an integer */
		p++;
		if (*p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return pc_fail(s, "bad timestamp");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return pc_fail(s, "trailing text after the value");

	/* the series, labels in name order, must be new */
	qsort(l, (size_t)nl, sizeof(l[0]), pc_label_cmp);
	char key[1024];
	int k = snprintf(key, sizeof(key), "%s", name);
	for (int j = 0; j < nl && k > 0 && (size_t)k < sizeof(key); j++)
		k += snprintf(key + k, sizeof(key) - (size_t)k, "|%s=%.*s", l[j].name,
		              (int)l[j].len, l[j].val);
	for (size_t j = 0; j < s->nseries; j++)
		if (!strcmp(s->series[j], key))
			return pc_fail(s, "series %s repeated", key);
	char **a = realloc(s->series, (s->nseries + 1) * sizeof(*a));
	if (!a)
		return pc_fail(s, "out of memory");
	s->series = a;
	if (!(a[s->nseries] = strdup(key)))
		return pc_fail(s, "out of memory");
	s->nseries++;
	return 0;
}

int prom_check(const char *text, char *why, size_t cap, size_t *nsamples)
{
	struct pc_state s = {.cur = -1, .why = why, .cap = cap};
	int ret = 0;
	const char *p = text;
	if (*text && text[strlen(text) - 1] != '\n') {
		s.line = 1;
		for (const char *q = text; *q; q++)
			s.line += *q == '\n';
		ret = pc_fail(&s, "the text does not end in a line feed");
	}
	while (ret == 0 && *p) {
		s.line++;
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		if (!line)
			ret = pc_fail(&s, "out of memory");
		else if (line[0] == '#')
			ret = pc_comment(&s, line);
		else if (line[0] != '\0')
			ret = pc_sample(&s, line);
		free(line);
		p += len + (nl ? 1 : 0);
	}
	if (ret == 0 && nsamples)
		*nsamples = s.nseries;
	for (size_t j = 0; j < s.nseries; j++)
		free(s.series[j]);
	free(s.series);
	free(s.fam);
	return ret;
}

int prom_value(const char *text, const char *name, const char *labels, double *v)
{
	size_t nlen = strlen(name), llen = strlen(labels);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > nlen && !strncmp(p, name, nlen) && p[0] != '#') {
			const char *q = p + nlen;
			bool match = false;
			if (*q == ' ' && llen == 0) {
				match = true;
			} else if (*q == '{' && !strncmp(q + 1, labels, llen) &&
			           q[1 + llen] == '}') {
				q += llen + 2;
				match = *q == ' ';
			}
			if (match) {
				while (*q == ' ')
					q++;
				const char *end = q;
				while (end < p + len && *end != ' ')
					end++;
				return pc_float(q, (size_t)(end - q), v) ? 0 : -1;
			}
		}
		p += len + (nl ? 1 : 0);
	}
	return -1;
}
