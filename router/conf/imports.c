/* An account's exports: [...] and imports: [...] as nats-server reads them,
 * in its words: first each entry on its own, then (imports_link.c) each
 * import against the exports of the account it names, once every account
 * is known. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router/conf/table.h"

static int config_strdup_into(struct config_ctx *x, const struct config_in *in, char **dst,
                              const char *s)
{
	char *d = strdup(s);
	if (!d) {
		config_report_in(x, false, in, "%s: out of memory", in->name);
		return -EINVAL;
	}
	free(*dst);
	*dst = d;
	return 0;
}

/* A key of an export or import map that is not read here: refused with
 * advice (unsupported.c), or unknown, as other blocks report them. */
static void config_link_key(struct config_ctx *x, const struct conf_entry *e,
                            enum config_block block)
{
	const char *key = conf_entry_key(e);
	const char *advice = config_unsupported_key(block, key);
	if (advice)
		config_report_at(x, false, conf_entry_pos(e), "field \"%s\" is not supported: %s",
		                 key, advice);
	else if (!conf_used(conf_entry_value(e)))
		config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
}

/* {stream: "news.>"}, {service: "help.>", accounts: [B]}: one export into @ex. */
static void config_export_entry(struct config_ctx *x, const struct conf_value *m,
                                struct config_export *ex, bool *named)
{
	for (const struct conf_entry *e = conf_map_first(m); e; e = conf_entry_next(e)) {
		const char *key = conf_entry_key(e), *s;
		struct config_in in = {.from_file = true, .v = conf_entry_value(e), .name = key};
		bool service = !strcasecmp(key, "service");
		if (conf_entry_shadowed(e))
			continue;
		if (service || !strcasecmp(key, "stream")) {
			if (conf_type(in.v) != CONF_STRING) {
				config_report_in(
				    x, false, &in, "Expected %s name to be string, got %s",
				    service ? "service" : "stream", config_go_type(in.v));
			} else if (conf_as_string(in.v, &s, NULL) != 0) {
				config_report_in(x, false, &in, "%s: not a string", key);
			} else if (*named && ex->service != service) {
				config_report_in(x, false, &in,
				                 "Detected %s \"%s\" but already saw a %s",
				                 service ? "service" : "stream", s,
				                 service ? "stream" : "service");
			} else if (config_strdup_into(x, &in, &ex->subject, s) == 0) {
				ex->service = service;
				*named = true;
			}
		} else if (!strcasecmp(key, "accounts")) {
			config_list_free(&ex->accounts);
			if (config_in_list(x, &in, &ex->accounts))
				continue; /* reported */
		} else {
			config_link_key(x, e, CONFIG_B_EXPORT);
		}
	}
}

/* {account: A, subject: "news.>"}: the other side of an import. */
static int config_import_source(struct config_ctx *x, const struct config_in *in, bool service,
                                struct config_import *im)
{
	const char *what = service ? "Service" : "Stream";
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in, "%s entry should be an account map, got %s", what,
		                 config_go_type(in->v));
		return -EINVAL;
	}
	int errors = x->errors;
	for (const struct conf_entry *e = conf_map_first(in->v); e; e = conf_entry_next(e)) {
		const char *key = conf_entry_key(e), *s;
		struct config_in one = {.from_file = true, .v = conf_entry_value(e), .name = key};
		char **dst = !strcasecmp(key, "account")   ? &im->account
		             : !strcasecmp(key, "subject") ? &im->subject
		                                           : NULL;
		if (conf_entry_shadowed(e))
			continue;
		if (!dst)
			config_link_key(x, e, CONFIG_B_IMPORT);
		else if (config_in_string(x, &one, &s) == 0)
			(void)config_strdup_into(x, &one, dst, s);
	}
	if (x->errors > errors)
		return -EINVAL;
	if (!im->account || !im->account[0] || !im->subject || !im->subject[0]) {
		config_report_in(x, false, in, "Expect an account name and a subject");
		return -EINVAL;
	}
	im->service = service;
	return 0;
}

