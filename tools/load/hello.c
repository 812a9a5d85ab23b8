/* The CONNECT line of the load generators (cJSON) and the wording of a
 * server's -ERR. */
#define _GNU_SOURCE /* memmem */
#include "tools/load/hello.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hello_connect_line(const struct load_url *url, const char *name, uint32_t *len)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddBoolToObject(o, "verbose", 0);
	cJSON_AddBoolToObject(o, "pedantic", 0);
	cJSON_AddBoolToObject(o, "tls_required", 0);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "lang", "c");
	cJSON_AddStringToObject(o, "version", RINGBUS_VERSION);
	cJSON_AddNumberToObject(o, "protocol", 1);
	cJSON_AddBoolToObject(o, "echo", 1);
	cJSON_AddBoolToObject(o, "headers", 0);
	cJSON_AddBoolToObject(o, "no_responders", 0);
	if (url->user[0]) {
		cJSON_AddStringToObject(o, "user", url->user);
		cJSON_AddStringToObject(o, "pass", url->pass);
	}
	if (url->token[0])
		cJSON_AddStringToObject(o, "auth_token", url->token);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!json)
		return NULL;
	size_t cap = strlen(json) + 32;
	char *line = malloc(cap);
	if (line)
		*len = (uint32_t)snprintf(line, cap, "CONNECT %s\r\n" PROTO_PING_LINE, json);
	cJSON_free(json);
	return line;
}

void hello_err_message(char *dst, size_t cap, struct proto_span text, bool ready)
{
	int n = (int)text.len;
	if (!ready && memmem(text.ptr, text.len, "Authorization", 13))
		snprintf(dst, cap,
		         "the server refused authorization (-ERR '%.*s'): check the "
		         "user:pass@ or token@ part of --url",
		         n, text.ptr);
	else
		snprintf(dst, cap, "the server sent -ERR '%.*s' and will close the connection", n,
		         text.ptr);
}
