/* ringbus-load's flags (and ringbus-load-blocking's): one option table for
 * every subcommand, checked against the options each subcommand accepts, and
 * the value parsers. */
#include "tools/load/flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router/index/subject.h"
#include "tools/load/topo.h"

enum opt_id {
	OPT_URL = 256,
	OPT_PUBS,
	OPT_SUBS,
	OPT_CLIENTS,
	OPT_RESPONDERS,
	OPT_MSGS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_DRAIN,
	OPT_SEND_WINDOW,
	OPT_CONNECT_TIMEOUT,
	OPT_IDLE,
	OPT_SIZE,
	OPT_SUBJECTS,
	OPT_QUEUE,
	OPT_PREFIX,
	OPT_RATE,
	OPT_WINDOW,
	OPT_INFLIGHT,
	OPT_THREADS,
	OPT_ID_BASE,
	OPT_JSON,
	OPT_HGRM,
	OPT_QUIET,
	OPT_HELP,
	OPT_SUB_SUBJECT,
	OPT_STREAM_PER_PUB,
	OPT_PUB_PER_PUB,
	OPT_SUB_URL,
};

static const struct option options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"pubs", required_argument, NULL, OPT_PUBS},
    {"subs", required_argument, NULL, OPT_SUBS},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {"responders", required_argument, NULL, OPT_RESPONDERS},
    {"msgs", required_argument, NULL, OPT_MSGS},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"send-window", required_argument, NULL, OPT_SEND_WINDOW},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"idle", required_argument, NULL, OPT_IDLE},
    {"size", required_argument, NULL, OPT_SIZE},
    {"subjects", required_argument, NULL, OPT_SUBJECTS},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"subject-prefix", required_argument, NULL, OPT_PREFIX},
    {"rate", required_argument, NULL, OPT_RATE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"id-base", required_argument, NULL, OPT_ID_BASE},
    {"json", required_argument, NULL, OPT_JSON},
    {"hgrm", required_argument, NULL, OPT_HGRM},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"sub-subject", required_argument, NULL, OPT_SUB_SUBJECT},
    {"stream-per-pub", no_argument, NULL, OPT_STREAM_PER_PUB},
    {"pub-subject-per-pub", no_argument, NULL, OPT_PUB_PER_PUB},
    {"sub-url", required_argument, NULL, OPT_SUB_URL},
    {NULL, 0, NULL, 0},
};

/* Options each mode accepts besides the common ones. */
static const int mode_opts[][20] = {
    [LOAD_PUBSUB] = {OPT_PUBS, OPT_SUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_DRAIN, OPT_QUEUE,
                     OPT_RATE, OPT_WINDOW, OPT_SEND_WINDOW, OPT_THREADS, OPT_SUB_SUBJECT,
                     OPT_STREAM_PER_PUB, OPT_PUB_PER_PUB, OPT_SUB_URL, 0},
    [LOAD_REQREP] = {OPT_CLIENTS, OPT_RESPONDERS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_DRAIN,
                     OPT_RATE, OPT_INFLIGHT, OPT_SEND_WINDOW, OPT_THREADS, 0},
    [LOAD_PUB] = {OPT_PUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_RATE, OPT_WINDOW, OPT_ID_BASE,
                  OPT_SEND_WINDOW, OPT_THREADS, OPT_STREAM_PER_PUB, OPT_PUB_PER_PUB, 0},
    [LOAD_SUB] = {OPT_SUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_QUEUE, OPT_IDLE, OPT_THREADS,
                  OPT_SUB_SUBJECT, 0},
    [LOAD_BLOCKING] = {OPT_PUBS, OPT_SUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_DRAIN, OPT_QUEUE,
                       OPT_RATE, OPT_WINDOW, OPT_SUB_SUBJECT, OPT_PUB_PER_PUB, OPT_SUB_URL, 0},
};

static const int common_opts[] = {OPT_URL,  OPT_SIZE,  OPT_SUBJECTS,        OPT_PREFIX, OPT_JSON,
                                  OPT_HGRM, OPT_QUIET, OPT_CONNECT_TIMEOUT, OPT_HELP,   0};

