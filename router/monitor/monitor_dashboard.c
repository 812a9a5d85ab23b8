/* /dashboard on the monitoring port: the page's embedded files with their
 * content types, and config.json, which tells the page where the WebSocket
 * listener is. */
#include "router/monitor/monitor_dashboard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "router/server.h"
#include "router/ws_listen.h"

#define DASHBOARD_PREFIX "/dashboard"

static const struct {
	const char *ext;
	const char *type;
} dashboard_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".png", "image/png"},
};

/* The content type for @name by its extension; plain text otherwise (the
 * licences). */
static const char *dashboard_type(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < RB_ARRAY_LEN(dashboard_types); i++) {
		size_t e = strlen(dashboard_types[i].ext);
		if (n > e && !strcmp(name + n - e, dashboard_types[i].ext))
			return dashboard_types[i].type;
	}
	return "text/plain; charset=utf-8";
}

/* {"server_id":..., "websocket":{"host":..., "port":N}} or "websocket":null
 * without a listener. The host is as configured ("0.0.0.0" when none): the
 * page uses its own host for a wildcard. */
static int dashboard_config(const struct server *s, char **body)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	bool ok = cJSON_AddStringToObject(root, "server_id", s->server_id) != NULL;
	int port = ws_listen_port(s);
	if (port > 0) {
		cJSON *ws = cJSON_AddObjectToObject(root, "websocket");
		const char *host = s->cfg.ws_host && *s->cfg.ws_host ? s->cfg.ws_host : "0.0.0.0";
		ok = ok && ws && cJSON_AddStringToObject(ws, "host", host) &&
		     cJSON_AddNumberToObject(ws, "port", port);
	} else {
		ok = ok && cJSON_AddNullToObject(root, "websocket");
	}
	*body = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return *body ? 0 : -ENOMEM;
}

int monitor_dashboard_get(const struct server *s, const char *url, char **body, const char **type,
                          unsigned *status)
{
	*body = NULL;
	const char *name = url + strlen(DASHBOARD_PREFIX);
	if (strncmp(url, DASHBOARD_PREFIX, strlen(DASHBOARD_PREFIX)) || (*name && *name != '/'))
		name = NULL;
	else if (*name)
		name++;
	if (name && (!*name || !strcmp(name, "index.html")))
		name = "index.html";
	if (name && !strcmp(name, "config.json")) {
		*type = "application/json";
		return dashboard_config(s, body);
	}
	for (size_t i = 0; name && i < monitor_dashboard_nfiles; i++) {
		const struct monitor_dashboard_file *f = &monitor_dashboard_files[i];
		if (strcmp(name, f->name))
			continue;
		*body = malloc(f->len + 1);
		if (!*body)
			return -ENOMEM;
		memcpy(*body, f->data, f->len + 1); /* with its final 0 */
		*type = dashboard_type(f->name);
		return 0;
	}
	*type = "text/plain; charset=utf-8";
	*status = MHD_HTTP_NOT_FOUND;
	*body = strdup("404 page not found\n");
	return *body ? 0 : -ENOMEM;
}
