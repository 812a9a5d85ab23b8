/* Defaults, command line and configuration file of the ringbus server. */
#define _GNU_SOURCE
#include "router/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/parse.h"
#include "core/pin.h"
#include "io/tls/tls.h"
#include "router/admission.h"

static void config_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
}

/* Reports one problem with the settings (no newline): to c->report, or as a
 * plain line on stderr. */
RB_PRINTF(2, 3) static void config_problem(const struct config *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->report)
		c->report(line);
	else
		fprintf(stderr, "%s\n", line);
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
	c->ping_interval_ms = 2 * 60 * 1000;
	c->ping_max = 2;
	c->write_deadline_ms = 10000; /* nats-server's default */
	c->auth_timeout_ms = 2000;
	c->shutdown_timeout_ms = 10000;
	c->inline_max = small ? UINT32_MAX : 64;
	c->spin_us = small ? 50 : 100;
	c->max_connections = 64 * 1024;
	c->adm = adm_config_new();
	c->buf_count = 256;
	c->buf_size = 64 * 1024;
	c->tls_ktls = true;
	c->tls_timeout_ms = 2000;
}

void config_fini(struct config *c)
{
	free(c->host);
	free(c->user);
	free(c->pass);
	free(c->token);
	free(c->log_file);
	free(c->config_file);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_ca);
	for (int i = 0; i < 2 * c->nusers; i++)
		free(c->users[i]);
	free(c->users);
	adm_config_free(c->adm);
	memset(c, 0, sizeof(*c));
}

/* The TLS settings (see docs/TLS.md); as config_set(). */
static int config_set_tls(struct config *c, const char *key, const char *val)
{
	uint64_t v;
	bool b;
	if (!strcmp(key, "tls_cert") || !strcmp(key, "tls_cert_file")) {
		config_set_str(&c->tls_cert, val);
	} else if (!strcmp(key, "tls_key") || !strcmp(key, "tls_key_file")) {
		config_set_str(&c->tls_key, val);
	} else if (!strcmp(key, "tls_ca") || !strcmp(key, "tls_ca_file")) {
		config_set_str(&c->tls_ca, val);
	} else if (!strcmp(key, "tls") || !strcmp(key, "tls_verify") || !strcmp(key, "tls_ktls")) {
		if (parse_bool(val, &b))
			return -EINVAL;
		if (!strcmp(key, "tls"))
			c->tls = b;
		else if (!strcmp(key, "tls_verify"))
			c->tls_verify = b;
		else
			c->tls_ktls = b;
	} else if (!strcmp(key, "tls_timeout")) {
		if (parse_duration_ms(val, &v) || v < 10)
			return -EINVAL;
		c->tls_timeout_ms = (uint32_t)v;
	} else {
		return -ENOENT;
	}
	return 0;
}

/* Applies one setting by name; shared by the file and the command line.
 * Returns 0, -ENOENT for an unknown name, or -EINVAL for a bad value. */
