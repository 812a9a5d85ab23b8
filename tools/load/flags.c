/* ringbus-load's flags: one option table for every subcommand, checked
 * against the options each subcommand accepts, and the value parsers. */
#include "tools/load/flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    {NULL, 0, NULL, 0},
};

/* Options each mode accepts besides the common ones. */
static const int mode_opts[][12] = {
    [LOAD_PUBSUB] = {OPT_PUBS, OPT_SUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_DRAIN, OPT_QUEUE,
                     OPT_RATE, OPT_WINDOW, OPT_SEND_WINDOW, 0},
    [LOAD_REQREP] = {OPT_CLIENTS, OPT_RESPONDERS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_DRAIN,
                     OPT_RATE, OPT_INFLIGHT, OPT_SEND_WINDOW, 0},
    [LOAD_PUB] = {OPT_PUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_RATE, OPT_WINDOW, OPT_ID_BASE,
                  OPT_SEND_WINDOW, 0},
    [LOAD_SUB] = {OPT_SUBS, OPT_MSGS, OPT_DURATION, OPT_WARMUP, OPT_QUEUE, OPT_IDLE, 0},
};

static const int common_opts[] = {
    OPT_URL,  OPT_SIZE, OPT_SUBJECTS, OPT_PREFIX,          OPT_THREADS,
    OPT_JSON, OPT_HGRM, OPT_QUIET,    OPT_CONNECT_TIMEOUT, OPT_HELP,
    0};

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
	static const char *const names[] = {"pubsub", "reqrep", "pub", "sub"};
	return names[mode];
}

static const char common_help[] =
    "  --url URL              nats://[user:pass@|token@]host[:port] (default\n"
    "                         nats://127.0.0.1:4222)\n"
    "  --size B               payload bytes, >= 16 (default 128; 24+ also carries\n"
    "                         the actual send time for the uncorrected latency)\n"
    "  --subjects K           spread the traffic over K subjects (default 1)\n"
    "  --subject-prefix P     subjects are P.0 .. P.K-1 (default load)\n"
    "  --threads N            io_uring event loops, one per thread (default 1)\n"
    "  --json FILE            write every figure as JSON (- for stdout)\n"
    "  --hgrm FILE            write the latency distribution, HdrHistogram .hgrm (us)\n"
    "  --connect-timeout D    give up connecting after D (default 5s)\n"
    "  --quiet                no per-second progress (also off when stderr is\n"
    "                         not a terminal)\n"
    "  --help                 this text\n"
    "Durations: 500ms, 2s, 1m; counts: 100k, 1.5M; sizes: 1k = 1024.\n"
    "Exit status: 0 done, 1 error (no server, authorization refused, connection\n"
    "closed), 2 bad usage, 3 the target --rate was not reached, 4 messages lost\n"
    "or duplicated (or nothing moved for --drain).\n";

