/* Exports and imports checked against each other once every account is
 * read, as nats-server's parseAccounts does after its loop: the accounts
 * exports name, then each stream import, then each service import (file
 * order here; map order, which is random, there), each added only when
 * the exporting account allows it, it forms no cycle and its subject
 * mapping can be built. Reported in nats-server's words at the accounts
 * block, where nats-server reports them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/conf/table.h"
#include "router/index/subject.h"
#include "router/perm.h"

/* One import on its way in. */
struct config_link_im {
	const struct config_import *im;
	int dest;    /* the exporting account's index */
	char *local; /* its subject in the importing account (a mapping's $N as *) */
	bool added;  /* checked and taken: later imports' cycle checks see it */
};

struct config_link {
	struct config_ctx *x;
	const struct config_in *in; /* the accounts block */
	const struct config_account *a;
	int n;
	struct config_link_im **ims; /* [account][import] */
	bool *visited;               /* a cycle search's accounts */
};

static int config_account_index(const struct config_link *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->a[i].name, name))
			return i;
	return -1;
}

/* nats-server's SubjectsCollide and subjectIsSubsetMatch(sub, pat). */
static bool config_overlap(const char *a, const char *b)
{
	return perm_patterns_overlap(a, strlen(a), b, strlen(b));
}

static bool config_covers(const char *pat, const char *sub)
{
	return perm_pattern_covers(pat, strlen(pat), sub, strlen(sub));
}

/* Does an export of @e (a stream, or a service) let account @who import
 * @subject? An export of exactly @subject decides alone; else any export
 * covering it (nats-server takes the first it meets in map order). */
static bool config_export_allows(const struct config_account *e, bool service, const char *subject,
                                 const char *who)
{
	const struct config_export *exact = NULL;
	bool allowed = false;
	for (int i = 0; i < e->nexports; i++) {
		const struct config_export *ex = &e->exports[i];
		if (ex->service != service || !config_covers(ex->subject, subject))
			continue;
		bool ok = ex->accounts.n == 0;
		for (size_t j = 0; !ok && j < ex->accounts.n; j++)
			ok = !strcmp(ex->accounts.v[j], who);
		if (!strcmp(ex->subject, subject)) {
			exact = ex;
			allowed = ok;
		} else if (!exact) {
			allowed |= ok;
		}
	}
	return allowed;
}

/* nats-server's checkStreamImportsForCycles: does following the stream
 * imports of account @k that carry @to lead back to a visited account? */
static bool config_stream_cycle(struct config_link *l, int k, const char *to)
{
	bool exported = false;
	for (int i = 0; i < l->a[k].nexports && !exported; i++)
		exported =
		    !l->a[k].exports[i].service && config_covers(l->a[k].exports[i].subject, to);
	if (!exported)
		return false;
	for (int i = 0; i < l->a[k].nimports; i++) {
		const struct config_link_im *si = &l->ims[k][i];
		if (!si->added || si->im->service || !config_overlap(to, si->local))
			continue;
		if (l->visited[si->dest])
			return true;
		l->visited[k] = true;
		if (config_covers(to, si->local))
			to = si->local;
		if (config_stream_cycle(l, si->dest, to))
			return true;
	}
	return false;
}

/* nats-server's checkServiceImportsForCycles, the same for requests. */
static bool config_service_cycle(struct config_link *l, int k, const char *from)
{
	for (int i = 0; i < l->a[k].nimports; i++) {
		const struct config_link_im *si = &l->ims[k][i];
		if (!si->added || !si->im->service || !config_overlap(from, si->im->subject))
			continue;
		if (l->visited[si->dest])
			return true;
		l->visited[k] = true;
		if (config_covers(from, si->local))
			from = si->local;
		if (config_service_cycle(l, si->dest, from))
			return true;
	}
	return false;
}

static bool config_forms_cycle(struct config_link *l, int k, const struct config_link_im *li,
                               const char *subject)
{
	memset(l->visited, 0, sizeof(*l->visited) * (size_t)l->n);
	l->visited[k] = true;
	return li->im->service ? config_service_cycle(l, li->dest, subject)
	                       : config_stream_cycle(l, li->dest, subject);
}

/* Reports "Error adding <kind> import "<subject>": <why>". */
RB_PRINTF(3, 4)
static void config_import_error(struct config_link *l, const struct config_import *im,
                                const char *fmt, ...)
{
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	config_report_in(l->x, false, l->in, "Error adding %s import \"%s\": %s",
	                 im->service ? "service" : "stream", im->subject, why);
}

/* How many tokens of @s are @tok. */
static int config_count_tokens(const char *s, const char *tok)
{
	int count = 0;
	size_t tl = strlen(tok);
	for (const char *p = s;; p++) {
		size_t n = strcspn(p, ".");
		count += n == tl && !strncmp(p, tok, n);
		p += n;
		if (!*p)
			return count;
	}
}

