/* TLS on leaf node connections, as nats-server 2.9.10 does it: the hub sends
 * its INFO in plaintext, with "tls_required":true, and waits for the leaf's
 * TLS handshake (leafnodes { tls { } }: the leaf's certificate is required
 * only with verify); a leaf whose remote has tls { } reads that INFO, then
 * is the TLS client, checking the hub's certificate against ca_file and the
 * host it dialled (unless insecure). The INFO read before the handshake is
 * kept in the remote URL's slot until its connection opens on an I/O
 * thread (leaf_tls_take_info), which answers it as it would a plaintext one. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/tls/tls.h"
#include "router/client.h"
#include "router/iothr.h"
#include "router/route_int.h"
#include "router/server.h"

#define LEAF_TLS_INFO_MAX (64 * 1024) /* a hub's INFO, at most */

/* On a handshake thread; the loops outlive the services (leaf_tls_stop). */
static int leaf_tls_ready(void *ctx, int loop, int fd, uint64_t tag, const char *peer_ip,
                          uint32_t peer_port, enum tls_path path)
{
	struct route_mgr *m = ctx;
	(void)path;
	return server_adopt(m->s, loop, fd, tag, peer_ip, peer_port);
}

/* The hub's INFO for a leaf that joins, before its handshake: the
 * connection id goes in the tag, so that the link does not send it again. */
static size_t leaf_tls_hub_info(void *ctx, const char *peer_ip, char *buf, size_t cap,
                                uint64_t *tag)
{
	struct route_mgr *m = ctx;
	(void)peer_ip;
	uint64_t cid = client_new_cid() & (ROUTE_ADOPT_INFO - 1);
	*tag = ROUTE_ADOPT_TAG | ROUTE_ADOPT_LEAF | ROUTE_ADOPT_INFO | cid;
	return route_mgr_hub_info(m->s, cid, false, buf, cap);
}

static const struct tls_ops leaf_tls_hub_ops = {
    .info = leaf_tls_hub_info,
    .ready = leaf_tls_ready,
};

/* The handshake with a hub failed or timed out: its URL may be dialled
 * again, and the INFO kept for it goes. */
static void leaf_tls_failed(void *ctx, uint64_t tag)
{
	struct route_mgr *m = ctx;
	int url = (int)(tag & 0xffffffffu) - 1;
	if (url < 0 || url >= m->nurls)
		return;
	pthread_mutex_lock(&m->lock);
	struct route_url *u = &m->urls[url];
	u->busy = false;
	free(u->info);
	u->info = NULL;
	int tries = u->tries;
	pthread_mutex_unlock(&m->lock);
	if (tries == 1 || tries % 60 == 0)
		log_error("leafnodes: TLS handshake with hub %s:%d failed (try %d; -D says why)",
		          u->host, u->port, tries);
}

static const struct tls_ops leaf_tls_remote_ops = {
    .info = NULL, /* links send nothing before the handshake */
    .ready = leaf_tls_ready,
    .failed = leaf_tls_failed,
};

/* One service: a context from @t, in link mode (dialling) or not (the hub). */
static int leaf_tls_service(struct route_mgr *m, const struct config_tls *t, bool link,
                            const struct tls_ops *ops, struct tls_service **out)
{
	struct tls_config tc = config_tls_settings(t);
	tc.link = link;
	tc.no_ktls = !m->s->cfg.tls_ktls;
	tc.max_handshakes = link ? 4 : 1024;
	tc.plain_reply = ""; /* a plaintext leaf is closed without a word, as by nats-server */
	char why[512];
	struct tls_ctx *ctx = NULL;
	int ret = tls_ctx_new(&tc, &ctx, why, sizeof(why));
	if (ret) {
		log_error("leafnodes: %s", why);
		return ret;
	}
	return tls_service_new(ctx, &tc, ops, m, out);
}

int leaf_tls_new(struct route_mgr *m)
{
	const struct config *c = &m->s->cfg;
	int ret = 0;
	if (c->leaf_listen && c->leaf_tls.on)
		ret = leaf_tls_service(m, &c->leaf_tls, false, &leaf_tls_hub_ops, &m->leaf_hub_tls);
	for (int i = 0; i < c->nleaf_remotes && !ret; i++)
		if (c->leaf_remote_tls[i].on)
			ret = leaf_tls_service(m, &c->leaf_remote_tls[i], true,
			                       &leaf_tls_remote_ops, &m->leaf_tls[i]);
	return ret;
}

