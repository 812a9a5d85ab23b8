/* The server's settings: defaults, the command line (nats-server's flags as
 * Go spells them, and ringbus's own) and a configuration file in
 * nats-server's format (-c FILE, read by core/conf). Every setting is one
 * row of the table in router/conf/table.c; the flag parser, the file's
 * mapping, --help, --check-config and reload all read that table
 * (docs/OPERATIONS.md lists them all). */
#ifndef ROUTER_CONF_CONFIG_H
#define ROUTER_CONF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "io/tls/tls.h"
#include "router/conf/value.h"

struct adm_config;

#define CONFIG_MAX_THREADS 64
#define CONFIG_MAX_SHARDS  256

/* The nats-server release whose client-visible behaviour ringbus implements:
 * INFO's "version", and what -v prints first. */
#define CONFIG_NATS_VERSION "2.9.10"

/* stats_interval not given: 1 s when a system_account takes the figures,
 * off otherwise (nats-server publishes nothing in $G, so a client of $G
 * subscribed to ">" sees nothing it did not ask for). */
#define CONFIG_STATS_AUTO UINT32_MAX

/* A user of authorization { users: [...] } (@account NULL) or of an
 * account's users: [...] (accounts { A: { users } }). Names and nkeys are
 * unique across both. An account user's @perms already hold its account's
 * default_permissions when it has none of its own; authorization's
 * default_permissions are for the users of $G. Strings owned. */
struct perms;

struct config_user {
	char *name;
	char *password;      /* plain, or a bcrypt hash ($2a$, $2b$, $2y$) */
	struct perms *perms; /* its permissions (router/perm.h), or NULL */
	char *nkey;          /* an NKey user's public key (then no name nor password) */
	char *account;       /* accounts { A: { users } }: its account; NULL: $G */
};

/* accounts { NAME: { users, exports, imports } } (router/account.h). An
 * export makes subjects of its account available to others: a stream
 * (messages published there) or a service (requests answered there);
 * @accounts, when not empty, names the only accounts that may import it.
 * An import brings an export of account @account into this one: a stream's
 * messages appear here on @subject, or @prefix.@subject, or @to; a
 * service's requests published here on @to (NULL: @subject) go to
 * @account on @subject. Strings owned. */
struct config_export {
	char *subject;
	bool service;
	struct config_list accounts; /* empty: any account may import */
};

struct config_import {
	bool service;
	char *account; /* the exporting account's name */
	char *subject; /* in the exporting account */
	char *to;      /* here (NULL: @subject, or @prefix.@subject) */
	char *prefix;  /* stream imports only (NULL: none) */
};

struct config_account {
	char *name;
	struct config_export *exports;
	int nexports;
	struct config_import *imports;
	int nimports;
};

/* What the --tls* flags gave: they replace the file's tls {} block when any
 * of them is given, as in nats-server. Strings owned. */
struct config_tls_flags {
	bool tls;
	bool verify;
	char *cert;
	char *key;
	char *ca;
};

/* A tls { } block inside websocket { }, cluster { } or leafnodes { }, with
 * nats-server's keys. Strings and lists owned. */
struct config_tls {
	bool on;                    /* the block was given */
	bool verify;                /* the peer presents a certificate @ca signed */
	bool insecure;              /* links we dial do not verify the peer (cluster, leaf) */
	char *cert;                 /* PEM certificate chain */
	char *key;                  /* PEM private key */
	char *ca;                   /* PEM CAs of peer certificates */
	uint32_t timeout_ms;        /* the handshake, at most (0: the default, 2 s) */
	struct config_list ciphers; /* TLS 1.2 suites by Go's names; empty: the defaults */
	struct config_list curves;
};

/* Read-only after start (the server's copy); strings and lists are owned
 * (heap), freed by config_fini(). Durations are in milliseconds. */
#define CONFIG_LEAF_REMOTES_MAX 8

