/* The route manager: the cluster listener, dialling routes, and the table of
 * peers (router/route.h). One thread; the table is also read and changed by
 * the I/O threads that own the route sockets, under the manager's lock
 * (handshakes, closes, gossip: never a message). */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/account.h"
#include "router/interest.h"
#include "router/iothr.h"
#include "router/creds.h"
#include "router/route_int.h"
#include "router/server.h"
#include "router/server_int.h"

#define ROUTE_RETRY_NS 1000000000ull /* explicit routes: again every second */
#define ROUTE_DIAL_MS  1000

bool route_configured(const struct server *s)
{
	return s->cfg.cluster_listen || s->cfg.routes.n > 0 || s->cfg.nleaf_remotes > 0 ||
	       s->cfg.leaf_listen;
}

int route_port(const struct server *s)
{
	return s->routes ? s->routes->port : 0;
}

/* This node's client URL for connect_urls: the client host, or the first
 * address of an interface when it listens on all of them. */
static void route_self_url(struct route_mgr *m)
{
	struct server *s = m->s;
	char host[INET6_ADDRSTRLEN] = "127.0.0.1";
	if (strcmp(s->cfg.host, "0.0.0.0") && strcmp(s->cfg.host, "::") && s->cfg.host[0]) {
		snprintf(host, sizeof(host), "%s", s->cfg.host);
	} else {
		struct ifaddrs *ifa, *i;
		if (getifaddrs(&ifa) == 0) {
			for (i = ifa; i; i = i->ifa_next)
				if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
				    strcmp(i->ifa_name, "lo")) {
					inet_ntop(AF_INET,
					          &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
					          host, sizeof(host));
					break;
				}
			freeifaddrs(ifa);
		}
	}
	snprintf(m->self_url, sizeof(m->self_url), "\"%s:%d\"", host, s->port);
}

/* The local interest changed: the I/O threads write it to their routes. */
static void route_interest_changed(void *arg)
{
	struct route_mgr *m = arg;
	for (int i = 0; i < m->s->nio; i++)
		wake_notify(&m->s->io[i].wake);
}

uint16_t route_mgr_leaf_account(struct server *s, int url)
{
	struct route_mgr *m = s->routes;
	if (!m || url < 0 || url >= m->nurls || !m->urls[url].leaf)
		return ACC_GLOBAL;
	int i = acc_find(server_acc(s), s->cfg.leaf_account[m->urls[url].group]);
	return i > 0 ? (uint16_t)i : ACC_GLOBAL;
}

const char *route_mgr_leaf_creds(struct server *s, int url)
{
	struct route_mgr *m = s->routes;
	if (!m || url < 0 || url >= m->nurls || !m->urls[url].leaf)
		return NULL;
	return s->cfg.leaf_creds[m->urls[url].group];
}

void route_mgr_leaf_denies(struct server *s, int url, const struct config_list **exports,
                           const struct config_list **imports)
{
	struct route_mgr *m = s->routes;
	*exports = *imports = NULL;
	if (!m || url < 0 || url >= m->nurls || !m->urls[url].leaf)
		return;
	int g = m->urls[url].group;
	if (s->cfg.leaf_deny_exports[g].n)
		*exports = &s->cfg.leaf_deny_exports[g];
	if (s->cfg.leaf_deny_imports[g].n)
		*imports = &s->cfg.leaf_deny_imports[g];
}

/* What the accounts of @t need from the other servers whatever their
 * clients do (as nats-server's imports subscribe): an exporting account's
 * subjects that another account imports as a stream (each server copies
 * what it receives), and the "_R_." answers of the services an account
 * offers through an import (they come back to the requester's server).
 * Added with @add, else taken away. */
static void route_import_interest(struct server *s, const struct acc_table *t, bool add)
{
	char key[PROTO_MAX_CONTROL_LINE];
	for (int i = 1; i < t->n; i++)
		for (int k = 0; k < t->acc[i].nrules; k++) {
			const struct acc_rule *r = &t->acc[i].rules[k];
			int n = r->service
			            ? snprintf(key, sizeof(key), "%s _R_.>", t->acc[r->target].name)
			            : snprintf(key, sizeof(key), "%s %s", t->acc[i].name, r->match);
			if (n <= 0 || (size_t)n >= sizeof(key))
				continue; /* a subject longer than a control line: nobody's */
			if (add)
				interest_add(s->interest, key, (size_t)n, NULL, 0);
			else
				interest_del(s->interest, key, (size_t)n, NULL, 0);
		}
}

void route_mgr_accounts_changed(struct server *s, const struct acc_table *was,
                                const struct acc_table *now)
{
	if (!s->interest)
		return;
	/* the new first, then the old away: what both need never goes */
	route_import_interest(s, now, true);
	route_import_interest(s, was, false);
}