void load_flags_usage(enum load_mode mode, FILE *out)
{
	switch (mode) {
	case LOAD_PUBSUB:
		fputs("usage: ringbus-load pubsub [--pubs P] [--subs S] (--msgs N | --duration D)\n"
		      "         [--size B] [--subjects K] [--queue GROUP] [--rate R] [--warmup D]\n"
		      "         [--json FILE] [--hgrm FILE] [options]\n"
		      "Publishers and subscribers in one process; end-to-end latency from the\n"
		      "timestamp each message carries. Publisher p sends to its share of the K\n"
		      "subjects; with K <= S subscriber s takes subject s mod K, with K > S the\n"
		      "subjects k with k mod S = s (fan-out S/K per message).\n"
		      "  --pubs P               publishing connections (default 1)\n"
		      "  --subs S               subscribing connections (default 1)\n"
		      "  --msgs N               messages to publish in all (default 100k when no\n"
		      "                         --duration)\n"
		      "  --duration D           publish for D (with --msgs: whichever ends first)\n"
		      "  --queue GROUP          subscribers join queue group GROUP\n"
		      "  --rate R               open loop: R msgs/s in all, latency measured from\n"
		      "                         each message's intended send time; without it,\n"
		      "                         closed loop (as fast as the window allows)\n"
		      "  --window W             closed loop: a PING every W messages, at most two\n"
		      "                         unanswered per publisher (default 1000)\n"
		      "  --send-window D        open loop: messages falling due within D of each\n"
		      "                         other leave in one write (default 100us; 0: each\n"
		      "                         at its own time, a timer each); the wait counts\n"
		      "                         in the send delay and the corrected latency\n"
		      "  --warmup D             leave the first D out of latency and rates\n"
		      "  --drain D              wait up to D for late messages at the end (5s)\n",
		      out);
		break;
	case LOAD_REQREP:
		fputs("usage: ringbus-load reqrep [--clients C] [--responders R] (--rate R |\n"
		      "         --inflight N) (--msgs N | --duration D) [--size B] [--json FILE]\n"
		      "         [--hgrm FILE] [options]\n"
		      "Requesters publish to P.req with a reply subject; responders (a queue\n"
		      "group) echo each request back. Latency: request intended send time to\n"
		      "reply received.\n"
		      "  --clients C            requesting connections (default 1)\n"
		      "  --responders R         responding connections (default 1; 0 when another\n"
		      "                         program answers on P.req)\n"
		      "  --msgs N               requests in all (default 100k when no --duration)\n"
		      "  --duration D           send requests for D\n"
		      "  --rate R               open loop: R requests/s in all\n"
		      "  --inflight N           closed loop: outstanding requests per client (1)\n"
		      "  --send-window D        open loop: requests falling due within D of each\n"
		      "                         other leave in one write (default 100us; 0: each\n"
		      "                         at its own time, a timer each); the wait counts\n"
		      "                         in the send delay and the corrected latency\n"
		      "  --warmup D             leave the first D out of latency and rates\n"
		      "  --drain D              wait up to D for late replies at the end (5s)\n",
		      out);
		break;
	case LOAD_PUB:
		fputs("usage: ringbus-load pub [--pubs P] (--msgs N | --duration D) [--rate R]\n"
		      "         [--size B] [--subjects K] [--id-base N] [options]\n"
		      "Publishers only, for runs spread over several processes (pair with\n"
		      "ringbus-load sub on the same machine: the payload timestamps are\n"
		      "CLOCK_MONOTONIC).\n"
		      "  --pubs P               publishing connections (default 1)\n"
		      "  --msgs N / --duration D  as for pubsub (default --msgs 100k)\n"
		      "  --rate R               open loop at R msgs/s in all\n"
		      "  --window W             closed loop PING window (default 1000)\n"
		      "  --send-window D        open loop: messages falling due within D of each\n"
		      "                         other leave in one write (default 100us; 0: each\n"
		      "                         at its own time, a timer each); the wait counts\n"
		      "                         in the send delay and the corrected latency\n"
		      "  --warmup D             leave the first D out of the rates\n"
		      "  --id-base N            first publisher stream id (give each concurrent\n"
		      "                         pub process its own range; default from the pid)\n",
		      out);
		break;
	case LOAD_SUB:
		fputs("usage: ringbus-load sub [--subs S] [--subjects K] [--queue GROUP]\n"
		      "         [--msgs N] [--duration D] [--idle D] [options]\n"
		      "Subscribers only: counts, loss (sequence gaps), duplicates, reordering and\n"
		      "latency of what ringbus-load pub sends.\n"
		      "  --subs S               subscribing connections (default 1)\n"
		      "  --msgs N               messages each subscriber expects: stop when all "
		      "have\n"
		      "                         them, report the missing ones as lost\n"
		      "  --duration D           stop after D\n"
		      "  --idle D               stop when nothing arrived for D (default 5s)\n"
		      "  --queue GROUP          join queue group GROUP\n"
		      "  --warmup D             leave the first D out of latency and rates\n",
		      out);
		break;
	}
	fputs(common_help, out);
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
	if (!strncmp(p, "nats://", 7))
		p += 7;
	else if (strstr(p, "://"))
		return -EINVAL;
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
	strcpy(url->port, "4222");
	return 0;
}

static void shown_url(struct load_config *cfg)
{
	const struct load_url *u = &cfg->url;
	char cred[160] = "";
	if (u->user[0])
		snprintf(cred, sizeof(cred), "%s%s@", u->user, u->pass[0] ? ":***" : "");
	else if (u->token[0])
		strcpy(cred, "***@");
	bool v6 = strchr(u->host, ':') != NULL;
	snprintf(cfg->url_shown, sizeof(cfg->url_shown), "nats://%s%s%s%s:%s", cred, v6 ? "[" : "",
	         u->host, v6 ? "]" : "", u->port);
}

static void defaults(struct load_config *cfg, enum load_mode mode)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = mode;
	if (load_parse_url("nats://127.0.0.1:4222", &cfg->url))
		abort();
	cfg->pubs = mode == LOAD_PUBSUB || mode == LOAD_PUB ? 1 : 0;
	cfg->subs = mode == LOAD_PUBSUB || mode == LOAD_SUB ? 1 : 0;
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

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "ringbus-load: invalid value for --%s: '%s'\n", opt, val);
	return -EINVAL;
}

static int set_u32(const char *name, const char *val, uint32_t *dst, uint32_t lo, uint32_t hi)
{
	double v;
	if (load_parse_count(val, &v) || v < lo || v > hi || v != (double)(uint64_t)v)
		return bad(name, val);
	*dst = (uint32_t)v;
	return 0;
}

static int set_text(const char *name, const char *val, char *dst, size_t cap)
{
	if (!*val || strlen(val) >= cap || strpbrk(val, " \t\r\n"))
		return bad(name, val);
	strcpy(dst, val);
	return 0;
}

