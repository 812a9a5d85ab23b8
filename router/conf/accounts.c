/* accounts { NAME: { users, exports, imports, default_permissions } } and
 * system_account, read as nats-server reads them, in its words: each
 * account into c->accounts, its users into c->users with their account
 * named (beside authorization's users, which belong to $G), and then its
 * exports and imports checked against each other (imports.c,
 * imports_link.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router/conf/table.h"
#include "router/perm.h"

void config_account_fini(struct config_account *a)
{
	for (int i = 0; i < a->nexports; i++)
		config_export_fini(&a->exports[i]);
	for (int i = 0; i < a->nimports; i++)
		config_import_fini(&a->imports[i]);
	free(a->exports);
	free(a->imports);
	free(a->name);
	memset(a, 0, sizeof(*a));
}

void config_accounts_free(struct config_account *a, int n)
{
	for (int i = 0; i < n; i++)
		config_account_fini(&a[i]);
	free(a);
}

/* An account's users, with its default_permissions given to those without
 * their own, appended to c->users. */
static int config_account_users(struct config_ctx *x, const struct config_in *users,
                                const struct config_in *defaults, const char *name)
{
	struct config *c = x->c;
	struct config_user *u;
	struct perms *p = NULL;
	int n;
	if (defaults && perm_read(x, defaults, &p))
		return -EINVAL;
	int ret = users ? config_users_read(x, users, name, &u, &n) : 0;
	if (ret || !users) {
		perm_free(p);
		return ret;
	}
	bool ok = true;
	for (int i = 0; i < n && p; i++)
		if (!u[i].perms)
			u[i].perms = perm_copy(p, &ok);
	perm_free(p);
	if (n && c->user)
		config_report_in(x, false, users, "Can not have a single user/pass and accounts");
	else if (n && c->token)
		config_report_in(x, false, users, "Can not have a token and accounts");
	else if (ok)
		return config_users_append(x, users, u, n);
	config_users_free(u, n);
	return ok ? -EINVAL : -ENOMEM;
}

/* One account { } into @a (named already). */
static int config_account_map(struct config_ctx *x, const struct conf_value *m,
                              struct config_account *a)
{
	int errors = x->errors;
	struct config_in users = {0}, defaults = {0};
	for (const struct conf_entry *e = conf_map_first(m); e; e = conf_entry_next(e)) {
		const char *key = conf_entry_key(e);
		struct config_in in = {.from_file = true, .v = conf_entry_value(e), .name = key};
		if (conf_entry_shadowed(e))
			continue;
		if (!strcasecmp(key, "users"))
			users = in;
		else if (!strcasecmp(key, "default_permissions"))
			defaults = in;
		else if (!strcasecmp(key, "exports"))
			config_exports_read(x, &in, a);
		else if (!strcasecmp(key, "imports"))
			config_imports_read(x, &in, a);
		else if (config_unsupported_key(CONFIG_B_ACCOUNT, key))
			config_report_at(x, false, conf_entry_pos(e),
			                 "field \"%s\" is not supported: %s", key,
			                 config_unsupported_key(CONFIG_B_ACCOUNT, key));
		else if (!conf_used(in.v))
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
	}
	int ret = config_account_users(x, users.v ? &users : NULL, defaults.v ? &defaults : NULL,
	                               a->name);
	if (ret == -ENOMEM)
		config_report_in(x, false, &users, "users: out of memory");
	return x->errors > errors ? -EINVAL : 0;
}

/* A name an account may not have, reported at @in. */
static bool config_account_reserved(struct config_ctx *x, const struct config_in *in,
                                    const char *name)
{
	if (strcmp(name, "$G"))
		return false;
	config_report_in(x, false, in, "\"%s\" is a Reserved Account", name);
	return true;
}

/* The entry is written again further down with the same spelling: the
 * last one counts. (Names are case-sensitive, unlike keys: accounts "A"
 * and "a" are two, as in nats-server.) */
