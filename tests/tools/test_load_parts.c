/* Unit tests of ringbus-load's parts: sequence tracking, who publishes and
 * subscribes to what (topo), flag parsing and interest probes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tools/load/flags.h"
#include "tools/load/probe.h"
#include "tools/load/topo.h"
#include "tools/load/track.h"

struct track_case {
	const char *name;
	uint64_t seqs[12];
	size_t n;
	uint64_t dup, reorder, gaps;
};

static const struct track_case track_cases[] = {
    {"in order", {0, 1, 2, 3}, 4, 0, 0, 0},
    {"one swap", {0, 2, 1, 3}, 4, 0, 1, 0},
    {"one duplicate", {0, 1, 1, 2}, 4, 1, 0, 0},
    {"duplicate of a late one", {0, 2, 1, 1}, 4, 1, 1, 0},
    {"a gap", {0, 5, 6}, 3, 0, 0, 4},
    {"a gap half filled", {0, 5, 3, 1}, 4, 0, 2, 2},
    {"first seen late", {3}, 1, 0, 0, 3},
    {"reversed", {3, 2, 1, 0}, 4, 0, 3, 0},
    {"older than the window, gap open", {0, 2000, 1}, 3, 0, 1, 1998},
    {"a repeat older than the window counts as late while a gap is open",
     {0, 1, 1500, 1501, 1},
     5,
     0,
     1,
     1497},
};

Test(track, counts_duplicates_reorders_and_gaps)
{
	for (size_t i = 0; i < sizeof(track_cases) / sizeof(track_cases[0]); i++) {
		const struct track_case *tc = &track_cases[i];
		struct track t;
		cr_assert_eq(track_init(&t, 1), 0);
		for (size_t j = 0; j < tc->n; j++)
			cr_assert_geq(track_seen(&t, 7, tc->seqs[j]), 0);
		cr_assert_eq(t.c.received, tc->n, "%s", tc->name);
		cr_assert_eq(t.c.dup, tc->dup, "%s: dup %lu", tc->name, (unsigned long)t.c.dup);
		cr_assert_eq(t.c.reorder, tc->reorder, "%s: reorder %lu", tc->name,
		             (unsigned long)t.c.reorder);
		cr_assert_eq(t.c.gaps, tc->gaps, "%s: gaps %lu", tc->name, (unsigned long)t.c.gaps);
		track_fini(&t);
	}
}

Test(track, streams_are_independent_and_the_table_grows)
{
	struct track t;
	cr_assert_eq(track_init(&t, 1), 0);
	for (uint32_t s = 0; s < 1000; s++)
		for (uint64_t q = 0; q < 3; q++)
			cr_assert_eq(track_seen(&t, s * 7919u, q), TRACK_IN_ORDER);
	cr_assert_eq(track_seen(&t, 7919u, 1), TRACK_DUP);
	cr_assert_eq(t.c.streams, 1000);
	cr_assert_eq(t.c.received, 3001);
	cr_assert_eq(track_next(&t, 7919u * 999u), 3);
	cr_assert_eq(track_next(&t, 5), 0);
	cr_assert_eq(track_unique(&t), 3000);
	track_fini(&t);
}

struct dur_case {
	const char *text;
	int rc;
	uint64_t ns;
};

static const struct dur_case dur_cases[] = {
    {"2s", 0, 2000000000u}, {"2", 0, 2000000000u},     {"250ms", 0, 250000000u},
    {"10us", 0, 10000u},    {"1.5m", 0, 90000000000u}, {"1h", 0, 3600000000000u},
    {"5x", -EINVAL, 0},     {"", -EINVAL, 0},          {"-1s", -EINVAL, 0},
};

Test(flags, durations_parse)
{
	for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		uint64_t ns = 0;
		cr_assert_eq(load_parse_duration(dur_cases[i].text, &ns), dur_cases[i].rc, "%s",
		             dur_cases[i].text);
		if (!dur_cases[i].rc)
			cr_assert_eq(ns, dur_cases[i].ns, "%s", dur_cases[i].text);
	}
}

Test(flags, counts_and_sizes_parse)
{
	double v;
	uint64_t b;
	cr_assert_eq(load_parse_count("100k", &v), 0);
	cr_assert_float_eq(v, 100000.0, 1e-9);
	cr_assert_eq(load_parse_count("1.5M", &v), 0);
	cr_assert_float_eq(v, 1500000.0, 1e-9);
	cr_assert_eq(load_parse_count("k", &v), -EINVAL);
	cr_assert_eq(load_parse_size("4k", &b), 0);
	cr_assert_eq(b, 4096);
	cr_assert_eq(load_parse_size("1MiB", &b), 0);
	cr_assert_eq(b, 1048576);
	cr_assert_eq(load_parse_size("12q", &b), -EINVAL);
}

struct url_case {
	const char *text;
	int rc;
	const char *host, *port, *user, *pass, *token;
	bool ws;
};

static const struct url_case url_cases[] = {
    {"nats://127.0.0.1:4333", 0, "127.0.0.1", "4333", "", "", "", false},
    {"localhost", 0, "localhost", "4222", "", "", "", false},
    {"nats://bob:s3cret@h:1", 0, "h", "1", "bob", "s3cret", "", false},
    {"nats://tok@h", 0, "h", "4222", "", "", "tok", false},
    {"nats://[::1]:4222", 0, "::1", "4222", "", "", "", false},
    {"ws://127.0.0.1:8080", 0, "127.0.0.1", "8080", "", "", "", true},
    {"ws://bob:pw@h", 0, "h", "80", "bob", "pw", "", true},
    {"wss://h:1", -EINVAL, NULL, NULL, NULL, NULL, NULL, false},
    {"http://h:1", -EINVAL, NULL, NULL, NULL, NULL, NULL, false},
    {"nats://h:port", -EINVAL, NULL, NULL, NULL, NULL, NULL, false},
    {"nats://:4222", -EINVAL, NULL, NULL, NULL, NULL, NULL, false},
};

Test(flags, urls_parse_with_credentials)
{
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *uc = &url_cases[i];
		struct load_url u;
		cr_assert_eq(load_parse_url(uc->text, &u), uc->rc, "%s", uc->text);
		if (uc->rc)
			continue;
		cr_assert_str_eq(u.host, uc->host, "%s", uc->text);
		cr_assert_str_eq(u.port, uc->port, "%s", uc->text);
		cr_assert_str_eq(u.user, uc->user, "%s", uc->text);
		cr_assert_str_eq(u.pass, uc->pass, "%s", uc->text);
		cr_assert_str_eq(u.token, uc->token, "%s", uc->text);
		cr_assert_eq(u.ws, uc->ws, "%s", uc->text);
	}
}

static int parse_args(struct load_config *cfg, enum load_mode mode, const char *a1, const char *a2)
{
	char *argv[] = {(char *)load_mode_name(mode), (char *)a1, (char *)a2, NULL};
	return load_flags_parse(cfg, mode, a1 ? (a2 ? 3 : 2) : 1, argv);
}

/* Parses @args (NULL-terminated, at most 11) for @mode. */
static int parse_list(struct load_config *cfg, enum load_mode mode, const char *const *args)
{
	char *argv[12] = {(char *)load_mode_name(mode)};
	int argc = 1;
	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	return load_flags_parse(cfg, mode, argc, argv);
}

