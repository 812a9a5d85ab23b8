/* A loopback TCP relay for partition tests: one thread polls the listener
 * and every relayed pair of sockets; the test's thread commands it (cut,
 * heal, stop) through an eventfd and waits for the answer. */
#define _GNU_SOURCE
#include "tests/integration/route_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RP_PAIRS       8
#define RP_BUF         (64 * 1024)
#define RP_CMD_WAIT_MS 5000
#define RP_NFDS        (2 + 2 * RP_PAIRS)

enum rp_mode {
	RP_RELAY,
	RP_CUT,
	RP_STOP,
};

/* One relayed connection: fd[0] the dialler's side, fd[1] the target's;
 * buf[k] holds bytes read from fd[k] not yet written to fd[1 - k].
 * Owner: the proxy's thread. */
struct rp_pair {
	int fd[2];
	size_t off[2], len[2];
	char buf[2][RP_BUF];
};

struct route_proxy {
	pthread_t th;
	int lfd;                         /* listener; read-only after start */
	int wfd;                         /* eventfd that wakes the thread; read-only after start */
	uint16_t port, target;           /* read-only after start */
	struct rp_pair *pairs[RP_PAIRS]; /* Owner: the proxy's thread */
	pthread_mutex_t mu;              /* guards the fields below */
	pthread_cond_t cv;               /* signalled when @done moves */
	enum rp_mode mode;
	uint64_t asked, done; /* commands given, commands carried out */
	struct route_proxy_counts n;
};

static void rp_count(struct route_proxy *p, uint64_t *field, uint64_t add)
{
	pthread_mutex_lock(&p->mu);
	*field += add;
	pthread_mutex_unlock(&p->mu);
}

/* Closes slot @i's pair; @why_cut counts it as closed by a cut. */
static void rp_pair_close(struct route_proxy *p, int i, bool why_cut)
{
	struct rp_pair *pr = p->pairs[i];
	if (!pr)
		return;
	close(pr->fd[0]);
	close(pr->fd[1]);
	free(pr);
	p->pairs[i] = NULL;
	pthread_mutex_lock(&p->mu);
	p->n.live--;
	if (why_cut)
		p->n.cut++;
	pthread_mutex_unlock(&p->mu);
}

static int rp_dial(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Takes one connection off the listener: relays it, or closes it at once
 * when cut, when every slot is taken or when the target does not answer. */
static void rp_accept(struct route_proxy *p)
{
	int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&p->mu);
	bool cut = p->mode != RP_RELAY;
	pthread_mutex_unlock(&p->mu);
	int slot = -1;
	for (int i = 0; i < RP_PAIRS && slot < 0; i++)
		if (!p->pairs[i])
			slot = i;
	int up = cut || slot < 0 ? -1 : rp_dial(p->target);
	struct rp_pair *pr = up >= 0 ? calloc(1, sizeof(*pr)) : NULL;
	if (!pr) {
		if (up >= 0)
			close(up);
		close(fd);
		rp_count(p, &p->n.refused, 1);
		return;
	}
	pr->fd[0] = fd;
	pr->fd[1] = up;
	p->pairs[slot] = pr;
	pthread_mutex_lock(&p->mu);
	p->n.relayed++;
	p->n.live++;
	pthread_mutex_unlock(&p->mu);
}

/* Writes what was read from side @k to the other side. False on error. */
static bool rp_flush(struct rp_pair *pr, int k)
{
	while (pr->len[k] > 0) {
		ssize_t w = write(pr->fd[1 - k], pr->buf[k] + pr->off[k], pr->len[k]);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w <= 0)
			return false;
		pr->off[k] += (size_t)w;
		pr->len[k] -= (size_t)w;
	}
	pr->off[k] = 0;
	return true;
}

/* Moves bytes both ways for slot @i as its poll results @pf (two entries)
 * allow; closes the pair when either side ends or fails. */
static void rp_pump(struct route_proxy *p, int i, const struct pollfd *pf)
{
	struct rp_pair *pr = p->pairs[i];
	bool ok = true;
	for (int k = 0; k < 2 && ok; k++) {
		short ev = pf[k].revents;
		if (ev & POLLOUT)
			ok = rp_flush(pr, 1 - k);
		if (ok && (ev & (POLLHUP | POLLERR)) && pr->len[k] > 0)
			ok = false; /* ended with bytes still held: dropped, as a cut would */
		if (ok && (ev & (POLLIN | POLLHUP | POLLERR)) && pr->len[k] == 0) {
			ssize_t r = read(pr->fd[k], pr->buf[k], RP_BUF);
			if (r > 0) {
				pr->len[k] = (size_t)r;
				rp_count(p, &p->n.bytes, (uint64_t)r);
				ok = rp_flush(pr, k);
			} else {
				ok = r < 0 && (errno == EAGAIN || errno == EINTR);
			}
		}
	}
	if (!ok)
		rp_pair_close(p, i, false);
}

