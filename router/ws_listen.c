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
#include "io/tls/tls.h"
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
	int next;                /* the I/O thread the next socket goes to */
	struct tls_service *tls; /* wss://: the handshakes, or NULL */
	pthread_t tid;
	bool started;
	atomic_bool stop;
};

/* What Go's HTTP server answers a plaintext request on a TLS port, as
 * nats-server's wss:// listener does (then it closes). */
#define WS_LISTEN_PLAIN_REPLY                                                                      \
	"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

/* On the TLS handshake thread: nothing before the handshake (the client
 * sends its upgrade request inside TLS); the tag carries the WebSocket mark. */
static size_t ws_listen_tls_info(void *ctx, const char *peer_ip, char *buf, size_t cap,
                                 uint64_t *tag)
{
	(void)ctx, (void)peer_ip, (void)buf, (void)cap;
	*tag = CLIENT_ADOPT_WS | client_new_cid();
	return TLS_INFO_NONE;
}

/* On the TLS handshake thread; the loops outlive it (ws_listen_stop_tls). */
static int ws_listen_tls_ready(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
                               uint32_t peer_port, enum tls_path path)
{
	(void)path;
	return server_adopt(ctx, loop, fd, tag, peer_ip, peer_port);
}

static const struct tls_ops ws_listen_tls_ops = {
    .info = ws_listen_tls_info,
    .ready = ws_listen_tls_ready,
};

/* Loads websocket { tls { } } and starts its service into w->tls. The
 * handshake's deadline is handshake_timeout when set, else the block's
 * timeout (nats-server sets none but handshake_timeout). */
static int ws_listen_tls_new(struct ws_listen *w)
{
	struct server *s = w->s;
	struct tls_config tc = config_tls_settings(&s->cfg.ws_tls);
	if (s->cfg.ws_handshake_timeout_ms)
		tc.timeout_ms = s->cfg.ws_handshake_timeout_ms;
	tc.no_ktls = !s->cfg.tls_ktls;
	tc.max_handshakes = s->cfg.max_connections;
	tc.plain_reply = WS_LISTEN_PLAIN_REPLY;
	char why[512];
	struct tls_ctx *ctx = NULL;
	int ret = tls_ctx_new(&tc, &ctx, why, sizeof(why));
	if (ret) {
		log_error("websocket: %s", why);
		return ret;
	}
	return tls_service_new(ctx, &tc, &ws_listen_tls_ops, s, &w->tls);
}

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
	return s->cfg.ws_tls.on ? ws_listen_tls_new(w) : 0;
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
	if (w->tls) {
		tls_service_submit(w->tls, fd, io); /* closes @fd when it cannot take it */
		return;
	}
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
	log_info("listening for websocket clients on %s://%s:%d", w->tls ? "wss" : "ws",
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

void ws_listen_stop_tls(struct server *s)
{
	if (s->ws && s->ws->tls)
		tls_service_stop(s->ws->tls);
}

void ws_listen_free(struct server *s)
{
	struct ws_listen *w = s->ws;
	if (!w)
		return;
	ws_listen_stop(s);
	tls_service_free(w->tls);
	if (w->fd >= 0)
		close(w->fd);
	if (w->efd >= 0)
		close(w->efd);
	free(w);
	s->ws = NULL;
}
