/* The TLS server context (certificate, key, client CAs), the kernel TLS
 * probe, and the service's life: start, submissions, stop. */
#define _GNU_SOURCE
#include "io/tls/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "io/tls/tls_int.h"

#define TLS_QUEUE_MIN 64

/* 0 when @path can be opened for reading, else -ENOENT with the reason. */
static int tls_file_check(const char *what, const char *path, char *why, size_t why_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(why, why_len, "cannot read the TLS %s file %s: %s", what, path,
		         strerror(errno));
		return -ENOENT;
	}
	fclose(f);
	return 0;
}

/* The server's certificate chain and its key, checked against each other.
 * Returns 0 or -EINVAL with the reason in @why. */
static int tls_ctx_load_identity(struct tls_ctx *t, const struct tls_config *cfg, char *why,
                                 size_t why_len)
{
	char reason[256];
	if (SSL_CTX_use_certificate_chain_file(t->ssl, cfg->cert_file) != 1) {
		tls_last_error(reason, sizeof(reason));
		snprintf(why, why_len, "TLS certificate file %s: %s", cfg->cert_file, reason);
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ssl, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();
		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(why, why_len,
			         "the TLS key in %s does not match the certificate in %s",
			         cfg->key_file, cfg->cert_file);
			return -EINVAL;
		}
		tls_last_error(reason, sizeof(reason));
		snprintf(why, why_len, "TLS key file %s: %s", cfg->key_file, reason);
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(t->ssl) != 1) {
		ERR_clear_error();
		snprintf(why, why_len, "the TLS key in %s does not match the certificate in %s",
		         cfg->key_file, cfg->cert_file);
		return -EINVAL;
	}
	return 0;
}

/* The CAs of client certificates, and whether one is required. Returns 0
 * or -EINVAL with the reason in @why. */
static int tls_ctx_load_verify(struct tls_ctx *t, const struct tls_config *cfg, char *why,
                               size_t why_len)
{
	char reason[256];
	if (cfg->ca_file && SSL_CTX_load_verify_locations(t->ssl, cfg->ca_file, NULL) != 1) {
		tls_last_error(reason, sizeof(reason));
		snprintf(why, why_len, "TLS CA file %s: %s", cfg->ca_file, reason);
		return -EINVAL;
	}
	if (cfg->verify || cfg->link) {
		if (cfg->ca_file) {
			STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca_file);
			if (names)
				SSL_CTX_set_client_CA_list(t->ssl, names);
		} else if (SSL_CTX_set_default_verify_paths(t->ssl) != 1) {
			tls_last_error(reason, sizeof(reason));
			snprintf(why, why_len,
			         "verifying client certificates needs a CA file (tls_ca or "
			         "--tlscacert); the system's CAs cannot be loaded: %s",
			         reason);
			return -EINVAL;
		}
		SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		static const unsigned char sid[] = "ringbus";
		SSL_CTX_set_session_id_context(t->ssl, sid, sizeof(sid) - 1);
		t->verify = true;
	}
	return 0;
}

int tls_ctx_new(const struct tls_config *cfg, struct tls_ctx **out, char *why, size_t why_len)
{
	char reason[256];
	int ret;
	/* a link context with neither file only dials, presenting no certificate */
	bool anonymous = cfg->link && (!cfg->cert_file || !*cfg->cert_file) &&
	                 (!cfg->key_file || !*cfg->key_file);
	if (!anonymous &&
	    (!cfg->cert_file || !*cfg->cert_file || !cfg->key_file || !*cfg->key_file)) {
		snprintf(why, why_len,
		         "TLS needs a certificate and a key file (tls_cert and "
		         "tls_key, or --tlscert and --tlskey)");
		return -EINVAL;
	}
	if ((!anonymous && ((ret = tls_file_check("certificate", cfg->cert_file, why, why_len)) ||
	                    (ret = tls_file_check("key", cfg->key_file, why, why_len)))) ||
	    (cfg->ca_file && (ret = tls_file_check("CA", cfg->ca_file, why, why_len))))
		return ret;

	struct tls_ctx *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->link = cfg->link;
	t->insecure = cfg->insecure;
	ERR_clear_error();
	t->ssl = SSL_CTX_new(cfg->link ? TLS_method() : TLS_server_method());
	if (!t->ssl) {
		tls_last_error(reason, sizeof(reason));
		snprintf(why, why_len, "cannot create a TLS context: %s", reason);
		ret = -ENOMEM;
		goto err;
	}
	SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION);
	/* AES-128-GCM first: the fastest here, and one the kernel can carry. */
	SSL_CTX_set_ciphersuites(t->ssl, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
	                                 "TLS_CHACHA20_POLY1305_SHA256");
	if ((ret = tls_policy_apply(t->ssl, cfg, why, why_len)) != 0)
		goto err;
	SSL_CTX_set_options(t->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                                SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                             SSL_MODE_RELEASE_BUFFERS);
	/* NATS clients do not resume sessions: no tickets to mint and send. */
	SSL_CTX_set_num_tickets(t->ssl, 0);
	SSL_CTX_set_session_cache_mode(t->ssl, SSL_SESS_CACHE_OFF);

	if ((!anonymous && (ret = tls_ctx_load_identity(t, cfg, why, why_len)) != 0) ||
	    (ret = tls_ctx_load_verify(t, cfg, why, why_len)) != 0)
		goto err;
	ERR_clear_error();
	*out = t;
	return 0;
