/* Reading one setting's value, from a flag's text or a file's tree, and
 * reporting what is wrong with it where it was written. */
#define _GNU_SOURCE
#include "router/conf/value.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router/conf/config.h"

/* Sends one finished line to the reader's reporter, or to stderr. */
static void config_emit(struct config_ctx *x, bool warning, const char *line)
{
	if (warning)
		x->warnings++;
	else
		x->errors++;
	if (x->c && x->c->report)
		x->c->report(line);
	else
		fprintf(stderr, "%s\n", line);
}

void config_report_at(struct config_ctx *x, bool warning, struct conf_pos pos, const char *fmt, ...)
{
	char what[1024], line[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (pos.file)
		snprintf(line, sizeof(line), "%s:%u:%u: %s", pos.file, pos.line, pos.col, what);
	else
		snprintf(line, sizeof(line), "ringbus: %s", what);
	config_emit(x, warning, line);
}

void config_report_in(struct config_ctx *x, bool warning, const struct config_in *in,
                      const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	struct conf_pos none = {0};
	config_report_at(x, warning, in->from_file ? conf_pos(in->v) : none, "%s", what);
}

/* A value that is not what the setting takes: for a flag in Go's words
 * ("invalid value "x" for flag -p: ..."), for the file "key: ...". */
RB_PRINTF(3, 4)
static int config_bad(struct config_ctx *x, const struct config_in *in, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (in->from_file)
		config_report_in(x, false, in, "%s: %s", in->name, why);
	else
		config_report_in(x, false, in, "invalid value \"%s\" for flag %s: %s",
		                 in->text ? in->text : "", in->name, why);
	return -EINVAL;
}

/* "found string \"abc\"": what the file holds instead, for messages. */
static void config_found(const struct conf_value *v, char *buf, size_t cap)
{
	snprintf(buf, cap, "found %s '%.64s'", conf_type_name(conf_type(v)), conf_raw(v, NULL));
}

static int config_range(struct config_ctx *x, const struct config_in *in, int64_t v, int64_t min,
                        int64_t max)
{
	if (v < min || v > max)
		return config_bad(x, in, "%" PRId64 " is out of range (%" PRId64 " to %" PRId64 ")",
		                  v, min, max);
	return 0;
}

int config_in_bool(struct config_ctx *x, const struct config_in *in, bool *out)
{
	char found[128];
	if (in->from_file) {
		if (conf_as_bool(in->v, out) == 0)
			return 0;
		config_found(in->v, found, sizeof(found));
		return config_bad(x, in, "expected a boolean (true or false), %s", found);
	}
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	if (!in->text) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < RB_ARRAY_LEN(yes); i++) {
		if (!strcmp(in->text, yes[i]) || !strcmp(in->text, no[i])) {
			*out = !strcmp(in->text, yes[i]);
			return 0;
		}
	}
	config_report_in(x, false, in, "invalid boolean value \"%s\" for %s: parse error", in->text,
	                 in->name);
	return -EINVAL;
}

/* A flag's decimal integer (Go's strconv.ParseInt, base 10). */
static int config_text_int(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || s[0] == ' ')
		return -EINVAL;
	*out = v;
	return 0;
}

/* An integer (@size false) or a size (1MB, 1M) within [min, max]. */
static int config_in_number(struct config_ctx *x, const struct config_in *in, bool size,
                            int64_t min, int64_t max, int64_t *out)
{
	static const char size_file[] =
	    "expected a size (an integer, e.g. 1048576 or 1MB, unquoted)";
	static const char size_flag[] = "expected a size (1048576, 1MB = 1048576, 1M = 1000000)";
	int64_t v;
	char found[128];
	if (in->from_file) {
		if (conf_as_int(in->v, &v) != 0) {
			config_found(in->v, found, sizeof(found));
			return config_bad(x, in, "%s, %s", size ? size_file : "expected an integer",
			                  found);
		}
	} else if (size ? !in->text || conf_parse_size(in->text, strlen(in->text), &v) != 0
	                : config_text_int(in->text, &v) != 0) {
		return config_bad(x, in, "%s", size ? size_flag : "parse error");
	}
	if (config_range(x, in, v, min, max))
		return -EINVAL;
	*out = v;
	return 0;
}

