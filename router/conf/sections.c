/* The rows whose value is more than one field: listen and http (host:port),
 * authorization { } and its users, tls { }, -DV and friends, admission, and
 * the checks some rows run once their value is stored. Messages follow
 * nats-server's where it has them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/tls/tls.h"
#include "router/admission.h"
#include "router/conf/table.h"
#include "router/nkey.h"
#include "router/perm.h"

static int config_dup_into(char **dst, const char *s, size_t len)
{
	char *d = strndup(s, len);
	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* "host:port", "[::1]:4222", ":4222" or a port (nats-server's parseListen). */
static int config_host_port(struct config_ctx *x, const struct config_in *in, char **host,
                            int *port)
{
	int64_t p;
	const char *s;
	if (in->from_file && conf_type(in->v) == CONF_INT) {
		if (config_in_int(x, in, -1, 65535, &p))
			return -EINVAL;
		*port = (int)p;
		return config_dup_into(host, "", 0);
	}
	if (config_in_string(x, in, &s))
		return -EINVAL;
	const char *colon = strrchr(s, ':');
	bool bracket = s[0] == '[';
	if (!colon || (bracket && colon[-1] != ']') || (!bracket && strchr(s, ':') != colon)) {
		config_report_in(x, false, in, "%s: could not parse address string \"%s\"",
		                 in->name, s);
		return -EINVAL;
	}
	char *end;
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < -1 || p > 65535) {
		config_report_in(x, false, in, "%s: could not parse port \"%s\"", in->name,
		                 colon + 1);
		return -EINVAL;
	}
	*port = (int)p;
	if (bracket)
		return config_dup_into(host, s + 1, (size_t)(colon - s - 2));
	return config_dup_into(host, s, (size_t)(colon - s));
}

int config_set_listen(struct config_ctx *x, const struct config_row *r, const struct config_in *in)
{
	(void)r;
	return config_host_port(x, in, &x->c->host, &x->c->port);
}

int config_set_http(struct config_ctx *x, const struct config_row *r, const struct config_in *in)
{
	(void)r;
	return config_host_port(x, in, &x->c->http_host, &x->c->http_port);
}

/* cluster { listen: "host:port" }, cluster { port: N } and --cluster
 * nats://host:port: where routes are accepted. */
int config_set_cluster_listen(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in)
{
	struct config *c = x->c;
	int64_t p;
	c->cluster_listen = true;
	if (!strcmp(r->key, "port")) {
		if (config_in_int(x, in, -1, 65535, &p))
			return -EINVAL;
		c->cluster_port = (int)p;
		return c->cluster_host ? 0 : config_dup_into(&c->cluster_host, "0.0.0.0", 7);
	}
	struct config_in v = *in;
	const char *s = in->text;
	if (!in->from_file && s && !strncmp(s, "nats://", 7))
		v.text = s + 7; /* --cluster nats://host:port */
	return config_host_port(x, &v, &c->cluster_host, &c->cluster_port);
}

/* leafnodes { listen: "host:port" } and leafnodes { port: N }. */
int config_set_leaf_listen(struct config_ctx *x, const struct config_row *r,
                           const struct config_in *in)
{
	struct config *c = x->c;
	int64_t p;
	c->leaf_listen = true;
	if (!strcmp(r->key, "port")) {
		if (config_in_int(x, in, -1, 65535, &p))
			return -EINVAL;
		c->leaf_port = (int)p;
		return c->leaf_host ? 0 : config_dup_into(&c->leaf_host, "0.0.0.0", 7);
	}
	return config_host_port(x, in, &c->leaf_host, &c->leaf_port);
}

/* websocket { listen: "host:port" } and websocket { port: N }. */
int config_set_ws_listen(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in)
{
	struct config *c = x->c;
	int64_t p;
	c->ws_listen = true;
	if (!strcmp(r->key, "port")) {
		if (config_in_int(x, in, -1, 65535, &p))
			return -EINVAL;
		c->ws_port = (int)p;
		return c->ws_host ? 0 : config_dup_into(&c->ws_host, "0.0.0.0", 7);
	}
	return config_host_port(x, in, &c->ws_host, &c->ws_port);
}