static int config_set(struct config *c, const char *key, const char *val)
{
	uint64_t v;
	bool b;
	int tls = config_set_tls(c, key, val);
	if (tls != -ENOENT)
		return tls;

	if (!strcmp(key, "host") || !strcmp(key, "listen") || !strcmp(key, "addr") ||
	    !strcmp(key, "net")) {
		/* nats-server allows "listen: host:port" */
		const char *colon = strrchr(val, ':');
		if (!strcmp(key, "listen") && colon && !strchr(colon, ']')) {
			char host[256];
			size_t n = (size_t)(colon - val);
			if (n >= sizeof(host) || parse_u64(colon + 1, 0, 65535, &v))
				return -EINVAL;
			memcpy(host, val, n);
			host[n] = 0;
			config_set_str(&c->host, n ? host : "0.0.0.0");
			c->port = (int)v;
			return 0;
		}
		config_set_str(&c->host, val);
		return 0;
	}
	if (!strcmp(key, "port")) {
		if (parse_u64(val, 0, 65535, &v))
			return -EINVAL;
		c->port = (int)v;
	} else if (!strcmp(key, "http_port") || !strcmp(key, "monitor_port") ||
	           !strcmp(key, "http")) {
		if (parse_u64(val, 0, 65535, &v))
			return -EINVAL;
		c->http_port = (int)v;
	} else if (!strcmp(key, "io_threads")) {
		if (parse_u64(val, 1, CONFIG_MAX_THREADS, &v))
			return -EINVAL;
		c->io_threads = (int)v;
	} else if (!strcmp(key, "workers")) {
		if (parse_u64(val, 1, CONFIG_MAX_THREADS, &v))
			return -EINVAL;
		c->workers = (int)v;
	} else if (!strcmp(key, "shards")) {
		if (parse_u64(val, 1, CONFIG_MAX_SHARDS, &v))
			return -EINVAL;
		c->shards = (int)v;
	} else if (!strcmp(key, "pin")) {
		if (parse_bool(val, &b))
			return -EINVAL;
		c->pin = b;
	} else if (!strcmp(key, "max_payload")) {
		if (parse_size(val, 64u * 1024 * 1024, &v) || v < 1)
			return -EINVAL;
		c->max_payload = (uint32_t)v;
	} else if (!strcmp(key, "max_pending")) {
		if (parse_size(val, 1024ull * 1024 * 1024, &v) || v < 64 * 1024)
			return -EINVAL;
		c->max_pending = (uint32_t)v;
	} else if (!strcmp(key, "ping_interval")) {
		if (parse_duration_ms(val, &v) || v < 10)
			return -EINVAL;
		c->ping_interval_ms = (uint32_t)v;
	} else if (!strcmp(key, "write_deadline")) {
		if (parse_duration_ms(val, &v) || v < 10 || v > UINT32_MAX)
			return -EINVAL;
		c->write_deadline_ms = (uint32_t)v;
	} else if (!strcmp(key, "ping_max")) {
		if (parse_u64(val, 1, 1000, &v))
			return -EINVAL;
		c->ping_max = (uint32_t)v;
	} else if (!strcmp(key, "max_subscriptions") || !strcmp(key, "max_subs")) {
		if (parse_u64(val, 0, UINT32_MAX, &v))
			return -EINVAL;
		c->max_subscriptions = (uint32_t)v;
	} else if (!strcmp(key, "max_connections") || !strcmp(key, "max_conn")) {
		if (parse_u64(val, 1, 1u << 24, &v))
			return -EINVAL;
		c->max_connections = (uint32_t)v;
	} else if (!strcmp(key, "shutdown_timeout")) {
		if (parse_duration_ms(val, &v) || v < 10)
			return -EINVAL;
		c->shutdown_timeout_ms = (uint32_t)v;
	} else if (!strcmp(key, "auth_timeout")) {
		if (parse_duration_ms(val, &v) || v < 10)
			return -EINVAL;
		c->auth_timeout_ms = (uint32_t)v;
	} else if (!strcmp(key, "user")) {
		config_set_str(&c->user, val);
	} else if (!strcmp(key, "pass") || !strcmp(key, "password")) {
		config_set_str(&c->pass, val);
	} else if (!strcmp(key, "auth") || !strcmp(key, "token")) {
		config_set_str(&c->token, val);
	} else if (!strcmp(key, "log_file")) {
		config_set_str(&c->log_file, val);
	} else if (!strcmp(key, "debug")) {
		if (parse_bool(val, &b))
			return -EINVAL;
		c->debug = b;
	} else if (!strcmp(key, "trace")) {
		if (parse_bool(val, &b))
			return -EINVAL;
		c->trace = b;
	} else if (!strcmp(key, "inline_max")) {
		if (!strcmp(val, "all") || !strcmp(val, "always")) {
			c->inline_max = UINT32_MAX;
			return 0;
		}
		if (parse_u64(val, 0, UINT32_MAX, &v))
			return -EINVAL;
		c->inline_max = (uint32_t)v;
	} else if (!strcmp(key, "spin_us")) {
		if (parse_u64(val, 0, 1000000, &v))
			return -EINVAL;
		c->spin_us = (uint32_t)v;
	} else if (!strcmp(key, "recv_buffers")) {
		if (parse_u64(val, 8, 32768, &v) || (v & (v - 1)))
			return -EINVAL;
		c->buf_count = (uint32_t)v;
	} else if (!strcmp(key, "recv_buffer_size")) {
		if (parse_size(val, 1024 * 1024, &v) || v < 4096)
			return -EINVAL;
		c->buf_size = (uint32_t)v;
	} else {
		return -ENOENT;
	}
	return 0;
}

