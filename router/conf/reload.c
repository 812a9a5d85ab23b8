/* What a reload may change, from the table: a setting without
 * CONFIG_F_RELOAD that differs refuses the whole reload, in nats-server's
 * words; a reloadable one that differs is logged as nats-server logs it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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
	if (was->tls != now->tls) {
		config_reload_refuse(now, "tls", was->tls ? "on" : "off", now->tls ? "on" : "off");
		refused++;
	}
	return refused ? -EINVAL : 0;
}
