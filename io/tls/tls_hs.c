/* The handshake thread of the TLS service: takes submitted sockets, writes
 * the plain INFO, refuses plaintext clients, runs non-blocking handshakes
 * under one epoll with a deadline each, then picks the path (kTLS or the
 * proxy) and hands the connection back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/tls/tls_int.h"

#define TLS_HS_EVENTS 64
#define TLS_INFO_MAX  4096

/* One connection before or during its handshake. Owner: the handshake thread. */
struct tls_hs {
	int fd;
	int loop;
	SSL *ssl; /* NULL until the client's first byte says TLS */
	uint64_t tag;
	uint64_t deadline_ns;
	uint32_t events; /* epoll interest */
	bool link;       /* tls_service_submit_link(): ops.failed() when it ends */
	uint32_t peer_port;
	char peer_ip[46];
	struct tls_hs *prev; /* in deadline order: all have the same timeout */
	struct tls_hs *next;
};

/* Owner: the handshake thread. */
struct tls_hs_list {
	struct tls_hs *head;
	struct tls_hs *tail;
	uint32_t n;
};

static void tls_hs_unlink(struct tls_hs_list *l, struct tls_hs *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		l->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		l->tail = h->prev;
	l->n--;
}

/* Closes @h, which never reached ready(), and frees it. */
static void tls_hs_drop(struct tls_service *s, struct tls_hs *h)
{
	SSL_free(h->ssl);
	close(h->fd);
	if (h->link && s->ops.failed)
		s->ops.failed(s->ops_ctx, h->tag);
	free(h);
}

/* Closes @h and forgets it. */
static void tls_hs_end(struct tls_service *s, struct tls_hs_list *l, struct tls_hs *h)
{
	tls_hs_unlink(l, h);
	tls_hs_drop(s, h);
}

static void tls_peer(int fd, char *ip, size_t cap, uint32_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ip[0] = 0;
	*port = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)cap);
		*port = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)cap);
		*port = ntohs(sin6->sin6_port);
	}
}

/* The client side of a link: an SSL made now, checking that the peer's
 * certificate names @host (unless insecure). Returns 0 or -1. */
static int tls_hs_client(struct tls_service *s, struct tls_hs *h, const char *host)
{
	pthread_mutex_lock(&s->lock);
	h->ssl = SSL_new(s->ctx->ssl);
	bool insecure = s->ctx->insecure;
	pthread_mutex_unlock(&s->lock);
	if (!h->ssl || SSL_set_fd(h->ssl, h->fd) != 1)
		goto err;
	SSL_set_connect_state(h->ssl);
	if (s->ktls)
		SSL_set_options(h->ssl, SSL_OP_ENABLE_KTLS);
	else
		SSL_set_read_ahead(h->ssl, 1);
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	if (!ip && SSL_set_tlsext_host_name(h->ssl, host) != 1) /* SNI: names only, as Go */
		goto err;
	if (insecure) {
		SSL_set_verify(h->ssl, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_set_verify(h->ssl, SSL_VERIFY_PEER, NULL);
		X509_VERIFY_PARAM *vp = SSL_get0_param(h->ssl);
		if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) : SSL_set1_host(h->ssl, host)) !=
		    1)
			goto err;
	}
	return 0;
err:
	ERR_clear_error();
	return -1;
}

/* Writes the INFO of a client connection; false when it is refused. */
static bool tls_hs_info(struct tls_service *s, struct tls_hs *h)
{
	char info[TLS_INFO_MAX];
	size_t len = s->ops.info(s->ops_ctx, h->peer_ip, info, sizeof(info), &h->tag);
	if (len == 0) {
		tls_count(&s->st.refused, 1);
		return false;
	}
	if (len == TLS_INFO_NONE)
		return true;
	/* A new socket's send buffer holds an INFO line whole. */
	ssize_t w = send(h->fd, info, len, MSG_NOSIGNAL);
	if (w != (ssize_t)len) {
		tls_count(&s->st.failed, 1);
		log_debug("tls: %s:%u: cannot send INFO: %s", h->peer_ip, h->peer_port,
		          w < 0 ? strerror(errno) : "short write");
		return false;
	}
	return true;
}

/* A new socket: INFO in plaintext (clients), then wait for the peer's first
 * byte; a link we dialled starts its handshake at once. */
