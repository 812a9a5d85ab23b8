/* A NATS client's TLS side for tests, on OpenSSL: reads the plain INFO line,
 * then handshakes and talks through TLS, each call bounded by a timeout.
 * Unlike libnats it can cap the TLS version, present or withhold a client
 * certificate, and put bytes right behind its Finished message. */
#ifndef TESTS_INTEGRATION_TLS_CLIENT_H
#define TESTS_INTEGRATION_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLS_CLIENT_WAIT_MS 5000

/* How to connect. Strings are borrowed for the call. */
struct tls_client_opts {
	const char *ca_file;   /* verify the server as "localhost" against it; NULL: no check */
	const char *cert_file; /* client certificate, or NULL */
	const char *key_file;
	int max_version; /* 0, or TLS1_2_VERSION to stay below TLS 1.3 */
	/* The only TLS 1.2 cipher suites offered (OpenSSL names), or NULL */
	const char *cipher_list;
	/* Bytes sent in the same segment as the client's Finished (TLS 1.3:
	 * the client may write as soon as it has sent Finished), or NULL. */
	const char *early;
};

/* One connection. Owner: the test thread that uses it. */
struct tls_client;

/* Connects to 127.0.0.1:@port, reads the INFO line into @info (@cap bytes,
 * NUL-terminated, may be NULL) and handshakes. Returns 0 and *@out (owned:
 * tls_client_close), -EPROTO when the handshake failed (the reason is in
 * @why, @why_len bytes, may be NULL), or another -errno. */
int tls_client_connect(uint16_t port, const struct tls_client_opts *o, char *info, size_t cap,
                       char *why, size_t why_len, struct tls_client **out);

/* Sends @len bytes of @buf. Returns 0 or -errno. */
int tls_client_send(struct tls_client *c, const void *buf, size_t len);
int tls_client_send_str(struct tls_client *c, const char *s);

/* Reads @len bytes exactly into @buf. Returns 0, -ECONNRESET on EOF first,
 * -ETIMEDOUT or -EIO. */
int tls_client_read(struct tls_client *c, void *buf, size_t len, int timeout_ms);

/* Reads until @needle has been read; copies what was read (NUL-terminated,
 * truncated to @cap) into @out (may be NULL). Returns the bytes read or
 * -errno as tls_client_read. */
ssize_t tls_client_read_until(struct tls_client *c, const char *needle, char *out, size_t cap,
                              int timeout_ms);

/* Expects the next bytes to be the string @s. Returns 0, -EBADMSG or -errno. */
int tls_client_expect(struct tls_client *c, const char *s, int timeout_ms);

/* Expects the server to end the connection (close_notify, EOF or reset)
 * with no more bytes. Returns 0, -EBADMSG when bytes came, -ETIMEDOUT. */
int tls_client_expect_eof(struct tls_client *c, int timeout_ms);

/* The negotiated protocol ("TLSv1.3") and cipher. */
const char *tls_client_version(const struct tls_client *c);
const char *tls_client_cipher(const struct tls_client *c);

/* The subject of the server's certificate ("/CN=localhost"), borrowed from @c. */
const char *tls_client_peer_subject(struct tls_client *c);

/* Sends close_notify, closes and frees @c (NULL is a no-op). */
void tls_client_close(struct tls_client *c);

#endif
