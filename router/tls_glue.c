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

/* On the handshake thread, which holds the settings' generation it reads. */
static size_t tls_glue_info(void *ctx, const char *peer_ip, char *buf, size_t cap, uint64_t *tag)
{
	struct server *s = ctx;
	*tag = client_new_cid();
	const struct server_gen *g = server_gen_hold(s);
	size_t n = client_info(s, g->live, *tag, peer_ip, false, buf, cap);
	server_gen_release(s, g);
	return n;
}

/* On the handshake thread: the loop exists (it submitted the socket, after
 * creating its loop) and is freed only after tls_glue_stop() returned. */
static int tls_glue_ready(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
                          uint32_t peer_port, enum tls_path path)
{
	(void)path;
	return server_adopt(ctx, loop, fd, tag, peer_ip, peer_port);
}

static const struct tls_ops tls_glue_ops = {
    .info = tls_glue_info,
    .ready = tls_glue_ready,
};

/* The TLS settings of @c, borrowed by the returned struct. */
static struct tls_config tls_glue_config(const struct config *c)
{
	return (struct tls_config){
	    .cert_file = c->tls_cert,
	    .key_file = c->tls_key,
	    .ca_file = c->tls_ca,
	    .verify = c->tls_verify,
	    .no_ktls = !c->tls_ktls,
	    .timeout_ms = c->tls_timeout_ms,
	    .max_handshakes = c->max_connections,
	    .ciphers = (const char *const *)c->tls_ciphers.v,
	    .nciphers = c->tls_ciphers.n,
	    .curves = (const char *const *)c->tls_curves.v,
	    .ncurves = c->tls_curves.n,
	};
}

int tls_glue_start(struct server *s)
{
	if (!s->cfg.tls)
		return 0;
	struct tls_config tc = tls_glue_config(&s->cfg);
	char why[512];
	struct tls_ctx *ctx = NULL;
	int ret = tls_ctx_new(&tc, &ctx, why, sizeof(why));
	if (ret) {
		log_error("%s", why);
		return ret;
	}
	return tls_service_new(ctx, &tc, &tls_glue_ops, s, &s->tls);
}

int tls_glue_reload(struct server *s, const struct config *c)
{
	if (!s->tls || !c->tls)
		return 0;
	struct tls_config tc = tls_glue_config(c);
	char why[512];
	struct tls_ctx *ctx = NULL;
	int ret = tls_ctx_new(&tc, &ctx, why, sizeof(why));
	if (ret) {
		log_error("reload: %s", why);
		return ret;
	}
	tls_service_set_ctx(s->tls, ctx, c->tls_timeout_ms);
	log_info("reload: TLS certificates and settings in force for new connections");
	return 0;
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
