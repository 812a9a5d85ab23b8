/* A tiny HTTP/1.0 client over a plain loopback socket for the monitoring
 * tests: one request, the whole response read until the server closes. */
#ifndef TESTS_INTEGRATION_HTTP_GET_H
#define TESTS_INTEGRATION_HTTP_GET_H

#include <stddef.h>
#include <stdint.h>

/* Bound on connecting, sending and reading one response. */
#define HTTP_WAIT_MS 5000

/* One response. Owner: caller; http_resp_fini frees it. */
struct http_resp {
	int status; /* from the status line */
	char *head; /* status line and headers, NUL-terminated */
	char *body; /* NUL-terminated; len bytes */
	size_t len;
	long content_length; /* -1 when the header is absent */
};

/* Sends "<method> <path> HTTP/1.0" to 127.0.0.1:@port and reads the response
 * into @r (caller storage). Returns 0, -ETIMEDOUT, -EBADMSG (not HTTP) or
 * another -errno. */
int http_request(uint16_t port, const char *method, const char *path, struct http_resp *r);

/* The value of header @name (case-insensitive) copied into @out (@cap bytes),
 * or -1 when absent. Returns its length. */
int http_header(const struct http_resp *r, const char *name, char *out, size_t cap);

/* Frees what @r holds (not @r). */
void http_resp_fini(struct http_resp *r);

/* Waits until 127.0.0.1:@port accepts TCP, up to @timeout_ms. Returns 0 or
 * -ETIMEDOUT. */
int http_wait_listening(uint16_t port, int timeout_ms);

#endif /* TESTS_INTEGRATION_HTTP_GET_H */
