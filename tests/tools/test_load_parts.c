/* Unit tests of ringbus-load's parts: sequence tracking and flag parsing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tools/load/flags.h"
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
};

static const struct url_case url_cases[] = {
    {"nats://127.0.0.1:4333", 0, "127.0.0.1", "4333", "", "", ""},
    {"localhost", 0, "localhost", "4222", "", "", ""},
    {"nats://bob:s3cret@h:1", 0, "h", "1", "bob", "s3cret", ""},
    {"nats://tok@h", 0, "h", "4222", "", "", "tok"},
    {"nats://[::1]:4222", 0, "::1", "4222", "", "", ""},
    {"http://h:1", -EINVAL, NULL, NULL, NULL, NULL, NULL},
    {"nats://h:port", -EINVAL, NULL, NULL, NULL, NULL, NULL},
    {"nats://:4222", -EINVAL, NULL, NULL, NULL, NULL, NULL},
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
	}
}

static int parse_args(struct load_config *cfg, enum load_mode mode, const char *a1, const char *a2)
{
	char *argv[] = {(char *)load_mode_name(mode), (char *)a1, (char *)a2, NULL};
	return load_flags_parse(cfg, mode, a1 ? (a2 ? 3 : 2) : 1, argv);
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
