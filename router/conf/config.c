/* The settings' life: defaults, the command line and the file in the order
 * nats-server reads them, and the release of what they own. */
#define _GNU_SOURCE
#include "router/conf/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/pin.h"
#include "router/admission.h"
#include "router/perm.h"
#include "router/conf/table.h"

/* config_row_by_key() as struct config_ctx takes it. */
static const struct config_row *config_lookup(int block, const char *key)
{
	return config_row_by_key((enum config_block)block, key);
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	int ncpu = pin_ncpus();
	c->host = strdup("0.0.0.0");
	c->port = 4222;
	c->io_threads = ncpu / 2 > 0 ? ncpu / 2 : 1;
	c->workers = ncpu - c->io_threads > 0 ? ncpu - c->io_threads : 1;
	c->shards = 0; /* 0: 4 per worker, filled in by config_validate() */
	/* On a machine of 2 cores or fewer, the threads share cores with each
	 * other and with everything else (a load generator, the clients): then
	 * pinning and handing batches to a worker cost more than they save, and
	 * idle polling is kept short (50 us: enough to catch the next request of
	 * a round trip, which halves request/reply latency; measured in
	 * bench/RESULTS.md). */
	bool small = ncpu <= 2;
	c->pin = !small;
	c->max_payload = 1024 * 1024;
	c->max_pending = 64u * 1024 * 1024;
	c->max_connections = 64 * 1024;
	c->max_control_line = 4096;
	c->ping_interval_ms = 2 * 60 * 1000;
	c->ping_max = 2;
	c->write_deadline_ms = 10000; /* nats-server's defaults, all of them */
	c->lame_duck_duration_ms = 2 * 60 * 1000;
	c->lame_duck_grace_ms = 10000;
	c->logtime = true;
	c->leaf_reconnect_ms = 1000;
	c->shutdown_timeout_ms = 10000;
	c->stats_interval_ms = CONFIG_STATS_AUTO;
	c->inline_max = small ? UINT32_MAX : 64;
	c->spin_us = small ? 50 : 100;
	c->adm = adm_config_new();
	c->buf_count = 256;
	c->buf_size = 64 * 1024;
	c->tls_ktls = true;
	c->tls_timeout_ms = 2000;
}

struct tls_config config_tls_settings(const struct config_tls *t)
{
	return (struct tls_config){
	    .cert_file = t->cert,
	    .key_file = t->key,
	    .ca_file = t->ca,
	    .verify = t->verify,
	    .insecure = t->insecure,
	    .timeout_ms = t->timeout_ms ? t->timeout_ms : 2000,
	    .ciphers = (const char *const *)t->ciphers.v,
	    .nciphers = t->ciphers.n,
	    .curves = (const char *const *)t->curves.v,
	    .ncurves = t->curves.n,
	};
}

void config_fini(struct config *c)
{
	char **strings[] = {&c->host,
	                    &c->http_host,
	                    &c->server_name,
	                    &c->log_file,
	                    &c->pid_file,
	                    &c->user,
	                    &c->pass,
	                    &c->token,
	                    &c->tls_cert,
	                    &c->tls_key,
	                    &c->tls_ca,
	                    &c->tls_flags.cert,
	                    &c->tls_flags.key,
	                    &c->tls_flags.ca,
	                    &c->config_file,
	                    &c->signal,
	                    &c->no_auth_user,
	                    &c->cluster_name,
	                    &c->cluster_host,
	                    &c->cluster_user,
	                    &c->cluster_pass,
	                    &c->js_domain,
	                    &c->leaf_host,
	                    &c->ws_host,
	                    &c->ws_user,
	                    &c->ws_pass,
	                    &c->ws_token,
	                    &c->ws_no_auth_user,
	                    &c->leaf_user,
	                    &c->leaf_pass,
	                    &c->leaf_auth_account,
	                    &c->leaf_min_version,
	                    &c->system_account};
	for (size_t i = 0; i < RB_ARRAY_LEN(strings); i++)
		free(*strings[i]);
	config_users_free(c->users, c->nusers);
	config_users_free(c->leaf_users, c->nleaf_users);
	config_accounts_free(c->accounts, c->naccounts);
	perm_free(c->default_perms);
	config_list_free(&c->tls_ciphers);
	config_list_free(&c->tls_curves);
	config_list_free(&c->routes);
	config_list_free(&c->ws_allowed_origins);
	config_tls_fini(&c->ws_tls);
	config_tls_fini(&c->cluster_tls);
	config_tls_fini(&c->leaf_tls);
	config_tls_fini(&c->leaf_rtls);
	for (int i = 0; i < c->nleaf_remotes; i++) {
		config_tls_fini(&c->leaf_remote_tls[i]);
		config_list_free(&c->leaf_urls[i]);
		config_list_free(&c->leaf_deny_imports[i]);
		config_list_free(&c->leaf_deny_exports[i]);
		free(c->leaf_account[i]);
		free(c->leaf_creds[i]);
	}
	adm_config_free(c->adm);
	memset(c, 0, sizeof(*c));
}