/* Debian's libinih passes no line number to handlers: the reader counts the
 * lines it hands over, and the handler runs right after its line is read. */
struct config_file_ctx {
	struct config *c;
	const char *path;
	FILE *f;
	int line;
	int errors;
};

static char *config_ini_reader(char *str, int num, void *stream)
{
	struct config_file_ctx *x = stream;
	char *r = fgets(str, num, x->f);
	if (r)
		x->line++;
	return r;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_file_ctx *x = user;
	int lineno = x->line;
	char val[1024];
	size_t n = strlen(value);
	if (value[0] == '"' || value[0] == '\'') {
		/* quoted: everything up to the closing quote, as written */
		const char *end = strchr(value + 1, value[0]);
		n = end ? (size_t)(end - value - 1) : n - 1;
		value++;
	} else {
		/* unquoted: a '#' after a blank starts a comment; a trailing comma
		 * or semicolon (nats-server's syntax) is dropped */
		for (size_t i = 1; i < n; i++)
			if (value[i] == '#' && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
				n = i;
				break;
			}
		while (n && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == ',' ||
		             value[n - 1] == ';'))
			n--;
	}
	if (n >= sizeof(val)) {
		config_problem(x->c, "%s:%d: value of '%s' is too long", x->path, lineno, name);
		x->errors++;
		return 1;
	}
	memcpy(val, value, n);
	val[n] = 0;
	if (section && (!strcmp(section, "admission") || !strncmp(section, "policy", 6))) {
		char why[256];
		if (adm_config_set(x->c->adm, section, name, val, why, sizeof(why)) != 0) {
			config_problem(x->c, "%s:%d: [%s] %s: %s", x->path, lineno, section, name,
			               why);
			x->errors++;
		}
		return 1;
	}
	if (section && !strcmp(section, "users")) {
		char **u = realloc(x->c->users, sizeof(*u) * (size_t)(2 * x->c->nusers + 2));
		if (!u) {
			x->errors++;
			return 1;
		}
		x->c->users = u;
		u[2 * x->c->nusers] = strdup(name);
		u[2 * x->c->nusers + 1] = strdup(val);
		x->c->nusers++;
		return 1;
	}
	char tls_name[64];
	if (section && !strcmp(section, "tls")) {
		/* [tls] takes nats-server's names: cert_file, key_file, ca_file,
		 * verify, timeout (and ktls) */
		size_t k = strlen(name);
		if (k > 5 && !strcmp(name + k - 5, "_file"))
			k -= 5;
		snprintf(tls_name, sizeof(tls_name), "%s%.*s",
		         strncmp(name, "tls_", 4) ? "tls_" : "", (int)k, name);
		name = tls_name;
		section = NULL;
	}
	if (section && *section && strcmp(section, "server") != 0) {
		config_problem(x->c, "%s:%d: unknown section [%s]", x->path, lineno, section);
		x->errors++;
		return 1;
	}
	int ret = config_set(x->c, name, val);
	if (ret == -ENOENT) {
		config_problem(x->c, "%s:%d: unknown setting '%s'", x->path, lineno, name);
		x->errors++;
	} else if (ret) {
		config_problem(x->c, "%s:%d: invalid value '%s' for '%s'", x->path, lineno, val,
		               name);
		x->errors++;
	}
	return 1;
}