err:
	ERR_clear_error();
	tls_ctx_free(t);
	return ret;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ssl);
	free(t);
}

bool tls_ctx_verify(const struct tls_ctx *t)
{
	return t->verify;
}

bool tls_ktls_probe(char *why, size_t why_len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	int lfd = -1, cfd = -1, afd = -1;
	bool ok = false;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 1) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0 ||
	    connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		snprintf(why, why_len, "the loopback probe failed: %s", strerror(errno));
		goto out;
	}
	/* Attaching the ULP loads the module on demand where modules exist. */
	if (setsockopt(afd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) != 0) {
		if (errno == ENOENT)
			snprintf(why, why_len,
			         "the kernel has no TLS support (no 'tls' module: modprobe tls, "
			         "or a kernel built with CONFIG_TLS)");
		else
			snprintf(why, why_len, "the kernel refused the TLS layer: %s",
			         strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return ok;
}

int tls_service_new(struct tls_ctx *ctx, const struct tls_config *cfg, const struct tls_ops *ops,
                    void *ops_ctx, struct tls_service **out)
{
	struct tls_service *s = calloc(1, sizeof(*s));
	if (!s) {
		tls_ctx_free(ctx);
		return -ENOMEM;
	}
	s->ctx = ctx;
	s->ops = *ops;
	s->ops_ctx = ops_ctx;
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 2000;
	s->max_handshakes = cfg->max_handshakes ? cfg->max_handshakes : 4096;
	s->plain_reply = cfg->plain_reply ? cfg->plain_reply : TLS_REQUIRED_ERR;
	s->efd = s->epfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->stop_lock, NULL);
	atomic_init(&s->stop, false);

	char why[256] = "";
	bool kernel = tls_ktls_probe(why, sizeof(why));
	s->ktls = kernel && !cfg->no_ktls;
	if (s->ktls)
		log_info("tls: kernel TLS available: connections whose cipher the kernel takes in "
		         "both directions are handed to it, the others go through the userspace "
		         "proxy");
	else if (kernel)
		log_info("tls: kernel TLS available but disabled: every connection goes "
		         "through the userspace proxy");
	else
		log_info("tls: no kernel TLS here, every connection goes through the userspace "
		         "proxy: %s",
		         why);

	int ret;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->efd < 0 || s->epfd < 0) {
		ret = -errno;
		goto err;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev) != 0) {
		ret = -errno;
		goto err;
	}
	ret = tls_proxy_new(s, &s->proxy);
	if (ret)
		goto err;
	ret = -pthread_create(&s->tid, NULL, tls_hs_main, s);
	if (ret)
		goto err;
	s->started = true;
	*out = s;
	return 0;
err:
	log_error("tls: cannot start the TLS service: %s", strerror(-ret));
	tls_service_free(s);
	return ret;
}

/* Queues @sub for the handshake thread. On failure closes its socket (and
 * tells failed() of a link's) and returns -errno. */
