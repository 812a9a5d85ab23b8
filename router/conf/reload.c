/* What a reload may change, from the table: a setting without
 * CONFIG_F_RELOAD that differs refuses the whole reload, in nats-server's
 * words; a reloadable one that differs is logged as nats-server logs it. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "router/conf/table.h"

/* The value of @r's field in @c as text; false when the row has no field of
 * its own to compare (blocks, custom rows, the command line only). */
static bool config_field_text(const struct config *c, const struct config_row *r, char *buf,
                              size_t cap)
{
	const void *f = (const char *)c + r->off;
	const struct config_list *l;
	switch (r->type) {
	case CONFIG_T_BOOL:
		snprintf(buf, cap, "%s", *(const bool *)f ? "true" : "false");
		return true;
	case CONFIG_T_INT:
		snprintf(buf, cap, "%d", *(const int *)f);
		return true;
	case CONFIG_T_U32:
	case CONFIG_T_SIZE:
		snprintf(buf, cap, "%" PRIu32, *(const uint32_t *)f);
		return true;
	case CONFIG_T_MS:
	case CONFIG_T_SECONDS:
		config_ms_text(*(const uint32_t *)f, buf, cap);
		return true;
	case CONFIG_T_STRING:
		snprintf(buf, cap, "%s", *(char *const *)f ? *(char *const *)f : "");
		return true;
	case CONFIG_T_LIST:
		l = f;
		buf[0] = 0;
		for (size_t i = 0; i < l->n; i++)
			snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "",
			         l->v[i]);
		return true;
	default:
		return false;
	}
}

/* A setting a reload cannot change: the whole reload is refused. */
static void config_reload_refuse(const struct config *now, const char *name, const char *was,
                                 const char *is)
{
	char line[1200];
	snprintf(line, sizeof(line), "config reload not supported for %s: old=%s, new=%s", name,
	         was, is);
	if (now->report)
		now->report(line);
	else
		fprintf(stderr, "%s\n", line);
}

/* @c's accounts, exports and imports (names in order) as one line
 * ("A[export stream news.>, ...] B[import stream A news.> prefix fromA]"),
 * owned by the caller; NULL when out of memory. */
static char *config_accounts_text(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	for (int i = 0; i < c->naccounts; i++) {
		const struct config_account *a = &c->accounts[i];
		fprintf(f, "%s%s[", i ? " " : "", a->name);
		for (int j = 0; j < a->nexports; j++) {
			const struct config_export *ex = &a->exports[j];
			fprintf(f, "%sexport %s %s", j ? ", " : "",
			        ex->service ? "service" : "stream", ex->subject);
			for (size_t k = 0; k < ex->accounts.n; k++)
				fprintf(f, "%s%s", k ? "," : " accounts ", ex->accounts.v[k]);
		}
		for (int j = 0; j < a->nimports; j++) {
			const struct config_import *im = &a->imports[j];
			fprintf(f, "%simport %s %s %s%s%s%s%s", j || a->nexports ? ", " : "",
			        im->service ? "service" : "stream", im->account, im->subject,
			        im->to ? " to " : "", im->to ? im->to : "",
			        im->prefix ? " prefix " : "", im->prefix ? im->prefix : "");
		}
		fputc(']', f);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Accounts, their exports and imports and system_account may change on
 * reload (router/account.h keeps each account's number); what cannot is
 * having accounts at all: the index keys subjects with an account token
 * from the start or not at all. @was is the configuration the server
 * started with. Returns the refusals. */
static int config_reload_accounts(const struct config *was, const struct config *now)
{
	const char *sa = was->system_account ? was->system_account : "",
	           *sb = now->system_account ? now->system_account : "";
	if (strcmp(sa, sb))
		log_info("reload: system_account = %s", sb[0] ? sb : "(none)");
	char *a = config_accounts_text(was), *b = config_accounts_text(now);
	int refused = 0;
	if ((was->naccounts > 0) != (now->naccounts > 0)) {
		/* each side at most 500 bytes of the line */
		char ta[504], tb[504];
		snprintf(ta, sizeof(ta), "%.500s%s", a ? a : "?",
		         a && strlen(a) > 500 ? "..." : "");
		snprintf(tb, sizeof(tb), "%.500s%s", b ? b : "?",
		         b && strlen(b) > 500 ? "..." : "");
		config_reload_refuse(now, "accounts (turning them on or off needs a restart)", ta,
		                     tb);
		refused++;
	} else if (!a || !b || strcmp(a, b)) {
		log_info("reload: accounts = %.500s", b ? b : "?");
	}
	free(a);
	free(b);
	return refused;
}

int config_reload_check(const struct config *was, const struct config *now)
{
	size_t n;
	const struct config_row *rows = config_rows(&n);
	char a[512], b[512];
	int refused = 0;
	for (size_t i = 0; i < n; i++) {
		const struct config_row *r = &rows[i];
		if (!r->key || !config_field_text(was, r, a, sizeof(a)) ||
		    !config_field_text(now, r, b, sizeof(b)) || !strcmp(a, b))
			continue;
		if (r->opts & CONFIG_F_RELOAD) {
			log_info("reload: %s = %s", r->key,
			         (r->opts & CONFIG_F_SECRET) ? "(changed)" : b);
		} else if (r->opts & CONFIG_F_SECRET) {
			/* a password or a token is never printed: only that it changed */
			config_reload_refuse(now, r->key, "(secret)", "(secret)");
			refused++;
		} else {
			config_reload_refuse(now, r->key, a, b);
			refused++;
		}
	}
	/* Not a row's own field: the monitoring address (http), TLS on or off. */
	const char *ha = was->http_host ? was->http_host : "",
	           *hb = now->http_host ? now->http_host : "";
	if (strcmp(ha, hb)) {
		config_reload_refuse(now, "http", ha, hb);
		refused++;
	}
	refused += config_reload_accounts(was, now);
	if (was->tls != now->tls) {
		config_reload_refuse(now, "tls", was->tls ? "on" : "off", now->tls ? "on" : "off");
		refused++;
	}
	return refused ? -EINVAL : 0;
}
