/* The TLS service's relay thread: for each connection the kernel does not
 * encrypt, moves plaintext between non-blocking SSL_read/SSL_write on the
 * client's TCP socket and one end of a socketpair whose other end an I/O
 * thread treats as the client. One epoll serves every relayed connection;
 * each direction has one buffer, and a full side stops reading the other
 * (backpressure reaches the TCP window). */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/memacct.h"
#include "io/tls/tls_int.h"

#define TLS_PROXY_BUF    16384 /* one TLS record's plaintext */
#define TLS_PROXY_EVENTS 64
#define TLS_PROXY_ROUNDS 32 /* buffers moved per connection before the others' turn */

/* One relayed connection. Owner: the relay thread. */
struct tls_pconn {
	SSL *ssl;
	int fd;                    /* the client's TCP socket */
	int pfd;                   /* our end of the socketpair */
	uint32_t in_off, in_len;   /* in[]: from the client, for the router */
	uint32_t out_off, out_len; /* out[]: from the router, for the client */
	uint32_t ev_fd, ev_pfd;    /* epoll interest now; 0: not in the set */
	bool in_eof;               /* the client ended (close_notify or FIN) */
	bool out_eof;              /* the router closed its end */
	bool pfd_shut;             /* the router was told: shutdown(SHUT_WR) */
	bool again;                /* on the list to run again without an event */
	bool dead;
	struct tls_pconn *prev, *next; /* every connection */
	struct tls_pconn *next_again;  /* the again list, then the graveyard */
	char in[TLS_PROXY_BUF];
	char out[TLS_PROXY_BUF];
};

/* A connection handed over, not yet taken by the thread. */
struct tls_padd {
	SSL *ssl;
	int fd;
	int pfd;
};

/* @lock guards the queue and @closed; the rest is the relay thread's. */
struct tls_proxy {
	struct tls_service *svc;
	int efd;
	int epfd;
	pthread_t tid;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct tls_padd *queue;
	size_t nqueue;
	size_t queue_cap;
	bool closed;
	struct tls_pconn *all;
	struct tls_pconn *again;
	struct tls_pconn *graveyard; /* ended in this batch of events */
};

static void tls_padd_close(struct tls_padd *a)
{
	SSL_free(a->ssl);
	close(a->fd);
	close(a->pfd);
}

/* Ends @c now; its memory goes when the batch of events is done. */
/* Frees a relayed connection's record (its buffers are counted as held). */
static void tls_pconn_free(struct tls_pconn *c)
{
	memacct_add(MEMACCT_TLS, -(int64_t)sizeof(*c));
	free(c);
}

static void tls_pconn_end(struct tls_proxy *p, struct tls_pconn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	SSL_free(c->ssl);
	close(c->fd);
	close(c->pfd);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	tls_count(&p->svc->st.proxy_open, -1);
	if (!c->again) {
		c->next_again = p->graveyard;
		p->graveyard = c;
	}
	/* else freed when the again list reaches it */
}

/* Sets the epoll interest of one of @c's descriptors to @want. */
static int tls_pconn_watch(struct tls_proxy *p, struct tls_pconn *c, bool pair, uint32_t want)
{
	uint32_t *cur = pair ? &c->ev_pfd : &c->ev_fd;
	if (*cur == want)
		return 0;
	/* A descriptor with nothing wanted leaves the set: epoll would keep
	 * reporting its hang-up otherwise. */
	int op = !*cur ? EPOLL_CTL_ADD : !want ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	struct epoll_event ev = {.events = want, .data.u64 = (uint64_t)(uintptr_t)c | pair};
	if (epoll_ctl(p->epfd, op, pair ? c->pfd : c->fd, &ev) != 0)
		return -errno;
	*cur = want;
	return 0;
}

/* Maps an SSL_ERROR_WANT_* to the epoll event it waits for; 0 for a real
 * error or the end of the stream (reported in *@eof). */
static uint32_t tls_ssl_want(SSL *ssl, int r, bool *eof)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return EPOLLIN;
	case SSL_ERROR_WANT_WRITE:
		return EPOLLOUT;
	case SSL_ERROR_ZERO_RETURN:
		*eof = true;
		return 0;
	default:
		return 0;
	}
}

/* What one pass in one direction asks for next. */
struct tls_want {
	uint32_t fd;  /* events the TLS socket must wait for */
	uint32_t pfd; /* events the router's socketpair end must wait for */
	bool progress;
};

/* Client -> router: SSL_read into the buffer, then send it on. Returns 0 or
 * -EIO. */