/* -DV, -DVV, -VV and trace_verbose: trace, and debug for the -D ones. */
int config_set_debug_trace(struct config_ctx *x, const struct config_row *r,
                           const struct config_in *in)
{
	bool b;
	if (config_in_bool(x, in, &b))
		return -EINVAL;
	x->c->trace = b;
	if (r->flags[0] == 'D')
		x->c->debug = b;
	return 0;
}

/* One entry of users: [...]: {user: u, password: p}. */
static int config_user_entry(struct config_ctx *x, const struct conf_value *m,
                             struct config_user *u)
{
	static const char *const perms = "permission permissions authorization";
	static const char *const types = "allowed_connection_types connection_types clients";
	int errors = x->errors;
	for (const struct conf_entry *e = conf_map_first(m); e; e = conf_entry_next(e)) {
		const char *key = conf_entry_key(e), *s;
		struct config_in in = {.from_file = true, .v = conf_entry_value(e), .name = key};
		char **dst = !strcasecmp(key, "user") || !strcasecmp(key, "username") ? &u->name
		             : !strcasecmp(key, "password") || !strcasecmp(key, "pass")
		                 ? &u->password
		                 : NULL;
		if (conf_entry_shadowed(e))
			continue;
		if (dst) {
			if (config_in_string(x, &in, &s) == 0 && config_dup_into(dst, s, strlen(s)))
				config_report_in(x, false, &in, "out of memory");
		} else if (config_word_in(perms, key, true)) {
			perm_free(u->perms);
			u->perms = NULL;
			if (perm_read(x, &in, &u->perms))
				continue; /* reported and counted in @x */
		} else if (!strcasecmp(key, "nkey")) {
			uint8_t k[32];
			if (config_in_string(x, &in, &s))
				continue; /* reported */
			if (!nkey_user_public(s, k))
				config_report_in(x, false, &in,
				                 "Not a valid public nkey for a user");
			else if (config_dup_into(&u->nkey, s, strlen(s)))
				config_report_in(x, false, &in, "out of memory");
		} else if (config_word_in(types, key, true)) {
			config_report_at(x, false, conf_entry_pos(e),
			                 "field \"%s\" is not supported yet (issue 15: connection "
			                 "types): remove it, or keep nats-server until then",
			                 key);
		} else if (!conf_used(in.v)) {
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
		}
	}
	return x->errors > errors ? -EINVAL : 0;
}

/* Reports running out of memory while reading @in; returns -EINVAL. */
static int config_oom(struct config_ctx *x, const struct config_in *in)
{
	config_report_in(x, false, in, "%s: out of memory", in->name);
	return -EINVAL;
}

static void config_user_fini(struct config_user *u)
{
	perm_free(u->perms);
	free(u->nkey);
	free(u->name);
	free(u->password);
	free(u->account);
}

void config_users_free(struct config_user *u, int n)
{
	for (int i = 0; i < n; i++)
		config_user_fini(&u[i]);
	free(u);
}

int config_users_read(struct config_ctx *x, const struct config_in *in, const char *account,
                      struct config_user **out, int *nout)
{
	if (conf_type(in->v) != CONF_ARRAY) {
		config_report_in(x, false, in, "Expected users field to be an array, got %s",
		                 conf_type_name(conf_type(in->v)));
		return -EINVAL;
	}
	size_t n = conf_array_len(in->v);
	struct config_user *users = calloc(n ? n : 1, sizeof(*users));
	int bad = users ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && users; i++) {
		const struct conf_value *m = conf_array_get(in->v, i);
		struct config_in one = {.from_file = true, .v = m, .name = "users"};
		if (conf_type(m) != CONF_MAP) {
			config_report_in(x, false, &one, "Expected user entry to be a map/struct");
			bad = -EINVAL;
		} else if (config_user_entry(x, m, &users[i])) {
			bad = -EINVAL;
		} else if (users[i].nkey && (users[i].name || users[i].password)) {
			config_report_in(x, false, &one,
			                 "Nkey users do not take usernames or passwords");
			bad = -EINVAL;
		} else if (!users[i].nkey && (!users[i].name || !users[i].name[0])) {
			config_report_in(x, false, &one, "User entry requires a user");
			bad = -EINVAL;
		} else if (account && !(users[i].account = strdup(account))) {
			bad = -ENOMEM;
		}
	}
	if (bad) {
		if (users)
			config_users_free(users, (int)n);
		return bad;
	}
	*out = users;
	*nout = (int)n;
	return 0;
}