int config_load_file(struct config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int err = errno;
		config_problem(c, "%s: cannot open configuration file: %s", path, strerror(err));
		return -err;
	}
	struct config_file_ctx x = {.c = c, .path = path, .f = f};
	int ret = ini_parse_stream(config_ini_reader, &x, config_ini_handler, &x);
	fclose(f);
	if (ret > 0) {
		config_problem(c, "%s:%d: syntax error", path, ret);
		return -EINVAL;
	}
	if (ret < 0) {
		config_problem(c, "%s: cannot read the configuration file", path);
		return -EIO;
	}
	return x.errors ? -EINVAL : 0;
}

static void config_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: ringbus [options]\n"
	    "\n"
	    "A NATS-protocol pub/sub router on io_uring and Concurrency Kit rings.\n"
	    "Any NATS client connects to it as to nats-server.\n"
	    "\n"
	    "Server options (as nats-server):\n"
	    "  -a, --addr, --net HOST   address to listen on (default 0.0.0.0)\n"
	    "  -p, --port PORT          client port (default 4222)\n"
	    "  -m, --http_port PORT     monitoring HTTP port: /varz /connz /subsz /healthz "
	    "/metrics\n"
	    "                           /shardz /ioz /admissionz (default: off)\n"
	    "  -c, --config FILE        configuration file (key = value; see tools/ringbus.conf)\n"
	    "      --user USER          user required for connections\n"
	    "      --pass PASSWORD      password required for connections\n"
	    "      --auth TOKEN         token required for connections\n"
	    "  -l, --log FILE           log to FILE instead of stderr\n"
	    "  -D, --debug              debug logging\n"
	    "  -V, --trace              protocol trace logging (slow: never benchmark with it)\n"
	    "  -DV                      both\n"
	    "\n"
	    "ringbus options:\n"
	    "      --io-threads N       I/O threads, one io_uring each (default: half the cores)\n"
	    "      --workers N          worker threads that own subject shards (default: the "
	    "rest)\n"
	    "      --shards N           subject shards (default: 4 per worker, at most %d)\n"
	    "      --pin / --no-pin     pin threads to cores (default: pin, on more than 2 cores)\n"
	    "      --max-payload SIZE   largest message payload (default 1M)\n"
	    "      --max-pending SIZE   output queued per connection before it is closed as a\n"
	    "                           slow consumer (default 64M)\n"
	    "      --ping-interval DUR  PING idle clients this often (default 2m)\n"
	    "      --ping-max N         unanswered PINGs before 'Stale Connection' (default 2)\n"
	    "      --write-deadline D   a subscriber whose socket takes no byte this long is a\n"
	    "                           slow consumer (default 10s)\n"
	    "      --auth-timeout DUR   time a client has to send CONNECT when auth is on (2s)\n"
	    "      --inline-max N       an I/O thread routes up to N queued operations itself\n"
	    "                           when the shard's worker sleeps (default 64; on 2 cores\n"
	    "                           or fewer, always; 0 = never)\n"
	    "      --spin-us N          microseconds a thread polls for work before it sleeps\n"
	    "                           (default 100; 50 on 2 cores or fewer; a wake-up costs\n"
	    "                           10-30 us)\n"
	    "      --max-connections N  refuse connections beyond N (default 65536)\n"
	    "      --max-subscriptions N  per connection (default 0: no limit)\n"
	    "\n"
	    "Admission control (defaults; per-subject policies go in the -c file):\n"
	    "      --sub-policy P       a subscriber's queue over its mark: defer (default: hold\n"
	    "                           back its publishers, lose nothing), drop-new, drop-old\n"
	    "                           or disconnect\n"
	    "      --sub-high SIZE      bytes queued to one subscriber (default 8M; low = half)\n"
	    "      --sub-low SIZE       where the subscriber's queue is healthy again\n"
	    "      --defer-max DUR      a deferring subscriber whose socket takes no byte this\n"
	    "                           long stops holding publishers (default 500ms)\n"
	    "      --fallback P         defer, at --max-pending or --write-deadline: disconnect\n"
	    "                           (default), drop-new or drop-old\n"
	    "      --shard-policy P     a shard's queue over its mark: defer (default) or "
	    "drop-new\n"
	    "      --shard-high SIZE    bytes queued to one shard (default 4M)\n"
	    "      --shard-high-msgs N  messages queued to one shard (default 64K)\n"
	    "      --process-high SIZE  bytes held in messages by the process (default 1G): above\n"
	    "                           it every publisher is deferred\n"
	    "      --busy BOOL          answer a dropped request with a 503 status (default true)\n"
	    "      --advisories BOOL    publish $SYS.ADMISSION.<policy> on high crossings\n"
	    "\n"
	    "TLS (as nats-server; in the -c file: tls_cert, tls_key, tls_ca, tls_verify,\n"
	    "tls_timeout, or a [tls] section; see docs/TLS.md):\n"
	    "      --tls                clients must connect with TLS\n"
	    "      --tlscert FILE       server certificate chain (PEM)\n"
	    "      --tlskey FILE        server private key (PEM)\n"
	    "      --tlscacert FILE     CAs that sign client certificates (PEM)\n"
	    "      --tlsverify          TLS, and clients must present a certificate that\n"
	    "                           --tlscacert signed\n"
	    "\n"
	    "      --check-config       validate the configuration and exit\n"
	    "  -v, --version            print the version and exit\n"
	    "  -h, --help               this help\n"
	    "\n"
	    "SIZE takes K, M or G; DUR takes ms, s, m or h (a bare number is seconds).\n",
	    CONFIG_MAX_SHARDS);
}

