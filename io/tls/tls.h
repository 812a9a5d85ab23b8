/* TLS for client connections (OpenSSL 3): a server context built from PEM
 * files, and a service that takes accepted sockets off the I/O threads, writes
 * the plain INFO, runs the handshake, and hands back a socket the I/O thread
 * reads and writes in plaintext with io_uring. That socket is the TCP socket
 * itself when the kernel carries the records both ways (kTLS), or else one end
 * of a socketpair whose other end a proxy thread relays through SSL_read and
 * SSL_write.
 *
 * Threads: a service owns one handshake thread and one proxy thread; the
 * functions below say which of them may be called from anywhere. */
#ifndef IO_TLS_TLS_H
#define IO_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* First byte of a TLS handshake record: anything else is a plaintext client. */
#define TLS_RECORD_HANDSHAKE 0x16

/* What the service sends a client that speaks plaintext before closing it. */
#define TLS_REQUIRED_ERR "-ERR 'Secure Connection - TLS Required'\r\n"

/* What tls_ops.info returns to send nothing before the handshake (wss://). */
#define TLS_INFO_NONE ((size_t)-1)

/* Settings of a TLS server. Strings are borrowed for the call that takes them
 * (but @plain_reply: for the service's life). */
struct tls_config {
	/* PEM certificate chain, leaf first, and its private key: required,
	 * but a link context (@link) may have neither: it then only dials
	 * (tls_service_submit_link with a host) and presents no certificate */
	const char *cert_file;
	const char *key_file;
	const char *ca_file;     /* PEM CAs that sign client certificates, or NULL */
	bool verify;             /* require a client certificate that @ca_file signed */
	bool no_ktls;            /* never hand a connection to kernel TLS */
	uint32_t timeout_ms;     /* from accept to the end of the handshake, at most */
	uint32_t max_handshakes; /* handshakes in progress at once; more are refused */
	/* TLS 1.2 cipher suites and curves, by the names nats-server takes
	 * (Go's: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "CurveP256"); none:
	 * nats-server's defaults (ECDHE with AES-GCM or ChaCha20-Poly1305;
	 * X25519, P-256, P-384, P-521). TLS 1.3 suites are not changed by it. */
	const char *const *ciphers;
	size_t nciphers;
	const char *const *curves;
	size_t ncurves;
	/* Sent to a client whose first byte is no TLS record, before it is
	 * closed; NULL: TLS_REQUIRED_ERR. */
	const char *plain_reply;
	/* A link between servers (routes, leaf nodes): the context serves both
	 * roles (tls_service_submit_link), and the side that accepts always
	 * requires the peer's certificate, as nats-server does for routes. */
	bool link;
	/* Links: the side that dials does not verify the peer's certificate. */
	bool insecure;
};

/* True when @name is a cipher suite (or curve) tls_config may name. */
bool tls_cipher_suite_known(const char *name);
bool tls_curve_known(const char *name);

/* The @i-th name tls_config takes (for help texts), NULL past the last. */
const char *tls_cipher_suite_name(size_t i);
const char *tls_curve_name(size_t i);

/* A server context. Read-only after tls_ctx_new(); usable from any thread. */
struct tls_ctx;

/* Loads the certificate chain, the key (checked against the certificate) and
 * the CA file, for TLS 1.2 and later. On failure writes a sentence naming the
 * file and the reason into @why (@why_len bytes) and returns -ENOENT (a file
 * cannot be read), -EINVAL (bad contents or settings) or -ENOMEM. Returns 0
 * and *@out (owned: tls_ctx_free) on success. */
RB_MUST_CHECK int tls_ctx_new(const struct tls_config *cfg, struct tls_ctx **out, char *why,
                              size_t why_len);

/* Frees @t (NULL is a no-op). No service may still use it. */
void tls_ctx_free(struct tls_ctx *t);

/* True when @t requires client certificates. */
bool tls_ctx_verify(const struct tls_ctx *t);

/* Probes whether this kernel takes TLS records on TCP sockets (the "tls"
 * upper-layer protocol, CONFIG_TLS): attaches it to a loopback connection.
 * Returns true, or false with the reason in @why. Any thread. */
bool tls_ktls_probe(char *why, size_t why_len);

/* How a connection's records are carried once its handshake is done. */
enum tls_path {
	TLS_PATH_KTLS,  /* the kernel encrypts and decrypts on the TCP socket */
	TLS_PATH_PROXY, /* the proxy thread relays between SSL and a socketpair */
};

