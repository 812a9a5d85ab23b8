/* TLS on routes (cluster { tls { } }), as nats-server 2.9.10 does it: the
 * handshake comes before any INFO; the side that dialled is the TLS client
 * and checks the peer's certificate against ca_file and the host it
 * dialled (unless insecure), the side that accepted is the TLS server and
 * requires the peer's certificate, signed by ca_file. A socket goes from
 * the route manager to a TLS service of its own (io/tls, link mode) and,
 * once the handshake is done, to an I/O thread as a plaintext one would. */
#include <errno.h>
#include <pthread.h>

#include "core/log.h"
#include "io/loop/loop.h"
#include "io/tls/tls.h"
#include "router/iothr.h"
#include "router/route_int.h"
#include "router/server.h"

/* The URL index a tag was made for, or -1 (accepted). */
static int route_tls_url(uint64_t tag)
{
	return (int)(tag & 0xffffffffu) - 1;
}

/* On the handshake thread; the loops outlive the service (route_tls_stop). */
static int route_tls_ready(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
                           uint32_t peer_port, enum tls_path path)
{
	struct route_mgr *m = ctx;
	(void)path;
	return server_adopt(m->s, loop, fd, tag, peer_ip, peer_port);
}

/* The handshake failed: a URL we dialled may be dialled again. */
static void route_tls_failed(void *ctx, uint64_t tag)
{
	struct route_mgr *m = ctx;
	int url = route_tls_url(tag);
	if (url < 0 || url >= m->nurls)
		return;
	pthread_mutex_lock(&m->lock);
	m->urls[url].busy = false;
	pthread_mutex_unlock(&m->lock);
}

/* Accepted connections get no INFO before the handshake. */
static size_t route_tls_info(void *ctx, const char *peer_ip, char *buf, size_t cap, uint64_t *tag)
{
	(void)ctx, (void)peer_ip, (void)buf, (void)cap, (void)tag;
	return TLS_INFO_NONE;
}

static const struct tls_ops route_tls_ops = {
    .info = route_tls_info,
    .ready = route_tls_ready,
    .failed = route_tls_failed,
};

int route_tls_new(struct route_mgr *m)
{
	struct server *s = m->s;
	if (!s->cfg.cluster_tls.on)
		return 0;
	struct tls_config tc = config_tls_settings(&s->cfg.cluster_tls);
	tc.link = true;
	tc.no_ktls = !s->cfg.tls_ktls;
	tc.max_handshakes = 2 * ROUTE_URLS_MAX;
	char why[512];
	struct tls_ctx *ctx = NULL;
	int ret = tls_ctx_new(&tc, &ctx, why, sizeof(why));
	if (ret) {
		log_error("cluster: %s", why);
		return ret;
	}
	return tls_service_new(ctx, &tc, &route_tls_ops, m, &m->tls);
}

bool route_tls_submit(struct route_mgr *m, int fd, int loop, uint64_t tag, const char *host)
{
	if (!m->tls || (tag & ROUTE_ADOPT_LEAF))
		return false;
	log_debug("routes: TLS handshake as %s with %s", host ? "client" : "server",
	          host ? host : "a peer that dialled");
	tls_service_submit_link(m->tls, fd, loop, tag, host); /* failed() when it cannot */
	return true;
}

void route_tls_stop(struct server *s)
{
	if (s->routes && s->routes->tls)
		tls_service_stop(s->routes->tls);
	if (s->routes)
		leaf_tls_stop(s->routes);
}

void route_tls_free(struct route_mgr *m)
{
	tls_service_free(m->tls);
	m->tls = NULL;
}