int route_mgr_new(struct server *s)
{
	if (!route_configured(s))
		return 0;
	struct route_mgr *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	s->routes = m;
	m->s = s;
	m->listen_fd = -1;
	m->leaf_fd = -1;
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&m->lock, NULL);
	if (m->efd < 0)
		return -errno;
	s->interest = interest_new(route_interest_changed, m);
	if (!s->interest)
		return -ENOMEM;
	route_import_interest(s, server_acc(s), true);
	if (s->cfg.cluster_name) {
		snprintf(m->cluster, sizeof(m->cluster), "%s", s->cfg.cluster_name);
	} else {
		/* made up, and replaced by the first peer's (as nats-server) */
		snprintf(m->cluster, sizeof(m->cluster), "%.22s", s->server_id + 1);
		m->dynamic = true;
	}
	for (size_t i = 0; i < s->cfg.routes.n && m->nurls < ROUTE_URLS_MAX; i++) {
		struct route_url *u = &m->urls[m->nurls];
		if (route_url_parse(s->cfg.routes.v[i], u) != 0) {
			log_error("routes: cannot read route URL \"%s\"", s->cfg.routes.v[i]);
			return -EINVAL;
		}
		m->nurls++;
	}
	for (int r = 0; r < s->cfg.nleaf_remotes; r++)
		for (size_t i = 0; i < s->cfg.leaf_urls[r].n && m->nurls < ROUTE_URLS_MAX; i++) {
			struct route_url *u = &m->urls[m->nurls];
			if (route_url_parse(s->cfg.leaf_urls[r].v[i], u) != 0) {
				log_error("leafnodes: cannot read remote URL \"%s\"",
				          s->cfg.leaf_urls[r].v[i]);
				return -EINVAL;
			}
			u->leaf = true;
			u->group = r;
			m->nurls++;
		}
	if (s->cfg.cluster_listen) {
		const char *host =
		    s->cfg.cluster_host && s->cfg.cluster_host[0] ? s->cfg.cluster_host : "0.0.0.0";
		int port = s->cfg.cluster_port == -1 ? 0 : s->cfg.cluster_port;
		int ret = server_listen(host, port, &m->listen_fd);
		if (ret)
			return ret;
		m->port = server_bound_port(m->listen_fd);
	}
	if (s->cfg.leaf_listen) {
		const char *host =
		    s->cfg.leaf_host && s->cfg.leaf_host[0] ? s->cfg.leaf_host : "0.0.0.0";
		int ret =
		    server_listen(host, s->cfg.leaf_port == -1 ? 0 : s->cfg.leaf_port, &m->leaf_fd);
		if (ret)
			return ret;
		m->leaf_port = server_bound_port(m->leaf_fd);
	}
	route_self_url(m);
	int ret = route_tls_new(m);
	return ret ? ret : leaf_tls_new(m);
}

void route_cluster_name(struct server *s, char *buf, size_t cap)
{
	struct route_mgr *m = s->routes;
	pthread_mutex_lock(&m->lock);
	snprintf(buf, cap, "%s", m->cluster);
	pthread_mutex_unlock(&m->lock);
}

uint64_t route_info_gen(struct server *s)
{
	return s->routes ? atomic_load_explicit(&s->routes->info_gen, memory_order_acquire) : 0;
}

/* ---- the thread: accepting and dialling ---- */

/* Hands a connected route socket to an I/O thread (round robin). */
static void route_adopt(struct route_mgr *m, int fd, int url, const char *ip, int port)
{
	struct server *s = m->s;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int loop = m->next_loop++ % s->nio;
	/* url -1: an accepted route, -2: an accepted leaf connection */
	uint64_t tag = ROUTE_ADOPT_TAG | (uint64_t)(unsigned)(url < 0 ? 0 : url + 1);
	if (url == -2 || (url >= 0 && m->urls[url].leaf))
		tag |= ROUTE_ADOPT_LEAF;
	if (route_tls_submit(m, fd, loop, tag, url >= 0 ? ip : NULL))
		return;
	if (url == -2 ? leaf_tls_accepted(m, fd, loop)
	              : url >= 0 && m->urls[url].leaf && leaf_tls_dialled(m, fd, loop, tag, url))
		return;
	if (io_loop_adopt(s->io[loop].loop, fd, tag, ip, (uint32_t)port) != 0) {
		close(fd);
		if (url >= 0) {
			pthread_mutex_lock(&m->lock);
			m->urls[url].busy = false;
			pthread_mutex_unlock(&m->lock);
		}
		return;
	}
	wake_notify(&s->io[loop].wake);
}

static void route_accept(struct route_mgr *m, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	char ip[INET6_ADDRSTRLEN] = "";
	int port = 0;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	}
	bool leaf = lfd == m->leaf_fd;
	log_debug("%s: accepted a connection from %s:%d", leaf ? "leafnodes" : "routes", ip, port);
	route_adopt(m, fd, leaf ? -2 : -1, ip, port);
}