/* Whether @u's name or nkey is already one of @list's. */
static bool config_user_clash(const struct config_user *u, const struct config_user *list, int n)
{
	for (int i = 0; i < n; i++) {
		if (u->name && list[i].name && !strcmp(u->name, list[i].name))
			return true;
		if (u->nkey && list[i].nkey && !strcmp(u->nkey, list[i].nkey))
			return true;
	}
	return false;
}

int config_users_append(struct config_ctx *x, const struct config_in *in, struct config_user *add,
                        int n)
{
	struct config *c = x->c;
	for (int i = 0; i < n; i++) {
		if (!config_user_clash(&add[i], c->users, c->nusers) &&
		    !config_user_clash(&add[i], add, i))
			continue;
		if (add[i].nkey)
			config_report_in(x, false, in, "Duplicate nkey \"%s\" detected",
			                 add[i].nkey);
		else
			config_report_in(x, false, in, "Duplicate user \"%s\" detected",
			                 add[i].name);
		config_users_free(add, n);
		return -EINVAL;
	}
	struct config_user *all =
	    n ? realloc(c->users, sizeof(*all) * (size_t)(c->nusers + n)) : c->users;
	if (n && !all) {
		config_users_free(add, n);
		return -ENOMEM;
	}
	if (n)
		memcpy(all + c->nusers, add, sizeof(*add) * (size_t)n);
	free(add);
	c->users = all;
	c->nusers += n;
	return 0;
}

void config_users_drop(struct config *c, bool accounts)
{
	int kept = 0;
	for (int i = 0; i < c->nusers; i++) {
		if ((c->users[i].account != NULL) == accounts)
			config_user_fini(&c->users[i]);
		else
			c->users[kept++] = c->users[i];
	}
	c->nusers = kept;
}

/* authorization { users: [...] }: the users of $G, beside those of the
 * accounts (accounts { }, before or after it in the file). */
int config_set_users(struct config_ctx *x, const struct config_row *r, const struct config_in *in)
{
	(void)r;
	struct config_user *users;
	int n, ret = config_users_read(x, in, NULL, &users, &n);
	if (ret)
		return ret == -EINVAL ? ret : config_oom(x, in);
	config_users_drop(x->c, false);
	ret = config_users_append(x, in, users, n);
	return ret == -ENOMEM ? config_oom(x, in) : ret;
}

int config_set_default_perms(struct config_ctx *x, const struct config_row *r,
                             const struct config_in *in)
{
	(void)r;
	struct perms *p = NULL;
	if (perm_read(x, in, &p))
		return -EINVAL;
	perm_free(x->c->default_perms);
	x->c->default_perms = p;
	return 0;
}

/* permissions beside a single user: nats-server ignores them, silently;
 * ringbus says so. */
int config_set_single_perms(struct config_ctx *x, const struct config_row *r,
                            const struct config_in *in)
{
	(void)r;
	config_report_in(x, true, in,
	                 "%s beside a single user is ignored (as nats-server does): give the user "
	                 "in users [ {user, password, permissions} ] for them to apply",
	                 in->name);
	return 0;
}

