/* Subject rules: validity tables checked against nats-server 2.9.10, wildcard
 * detection and the reference matcher. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/compiler.h"
#include "router/index/subject.h"

struct valid_case {
	const char *s;
	size_t len; /* 0: strlen */
	bool sub;   /* SUB accepted (no -ERR 'Invalid Subject') */
	bool pub;   /* pedantic PUB accepted (no -ERR 'Invalid Publish Subject') */
};

static size_t case_len(const char *s, size_t len)
{
	return len ? len : strlen(s);
}

/* Probed with raw sockets against nats-server 2.9.10, except where noted:
 * whitespace cannot reach the server inside a subject (its parser splits on
 * it), and an empty subject is not a SUB at all. */
static const struct valid_case valid_cases[] = {
    {"foo", 0, true, true},
    {"foo.bar", 0, true, true},
    {"FOO", 0, true, true},
    {"$SYS.x", 0, true, true},
    {"a\xc3\xa9", 0, true, true},
    {"foo\0bar", 7, true, true},
    {"foo\fbar", 0, true, true},
    {"foo\vbar", 0, true, true},
    {"\f", 0, true, true},
    {"a.\f", 0, true, true},
    {"*a", 0, true, true},
    {"a*", 0, true, true},
    {"a>", 0, true, true},
    {">a", 0, true, true},
    {"**", 0, true, true},
    {">>", 0, true, true},
    {"foo.*a", 0, true, true},
    {"*", 0, true, false},
    {">", 0, true, false},
    {"foo.*", 0, true, false},
    {"foo.>", 0, true, false},
    {"*.*", 0, true, false},
    {"*.>", 0, true, false},
    {"foo.*.bar", 0, true, false},
    {"a.*.>", 0, true, false},
    {"*.*.*.>", 0, true, false},
    {"a.b.c.d.e.>", 0, true, false},
    {"foo.>.bar", 0, false, false},
    {"foo.>.>", 0, false, false},
    {">.foo", 0, false, false},
    {">.>", 0, false, false},
    {">.*", 0, false, false},
    {"a.>.*", 0, false, false},
    {"foo..bar", 0, false, false},
    {".", 0, false, false},
    {"..", 0, false, false},
    {"foo.", 0, false, false},
    {".foo", 0, false, false},
    /* By rule, not probed. */
    {"", 0, false, false},
    {"foo bar", 0, false, false},
    {"foo\tbar", 0, false, false},
    {"foo\rbar", 0, false, false},
    {"foo\nbar", 0, false, false},
    {" ", 0, false, false},
    {"a. .b", 0, false, false},
    {"foo.* ", 0, false, false},
};

Test(subject, validity_matches_nats_server)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(valid_cases); i++) {
		const struct valid_case *c = &valid_cases[i];
		size_t len = case_len(c->s, c->len);
		cr_expect_eq(subject_valid_sub(c->s, len), c->sub, "sub case %zu \"%s\"", i, c->s);
		cr_expect_eq(subject_valid_pub(c->s, len), c->pub, "pub case %zu \"%s\"", i, c->s);
	}
}

Test(subject, length_bounds_the_subject)
{
	/* Only the first @len bytes count: "foo.>" cut to "foo." is invalid. */
	cr_expect(subject_valid_sub("foo.>", 5));
	cr_expect_not(subject_valid_sub("foo.>", 4));
	cr_expect(subject_valid_pub("foo.bar.>", 7));
	cr_expect_not(subject_valid_sub("foo", 0));
}

struct wc_case {
	const char *s;
	bool wild;
};

static const struct wc_case wc_cases[] = {
    {"foo", false},      {"foo.bar", false}, {"*a", false},     {"a>", false},   {"**", false},
    {"foo.*a.b", false}, {"*", true},        {">", true},       {"foo.*", true}, {"foo.>", true},
    {"*.foo", true},     {"a.*.b", true},    {"a.b.c.>", true}, {"*.*", true},
};

Test(subject, has_wildcard_only_for_whole_wildcard_tokens)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(wc_cases); i++) {
		const struct wc_case *c = &wc_cases[i];
		cr_expect_eq(subject_has_wildcard(c->s, strlen(c->s)), c->wild, "case \"%s\"",
		             c->s);
	}
}

struct match_case {
	const char *pattern;
	const char *subj;
	bool match;
};

static const struct match_case match_cases[] = {
    {"foo", "foo", true},
    {"foo", "Foo", false},
    {"foo", "foo.bar", false},
    {"foo.bar", "foo", false},
    {"foo.bar", "foo.bar", true},
    {"foo.bar", "foo.baz", false},
    {"foo.bar", "foo.barx", false},
    {"foo.*", "foo.bar", true},
    {"foo.*", "foo", false},
    {"foo.*", "foo.bar.baz", false},
    {"*", "foo", true},
    {"*", "foo.bar", false},
    {"*.*", "a.b", true},
    {"*.bar", "foo.bar", true},
    {"*.bar", "foo.baz", false},
    {"foo.*.baz", "foo.x.baz", true},
    {"foo.*.baz", "foo.x.y.baz", false},
    {"foo.>", "foo.bar", true},
    {"foo.>", "foo.bar.baz", true},
    {"foo.>", "foo", false},
    {"foo.>", "foobar.x", false},
    {">", "foo", true},
    {">", "a.b.c", true},
    {"*.>", "a", false},
    {"*.>", "a.b", true},
    {"*.>", "a.b.c", true},
    {"a.*.>", "a.b", false},
    {"a.*.>", "a.b.c", true},
    {"*a", "*a", true},
    {"*a", "xa", false},
    {"a*", "a*", true},
    {"a>", "a.b", false},
    {"a>", "a>", true},
    {"foo.*", "foo.*", true},
};

Test(subject, reference_matcher_table)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		cr_expect_eq(
		    subject_matches(c->pattern, strlen(c->pattern), c->subj, strlen(c->subj)),
		    c->match, "\"%s\" against \"%s\"", c->pattern, c->subj);
	}
}
