/* SIGHUP: the configuration read again (the flags, the file, the flags, as
 * at start) and put in force whole, or not at all, as nats-server reloads:
 * a setting a reload cannot change refuses the reload. What may change
 * (router/conf/table.c marks it): admission policies, authorization,
 * limits for new connections, pings, logging, lame duck durations, TLS
 * certificates and settings for new handshakes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "router/account.h"
#include "router/admission.h"
#include "router/auth.h"
#include "router/route.h"
#include "router/server_int.h"
#include "router/tls_glue.h"

/* Adds user @u to @a in the account it names (the accounts are @acc's). */
static int server_live_user(struct auth *a, const struct config_user *u,
                            const struct perms *defaults, const struct acc_table *acc)
{
	int in = u->account ? acc_find(acc, u->account) : ACC_GLOBAL;
	if (in < 0)
		return -EINVAL;
	/* authorization's default_permissions are for its own users; an
	 * account's defaults were given to its users while reading */
	const struct perms *p = u->perms ? u->perms : u->account ? NULL : defaults;
	return u->nkey ? auth_add_nkey(a, u->nkey, p, (uint16_t)in)
	               : auth_add_user(a, u->name, u->password ? u->password : "", p, (uint16_t)in);
}

/* WebSocket clients' own set, as nats-server 2.9.10 builds it: when
 * websocket { } names a user, a token or a no_auth_user, they replace the
 * top level's user, token and no_auth_user for those clients, who still log
 * in as the users of authorization { users } (a token wins over a user, as
 * nats-server checks it first). NULL in *@out: no such override. Returns 0
 * or -ENOMEM. */