int config_in_int(struct config_ctx *x, const struct config_in *in, int64_t min, int64_t max,
                  int64_t *out)
{
	return config_in_number(x, in, false, min, max, out);
}

int config_in_size(struct config_ctx *x, const struct config_in *in, int64_t min, int64_t max,
                   int64_t *out)
{
	return config_in_number(x, in, true, min, max, out);
}

/* Milliseconds of @ns, rounded up so that a positive duration stays one. */
static int64_t config_ns_to_ms(int64_t ns)
{
	if (ns > 0)
		return (ns + 999999) / 1000000;
	return ns / 1000000;
}

static int config_ms_range(struct config_ctx *x, const struct config_in *in, int64_t ms,
                           int64_t min, int64_t max)
{
	char a[32], b[32], c[32];
	if (ms < min || ms > max)
		return config_bad(
		    x, in, "%s is out of range (%s to %s)",
		    ms < 0 ? "a negative duration" : config_ms_text((uint64_t)ms, a, 32),
		    config_ms_text((uint64_t)min, b, 32), config_ms_text((uint64_t)max, c, 32));
	return 0;
}

int config_in_ms(struct config_ctx *x, const struct config_in *in, bool int_seconds, int64_t min,
                 int64_t max, int64_t *out)
{
	int64_t ns, secs;
	char found[128];
	if (in->from_file) {
		if (conf_type(in->v) == CONF_INT && int_seconds && conf_as_int(in->v, &secs) == 0) {
			/* nats-server's words; it reads the integer as seconds */
			config_report_in(x, true, in,
			                 "invalid use of field \"%s\": %s should be converted to a "
			                 "duration",
			                 in->name, in->name);
			if (secs > INT64_MAX / 1000000000 || secs < 0)
				return config_bad(x, in, "%" PRId64 " seconds is out of range",
				                  secs);
			ns = secs * 1000000000;
		} else if (conf_type(in->v) != CONF_STRING) {
			config_found(in->v, found, sizeof(found));
			return config_bad(
			    x, in,
			    "expected a duration string such as \"2s\" or \"1m30s\" (a "
			    "bare 1m is the size 1000000), %s",
			    found);
		} else if (conf_as_duration_ns(in->v, &ns) != 0) {
			return config_bad(x, in, "invalid duration \"%s\"", conf_raw(in->v, NULL));
		}
	} else if (!in->text || conf_parse_duration_ns(in->text, strlen(in->text), &ns) != 0) {
		if (config_text_int(in->text, &secs) != 0 || secs < 0 ||
		    secs > INT64_MAX / 1000000000)
			return config_bad(x, in,
			                  "expected a duration (2s, 1m30s, 500ms; a bare "
			                  "number is seconds)");
		ns = secs * 1000000000;
	}
	int64_t ms = config_ns_to_ms(ns);
	if (config_ms_range(x, in, ms, min, max))
		return -EINVAL;
	*out = ms;
	return 0;
}

int config_in_seconds(struct config_ctx *x, const struct config_in *in, int64_t min, int64_t max,
                      int64_t *out)
{
	double secs;
	char found[128];
	if (in->from_file && conf_type(in->v) != CONF_STRING) {
		if (conf_as_float(in->v, &secs) != 0) {
			config_found(in->v, found, sizeof(found));
			return config_bad(
			    x, in, "expected seconds (2, 0.5) or a duration (\"2s\"), %s", found);
		}
	} else if (!in->from_file) {
		char *end = NULL;
		secs = in->text ? strtod(in->text, &end) : NAN;
		if (!end || *end || end == in->text)
			return config_in_ms(x, in, false, min, max, out);
	} else {
		return config_in_ms(x, in, false, min, max, out);
	}
	if (!isfinite(secs) || secs < 0 || secs > 1e9)
		return config_bad(x, in, "%g seconds is out of range", secs);
	double msf = secs * 1000.0;
	int64_t ms = (int64_t)msf + ((double)(int64_t)msf < msf);
	if (config_ms_range(x, in, ms, min, max))
		return -EINVAL;
	*out = ms;
	return 0;
}

int config_in_string(struct config_ctx *x, const struct config_in *in, const char **out)
{
	char found[128];
	if (!in->from_file) {
		*out = in->text ? in->text : "";
		return 0;
	}
	const char *s;
	size_t len;
	if (conf_as_string(in->v, &s, &len) != 0) {
		config_found(in->v, found, sizeof(found));
		return config_bad(x, in, "expected a string, %s", found);
	}
	if (strlen(s) != len)
		return config_bad(x, in, "a NUL byte in the string");
	*out = s;
	return 0;
}

