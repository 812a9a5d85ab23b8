/* ringbus-load's command line: the run configuration of every subcommand and
 * the parsers for URLs, durations, counts and sizes. */
#ifndef TOOLS_LOAD_FLAGS_H
#define TOOLS_LOAD_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/compiler.h"

enum load_mode {
	LOAD_PUBSUB = 0,
	LOAD_REQREP,
	LOAD_PUB,
	LOAD_SUB,
	LOAD_BLOCKING, /* ringbus-load-blocking, its one command */
};

/* nats://[user:pass@|token@]host[:port], or ws://... for a WebSocket
 * listener (ringbus-load-blocking only). Read-only after parsing. */
struct load_url {
	bool ws; /* ws://: the HTTP upgrade, then NATS in WebSocket frames */
	char host[256];
	char port[8];
	char user[128];
	char pass[128];
	char token[256];
};

#define LOAD_URL_SHOWN    480u
#define LOAD_MAX_SUB_URLS 16u

/* A server to connect to: its URL and how it is printed (credentials
 * masked). Read-only after parsing. */
struct load_endpoint {
	struct load_url url;
	char shown[LOAD_URL_SHOWN];
};

/* Everything a run needs. Read-only after load_flags_parse(). */
struct load_config {
	enum load_mode mode;
	struct load_url url;
	char url_shown[LOAD_URL_SHOWN]; /* the URL with any password or token masked */
	/* --sub-url: subscriber s connects to sub_urls[s mod nsub_urls]; with
	 * none, to --url. Publishers always connect to --url. */
	struct load_endpoint sub_urls[LOAD_MAX_SUB_URLS];
	uint32_t nsub_urls;
	uint32_t pubs;
	uint32_t subs;
	uint32_t clients;
	uint32_t responders;
	uint64_t msgs;        /* total to publish / request; sub: per subscriber; 0 = by time */
	uint64_t duration_ns; /* 0 = by count */
	uint64_t warmup_ns;
	uint64_t drain_ns;       /* how long to wait for stragglers at the end */
	uint64_t send_window_ns; /* open loop: sends falling due this close leave together */
	uint64_t connect_timeout_ns;
	uint64_t idle_ns; /* sub: stop this long after the last message */
	uint32_t size;    /* payload bytes, >= LOAD_MIN_SIZE */
	uint32_t subjects;
	char queue[128];          /* queue group; empty: plain subscriptions */
	char prefix[128];         /* subject prefix */
	char sub_subject[256];    /* every subscriber subscribes to this; empty: the spread */
	bool stream_per_pub;      /* one sequence per publisher across its subjects */
	bool pub_subject_per_pub; /* publisher p only on <prefix>.p (K = P) */
	double rate;              /* total msgs (requests) per second; 0 = closed loop */
	uint32_t window;          /* closed-loop publisher: PING every window msgs (0: none) */
	uint32_t inflight;        /* closed-loop requester: outstanding requests */
	uint32_t threads;
	uint32_t id_base; /* first stream id (pub: set per process) */
	const char *json_path;
	const char *hgrm_path;
	bool quiet;
	bool progress; /* per-second lines: a terminal and not --quiet */
};

#define LOAD_MIN_SIZE           16u
#define LOAD_BLOCKING_MAX_CONNS 4096u /* ringbus-load-blocking: one thread each */

/* Fills @cfg from argv (argv[0] is the subcommand). Returns 0 to run, 1 when
 * help was printed (exit 0), or -EINVAL after printing the reason to stderr.
 * Borrows argv: the path strings in @cfg point into it. */
RB_MUST_CHECK int load_flags_parse(struct load_config *cfg, enum load_mode mode, int argc,
                                   char **argv);

/* Prints the usage of @mode to @out: its own part (usage lines, what it
 * does, its options), the options every command takes (--threads but in
 * ringbus-load-blocking), and the exit statuses; each part alone as well,
 * for the manual page (flags_man.c). */
void load_flags_usage(enum load_mode mode, FILE *out);
void load_flags_usage_own(enum load_mode mode, FILE *out);
void load_flags_usage_common(bool threads, FILE *out);
void load_flags_usage_exit(enum load_mode mode, FILE *out);

/* ringbus-load's own usage: the commands. */
void load_usage(FILE *out);

/* ringbus-load(1) in groff man(7), made of the usage texts above, so the
 * page and --help cannot differ (flags_man.c; ringbus-load --help_man). */
void load_flags_man(FILE *out);

/* The subcommand's name ("pubsub", ..., "blocking"). */
const char *load_mode_name(enum load_mode mode);

/* The program and command, for messages ("ringbus-load pubsub",
 * "ringbus-load-blocking"). */
const char *load_flags_prog(enum load_mode mode);

/* Parsers, each returning 0 or -EINVAL. */
/* "1.5s", "250ms", "10us", "2m", "1h"; a bare number is seconds. */
RB_MUST_CHECK int load_parse_duration(const char *s, uint64_t *ns);
/* "1000", "10k", "2.5M", "1G" (decimal multipliers). */
RB_MUST_CHECK int load_parse_count(const char *s, double *out);
/* "128", "4k" / "4KiB" (1024), "1m" / "1MiB". */
RB_MUST_CHECK int load_parse_size(const char *s, uint64_t *bytes);
/* The URL forms above; fills @url (port defaults to 4222, 80 for ws://;
 * wss:// is refused: no TLS). */
RB_MUST_CHECK int load_parse_url(const char *s, struct load_url *url);
/* A comma-separated list of such URLs ("nats://a:1,nats://b:2"), at most
 * @cap of them, none empty: fills @out[0..*@n-1], shown forms included.
 * Returns 0 or -EINVAL (a bad or empty element, or more than @cap). A comma
 * always separates: credentials in a list cannot contain one. */
RB_MUST_CHECK int load_parse_url_list(const char *s, struct load_endpoint *out, uint32_t cap,
                                      uint32_t *n);
/* Writes @url as printed (nats://user:***@host:port, or ws://...) into @dst. */
void load_url_show(const struct load_url *url, char *dst, size_t cap);

/* The index into cfg->sub_urls of subscriber @s's server, or -1 for --url. */
static inline int load_sub_endpoint(const struct load_config *cfg, uint32_t s)
{
	return cfg->nsub_urls ? (int)(s % cfg->nsub_urls) : -1;
}

#endif /* TOOLS_LOAD_FLAGS_H */
