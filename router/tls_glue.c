/* The router's side of the TLS service: INFO before the handshake, and the
 * hand-over of finished connections to the I/O thread that accepted them. */
#include "router/tls_glue.h"

#include <errno.h>
#include <stdio.h>

#include "core/log.h"
#include "io/loop/loop.h"
#include "io/tls/tls.h"
#include "router/client.h"
#include "router/iothr.h"
#include "router/server.h"

/* On the handshake thread. */
static size_t tls_glue_info(void *ctx, const char *peer_ip, char *buf, size_t cap, uint64_t *tag)
{
	struct server *s = ctx;
	*tag = client_new_cid();
	return client_info(s, *tag, peer_ip, buf, cap);
}

/* On the handshake thread: the loop exists (it submitted the socket, after
 * creating its loop) and is freed only after tls_glue_stop() returned. */
static int tls_glue_ready(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
                          uint32_t peer_port, enum tls_path path)
{
	struct server *s = ctx;
	(void)path;
	if (loop < 0 || loop >= s->nio || !s->io[loop].loop)
		return -EINVAL;
	return io_loop_adopt(s->io[loop].loop, fd, tag, peer_ip, peer_port);
}

static const struct tls_ops tls_glue_ops = {
    .info = tls_glue_info,
    .ready = tls_glue_ready,
};

int tls_glue_start(struct server *s)
{
	if (!s->cfg.tls)
		return 0;
	struct tls_config tc = {
	    .cert_file = s->cfg.tls_cert,
	    .key_file = s->cfg.tls_key,
	    .ca_file = s->cfg.tls_ca,
	    .verify = s->cfg.tls_verify,
	    .no_ktls = !s->cfg.tls_ktls,
	    .timeout_ms = s->cfg.tls_timeout_ms,
	    .max_handshakes = s->cfg.max_connections,
	    .ciphers = (const char *const *)s->cfg.tls_ciphers.v,
	    .nciphers = s->cfg.tls_ciphers.n,
	    .curves = (const char *const *)s->cfg.tls_curves.v,
	    .ncurves = s->cfg.tls_curves.n,
	};
	char why[512];
	struct tls_ctx *ctx = NULL;
	int ret = tls_ctx_new(&tc, &ctx, why, sizeof(why));
	if (ret) {
		log_error("%s", why);
		return ret;
	}
	return tls_service_new(ctx, &tc, &tls_glue_ops, s, &s->tls);
}

bool tls_glue_on_accept(void *ctx, int fd)
{
	struct iothr *t = ctx;
	/* The service closes @fd when it cannot take it. */
	tls_service_submit(t->srv->tls, fd, t->index);
	return true;
}

void tls_glue_stop(struct server *s)
{
	if (s->tls)
		tls_service_stop(s->tls);
}

void tls_glue_free(struct server *s)
{
	tls_service_free(s->tls);
	s->tls = NULL;
}