Test(flags, send_window_defaults_parses_and_is_refused_where_it_means_nothing)
{
	struct load_config cfg;
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, NULL, NULL), 0);
	cr_assert_eq(cfg.send_window_ns, 100000u);
	cr_assert_eq(parse_args(&cfg, LOAD_REQREP, "--send-window", "0"), 0);
	cr_assert_eq(cfg.send_window_ns, 0u);
	cr_assert_eq(parse_args(&cfg, LOAD_PUB, "--send-window", "250us"), 0);
	cr_assert_eq(cfg.send_window_ns, 250000u);
	/* more than 100 ms is not a batching window but a mistake */
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--send-window", "1s"), -EINVAL);
	/* a subscriber sends nothing */
	cr_assert_eq(parse_args(&cfg, LOAD_SUB, "--send-window", "50us"), -EINVAL);
}

/* WebSocket is ringbus-load-blocking's alone (ringbus-load's io_uring loop
 * does not frame). */
Test(flags, ws_urls_are_for_the_blocking_client_only)
{
	struct load_config cfg;
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--url", "ws://127.0.0.1:8080"), 0);
	cr_assert(cfg.url.ws);
	cr_assert_str_eq(cfg.url_shown, "ws://127.0.0.1:8080");
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--sub-url", "nats://a:1,ws://b:2"), 0);
	cr_assert(!cfg.sub_urls[0].url.ws && cfg.sub_urls[1].url.ws);
	cr_assert_str_eq(cfg.sub_urls[1].shown, "ws://b:2");
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--url", "ws://127.0.0.1:8080"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_REQREP, "--url", "ws://127.0.0.1:8080"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--sub-url", "ws://b:2"), -EINVAL);
}

