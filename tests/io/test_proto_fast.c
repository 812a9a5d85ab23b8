/* The parser's fast paths (io/proto/proto_fast.h) against its general path,
 * on every side, over the inputs where a fast path decides by itself: the
 * line's separators (one blank, two, a tab, a lone \r or \n, none, a
 * field too many), its end (\r\n, a blank before it, a lone \n, \r\r\n,
 * a stray \r), subjects of 1 to 72 bytes (lines that end anywhere in the
 * 16-byte steps the fast path scans in), input that stops anywhere from
 * well before the line's end to well after the message (the scan must not
 * read past it), and a control line limit around the line's length. For
 * each, both paths must return the same result, consume as much and give
 * the same frame (or, when more is needed, the same scan).
 * tests/fuzz/fuzz_proto.c checks the same at random; this walks the edges
 * on every run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/proto_int.h"
#include "tests/io/proto_paths.h"

/* One operation's shape: its name, the fields before and after the
 * subject, and whether it has a header size. */
struct shape {
	enum proto_side side;
	const char *op;
	const char *lead;  /* a field before the subject (NULL: none) */
	const char *after; /* one after it (NULL: none) */
	bool headers;
};

static unsigned checked, framed;

/* Both paths over @s/@n (tests/io/proto_paths.h). */
static void same(const struct proto_parser *p, const char *s, size_t n)
{
	int result;
	const char *why = proto_paths_differ(p, s, n, &result);
	cr_assert_null(why, "%s: %.*s", why, (int)n, s);
	framed += result == 1;
	checked++;
}

/* @line (its end included) and a payload, then what follows (other
 * messages): every length from 18 bytes short of the line's end to 18
 * past the message's, each as the whole input (the fast path scans 16
 * bytes at a time); and the line under limits just around its length. */
static void walk(enum proto_side side, const char *line, const char *payload)
{
	static const char tail[] = "MSG x 1 2\r\nPUB y 3\r\nRMSG $G z 4\r\nLMSG w 5\r\n"
	                           "HMSG v 1 12 12\r\nPUB u 1\r\nx\r\n....";
	char buf[512];
	int len = snprintf(buf, sizeof(buf), "%s%s\r\n%s", line, payload, tail);
	cr_assert(len > 0 && (size_t)len < sizeof(buf));
	size_t whole = strlen(line) + strlen(payload) + 2;
	struct proto_parser p;
	proto_parser_init(&p, side, PROTO_DEFAULT_MAX_PAYLOAD);
	size_t args = strlen(line);
	for (size_t n = args > 18 ? args - 18 : 0; n <= whole + 18 && n <= (size_t)len; n++)
		same(&p, buf, n);
	for (size_t max = args > 12 ? args - 12 : 1; max <= args + 2; max++) {
		proto_parser_set_max_control(&p, (uint32_t)max);
		same(&p, buf, (size_t)len);
	}
	proto_parser_fini(&p);
}

/* @sh's line with a subject of @slen bytes, with or without a reply, each
 * separator in turn replaced by each of @seps, and other ends. */
static void walk_shape(const struct shape *sh, size_t slen, bool reply)
{
	static const char *const seps[] = {"  ", "\t", "\r", "\n", "", " \t", "\r\n", " x "};
	/* other ends of the line than \r\n */
	static const char *const ends[] = {" \r\n", "\n", "\r\r\n", "\rx", "\t\r\n"};
	char subject[128];
	memset(subject, 'a', slen);
	subject[slen] = '\0';
	for (size_t i = 1; i < slen; i += 7)
		subject[i] = '.';
	const char *payload = sh->headers ? "NATS/1.0\r\n\r\nhi" : "hello";
	const char *fields[8];
	int nf = 0;
	if (sh->lead)
		fields[nf++] = sh->lead;
	fields[nf++] = subject;
	if (sh->after)
		fields[nf++] = sh->after;
	if (reply)
		fields[nf++] = "_INBOX.r";
	if (sh->headers)
		fields[nf++] = "12";
	fields[nf++] = sh->headers ? "14" : "5";
	/* -1: every separator a blank; k: the k-th replaced by seps[j] */
	for (int k = -1; k < nf; k++) {
		for (size_t j = 0; j < (k < 0 ? 1 : RB_ARRAY_LEN(seps)); j++) {
			char line[256];
			int at = snprintf(line, sizeof(line), "%s", sh->op);
			for (int f = 0; f < nf; f++)
				at += snprintf(line + at, sizeof(line) - (size_t)at, "%s%s",
				               f == k ? seps[j] : " ", fields[f]);
			snprintf(line + at, sizeof(line) - (size_t)at, "\r\n");
			walk(sh->side, line, payload);
			for (size_t e = 0; k < 0 && e < RB_ARRAY_LEN(ends); e++) {
				snprintf(line + at, sizeof(line) - (size_t)at, "%s", ends[e]);
				walk(sh->side, line, payload);
			}
		}
	}
}

Test(proto_fast, every_fast_path_agrees_with_the_general_path_at_its_edges)
{
	static const struct shape shapes[] = {
	    {PROTO_SIDE_SERVER, "PUB", NULL, NULL, false},
	    {PROTO_SIDE_SERVER, "HPUB", NULL, NULL, true},
	    {PROTO_SIDE_CLIENT, "MSG", NULL, "12", false},
	    {PROTO_SIDE_CLIENT, "HMSG", NULL, "12", true},
	    {PROTO_SIDE_ROUTE, "RMSG", "$G", NULL, false},
	    {PROTO_SIDE_ROUTE, "HMSG", "$G", NULL, true},
	    {PROTO_SIDE_LEAF, "LMSG", NULL, NULL, false},
	    {PROTO_SIDE_LEAF, "HMSG", NULL, NULL, true},
	};
	for (size_t s = 0; s < RB_ARRAY_LEN(shapes); s++)
		for (size_t slen = 1; slen <= 72; slen++) {
			walk_shape(&shapes[s], slen, false);
			walk_shape(&shapes[s], slen, true);
		}
	cr_log_info("%u inputs, %u frames", checked, framed);
	cr_expect_gt(framed, checked / 10, "too few inputs made a frame to test the fast paths");
}
