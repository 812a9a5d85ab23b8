/* CONNECT options (decoded the way nats-server 2.9 decodes them) and the INFO
 * document (written with nats-server's field order, read for the client side). */
#include "io/proto/connect.h"

#include "io/proto/json_strict.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum field_type { FT_BOOL, FT_STR, FT_INT, FT_OBJ };

/* The fields of nats-server's ClientOpts. A known field of the wrong JSON type
 * fails the whole CONNECT (Go's decoder does); null leaves a field as it was. */
struct field {
	const char *key;
	uint8_t type;
	size_t off; /* into struct connect_opts; SIZE_MAX: checked, not kept */
};

#define OFF(m) offsetof(struct connect_opts, m)

static const struct field fields[] = {
    {"echo", FT_BOOL, OFF(echo)},
    {"verbose", FT_BOOL, OFF(verbose)},
    {"pedantic", FT_BOOL, OFF(pedantic)},
    {"tls_required", FT_BOOL, OFF(tls_required)},
    {"headers", FT_BOOL, OFF(headers)},
    {"no_responders", FT_BOOL, OFF(no_responders)},
    {"protocol", FT_INT, OFF(protocol)},
    {"name", FT_STR, OFF(name)},
    {"lang", FT_STR, OFF(lang)},
    {"version", FT_STR, OFF(version)},
    {"user", FT_STR, OFF(user)},
    {"pass", FT_STR, OFF(pass)},
    {"auth_token", FT_STR, OFF(auth_token)},
    {"jwt", FT_STR, OFF(jwt)},
    {"nkey", FT_STR, OFF(nkey)},
    {"sig", FT_STR, OFF(sig)},
    {"account", FT_STR, SIZE_MAX},
    {"new_account", FT_BOOL, SIZE_MAX},
    {"remote_account", FT_STR, SIZE_MAX},
    {"import", FT_OBJ, SIZE_MAX},
    {"export", FT_OBJ, SIZE_MAX},
};

void connect_opts_init(struct connect_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verbose = true;
	o->pedantic = true;
	o->echo = true;
}

