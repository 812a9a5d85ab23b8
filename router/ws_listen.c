/* The WebSocket listener thread: accept, then adopt into an I/O thread.
 * A thread of its own rather than the route manager's (which exists only
 * with a cluster or leaf nodes, and with it their interest tracking) or a
 * second multishot accept in every io/loop: io_loop_adopt() already hands
 * a socket to a loop with a tag, and WebSocket clients connect rarely. */
#define _GNU_SOURCE /* accept4 */
#include "router/ws_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "io/loop/loop.h"
#include "router/client.h"
#include "router/iothr.h"
#include "router/server.h"
#include "router/server_int.h"

/* Owner: see ws_listen.h. */
struct ws_listen {
	struct server *s;
	int fd;  /* listening socket; closed by the thread in lame duck mode */
	int efd; /* eventfd: wakes the thread to stop */
	int port;
	int next; /* the I/O thread the next socket goes to */
	pthread_t tid;
	bool started;
	atomic_bool stop;
};

int ws_listen_new(struct server *s)
{
	if (!s->cfg.ws_listen)
		return 0;
	struct ws_listen *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	s->ws = w;
	w->s = s;
	w->fd = -1;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		return -errno;
	const char *host = s->cfg.ws_host && s->cfg.ws_host[0] ? s->cfg.ws_host : "0.0.0.0";
	int ret = server_listen(host, s->cfg.ws_port == -1 ? 0 : s->cfg.ws_port, &w->fd);
	if (ret)
		return ret;
	w->port = server_bound_port(w->fd);
	return 0;
}

int ws_listen_port(const struct server *s)
{
	return s->ws ? s->ws->port : 0;
}

/* Accepts one socket and gives it to the next I/O thread. */
static void ws_listen_accept(struct ws_listen *w)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(w->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
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
	struct server *s = w->s;
	int io = w->next;
	w->next = (w->next + 1) % s->nio;
	uint64_t tag = CLIENT_ADOPT_WS | client_new_cid();
	if (io_loop_adopt(s->io[io].loop, fd, tag, ip, (uint32_t)port) != 0) {
		log_warn("websocket: refusing a connection from %s:%d: out of memory", ip, port);
		close(fd);
	}
}

static void *ws_listen_main(void *arg)
{
	struct ws_listen *w = arg;
	struct server *s = w->s;
	while (!atomic_load(&w->stop)) {
		struct pollfd p[2] = {{.fd = w->efd, .events = POLLIN},
		                      {.fd = w->fd, .events = POLLIN}};
		int n = poll(p, 2, 100); /* a negative fd is passed over */
		if (atomic_load(&w->stop))
			break;
		if (w->fd >= 0 && atomic_load(&s->phase) >= SERVER_LAME_DUCK) {
			close(w->fd); /* lame duck mode: refuse new clients */
			w->fd = -1;
			continue;
		}
		if (n > 0 && (p[1].revents & POLLIN))
			ws_listen_accept(w);
	}
	return NULL;
}

int ws_listen_start(struct server *s)
{
	struct ws_listen *w = s->ws;
	if (!w)
		return 0;
	int ret = -pthread_create(&w->tid, NULL, ws_listen_main, w);
	if (ret)
		return ret;
	w->started = true;
	log_info("listening for websocket clients on ws://%s:%d",
	         s->cfg.ws_host && s->cfg.ws_host[0] ? s->cfg.ws_host : "0.0.0.0", w->port);
	return 0;
}

void ws_listen_stop(struct server *s)
{
	struct ws_listen *w = s->ws;
	if (!w || !w->started)
		return;
	atomic_store(&w->stop, true);
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_debug("websocket: wake-up: %s", strerror(errno));
	pthread_join(w->tid, NULL);
	w->started = false;
}

void ws_listen_free(struct server *s)
{
	struct ws_listen *w = s->ws;
	if (!w)
		return;
	ws_listen_stop(s);
	if (w->fd >= 0)
		close(w->fd);
	if (w->efd >= 0)
		close(w->efd);
	free(w);
	s->ws = NULL;
}