struct spread_case {
	uint32_t k, n, i;
	bool wide;
	struct topo_set want;
};

static const struct spread_case spread_cases[] = {
    {1, 4, 3, true, {0, 1, 1}},   /* one subject: everyone on it */
    {4, 4, 2, true, {2, 4, 1}},   /* K = P: publisher p on p */
    {4, 4, 2, false, {2, 1, 1}},  /* K = S: subscriber s on s */
    {16, 1, 0, true, {0, 1, 16}}, /* one publisher cycles over all */
    {16, 2, 1, false, {1, 2, 8}}, /* subscriber 1 of 2 on the odd ones */
    {10, 4, 3, true, {3, 4, 2}},  /* 3, 7 */
    {2, 5, 4, false, {0, 1, 1}},  /* K < S: s mod K */
    {10000, 4, 1, true, {1, 4, 2500}},
};

Test(topo, spread_gives_each_member_its_share_of_the_subjects)
{
	for (size_t i = 0; i < sizeof(spread_cases) / sizeof(spread_cases[0]); i++) {
		const struct spread_case *c = &spread_cases[i];
		struct topo_set s = topo_spread(c->k, c->n, c->i, c->wide);
		cr_assert(s.first == c->want.first && s.step == c->want.step &&
		              s.count == c->want.count,
		          "case %zu: {%u, %u, %u}", i, s.first, s.step, s.count);
	}
}

Test(topo, sent_counts_follow_the_cycle_and_sum_per_subscriber)
{
	uint64_t sent[16] = {0};
	struct topo_set all = {0, 1, 16}, odd = {1, 2, 8}, one = {5, 1, 1};
	topo_add_sent(sent, &all, 35); /* 0..2 get 3 each, 3..15 get 2 */
	topo_add_sent(sent, &one, 7);
	cr_assert_eq(sent[0], 3);
	cr_assert_eq(sent[2], 3);
	cr_assert_eq(sent[3], 2);
	cr_assert_eq(sent[5], 9);
	cr_assert_eq(topo_sum(sent, &all), 42);
	cr_assert_eq(topo_sum(sent, &odd), 3 + 2 * 7 + 7);
	cr_assert_eq(topo_sent_on(&all, 35, 2), 3);
	cr_assert_eq(topo_sent_on(&all, 35, 3), 2);
}

struct match_case {
	const char *prefix;
	uint32_t k;
	const char *pattern;
	uint32_t count;
	uint64_t sum; /* with sent[k] = k + 1 */
};

static const struct match_case match_cases[] = {
    {"load", 16, "load.>", 16, 136}, {"load", 16, "load.*", 16, 136}, {"load", 16, ">", 16, 136},
    {"load", 16, "load.3", 1, 4},    {"load", 16, "load.1*", 0, 0}, /* '1*' is a literal token */
    {"load", 16, "other.>", 0, 0},   {"load", 16, "load.*.x", 0, 0},  {"a.b", 4, "a.*.2", 1, 3},
    {"a.b", 4, "a.>", 4, 10},
};

Test(topo, patterns_match_the_published_subjects_as_nats_does)
{
	uint64_t sent[16];
	for (uint32_t k = 0; k < 16; k++)
		sent[k] = k + 1;
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		cr_assert_eq(topo_count_matching(c->k, c->prefix, c->pattern), c->count, "%s",
		             c->pattern);
		cr_assert_eq(topo_sum_matching(sent, c->k, c->prefix, c->pattern), c->sum, "%s",
		             c->pattern);
	}
}