void connect_opts_fini(struct connect_opts *o)
{
	char **strs[] = {&o->name,       &o->lang, &o->version, &o->user, &o->pass,
	                 &o->auth_token, &o->jwt,  &o->nkey,    &o->sig};

	for (size_t i = 0; i < RB_ARRAY_LEN(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

/* Go's encoding/json matches keys exactly first, then case-insensitively. */
static const struct field *field_find(const char *key)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(fields); i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	for (size_t i = 0; i < RB_ARRAY_LEN(fields); i++)
		if (strcasecmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

static bool field_type_ok(const struct field *f, const cJSON *v)
{
	if (cJSON_IsNull(v))
		return true;
	switch (f->type) {
	case FT_BOOL:
		return cJSON_IsBool(v);
	case FT_STR:
		return cJSON_IsString(v);
	case FT_OBJ:
		return cJSON_IsObject(v);
	default: /* FT_INT: Go's int is 64 bits; a fraction does not decode */
		return cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
		       (double)(int64_t)v->valuedouble == v->valuedouble;
	}
}

/* Parses @json/@len as one JSON value followed only by JSON whitespace. */
static cJSON *json_parse(const char *json, size_t len)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(json, len, &end, 0);

	if (!j)
		return NULL;
	for (; end && end < json + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			cJSON_Delete(j);
			return NULL;
		}
	}
	return j;
}

/* Fills @why (may be NULL) with a reason for the log. */
RB_PRINTF(3, 4) static void connect_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (!why || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* A JSON value's kind, in Go's words. */
static const char *json_kind(const cJSON *v)
{
	return cJSON_IsBool(v)     ? "bool"
	       : cJSON_IsNumber(v) ? "number"
	       : cJSON_IsString(v) ? "string"
	       : cJSON_IsArray(v)  ? "array"
	       : cJSON_IsObject(v) ? "object"
	                           : "null";
}

static const char *const field_type_names[] = {"bool", "string", "int", "object"};

int connect_opts_parse(struct connect_opts *o, const char *json, size_t len, char *why,
                       size_t why_cap)
{
	const cJSON *v;
	const struct field *f;
	int rc = 0;
	char *fixed = NULL;
	cJSON *j = NULL;
	struct json_strict_err err;

	/* cJSON alone is lenient (control characters in strings, bad \u
	 * digits, numbers such as 01): nats-server refuses all of that. */
	if (json_strict_check(json, len, &err) != 0) {
		connect_why(why, why_cap, "%s", err.why);
		return CONNECT_ERR_JSON;
	}
	/* ...and reads a lone surrogate escape as U+FFFD, which cJSON refuses. */
	if (json_strict_lone_surrogates(json, len, NULL) > 0) {
		fixed = malloc(len);
		if (!fixed)
			return CONNECT_ERR_NOMEM;
		memcpy(fixed, json, len);
		(void)json_strict_lone_surrogates(json, len, fixed);
		json = fixed;
	}
	j = json_parse(json, len);
	if (!j || !(cJSON_IsObject(j) || cJSON_IsNull(j))) {
		connect_why(why, why_cap, "json: cannot unmarshal %s into the CONNECT options",
		            j ? json_kind(j) : "this document");
		rc = CONNECT_ERR_JSON;
		goto out;
	}
	/* Check every known field first so a bad CONNECT changes nothing. */
	cJSON_ArrayForEach(v, j)
	{
		f = field_find(v->string);
		if (f && !field_type_ok(f, v)) {
			connect_why(why, why_cap,
			            "json: cannot unmarshal %s into field %s of type %s",
			            json_kind(v), f->key, field_type_names[f->type]);
			rc = CONNECT_ERR_JSON;
			goto out;
		}
	}
	cJSON_ArrayForEach(v, j)
	{
		f = field_find(v->string);
		if (!f || f->off == SIZE_MAX || cJSON_IsNull(v))
			continue;
		char *dst = (char *)o + f->off;
		if (f->type == FT_BOOL) {
			*(bool *)(void *)dst = cJSON_IsTrue(v);
		} else if (f->type == FT_INT) {
			double d = v->valuedouble;
			/* out of int's range is out of the protocol's range too */
			*(int *)(void *)dst = d > 1e6 ? 1000000 : d < -1e6 ? -1000000 : (int)d;
		} else {
			char *s = strdup(v->valuestring);
			if (!s) {
				rc = CONNECT_ERR_NOMEM;
				goto out;
			}
			free(*(char **)(void *)dst);
			*(char **)(void *)dst = s;
		}
	}
	if (o->protocol < 0 || o->protocol > 1)
		rc = CONNECT_ERR_PROTOCOL;
	else if (o->no_responders && !o->headers)
		rc = CONNECT_ERR_NO_RESPONDERS;
	if (rc)
		connect_why(why, why_cap, "%s", connect_err_text(rc));
out:
	cJSON_Delete(j);
	free(fixed);
	return rc;
}

const char *connect_err_text(int err)
{
	switch (err) {
	case CONNECT_ERR_PROTOCOL:
		return "invalid client protocol";
	case CONNECT_ERR_NO_RESPONDERS:
		return "no responders requires headers support";
	default:
		return NULL;
	}
}

/* ---- INFO ---- */

/* A bounded writer: once anything does not fit, @fail stays set. */
struct jw {
	char *d;
	size_t cap, len;
	bool fail;
	bool more; /* a member was written: the next key needs a comma */
};

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->fail || n > w->cap - w->len) {
		w->fail = true;
		return;
	}
	memcpy(w->d + w->len, s, n);
	w->len += n;
}

static void jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/* A JSON string as Go's encoder writes it (it also escapes <, > and &). */
static void jw_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	jw_raw(w, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		char esc[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15]};
		if (*c == '"' || *c == '\\') {
			char two[2] = {'\\', (char)*c};
			jw_raw(w, two, 2);
		} else if (*c == '\n') {
			jw_raw(w, "\\n", 2);
		} else if (*c == '\r') {
			jw_raw(w, "\\r", 2);
		} else if (*c == '\t') {
			jw_raw(w, "\\t", 2);
		} else if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&') {
			jw_raw(w, esc, 6);
		} else {
			jw_raw(w, (const char *)c, 1);
		}
	}
	jw_raw(w, "\"", 1);
}

static void jw_key(struct jw *w, const char *k)
{
	if (w->more)
		jw_raw(w, ",", 1);
	w->more = true;
	jw_raw(w, "\"", 1);
	jw_lit(w, k);
	jw_raw(w, "\":", 2);
}

static void jw_u64(struct jw *w, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);

	jw_raw(w, b, (size_t)n);
}

