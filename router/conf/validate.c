/* The settings checked against each other and the machine, with
 * nats-server's defaults filled in where a 0 asks for them, in nats-server's
 * words where it has them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pin.h"
#include "io/tls/tls.h"
#include "router/conf/table.h"

/* nats-server reads 0 as "the default" for these. */
static void config_defaults_for_zero(struct config *c)
{
	if (c->max_connections == 0)
		c->max_connections = 64 * 1024;
	if (c->max_control_line == 0)
		c->max_control_line = 4096;
	if (c->ping_max == 0)
		c->ping_max = 2;
	if (c->write_deadline_ms == 0)
		c->write_deadline_ms = 10000;
	if (c->lame_duck_grace_ms == 0)
		c->lame_duck_grace_ms = 10000;
	if (!c->host || !c->host[0]) {
		free(c->host);
		c->host = strdup("0.0.0.0");
	}
	if (c->auth_timeout_ms == 0)
		c->auth_timeout_ms = c->tls ? c->tls_timeout_ms + 1000 : 2000;
	if (c->shards == 0)
		c->shards = c->workers * 4 > CONFIG_MAX_SHARDS ? CONFIG_MAX_SHARDS : c->workers * 4;
}

/* Loads one TLS block's files now (@name: where it is), so that mistakes
 * show at start and in -t, in nats-server's words where it has some. */
static int config_validate_tls_files(struct config_ctx *x, const char *name,
                                     const struct tls_config *tc)
{
	struct config_in in = {.name = name};
	if (tc->cert_file && !tc->key_file) {
		config_report_in(x, false, &in, "missing 'key_file' in TLS configuration");
		return -EINVAL;
	}
	if (!tc->cert_file) {
		config_report_in(x, false, &in, "missing 'cert_file' in TLS configuration");
		return -EINVAL;
	}
	char why[512];
	struct tls_ctx *t = NULL;
	int ret = tls_ctx_new(tc, &t, why, sizeof(why));
	if (ret)
		config_report_in(x, false, &in, "%s", why);
	tls_ctx_free(t);
	return ret ? -EINVAL : 0;
}

static int config_validate_tls(struct config_ctx *x)
{
	struct config *c = x->c;
	if (c->tls_cert)
		c->tls = true; /* set by hand (tests, embedders): no block, no flag */
	if (!c->tls)
		return 0;
	struct tls_config tc = {.cert_file = c->tls_cert,
	                        .key_file = c->tls_key,
	                        .ca_file = c->tls_ca,
	                        .verify = c->tls_verify,
	                        .ciphers = (const char *const *)c->tls_ciphers.v,
	                        .nciphers = c->tls_ciphers.n,
	                        .curves = (const char *const *)c->tls_curves.v,
	                        .ncurves = c->tls_curves.n};
	return config_validate_tls_files(x, "tls", &tc);
}

static int config_validate_link_tls(struct config_ctx *x, const char *name,
                                    const struct config_tls *t)
{
	if (!t->on)
		return 0;
	struct tls_config tc = config_tls_settings(t);
	tc.link = t == &x->c->cluster_tls;
	return config_validate_tls_files(x, name, &tc);
}

/* A remote's tls { }: a certificate is optional (none is shown to the
 * hub), but a certificate and a key go together. */
static int config_validate_remote_tls(struct config_ctx *x)
{
	struct config *c = x->c;
	for (int i = 0; i < c->nleaf_remotes; i++) {
		const struct config_tls *t = &c->leaf_remote_tls[i];
		if (!t->on)
			continue;
		struct tls_config tc = config_tls_settings(t);
		tc.link = true;
		struct config_in in = {.name = "leafnodes remote tls"};
		if ((t->cert || t->key) && config_validate_tls_files(x, in.name, &tc))
			return -EINVAL;
		char why[512];
		struct tls_ctx *ctx = NULL;
		if (!t->cert && !t->key && tls_ctx_new(&tc, &ctx, why, sizeof(why))) {
			config_report_in(x, false, &in, "%s", why);
			return -EINVAL;
		}
		tls_ctx_free(ctx);
	}
	return 0;
}