/* The user's side of the service. Both are called on the handshake thread. */
struct tls_ops {
	/* Writes the INFO line to send in plaintext to a new client at
	 * @peer_ip into @buf (@cap bytes) and sets *@tag, which ready() gets
	 * back. Returns the length, TLS_INFO_NONE to send nothing, or 0 to
	 * refuse the client (closed). */
	size_t (*info)(void *ctx, const char *peer_ip, char *buf, size_t cap, uint64_t *tag);
	/* The handshake is done: @fd (taken on success) carries plaintext now,
	 * by @path; give it to I/O thread @loop, the one that accepted it.
	 * @peer_ip/@peer_port are the client's (borrowed). Returns 0, or -errno
	 * and the service closes the connection. */
	int (*ready)(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
	             uint32_t peer_port, enum tls_path path);
	/* Optional: a socket submitted with tls_service_submit_link() was closed
	 * before ready() (handshake failed or timed out, refused, stopped). */
	void (*failed)(void *ctx, uint64_t tag);
};

/* Counters of a service (atomics inside; copied out by tls_service_stats). */
struct tls_stats {
	uint64_t accepted;   /* sockets submitted */
	uint64_t ktls;       /* handed over on the kTLS path */
	uint64_t proxied;    /* handed over on the proxy path */
	uint64_t plaintext;  /* clients that spoke plaintext (refused) */
	uint64_t failed;     /* handshakes that failed (bad certificate, protocol error, EOF) */
	uint64_t timeouts;   /* handshakes that did not finish within timeout_ms */
	uint64_t refused;    /* over max_handshakes, or info() refused */
	uint64_t proxy_open; /* connections the proxy relays now */
};

/* One TLS service. Shared: submit and stop from any thread. */
struct tls_service;

/* Starts the handshake and proxy threads. Takes @ctx (freed with the service,
 * also on failure). Borrows @ops and @ops_ctx for the service's life.
 * @cfg gives no_ktls, timeout_ms and max_handshakes (the files are in @ctx).
 * Logs once at info level which paths connections may take. Returns 0 and
 * *@out, or -errno. */
RB_MUST_CHECK int tls_service_new(struct tls_ctx *ctx, const struct tls_config *cfg,
                                  const struct tls_ops *ops, void *ops_ctx,
                                  struct tls_service **out);

/* Hands an accepted socket to the service (any thread; cheap: a queue and an
 * eventfd write). Takes @fd: it is closed when the service cannot take it.
 * @loop is given back to ready(). Returns 0, or -ESHUTDOWN / -ENOMEM. */
int tls_service_submit(struct tls_service *s, int fd, int loop);

/* Hands a connected socket of a link between servers to the service (any
 * thread), which sends nothing before the handshake and gives @tag to
 * ready() or failed(). @host NULL: the peer dialled us, we are the TLS
 * server. Else we dialled @host (a name or an IP address, borrowed for the
 * call) and are the TLS client: the peer's certificate must be signed by
 * the CA file and name @host, unless the context is insecure. Takes @fd
 * (closed, and failed() called, when the service cannot take it). Returns 0,
 * or -ESHUTDOWN / -ENOMEM / -EINVAL. The service must be made with
 * tls_config.link. */
int tls_service_submit_link(struct tls_service *s, int fd, int loop, uint64_t tag,
                            const char *host);

/* Stops the threads and closes every connection they hold (handshakes and
 * relayed ones). Idempotent, any thread; returns once both threads ended, so
 * after it ready() is never called again. */
void tls_service_stop(struct tls_service *s);

/* Stops (if needed) and frees @s and its context. NULL is a no-op. */
void tls_service_free(struct tls_service *s);

/* Puts @ctx (taken) in force for the handshakes that start from now on, and
 * @timeout_ms (0: unchanged); those under way finish with the context they
 * began with. Any thread (a reload). */
void tls_service_set_ctx(struct tls_service *s, struct tls_ctx *ctx, uint32_t timeout_ms);

/* True when the service may hand connections over by kTLS. */
bool tls_service_ktls(const struct tls_service *s);

/* Copies the counters (any thread). */
void tls_service_stats(const struct tls_service *s, struct tls_stats *out);

#endif /* IO_TLS_TLS_H */
