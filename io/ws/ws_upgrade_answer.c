/* The answers to an upgrade request: nats-server's 101 (with the
 * Sec-WebSocket-Accept key, SHA-1 and base64 through libcrypto) and the HTTP
 * errors that Go's server and nats-server give to bad requests. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "io/ws/ws.h"
#include "io/ws/ws_upgrade_int.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* How each refusal is answered: @go for Go's plain-text answers (with
 * Connection: close, before nats-server sees the request), else nats-server's
 * http.Error() answer. */
static const struct {
	uint16_t status;
	bool go;
	const char *reason; /* status text */
	const char *detail; /* Go: after "<status> <reason>: "; nats-server: what it logs */
} ws_up_errs[] = {
    [-WS_UP_ERR_BAD_REQUEST] = {400, true, "Bad Request", NULL},
    [-WS_UP_ERR_HEADER_NAME] = {400, true, "Bad Request", "invalid header name"},
    [-WS_UP_ERR_HEADER_VALUE] = {400, true, "Bad Request", "invalid header value"},
    [-WS_UP_ERR_HOST_HEADER] = {400, true, "Bad Request", "missing required Host header"},
    [-WS_UP_ERR_HTTP_VERSION] = {505, true, "HTTP Version Not Supported",
                                 "unsupported protocol version"},
    [-WS_UP_ERR_TOO_LARGE] = {431, true, "Request Header Fields Too Large", NULL},
    [-WS_UP_ERR_METHOD] = {405, false, "Method Not Allowed", "request method must be GET"},
    [-WS_UP_ERR_HOST] = {400, false, "Bad Request", "'Host' missing in request"},
    [-WS_UP_ERR_UPGRADE] = {400, false, "Bad Request", "invalid value for header 'Upgrade'"},
    [-WS_UP_ERR_CONNECTION] = {400, false, "Bad Request", "invalid value for header 'Connection'"},
    [-WS_UP_ERR_KEY] = {400, false, "Bad Request", "key missing"},
    [-WS_UP_ERR_VERSION] = {400, false, "Bad Request", "invalid version"},
    [-WS_UP_ERR_ORIGIN] = {403, false, "Forbidden", "origin not allowed"},
    [-WS_UP_ERR_EARLY_DATA] = {0, false, NULL, "client sent data before handshake is complete"},
};

static bool err_known(int err)
{
	return err < 0 && (size_t)-err < RB_ARRAY_LEN(ws_up_errs);
}

const char *ws_upgrade_err_text(int err)
{
	if (!err_known(err))
		return "unknown error";
	if (err == WS_UP_ERR_BAD_REQUEST)
		return "malformed request";
	if (err == WS_UP_ERR_TOO_LARGE)
		return "request too large";
	return ws_up_errs[-err].detail;
}

int ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -EIO;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, key, len) &&
	     EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) &&
	     EVP_DigestFinal_ex(ctx, md, &md_len) && md_len == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	/* 20 bytes are 28 base64 characters; EVP_EncodeBlock adds the NUL. */
	if (EVP_EncodeBlock((unsigned char *)out, md, 20) != (int)WS_ACCEPT_LEN)
		return -EIO;
	return 0;
}

bool ws_upgrade_deflate(const struct ws_upgrade *u, bool compression)
{
	return compression && u->deflate_offered;
}

size_t ws_upgrade_accept(const struct ws_upgrade *u, bool compression, char *dst, size_t cap)
{
	char accept[WS_ACCEPT_LEN + 1];
	int n;

	if (ws_accept_key(u->key.ptr, u->key.len, accept) != 0)
		return 0;
	n = snprintf(dst, cap,
	             "HTTP/1.1 101 Switching Protocols\r\n"
	             "Upgrade: websocket\r\n"
	             "Connection: Upgrade\r\n"
	             "Sec-WebSocket-Accept: %s\r\n"
	             "%s\r\n",
	             accept,
	             ws_upgrade_deflate(u, compression)
	                 ? "Sec-WebSocket-Extensions: permessage-deflate; "
	                   "server_no_context_takeover; client_no_context_takeover\r\n"
	                 : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t ws_upgrade_reject(const struct ws_upgrade *u, int err, char *dst, size_t cap)
{
	const char *detail;
	uint16_t status;
	int n;

	if (!err_known(err) || err == WS_UP_ERR_EARLY_DATA)
		return 0;
	status = ws_up_errs[-err].status;
	detail = ws_up_errs[-err].detail;
	if (ws_up_errs[-err].go) {
		if (err == WS_UP_ERR_HOST_HEADER && (u->flags & WS_UP_F_HOST))
			detail = "malformed Host header";
		n = snprintf(dst, cap,
		             "HTTP/1.1 %u %s%s%s\r\n"
		             "Content-Type: text/plain; charset=utf-8\r\n"
		             "Connection: close\r\n\r\n"
		             "%u %s%s%s",
		             status, ws_up_errs[-err].reason, detail ? ": " : "",
		             detail ? detail : "", status, ws_up_errs[-err].reason,
		             detail ? ": " : "", detail ? detail : "");
	} else {
		/* http.Error(): the status text and a newline; ringbus closes
		 * the connection afterwards and says so (Go kept it open). */
		n = snprintf(dst, cap,
		             "HTTP/1.%u %u %s\r\n"
		             "Content-Type: text/plain; charset=utf-8\r\n"
		             "Sec-Websocket-Version: 13\r\n"
		             "X-Content-Type-Options: nosniff\r\n"
		             "Content-Length: %zu\r\n"
		             "Connection: close\r\n\r\n"
		             "%s\n",
		             u->http_minor ? 1u : 0u, status, ws_up_errs[-err].reason,
		             strlen(ws_up_errs[-err].reason) + 1, ws_up_errs[-err].reason);
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