static int apply(struct load_config *cfg, int id, const char *val, bool *rate_set)
{
	const char *name = options[id - OPT_URL].name;
	double d;
	uint64_t u;
	switch (id) {
	case OPT_URL:
		return load_parse_url(val, &cfg->url) ? bad(name, val) : 0;
	case OPT_PUBS:
		return set_u32(name, val, &cfg->pubs, 0, 1000000);
	case OPT_SUBS:
		return set_u32(name, val, &cfg->subs, 0, 1000000);
	case OPT_CLIENTS:
		return set_u32(name, val, &cfg->clients, 1, 1000000);
	case OPT_RESPONDERS:
		return set_u32(name, val, &cfg->responders, 0, 1000000);
	case OPT_MSGS:
		if (load_parse_count(val, &d) || d < 1 || d > 1e15)
			return bad(name, val);
		cfg->msgs = (uint64_t)d;
		return 0;
	case OPT_DURATION:
		return load_parse_duration(val, &cfg->duration_ns) || !cfg->duration_ns
		           ? bad(name, val)
		           : 0;
	case OPT_WARMUP:
		return load_parse_duration(val, &cfg->warmup_ns) ? bad(name, val) : 0;
	case OPT_DRAIN:
		return load_parse_duration(val, &cfg->drain_ns) ? bad(name, val) : 0;
	case OPT_SEND_WINDOW:
		return load_parse_duration(val, &cfg->send_window_ns) ||
		               cfg->send_window_ns > 100000000u
		           ? bad(name, val)
		           : 0;
	case OPT_CONNECT_TIMEOUT:
		return load_parse_duration(val, &cfg->connect_timeout_ns) ? bad(name, val) : 0;
	case OPT_IDLE:
		return load_parse_duration(val, &cfg->idle_ns) ? bad(name, val) : 0;
	case OPT_SIZE:
		if (load_parse_size(val, &u) || u < LOAD_MIN_SIZE || u > (64u << 20))
			return bad(name, val);
		cfg->size = (uint32_t)u;
		return 0;
	case OPT_SUBJECTS:
		return set_u32(name, val, &cfg->subjects, 1, 1000000);
	case OPT_QUEUE:
		return set_text(name, val, cfg->queue, sizeof(cfg->queue));
	case OPT_PREFIX:
		return set_text(name, val, cfg->prefix, sizeof(cfg->prefix));
	case OPT_RATE:
		if (load_parse_count(val, &cfg->rate) || cfg->rate <= 0 || cfg->rate > 1e9)
			return bad(name, val);
		*rate_set = true;
		return 0;
	case OPT_WINDOW:
		return set_u32(name, val, &cfg->window, 1, 1000000);
	case OPT_INFLIGHT:
		return set_u32(name, val, &cfg->inflight, 1, 100000);
	case OPT_THREADS:
		return set_u32(name, val, &cfg->threads, 1, 256);
	case OPT_ID_BASE:
		return set_u32(name, val, &cfg->id_base, 0, 0xffffff);
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

static int check(struct load_config *cfg, bool rate_set)
{
	const char *m = load_mode_name(cfg->mode);
	if ((cfg->mode == LOAD_PUBSUB || cfg->mode == LOAD_PUB) && cfg->pubs == 0) {
		fprintf(stderr, "ringbus-load %s: --pubs must be at least 1\n", m);
		return -EINVAL;
	}
	if (cfg->mode == LOAD_SUB && cfg->subs == 0) {
		fprintf(stderr, "ringbus-load sub: --subs must be at least 1\n");
		return -EINVAL;
	}
	if (cfg->mode != LOAD_SUB && !cfg->msgs && !cfg->duration_ns)
		cfg->msgs = 100000;
	if (rate_set && cfg->mode == LOAD_REQREP && cfg->inflight != 1) {
		fprintf(stderr, "ringbus-load reqrep: --inflight is for closed loop (no --rate)\n");
		return -EINVAL;
	}
	uint32_t senders = cfg->mode == LOAD_REQREP ? cfg->clients : cfg->pubs;
	if (rate_set && senders && cfg->rate / senders > 5e7) {
		fprintf(stderr, "ringbus-load %s: --rate above 50M msgs/s per connection\n", m);
		return -EINVAL;
	}
	uint64_t conns = (uint64_t)cfg->pubs + cfg->subs + cfg->clients + cfg->responders;
	if (conns > 1000000) {
		fprintf(stderr, "ringbus-load %s: too many connections\n", m);
		return -EINVAL;
	}
	if (cfg->threads > conns)
		cfg->threads = (uint32_t)(conns ? conns : 1);
	cfg->progress = !cfg->quiet && isatty(STDERR_FILENO);
	shown_url(cfg);
	return 0;
}

int load_flags_parse(struct load_config *cfg, enum load_mode mode, int argc, char **argv)
{
	defaults(cfg, mode);
	bool rate_set = false;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			load_flags_usage(mode, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "ringbus-load %s: unknown option or missing value: %s\n",
			        load_mode_name(mode), argv[optind - 1]);
			fprintf(stderr, "try: ringbus-load %s --help\n", load_mode_name(mode));
			return -EINVAL;
		}
		if (!opt_allowed(mode, c)) {
			fprintf(stderr, "ringbus-load %s: --%s does not apply to this subcommand\n",
			        load_mode_name(mode), options[c - OPT_URL].name);
			return -EINVAL;
		}
		if (apply(cfg, c, optarg, &rate_set))
			return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "ringbus-load %s: unexpected argument '%s'\n", load_mode_name(mode),
		        argv[optind]);
		return -EINVAL;
	}
	return check(cfg, rate_set);
}