/* @s with each '*' token as $1, $2... (nats-server's transformTokenize),
 * or with each $N token as '*' (@untokenize). Returns owned, or NULL. */
static char *config_mark_wildcards(const char *s, bool untokenize)
{
	size_t cap = strlen(s) * 4 + 1;
	char *out = malloc(cap), *w = out;
	int star = 0;
	for (const char *p = s; out; p++) {
		size_t n = strcspn(p, ".");
		if (!untokenize && n == 1 && *p == '*')
			w += snprintf(w, cap - (size_t)(w - out), "$%d", ++star);
		else if (untokenize && n > 1 && *p == '$' && strspn(p + 1, "0123456789") == n - 1)
			*w++ = '*';
		else
			w += snprintf(w, cap - (size_t)(w - out), "%.*s", (int)n, p);
		p += n;
		if (!*p)
			break;
		*w++ = '.';
	}
	if (out)
		*w = 0;
	return out;
}

/* Could nats-server build the mapping from @src to @dest, whose wildcards
 * are $N already (newTransform)? If not, *@why says why, in its words. */
static bool config_mapping_ok(const char *src, const char *dest, char *why, size_t cap)
{
	int npwc = config_count_tokens(src, "*");
	bool fwc = config_count_tokens(src, ">") > 0;
	if (!subject_valid_sub(src, strlen(src)) || !subject_valid_sub(dest, strlen(dest)) ||
	    config_count_tokens(dest, "*") || fwc != (config_count_tokens(dest, ">") > 0)) {
		snprintf(why, cap, "invalid subject");
		return false;
	}
	if (!npwc && !fwc)
		return true;
	int nph = 0;
	for (const char *p = dest;; p++) {
		size_t n = strcspn(p, ".");
		char *end;
		long idx = n > 1 && *p == '$' ? strtol(p + 1, &end, 10) : 0;
		if (n > 4 && !strncmp(p, "{{", 2)) {
			snprintf(why, cap, "mapping functions (%.*s) are not supported by ringbus",
			         (int)n, p);
			return false;
		}
		if (n > 1 && *p == '$' && end == p + n) {
			if (idx > npwc) {
				snprintf(
				    why, cap,
				    "invalid mapping destination: wildcard index out of range in "
				    "%.*s: [%ld]",
				    (int)n, p, idx);
				return false;
			}
			nph++;
		}
		p += n;
		if (!*p)
			break;
	}
	if (nph < npwc) {
		snprintf(
		    why, cap,
		    "invalid mapping destination: not using all of the token wildcard(s) in %s",
		    dest);
		return false;
	}
	return true;
}

static void config_link_exports(struct config_link *l, bool service)
{
	for (int i = 0; i < l->n; i++)
		for (int j = 0; j < l->a[i].nexports; j++) {
			const struct config_export *ex = &l->a[i].exports[j];
			for (size_t k = 0; ex->service == service && k < ex->accounts.n; k++)
				if (config_account_index(l, ex->accounts.v[k]) < 0)
					config_report_in(l->x, false, l->in,
					                 "\"%s\" account not defined for %s export",
					                 ex->accounts.v[k],
					                 service ? "service" : "stream");
		}
}

/* A stream import of account @k, as AddStreamImport and
 * AddMappedStreamImport check it. Returns 0, -EINVAL (reported), -ENOMEM. */
static int config_link_stream(struct config_link *l, int k, struct config_link_im *li)
{
	const struct config_import *im = li->im;
	const char *from = im->subject;
	char why[600], *to = NULL;
	if (!subject_valid_sub(from, strlen(from)) ||
	    !config_export_allows(&l->a[li->dest], false, from, l->a[k].name)) {
		config_import_error(l, im, "stream import not authorized");
		return -EINVAL;
	}
	if (im->prefix &&
	    config_count_tokens(im->prefix, "*") + config_count_tokens(im->prefix, ">")) {
		config_import_error(l, im, "stream import prefix can not contain wildcard tokens");
		return -EINVAL;
	}
	if (im->prefix ? asprintf(&to, "%s.%s", im->prefix, from) < 0
	               : !(to = strdup(im->to ? im->to : from)))
		return -ENOMEM;
	int ret = -EINVAL;
	char *marked = NULL;
	bool mapped =
	    config_count_tokens(from, "*") + config_count_tokens(from, ">") && strcmp(to, from);
	if (config_forms_cycle(l, k, li, to)) {
		config_import_error(l, im, "import forms a cycle");
		goto free_to;
	}
	if (mapped && !(marked = config_mark_wildcards(to, false))) {
		ret = -ENOMEM;
		goto free_to;
	}
	if (mapped && !config_mapping_ok(from, marked, why, sizeof(why))) {
		config_import_error(l, im,
		                    "failed to create mapping transform for stream import subject "
		                    "\"%s\" to \"%s\": %s",
		                    from, to, why);
		goto free_marked;
	}
	for (int i = 0; i < l->a[k].nimports; i++) {
		const struct config_link_im *was = &l->ims[k][i];
		if (was->added && !was->im->service && was->dest == li->dest &&
		    !strcmp(was->im->subject, from)) {
			config_import_error(l, im, "stream import already exists");
			goto free_marked;
		}
	}
	li->local = mapped ? config_mark_wildcards(to, true) : strdup(to);
	li->added = li->local != NULL;
	ret = li->added ? 0 : -ENOMEM;
free_marked:
	free(marked);
free_to:
	free(to);
	return ret;
}