enum {
	OPT_USER = 1000,
	OPT_PASS,
	OPT_AUTH,
	OPT_IO_THREADS,
	OPT_WORKERS,
	OPT_SHARDS,
	OPT_PIN,
	OPT_NO_PIN,
	OPT_MAX_PAYLOAD,
	OPT_MAX_PENDING,
	OPT_PING_INTERVAL,
	OPT_PING_MAX,
	OPT_WRITE_DEADLINE,
	OPT_AUTH_TIMEOUT,
	OPT_INLINE_MAX,
	OPT_SPIN,
	OPT_CHECK_CONFIG,
	OPT_MAX_CONN,
	OPT_MAX_SUBS,
	OPT_TLS,
	OPT_TLS_VERIFY,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_TLS_NO_KTLS,
	OPT_ADM_BASE = 1100, /* + index into config_adm_flags */
};

/* Flags that set the admission defaults: flag name -> [admission] key. */
static const char *const config_adm_flags[][2] = {
    {"shard-policy", "shard"},        {"sub-policy", "subscriber"},
    {"sub-high", "subscriber_high"},  {"sub-low", "subscriber_low"},
    {"fallback", "fallback"},         {"defer-max", "defer_max"},
    {"shard-high", "shard_high"},     {"shard-high-msgs", "shard_high_msgs"},
    {"process-high", "process_high"}, {"busy", "busy"},
    {"advisories", "advisory"},
};