static int tls_pconn_inbound(struct tls_pconn *c, struct tls_want *w)
{
	if (!c->in_eof && c->in_off == c->in_len) {
		size_t n = 0;
		ERR_clear_error();
		int r = SSL_read_ex(c->ssl, c->in, sizeof(c->in), &n);
		if (r == 1) {
			c->in_off = 0;
			c->in_len = (uint32_t)n;
			w->progress = true;
		} else {
			bool eof = false;
			uint32_t want = tls_ssl_want(c->ssl, r, &eof);
			if (eof) {
				c->in_eof = true;
				w->progress = true;
			} else if (!want) {
				return -EIO;
			}
			w->fd |= want;
		}
	}
	if (c->in_off < c->in_len) {
		ssize_t n = send(c->pfd, c->in + c->in_off, c->in_len - c->in_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->in_off += (uint32_t)n;
			w->progress = true;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			w->pfd |= EPOLLOUT;
		} else {
			return -EIO;
		}
	}
	if (c->in_eof && c->in_off == c->in_len && !c->pfd_shut) {
		shutdown(c->pfd, SHUT_WR);
		c->pfd_shut = true;
	}
	return 0;
}

/* Router -> client: recv from the socketpair, then SSL_write it. Returns 0,
 * 1 when the router closed and everything went out, or -EIO. */
static int tls_pconn_outbound(struct tls_pconn *c, struct tls_want *w)
{
	if (!c->out_eof && c->out_off == c->out_len) {
		ssize_t r = recv(c->pfd, c->out, sizeof(c->out), MSG_DONTWAIT);
		if (r > 0) {
			c->out_off = 0;
			c->out_len = (uint32_t)r;
			w->progress = true;
		} else if (r == 0) {
			c->out_eof = true;
			w->progress = true;
		} else if (errno == EAGAIN || errno == EINTR) {
			w->pfd |= EPOLLIN;
		} else {
			return -EIO;
		}
	}
	if (c->out_off < c->out_len) {
		size_t n = 0;
		ERR_clear_error();
		int r = SSL_write_ex(c->ssl, c->out + c->out_off, c->out_len - c->out_off, &n);
		if (r == 1) {
			c->out_off += (uint32_t)n;
			w->progress = true;
		} else {
			bool eof = false;
			uint32_t want = tls_ssl_want(c->ssl, r, &eof);
			if (!want)
				return -EIO;
			w->fd |= want;
		}
	}
	if (c->out_eof && c->out_off == c->out_len) {
		/* The router closed and everything it wrote went out: say
		 * close_notify (best effort) and end. */
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
		return 1;
	}
	return 0;
}

/* Moves what can be moved in both directions. Returns 0 to keep going, 1
 * when the connection is over, -EIO on an error. */
static int tls_pconn_pump(struct tls_proxy *p, struct tls_pconn *c)
{
	struct tls_want w = {.progress = true};
	for (int round = 0; w.progress && round < TLS_PROXY_ROUNDS; round++) {
		w = (struct tls_want){0};
		int r = tls_pconn_inbound(c, &w);
		if (r == 0)
			r = tls_pconn_outbound(c, &w);
		if (r != 0)
			return r;
	}
	if (w.progress && !c->again) {
		/* Still busy after its share: run it again after the others. */
		c->again = true;
		c->next_again = p->again;
		p->again = c;
	}
	if (tls_pconn_watch(p, c, false, w.fd) || tls_pconn_watch(p, c, true, w.pfd))
		return -EIO;
	return 0;
}

static void tls_pconn_run(struct tls_proxy *p, struct tls_pconn *c)
{
	if (c->dead)
		return;
	int r = tls_pconn_pump(p, c);
	if (r < 0) {
		char reason[160];
		tls_last_error(reason, sizeof(reason));
		log_debug("tls: relayed connection failed: %s", reason);
	}
	if (r != 0)
		tls_pconn_end(p, c);
}

/* Takes the connections tls_proxy_add() queued and starts relaying them. */
static void tls_proxy_take(struct tls_proxy *p)
{
	uint64_t v;
	ssize_t r = read(p->efd, &v, sizeof(v));
	(void)r;
	pthread_mutex_lock(&p->lock);
	struct tls_padd *q = p->queue;
	size_t n = p->nqueue;
	p->queue = NULL;
	p->nqueue = p->queue_cap = 0;
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < n; i++) {
		struct tls_pconn *c = calloc(1, sizeof(*c));
		if (!c) {
			log_warn("tls: out of memory for a relayed connection: closing it");
			tls_count(&p->svc->st.proxy_open, -1);
			tls_padd_close(&q[i]);
			continue;
		}
		memacct_add(MEMACCT_TLS, sizeof(*c));
		c->ssl = q[i].ssl;
		c->fd = q[i].fd;
		c->pfd = q[i].pfd;
		c->next = p->all;
		if (p->all)
			p->all->prev = c;
		p->all = c;
		/* OpenSSL may hold client bytes read with the handshake: pump at
		 * once rather than wait for the socket. */
		tls_pconn_run(p, c);
	}
	free(q);
}

