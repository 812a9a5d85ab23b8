/* Which leaf nodes may join this hub: leafnodes { authorization { users: [
 * {user, password, account} ] } }, each bound to an account, as nats-server
 * 2.9.10 reads them (no permissions, no NKeys), and leafnodes { min_version }. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "io/proto/connect.h"
#include "router/conf/table.h"

/* One { user, password, account } into @u. Returns 0 or -EINVAL/-ENOMEM. */
static int config_leaf_user(struct config_ctx *x, const struct conf_value *m, struct config_user *u)
{
	int bad = 0;
	for (const struct conf_entry *e = conf_map_first(m); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e);
		struct config_in in = {.from_file = true, .v = conf_entry_value(e), .name = key};
		char **to = NULL;
		if (!strcasecmp(key, "user") || !strcasecmp(key, "username"))
			to = &u->name;
		else if (!strcasecmp(key, "password") || !strcasecmp(key, "pass"))
			to = &u->password;
		else if (!strcasecmp(key, "account"))
			to = &u->account; /* checked once accounts are read (config_validate) */
		if (!to) {
			config_report_in(x, false, &in, "unknown field \"%s\"", key);
			bad = -EINVAL;
			continue;
		}
		const char *s;
		free(*to);
		*to = NULL;
		if (config_in_string(x, &in, &s))
			bad = -EINVAL;
		else if (!(*to = strdup(s)))
			return -ENOMEM;
	}
	if (!bad && !u->name) {
		struct config_in in = {.from_file = true, .v = m, .name = "users"};
		config_report_in(x, false, &in, "a leaf node user needs a user name");
		bad = -EINVAL;
	}
	return bad;
}

int config_set_leaf_users(struct config_ctx *x, const struct config_row *r,
                          const struct config_in *in)
{
	(void)r;
	struct config *c = x->c;
	if (conf_type(in->v) != CONF_ARRAY) {
		config_report_in(x, false, in, "Expected users field to be an array, got %s",
		                 conf_type_name(conf_type(in->v)));
		return -EINVAL;
	}
	size_t n = conf_array_len(in->v);
	struct config_user *u = calloc(n ? n : 1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	int ret = 0;
	for (size_t i = 0; i < n && !ret; i++) {
		const struct conf_value *m = conf_array_get(in->v, i);
		if (conf_type(m) != CONF_MAP) {
			struct config_in one = {.from_file = true, .v = m, .name = "users"};
			config_report_in(x, false, &one, "Expected user entry to be a map/struct");
			ret = -EINVAL;
		} else {
			ret = config_leaf_user(x, m, &u[i]);
		}
	}
	if (ret) {
		config_users_free(u, (int)n);
		return ret;
	}
	config_users_free(c->leaf_users, c->nleaf_users);
	c->leaf_users = u;
	c->nleaf_users = (int)n;
	return 0;
}

/* leafnodes { min_version: "2.8.0" }: a string nats-server's semver takes,
 * at least 2.8.0 (the first version that sends its own in CONNECT). */
int config_set_leaf_min_version(struct config_ctx *x, const struct config_row *r,
                                const struct config_in *in)
{
	(void)r;
	struct config *c = x->c;
	static const unsigned oldest[3] = {2, 8, 0};
	if (conf_type(in->v) != CONF_STRING) {
		config_report_in(x, false, in,
		                 "interface conversion: interface {} is %s, not string",
		                 config_go_type(in->v));
		return -EINVAL;
	}
	const char *s;
	if (config_in_string(x, in, &s))
		return -EINVAL;
	unsigned v[3];
	if (!connect_version_parse(s, v)) {
		config_report_in(x, false, in,
		                 "invalid leafnode's minimum version: invalid semver");
		return -EINVAL;
	}
	if (!connect_version_at_least(s, oldest)) {
		config_report_in(x, false, in, "the minimum version should be at least 2.8.0");
		return -EINVAL;
	}
	char *dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	free(c->leaf_min_version);
	c->leaf_min_version = dup;
	memcpy(c->leaf_min_version_v, v, sizeof(v));
	return 0;
}