static const struct option config_longopts[] = {
    {"addr", required_argument, NULL, 'a'},
    {"net", required_argument, NULL, 'a'},
    {"port", required_argument, NULL, 'p'},
    {"http_port", required_argument, NULL, 'm'},
    {"config", required_argument, NULL, 'c'},
    {"log", required_argument, NULL, 'l'},
    {"debug", no_argument, NULL, 'D'},
    {"trace", no_argument, NULL, 'V'},
    {"version", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"user", required_argument, NULL, OPT_USER},
    {"pass", required_argument, NULL, OPT_PASS},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"io-threads", required_argument, NULL, OPT_IO_THREADS},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"shards", required_argument, NULL, OPT_SHARDS},
    {"pin", no_argument, NULL, OPT_PIN},
    {"no-pin", no_argument, NULL, OPT_NO_PIN},
    {"max-payload", required_argument, NULL, OPT_MAX_PAYLOAD},
    {"max-pending", required_argument, NULL, OPT_MAX_PENDING},
    {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},
    {"ping-max", required_argument, NULL, OPT_PING_MAX},
    {"write-deadline", required_argument, NULL, OPT_WRITE_DEADLINE},
    {"auth-timeout", required_argument, NULL, OPT_AUTH_TIMEOUT},
    {"inline-max", required_argument, NULL, OPT_INLINE_MAX},
    {"spin-us", required_argument, NULL, OPT_SPIN},
    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"max-subscriptions", required_argument, NULL, OPT_MAX_SUBS},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tlsverify", no_argument, NULL, OPT_TLS_VERIFY},
    {"tlscert", required_argument, NULL, OPT_TLS_CERT},
    {"tlskey", required_argument, NULL, OPT_TLS_KEY},
    {"tlscacert", required_argument, NULL, OPT_TLS_CA},
    {"tls-no-ktls", no_argument, NULL, OPT_TLS_NO_KTLS}, /* hidden: tests, benchmarks */
    {"shard-policy", required_argument, NULL, OPT_ADM_BASE + 0},
    {"sub-policy", required_argument, NULL, OPT_ADM_BASE + 1},
    {"sub-high", required_argument, NULL, OPT_ADM_BASE + 2},
    {"sub-low", required_argument, NULL, OPT_ADM_BASE + 3},
    {"fallback", required_argument, NULL, OPT_ADM_BASE + 4},
    {"defer-max", required_argument, NULL, OPT_ADM_BASE + 5},
    {"shard-high", required_argument, NULL, OPT_ADM_BASE + 6},
    {"shard-high-msgs", required_argument, NULL, OPT_ADM_BASE + 7},
    {"process-high", required_argument, NULL, OPT_ADM_BASE + 8},
    {"busy", required_argument, NULL, OPT_ADM_BASE + 9},
    {"advisories", required_argument, NULL, OPT_ADM_BASE + 10},
    {NULL, 0, NULL, 0},
};

static const char *config_key_of(int opt)
{
	switch (opt) {
	case 'a':
		return "host";
	case 'p':
		return "port";
	case 'm':
		return "http_port";
	case 'l':
		return "log_file";
	case OPT_USER:
		return "user";
	case OPT_PASS:
		return "pass";
	case OPT_AUTH:
		return "auth";
	case OPT_IO_THREADS:
		return "io_threads";
	case OPT_WORKERS:
		return "workers";
	case OPT_SHARDS:
		return "shards";
	case OPT_MAX_PAYLOAD:
		return "max_payload";
	case OPT_MAX_PENDING:
		return "max_pending";
	case OPT_PING_INTERVAL:
		return "ping_interval";
	case OPT_PING_MAX:
		return "ping_max";
	case OPT_WRITE_DEADLINE:
		return "write_deadline";
	case OPT_AUTH_TIMEOUT:
		return "auth_timeout";
	case OPT_INLINE_MAX:
		return "inline_max";
	case OPT_SPIN:
		return "spin_us";
	case OPT_MAX_CONN:
		return "max_connections";
	case OPT_MAX_SUBS:
		return "max_subscriptions";
	case OPT_TLS_CERT:
		return "tls_cert";
	case OPT_TLS_KEY:
		return "tls_key";
	case OPT_TLS_CA:
		return "tls_ca";
	default:
		return NULL;
	}
}