size_t connect_info_encode(char *dst, size_t cap, const struct connect_info *info)
{
	struct jw w = {dst, cap, 0, false, false};

	/* nats-server's order and omissions (omitempty), and its "} \r\n" end */
	jw_lit(&w, "INFO {");
	jw_key(&w, "server_id");
	jw_str(&w, info->server_id);
	jw_key(&w, "server_name");
	jw_str(&w, info->server_name);
	jw_key(&w, "version");
	jw_str(&w, info->version);
	if (info->ringbus_version) {
		jw_key(&w, "ringbus_version");
		jw_str(&w, info->ringbus_version);
	}
	jw_key(&w, "proto");
	jw_lit(&w, "1");
	jw_key(&w, "go");
	jw_str(&w, "ringbus");
	jw_key(&w, "host");
	jw_str(&w, info->host);
	jw_key(&w, "port");
	jw_u64(&w, (uint64_t)(info->port < 0 ? 0 : info->port));
	jw_key(&w, "headers");
	jw_lit(&w, info->headers ? "true" : "false");
	if (info->auth_required) {
		jw_key(&w, "auth_required");
		jw_lit(&w, "true");
	}
	if (info->tls_required) {
		jw_key(&w, "tls_required");
		jw_lit(&w, "true");
	}
	if (info->tls_verify) {
		jw_key(&w, "tls_verify");
		jw_lit(&w, "true");
	}
	if (info->tls_available) {
		jw_key(&w, "tls_available");
		jw_lit(&w, "true");
	}
	jw_key(&w, "max_payload");
	jw_u64(&w, info->max_payload);
	if (info->client_id) {
		jw_key(&w, "client_id");
		jw_u64(&w, info->client_id);
	}
	if (info->client_ip && info->client_ip[0]) {
		jw_key(&w, "client_ip");
		jw_str(&w, info->client_ip);
	}
	if (info->nonce) {
		jw_key(&w, "nonce");
		jw_str(&w, info->nonce);
	}
	if (info->cluster) {
		jw_key(&w, "cluster");
		jw_str(&w, info->cluster);
	}
	if (info->connect_urls) {
		jw_key(&w, "connect_urls");
		jw_lit(&w, info->connect_urls);
	}
	if (info->ldm) {
		jw_key(&w, "ldm");
		jw_lit(&w, "true");
	}
	jw_lit(&w, "} \r\n");
	return w.fail ? 0 : w.len;
}

/* Copies string @v into @scratch; NULL when @v is not a string. */
static int scratch_str(const char **dst, const cJSON *v, char *scratch, size_t cap, size_t *used)
{
	size_t n;

	*dst = NULL;
	if (!cJSON_IsString(v))
		return 0;
	n = strlen(v->valuestring) + 1;
	if (n > cap - *used)
		return CONNECT_ERR_NOMEM;
	memcpy(scratch + *used, v->valuestring, n);
	*dst = scratch + *used;
	*used += n;
	return 0;
}

static uint64_t json_u64(const cJSON *v, uint64_t max)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0)
		return 0;
	return v->valuedouble >= (double)max ? max : (uint64_t)v->valuedouble;
}

int connect_info_parse(struct connect_info *info, const char *json, size_t len, char *scratch,
                       size_t cap)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
	    {"server_id", offsetof(struct connect_info, server_id)},
	    {"server_name", offsetof(struct connect_info, server_name)},
	    {"version", offsetof(struct connect_info, version)},
	    {"host", offsetof(struct connect_info, host)},
	    {"client_ip", offsetof(struct connect_info, client_ip)},
	    {"nonce", offsetof(struct connect_info, nonce)},
	};
	size_t used = 0;
	int rc = 0;
	cJSON *j = json_parse(json, len);

	memset(info, 0, sizeof(*info));
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return CONNECT_ERR_JSON;
	}
	for (size_t i = 0; i < RB_ARRAY_LEN(strs) && rc == 0; i++)
		rc = scratch_str((const char **)(void *)((char *)info + strs[i].off),
		                 cJSON_GetObjectItemCaseSensitive(j, strs[i].key), scratch, cap,
		                 &used);
	info->port = (int)json_u64(cJSON_GetObjectItemCaseSensitive(j, "port"), 65535);
	info->proto = (int)json_u64(cJSON_GetObjectItemCaseSensitive(j, "proto"), 1000);
	info->max_payload =
	    (uint32_t)json_u64(cJSON_GetObjectItemCaseSensitive(j, "max_payload"), UINT32_MAX);
	info->client_id = json_u64(cJSON_GetObjectItemCaseSensitive(j, "client_id"), UINT64_MAX);
	info->headers = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "headers"));
	info->auth_required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "auth_required"));
	info->tls_required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "tls_required"));
	info->tls_available = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "tls_available"));
	cJSON_Delete(j);
	return rc;
}

bool connect_version_parse(const char *s, unsigned v[3])
{
	if (!s)
		return false;
	if (*s == 'v')
		s++;
	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned long n = 0;
		while (*s >= '0' && *s <= '9' && n < 1000000)
			n = n * 10 + (unsigned long)(*s++ - '0');
		if (n >= 1000000)
			return false;
		v[i] = (unsigned)n;
		if (i < 2 && *s++ != '.')
			return false;
	}
	if (*s == '-' || *s == '+') {
		if (!s[1])
			return false;
		for (s++; *s; s++)
			if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '+')
				return false;
	}
	return *s == '\0';
}

bool connect_version_at_least(const char *s, const unsigned min[3])
{
	unsigned v[3];
	if (!connect_version_parse(s, v))
		return false;
	for (int i = 0; i < 3; i++)
		if (v[i] != min[i])
			return v[i] > min[i];
	return true;
}