int config_set_authorization(struct config_ctx *x, const struct config_row *r,
                             const struct config_in *in)
{
	(void)r;
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in, "authorization: expected a map { ... }");
		return -EINVAL;
	}
	struct config *c = x->c;
	if (config_map_block(x, in->v, CONFIG_B_AUTH))
		return -EINVAL;
	bool has_users = conf_map_get(in->v, "users") != NULL;
	const char *why = NULL;
	if ((c->user || c->pass) && c->token)
		why = "Cannot have a user/pass and token";
	else if (has_users && c->user)
		why = "Can not have a single user/pass and a users array";
	else if (has_users && c->token)
		why = "Can not have a token and a users array";
	if (why) {
		config_report_in(x, false, in, "%s", why);
		return -EINVAL;
	}
	return 0;
}

int config_set_tls_block(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in)
{
	(void)r;
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in,
		                 "tls: expected a map { cert_file: ..., key_file: ... }");
		return -EINVAL;
	}
	if (config_map_block(x, in->v, CONFIG_B_TLS))
		return -EINVAL;
	x->c->tls = true; /* a tls block: clients must use TLS, as in nats-server */
	return 0;
}

/* The tls { } block of a listener or link: its rows are those of the
 * block that goes with @r's (websocket: CONFIG_B_WS_TLS). */
int config_set_link_tls(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in)
{
	struct config_tls *t;
	enum config_block b;
	switch (r->block) {
	case CONFIG_B_WS:
		t = &x->c->ws_tls;
		b = CONFIG_B_WS_TLS;
		break;
	case CONFIG_B_CLUSTER:
		t = &x->c->cluster_tls;
		b = CONFIG_B_CLUSTER_TLS;
		break;
	case CONFIG_B_LEAF:
		t = &x->c->leaf_tls;
		b = CONFIG_B_LEAF_TLS;
		break;
	default:
		return -EINVAL;
	}
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in,
		                 "tls: expected a map { cert_file: ..., key_file: ... }");
		return -EINVAL;
	}
	if (config_map_block(x, in->v, b))
		return -EINVAL;
	t->on = true;
	return 0;
}

/* Each name of the list at @off must be known to io/tls. */
static int config_check_names(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in, bool (*known)(const char *),
                              const char *what)
{
	const struct config_list *l = (const struct config_list *)((char *)x->c + r->off);
	for (size_t i = 0; i < l->n; i++)
		if (!known(l->v[i])) {
			config_report_in(
			    x, false, in,
			    "%s: unsupported %s \"%s\" (ringbus --help_tls lists them)", in->name,
			    what, l->v[i]);
			return -EINVAL;
		}
	return 0;
}

int config_check_suites(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in)
{
	return config_check_names(x, r, in, tls_cipher_suite_known, "cipher suite");
}

int config_check_curves(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in)
{
	return config_check_names(x, r, in, tls_curve_known, "curve");
}

int config_check_lame_duck(struct config_ctx *x, const struct config_row *r,
                           const struct config_in *in)
{
	(void)r;
	char buf[32];
	uint32_t ms = x->c->lame_duck_duration_ms;
	if (ms >= 30000)
		return 0;
	config_report_in(x, false, in, "invalid lame_duck_duration of %s, minimum is 30 seconds",
	                 config_ms_text(ms, buf, sizeof(buf)));
	return -EINVAL;
}

int config_check_recv_buffers(struct config_ctx *x, const struct config_row *r,
                              const struct config_in *in)
{
	(void)r;
	uint32_t n = x->c->buf_count;
	if ((n & (n - 1)) == 0)
		return 0;
	config_report_in(x, false, in, "%s: %u is not a power of two", in->name, n);
	return -EINVAL;
}

int config_check_stats_interval(struct config_ctx *x, const struct config_row *r,
                                const struct config_in *in)
{
	(void)r;
	char buf[32];
	uint32_t ms = x->c->stats_interval_ms;
	if (ms == 0 || ms >= 100)
		return 0;
	config_report_in(x, false, in, "invalid stats_interval of %s, minimum is 100ms (0: off)",
	                 config_ms_text(ms, buf, sizeof(buf)));
	return -EINVAL;
}

int config_set_admission(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in)
{
	(void)r;
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in, "admission: expected a map { ... }");
		return -EINVAL;
	}
	return adm_config_map(x->c->adm, x, in->v);
}