static bool opt_allowed(enum load_mode mode, int id)
{
	for (const int *p = common_opts; *p; p++)
		if (*p == id)
			return true;
	for (const int *p = mode_opts[mode]; *p; p++)
		if (*p == id)
			return true;
	return false;
}

const char *load_mode_name(enum load_mode mode)
{
	static const char *const names[] = {"pubsub", "reqrep", "pub", "sub", "blocking"};
	return names[mode];
}

const char *load_flags_prog(enum load_mode mode)
{
	static const char *const progs[] = {"ringbus-load pubsub", "ringbus-load reqrep",
	                                    "ringbus-load pub", "ringbus-load sub",
	                                    "ringbus-load-blocking"};
	return progs[mode];
}

static int parse_scaled(const char *s, double *out, double k)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= k, end++;
	else if (*end == 'm' || *end == 'M')
		v *= k * k, end++;
	else if (*end == 'g' || *end == 'G')
		v *= k * k * k, end++;
	if (k == 1024.0 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int load_parse_count(const char *s, double *out)
{
	return parse_scaled(s, out, 1000.0);
}

int load_parse_size(const char *s, uint64_t *bytes)
{
	double v;
	if (parse_scaled(s, &v, 1024.0) || v > 1e12)
		return -EINVAL;
	*bytes = (uint64_t)v;
	return 0;
}

int load_parse_duration(const char *s, uint64_t *ns)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	double unit;
	if (!*end || !strcmp(end, "s"))
		unit = 1e9;
	else if (!strcmp(end, "ms"))
		unit = 1e6;
	else if (!strcmp(end, "us"))
		unit = 1e3;
	else if (!strcmp(end, "ns"))
		unit = 1;
	else if (!strcmp(end, "m"))
		unit = 60e9;
	else if (!strcmp(end, "h"))
		unit = 3600e9;
	else
		return -EINVAL;
	if (v * unit > 1e18)
		return -EINVAL;
	*ns = (uint64_t)(v * unit);
	return 0;
}

static int copy_field(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		return -EINVAL;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

int load_parse_url(const char *s, struct load_url *url)
{
	memset(url, 0, sizeof(*url));
	const char *p = s;
	if (!strncmp(p, "nats://", 7)) {
		p += 7;
	} else if (!strncmp(p, "ws://", 5)) {
		url->ws = true;
		p += 5;
	} else if (strstr(p, "://")) {
		return -EINVAL;
	}
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (copy_field(url->user, sizeof(url->user), p, (size_t)(colon - p)) ||
			    copy_field(url->pass, sizeof(url->pass), colon + 1,
			               (size_t)(at - colon - 1)))
				return -EINVAL;
		} else if (copy_field(url->token, sizeof(url->token), p, (size_t)(at - p))) {
			return -EINVAL;
		}
		p = at + 1;
	}
	const char *port = NULL;
	const char *host_end;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close)
			return -EINVAL;
		if (copy_field(url->host, sizeof(url->host), p + 1, (size_t)(close - p - 1)))
			return -EINVAL;
		host_end = close + 1;
		if (*host_end == ':')
			port = host_end + 1;
		else if (*host_end && *host_end != '/')
			return -EINVAL;
	} else {
		host_end = p + strcspn(p, ":/");
		if (copy_field(url->host, sizeof(url->host), p, (size_t)(host_end - p)))
			return -EINVAL;
		if (*host_end == ':')
			port = host_end + 1;
	}
	if (!url->host[0])
		return -EINVAL;
	if (port) {
		size_t n = strspn(port, "0123456789");
		if (n == 0 || (port[n] && port[n] != '/') || atoi(port) > 65535)
			return -EINVAL;
		return copy_field(url->port, sizeof(url->port), port, n);
	}
	strcpy(url->port, url->ws ? "80" : "4222");
	return 0;
}

void load_url_show(const struct load_url *u, char *dst, size_t cap)
{
	char cred[160] = "";
	if (u->user[0])
		snprintf(cred, sizeof(cred), "%s%s@", u->user, u->pass[0] ? ":***" : "");
	else if (u->token[0])
		strcpy(cred, "***@");
	bool v6 = strchr(u->host, ':') != NULL;
	snprintf(dst, cap, "%s://%s%s%s%s:%s", u->ws ? "ws" : "nats", cred, v6 ? "[" : "", u->host,
	         v6 ? "]" : "", u->port);
}