/* A TCP connection to @u within ROUTE_DIAL_MS; -1 when it failed. */
static int route_dial(const struct route_url *u)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	char port[16];
	snprintf(port, sizeof(port), "%d", u->port);
	if (getaddrinfo(u->host, port, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t elen = sizeof(err);
	if (poll(&p, 1, ROUTE_DIAL_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* True when leaf remote @group has a connection (or one being made). */
static bool route_leaf_busy(struct route_mgr *m, int group)
{
	for (int i = 0; i < m->nurls; i++)
		if (m->urls[i].leaf && m->urls[i].group == group && m->urls[i].busy)
			return true;
	return false;
}

/* Dials the routes that are due. */
static void route_dial_due(struct route_mgr *m, uint64_t now)
{
	for (int i = 0; i < m->nurls; i++) {
		pthread_mutex_lock(&m->lock);
		struct route_url *u = &m->urls[i];
		bool due = u->port && !u->busy && now >= u->next_ns &&
		           (u->leaf ? !route_leaf_busy(m, u->group)
		                    : !route_peer_known_locked(m, u->peer_id));
		struct route_url copy = *u;
		if (due) {
			u->busy = true;
			u->tries++;
			u->next_ns =
			    now + (u->leaf ? (uint64_t)m->s->cfg.leaf_reconnect_ms * 1000000u
			                   : ROUTE_RETRY_NS);
		}
		pthread_mutex_unlock(&m->lock);
		if (!due)
			continue;
		int fd = route_dial(&copy);
		if (fd >= 0) {
			log_debug("routes: connected to %s:%d", copy.host, copy.port);
			route_adopt(m, fd, i, copy.host, copy.port);
			continue;
		}
		pthread_mutex_lock(&m->lock);
		u->busy = false;
		if (u->implicit && u->tries > m->s->cfg.cluster_connect_retries)
			u->port = 0; /* a learned route: given up (as nats-server) */
		pthread_mutex_unlock(&m->lock);
		if (copy.tries == 1 || copy.tries % 60 == 0)
			log_debug("routes: cannot reach %s:%d (try %d)", copy.host, copy.port,
			          copy.tries);
	}
}

static void *route_mgr_main(void *arg)
{
	struct route_mgr *m = arg;
	while (!atomic_load(&m->stop)) {
		struct pollfd p[3] = {{.fd = m->efd, .events = POLLIN},
		                      {.fd = m->listen_fd, .events = POLLIN},
		                      {.fd = m->leaf_fd, .events = POLLIN}};
		int n = poll(p, 3, 100); /* a negative fd is passed over */
		if (atomic_load(&m->stop))
			break;
		if (n > 0 && (p[1].revents & POLLIN))
			route_accept(m, m->listen_fd);
		if (n > 0 && (p[2].revents & POLLIN))
			route_accept(m, m->leaf_fd);
		route_dial_due(m, clock_now_ns());
	}
	return NULL;
}

int route_mgr_start(struct server *s)
{
	struct route_mgr *m = s->routes;
	if (!m)
		return 0;
	int ret = -pthread_create(&m->tid, NULL, route_mgr_main, m);
	if (ret)
		return ret;
	m->started = true;
	if (m->leaf_fd >= 0)
		log_info("listening for leaf node connections on port %d", m->leaf_port);
	if (m->listen_fd >= 0)
		log_info("listening for route connections on %s:%d (cluster %s)",
		         s->cfg.cluster_host && s->cfg.cluster_host[0] ? s->cfg.cluster_host
		                                                       : "0.0.0.0",
		         m->port, m->cluster);
	for (int r = 0; r < s->cfg.nleaf_remotes; r++)
		if (s->cfg.leaf_creds[r])
			creds_check(s->cfg.leaf_creds[r]);
	return 0;
}

void route_mgr_stop(struct server *s)
{
	struct route_mgr *m = s->routes;
	if (!m || !m->started)
		return;
	atomic_store(&m->stop, true);
	uint64_t one = 1;
	if (write(m->efd, &one, sizeof(one)) < 0)
		log_debug("routes: wake-up: %s", strerror(errno));
	pthread_join(m->tid, NULL);
	m->started = false;
	route_tls_stop(s); /* nothing is submitted any more */
}

void route_mgr_free(struct server *s)
{
	struct route_mgr *m = s->routes;
	if (m) {
		route_mgr_stop(s);
		route_tls_free(m);
		leaf_tls_free(m);
		if (m->listen_fd >= 0)
			close(m->listen_fd);
		if (m->leaf_fd >= 0)
			close(m->leaf_fd);
		if (m->efd >= 0)
			close(m->efd);
		for (int i = 0; i < ROUTE_PEERS_MAX; i++)
			for (uint32_t k = 0; k < m->peers[i].nout; k++)
				free(m->peers[i].outbox[k]);
		pthread_mutex_destroy(&m->lock);
		free(m);
		s->routes = NULL;
	}
	interest_free(s->interest);
	s->interest = NULL;
}
