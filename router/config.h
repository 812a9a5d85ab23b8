/* The server's settings: defaults, the command line (nats-server's common
 * flags plus ringbus's own) and the configuration file (-c). */
#ifndef ROUTER_CONFIG_H
#define ROUTER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

struct adm_config;

#define CONFIG_MAX_THREADS 64
#define CONFIG_MAX_SHARDS  256

/* Read-only after start. Strings are owned (heap), freed by config_fini(). */
struct config {
	char *host;
	int port;
	int http_port; /* -m: monitoring (0 = off) */
	int io_threads;
	int workers;
	int shards;
	bool pin;
	uint32_t max_payload;
	uint32_t max_pending;       /* output bytes per connection before it is closed */
	uint32_t ping_interval_ms;  /* server PINGs an idle client this often */
	uint32_t ping_max;          /* unanswered PINGs before 'Stale Connection' */
	uint32_t write_deadline_ms; /* no output progress this long: slow consumer */
	uint32_t auth_timeout_ms;
	uint32_t shutdown_timeout_ms; /* a closing connection may flush this long */
	char *user;
	char *pass;
	char *token;
	char *log_file;
	bool debug;
	bool trace;
	uint32_t inline_max; /* an I/O thread runs a sleeping worker's shard itself up to this many
	                        entries */
	uint32_t spin_us;    /* idle polling before a thread sleeps */
	uint32_t buf_count;  /* provided recv buffers per I/O thread */
	uint32_t buf_size;
	uint32_t max_connections;
	uint32_t max_subscriptions; /* per connection; 0 = no limit (as nats-server) */
	char **users;               /* name, password (plain or bcrypt) pairs from [users] */
	int nusers;
	bool tls;                /* clients must use TLS (--tls, --tlsverify, tls_* keys) */
	bool tls_verify;         /* and present a certificate signed by tls_ca */
	bool tls_ktls;           /* let the kernel carry records when it can (default) */
	char *tls_cert;          /* PEM certificate chain */
	char *tls_key;           /* PEM private key */
	char *tls_ca;            /* PEM CAs of client certificates */
	uint32_t tls_timeout_ms; /* accept to end of handshake (default 2 s, as nats-server) */
	struct adm_config *adm;  /* admission settings, turned into policies at start */
	char *config_file;
	bool check_config; /* --check-config: validate and exit */
	/* Receives each problem found while reading and checking the settings,
	 * one line without its newline ("FILE:LINE: unknown setting 'x'"). NULL
	 * (config_init's default): printed to stderr as they are, as at start-up
	 * and for --check-config. A reload sends them to the log. */
	void (*report)(const char *problem);
};

/* Fills @c with the defaults (machine-dependent thread counts). */
void config_init(struct config *c);
void config_fini(struct config *c);

/* Applies the command line. A -c file is read first, then the other flags
 * override it. Returns 0; 1 when the caller should exit 0 (--help, --version
 * printed); or -EINVAL after reporting what was wrong (c->report). */
RB_MUST_CHECK int config_parse_args(struct config *c, int argc, char **argv);

/* Reads the file @path (INI: "key = value" or "key: value", # comments,
 * quotes allowed around values; nats-server's simple keys are accepted).
 * Returns 0 or -EINVAL / -errno after reporting "file:line: ..." for each
 * problem (c->report). */
RB_MUST_CHECK int config_load_file(struct config *c, const char *path);

/* Checks the values against each other and the machine; reports problems
 * (c->report). Returns 0 or -EINVAL. */
RB_MUST_CHECK int config_validate(struct config *c);

/* Logs the effective configuration at info level. */
void config_log(const struct config *c);

#endif /* ROUTER_CONFIG_H */