static int tls_service_enqueue(struct tls_service *s, const struct tls_submit *sub)
{
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	if (s->stopped) {
		ret = -ESHUTDOWN;
	} else if (s->nqueue == s->queue_cap) {
		size_t cap = s->queue_cap ? s->queue_cap * 2 : TLS_QUEUE_MIN;
		struct tls_submit *q = realloc(s->queue, cap * sizeof(*q));
		if (q) {
			s->queue = q;
			s->queue_cap = cap;
		} else {
			ret = -ENOMEM;
		}
	}
	if (ret == 0)
		s->queue[s->nqueue++] = *sub;
	pthread_mutex_unlock(&s->lock);
	if (ret) {
		close(sub->fd);
		if (sub->link && s->ops.failed)
			s->ops.failed(s->ops_ctx, sub->tag);
		return ret;
	}
	tls_count(&s->st.accepted, 1);
	uint64_t one = 1;
	ssize_t n = write(s->efd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is far from zero, the thread will look */
	return 0;
}

int tls_service_submit(struct tls_service *s, int fd, int loop)
{
	struct tls_submit sub = {.fd = fd, .loop = loop};
	return tls_service_enqueue(s, &sub);
}

int tls_service_submit_link(struct tls_service *s, int fd, int loop, uint64_t tag, const char *host)
{
	struct tls_submit sub = {.fd = fd, .loop = loop, .link = true, .tag = tag};
	if (host) {
		if (strlen(host) >= sizeof(sub.host)) {
			close(fd);
			if (s->ops.failed)
				s->ops.failed(s->ops_ctx, tag);
			return -EINVAL;
		}
		sub.client = true;
		snprintf(sub.host, sizeof(sub.host), "%s", host);
	}
	return tls_service_enqueue(s, &sub);
}

void tls_service_stop(struct tls_service *s)
{
	pthread_mutex_lock(&s->stop_lock);
	if (!s->joined) {
		pthread_mutex_lock(&s->lock);
		s->stopped = true;
		pthread_mutex_unlock(&s->lock);
		atomic_store(&s->stop, true);
		if (s->started) {
			uint64_t one = 1;
			ssize_t n = write(s->efd, &one, sizeof(one));
			(void)n;
			pthread_join(s->tid, NULL);
		}
		/* After the handshake thread: nothing adds to the proxy any more. */
		tls_proxy_free(s->proxy);
		s->proxy = NULL;
		for (size_t i = 0; i < s->nqueue; i++) {
			close(s->queue[i].fd);
			if (s->queue[i].link && s->ops.failed)
				s->ops.failed(s->ops_ctx, s->queue[i].tag);
		}
		s->nqueue = 0;
		s->joined = true;
	}
	pthread_mutex_unlock(&s->stop_lock);
}

void tls_service_free(struct tls_service *s)
{
	if (!s)
		return;
	tls_service_stop(s);
	if (s->efd >= 0)
		close(s->efd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->queue);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->stop_lock);
	tls_ctx_free(s->ctx);
	free(s);
}

void tls_service_set_ctx(struct tls_service *s, struct tls_ctx *ctx, uint32_t timeout_ms)
{
	pthread_mutex_lock(&s->lock);
	struct tls_ctx *old = s->ctx;
	s->ctx = ctx;
	if (timeout_ms)
		s->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&s->lock);
	/* Handshakes begun with it keep its SSL_CTX alive by their reference. */
	tls_ctx_free(old);
}

bool tls_service_ktls(const struct tls_service *s)
{
	return s->ktls;
}

void tls_service_stats(const struct tls_service *s, struct tls_stats *out)
{
	/* const_cast-free reads: atomic_load takes a pointer to non-const in C11 */
	struct tls_counters *c = (struct tls_counters *)&s->st;
	out->accepted = atomic_load_explicit(&c->accepted, memory_order_relaxed);
	out->ktls = atomic_load_explicit(&c->ktls, memory_order_relaxed);
	out->proxied = atomic_load_explicit(&c->proxied, memory_order_relaxed);
	out->plaintext = atomic_load_explicit(&c->plaintext, memory_order_relaxed);
	out->failed = atomic_load_explicit(&c->failed, memory_order_relaxed);
	out->timeouts = atomic_load_explicit(&c->timeouts, memory_order_relaxed);
	out->refused = atomic_load_explicit(&c->refused, memory_order_relaxed);
	out->proxy_open = atomic_load_explicit(&c->proxy_open, memory_order_relaxed);
}
