/* leafnodes { remotes = [ { url | urls, account, credentials, tls } ], reconnect }: the hubs
 * ringbus joins as a leaf node (router/route.h, docs/CLUSTER.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "router/conf/table.h"
#include "router/index/subject.h"

/* "[scheme://][user[:pass]@]host:port[/]": the form of a route or leaf URL
 * (router/route_mgr.c reads it the same way). */
static bool config_url_ok(const char *s)
{
	const char *p = strstr(s, "://");
	p = p ? p + 3 : s;
	const char *at = strrchr(p, '@');
	if (at)
		p = at + 1;
	const char *colon = strrchr(p, ':');
	if (!colon || colon == p)
		return false;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	return port > 0 && port <= 65535 && end != colon + 1 && (!*end || !strcmp(end, "/"));
}

/* Every URL of @l has the form of a route URL; reports the first that has not. */
static int config_urls_ok(struct config_ctx *x, const struct config_in *in,
                          const struct config_list *l, const char *what)
{
	for (size_t i = 0; i < l->n; i++)
		if (!config_url_ok(l->v[i])) {
			config_report_in(x, false, in, "%s: could not parse %s URL \"%s\"",
			                 in->name, what, l->v[i]);
			return -EINVAL;
		}
	return 0;
}

int config_check_routes(struct config_ctx *x, const struct config_row *r,
                        const struct config_in *in)
{
	(void)r;
	return config_urls_ok(x, in, &x->c->routes, "route");
}

/* One remote { }: its URLs into @urls. */
/* deny_imports / deny_exports: a subject or a list of subject patterns. */
static int config_leaf_denies(struct config_ctx *x, const struct config_in *in,
                              struct config_list *out)
{
	if (config_in_list(x, in, out))
		return -EINVAL;
	for (size_t i = 0; i < out->n; i++)
		if (!subject_valid_sub(out->v[i], strlen(out->v[i]))) {
			config_report_in(x, false, in, "%s: invalid subject \"%s\"", in->name,
			                 out->v[i]);
			return -EINVAL;
		}
	return 0;
}

/* A remote's tls { }: read by the rows of CONFIG_B_LEAF_RTLS into
 * c->leaf_rtls, then moved to remote @k's. */
static int config_leaf_remote_tls(struct config_ctx *x, const struct config_in *in, int k)
{
	struct config *c = x->c;
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in,
		                 "tls: expected a map { ca_file: ..., cert_file: ..., ... }");
		return -EINVAL;
	}
	int ret = config_map_block(x, in->v, CONFIG_B_LEAF_RTLS);
	config_tls_fini(&c->leaf_remote_tls[k]);
	c->leaf_remote_tls[k] = c->leaf_rtls; /* taken: the strings and lists */
	memset(&c->leaf_rtls, 0, sizeof(c->leaf_rtls));
	c->leaf_remote_tls[k].on = true;
	return ret ? -EINVAL : 0;
}

/* credentials: the file's path, kept. It is read at start only to log
 * what is wrong with it (router/creds.h: nats-server logs it and runs, its
 * -t takes the file), then again at each connection. */
static int config_leaf_creds(struct config_ctx *x, const struct config_in *in, char **path)
{
	const char *s;
	if (config_in_string(x, in, &s))
		return -EINVAL;
	free(*path);
	*path = strdup(s);
	return *path ? 0 : -ENOMEM;
}