bool leaf_tls_accepted(struct route_mgr *m, int fd, int loop)
{
	if (!m->leaf_hub_tls)
		return false;
	tls_service_submit(m->leaf_hub_tls, fd, loop); /* closes @fd when it cannot */
	return true;
}

/* Reads the hub's first line from blocking socket @fd within @timeout_ms,
 * and no byte more. Returns its JSON (owned), or NULL after logging. */
static char *leaf_tls_read_info(int fd, const struct route_url *u, uint32_t timeout_ms)
{
	char *buf = malloc(LEAF_TLS_INFO_MAX);
	size_t have = 0;
	uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000u;
	const char *why = "no INFO within the TLS timeout";
	while (buf && have < LEAF_TLS_INFO_MAX - 1) {
		uint64_t now = clock_now_ns();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) != 1)
			break;
		/* look, then take up to the end of the line: the handshake's
		 * bytes are not ours to read */
		ssize_t n = recv(fd, buf + have, LEAF_TLS_INFO_MAX - 1 - have, MSG_PEEK);
		if (n <= 0) {
			why = "the hub closed the connection";
			break;
		}
		char *nl = memchr(buf + have, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - (buf + have)) + 1 : (size_t)n;
		if (recv(fd, buf + have, take, 0) != (ssize_t)take)
			break;
		have += take;
		if (!nl)
			continue;
		buf[have] = 0;
		char *json = buf + 4;
		if (strncasecmp(buf, "INFO", 4) != 0 || (*json != ' ' && *json != '\t')) {
			log_error("leafnodes: hub %s:%d: expected INFO, got \"%.*s\"", u->host,
			          u->port, (int)(have > 80 ? 80 : have - 2), buf);
			free(buf);
			return NULL;
		}
		json += strspn(json, " \t");
		size_t len = strlen(json);
		while (len && (json[len - 1] == '\n' || json[len - 1] == '\r' ||
		               json[len - 1] == ' ' || json[len - 1] == '\t'))
			len--;
		memmove(buf, json, len);
		buf[len] = 0;
		return buf;
	}
	if (buf && have >= LEAF_TLS_INFO_MAX - 1)
		why = "INFO too long";
	log_error("leafnodes: hub %s:%d: %s", u->host, u->port, buf ? why : "out of memory");
	free(buf);
	return NULL;
}

bool leaf_tls_dialled(struct route_mgr *m, int fd, int loop, uint64_t tag, int url)
{
	struct route_url *u = &m->urls[url];
	struct tls_service *svc = m->leaf_tls[u->group];
	if (!svc)
		return false;
	const struct config_tls *t = &m->s->cfg.leaf_remote_tls[u->group];
	char *info = leaf_tls_read_info(fd, u, t->timeout_ms ? t->timeout_ms : 2000);
	pthread_mutex_lock(&m->lock);
	free(u->info);
	u->info = info;
	if (!info)
		u->busy = false;
	pthread_mutex_unlock(&m->lock);
	if (!info) {
		close(fd);
		return true;
	}
	log_debug("leafnodes: TLS handshake with hub %s:%d", u->host, u->port);
	tls_service_submit_link(svc, fd, loop, tag, u->host); /* failed() when it cannot */
	return true;
}

char *leaf_tls_take_info(struct server *s, int url)
{
	struct route_mgr *m = s->routes;
	if (!m || url < 0 || url >= m->nurls)
		return NULL;
	pthread_mutex_lock(&m->lock);
	char *info = m->urls[url].info;
	m->urls[url].info = NULL;
	pthread_mutex_unlock(&m->lock);
	return info;
}

void leaf_tls_stop(struct route_mgr *m)
{
	if (m->leaf_hub_tls)
		tls_service_stop(m->leaf_hub_tls);
	for (int i = 0; i < CONFIG_LEAF_REMOTES_MAX; i++)
		if (m->leaf_tls[i])
			tls_service_stop(m->leaf_tls[i]);
}

void leaf_tls_free(struct route_mgr *m)
{
	tls_service_free(m->leaf_hub_tls);
	m->leaf_hub_tls = NULL;
	for (int i = 0; i < CONFIG_LEAF_REMOTES_MAX; i++) {
		tls_service_free(m->leaf_tls[i]);
		m->leaf_tls[i] = NULL;
	}
	for (int i = 0; i < m->nurls; i++) {
		free(m->urls[i].info);
		m->urls[i].info = NULL;
	}
}