/* prefix: a stream import's, without the trailing '.' nats-server would
 * add; "" is none, as to nats-server. */
static void config_import_prefix(struct config_ctx *x, const struct config_in *in,
                                 struct config_import *im)
{
	const char *s;
	if (config_in_string(x, in, &s))
		return; /* reported */
	free(im->prefix);
	im->prefix = NULL;
	size_t len = strlen(s);
	if (!len)
		return;
	if (s[len - 1] == '.')
		len--;
	im->prefix = strndup(s, len);
	if (!im->prefix)
		config_report_in(x, false, in, "prefix: out of memory");
}

/* {stream: {...}, prefix: p} or {service: {...}, to: s}: one import into
 * @im. A stream import with both prefix and to is refused whichever comes
 * first (nats-server refuses it only when to comes after stream and prefix;
 * which is first in a map is random there). */
static void config_import_entry(struct config_ctx *x, const struct conf_value *m,
                                struct config_import *im, bool *named)
{
	const struct conf_entry *to = NULL, *prefix = NULL;
	for (const struct conf_entry *e = conf_map_first(m); e; e = conf_entry_next(e)) {
		const char *key = conf_entry_key(e), *s;
		struct config_in in = {.from_file = true, .v = conf_entry_value(e), .name = key};
		bool service = !strcasecmp(key, "service");
		if (conf_entry_shadowed(e))
			continue;
		if (service || !strcasecmp(key, "stream")) {
			if (*named && im->service != service)
				config_report_in(x, false, &in, "Detected %s but already saw a %s",
				                 service ? "service" : "stream",
				                 service ? "stream" : "service");
			else if (config_import_source(x, &in, service, im) == 0)
				*named = true;
		} else if (!strcasecmp(key, "to")) {
			to = e;
			if (config_in_string(x, &in, &s) == 0)
				(void)config_strdup_into(x, &in, &im->to, s);
		} else if (!strcasecmp(key, "prefix")) {
			prefix = e;
			config_import_prefix(x, &in, im);
		} else {
			config_link_key(x, e, CONFIG_B_IMPORT);
		}
	}
	if (*named && !im->service && im->prefix && im->to) {
		struct config_in in = {.from_file = true, .v = conf_entry_value(to), .name = "to"};
		config_report_in(x, false, &in,
		                 "Stream import can not have a 'prefix' and a 'to' property");
	} else if (*named && im->service && prefix) {
		struct config_in in = {
		    .from_file = true, .v = conf_entry_value(prefix), .name = "prefix"};
		config_report_in(x, true, &in,
		                 "prefix is ignored on a service import (as nats-server does)");
		free(im->prefix);
		im->prefix = NULL;
	}
}

/* The subject a service import is published on in its own account. */
static const char *config_import_here(const struct config_import *im)
{
	return im->to ? im->to : im->subject;
}

/* Two service imports of one account on one subject: nats-server's words. */
static void config_import_dup(struct config_ctx *x, const struct config_in *one,
                              const struct config_account *a, const struct config_import *im)
{
	for (int j = 0; im->service && j < a->nimports; j++) {
		const struct config_import *was = &a->imports[j];
		if (!was->service || strcmp(config_import_here(was), config_import_here(im)))
			continue;
		config_report_in(x, false, one,
		                 "Duplicate service import subject \"%s\", previously used in "
		                 "import for account \"%s\", subject \"%s\"",
		                 config_import_here(im), was->account, was->subject);
		return;
	}
}

/* What reading exports: [...] and imports: [...] differs in. */
struct config_items {
	const char *name;  /* "exports", as the key is written */
	const char *title; /* "Export", as nats-server's messages write it */
	size_t size;       /* of one item */
	/* reads map @m into @item; *@named: a stream or a service was given */
	void (*entry)(struct config_ctx *x, const struct conf_value *m, void *item, bool *named);
	/* a named item is kept: checks it against the @n before it (may be NULL) */
	void (*keep)(struct config_ctx *x, const struct config_in *one, const void *items, int n,
	             const void *item);
	void (*fini)(void *item);
};

