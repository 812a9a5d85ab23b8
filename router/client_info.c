/* The INFO a client gets: nats-server's fields, the cluster's URLs, a nonce
 * for NKey logins. */
#include <stdio.h>

#include "io/proto/connect.h"
#include "router/auth.h"
#include "router/client.h"
#include "router/nkey.h"
#include "router/route.h"
#include "router/server.h"

static size_t client_info_auth(struct server *s, const struct live *lv, uint64_t cid,
                               const char *peer_ip, bool ldm, bool auth_req, char *buf, size_t cap)
{
	struct connect_info ci = {
	    .server_id = s->server_id,
	    .server_name = s->server_name,
	    /* The nats-server release whose behaviour clients see, so they turn
	     * on what they should (docs/OPERATIONS.md); ringbus's own apart. */
	    .version = CONFIG_NATS_VERSION,
	    .ringbus_version = RINGBUS_VERSION,
	    .host = s->cfg.host,
	    .port = s->port,
	    .headers = true,
	    .auth_required = auth_req,
	    .tls_required = s->cfg.tls,
	    .tls_verify = s->cfg.tls && lv->tls_verify,
	    .max_payload = lv->max_payload,
	    .client_id = cid,
	    .client_ip = peer_ip,
	    .ldm = ldm,
	};
	char urls[2048], cluster[64];
	if (s->routes) {
		route_cluster_name(s, cluster, sizeof(cluster));
		ci.cluster = cluster;
		if (route_connect_urls(s, urls, sizeof(urls)))
			ci.connect_urls = urls;
	}
	char nonce[NKEY_NONCE_LEN + 1];
	if (auth_has_nkeys(lv->auth)) {
		nkey_nonce(s->nonce_key, cid, nonce);
		ci.nonce = nonce;
	}
	return connect_info_encode(buf, cap, &ci);
}

size_t client_info(struct server *s, const struct live *lv, uint64_t cid, const char *peer_ip,
                   bool ldm, char *buf, size_t cap)
{
	bool req = auth_required(lv->auth) && !auth_has_no_auth_user(lv->auth);
	return client_info_auth(s, lv, cid, peer_ip, ldm, req, buf, cap);
}

/* nats-server 2.9.10 tells a WebSocket client that authentication is
 * required whenever the top level or websocket { } asks for it, a
 * no_auth_user notwithstanding (its TCP clients are told otherwise). */
size_t client_info_ws(struct server *s, const struct live *lv, uint64_t cid, const char *peer_ip,
                      char *buf, size_t cap)
{
	bool req = auth_required(lv->auth) || auth_required(server_live_auth(lv, true));
	return client_info_auth(s, lv, cid, peer_ip, false, req, buf, cap);
}