/* Authorization given more than one way, as nats-server refuses it. */
static void config_validate_auth(struct config_ctx *x)
{
	struct config *c = x->c;
	struct config_in in = {.name = "authorization"};
	if ((c->user == NULL) != (c->pass == NULL))
		config_report_in(x, false, &in,
		                 "--user and --pass (user and password) go together");
	if ((c->user || c->pass) && c->token)
		config_report_in(x, false, &in, "Cannot have a user/pass and token");
	if (c->nusers && c->user)
		config_report_in(x, false, &in,
		                 "Can not have a single user/pass and a users array");
	if (c->nusers && c->token)
		config_report_in(x, false, &in, "Can not have a token and a users array");
	if (!c->no_auth_user)
		return;
	bool found = false;
	for (int i = 0; i < c->nusers; i++)
		found |= c->users[i].name && !strcmp(c->users[i].name, c->no_auth_user);
	struct config_in nu = {.name = "no_auth_user"};
	if (!c->nusers && c->user)
		config_report_in(x, false, &nu,
		                 "no_auth_user: \"%s\" present, but users are not defined",
		                 c->no_auth_user);
	else if (!found)
		config_report_in(
		    x, false, &nu,
		    "no_auth_user: \"%s\" not present as user in authorization block or "
		    "account configuration",
		    c->no_auth_user);
}

/* websocket { authorization { } no_auth_user }, as nats-server 2.9.10
 * checks them: its user or token cannot stand beside the top level's users
 * (a WebSocket client would have no way to log in as one of them), and its
 * no_auth_user must be one of those users. */
static void config_validate_ws_auth(struct config_ctx *x)
{
	const struct config *c = x->c;
	struct config_in in = {.name = "websocket"};
	if (c->nusers && c->ws_user)
		config_report_in(x, false, &in,
		                 "websocket authentication username not compatible with presence "
		                 "of users/nkeys");
	else if (c->nusers && c->ws_token)
		config_report_in(x, false, &in,
		                 "websocket authentication token not compatible with presence of "
		                 "users/nkeys");
	if (!c->ws_no_auth_user)
		return;
	int named = 0;
	bool found = false;
	for (int i = 0; i < c->nusers; i++) {
		named += c->users[i].name != NULL;
		found |= c->users[i].name && !strcmp(c->users[i].name, c->ws_no_auth_user);
	}
	struct config_in nu = {.name = "websocket no_auth_user"};
	if (!named)
		config_report_in(x, false, &nu,
		                 "no_auth_user: \"%s\" present, but users are not defined",
		                 c->ws_no_auth_user);
	else if (!found)
		config_report_in(x, false, &nu,
		                 "no_auth_user: \"%s\" not present as user in authorization block "
		                 "or account configuration",
		                 c->ws_no_auth_user);
}

static bool config_has_account(const struct config *c, const char *name)
{
	for (int i = 0; i < c->naccounts; i++)
		if (!strcmp(c->accounts[i].name, name))
			return true;
	return false;
}

/* system_account and the accounts leaf node remotes are bound to name
 * accounts: nats-server's -t takes any name, and its start fails with
 * these lines; ringbus says them in -t too. */