/* A service import of account @k, as AddServiceImport checks it. */
static int config_link_service(struct config_link *l, int k, struct config_link_im *li)
{
	const struct config_import *im = li->im;
	const char *from = im->to ? im->to : im->subject, *to = im->subject;
	char why[600];
	if (!subject_valid_sub(from, strlen(from)) || !subject_valid_sub(to, strlen(to))) {
		config_import_error(l, im, "sublist: invalid subject");
		return -EINVAL;
	}
	if (!config_export_allows(&l->a[li->dest], true, to, l->a[k].name)) {
		config_import_error(l, im, "service import not authorized");
		return -EINVAL;
	}
	if (config_forms_cycle(l, k, li, from)) {
		config_import_error(l, im, "import forms a cycle");
		return -EINVAL;
	}
	char *src = config_mark_wildcards(to, true), *dest = config_mark_wildcards(from, false);
	int ret = src && dest ? 0 : -ENOMEM;
	if (!ret && config_count_tokens(to, "*") + config_count_tokens(to, ">") &&
	    strcmp(to, from) && !config_mapping_ok(src, dest, why, sizeof(why))) {
		config_import_error(l, im,
		                    "failed to create mapping transform for service import subject "
		                    "\"%s\" to \"%s\": %s",
		                    from, src, why);
		ret = -EINVAL;
	}
	if (!ret && !(li->local = config_mark_wildcards(from, true)))
		ret = -ENOMEM;
	li->added = ret == 0;
	free(src);
	free(dest);
	return ret;
}

static void config_link_free(struct config_link *l)
{
	for (int i = 0; l->ims && i < l->n; i++) {
		for (int j = 0; l->ims[i] && j < l->a[i].nimports; j++)
			free(l->ims[i][j].local);
		free(l->ims[i]);
	}
	free(l->ims);
	free(l->visited);
}

int config_accounts_link(struct config_ctx *x, const struct config_in *in,
                         const struct config_account *a, int n)
{
	struct config_link l = {.x = x, .in = in, .a = a, .n = n};
	int errors = x->errors, ret = 0;
	l.ims = calloc((size_t)n + 1, sizeof(*l.ims));
	l.visited = calloc((size_t)n + 1, sizeof(*l.visited));
	for (int i = 0; l.ims && i < n; i++) {
		if (!(l.ims[i] = calloc((size_t)a[i].nimports + 1, sizeof(**l.ims))))
			break;
		for (int j = 0; j < a[i].nimports; j++)
			l.ims[i][j] = (struct config_link_im){
			    .im = &a[i].imports[j],
			    .dest = config_account_index(&l, a[i].imports[j].account)};
	}
	if (!l.ims || !l.visited || (n && !l.ims[n - 1])) {
		config_link_free(&l);
		config_report_in(x, false, in, "accounts: out of memory");
		return -EINVAL;
	}
	config_link_exports(&l, false);
	config_link_exports(&l, true);
	for (int pass = 0; pass < 2 && ret != -ENOMEM; pass++)
		for (int i = 0; i < n && ret != -ENOMEM; i++)
			for (int j = 0; j < a[i].nimports && ret != -ENOMEM; j++) {
				struct config_link_im *li = &l.ims[i][j];
				bool service = pass == 1;
				if (li->im->service != service)
					continue;
				if (li->dest < 0)
					config_report_in(x, false, in,
					                 "\"%s\" account not defined for %s import",
					                 li->im->account,
					                 service ? "service" : "stream");
				else
					ret = service ? config_link_service(&l, i, li)
					              : config_link_stream(&l, i, li);
			}
	config_link_free(&l);
	if (ret == -ENOMEM)
		config_report_in(x, false, in, "accounts: out of memory");
	return x->errors > errors ? -EINVAL : 0;
}