static int server_live_ws_auth(const struct config *c, const struct acc_table *acc,
                               struct auth **out)
{
	*out = NULL;
	if (!c->ws_user && !c->ws_token && !c->ws_no_auth_user)
		return 0;
	struct auth *a = auth_new();
	if (!a)
		return -ENOMEM;
	int ret = 0;
	for (int i = 0; i < c->nusers && !ret; i++)
		ret = server_live_user(a, &c->users[i], c->default_perms, acc);
	if (!ret && c->ws_token)
		ret = auth_set_token(a, c->ws_token);
	else if (!ret && c->ws_user)
		ret = auth_add_user(a, c->ws_user, c->ws_pass ? c->ws_pass : "", NULL, ACC_GLOBAL);
	if (!ret && c->ws_no_auth_user)
		ret = auth_set_no_auth_user(a, c->ws_no_auth_user);
	if (ret) {
		auth_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

struct live *server_live_new(const struct config *c, const struct acc_table *prev)
{
	struct live *lv = calloc(1, sizeof(*lv));
	if (!lv)
		return NULL;
	lv->auth = auth_new();
	lv->acc = acc_table_new(c, prev);
	if (!lv->auth || !lv->acc)
		goto err;
	const struct acc_table *acc = lv->acc;
	if (c->user && auth_add_user(lv->auth, c->user, c->pass ? c->pass : "", NULL, ACC_GLOBAL))
		goto err;
	if (c->token && auth_set_token(lv->auth, c->token))
		goto err;
	if (c->no_auth_user && auth_set_no_auth_user(lv->auth, c->no_auth_user))
		goto err;
	for (int i = 0; i < c->nusers; i++)
		if (server_live_user(lv->auth, &c->users[i], c->default_perms, acc)) {
			log_error("authorization users: invalid entry '%s'",
			          c->users[i].name ? c->users[i].name : c->users[i].nkey);
			goto err;
		}
	if (server_live_ws_auth(c, acc, &lv->ws_auth))
		goto err;
	lv->max_payload = c->max_payload;
	lv->max_control_line = c->max_control_line;
	lv->max_connections = c->max_connections;
	lv->max_subscriptions = c->max_subscriptions;
	lv->ping_interval_ms = c->ping_interval_ms;
	lv->ping_max = c->ping_max;
	lv->auth_timeout_ms = c->auth_timeout_ms;
	lv->ws_auth_timeout_ms = c->ws_auth_timeout_ms ? c->ws_auth_timeout_ms : c->auth_timeout_ms;
	lv->inline_max = c->inline_max;
	lv->tls_verify = c->tls_verify;
	return lv;
err:
	server_live_free(lv);
	return NULL;
}

/* A problem found while reading the settings again: in the log with
 * everything else, not on stderr (which a daemon's log file is not). */
static void server_reload_problem(const char *problem)
{
	log_error("reload: %s", problem);
}

/* Logging as the new settings say: level, timestamps, file. */
static void server_reload_logging(struct server *s, const struct config *c)
{
	enum log_level level = c->trace ? LOG_TRACE : c->debug ? LOG_DEBUG : LOG_INFO;
	if (level != log_get_level()) {
		log_info("reload: log level %d -> %d", (int)log_get_level(), (int)level);
		log_set_level(level);
	}
	log_set_time(c->logtime);
	const char *was = s->cfg.log_file ? s->cfg.log_file : "";
	if (strcmp(was, c->log_file ? c->log_file : "") && log_open(c->log_file) != 0)
		log_error("reload: cannot open the log file %s", c->log_file);
}

/* Moves the reloadable settings only the main thread reads from @c into the
 * server's configuration, so the next reload compares with them; what
 * other threads read is in the generation (struct live) instead. */
static void server_reload_keep(struct server *s, struct config *c)
{
	struct config *k = &s->cfg;
	char **strings[][2] = {{&k->log_file, &c->log_file}, {&k->user, &c->user},
	                       {&k->pass, &c->pass},         {&k->token, &c->token},
	                       {&k->tls_cert, &c->tls_cert}, {&k->tls_key, &c->tls_key},
	                       {&k->tls_ca, &c->tls_ca}};
	for (size_t i = 0; i < RB_ARRAY_LEN(strings); i++) {
		char *tmp = *strings[i][0];
		*strings[i][0] = *strings[i][1];
		*strings[i][1] = tmp; /* freed with @c */
	}
	struct config_list l = k->tls_ciphers;
	k->tls_ciphers = c->tls_ciphers;
	c->tls_ciphers = l;
	l = k->tls_curves;
	k->tls_curves = c->tls_curves;
	c->tls_curves = l;
	struct config_user *u = k->users;
	int nu = k->nusers;
	k->users = c->users;
	k->nusers = c->nusers;
	c->users = u;
	c->nusers = nu;
	struct adm_config *a = k->adm;
	k->adm = c->adm;
	c->adm = a;
	k->max_payload = c->max_payload;
	k->max_control_line = c->max_control_line;
	k->max_connections = c->max_connections;
	k->max_subscriptions = c->max_subscriptions;
	k->ping_interval_ms = c->ping_interval_ms;
	k->ping_max = c->ping_max;
	k->auth_timeout_ms = c->auth_timeout_ms;
	k->inline_max = c->inline_max;
	k->lame_duck_duration_ms = c->lame_duck_duration_ms;
	k->lame_duck_grace_ms = c->lame_duck_grace_ms;
	k->debug = c->debug;
	k->trace = c->trace;
	k->logtime = c->logtime;
	k->tls_verify = c->tls_verify;
	k->tls_timeout_ms = c->tls_timeout_ms;
}

/* Reads and checks the new configuration into @c. Returns 0 or -EINVAL
 * after logging why. */
static int server_reload_read(struct server *s, struct config *c)
{
	config_init(c);
	c->report = server_reload_problem;
	if (!s->argv || config_parse_args(c, s->argc, s->argv) != 0 || config_validate(c) != 0) {
		log_error("reload: the configuration is invalid; nothing changed");
		return -EINVAL;
	}
	if (config_reload_check(&s->cfg, c) != 0) {
		log_error("reload: nothing changed");
		return -EINVAL;
	}
	return 0;
}

void server_reload(struct server *s)
{
	if (!s->cfg.config_file) {
		/* nats-server: "can only reload config when a file is provided
		 * using -c or --config"; the command line has not changed. */
		log_error("reload: ringbus was started without a configuration file (-c FILE): "
		          "nothing to reload");
		return;
	}
	struct config c;
	if (server_reload_read(s, &c) != 0) {
		config_fini(&c);
		return;
	}
	struct admission *adm = NULL;
	struct live *lv = NULL;
	if (admission_new(c.adm, c.report, &adm) != 0 ||
	    !(lv = server_live_new(&c, server_acc(s))) || tls_glue_reload(s, &c) != 0) {
		log_error("reload: cannot build the new settings; nothing changed");
		admission_free(adm);
		server_live_free(lv);
		config_fini(&c);
		return;
	}
	const struct live *old = server_live(s);
	if (auth_required(old->auth) != auth_required(lv->auth) ||
	    auth_nusers(old->auth) != auth_nusers(lv->auth))
		log_info("reload: authentication %s, %d users -> %s, %d users",
		         auth_required(old->auth) ? "on" : "off", auth_nusers(old->auth),
		         auth_required(lv->auth) ? "on" : "off", auth_nusers(lv->auth));
	else
		log_info("reload: authentication unchanged (%d users%s)", auth_nusers(lv->auth),
		         auth_required(lv->auth) ? "" : ", off");
	server_reload_logging(s, &c);
	admission_log(adm);
	server_svc_apply(s, adm);
	const struct acc_table *was = old->acc;
	server_gen_swap(s, adm, lv); /* @old stays until server_gen_reap() */
	route_mgr_accounts_changed(s, was, lv->acc);
	server_reload_keep(s, &c);
	config_fini(&c);
	log_info("reload: done");
}
