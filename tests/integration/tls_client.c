/* The tests' TLS client: a non-blocking socket, poll(2) with deadlines, and
 * OpenSSL; the handshake writes through a memory BIO so that bytes can join
 * the client's Finished in one send. */
#define _GNU_SOURCE
#include "tests/integration/tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TLS_CLIENT_BUF (256 * 1024)

struct tls_client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char subject[256]; /* of the server's certificate */
	size_t len;        /* bytes in buf */
	char buf[TLS_CLIENT_BUF];
};

static int64_t tls_client_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for @events on @fd until @deadline. Returns 0 or -ETIMEDOUT. */
static int tls_client_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - tls_client_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int tls_client_send_raw(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		int r = tls_client_wait(fd, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* Sends what the memory BIO holds. */
static int tls_client_flush_mem(int fd, BIO *mem, int64_t deadline)
{
	char *p;
	long n = BIO_get_mem_data(mem, &p);
	int r = n > 0 ? tls_client_send_raw(fd, p, (size_t)n, deadline) : 0;
	(void)BIO_reset(mem);
	return r;
}

static int tls_client_tcp(uint16_t port, int64_t deadline, int *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	int r = tls_client_wait(fd, POLLOUT, deadline);
	int err = 0;
	socklen_t el = sizeof(err);
	if (!r && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
		r = -err;
	if (r) {
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

/* Reads the plain INFO line byte by byte: nothing of the handshake may be
 * read past it. */
static int tls_client_info(int fd, char *info, size_t cap, int64_t deadline)
{
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t r = recv(fd, &ch, 1, 0);
		if (r == 1) {
			if (info && n + 1 < cap)
				info[n++] = ch;
			if (ch == '\n')
				break;
			continue;
		}
		if (r == 0)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		int w = tls_client_wait(fd, POLLIN, deadline);
		if (w)
			return w;
	}
	if (info && cap)
		info[n] = 0;
	return 0;
}

static void tls_client_reason(char *why, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	if (!why || !len)
		return;
	if (e)
		snprintf(why, len, "%s: %s", what, ERR_reason_error_string(e));
	else
		snprintf(why, len, "%s: %s", what, strerror(errno));
	ERR_clear_error();
}

static int tls_client_handshake(struct tls_client *c, const struct tls_client_opts *o,
                                int64_t deadline, char *why, size_t why_len)
{
	BIO *mem = BIO_new(BIO_s_mem());
	if (!mem)
		return -ENOMEM;
	SSL_set_rfd(c->ssl, c->fd);
	SSL_set0_wbio(c->ssl, mem); /* the SSL owns it from here */
	for (;;) {
		ERR_clear_error();
		int r = SSL_connect(c->ssl);
		int w = tls_client_flush_mem(c->fd, mem, deadline);
		if (w)
			return w;
		if (r == 1)
			break;
		int e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_client_reason(why, why_len, "handshake");
			return -EPROTO;
		}
		w = tls_client_wait(c->fd, POLLIN, deadline);
		if (w)
			return w;
	}
	if (o && o->early) {
		size_t n;
		if (SSL_write_ex(c->ssl, o->early, strlen(o->early), &n) != 1)
			return -EIO;
	}
	/* Finished (and the early bytes) leave in one send. */
	int w = tls_client_flush_mem(c->fd, mem, deadline);
	if (w)
		return w;
	SSL_set_wfd(c->ssl, c->fd);
	return 0;
}

int tls_client_connect(uint16_t port, const struct tls_client_opts *o, char *info, size_t cap,
                       char *why, size_t why_len, struct tls_client **out)
{
	int64_t deadline = tls_client_now_ms() + TLS_CLIENT_WAIT_MS;
	struct tls_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	int r = tls_client_tcp(port, deadline, &c->fd);
	if (r)
		goto err;
	r = tls_client_info(c->fd, info, cap, deadline);
	if (r)
		goto err;
	r = -ENOMEM;
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		goto err;
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (o && o->max_version)
		SSL_CTX_set_max_proto_version(c->ctx, o->max_version);
	r = -EINVAL;
	if (o && o->cipher_list && SSL_CTX_set_cipher_list(c->ctx, o->cipher_list) != 1)
		goto err;
	if (o && o->ca_file) {
		if (SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1)
			goto err;
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	if (o && o->cert_file &&
	    (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_file) != 1 ||
	     SSL_CTX_use_PrivateKey_file(c->ctx, o->key_file, SSL_FILETYPE_PEM) != 1))
		goto err;
	r = -ENOMEM;
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl)
		goto err;
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	if (o && o->ca_file)
		SSL_set1_host(c->ssl, "localhost");
	r = tls_client_handshake(c, o, deadline, why, why_len);
	if (r)
		goto err;
	*out = c;
	return 0;
err:
	if (r == -EINVAL)
		tls_client_reason(why, why_len, "client certificate or CA");
	tls_client_close(c);
	return r;
}

int tls_client_send(struct tls_client *c, const void *buf, size_t len)
{
	int64_t deadline = tls_client_now_ms() + TLS_CLIENT_WAIT_MS;
	const char *p = buf;
	while (len) {
		size_t n = 0;
		ERR_clear_error();
		int r = SSL_write_ex(c->ssl, p, len, &n);
		if (r == 1) {
			p += n;
			len -= n;
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -EIO;
		int w =
		    tls_client_wait(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w)
			return w;
	}
	return 0;
}

int tls_client_send_str(struct tls_client *c, const char *s)
{
	return tls_client_send(c, s, strlen(s));
}

/* Appends what TLS gives to buf. Returns bytes added, 0 at the end, -errno. */
static ssize_t tls_client_fill(struct tls_client *c, int64_t deadline)
{
	if (c->len == sizeof(c->buf))
		return -ENOBUFS;
	for (;;) {
		size_t n = 0;
		ERR_clear_error();
		int r = SSL_read_ex(c->ssl, c->buf + c->len, sizeof(c->buf) - c->len, &n);
		if (r == 1) {
			c->len += n;
			return (ssize_t)n;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) {
			ERR_clear_error();
			return 0; /* EOF or reset: the connection is over */
		}
		int w =
		    tls_client_wait(c->fd, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline);
		if (w)
			return w;
	}
}

static void tls_client_consume(struct tls_client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

int tls_client_read(struct tls_client *c, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = tls_client_now_ms() + timeout_ms;
	char *p = buf;
	while (len) {
		if (c->len) {
			size_t n = c->len < len ? c->len : len;
			memcpy(p, c->buf, n);
			tls_client_consume(c, n);
			p += n;
			len -= n;
			continue;
		}
		ssize_t r = tls_client_fill(c, deadline);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return (int)r;
	}
	return 0;
}

ssize_t tls_client_read_until(struct tls_client *c, const char *needle, char *out, size_t cap,
                              int timeout_ms)
{
	int64_t deadline = tls_client_now_ms() + timeout_ms;
	size_t nl = strlen(needle);
	for (;;) {
		char *hit = memmem(c->buf, c->len, needle, nl);
		if (hit) {
			size_t n = (size_t)(hit - c->buf) + nl;
			if (out && cap) {
				size_t k = n < cap - 1 ? n : cap - 1;
				memcpy(out, c->buf, k);
				out[k] = 0;
			}
			tls_client_consume(c, n);
			return (ssize_t)n;
		}
		ssize_t r = tls_client_fill(c, deadline);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return r;
	}
}

int tls_client_expect(struct tls_client *c, const char *s, int timeout_ms)
{
	size_t n = strlen(s);
	char *got = malloc(n + 1);
	if (!got)
		return -ENOMEM;
	int r = tls_client_read(c, got, n, timeout_ms);
	if (r == 0 && memcmp(got, s, n) != 0)
		r = -EBADMSG;
	free(got);
	return r;
}

int tls_client_expect_eof(struct tls_client *c, int timeout_ms)
{
	int64_t deadline = tls_client_now_ms() + timeout_ms;
	if (c->len)
		return -EBADMSG;
	ssize_t r = tls_client_fill(c, deadline);
	if (r > 0)
		return -EBADMSG;
	return (int)r;
}

const char *tls_client_version(const struct tls_client *c)
{
	return SSL_get_version(c->ssl);
}

const char *tls_client_cipher(const struct tls_client *c)
{
	return SSL_get_cipher_name(c->ssl);
}

const char *tls_client_peer_subject(struct tls_client *c)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	c->subject[0] = 0;
	if (cert) {
		X509_NAME_oneline(X509_get_subject_name(cert), c->subject, sizeof(c->subject));
		X509_free(cert);
	}
	return c->subject;
}

void tls_client_close(struct tls_client *c)
{
	if (!c)
		return;
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	ERR_clear_error();
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