static void tls_hs_start(struct tls_service *s, struct tls_hs_list *l, const struct tls_submit *q)
{
	struct tls_hs *h = calloc(1, sizeof(*h));
	if (!h) {
		tls_count(&s->st.refused, 1);
		close(q->fd);
		if (q->link && s->ops.failed)
			s->ops.failed(s->ops_ctx, q->tag);
		return;
	}
	h->fd = q->fd;
	h->loop = q->loop;
	h->link = q->link;
	h->tag = q->tag;
	if (l->n >= s->max_handshakes) {
		tls_count(&s->st.refused, 1);
		log_debug("tls: %u handshakes in progress: refusing a connection", l->n);
		tls_hs_drop(s, h);
		return;
	}
	int one = 1;
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int fl = fcntl(h->fd, F_GETFL);
	if (fl >= 0)
		fcntl(h->fd, F_SETFL, fl | O_NONBLOCK);
	tls_peer(h->fd, h->peer_ip, sizeof(h->peer_ip), &h->peer_port);
	if (!q->link && !tls_hs_info(s, h))
		goto err;
	if (q->client && tls_hs_client(s, h, q->host) != 0) {
		tls_count(&s->st.failed, 1);
		goto err;
	}
	/* writable at once: the client's first step sends its hello */
	h->events = q->client ? EPOLLOUT : EPOLLIN;
	struct epoll_event ev = {.events = h->events, .data.ptr = h};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, h->fd, &ev) != 0) {
		tls_count(&s->st.failed, 1);
		goto err;
	}
	pthread_mutex_lock(&s->lock);
	uint64_t timeout_ns = (uint64_t)s->timeout_ms * 1000000u;
	pthread_mutex_unlock(&s->lock);
	h->deadline_ns = clock_now_ns() + timeout_ns;
	h->prev = l->tail;
	if (l->tail)
		l->tail->next = h;
	else
		l->head = h;
	l->tail = h;
	l->n++;
	return;
err:
	tls_hs_drop(s, h);
}

/* Takes what tls_service_submit() queued, in order. */
static void tls_hs_take(struct tls_service *s, struct tls_hs_list *l)
{
	uint64_t v;
	ssize_t r = read(s->efd, &v, sizeof(v));
	(void)r;
	pthread_mutex_lock(&s->lock);
	struct tls_submit *q = s->queue;
	size_t n = s->nqueue;
	s->queue = NULL;
	s->nqueue = s->queue_cap = 0;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		tls_hs_start(s, l, &q[i]);
	free(q);
}

/* Says why a connection takes the proxy rather than kTLS (for the log). */
static const char *tls_proxy_reason(const struct tls_service *s, bool tx, bool rx, bool pending)
{
	if (!s->ktls)
		return "no kernel TLS";
	if (pending)
		return "application data already read by OpenSSL";
	if (tx && !rx)
		return "kernel TLS for sending only";
	if (rx && !tx)
		return "kernel TLS for receiving only";
	return "the kernel took neither direction";
}

/* The handshake is done: choose the path and hand the connection over. */
static void tls_hs_done(struct tls_service *s, struct tls_hs_list *l, struct tls_hs *h)
{
	tls_hs_unlink(l, h);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	SSL *ssl = h->ssl;
	bool tx = BIO_get_ktls_send(SSL_get_wbio(ssl));
	bool rx = BIO_get_ktls_recv(SSL_get_rbio(ssl));
	/* Records OpenSSL already read (processed or not) exist only in its
	 * buffers: the kernel would never see them, so such a connection goes
	 * through the proxy, which starts with SSL_read. */
	bool pending = SSL_has_pending(ssl) != 0;
	int ret;

	if (s->ktls && tx && rx && !pending) {
		log_debug("tls: %s:%u: %s %s, kernel TLS", h->peer_ip, h->peer_port,
		          SSL_get_version(ssl), SSL_get_cipher_name(ssl));
		SSL_free(ssl); /* the socket BIO does not close the descriptor */
		ret = s->ops.ready(s->ops_ctx, h->loop, h->fd, h->tag, h->peer_ip, h->peer_port,
		                   TLS_PATH_KTLS);
		if (ret) {
			tls_count(&s->st.refused, 1);
			h->ssl = NULL;
			tls_hs_drop(s, h);
			return;
		}
		tls_count(&s->st.ktls, 1);
		free(h);
		return;
	}

	log_debug("tls: %s:%u: %s %s, userspace proxy (%s)", h->peer_ip, h->peer_port,
	          SSL_get_version(ssl), SSL_get_cipher_name(ssl),
	          tls_proxy_reason(s, tx, rx, pending));
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
		log_warn("tls: %s:%u: socketpair: %s", h->peer_ip, h->peer_port, strerror(errno));
		goto err;
	}
	ret = s->ops.ready(s->ops_ctx, h->loop, sv[0], h->tag, h->peer_ip, h->peer_port,
	                   TLS_PATH_PROXY);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		goto err;
	}
	/* The proxy reads whole buffers at a time from now on. */
	SSL_set_read_ahead(ssl, 1);
	if (tls_proxy_add(s->proxy, ssl, h->fd, sv[1]) == 0)
		tls_count(&s->st.proxied, 1);
	free(h);
	return;
err:
	tls_count(&s->st.refused, 1);
	tls_hs_drop(s, h);
}