int load_parse_url_list(const char *s, struct load_endpoint *out, uint32_t cap, uint32_t *n)
{
	*n = 0;
	for (const char *p = s;; p++) {
		size_t len = strcspn(p, ",");
		char one[1024];
		if (!len || len >= sizeof(one) || *n >= cap)
			return -EINVAL;
		memcpy(one, p, len);
		one[len] = '\0';
		struct load_endpoint *e = &out[*n];
		if (load_parse_url(one, &e->url))
			return -EINVAL;
		load_url_show(&e->url, e->shown, sizeof(e->shown));
		(*n)++;
		p += len;
		if (!*p)
			return 0;
	}
}

static void defaults(struct load_config *cfg, enum load_mode mode)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = mode;
	if (load_parse_url("nats://127.0.0.1:4222", &cfg->url))
		abort();
	bool both = mode == LOAD_PUBSUB || mode == LOAD_BLOCKING;
	cfg->pubs = both || mode == LOAD_PUB ? 1 : 0;
	cfg->subs = both || mode == LOAD_SUB ? 1 : 0;
	cfg->clients = mode == LOAD_REQREP ? 1 : 0;
	cfg->responders = mode == LOAD_REQREP ? 1 : 0;
	cfg->size = 128;
	cfg->subjects = 1;
	cfg->threads = 1;
	cfg->window = 1000;
	cfg->inflight = 1;
	cfg->drain_ns = 5000000000u;
	cfg->send_window_ns = 100000u;
	cfg->connect_timeout_ns = 5000000000u;
	cfg->idle_ns = 5000000000u;
	strcpy(cfg->prefix, "load");
	cfg->id_base = ((uint32_t)getpid() & 0xffu) << 16;
}

static int bad(const struct load_config *cfg, const char *opt, const char *val)
{
	fprintf(stderr, "%s: invalid value for --%s: '%s'\n", load_flags_prog(cfg->mode), opt, val);
	return -EINVAL;
}

static int set_u32(const struct load_config *cfg, const char *name, const char *val, uint32_t *dst,
                   uint32_t lo, uint32_t hi)
{
	double v;
	if (load_parse_count(val, &v) || v < lo || v > hi || v != (double)(uint64_t)v)
		return bad(cfg, name, val);
	*dst = (uint32_t)v;
	return 0;
}

static int set_text(const struct load_config *cfg, const char *name, const char *val, char *dst,
                    size_t cap)
{
	if (!*val || strlen(val) >= cap || strpbrk(val, " \t\r\n"))
		return bad(cfg, name, val);
	strcpy(dst, val);
	return 0;
}

/* A subject (@wildcards: a subscription) of at most @cap - 1 bytes. */
static int set_subject(const struct load_config *cfg, const char *name, const char *val, char *dst,
                       size_t cap, bool wildcards)
{
	size_t n = strlen(val);
	bool ok = wildcards ? subject_valid_sub(val, n) : subject_valid_pub(val, n);
	return ok ? set_text(cfg, name, val, dst, cap) : bad(cfg, name, val);
}

/* Flags the checks need to know were given, not just their values. */
struct given {
	bool rate;
	bool subjects;
};