/* One remote { }: its URLs, the account it is bound to, its denies. */
static int config_leaf_remote(struct config_ctx *x, const struct conf_value *m, int k)
{
	struct config *c = x->c;
	struct config_list *urls = &c->leaf_urls[k];
	char **account = &c->leaf_account[k];
	int bad = 0;
	for (const struct conf_entry *e = conf_map_first(m); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e);
		struct config_in in = {.from_file = true, .v = conf_entry_value(e), .name = key};
		const char *s;
		if (!strcasecmp(key, "url") || !strcasecmp(key, "urls")) {
			if (config_in_list(x, &in, urls) ||
			    config_urls_ok(x, &in, urls, "leaf node"))
				bad = -EINVAL;
		} else if (!strcasecmp(key, "account")) {
			/* checked once every account is read (config_validate) */
			free(*account);
			*account = NULL;
			if (config_in_string(x, &in, &s) || !(*account = strdup(s)))
				bad = -EINVAL;
		} else if (!strcasecmp(key, "credentials") || !strcasecmp(key, "creds")) {
			if (config_leaf_creds(x, &in, &c->leaf_creds[k]))
				bad = -EINVAL;
		} else if (!strcasecmp(key, "tls")) {
			if (config_leaf_remote_tls(x, &in, k))
				bad = -EINVAL;
		} else if (!strcasecmp(key, "deny_imports") || !strcasecmp(key, "deny_import")) {
			if (config_leaf_denies(x, &in, &c->leaf_deny_imports[k]))
				bad = -EINVAL;
		} else if (!strcasecmp(key, "deny_exports") || !strcasecmp(key, "deny_export")) {
			if (config_leaf_denies(x, &in, &c->leaf_deny_exports[k]))
				bad = -EINVAL;
		} else if (!strcasecmp(key, "hub") || !strcasecmp(key, "ws_compression")) {
			config_report_in(x, false, &in, "%s: not supported on leaf remotes yet",
			                 key);
			bad = -EINVAL;
		} else {
			config_report_in(x, false, &in, "unknown field \"%s\"", key);
			bad = -EINVAL;
		}
	}
	if (!bad && urls->n == 0) {
		struct config_in in = {.from_file = true, .v = m, .name = "remotes"};
		config_report_in(x, false, &in, "a leaf node remote needs a url");
		bad = -EINVAL;
	}
	return bad;
}

int config_set_leaf_remotes(struct config_ctx *x, const struct config_row *r,
                            const struct config_in *in)
{
	(void)r;
	struct config *c = x->c;
	if (conf_type(in->v) != CONF_ARRAY) {
		config_report_in(x, false, in, "Expected remotes field to be an array, got %s",
		                 conf_type_name(conf_type(in->v)));
		return -EINVAL;
	}
	size_t n = conf_array_len(in->v);
	if (n > CONFIG_LEAF_REMOTES_MAX) {
		config_report_in(x, false, in, "at most %d leaf node remotes",
		                 CONFIG_LEAF_REMOTES_MAX);
		return -EINVAL;
	}
	for (int i = 0; i < c->nleaf_remotes; i++) {
		config_list_free(&c->leaf_urls[i]);
		config_list_free(&c->leaf_deny_imports[i]);
		config_list_free(&c->leaf_deny_exports[i]);
		free(c->leaf_account[i]);
		c->leaf_account[i] = NULL;
		free(c->leaf_creds[i]);
		c->leaf_creds[i] = NULL;
		config_tls_fini(&c->leaf_remote_tls[i]);
	}
	c->nleaf_remotes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct conf_value *m = conf_array_get(in->v, i);
		struct config_in one = {.from_file = true, .v = m, .name = "remotes"};
		if (conf_type(m) != CONF_MAP) {
			config_report_in(x, false, &one,
			                 "Expected remote leafnode entry to be a map");
			return -EINVAL;
		}
		int k = c->nleaf_remotes++;
		if (config_leaf_remote(x, m, k))
			return -EINVAL;
	}
	return 0;
}

/* default_js_domain: { "$G": "hub" }: the JetStream domain that clients of
 * the account who name none mean (requests to $JS.API. go to $JS.hub.API.);
 * "" keeps them as they are. */
int config_set_js_domain(struct config_ctx *x, const struct config_row *r,
                         const struct config_in *in)
{
	(void)r;
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in,
		                 "default_js_domain: expected a map of account to domain");
		return -EINVAL;
	}
	for (const struct conf_entry *e = conf_map_first(in->v); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e), *s;
		struct config_in one = {.from_file = true, .v = conf_entry_value(e), .name = key};
		if (strcmp(key, "$G")) {
			config_report_in(
			    x, false, &one,
			    "default_js_domain: account \"%s\": ringbus has the global "
			    "account $G only until accounts land (issue 15)",
			    key);
			return -EINVAL;
		}
		if (config_in_string(x, &one, &s))
			return -EINVAL;
		for (const char *p = s; *p; p++)
			if (*p == '.' || *p == '*' || *p == '>' || *p == ' ' || *p == '\t') {
				config_report_in(x, false, &one,
				                 "default_js_domain: invalid domain \"%s\"", s);
				return -EINVAL;
			}
		free(x->c->js_domain);
		x->c->js_domain = strdup(s);
		if (!x->c->js_domain)
			return -ENOMEM;
	}
	return 0;
}