static int config_list_add(struct config_list *l, const char *s, size_t len)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	if (!(v[l->n] = strndup(s, len)))
		return -ENOMEM;
	l->n++;
	return 0;
}

/* The strings of a file value: one string, or an array of them. */
static int config_list_from_file(struct config_ctx *x, const struct config_in *in,
                                 struct config_list *l)
{
	const char *s;
	char found[128];
	if (conf_type(in->v) == CONF_STRING) {
		if (config_in_string(x, in, &s))
			return -EINVAL;
		return config_list_add(l, s, strlen(s));
	}
	if (conf_type(in->v) != CONF_ARRAY) {
		config_found(in->v, found, sizeof(found));
		return config_bad(x, in, "expected an array of strings, %s", found);
	}
	for (size_t i = 0; i < conf_array_len(in->v); i++) {
		struct config_in one = {
		    .from_file = true, .v = conf_array_get(in->v, i), .name = in->name};
		if (config_in_string(x, &one, &s))
			return -EINVAL;
		if (config_list_add(l, s, strlen(s)))
			return -ENOMEM;
	}
	return 0;
}

int config_in_list(struct config_ctx *x, const struct config_in *in, struct config_list *out)
{
	struct config_list l = {0};
	int ret = 0;
	if (in->from_file) {
		ret = config_list_from_file(x, in, &l);
	} else {
		for (const char *p = in->text ? in->text : ""; *p && ret == 0;) {
			size_t n = strcspn(p, ",");
			if (n)
				ret = config_list_add(&l, p, n);
			p += n + (p[n] == ',');
		}
	}
	if (ret) {
		if (ret == -ENOMEM)
			config_report_in(x, false, in, "%s: out of memory", in->name);
		config_list_free(&l);
		return -EINVAL;
	}
	config_list_free(out);
	*out = l;
	return 0;
}

void config_list_free(struct config_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void config_tls_fini(struct config_tls *t)
{
	free(t->cert);
	free(t->key);
	free(t->ca);
	config_list_free(&t->ciphers);
	config_list_free(&t->curves);
}

int config_list_copy(struct config_list *dst, const struct config_list *src)
{
	struct config_list l = {0};
	for (size_t i = 0; i < src->n; i++)
		if (config_list_add(&l, src->v[i], strlen(src->v[i]))) {
			config_list_free(&l);
			return -ENOMEM;
		}
	config_list_free(dst);
	*dst = l;
	return 0;
}

bool config_list_eq(const struct config_list *a, const struct config_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

const char *config_ms_text(uint64_t ms, char *buf, size_t cap)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
	if (ms == 0)
		snprintf(buf, cap, "0s");
	else if (ms < 1000)
		snprintf(buf, cap, "%" PRIu64 "ms", ms);
	else if (h)
		snprintf(buf, cap, "%" PRIu64 "h%" PRIu64 "m%" PRIu64 "s", h, m, s);
	else if (m)
		snprintf(buf, cap, "%" PRIu64 "m%" PRIu64 "s", m, s);
	else if (frac) {
		int digits = 3;
		for (; frac % 10 == 0; frac /= 10)
			digits--;
		snprintf(buf, cap, "%" PRIu64 ".%0*" PRIu64 "s", s, digits, frac);
	} else
		snprintf(buf, cap, "%" PRIu64 "s", s);
	return buf;
}

bool config_word_in(const char *list, const char *name, bool ignore_case)
{
	size_t len = strlen(name);
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, " ");
		if (n == len && (ignore_case ? !strncasecmp(p, name, n) : !strncmp(p, name, n)))
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

const char *config_go_type(const struct conf_value *v)
{
	switch (conf_type(v)) {
	case CONF_MAP:
		return "map[string]interface {}";
	case CONF_ARRAY:
		return "[]interface {}";
	case CONF_STRING:
		return "string";
	case CONF_INT:
		return "int64";
	case CONF_FLOAT:
		return "float64";
	case CONF_BOOL:
		return "bool";
	case CONF_DATETIME:
		return "time.Time";
	}
	return "<nil>";
}