static int apply(struct load_config *cfg, int id, const char *val, struct given *g)
{
	const char *name = options[id - OPT_URL].name;
	double d;
	uint64_t u;
	switch (id) {
	case OPT_URL:
		return load_parse_url(val, &cfg->url) ? bad(cfg, name, val) : 0;
	case OPT_SUB_URL:
		return load_parse_url_list(val, cfg->sub_urls, LOAD_MAX_SUB_URLS, &cfg->nsub_urls)
		           ? bad(cfg, name, val)
		           : 0;
	case OPT_PUBS:
		return set_u32(cfg, name, val, &cfg->pubs, 0, 1000000);
	case OPT_SUBS:
		return set_u32(cfg, name, val, &cfg->subs, 0, 1000000);
	case OPT_CLIENTS:
		return set_u32(cfg, name, val, &cfg->clients, 1, 1000000);
	case OPT_RESPONDERS:
		return set_u32(cfg, name, val, &cfg->responders, 0, 1000000);
	case OPT_MSGS:
		if (load_parse_count(val, &d) || d < 1 || d > 1e15)
			return bad(cfg, name, val);
		cfg->msgs = (uint64_t)d;
		return 0;
	case OPT_DURATION:
		return load_parse_duration(val, &cfg->duration_ns) || !cfg->duration_ns
		           ? bad(cfg, name, val)
		           : 0;
	case OPT_WARMUP:
		return load_parse_duration(val, &cfg->warmup_ns) ? bad(cfg, name, val) : 0;
	case OPT_DRAIN:
		return load_parse_duration(val, &cfg->drain_ns) ? bad(cfg, name, val) : 0;
	case OPT_SEND_WINDOW:
		return load_parse_duration(val, &cfg->send_window_ns) ||
		               cfg->send_window_ns > 100000000u
		           ? bad(cfg, name, val)
		           : 0;
	case OPT_CONNECT_TIMEOUT:
		return load_parse_duration(val, &cfg->connect_timeout_ns) ? bad(cfg, name, val) : 0;
	case OPT_IDLE:
		return load_parse_duration(val, &cfg->idle_ns) ? bad(cfg, name, val) : 0;
	case OPT_SIZE:
		if (load_parse_size(val, &u) || u < LOAD_MIN_SIZE || u > (64u << 20))
			return bad(cfg, name, val);
		cfg->size = (uint32_t)u;
		return 0;
	case OPT_SUBJECTS:
		g->subjects = true;
		return set_u32(cfg, name, val, &cfg->subjects, 1, 1000000);
	case OPT_QUEUE:
		return set_text(cfg, name, val, cfg->queue, sizeof(cfg->queue));
	case OPT_PREFIX:
		return set_subject(cfg, name, val, cfg->prefix, sizeof(cfg->prefix), false);
	case OPT_SUB_SUBJECT:
		return set_subject(cfg, name, val, cfg->sub_subject, sizeof(cfg->sub_subject),
		                   true);
	case OPT_STREAM_PER_PUB:
		cfg->stream_per_pub = true;
		return 0;
	case OPT_PUB_PER_PUB:
		cfg->pub_subject_per_pub = true;
		return 0;
	case OPT_RATE:
		if (load_parse_count(val, &cfg->rate) || cfg->rate <= 0 || cfg->rate > 1e9)
			return bad(cfg, name, val);
		g->rate = true;
		return 0;
	case OPT_WINDOW: /* 0 (no window) only for the blocking client */
		return set_u32(cfg, name, val, &cfg->window, cfg->mode == LOAD_BLOCKING ? 0 : 1,
		               1000000);
	case OPT_INFLIGHT:
		return set_u32(cfg, name, val, &cfg->inflight, 1, 100000);
	case OPT_THREADS:
		return set_u32(cfg, name, val, &cfg->threads, 1, 256);
	case OPT_ID_BASE:
		return set_u32(cfg, name, val, &cfg->id_base, 0, 0xffffff);
	case OPT_JSON:
		cfg->json_path = val;
		return 0;
	case OPT_HGRM:
		cfg->hgrm_path = val;
		return 0;
	case OPT_QUIET:
		cfg->quiet = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The subject layout: --pub-subject-per-pub and --sub-subject against K. */
static int check_subjects(struct load_config *cfg, const struct given *g)
{
	const char *prog = load_flags_prog(cfg->mode);
	if (cfg->pub_subject_per_pub) {
		if (g->subjects && cfg->subjects != cfg->pubs) {
			fprintf(stderr,
			        "%s: --pub-subject-per-pub gives each of the %u publishers its own "
			        "subject (K = P): leave out --subjects %u\n",
			        prog, cfg->pubs, cfg->subjects);
			return -EINVAL;
		}
		cfg->subjects = cfg->pubs;
	}
	if (!cfg->sub_subject[0] || cfg->mode == LOAD_SUB)
		return 0;
	if (!topo_count_matching(cfg->subjects, cfg->prefix, cfg->sub_subject)) {
		fprintf(stderr,
		        "%s: --sub-subject '%s' matches none of the subjects published "
		        "(%s.0 .. %s.%u)\n",
		        prog, cfg->sub_subject, cfg->prefix, cfg->prefix, cfg->subjects - 1);
		return -EINVAL;
	}
	if (cfg->mode == LOAD_PUBSUB) /* wildcard subscribers see every subject */
		cfg->stream_per_pub = true;
	return 0;
}

static int check(struct load_config *cfg, const struct given *g)
{
	const char *prog = load_flags_prog(cfg->mode);
	if ((cfg->mode == LOAD_PUBSUB || cfg->mode == LOAD_PUB || cfg->mode == LOAD_BLOCKING) &&
	    cfg->pubs == 0) {
		fprintf(stderr, "%s: --pubs must be at least 1\n", prog);
		return -EINVAL;
	}
	if (cfg->mode == LOAD_SUB && cfg->subs == 0) {
		fprintf(stderr, "%s: --subs must be at least 1\n", prog);
		return -EINVAL;
	}
	if (cfg->mode != LOAD_SUB && !cfg->msgs && !cfg->duration_ns)
		cfg->msgs = 100000;
	if (g->rate && cfg->mode == LOAD_REQREP && cfg->inflight != 1) {
		fprintf(stderr, "%s: --inflight is for closed loop (no --rate)\n", prog);
		return -EINVAL;
	}
	uint32_t senders = cfg->mode == LOAD_REQREP ? cfg->clients : cfg->pubs;
	if (g->rate && senders && cfg->rate / senders > 5e7) {
		fprintf(stderr, "%s: --rate above 50M msgs/s per connection\n", prog);
		return -EINVAL;
	}
	uint64_t conns = (uint64_t)cfg->pubs + cfg->subs + cfg->clients + cfg->responders;
	uint64_t most = cfg->mode == LOAD_BLOCKING ? LOAD_BLOCKING_MAX_CONNS : 1000000;
	if (conns > most) {
		fprintf(stderr, "%s: too many connections (at most %llu)\n", prog,
		        (unsigned long long)most);
		return -EINVAL;
	}
	if (check_subjects(cfg, g))
		return -EINVAL;
	if (cfg->nsub_urls && cfg->queue[0]) {
		/* the interest check waits for a probe at every subscriber, and a
		 * queue group hands each probe to one member */
		fprintf(stderr, "%s: --sub-url does not go with --queue\n", prog);
		return -EINVAL;
	}
	bool ws = cfg->url.ws;
	for (uint32_t i = 0; i < cfg->nsub_urls; i++)
		ws |= cfg->sub_urls[i].url.ws;
	if (ws && cfg->mode != LOAD_BLOCKING) {
		fprintf(stderr, "%s: ws:// URLs are for ringbus-load-blocking only\n", prog);
		return -EINVAL;
	}
	if (cfg->mode == LOAD_BLOCKING) /* one thread per connection */
		cfg->threads = (uint32_t)conns;
	if (cfg->threads > conns)
		cfg->threads = (uint32_t)(conns ? conns : 1);
	cfg->progress = !cfg->quiet && isatty(STDERR_FILENO) && cfg->mode != LOAD_BLOCKING;
	load_url_show(&cfg->url, cfg->url_shown, sizeof(cfg->url_shown));
	return 0;
}

int load_flags_parse(struct load_config *cfg, enum load_mode mode, int argc, char **argv)
{
	defaults(cfg, mode);
	struct given g = {0};
	const char *prog = load_flags_prog(mode);
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			load_flags_usage(mode, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "%s: unknown option or missing value: %s\n", prog,
			        argv[optind - 1]);
			fprintf(stderr, "try: %s --help\n", prog);
			return -EINVAL;
		}
		if (!opt_allowed(mode, c)) {
			fprintf(stderr, "%s: --%s does not apply to this command\n", prog,
			        options[c - OPT_URL].name);
			return -EINVAL;
		}
		if (apply(cfg, c, optarg, &g))
			return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return -EINVAL;
	}
	return check(cfg, &g);
}