Test(flags, sub_subject_is_a_valid_pattern_that_matches_a_published_subject)
{
	struct load_config cfg;
	const char *const wild[] = {"--subjects", "16", "--sub-subject", "load.>", NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_PUBSUB, wild), 0);
	cr_assert_str_eq(cfg.sub_subject, "load.>");
	cr_assert(cfg.stream_per_pub, "wildcard subscribers check order per publisher");
	cr_assert_eq(parse_list(&cfg, LOAD_BLOCKING, wild), 0);
	cr_assert_str_eq(cfg.sub_subject, "load.>");
	/* sub: the publishers are elsewhere, nothing to match against */
	cr_assert_eq(parse_args(&cfg, LOAD_SUB, "--sub-subject", "other.*"), 0);
	cr_assert_str_eq(cfg.sub_subject, "other.*");
	cr_assert(!cfg.stream_per_pub);
	/* default: no pattern, order per publisher and subject */
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--subjects", "4"), 0);
	cr_assert_str_eq(cfg.sub_subject, "");
	cr_assert(!cfg.stream_per_pub);
	static const char *const refused[] = {"load.>.x", "load..1", "lo ad", "", "load.*.", NULL};
	for (size_t i = 0; refused[i]; i++)
		cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--sub-subject", refused[i]), -EINVAL,
		             "'%s'", refused[i]);
	const char *const none[] = {"--subjects", "4", "--sub-subject", "load.4", NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_PUBSUB, none), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_PUB, "--sub-subject", "load.>"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_REQREP, "--sub-subject", "load.>"), -EINVAL);
}

Test(flags, stream_per_pub_is_for_publishers)
{
	struct load_config cfg;
	char *pub[] = {"pub", "--stream-per-pub", NULL};
	cr_assert_eq(load_flags_parse(&cfg, LOAD_PUB, 2, pub), 0);
	cr_assert(cfg.stream_per_pub);
	char *sub[] = {"sub", "--stream-per-pub", NULL};
	cr_assert_eq(load_flags_parse(&cfg, LOAD_SUB, 2, sub), -EINVAL);
}

Test(flags, pub_subject_per_pub_makes_one_subject_per_publisher)
{
	struct load_config cfg;
	const char *const four[] = {"--pubs", "4", "--pub-subject-per-pub", NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_BLOCKING, four), 0);
	cr_assert_eq(cfg.subjects, 4);
	cr_assert(cfg.pub_subject_per_pub);
	cr_assert_eq(parse_list(&cfg, LOAD_PUBSUB, four), 0);
	cr_assert_eq(cfg.subjects, 4);
	const char *const same[] = {"--pubs", "4", "--subjects", "4", "--pub-subject-per-pub",
	                            NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_PUB, same), 0);
	const char *const clash[] = {"--pubs", "4", "--subjects", "8", "--pub-subject-per-pub",
	                             NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_BLOCKING, clash), -EINVAL);
	const char *const fanout[] = {"--pubs",        "4",      "--pub-subject-per-pub",
	                              "--sub-subject", "load.>", NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_BLOCKING, fanout), 0);
	cr_assert_eq(parse_args(&cfg, LOAD_SUB, "--pub-subject-per-pub", NULL), -EINVAL);
}

Test(flags, window_zero_only_for_the_blocking_client)
{
	struct load_config cfg;
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, NULL, NULL), 0);
	cr_assert_eq(cfg.window, 1000);
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--window", "0"), 0);
	cr_assert_eq(cfg.window, 0);
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--window", "0"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--window", "10"), 0);
	cr_assert_eq(cfg.window, 10);
}

Test(flags, blocking_client_has_a_thread_per_connection_and_its_own_options)
{
	struct load_config cfg;
	const char *const conns[] = {"--pubs", "3", "--subs", "5", NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_BLOCKING, conns), 0);
	cr_assert_eq(cfg.threads, 8);
	cr_assert_eq(cfg.msgs, 100000, "the same default as ringbus-load pubsub");
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--threads", "2"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--send-window", "50us"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--queue", "q"), 0);
	cr_assert_str_eq(cfg.queue, "q");
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--pubs", "0"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--subs", "5000"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--subject-prefix", "a.>"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, "--subject-prefix", "a.b"), 0);
}