static void *tls_proxy_main(void *arg)
{
	struct tls_proxy *p = arg;
	struct epoll_event evs[TLS_PROXY_EVENTS];
	while (!atomic_load(&p->stop)) {
		int n = epoll_wait(p->epfd, evs, TLS_PROXY_EVENTS, p->again ? 0 : -1);
		if (n < 0 && errno != EINTR) {
			log_error("tls: relay epoll_wait: %s", strerror(errno));
			break;
		}
		/* A connection has two descriptors: a second event in the same
		 * batch may name one that ended; it is only marked dead until
		 * the batch is over. */
		for (int i = 0; i < n; i++) {
			uint64_t u = evs[i].data.u64;
			if (u == 0)
				tls_proxy_take(p);
			else
				tls_pconn_run(p, (struct tls_pconn *)(uintptr_t)(u & ~(uint64_t)1));
		}
		struct tls_pconn *a = p->again;
		p->again = NULL;
		while (a) {
			struct tls_pconn *next = a->next_again;
			a->again = false;
			if (a->dead) {
				a->next_again = p->graveyard;
				p->graveyard = a;
			} else {
				tls_pconn_run(p, a);
			}
			a = next;
		}
		while (p->graveyard) {
			struct tls_pconn *c = p->graveyard;
			p->graveyard = c->next_again;
			tls_pconn_free(c);
		}
	}
	while (p->all)
		tls_pconn_end(p, p->all);
	for (struct tls_pconn *a = p->again; a;) {
		struct tls_pconn *next = a->next_again;
		tls_pconn_free(a);
		a = next;
	}
	p->again = NULL;
	while (p->graveyard) {
		struct tls_pconn *c = p->graveyard;
		p->graveyard = c->next_again;
		tls_pconn_free(c);
	}
	return NULL;
}

int tls_proxy_new(struct tls_service *svc, struct tls_proxy **out)
{
	struct tls_proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->svc = svc;
	atomic_init(&p->stop, false);
	pthread_mutex_init(&p->lock, NULL);
	int ret;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->efd < 0 || p->epfd < 0) {
		ret = -errno;
		goto err;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->efd, &ev) != 0) {
		ret = -errno;
		goto err;
	}
	ret = -pthread_create(&p->tid, NULL, tls_proxy_main, p);
	if (ret)
		goto err;
	p->started = true;
	*out = p;
	return 0;
err:
	tls_proxy_free(p);
	return ret;
}

int tls_proxy_add(struct tls_proxy *p, SSL *ssl, int fd, int pfd)
{
	struct tls_padd a = {.ssl = ssl, .fd = fd, .pfd = pfd};
	int ret = 0;
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		ret = -ESHUTDOWN;
	} else if (p->nqueue == p->queue_cap) {
		size_t cap = p->queue_cap ? p->queue_cap * 2 : 16;
		struct tls_padd *q = realloc(p->queue, cap * sizeof(*q));
		if (q) {
			p->queue = q;
			p->queue_cap = cap;
		} else {
			ret = -ENOMEM;
		}
	}
	if (ret == 0)
		p->queue[p->nqueue++] = a;
	pthread_mutex_unlock(&p->lock);
	if (ret) {
		tls_padd_close(&a);
		return ret;
	}
	tls_count(&p->svc->st.proxy_open, 1);
	uint64_t one = 1;
	ssize_t n = write(p->efd, &one, sizeof(one));
	(void)n;
	return 0;
}

void tls_proxy_free(struct tls_proxy *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->closed = true;
	pthread_mutex_unlock(&p->lock);
	if (p->started) {
		atomic_store(&p->stop, true);
		uint64_t one = 1;
		ssize_t n = write(p->efd, &one, sizeof(one));
		(void)n;
		pthread_join(p->tid, NULL);
	}
	for (size_t i = 0; i < p->nqueue; i++) {
		tls_count(&p->svc->st.proxy_open, -1);
		tls_padd_close(&p->queue[i]);
	}
	free(p->queue);
	if (p->efd >= 0)
		close(p->efd);
	if (p->epfd >= 0)
		close(p->epfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