static bool config_account_again(const struct conf_entry *e)
{
	for (const struct conf_entry *f = conf_entry_next(e); f; f = conf_entry_next(f))
		if (!strcmp(conf_entry_key(e), conf_entry_key(f)))
			return true;
	return false;
}

/* accounts { A: {...}, B: {...} }: into @out (sized for every entry). */
static void config_accounts_map(struct config_ctx *x, const struct config_in *in,
                                struct config_account *out, int *n)
{
	for (const struct conf_entry *e = conf_map_first(in->v); e; e = conf_entry_next(e)) {
		const char *name = conf_entry_key(e);
		struct config_in one = {.from_file = true, .v = conf_entry_value(e), .name = name};
		if (config_account_again(e) || conf_used(one.v))
			continue; /* a variable some $NAME used is no account */
		if (conf_type(one.v) != CONF_MAP) {
			config_report_in(x, false, &one, "Expected map entries for accounts");
			continue;
		}
		if (config_account_reserved(x, &one, name))
			continue;
		struct config_account *a = &out[(*n)++];
		if (!(a->name = strdup(name))) {
			config_report_in(x, false, &one, "accounts: out of memory");
			continue;
		}
		(void)config_account_map(x, one.v, a);
	}
}

/* accounts: [A, B]: names only, as nats-server allows. */
static void config_accounts_list(struct config_ctx *x, const struct config_in *in,
                                 struct config_account *out, int *n)
{
	for (size_t i = 0; i < conf_array_len(in->v); i++) {
		struct config_in one = {
		    .from_file = true, .v = conf_array_get(in->v, i), .name = "accounts"};
		const char *name;
		if (config_in_string(x, &one, &name) || config_account_reserved(x, &one, name))
			continue;
		bool twice = false;
		for (int j = 0; j < *n && !twice; j++)
			twice = !strcmp(out[j].name, name);
		if (twice) {
			config_report_in(x, false, &one, "Duplicate Account Entry: %s", name);
			continue;
		}
		if (!(out[*n].name = strdup(name)))
			config_report_in(x, false, &one, "accounts: out of memory");
		else
			(*n)++;
	}
}

int config_set_accounts(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in)
{
	(void)r;
	struct config *c = x->c;
	bool list = conf_type(in->v) == CONF_ARRAY;
	if (!list && conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in,
		                 "accounts: expected a map { NAME: { ... } }, found %s",
		                 conf_type_name(conf_type(in->v)));
		return -EINVAL;
	}
	size_t max = list ? conf_array_len(in->v) : conf_map_len(in->v);
	struct config_account *a = calloc(max + 1, sizeof(*a));
	int n = 0, errors = x->errors;
	if (!a) {
		config_report_in(x, false, in, "accounts: out of memory");
		return -EINVAL;
	}
	config_users_drop(c, true);
	if (list)
		config_accounts_list(x, in, a, &n);
	else
		config_accounts_map(x, in, a, &n);
	/* As nats-server: exports and imports only once the rest is right. */
	if (x->errors == errors)
		config_accounts_link(x, in, a, n);
	config_accounts_free(c->accounts, c->naccounts);
	c->accounts = a;
	c->naccounts = n;
	return x->errors > errors ? -EINVAL : 0;
}

/* system_account: NAME, or system: NAME (system_account wins when both
 * are given, as in nats-server). */
int config_set_system_account(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in)
{
	struct config *c = x->c;
	const char *s;
	if (strcasecmp(in->name, r->key) && c->system_account)
		return 0; /* "system" after "system_account" */
	if (conf_type(in->v) != CONF_STRING || conf_as_string(in->v, &s, NULL) != 0) {
		config_report_in(x, false, in, "system account name must be a string");
		return -EINVAL;
	}
	char *d = strdup(s);
	if (!d) {
		config_report_in(x, false, in, "%s: out of memory", in->name);
		return -EINVAL;
	}
	free(c->system_account);
	c->system_account = d;
	return 0;
}