/* Carries out the pending command. Returns false when told to stop. */
static bool rp_command(struct route_proxy *p)
{
	uint64_t v;
	if (read(p->wfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return true;
	pthread_mutex_lock(&p->mu);
	enum rp_mode mode = p->mode;
	pthread_mutex_unlock(&p->mu);
	if (mode != RP_RELAY)
		for (int i = 0; i < RP_PAIRS; i++)
			rp_pair_close(p, i, mode == RP_CUT);
	pthread_mutex_lock(&p->mu);
	p->done = p->asked;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return mode != RP_STOP;
}

static void *rp_main(void *arg)
{
	struct route_proxy *p = arg;
	struct pollfd pf[RP_NFDS];
	for (;;) {
		pf[0] = (struct pollfd){.fd = p->wfd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
		for (int i = 0; i < RP_PAIRS; i++)
			for (int k = 0; k < 2; k++) {
				struct rp_pair *pr = p->pairs[i];
				struct pollfd *e = &pf[2 + 2 * i + k];
				e->fd = pr ? pr->fd[k] : -1;
				e->events = 0;
				e->revents = 0;
				if (pr && pr->len[k] == 0)
					e->events |= POLLIN;
				if (pr && pr->len[1 - k] > 0)
					e->events |= POLLOUT;
			}
		if (poll(pf, RP_NFDS, -1) < 0)
			continue; /* EINTR: nothing else can fail with these arguments */
		if (pf[0].revents) {
			if (!rp_command(p))
				return NULL;
			continue; /* pairs may have closed: poll afresh */
		}
		if (pf[1].revents)
			rp_accept(p);
		for (int i = 0; i < RP_PAIRS; i++)
			if (p->pairs[i])
				rp_pump(p, i, &pf[2 + 2 * i]);
	}
}

/* Sets the mode and waits until the thread has carried it out. */
static int rp_ask(struct route_proxy *p, enum rp_mode mode)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RP_CMD_WAIT_MS / 1000;
	uint64_t one = 1;
	int ret = 0;
	pthread_mutex_lock(&p->mu);
	p->mode = mode;
	uint64_t id = ++p->asked;
	if (write(p->wfd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		ret = -errno;
	while (ret == 0 && p->done < id)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	pthread_mutex_unlock(&p->mu);
	return ret;
}

static int rp_listen(struct route_proxy *p)
{
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(p->lfd, 16) != 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&sa, &len) != 0)
		return -errno;
	p->port = ntohs(sa.sin_port);
	return 0;
}

int route_proxy_start(struct route_proxy **out, uint16_t target)
{
	struct route_proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->lfd = p->wfd = -1;
	p->target = target;
	int ret = rp_listen(p);
	if (ret)
		goto close_fds;
	p->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wfd < 0) {
		ret = -errno;
		goto close_fds;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	ret = -pthread_create(&p->th, NULL, rp_main, p);
	if (ret)
		goto destroy_sync;
	*out = p;
	return 0;
destroy_sync:
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
close_fds:
	if (p->wfd >= 0)
		close(p->wfd);
	if (p->lfd >= 0)
		close(p->lfd);
	free(p);
	return ret;
}

uint16_t route_proxy_port(const struct route_proxy *p)
{
	return p->port;
}

int route_proxy_cut(struct route_proxy *p)
{
	return rp_ask(p, RP_CUT);
}

int route_proxy_heal(struct route_proxy *p)
{
	return rp_ask(p, RP_RELAY);
}

void route_proxy_counts(struct route_proxy *p, struct route_proxy_counts *c)
{
	pthread_mutex_lock(&p->mu);
	*c = p->n;
	pthread_mutex_unlock(&p->mu);
}

void route_proxy_free(struct route_proxy *p)
{
	if (!p)
		return;
	rp_ask(p, RP_STOP); /* the eventfd write cannot fail: the thread will stop */
	pthread_join(p->th, NULL);
	close(p->wfd);
	close(p->lfd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
