/* The table of peers (router/route_int.h): handshakes, gossip, client URLs,
 * and the INFO and CONNECT a route sends. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/loop/loop.h"
#include "io/proto/proto.h"
#include "router/iothr.h"
#include "router/account.h"
#include "router/auth.h"
#include "router/route_int.h"
#include "router/server.h"

/* ---- what a route sends ---- */

/* A JSON string of @s (ours and peers' names: quotes and backslashes
 * escaped, control characters dropped). */
static size_t json_str(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	if (cap < 3)
		return 0;
	dst[n++] = '"';
	for (; *s && n + 3 < cap; s++) {
		if ((unsigned char)*s < 0x20)
			continue;
		if (*s == '"' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = *s;
	}
	dst[n++] = '"';
	dst[n] = 0;
	return n;
}

/* "INFO {...}" of a node as a route sees it: ours, or a peer's relayed with
 * its address in "ip". Returns its length, 0 when it did not fit. */
/* @tls: routes use TLS (INFO says so, as nats-server's does). */
static size_t route_info_of(char *buf, size_t cap, const struct route_hello *h, bool ours, bool tls)
{
	char id[ROUTE_ID_MAX + 8], name[ROUTE_ID_MAX + 8], cl[ROUTE_ID_MAX + 8],
	    host[ROUTE_HOST_MAX + 8];
	json_str(id, sizeof(id), h->id);
	json_str(name, sizeof(name), h->name);
	json_str(cl, sizeof(cl), h->cluster);
	json_str(host, sizeof(host), h->host);
	int n = snprintf(
	    buf, cap,
	    "INFO {\"server_id\":%s,\"server_name\":%s,\"version\":\"%s\","
	    "\"proto\":2,\"go\":\"ringbus\",\"host\":%s,\"port\":%d,"
	    "\"headers\":true%s,\"max_payload\":%u%s%s%s,\"cluster\":%s%s%s%s%s}%s\r\n",
	    id, name, CONFIG_NATS_VERSION, host, h->port,
	    tls ? ",\"tls_required\":true,\"tls_verify\":true" : "", ROUTE_MAX_PAYLOAD,
	    h->ip[0] ? ",\"ip\":\"" : "", h->ip[0] ? h->ip : "", h->ip[0] ? "\"" : "", cl,
	    h->dynamic ? ",\"cluster_dynamic\":true" : "", h->curls[0] ? ",\"connect_urls\":[" : "",
	    h->curls, h->curls[0] ? "]" : "", ours ? " " : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void route_hello_self(struct route_mgr *m, struct route_hello *h)
{
	struct server *s = m->s;
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", s->server_id);
	snprintf(h->name, sizeof(h->name), "%s", s->server_name);
	snprintf(h->cluster, sizeof(h->cluster), "%s", m->cluster);
	h->dynamic = m->dynamic;
	snprintf(h->host, sizeof(h->host), "%s",
	         s->cfg.cluster_host && s->cfg.cluster_host[0] ? s->cfg.cluster_host : "0.0.0.0");
	h->port = m->port;
	if (!s->cfg.cluster_no_advertise)
		snprintf(h->curls, sizeof(h->curls), "%s", m->self_url);
}

size_t route_mgr_info(struct server *s, char *buf, size_t cap)
{
	struct route_mgr *m = s->routes;
	struct route_hello h;
	pthread_mutex_lock(&m->lock);
	route_hello_self(m, &h);
	pthread_mutex_unlock(&m->lock);
	return route_info_of(buf, cap, &h, true, s->cfg.cluster_tls.on);
}

size_t route_mgr_connect(struct server *s, int url, char *buf, size_t cap)
{
	struct route_mgr *m = s->routes;
	char id[ROUTE_ID_MAX + 8], cl[ROUTE_ID_MAX + 8], user[300] = "", pass[300] = "";
	pthread_mutex_lock(&m->lock);
	json_str(id, sizeof(id), s->server_id);
	json_str(cl, sizeof(cl), m->cluster);
	if (url >= 0 && m->urls[url].user[0]) {
		char u[280], p[280];
		json_str(u, sizeof(u), m->urls[url].user);
		json_str(p, sizeof(p), m->urls[url].pass);
		snprintf(user, sizeof(user), ",\"user\":%s", u);
		snprintf(pass, sizeof(pass), ",\"pass\":%s", p);
	}
	bool dynamic = m->dynamic;
	pthread_mutex_unlock(&m->lock);
	int n = snprintf(buf, cap,
	                 "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false%s%s,"
	                 "\"tls_required\":%s,\"headers\":true,\"name\":%s,\"cluster\":%s%s}\r\n",
	                 user, pass, s->cfg.cluster_tls.on ? "true" : "false", id, cl,
	                 dynamic ? ",\"cluster_dynamic\":true" : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t route_mgr_leaf_connect(struct server *s, int url, const char *auth, char *buf, size_t cap)
{
	struct route_mgr *m = s->routes;
	char id[ROUTE_ID_MAX + 8], name[ROUTE_ID_MAX + 8], user[300] = "", pass[300] = "";
	pthread_mutex_lock(&m->lock);
	json_str(id, sizeof(id), s->server_id);
	json_str(name, sizeof(name), s->server_name);
	if (m->urls[url].user[0]) {
		char u[280], p[280];
		json_str(u, sizeof(u), m->urls[url].user);
		json_str(p, sizeof(p), m->urls[url].pass);
		snprintf(user, sizeof(user), ",\"user\":%s", u);
		snprintf(pass, sizeof(pass), ",\"pass\":%s", p);
	}
	bool tls = s->cfg.leaf_remote_tls[m->urls[url].group].on;
	pthread_mutex_unlock(&m->lock);
	/* a leaf without a cluster of its own names its cluster after itself,
	 * as nats-server does */
	int n =
	    snprintf(buf, cap,
	             "CONNECT {\"version\":\"%s\",\"tls_required\":%s%s%s%s,"
	             "\"server_id\":%s,\"name\":%s,\"cluster\":%s,\"headers\":true}\r\n",
	             CONFIG_NATS_VERSION, tls ? "true" : "false", auth, user, pass, id, name, name);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t route_mgr_hub_info(struct server *s, uint64_t cid, bool connect_info, char *buf, size_t cap)
{
	struct route_mgr *m = s->routes;
	char id[ROUTE_ID_MAX + 8], name[ROUTE_ID_MAX + 8], cl[ROUTE_ID_MAX + 8];
	pthread_mutex_lock(&m->lock);
	json_str(id, sizeof(id), s->server_id);
	json_str(name, sizeof(name), s->server_name);
	json_str(cl, sizeof(cl), m->cluster);
	bool cluster = s->cfg.cluster_listen || s->cfg.routes.n;
	pthread_mutex_unlock(&m->lock);
	const char *host =
	    s->cfg.leaf_host && s->cfg.leaf_host[0] && strcmp(s->cfg.leaf_host, "0.0.0.0")
	        ? s->cfg.leaf_host
	        : "127.0.0.1";
	const struct config_tls *t = &s->cfg.leaf_tls;
	/* nats-server's keys: a leaf wants a client_id and leafnode_urls */
	int n = snprintf(buf, cap,
	                 "INFO {\"server_id\":%s,\"server_name\":%s,\"version\":\"%s\",\"proto\":1,"
	                 "\"go\":\"ringbus\",\"host\":\"%s\",\"port\":%d,\"headers\":true,"
	                 "\"auth_required\":true%s%s,\"max_payload\":%u,\"client_id\":%llu,"
	                 "\"info_on_connect\":true%s%s,\"leafnode_urls\":[\"%s:%d\"]%s} \r\n",
	                 id, name, CONFIG_NATS_VERSION, host, m->leaf_port,
	                 t->on ? ",\"tls_required\":true" : "",
	                 t->on && t->verify ? ",\"tls_verify\":true" : "", ROUTE_MAX_PAYLOAD,
	                 (unsigned long long)cid, cluster ? ",\"cluster\":" : "", cluster ? cl : "",
	                 host, m->leaf_port,
	                 connect_info ? ",\"connect_info\":true,\"remote_account\":\"$G\"" : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void route_mgr_lds(struct server *s, char *buf, size_t cap)
{
	snprintf(buf, cap, "$LDS.%s", s->server_id + 1);
}

void route_mgr_delay(struct server *s, int url, uint64_t delay_ns)
{
	struct route_mgr *m = s->routes;
	pthread_mutex_lock(&m->lock);
	if (url >= 0 && url < m->nurls)
		m->urls[url].next_ns = clock_now_ns() + delay_ns;
	pthread_mutex_unlock(&m->lock);
}

/* A leaf logging in to our listener: the single user, or one of users
 * (then bound to that user's account), or anyone when neither is set. */
bool route_mgr_leaf_auth(struct server *s, const char *user, const char *pass, uint16_t *acc)
{
	const struct config *c = &s->cfg;
	const char *account = c->leaf_auth_account;
	bool ok = true;
	if (c->nleaf_users) {
		const struct config_user *u = NULL;
		for (int i = 0; user && i < c->nleaf_users && !u; i++)
			if (!strcmp(c->leaf_users[i].name, user))
				u = &c->leaf_users[i];
		ok = u && auth_match(u->password ? u->password : "", pass);
		account = u ? u->account : NULL;
	} else if (c->leaf_user) {
		ok = user && !strcmp(user, c->leaf_user) &&
		     auth_match(c->leaf_pass ? c->leaf_pass : "", pass);
	}
	int i = account ? acc_find(server_acc(s), account) : 0;
	*acc = i > 0 ? (uint16_t)i : ACC_GLOBAL;
	return ok;
}

bool route_mgr_auth_required(struct server *s)
{
	return s->cfg.cluster_user != NULL;
}

bool route_mgr_auth_ok(struct server *s, const char *user, const char *pass)
{
	if (!s->cfg.cluster_user)
		return true;
	return user && pass && !strcmp(user, s->cfg.cluster_user) &&
	       !strcmp(pass, s->cfg.cluster_pass ? s->cfg.cluster_pass : "");
}

/* ---- reading a peer's INFO ---- */

static void json_copy(char *dst, size_t cap, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	dst[0] = 0;
	if (cJSON_IsString(v))
		snprintf(dst, cap, "%s", v->valuestring);
}

bool route_hello_parse(struct route_hello *h, const char *json, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return false;
	}
	memset(h, 0, sizeof(*h));
	json_copy(h->id, sizeof(h->id), o, "server_id");
	json_copy(h->name, sizeof(h->name), o, "server_name");
	json_copy(h->cluster, sizeof(h->cluster), o, "cluster");
	json_copy(h->host, sizeof(h->host), o, "host");
	json_copy(h->ip, sizeof(h->ip), o, "ip");
	h->dynamic = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cluster_dynamic"));
	h->headers = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "headers"));
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(o, "port");
	h->port = cJSON_IsNumber(port) ? port->valueint : 0;
	const cJSON *u, *urls = cJSON_GetObjectItemCaseSensitive(o, "connect_urls");
	size_t n = 0;
	cJSON_ArrayForEach(u, urls)
	{
		if (!cJSON_IsString(u))
			continue;
		char item[ROUTE_HOST_MAX + 8];
		size_t k = json_str(item, sizeof(item), u->valuestring);
		if (n + k + 2 >= sizeof(h->curls))
			break;
		n += (size_t)snprintf(h->curls + n, sizeof(h->curls) - n, "%s%s", n ? "," : "",
		                      item);
	}
	cJSON_Delete(o);
	return h->id[0] != 0;
}

/* ---- the table ---- */

static void route_info_changed(struct route_mgr *m)
{
	atomic_fetch_add_explicit(&m->info_gen, 1, memory_order_release);
	for (int i = 0; i < m->s->nio; i++)
		wake_notify(&m->s->io[i].wake);
}

/* Queues @line for the peer in slot @i and wakes its thread. Under the lock. */
static void route_outbox_add(struct route_mgr *m, int i, const char *line, size_t len)
{
	struct route_peer *p = &m->peers[i];
	char *copy = p->nout < ROUTE_OUTBOX_MAX ? strndup(line, len) : NULL;
	if (!copy) {
		log_warn("routes: gossip to %s dropped", p->h.name);
		return;
	}
	p->outbox[p->nout++] = copy;
	atomic_store_explicit(&p->has_out, true, memory_order_release);
	wake_notify(&m->s->io[io_conn_id_loop(p->conn)].wake);
}

/* Tells the other peers about the peer in slot @i (gossip). Under the lock. */
static void route_gossip_out(struct route_mgr *m, int i)
{
	struct route_hello h = m->peers[i].h;
	const char *host = h.host[0] && strcmp(h.host, "0.0.0.0") && strcmp(h.host, "::")
	                       ? h.host
	                       : m->peers[i].remote_ip;
	if (!h.port)
		return; /* it accepts no routes */
	snprintf(h.ip, sizeof(h.ip), "nats-route://%s:%d/", host, h.port);
	char line[ROUTE_CURLS_MAX + 1024];
	size_t n = route_info_of(line, sizeof(line), &h, false, m->s->cfg.cluster_tls.on);
	for (int k = 0; n && k < ROUTE_PEERS_MAX; k++)
		if (k != i && m->peers[k].used)
			route_outbox_add(m, k, line, n);
}

int route_mgr_register(struct server *s, const struct route_hello *h, uint64_t conn, int url,
                       const char *peer_ip, char *err, size_t errcap)
{
	struct route_mgr *m = s->routes;
	int slot = -1;
	err[0] = 0;
	pthread_mutex_lock(&m->lock);
	if (h->cluster[0] && strcmp(h->cluster, m->cluster)) {
		if (m->dynamic && !h->dynamic) {
			snprintf(m->cluster, sizeof(m->cluster), "%s", h->cluster);
			m->dynamic = false;
		} else if (!h->dynamic) {
			snprintf(err, errcap,
			         "Rejecting connection, cluster name \"%s\" does not match \"%s\"",
			         h->cluster, m->cluster);
			goto out;
		}
	}
	if (url >= 0)
		snprintf(m->urls[url].peer_id, sizeof(m->urls[url].peer_id), "%s", h->id);
	if (route_peer_known_locked(m, h->id))
		goto out; /* ourselves, or a duplicate route: the first one stays */
	for (int i = 0; i < ROUTE_PEERS_MAX; i++)
		if (!m->peers[i].used) {
			slot = i;
			break;
		}
	if (slot < 0) {
		snprintf(err, errcap, "maximum routes exceeded");
		goto out;
	}
	struct route_peer *p = &m->peers[slot];
	memset(p, 0, offsetof(struct route_peer, ctr));
	memset(&p->ctr, 0, sizeof(p->ctr));
	p->used = true;
	p->h = *h;
	p->conn = conn;
	p->url = url;
	p->nout = 0;
	atomic_store(&p->has_out, false);
	snprintf(p->remote_ip, sizeof(p->remote_ip), "%s", peer_ip);
	p->since_wall_ns = clock_wall_ns();
	route_gossip_out(m, slot);
	route_info_changed(m);
	log_info("routes: route to %s (%s) registered, cluster %s", h->name, h->id, m->cluster);
out:
	pthread_mutex_unlock(&m->lock);
	return slot;
}

void route_mgr_closed(struct server *s, int peer, int url)
{
	struct route_mgr *m = s->routes;
	pthread_mutex_lock(&m->lock);
	if (url >= 0 && url < m->nurls)
		m->urls[url].busy = false;
	if (peer >= 0 && m->peers[peer].used) {
		struct route_peer *p = &m->peers[peer];
		log_info("routes: route to %s (%s) closed", p->h.name, p->h.id);
		for (uint32_t k = 0; k < p->nout; k++)
			free(p->outbox[k]);
		p->nout = 0;
		p->used = false;
		/* a route we dialled is dialled again a second later (as
		 * nats-server: a peer that refuses us is not hammered) */
		if (p->url >= 0 && p->url < m->nurls && !m->urls[p->url].leaf)
			m->urls[p->url].next_ns = clock_now_ns() + 1000000000ull;
		route_info_changed(m);
	}
	pthread_mutex_unlock(&m->lock);
}

void route_mgr_gossip(struct server *s, int peer, const struct route_hello *h)
{
	struct route_mgr *m = s->routes;
	pthread_mutex_lock(&m->lock);
	struct route_peer *p = &m->peers[peer];
	if (p->used && !strcmp(p->h.id, h->id)) {
		if (strcmp(p->h.curls, h->curls)) {
			snprintf(p->h.curls, sizeof(p->h.curls), "%s", h->curls);
			route_info_changed(m);
		}
	} else if (h->ip[0] && !route_peer_known_locked(m, h->id)) {
		bool listed = false;
		struct route_url u;
		if (route_url_parse(h->ip, &u) == 0) {
			for (int i = 0; i < m->nurls; i++)
				if (m->urls[i].port == u.port && !strcmp(m->urls[i].host, u.host)) {
					listed = true;
					if (!m->urls[i].busy)
						m->urls[i].next_ns = 0;
				}
			if (!listed && m->nurls < ROUTE_URLS_MAX) {
				u.implicit = true;
				m->urls[m->nurls++] = u;
				log_debug("routes: learned of %s at %s", h->id, h->ip);
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

bool route_mgr_outbox_pending(struct server *s, int peer)
{
	return atomic_load_explicit(&s->routes->peers[peer].has_out, memory_order_acquire);
}

void route_mgr_outbox(struct server *s, int peer, struct io_conn *c)
{
	struct route_mgr *m = s->routes;
	pthread_mutex_lock(&m->lock);
	struct route_peer *p = &m->peers[peer];
	for (uint32_t k = 0; k < p->nout; k++) {
		io_conn_write(c, p->outbox[k], strlen(p->outbox[k]));
		free(p->outbox[k]);
	}
	p->nout = 0;
	atomic_store_explicit(&p->has_out, false, memory_order_relaxed);
	pthread_mutex_unlock(&m->lock);
}

struct route_counters *route_mgr_counters(struct server *s, int peer)
{
	return &s->routes->peers[peer].ctr;
}

size_t route_connect_urls(struct server *s, char *buf, size_t cap)
{
	struct route_mgr *m = s->routes;
	if (!m || s->cfg.cluster_no_advertise || cap < 3)
		return 0;
	pthread_mutex_lock(&m->lock);
	size_t n = (size_t)snprintf(buf, cap, "[%s", m->self_url);
	for (int i = 0; i < ROUTE_PEERS_MAX && n < cap; i++)
		if (m->peers[i].used && m->peers[i].h.curls[0])
			n += (size_t)snprintf(buf + n, cap - n, ",%s", m->peers[i].h.curls);
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "]");
	pthread_mutex_unlock(&m->lock);
	return n < cap ? n : 0;
}

uint32_t route_count(struct server *s, uint32_t *leafs)
{
	struct route_mgr *m = s->routes;
	uint32_t n = 0, l = 0;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < ROUTE_PEERS_MAX; i++)
		n += m->peers[i].used;
	for (int i = 0; i < CONFIG_LEAF_REMOTES_MAX; i++)
		l += m->leafs[i].used;
	pthread_mutex_unlock(&m->lock);
	*leafs = l;
	return n;
}

int route_mgr_leaf_up(struct server *s, const char *name, const char *ip, int port, uint16_t acc)
{
	struct route_mgr *m = s->routes;
	int slot = -1;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < CONFIG_LEAF_REMOTES_MAX && slot < 0; i++)
		if (!m->leafs[i].used)
			slot = i;
	if (slot >= 0) {
		struct route_leafinfo *l = &m->leafs[slot];
		l->used = true;
		l->acc = acc;
		snprintf(l->name, sizeof(l->name), "%s", name);
		snprintf(l->ip, sizeof(l->ip), "%s", ip);
		l->port = port;
		l->since_wall_ns = clock_wall_ns();
		atomic_store(&l->ctr.in_msgs, 0);
		atomic_store(&l->ctr.out_msgs, 0);
		atomic_store(&l->ctr.in_bytes, 0);
		atomic_store(&l->ctr.out_bytes, 0);
		atomic_store(&l->ctr.subs, 0);
		atomic_store(&l->ctr.drops, 0);
	}
	pthread_mutex_unlock(&m->lock);
	return slot;
}

void route_mgr_leaf_down(struct server *s, int slot)
{
	struct route_mgr *m = s->routes;
	pthread_mutex_lock(&m->lock);
	if (slot >= 0 && slot < CONFIG_LEAF_REMOTES_MAX)
		m->leafs[slot].used = false;
	pthread_mutex_unlock(&m->lock);
}

struct route_counters *route_mgr_leaf_counters(struct server *s, int slot)
{
	return &s->routes->leafs[slot].ctr;
}

size_t route_leafz(struct server *s, char *buf, size_t cap, uint32_t *nleafs)
{
	struct route_mgr *m = s->routes;
	size_t n = 0;
	*nleafs = 0;
	if (!m)
		return 0;
	const struct server_gen *g = server_gen_hold(s); /* the monitor's thread */
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < CONFIG_LEAF_REMOTES_MAX; i++) {
		struct route_leafinfo *l = &m->leafs[i];
		if (!l->used)
			continue;
		char name[ROUTE_ID_MAX + 8], acc[ROUTE_ID_MAX + 8];
		json_str(name, sizeof(name), l->name);
		json_str(acc, sizeof(acc), g->live->acc->acc[l->acc].name);
		int k = snprintf(buf + n, cap - n,
		                 "%s{\"name\":%s,\"account\":%s,\"ip\":\"%s\","
		                 "\"port\":%d,\"in_msgs\":%llu,\"out_msgs\":%llu,\"in_bytes\":%llu,"
		                 "\"out_bytes\":%llu,\"subscriptions\":%llu,\"drops\":%llu}",
		                 *nleafs ? "," : "", name, acc, l->ip, l->port,
		                 (unsigned long long)atomic_load(&l->ctr.in_msgs),
		                 (unsigned long long)atomic_load(&l->ctr.out_msgs),
		                 (unsigned long long)atomic_load(&l->ctr.in_bytes),
		                 (unsigned long long)atomic_load(&l->ctr.out_bytes),
		                 (unsigned long long)atomic_load(&l->ctr.subs),
		                 (unsigned long long)atomic_load(&l->ctr.drops));
		if (k < 0 || (size_t)k >= cap - n) {
			n = 0;
			break;
		}
		n += (size_t)k;
		(*nleafs)++;
	}
	pthread_mutex_unlock(&m->lock);
	server_gen_release(s, g);
	return n;
}

size_t route_routez(struct server *s, char *buf, size_t cap, uint32_t *nroutes)
{
	struct route_mgr *m = s->routes;
	size_t n = 0;
	*nroutes = 0;
	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < ROUTE_PEERS_MAX; i++) {
		struct route_peer *p = &m->peers[i];
		if (!p->used)
			continue;
		char id[ROUTE_ID_MAX + 8], name[ROUTE_ID_MAX + 8];
		json_str(id, sizeof(id), p->h.id);
		json_str(name, sizeof(name), p->h.name);
		int k = snprintf(
		    buf + n, cap - n,
		    "%s{\"rid\":%d,\"remote_id\":%s,\"remote_name\":%s,\"did_solicit\":%s,"
		    "\"is_configured\":%s,\"ip\":\"%s\",\"port\":%d,\"pending_size\":0,"
		    "\"in_msgs\":%llu,\"out_msgs\":%llu,\"in_bytes\":%llu,\"out_bytes\":%llu,"
		    "\"subscriptions\":%llu,\"drops\":%llu}",
		    *nroutes ? "," : "", i + 1, id, name, p->url >= 0 ? "true" : "false",
		    p->url >= 0 && !m->urls[p->url].implicit ? "true" : "false", p->remote_ip,
		    p->h.port, (unsigned long long)atomic_load(&p->ctr.in_msgs),
		    (unsigned long long)atomic_load(&p->ctr.out_msgs),
		    (unsigned long long)atomic_load(&p->ctr.in_bytes),
		    (unsigned long long)atomic_load(&p->ctr.out_bytes),
		    (unsigned long long)atomic_load(&p->ctr.subs),
		    (unsigned long long)atomic_load(&p->ctr.drops));
		if (k < 0 || (size_t)k >= cap - n) {
			n = 0;
			break;
		}
		n += (size_t)k;
		(*nroutes)++;
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}
