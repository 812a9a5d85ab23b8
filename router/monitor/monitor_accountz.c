/* /accountz as nats-server 2.9 writes it: the accounts' names, or one
 * account's detail with its exports and imports from the settings.
 *
 * Where ringbus differs, on purpose:
 * - No account exists unless configured: without accounts { } the list is
 *   ["$G"] and there is no system_account (nats-server always makes "$SYS"
 *   and names it), and with them there is a system account only when
 *   system_account names one.
 * - "subscriptions" counts the subscriptions of the account's client
 *   connections; nats-server counts its account index, which also holds its
 *   own internal subscriptions (system imports, service imports' replies).
 * - No imports of the system account's services ($SYS.REQ.ACCOUNT.*): ringbus
 *   has none; no "sublist_stats": the index is not split by account.
 * - Lists in the order of the settings: nats-server walks maps (services
 *   before streams among exports, streams before services among imports, as
 *   here, but in no fixed order within them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/conf/config.h"
#include "router/monitor/monitor_int.h"
#include "router/monitor/monitor_render.h"

/* The index of account @name in @st, or -1. */
static int monitor_account_find(const struct stats *st, const char *name)
{
	for (int i = 0; i < st->naccounts; i++)
		if (st->accounts[i].name && !st->accounts[i].gone &&
		    !strcmp(st->accounts[i].name, name))
			return i;
	return -1;
}

/* A new object appended to array @a, or NULL (clearing *ok). */
static cJSON *monitor_acc_item(cJSON *a, bool *ok)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		*ok = false;
		return NULL;
	}
	return o;
}

/* A copy of @v appended to array @a (clearing *ok when out of memory). */
static void monitor_acc_string(cJSON *a, const char *v, bool *ok)
{
	cJSON *s = cJSON_CreateString(v);
	if (!s || !cJSON_AddItemToArray(a, s)) {
		cJSON_Delete(s);
		*ok = false;
	}
}

static void monitor_acc_bool(cJSON *o, const char *key, bool v, bool *ok)
{
	if (!cJSON_AddBoolToObject(o, key, v))
		*ok = false;
}

/* One export: its subject, type and who may import it (left out when
 * anyone may). A service's replies are singletons: one answer per request
 * goes back (router/account.h). */
static void monitor_acc_export(cJSON *a, const struct config_export *e, bool *ok)
{
	cJSON *o = monitor_acc_item(a, ok);
	if (!o)
		return;
	monitor_json_str(o, "subject", e->subject, ok);
	monitor_json_str(o, "type", e->service ? "service" : "stream", ok);
	if (e->service)
		monitor_json_str(o, "response_type", "Singleton", ok);
	if (!e->accounts.n)
		return;
	cJSON *names = cJSON_AddArrayToObject(o, "approved_accounts");
	for (size_t i = 0; names && i < e->accounts.n; i++)
		monitor_acc_string(names, e->accounts.v[i], ok);
	if (!names)
		*ok = false;
}

/* One import. A stream's "subject" is the exporter's and "local_subject"
 * where its messages appear here; a service's "subject" is where requests
 * are published here and "to" the exporter's subject they go to. */
static void monitor_acc_import(cJSON *a, const struct stats *st, const struct config_import *im,
                               bool *ok)
{
	cJSON *o = monitor_acc_item(a, ok);
	if (!o)
		return;
	if (im->service) {
		monitor_json_str(o, "subject", im->to ? im->to : im->subject, ok);
		monitor_json_str(o, "account", im->account, ok);
		monitor_json_str(o, "to", im->subject, ok);
	} else {
		monitor_json_str(o, "subject", im->subject, ok);
		monitor_json_str(o, "account", im->account, ok);
		if (im->to) {
			monitor_json_str(o, "local_subject", im->to, ok);
		} else if (im->prefix) {
			/* the prefix and a dot before the subject, as router/account.c */
			size_t n = strlen(im->prefix) + strlen(im->subject) + 2;
			char *local = malloc(n);
			if (local)
				snprintf(local, n, "%s.%s", im->prefix, im->subject);
			else
				*ok = false;
			monitor_json_str(o, "local_subject", local, ok);
			free(local);
		} else {
			monitor_json_str(o, "local_subject", im->subject, ok);
		}
	}
	monitor_json_str(o, "type", im->service ? "service" : "stream", ok);
	monitor_acc_bool(o, "invalid", monitor_account_find(st, im->account) < 0, ok);
	monitor_acc_bool(o, "share", false, ok);
	monitor_acc_bool(o, "tracking", false, ok);
}

/* "exports" and "imports" of @c, each left out when empty. */
static void monitor_acc_rules(cJSON *d, const struct stats *st, const struct config_account *c,
                              bool *ok)
{
	if (!c)
		return;
	if (c->nexports) {
		cJSON *a = cJSON_AddArrayToObject(d, "exports");
		for (int pass = 0; a && pass < 2; pass++)
			for (int i = 0; i < c->nexports; i++)
				if (c->exports[i].service == (pass == 0))
					monitor_acc_export(a, &c->exports[i], ok);
		if (!a)
			*ok = false;
	}
	if (c->nimports) {
		cJSON *a = cJSON_AddArrayToObject(d, "imports");
		for (int pass = 0; a && pass < 2; pass++)
			for (int i = 0; i < c->nimports; i++)
				if (c->imports[i].service == (pass == 1))
					monitor_acc_import(a, st, &c->imports[i], ok);
		if (!a)
			*ok = false;
	}
}

/* "account_detail": what ringbus knows of account @i. Accounts are made at
 * start and never change: update_time is the server's start. */
static void monitor_acc_detail(cJSON *root, const struct stats *st, int i, bool *ok)
{
	const struct stats_account *acc = &st->accounts[i];
	cJSON *d = cJSON_AddObjectToObject(root, "account_detail");
	if (!d) {
		*ok = false;
		return;
	}
	monitor_json_str(d, "account_name", acc->name, ok);
	monitor_json_time(d, "update_time", st->start_ns, ok);
	if (st->system_account && !strcmp(st->system_account, acc->name))
		monitor_acc_bool(d, "is_system", true, ok);
	monitor_acc_bool(d, "expired", false, ok);
	monitor_acc_bool(d, "complete", true, ok);
	monitor_acc_bool(d, "jetstream_enabled", false, ok);
	monitor_json_u64(d, "leafnode_connections", 0, ok);
	monitor_json_u64(d, "client_connections", acc->connections, ok);
	monitor_json_u64(d, "subscriptions", acc->subscriptions, ok);
	monitor_acc_rules(d, st, acc->cfg, ok);
}

int monitor_render_accountz(const struct stats *st, const char *name, char **out)
{
	int i = -1;
	if (name && *name) {
		i = monitor_account_find(st, name);
		if (i < 0) {
			*out = NULL;
			return -ENOENT;
		}
	}
	cJSON *root = monitor_json_begin(st);
	bool ok = root != NULL;
	if (ok && st->system_account)
		monitor_json_str(root, "system_account", st->system_account, &ok);
	if (ok && i >= 0) {
		monitor_acc_detail(root, st, i, &ok);
	} else if (ok) {
		cJSON *a = cJSON_AddArrayToObject(root, "accounts");
		for (int k = 0; a && k < st->naccounts; k++)
			if (!st->accounts[k].gone)
				monitor_acc_string(a, st->accounts[k].name, &ok);
		if (!a)
			ok = false;
	}
	return monitor_json_finish(root, ok, out);
}