/* The items of @in (an array of maps) into *@items (allocated), counted in
 * *@n; an item naming neither stream nor service is left out with a
 * warning, as nats-server ignores it. Returns 0 or -EINVAL. */
static int config_items_read(struct config_ctx *x, const struct config_in *in,
                             const struct config_items *k, void **items, int *n)
{
	if (conf_type(in->v) != CONF_ARRAY) {
		config_report_in(x, false, in, "%ss should be an array, got %s", k->title,
		                 config_go_type(in->v));
		return -EINVAL;
	}
	int errors = x->errors;
	size_t len = conf_array_len(in->v);
	char *v = calloc(len ? len : 1, k->size);
	*items = v;
	if (!v) {
		config_report_in(x, false, in, "%s: out of memory", k->name);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		const struct conf_value *m = conf_array_get(in->v, i);
		struct config_in one = {.from_file = true, .v = m, .name = k->name};
		void *item = v + (size_t)*n * k->size;
		bool named = false;
		if (conf_type(m) != CONF_MAP) {
			config_report_in(x, false, &one,
			                 "%s Items should be a map with type entry, got %s",
			                 k->title, config_go_type(m));
			continue;
		}
		int before = x->errors;
		k->entry(x, m, item, &named);
		if (named) {
			if (k->keep)
				k->keep(x, &one, v, *n, item);
			(*n)++;
			continue;
		}
		if (x->errors == before)
			config_report_in(
			    x, true, &one,
			    "an %s without stream or service is ignored (as nats-server "
			    "does)",
			    k->name[0] == 'e' ? "export" : "import");
		k->fini(item);
	}
	return x->errors > errors ? -EINVAL : 0;
}

static void config_export_entry_v(struct config_ctx *x, const struct conf_value *m, void *item,
                                  bool *named)
{
	config_export_entry(x, m, item, named);
}

static void config_import_entry_v(struct config_ctx *x, const struct conf_value *m, void *item,
                                  bool *named)
{
	config_import_entry(x, m, item, named);
}

static void config_import_dup_v(struct config_ctx *x, const struct config_in *one,
                                const void *items, int n, const void *item)
{
	const struct config_account before = {.imports = (struct config_import *)items,
	                                      .nimports = n};
	config_import_dup(x, one, &before, item);
}

static void config_export_fini_v(void *item)
{
	config_export_fini(item);
}

static void config_import_fini_v(void *item)
{
	config_import_fini(item);
}

int config_exports_read(struct config_ctx *x, const struct config_in *in, struct config_account *a)
{
	static const struct config_items exports = {"exports",
	                                            "Export",
	                                            sizeof(struct config_export),
	                                            config_export_entry_v,
	                                            NULL,
	                                            config_export_fini_v};
	void *v = NULL;
	int ret = config_items_read(x, in, &exports, &v, &a->nexports);
	a->exports = v;
	return ret;
}

int config_imports_read(struct config_ctx *x, const struct config_in *in, struct config_account *a)
{
	static const struct config_items imports = {"imports",
	                                            "Import",
	                                            sizeof(struct config_import),
	                                            config_import_entry_v,
	                                            config_import_dup_v,
	                                            config_import_fini_v};
	void *v = NULL;
	int ret = config_items_read(x, in, &imports, &v, &a->nimports);
	a->imports = v;
	return ret;
}

void config_export_fini(struct config_export *ex)
{
	free(ex->subject);
	config_list_free(&ex->accounts);
	memset(ex, 0, sizeof(*ex));
}

void config_import_fini(struct config_import *im)
{
	free(im->account);
	free(im->subject);
	free(im->to);
	free(im->prefix);
	memset(im, 0, sizeof(*im));
}
