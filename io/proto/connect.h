/* CONNECT options and the INFO document, as JSON (cJSON). Not on the hot
 * path: once per connection. */
#ifndef IO_PROTO_CONNECT_H
#define IO_PROTO_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* What a client declared in CONNECT. Strings are owned (heap), freed by
 * connect_opts_fini(); NULL when absent. */
struct connect_opts {
	bool verbose;       /* default true (nats-server) */
	bool pedantic;      /* default true */
	bool echo;          /* default true */
	bool headers;       /* default false */
	bool no_responders; /* default false */
	bool tls_required;  /* default false */
	int protocol;       /* default 0 */
	char *name;
	char *lang;
	char *version;
	char *user;
	char *pass;
	char *auth_token;
	char *jwt;
	char *nkey;
	char *sig;
};

enum connect_err {
	CONNECT_ERR_JSON = -1,          /* invalid JSON: close, no -ERR line */
	CONNECT_ERR_PROTOCOL = -2,      /* 'invalid client protocol' */
	CONNECT_ERR_NO_RESPONDERS = -3, /* 'no responders requires headers support' */
	CONNECT_ERR_NOMEM = -4,
};

/* Sets the defaults nats-server applies before CONNECT. */
void connect_opts_init(struct connect_opts *o);
void connect_opts_fini(struct connect_opts *o);

/* Applies the CONNECT JSON @json/@len on top of @o (unknown fields ignored).
 * The JSON is read as strictly as nats-server reads it (io/json_strict.h).
 * Returns 0 or a negative enum connect_err; @o stays valid either way, and
 * unchanged when the JSON is refused. On an error, @why (caller storage of
 * @why_cap bytes, may be NULL) receives the reason for the log, in
 * nats-server's words where it has them. */
RB_MUST_CHECK int connect_opts_parse(struct connect_opts *o, const char *json, size_t len,
                                     char *why, size_t why_cap);

/* The -ERR text for a connect_err, or NULL when the connection closes silently. */
const char *connect_err_text(int err);

/* Reads a server version as nats-server does ("2.9.10", "v2.10.0-beta.1",
 * "2.8.0+build"): major.minor.patch into @v, a pre-release or build suffix
 * allowed and ignored. Returns false for anything else (NULL included). */
bool connect_version_parse(const char *s, unsigned v[3]);

/* True when version @s is at least @min (both as connect_version_parse
 * reads them); false when @s cannot be read. */
bool connect_version_at_least(const char *s, const unsigned min[3]);

/* The server's INFO fields. Borrowed strings. */
struct connect_info {
	const char *server_id;
	const char *server_name;
	const char *version;
	const char *host;
	int port;
	bool headers;
	bool auth_required;
	bool tls_required;
	bool tls_verify; /* client certificates are verified (with tls_required) */
	bool tls_available;
	uint32_t max_payload;
	uint64_t client_id;
	const char *client_ip;
	const char *nonce;           /* NULL: omitted */
	int proto;                   /* connect_info_parse() only; the encoder always sends 1 */
	const char *cluster;         /* NULL: omitted */
	const char *connect_urls;    /* a JSON array of "host:port" (NULL: omitted) */
	bool ldm;                    /* lame duck mode: the server will close the client soon */
	const char *ringbus_version; /* NULL: omitted */
};

/* Writes "INFO {...} \r\n" into @dst, the fields in nats-server's order and
 * with its trailing blank. Borrows @info. Returns the length, or 0 when @cap is
 * too small. */
size_t connect_info_encode(char *dst, size_t cap, const struct connect_info *info);

/* Client side: parses an INFO JSON document's fields the clients use
 * (server_id, version, max_payload, headers, auth_required, proto). Returns 0,
 * CONNECT_ERR_JSON, or CONNECT_ERR_NOMEM when the strings do not fit in
 * @scratch. Strings in @info point into @scratch (cap bytes); absent or
 * non-string fields are NULL. */
RB_MUST_CHECK int connect_info_parse(struct connect_info *info, const char *json, size_t len,
                                     char *scratch, size_t cap);

#endif /* IO_PROTO_CONNECT_H */