Test(flags, url_lists_split_on_commas_and_refuse_empty_or_bad_elements)
{
	struct load_endpoint e[3];
	uint32_t n = 99;
	cr_assert_eq(load_parse_url_list("nats://127.0.0.1:1", e, 3, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(e[0].url.port, "1");
	cr_assert_str_eq(e[0].shown, "nats://127.0.0.1:1");
	cr_assert_eq(load_parse_url_list("nats://a:1,b,nats://bob:pw@c:3", e, 3, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(e[0].url.host, "a");
	cr_assert_str_eq(e[1].url.host, "b");
	cr_assert_str_eq(e[1].url.port, "4222");
	cr_assert_str_eq(e[2].url.user, "bob");
	cr_assert_str_eq(e[2].url.pass, "pw");
	cr_assert_str_eq(e[2].shown, "nats://bob:***@c:3", "the password is masked");
	static const char *const refused[] = {
	    "",        ",", "nats://a:1,", ",nats://a:1", "nats://a:1,,b", "nats://a:1,http://b:2",
	    "a,b,c,d", /* more than the room given */
	    NULL};
	for (size_t i = 0; refused[i]; i++)
		cr_assert_eq(load_parse_url_list(refused[i], e, 3, &n), -EINVAL, "'%s'",
		             refused[i]);
}

Test(flags, sub_url_spreads_subscribers_over_the_list)
{
	struct load_config cfg;
	cr_assert_eq(parse_args(&cfg, LOAD_PUBSUB, NULL, NULL), 0);
	cr_assert_eq(cfg.nsub_urls, 0);
	cr_assert_eq(load_sub_endpoint(&cfg, 3), -1, "without --sub-url, --url");
	const char *const three[] = {"--subs", "5", "--sub-url", "nats://h:1,nats://h:2,nats://h:3",
	                             NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_PUBSUB, three), 0);
	cr_assert_eq(cfg.nsub_urls, 3);
	static const int want[] = {0, 1, 2, 0, 1};
	for (uint32_t s = 0; s < 5; s++)
		cr_assert_eq(load_sub_endpoint(&cfg, s), want[s], "subscriber %u", s);
	cr_assert_eq(parse_list(&cfg, LOAD_BLOCKING, three), 0);
	cr_assert_eq(cfg.nsub_urls, 3);
	cr_assert_eq(parse_args(&cfg, LOAD_BLOCKING, "--sub-url", "nats://h:1,"), -EINVAL);
	/* a queue group hands each probe to one member: refused */
	const char *const queue[] = {"--sub-url", "nats://h:2", "--queue", "q", NULL};
	cr_assert_eq(parse_list(&cfg, LOAD_PUBSUB, queue), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_REQREP, "--sub-url", "nats://h:2"), -EINVAL);
	cr_assert_eq(parse_args(&cfg, LOAD_SUB, "--sub-url", "nats://h:2"), -EINVAL);
}

Test(probe, payload_round_trips_and_is_never_a_message)
{
	char line[64];
	size_t n = probe_encode(line, sizeof(line), "load", 7);
	cr_assert_eq(n, strlen("PUB load.7 8\r\n") + PROBE_LEN + 2);
	cr_assert_eq(memcmp(line, "PUB load.7 8\r\nRLPB", 18), 0);
	cr_assert_eq(memcmp(line + n - 2, "\r\n", 2), 0);
	uint32_t k = 0;
	cr_assert(probe_read(line + n - 2 - PROBE_LEN, PROBE_LEN, &k));
	cr_assert_eq(k, 7);
	cr_assert(PROBE_LEN < 16, "shorter than any ringbus-load payload");
	cr_assert(!probe_read("RLPB\7\0\0\0x", PROBE_LEN + 1, &k));
	cr_assert(!probe_read("RLPX\7\0\0\0", PROBE_LEN, &k));
	cr_assert_eq(probe_encode(line, 12, "load", 7), 0, "too small a buffer");
}

Test(probe, a_subscriber_is_done_when_each_of_its_subjects_had_one)
{
	struct probe_seen s;
	struct topo_set odd = {1, 2, 3}; /* subjects 1, 3, 5 */
	cr_assert_eq(probe_seen_init(&s, &odd, false), 0);
	cr_assert(!probe_seen_add(&s, 2), "not one of its subjects");
	cr_assert(!probe_seen_add(&s, 7), "past its subjects");
	cr_assert(!probe_seen_add(&s, 1));
	cr_assert(!probe_seen_add(&s, 1), "a repeat counts once");
	cr_assert(!probe_seen_add(&s, 5));
	cr_assert(!probe_seen_done(&s));
	cr_assert(probe_seen_add(&s, 3), "the last one completes the set");
	cr_assert(probe_seen_done(&s));
	cr_assert(!probe_seen_add(&s, 3), "true only once");
	probe_seen_fini(&s);
	/* a pattern is one interest: any probe will do */
	cr_assert_eq(probe_seen_init(&s, &odd, true), 0);
	cr_assert(probe_seen_add(&s, 4));
	cr_assert(probe_seen_done(&s));
	probe_seen_fini(&s);
}