int config_parse_args(struct config *c, int argc, char **argv)
{
	const char *shortopts = "a:p:m:c:l:DVvh";

	/* First pass: only -c, so the file comes first and flags override it. */
	opterr = 0;
	optind = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, config_longopts, NULL)) != -1) {
		if (opt == 'c') {
			config_set_str(&c->config_file, optarg);
			int ret = config_load_file(c, optarg);
			if (ret)
				return -EINVAL;
		}
	}

	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, config_longopts, NULL)) != -1) {
		const char *key = config_key_of(opt);
		if (key) {
			if (config_set(c, key, optarg) != 0) {
				config_problem(c, "ringbus: invalid value '%s' for --%s", optarg,
				               key);
				return -EINVAL;
			}
			continue;
		}
		if (opt >= OPT_ADM_BASE &&
		    opt < OPT_ADM_BASE + (int)RB_ARRAY_LEN(config_adm_flags)) {
			char why[256];
			const char *const *f = config_adm_flags[opt - OPT_ADM_BASE];
			if (adm_config_set(c->adm, "admission", f[1], optarg, why, sizeof(why))) {
				config_problem(c, "ringbus: --%s: %s", f[0], why);
				return -EINVAL;
			}
			continue;
		}
		switch (opt) {
		case 'c':
			break;
		case 'D':
			c->debug = true;
			break;
		case 'V':
			c->trace = true;
			break;
		case OPT_PIN:
			c->pin = true;
			break;
		case OPT_NO_PIN:
			c->pin = false;
			break;
		case OPT_CHECK_CONFIG:
			c->check_config = true;
			break;
		case OPT_TLS:
			c->tls = true;
			break;
		case OPT_TLS_VERIFY:
			c->tls = c->tls_verify = true;
			break;
		case OPT_TLS_NO_KTLS:
			c->tls_ktls = false;
			break;
		case 'v':
			printf("ringbus %s\n", RINGBUS_VERSION);
			return 1;
		case 'h':
			config_usage(stdout);
			return 1;
		default:
			config_problem(c, "Try 'ringbus --help' for the options.");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		config_problem(c, "ringbus: unexpected argument '%s'\nTry 'ringbus --help'.",
		               argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int config_validate(struct config *c)
{
	int bad = 0;
	if (c->shards == 0)
		c->shards = c->workers * 4 > CONFIG_MAX_SHARDS ? CONFIG_MAX_SHARDS : c->workers * 4;
	if (c->shards < c->workers) {
		config_problem(c, "ringbus: --shards (%d) must be at least --workers (%d)",
		               c->shards, c->workers);
		bad++;
	}
	if ((c->user == NULL) != (c->pass == NULL)) {
		config_problem(c, "ringbus: --user and --pass go together");
		bad++;
	}
	if (c->user && c->token) {
		config_problem(c, "ringbus: choose --user/--pass or --auth, not both");
		bad++;
	}
	if (c->tls_cert || c->tls_verify)
		c->tls = true;
	if (c->tls) {
		/* Loads the files now, so that mistakes show at start and in
		 * --check-config. */
		char why[512];
		struct tls_ctx *t = NULL;
		struct tls_config tc = {.cert_file = c->tls_cert,
		                        .key_file = c->tls_key,
		                        .ca_file = c->tls_ca,
		                        .verify = c->tls_verify};
		if (tls_ctx_new(&tc, &t, why, sizeof(why)) != 0) {
			config_problem(c, "ringbus: %s", why);
			bad++;
		}
		tls_ctx_free(t);
	}
	int ncpu = pin_ncpus();
	int threads = c->io_threads + c->workers;
	if (threads > 4 * ncpu) {
		config_problem(
		    c,
		    "ringbus: %d I/O threads and workers on %d cores: at most %d (4 per core)"
		    "threads that outnumber cores convoy on the rings\n",
		    threads, ncpu, 4 * ncpu);
		bad++;
	} else if (threads > ncpu) {
		config_problem(c, "ringbus: warning: %d I/O threads and workers on %d cores",
		               threads, ncpu);
	}
	return bad ? -EINVAL : 0;
}

void config_log(const struct config *c)
{
	log_info("ringbus %s listening on %s:%d", RINGBUS_VERSION, c->host, c->port);
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
	         c->user    ? "user/password"
	         : c->token ? "token"
	                    : "off");
	if (c->tls)
		log_info("tls: required for clients, certificate %s, client certificates %s",
		         c->tls_cert, c->tls_verify ? "required" : "not requested");
}