struct config {
	/* server */
	char *host;
	int port;        /* 0: nats-server's 4222; -1: any free port (as nats-server) */
	char *http_host; /* monitoring address (NULL: the client host) */
	int http_port;   /* monitoring (0 = off) */
	char *server_name;
	uint32_t max_payload;
	uint32_t max_pending; /* output bytes per connection before it is closed */
	uint32_t max_connections;
	uint32_t max_subscriptions; /* per connection; 0 = no limit (as nats-server) */
	uint32_t max_control_line;
	uint32_t ping_interval_ms;  /* server PINGs an idle client this often */
	uint32_t ping_max;          /* unanswered PINGs before 'Stale Connection' */
	uint32_t write_deadline_ms; /* no output progress this long: slow consumer */
	uint32_t lame_duck_duration_ms;
	uint32_t lame_duck_grace_ms;
	/* logging */
	char *log_file;
	bool debug;
	bool trace;
	bool logtime;
	char *pid_file;
	/* authorization */
	char *user;
	char *pass;
	char *token;
	char *no_auth_user; /* CONNECT without credentials logs in as this user */
	struct config_user *users;
	struct perms *default_perms; /* authorization { default_permissions }: $G's users */
	int nusers;
	uint32_t auth_timeout_ms; /* 0: nats-server's default (2 s; TLS timeout + 1 s with TLS) */
	/* accounts { } (their users are in @users with their account named) */
	struct config_account *accounts;
	int naccounts;
	char *system_account; /* one of @accounts (config_validate), or NULL: none */
	/* tls */
	bool tls;                /* clients must use TLS (a tls {} block, or --tls* flags) */
	bool tls_verify;         /* and present a certificate signed by tls_ca */
	char *tls_cert;          /* PEM certificate chain */
	char *tls_key;           /* PEM private key */
	char *tls_ca;            /* PEM CAs of client certificates */
	uint32_t tls_timeout_ms; /* accept to end of handshake (default 2 s, as nats-server) */
	struct config_list tls_ciphers; /* TLS 1.2 suites by Go's names; empty: the defaults */
	struct config_list tls_curves;
	struct config_tls_flags tls_flags;
	/* cluster { } and --cluster/--routes/--cluster_name (router/route.h) */
	char *cluster_name;
	char *cluster_host;        /* NULL: no cluster listener */
	int cluster_port;          /* -1: any free port */
	bool cluster_listen;       /* a listener was configured */
	struct config_list routes; /* nats://[user:pass@]host:port, dialled */
	char *cluster_user;        /* cluster { authorization { user password } } */
	char *cluster_pass;
	bool cluster_no_advertise;
	int cluster_connect_retries;   /* implicit (gossiped) routes: tries; explicit: forever */
	struct config_tls cluster_tls; /* TLS on routes: both roles, peers verified */
	/* leafnodes { remotes = [...] }: hubs this node joins as a leaf */
	struct config_list leaf_urls[CONFIG_LEAF_REMOTES_MAX]; /* each remote's URLs */
	char *leaf_account[CONFIG_LEAF_REMOTES_MAX];           /* the local account each is bound to
	                                                          (NULL: $G) */
	/* deny_exports: what is not sent to that hub; deny_imports: what is not
	 * taken from it (subject patterns) */
	struct config_list leaf_deny_exports[CONFIG_LEAF_REMOTES_MAX];
	struct config_list leaf_deny_imports[CONFIG_LEAF_REMOTES_MAX];
	/* credentials: the user JWT and seed file a remote logs in with
	 * (router/creds.h), read at each connection; NULL: none */
	char *leaf_creds[CONFIG_LEAF_REMOTES_MAX];
	/* a remote's tls { }: the hub's certificate checked against ca_file
	 * (unless insecure), ours presented when cert_file is given */
	struct config_tls leaf_remote_tls[CONFIG_LEAF_REMOTES_MAX];
	struct config_tls leaf_rtls; /* the remote tls { } being read (leaf.c) */
	int nleaf_remotes;
	uint32_t leaf_reconnect_ms; /* between tries (default 1 s, as nats-server) */
	bool leaf_listen;           /* leafnodes { listen / port }: accept leaf connections */
	char *leaf_user;            /* leafnodes { authorization { user password account } } */
	char *leaf_pass;
	char *leaf_auth_account; /* the account such a leaf is bound to (NULL: $G) */
	/* leafnodes { authorization { users: [{user password account}] } }: each
	 * leaf user with its account (NULL: $G); no permissions */
	struct config_user *leaf_users;
	int nleaf_users;
	char *leaf_min_version;         /* leafnodes { min_version }: NULL, or as written */
	unsigned leaf_min_version_v[3]; /* ...read: leaves older than it are refused */
	char *leaf_host;
	int leaf_port;              /* -1: any free port */
	struct config_tls leaf_tls; /* leafnodes { tls { } }: INFO, then the leaf's handshake */
	/* websocket { }: NATS clients over WebSocket (docs/WEBSOCKET.md) */
	bool ws_listen; /* a listener was configured */
	char *ws_host;
	int ws_port;              /* -1: any free port */
	bool ws_no_tls;           /* plain ws://: required unless @ws_tls is on */
	struct config_tls ws_tls; /* wss:// */
	bool ws_same_origin;      /* Origin must match Host */
	struct config_list ws_allowed_origins;
	bool ws_compression;              /* permessage-deflate when offered */
	uint32_t ws_handshake_timeout_ms; /* 0: none (nats-server without TLS) */
	/* websocket { authorization { } no_auth_user }: when a user, a token or
	 * a no_auth_user is given, they replace the top level's for WebSocket
	 * clients (the users of authorization { users } stay) */
	char *ws_user;
	char *ws_pass;
	char *ws_token;
	char *ws_no_auth_user;
	uint32_t ws_auth_timeout_ms; /* 0: the top level's auth_timeout_ms */
	char *
	    js_domain; /* default_js_domain of $G: $JS.API. goes to $JS.<it>.API. (NULL, "": not) */
	/* ringbus { } */
	int io_threads;
	int workers;
	int shards;
	bool pin;
	uint32_t inline_max; /* an I/O thread runs a sleeping worker's shard itself up to this many
	                        entries */
	uint32_t spin_us;    /* idle polling before a thread sleeps */
	uint32_t buf_count;  /* provided recv buffers per I/O thread */
	uint32_t buf_size;
	uint32_t shutdown_timeout_ms; /* a closing connection may flush this long */
	uint32_t stats_interval_ms;   /* figures on $SYS.RINGBUS.<id>.STATS this often (0: off;
	                                 CONFIG_STATS_AUTO until validated) */
	bool tls_ktls;                /* let the kernel carry records when it can (default) */
	struct adm_config *adm;       /* admission settings, turned into policies at start */
	/* the command line only */
	char *config_file;
	bool check_config; /* -t, --check-config: validate and exit */
	bool show_help;
	bool show_help_all;
	bool show_help_man;      /* ringbus(8) in groff (the build writes it) */
	bool show_help_man_conf; /* ringbus.conf(5) in groff */
	bool show_help_tls;
	bool show_version;
	char *signal; /* --signal CMD[=PID|=PIDFILE] */
	/* Receives each problem found while reading and checking the settings,
	 * one line without its newline ("FILE:LINE:COL: unknown field "x""). NULL
	 * (config_init's default): printed to stderr as they are, as at start-up
	 * and for --check-config. A reload sends them to the log. */
	void (*report)(const char *problem);
	int warnings; /* found by the last config_parse_args() / config_load_file() */
};

