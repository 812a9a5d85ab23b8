/* What io/tls.c (context), io/tls_hs.c (handshake thread) and io/tls_proxy.c
 * (relay thread) share. Private to io/. */
#ifndef IO_TLS_TLS_INT_H
#define IO_TLS_TLS_INT_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/tls/tls.h"

/* Read-only after tls_ctx_new(). */
struct tls_ctx {
	SSL_CTX *ssl;
	bool verify;
	bool link;     /* both roles (tls_config.link) */
	bool insecure; /* links: the dialling side does not verify */
};

/* Applies @cfg's cipher suites and curves (or nats-server's defaults) to
 * @ssl (io/tls_policy.c). Returns 0, or -EINVAL with the reason in @why. */
int tls_policy_apply(SSL_CTX *ssl, const struct tls_config *cfg, char *why, size_t why_len);

/* Counters: atomics, written by the service's threads, read by anyone. */
struct tls_counters {
	atomic_uint_fast64_t accepted;
	atomic_uint_fast64_t ktls;
	atomic_uint_fast64_t proxied;
	atomic_uint_fast64_t plaintext;
	atomic_uint_fast64_t failed;
	atomic_uint_fast64_t timeouts;
	atomic_uint_fast64_t refused;
	atomic_uint_fast64_t proxy_open;
};

static inline void tls_count(atomic_uint_fast64_t *c, int64_t n)
{
	atomic_fetch_add_explicit(c, (uint_fast64_t)n, memory_order_relaxed);
}

#define TLS_HOST_MAX 256

/* A socket waiting for the handshake thread. */
struct tls_submit {
	int fd;
	int loop;
	bool link;   /* tls_service_submit_link(): no INFO, @tag given */
	bool client; /* link: we dialled @host */
	uint64_t tag;
	char host[TLS_HOST_MAX];
};

struct tls_proxy;

/* The service. @lock guards the submit queue, @stopped, @ctx and
 * @timeout_ms (tls_service_set_ctx() replaces them); @stop_lock serialises
 * tls_service_stop(); the rest is read-only after start or owned by the
 * handshake thread. */
struct tls_service {
	struct tls_ctx *ctx;
	struct tls_ops ops;
	void *ops_ctx;
	bool ktls; /* the kernel takes TLS and no_ktls is off */
	uint32_t timeout_ms;
	uint32_t max_handshakes;
	const char *plain_reply; /* borrowed: tls_config.plain_reply or TLS_REQUIRED_ERR */
	struct tls_counters st;

	pthread_mutex_t lock;
	struct tls_submit *queue;
	size_t nqueue;
	size_t queue_cap;
	bool stopped; /* no more submissions */

	pthread_mutex_t stop_lock;
	bool joined;
	atomic_bool stop;
	int efd;  /* eventfd: submissions and stop */
	int epfd; /* the handshake thread's epoll */
	pthread_t tid;
	bool started;
	struct tls_proxy *proxy;
};

/* Handshake thread body (io/tls_hs.c); @arg is the service. */
void *tls_hs_main(void *arg);

/* Starts the relay thread of @svc (counters and stop flag are the
 * service's). Returns 0 and *@out, or -errno. */
int tls_proxy_new(struct tls_service *svc, struct tls_proxy **out);

/* Relays @ssl (whose handshake is done) on TCP socket @fd to the socketpair
 * end @pfd. Takes all three, also on failure. Any thread. Returns 0 or
 * -ENOMEM / -ESHUTDOWN. */
int tls_proxy_add(struct tls_proxy *p, SSL *ssl, int fd, int pfd);

/* Ends the relay thread and closes every relayed connection; then frees @p.
 * NULL is a no-op. */
void tls_proxy_free(struct tls_proxy *p);

/* Writes the reason of OpenSSL's last queued error into @buf and clears the
 * queue; "unknown" when there is none. */
static inline void tls_last_error(char *buf, size_t len)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e; /* the last one queued is the closest to the cause */
	if (!last) {
		snprintf(buf, len, "unknown");
		return;
	}
	const char *r = ERR_reason_error_string(last);
	if (r)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(last, buf, len);
}

#endif /* IO_TLS_TLS_INT_H */