static void config_validate_account_names(struct config_ctx *x)
{
	struct config *c = x->c;
	if (c->system_account && !config_has_account(c, c->system_account)) {
		struct config_in in = {.name = "system_account"};
		config_report_in(x, false, &in, "error resolving system account: account missing");
	}
	const char *la = c->leaf_auth_account;
	if (la && strcmp(la, "$G") && !config_has_account(c, la)) {
		struct config_in in = {.name = "leafnodes"};
		config_report_in(
		    x, false, &in,
		    "cannot find local account \"%s\" specified in leafnode authorization", la);
	}
	for (int i = 0; i < c->nleaf_users; i++) {
		const char *a = c->leaf_users[i].account;
		if (a && strcmp(a, "$G") && !config_has_account(c, a)) {
			struct config_in in = {.name = "leafnodes"};
			config_report_in(
			    x, false, &in,
			    "cannot find local account \"%s\" specified in leafnode authorization",
			    a);
		}
	}
	if (c->leaf_user && c->nleaf_users) {
		struct config_in in = {.name = "leafnodes"};
		config_report_in(x, false, &in,
		                 "can not have a single user/pass and a users array");
	}
	for (int i = 0; i < c->nleaf_remotes; i++) {
		const char *a = c->leaf_account[i];
		if (a && strcmp(a, "$G") && !config_has_account(c, a)) {
			struct config_in in = {.name = "leafnodes"};
			config_report_in(
			    x, false, &in,
			    "cannot find local account \"%s\" specified in leafnode remote", a);
		}
	}
}

static void config_validate_threads(struct config_ctx *x)
{
	struct config *c = x->c;
	struct config_in in = {.name = "threads"};
	int ncpu = pin_ncpus();
	int threads = c->io_threads + c->workers;
	if (c->shards < c->workers)
		config_report_in(x, false, &in, "shards (%d) must be at least workers (%d)",
		                 c->shards, c->workers);
	if (threads > 4 * ncpu)
		config_report_in(x, false, &in,
		                 "%d I/O threads and workers on %d cores: at most %d (4 per core); "
		                 "threads that outnumber cores convoy on the rings",
		                 threads, ncpu, 4 * ncpu);
	else if (threads > ncpu) {
		/* worth a word, not a failed check */
		char line[128];
		snprintf(line, sizeof(line),
		         "ringbus: warning: %d I/O threads and workers on %d cores", threads, ncpu);
		if (c->report)
			c->report(line);
		else
			fprintf(stderr, "%s\n", line);
	}
}

int config_validate(struct config *c)
{
	struct config_ctx x = {.c = c, .row_by_key = NULL}; /* no block is walked here */
	struct config_in in = {.name = "config"};
	char a[32], b[32];
	config_defaults_for_zero(c);
	if (!c->host)
		return -ENOMEM;
	if (c->max_payload > c->max_pending)
		config_report_in(&x, false, &in,
		                 "max_payload (%u) cannot be higher than max_pending (%u)",
		                 c->max_payload, c->max_pending);
	if (c->lame_duck_grace_ms >= c->lame_duck_duration_ms)
		config_report_in(
		    &x, false, &in,
		    "lame duck grace period (%s) should be strictly lower than lame duck "
		    "duration (%s)",
		    config_ms_text(c->lame_duck_grace_ms, a, sizeof(a)),
		    config_ms_text(c->lame_duck_duration_ms, b, sizeof(b)));
	config_validate_auth(&x);
	config_validate_ws_auth(&x);
	config_validate_account_names(&x);
	if (c->stats_interval_ms == CONFIG_STATS_AUTO)
		c->stats_interval_ms = c->system_account ? 1000 : 0;
	config_validate_threads(&x);
	if (c->ws_listen && !c->ws_no_tls && !c->ws_tls.on) {
		struct config_in ws = {.name = "websocket"};
		config_report_in(&x, false, &ws,
		                 "websocket requires TLS configuration: add tls { cert_file, "
		                 "key_file } or set no_tls: true");
	}
	if (config_validate_tls(&x) || config_validate_link_tls(&x, "websocket tls", &c->ws_tls) ||
	    config_validate_link_tls(&x, "cluster tls", &c->cluster_tls) ||
	    config_validate_link_tls(&x, "leafnodes tls", &c->leaf_tls) ||
	    config_validate_remote_tls(&x))
		return -EINVAL;
	return x.errors ? -EINVAL : 0;
}