/* Fills @c with the defaults (machine-dependent thread counts). */
void config_init(struct config *c);
void config_fini(struct config *c);

/* @t's settings for io/tls (borrowing @t's strings and lists); the
 * handshake timeout is @t's, 2 s when not given. max_handshakes, no_ktls
 * and link are left for the caller. */
struct tls_config config_tls_settings(const struct config_tls *t);

/* Frees @t's strings and lists (not @t). */
void config_tls_fini(struct config_tls *t);

/* Applies the command line as nats-server does: the flags, then the -c file,
 * then the flags again (a flag wins over the file); then the --tls* flags
 * replace the file's tls block if any was given. Returns 0; 1 when the
 * caller should exit 0 (--help, --help_all, --version, --help_tls, or a
 * manual page printed); or -EINVAL
 * after reporting what was wrong (c->report). Warnings are counted in
 * c->warnings. */
RB_MUST_CHECK int config_parse_args(struct config *c, int argc, char **argv);

/* Reads the nats-server format file @path (core/conf) into @c: each key
 * means what it means to nats-server; ringbus's own settings are in a
 * ringbus {} block. Returns 0, or -EINVAL / -errno after reporting
 * "file:line:col: ..." for each problem (c->report). */
RB_MUST_CHECK int config_load_file(struct config *c, const char *path);

/* Checks the values against each other and the machine and fills in what
 * depends on others (shards, the auth timeout, the port); reports problems
 * (c->report). Returns 0 or -EINVAL. */
RB_MUST_CHECK int config_validate(struct config *c);

/* Compares a new configuration with the one in force: reports (c->report of
 * @now) each setting a reload cannot change, as nats-server words it
 * ("config reload not supported for port: old=4222, new=4223"), and returns
 * -EINVAL if there is one; else logs each reloadable setting that changed
 * ("reload: max_payload = 2097152") and returns 0. */
RB_MUST_CHECK int config_reload_check(const struct config *was, const struct config *now);

/* Logs the effective configuration at info level. */
void config_log(const struct config *c);

#endif /* ROUTER_CONF_CONFIG_H */