/* A plaintext client: say that TLS is required and close. */
static void tls_hs_plaintext(struct tls_service *s, struct tls_hs_list *l, struct tls_hs *h)
{
	tls_count(&s->st.plaintext, 1);
	log_debug("tls: %s:%u: plaintext client: TLS required, closing", h->peer_ip, h->peer_port);
	ssize_t n = send(h->fd, s->plain_reply, strlen(s->plain_reply), MSG_NOSIGNAL);
	(void)n;
	shutdown(h->fd, SHUT_WR);
	/* Read what it sent, so that the close is a FIN behind the error rather
	 * than a reset that could discard it. */
	char sink[4096];
	for (int i = 0; i < 16 && recv(h->fd, sink, sizeof(sink), 0) > 0; i++)
		;
	tls_hs_end(s, l, h);
}

/* Advances one connection's handshake after an epoll event. */
static void tls_hs_step(struct tls_service *s, struct tls_hs_list *l, struct tls_hs *h)
{
	if (!h->ssl) {
		unsigned char b;
		ssize_t r = recv(h->fd, &b, 1, MSG_PEEK);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			tls_count(&s->st.failed, 1);
			log_debug("tls: %s:%u: closed before the handshake", h->peer_ip,
			          h->peer_port);
			tls_hs_end(s, l, h);
			return;
		}
		if (b != TLS_RECORD_HANDSHAKE && h->link) {
			tls_count(&s->st.plaintext, 1);
			log_debug("tls: %s:%u: no TLS from the peer: closing", h->peer_ip,
			          h->peer_port);
			tls_hs_end(s, l, h);
			return;
		}
		if (b != TLS_RECORD_HANDSHAKE) {
			tls_hs_plaintext(s, l, h);
			return;
		}
		/* The context in force: tls_service_set_ctx() may replace it (an
		 * SSL keeps a reference to the SSL_CTX it was made from). */
		pthread_mutex_lock(&s->lock);
		h->ssl = SSL_new(s->ctx->ssl);
		pthread_mutex_unlock(&s->lock);
		if (!h->ssl || SSL_set_fd(h->ssl, h->fd) != 1) {
			ERR_clear_error();
			tls_count(&s->st.failed, 1);
			tls_hs_end(s, l, h);
			return;
		}
		if (s->ktls)
			SSL_set_options(h->ssl, SSL_OP_ENABLE_KTLS);
		else
			SSL_set_read_ahead(h->ssl, 1); /* the proxy's anyway: fewer reads */
		SSL_set_accept_state(h->ssl);
	}
	ERR_clear_error();
	int r = SSL_do_handshake(h->ssl);
	if (r == 1) {
		tls_hs_done(s, l, h);
		return;
	}
	uint32_t want;
	switch (SSL_get_error(h->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		want = EPOLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		want = EPOLLOUT;
		break;
	default: {
		char reason[160];
		tls_last_error(reason, sizeof(reason));
		log_debug("tls: %s:%u: handshake failed: %s", h->peer_ip, h->peer_port, reason);
		tls_count(&s->st.failed, 1);
		tls_hs_end(s, l, h);
		return;
	}
	}
	if (want != h->events) {
		struct epoll_event ev = {.events = want, .data.ptr = h};
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, h->fd, &ev) != 0) {
			tls_count(&s->st.failed, 1);
			tls_hs_end(s, l, h);
			return;
		}
		h->events = want;
	}
}

/* Closes the connections whose deadline passed; returns the epoll timeout
 * until the next one (-1: none). */
static int tls_hs_expire(struct tls_service *s, struct tls_hs_list *l)
{
	uint64_t now = clock_now_ns();
	while (l->head && l->head->deadline_ns <= now) {
		struct tls_hs *h = l->head;
		tls_count(&s->st.timeouts, 1);
		log_debug("tls: %s:%u: no TLS handshake within the timeout: closing", h->peer_ip,
		          h->peer_port);
		tls_hs_end(s, l, h);
	}
	if (!l->head)
		return -1;
	return (int)((l->head->deadline_ns - now + 999999u) / 1000000u);
}

void *tls_hs_main(void *arg)
{
	struct tls_service *s = arg;
	struct tls_hs_list l = {0};
	struct epoll_event evs[TLS_HS_EVENTS];
	int timeout = -1;
	while (!atomic_load(&s->stop)) {
		int n = epoll_wait(s->epfd, evs, TLS_HS_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("tls: epoll_wait: %s", strerror(errno));
			break;
		}
		/* Each connection has one descriptor in the set: one event at most
		 * per batch, so one that ends here is not met again. */
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				tls_hs_step(s, &l, evs[i].data.ptr);
			else
				tls_hs_take(s, &l);
		}
		timeout = tls_hs_expire(s, &l);
	}
	while (l.head)
		tls_hs_end(s, &l, l.head);
	return NULL;
}
