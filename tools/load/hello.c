/* The servers the load generators dial, their CONNECT line (cJSON) and the
 * wording of a server's -ERR. */
#define _GNU_SOURCE /* memmem */
#include "tools/load/hello.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
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

static int target_init(struct hello_target *t, const struct load_url *url, const char *shown,
                       const char *name, char *err, size_t cap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(url->host, url->port, &hints, &ai);
	if (rc) {
		snprintf(err, cap, "cannot resolve %s: %s", url->host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	t->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	t->shown = shown;
	if (url->ws) {
		bool v6 = strchr(url->host, ':') != NULL;
		snprintf(t->ws_host, sizeof(t->ws_host), "%s%s%s:%s", v6 ? "[" : "", url->host,
		         v6 ? "]" : "", url->port);
	}
	t->connect_line = hello_connect_line(url, name, &t->connect_len);
	if (!t->connect_line) {
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int hello_targets_init(struct hello_target *t, uint32_t *n, const struct load_config *cfg,
                       const char *name, char *err, size_t cap)
{
	memset(t, 0, HELLO_MAX_TARGETS * sizeof(*t));
	*n = 0;
	int rc = target_init(&t[0], &cfg->url, cfg->url_shown, name, err, cap);
	for (uint32_t i = 0; !rc && i < cfg->nsub_urls; i++)
		rc = target_init(&t[1 + i], &cfg->sub_urls[i].url, cfg->sub_urls[i].shown, name,
		                 err, cap);
	*n = 1 + cfg->nsub_urls; /* the ones not reached have no line to free */
	return rc;
}

void hello_targets_fini(struct hello_target *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		free(t[i].connect_line);
		t[i].connect_line = NULL;
	}
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