int config_load_file(struct config *c, const char *path)
{
	struct config_ctx x = {.c = c, .row_by_key = config_lookup};
	struct conf_value *root;
	struct conf_error err;
	int ret = conf_parse_file(path, 0, &root, &err);
	if (ret) {
		/* err.text names the file (and line and column) already */
		if (c->report)
			c->report(err.text);
		else
			fprintf(stderr, "%s\n", err.text);
		return ret;
	}
	ret = config_map_block(&x, root, CONFIG_B_TOP);
	conf_free(root);
	c->warnings += x.warnings;
	return ret;
}

/* The --tls* flags replace the file's tls block, as in nats-server: TLS from
 * the flags alone (default suites and curves), or none with --tls=false. */
static int config_tls_flags(struct config_ctx *x, const struct config_flags_seen *seen)
{
	struct config *c = x->c;
	struct config_tls_flags *f = &c->tls_flags;
	if (!seen->tls)
		return 0;
	config_list_free(&c->tls_ciphers);
	config_list_free(&c->tls_curves);
	if (seen->tls_off) {
		c->tls = c->tls_verify = false;
		return 0;
	}
	struct config_in in = {.name = "--tls"};
	if (!f->cert) {
		config_report_in(x, false, &in, "TLS Server certificate must be present and valid");
		return -EINVAL;
	}
	if (!f->key) {
		config_report_in(x, false, &in, "TLS Server private key must be present and valid");
		return -EINVAL;
	}
	char **to[] = {&c->tls_cert, &c->tls_key, &c->tls_ca};
	const char *from[] = {f->cert, f->key, f->ca};
	for (size_t i = 0; i < 3; i++) {
		free(*to[i]);
		*to[i] = from[i] ? strdup(from[i]) : NULL;
		if (from[i] && !*to[i])
			return -ENOMEM;
	}
	c->tls = true;
	c->tls_verify = f->verify;
	return 0;
}

/* The first pass printed what was asked and nothing else is to be done. */
static bool config_only_print(const struct config *c)
{
	if (c->show_version)
		config_print_version(stdout);
	else if (c->show_help)
		config_print_help(stdout);
	else if (c->show_help_all)
		config_print_help_all(stdout);
	else if (c->show_help_man)
		config_print_man(stdout);
	else if (c->show_help_man_conf)
		config_print_man_conf(stdout);
	else if (c->show_help_tls)
		config_print_help_tls(stdout);
	else
		return false;
	return true;
}

int config_parse_args(struct config *c, int argc, char **argv)
{
	struct config_ctx x = {.c = c, .row_by_key = config_lookup};
	struct config_flags_seen seen = {0};
	if (config_flags_apply(&x, argc, argv, &seen))
		return -EINVAL;
	if (config_only_print(c))
		return 1;
	/* A signal for a given process needs no file (nats-server reads it
	 * after sending); without one, the file's pid_file names it. */
	if (c->signal && strchr(c->signal, '='))
		return 0;
	if (c->check_config && !c->config_file) {
		struct config_in in = {.name = "-t"};
		config_report_in(&x, false, &in,
		                 "must specify [-c, --config] option to check configuration file "
		                 "syntax");
		return -EINVAL;
	}
	if (c->config_file) {
		char *file = strdup(c->config_file);
		int ret = file ? config_load_file(c, file) : -ENOMEM;
		free(file);
		if (ret)
			return -EINVAL;
		/* Again: a flag wins over the file. */
		seen = (struct config_flags_seen){0};
		if (config_flags_apply(&x, argc, argv, &seen))
			return -EINVAL;
	}
	if (config_tls_flags(&x, &seen))
		return -EINVAL;
	c->warnings += x.warnings;
	return 0;
}

void config_log(const struct config *c)
{
	log_info("ringbus %s (nats-server %s clients see) listening on %s:%d", RINGBUS_VERSION,
	         CONFIG_NATS_VERSION, c->host, c->port);
	log_info("threads: %d I/O, %d workers, %d shards, pinning %s", c->io_threads, c->workers,
	         c->shards, c->pin ? "on" : "off");
	if (c->inline_max == UINT32_MAX)
		log_info("routing: I/O threads route inline whenever a shard's worker sleeps; "
		         "idle polling %u us",
		         c->spin_us);
	else
		log_info("routing: I/O threads route inline up to %u entries; idle polling %u us",
		         c->inline_max, c->spin_us);
	log_info("max_payload %u, max_pending %u, ping every %u ms (max %u), auth %s",
	         c->max_payload, c->max_pending, c->ping_interval_ms, c->ping_max,
	         c->nusers  ? "users"
	         : c->user  ? "user/password"
	         : c->token ? "token"
	                    : "off");
	if (c->max_payload > 8u * 1024 * 1024)
		log_warn(
		    "Maximum payloads over 8.00 MB are generally discouraged and could lead to "
		    "poor performance");
	bool plain = (c->pass && c->pass[0] != '$') || (c->token && c->token[0] != '$');
	for (int i = 0; i < c->nusers; i++)
		plain |= c->users[i].password && c->users[i].password[0] != '$';
	if (plain)
		log_warn("Plaintext passwords detected, use nkeys or bcrypt");
	if (c->tls)
		log_info("tls: required for clients, certificate %s, client certificates %s",
		         c->tls_cert, c->tls_verify ? "required" : "not requested");
}
