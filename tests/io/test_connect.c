/* Tests of io/connect: CONNECT decoding as nats-server 2.9.10 does it, and the
 * INFO document.
 *
 * Probed on nats-server 2.9.10 (raw socket, CONNECT then PING):
 *   CONNECT {}                         +OK PONG (verbose stays on)
 *   CONNECT null                       +OK PONG
 *   CONNECT {"unknownfield":5,...}     accepted, field ignored
 *   CONNECT {"protocol":2} / -1        -ERR 'invalid client protocol', close
 *   CONNECT {"no_responders":true}     -ERR 'no responders requires headers support', close
 *   ... with "headers":true            accepted
 *   CONNECT x / [] / \r\n / {..} x     close, no -ERR (invalid JSON)
 *   {"verbose":"yes"}, {"protocol":"1"}, {"protocol":1.5}, {"name":5}
 *                                      close, no -ERR (wrong type for a field)
 *   CONNECT {"name":"a<TAB>b"} (also NUL, CR, LF, 0x01, 0x1f raw in a string),
 *   {"name":"a\xb"}, {"name":"a\u00zzb"}, {"x":01}, {"x":1.}, {} x, {}},
 *   {"x":1,} and form feeds or vertical tabs between tokens
 *                                      close, no -ERR; logged as
 *                                      [ERR] 127.0.0.1:port - cid:N - invalid
 *                                      character '\t' in string literal (Go's
 *                                      JSON errors: tests/io/test_json_strict.c)
 *   {"name":"\ud800"}, {"name":"\u0000"}, {"name":"a<DEL>b"}, raw 0x80-0xff,
 *   {"x":1e+5}, {"x":-0.0e-1}, blanks after the object
 *                                      accepted
 *   INFO: {"server_id",...,"server_name","version","proto":1,"go","host","port",
 *          "headers","auth_required" (when set),"max_payload","client_id",
 *          "client_ip"} followed by " \r\n". */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "io/proto/connect.h"

static int parse(struct connect_opts *o, const char *json)
{
	return connect_opts_parse(o, json, strlen(json), NULL, 0);
}

Test(connect, defaults_before_connect_are_nats_servers)
{
	struct connect_opts o;

	connect_opts_init(&o);
	cr_assert(o.verbose);
	cr_assert(o.pedantic);
	cr_assert(o.echo);
	cr_assert_not(o.headers);
	cr_assert_not(o.no_responders);
	cr_assert_not(o.tls_required);
	cr_assert_eq(o.protocol, 0);
	cr_assert_null(o.name);
	connect_opts_fini(&o);
}

Test(connect, empty_object_and_null_keep_the_defaults)
{
	static const char *docs[] = {"{}", "null", " \r\n{ }\t", "\n{}"};

	for (size_t i = 0; i < RB_ARRAY_LEN(docs); i++) {
		struct connect_opts o;
		connect_opts_init(&o);
		cr_assert_eq(parse(&o, docs[i]), 0, "%s", docs[i]);
		cr_assert(o.verbose && o.pedantic && o.echo);
		connect_opts_fini(&o);
	}
}

Test(connect, fields_are_applied_on_top)
{
	struct connect_opts o;

	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"verbose\":false,\"pedantic\":false,\"echo\":false,"
	                       "\"headers\":true,\"no_responders\":true,\"tls_required\":true,"
	                       "\"protocol\":1,\"name\":\"svc \\\"a\\\"\",\"lang\":\"C\","
	                       "\"version\":\"3.4.1\",\"user\":\"u\",\"pass\":\"p\","
	                       "\"auth_token\":\"t\",\"jwt\":\"j\",\"nkey\":\"n\",\"sig\":\"s\"}"),
	             0);
	cr_assert_not(o.verbose);
	cr_assert_not(o.pedantic);
	cr_assert_not(o.echo);
	cr_assert(o.headers && o.no_responders && o.tls_required);
	cr_assert_eq(o.protocol, 1);
	cr_assert_str_eq(o.name, "svc \"a\"");
	cr_assert_str_eq(o.lang, "C");
	cr_assert_str_eq(o.version, "3.4.1");
	cr_assert_str_eq(o.user, "u");
	cr_assert_str_eq(o.pass, "p");
	cr_assert_str_eq(o.auth_token, "t");
	cr_assert_str_eq(o.jwt, "j");
	cr_assert_str_eq(o.nkey, "n");
	cr_assert_str_eq(o.sig, "s");
	connect_opts_fini(&o);
	cr_assert_null(o.name);
}

Test(connect, a_second_connect_replaces_only_what_it_names)
{
	struct connect_opts o;

	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"name\":\"first\",\"verbose\":false,\"lang\":\"go\"}"), 0);
	cr_assert_eq(parse(&o, "{\"name\":\"second\",\"lang\":null}"), 0);
	cr_assert_str_eq(o.name, "second");
	cr_assert_str_eq(o.lang, "go", "null leaves a field as it was");
	cr_assert_not(o.verbose);
	connect_opts_fini(&o);
}

Test(connect, unknown_fields_are_ignored_and_keys_match_without_case)
{
	struct connect_opts o;

	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"unknownfield\":5,\"x\":[1,{}],\"Verbose\":false,"
	                       "\"account\":\"A\",\"import\":{\"allow\":[\"a\"]}}"),
	             0);
	cr_assert_not(o.verbose);
	connect_opts_fini(&o);
}

Test(connect, invalid_json_closes_without_an_err_line)
{
	static const char *docs[] = {
	    "",
	    "x",
	    "[]",
	    "\r",
	    "{\"verbose\":false} x",
	    "{\"verbose\":true,}",
	    "{\"verbose\":\"yes\"}",
	    "{\"protocol\":\"1\"}",
	    "{\"protocol\":1.5}",
	    "{\"name\":5}",
	    "{\"headers\":1}",
	    "{\"import\":5}",
	    "{\"protocol\":1e30}",
	    "1",
	    "\"str\"",
	};

	for (size_t i = 0; i < RB_ARRAY_LEN(docs); i++) {
		struct connect_opts o;
		connect_opts_init(&o);
		cr_expect_eq(parse(&o, docs[i]), CONNECT_ERR_JSON, "%s", docs[i]);
		cr_expect(o.verbose, "%s: a failed CONNECT must change nothing", docs[i]);
		connect_opts_fini(&o);
	}
	cr_assert_null(connect_err_text(CONNECT_ERR_JSON));
}

/* CONNECT documents nats-server refuses (connection closed, no -ERR) although
 * cJSON alone would read them; explicit lengths (some hold NUL). */
static const struct {
	const char *doc;
	size_t len;
} strict_refused[] = {
#define DOC(s)                                                                                     \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}
    DOC("{\"verbose\":false,\"name\":\"a\tb\"}"),
    DOC("{\"verbose\":false,\"name\":\"a\0b\"}"),
    DOC("{\"verbose\":false,\"name\":\"a\rb\"}"),
    DOC("{\"verbose\":false,\"name\":\"a\nb\"}"),
    DOC("{\"verbose\":false,\"name\":\"a\x01\"}"),
    DOC("{\"verbose\":false,\"name\":\"a\x1f\"}"),
    DOC("{\"verbose\":false,\"name\":\"a\\u00zzb\"}"),
    DOC("{\"verbose\":false,\"x\":01}"),
    DOC("{\"verbose\":false,\"x\":1.}"),
    DOC("{\"verbose\":false,\f\"x\":1}"),
    DOC("{\"verbose\":false,\v\"x\":1}"),
    DOC("{\"verbose\":false}\0"),
#undef DOC
};

Test(connect, json_is_read_as_strictly_as_nats_server_reads_it)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(strict_refused); i++) {
		struct connect_opts o;
		char why[128] = "";
		connect_opts_init(&o);
		cr_expect_eq(connect_opts_parse(&o, strict_refused[i].doc, strict_refused[i].len,
		                                why, sizeof(why)),
		             CONNECT_ERR_JSON, "case %zu accepted", i);
		cr_expect(o.verbose && o.name == NULL,
		          "case %zu: a refused CONNECT changed the options", i);
		cr_expect(strncmp(why, "invalid character ", 18) == 0, "case %zu: reason '%s'", i,
		          why);
		connect_opts_fini(&o);
	}
}

Test(connect, the_reason_is_given_for_the_log)
{
	struct connect_opts o;
	char why[128];

	connect_opts_init(&o);
	cr_assert_eq(connect_opts_parse(&o, "{\"name\":\"a\tb\"}", 14, why, sizeof(why)),
	             CONNECT_ERR_JSON);
	cr_assert_str_eq(why, "invalid character '\\t' in string literal");
	cr_assert_eq(connect_opts_parse(&o, "{\"verbose\":\"yes\"}", 17, why, sizeof(why)),
	             CONNECT_ERR_JSON);
	cr_assert_str_eq(why, "json: cannot unmarshal string into field verbose of type bool");
	cr_assert_eq(connect_opts_parse(&o, "{\"protocol\":2}", 14, why, sizeof(why)),
	             CONNECT_ERR_PROTOCOL);
	cr_assert_str_eq(why, "invalid client protocol");
	cr_assert_eq(connect_opts_parse(&o, "{\"protocol\":2}", 14, NULL, 0), CONNECT_ERR_PROTOCOL);
	connect_opts_fini(&o);
}

Test(connect, lone_surrogates_are_read_as_nats_server_reads_them)
{
	static const char *docs[] = {"{\"name\":\"\\ud800\"}", "{\"name\":\"\\udc00x\"}",
	                             "{\"name\":\"\\u0000\"}", "{\"name\":\"a\x7f\x80\xff\"}",
	                             "{\"x\":1e+5,\"y\":-0.0e-1}  \t "};
	for (size_t i = 0; i < RB_ARRAY_LEN(docs); i++) {
		struct connect_opts o;
		connect_opts_init(&o);
		cr_expect_eq(parse(&o, docs[i]), 0, "%s", docs[i]);
		connect_opts_fini(&o);
	}
	struct connect_opts o;
	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"name\":\"x\\ud800y\"}"), 0);
	cr_assert_str_eq(o.name, "x\xef\xbf\xbdy", "U+FFFD in UTF-8");
	connect_opts_fini(&o);
}

Test(connect, a_bad_field_type_changes_nothing)
{
	struct connect_opts o;

	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"name\":\"n\",\"verbose\":false,\"pedantic\":1}"),
	             CONNECT_ERR_JSON);
	cr_assert_null(o.name);
	cr_assert(o.verbose);
	connect_opts_fini(&o);
}

Test(connect, protocol_outside_zero_and_one_is_invalid)
{
	static const struct {
		const char *doc;
		int want;
	} rows[] = {
	    {"{\"protocol\":0}", 0},
	    {"{\"protocol\":1}", 0},
	    {"{\"protocol\":2}", CONNECT_ERR_PROTOCOL},
	    {"{\"protocol\":-1}", CONNECT_ERR_PROTOCOL},
	    {"{\"protocol\":100000000000}", CONNECT_ERR_PROTOCOL},
	};

	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct connect_opts o;
		connect_opts_init(&o);
		cr_expect_eq(parse(&o, rows[i].doc), rows[i].want, "%s", rows[i].doc);
		connect_opts_fini(&o);
	}
	cr_assert_str_eq(connect_err_text(CONNECT_ERR_PROTOCOL), "invalid client protocol");
}

Test(connect, no_responders_requires_headers)
{
	struct connect_opts o;

	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"no_responders\":true}"), CONNECT_ERR_NO_RESPONDERS);
	connect_opts_fini(&o);
	connect_opts_init(&o);
	cr_assert_eq(parse(&o, "{\"no_responders\":true,\"headers\":true}"), 0);
	connect_opts_fini(&o);
	cr_assert_str_eq(connect_err_text(CONNECT_ERR_NO_RESPONDERS),
	                 "no responders requires headers support");
	cr_assert_null(connect_err_text(CONNECT_ERR_NOMEM));
}

static const struct connect_info sample = {
    .server_id = "NCIBPCUPYUQ75QMPFJFSSMUWJDEZXUJFTPOC4N6HSOPLCMRLCJXP3VTP",
    .server_name = "rb1",
    .version = "0.1.0",
    .host = "127.0.0.1",
    .port = 4222,
    .headers = true,
    .max_payload = 1048576,
    .client_id = 150,
    .client_ip = "127.0.0.1",
};

Test(connect, info_has_nats_servers_layout)
{
	char buf[1024];
	size_t n = connect_info_encode(buf, sizeof(buf), &sample);
	const char *want =
	    "INFO {\"server_id\":\"NCIBPCUPYUQ75QMPFJFSSMUWJDEZXUJFTPOC4N6HSOPLCMRLCJXP3VTP\","
	    "\"server_name\":\"rb1\",\"version\":\"0.1.0\",\"proto\":1,\"go\":\"ringbus\","
	    "\"host\":\"127.0.0.1\",\"port\":4222,\"headers\":true,\"max_payload\":1048576,"
	    "\"client_id\":150,\"client_ip\":\"127.0.0.1\"} \r\n";

	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(buf, want, n) == 0, "got %.*s", (int)n, buf);
}

Test(connect, info_optional_fields_follow_nats_servers_order)
{
	struct connect_info i = sample;
	char buf[1024];
	size_t n;

	i.auth_required = true;
	i.tls_required = true;
	i.tls_available = true;
	i.nonce = "abc";
	i.client_id = 0;
	n = connect_info_encode(buf, sizeof(buf), &i);
	buf[n] = '\0';
	const char *h = strstr(buf, "\"headers\":true");
	const char *a = strstr(buf, "\"auth_required\":true");
	const char *t = strstr(buf, "\"tls_required\":true");
	const char *v = strstr(buf, "\"tls_available\":true");
	const char *m = strstr(buf, "\"max_payload\":");
	const char *c = strstr(buf, "\"client_ip\":");
	const char *o = strstr(buf, "\"nonce\":\"abc\"");
	cr_assert(h && a && t && v && m && c && o, "%s", buf);
	cr_assert(h < a && a < t && t < v && v < m && m < c && c < o, "%s", buf);
	cr_assert_null(strstr(buf, "client_id"), "client_id 0 is omitted");
}

Test(connect, info_tells_lame_duck_mode_last_and_ringbus_its_version_after_nats_servers)
{
	struct connect_info i = sample;
	char buf[1024];
	i.version = "2.9.10";
	i.ringbus_version = "0.2.0";
	i.ldm = true;
	i.nonce = "abc";
	size_t n = connect_info_encode(buf, sizeof(buf), &i);
	buf[n] = '\0';
	cr_assert(strstr(buf, "\"version\":\"2.9.10\",\"ringbus_version\":\"0.2.0\",\"proto\":1"),
	          "%s", buf);
	const char *o = strstr(buf, "\"nonce\"");
	const char *l = strstr(buf, "\"ldm\":true} \r\n");
	cr_assert(o && l && o < l, "ldm comes last, as nats-server's: %s", buf);
	i.ldm = false;
	i.ringbus_version = NULL;
	n = connect_info_encode(buf, sizeof(buf), &i);
	buf[n] = '\0';
	cr_assert_null(strstr(buf, "ldm"), "%s", buf);
	cr_assert_null(strstr(buf, "ringbus_version"), "%s", buf);
}

Test(connect, info_escapes_strings_as_go_does)
{
	struct connect_info i = sample;
	char buf[1024];
	size_t n;

	i.server_name = "a\"b\\c<d>&\n\x01";
	n = connect_info_encode(buf, sizeof(buf), &i);
	buf[n] = '\0';
	cr_assert_not_null(
	    strstr(buf, "\"server_name\":\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\n\\u0001\""), "%s",
	    buf);
}

Test(connect, info_encode_returns_zero_when_it_does_not_fit)
{
	char buf[1024];
	size_t full = connect_info_encode(buf, sizeof(buf), &sample);

	cr_assert_gt(full, 0);
	for (size_t cap = 0; cap < full; cap++)
		cr_assert_eq(connect_info_encode(buf, cap, &sample), 0, "cap %zu", cap);
	cr_assert_eq(connect_info_encode(buf, full, &sample), full);
}

Test(connect, info_round_trips_through_the_client_side_parser)
{
	struct connect_info in = sample, out;
	char buf[1024], scratch[512];
	size_t n;

	in.auth_required = true;
	in.nonce = "nonce-1";
	n = connect_info_encode(buf, sizeof(buf), &in);
	cr_assert_gt(n, 7);
	/* the JSON sits between "INFO " and "\r\n" */
	cr_assert_eq(connect_info_parse(&out, buf + 5, n - 7, scratch, sizeof(scratch)), 0);
	cr_assert_str_eq(out.server_id, in.server_id);
	cr_assert_str_eq(out.server_name, in.server_name);
	cr_assert_str_eq(out.version, in.version);
	cr_assert_str_eq(out.host, in.host);
	cr_assert_str_eq(out.client_ip, in.client_ip);
	cr_assert_str_eq(out.nonce, in.nonce);
	cr_assert_eq(out.port, in.port);
	cr_assert_eq(out.max_payload, in.max_payload);
	cr_assert_eq(out.client_id, in.client_id);
	cr_assert_eq(out.proto, 1);
	cr_assert(out.headers && out.auth_required);
	cr_assert_not(out.tls_required || out.tls_available);
}

Test(connect, info_parse_reads_nats_servers_info)
{
	static const char doc[] =
	    "{\"server_id\":\"NCIB\",\"server_name\":\"NCIB\",\"version\":\"2.9.10\","
	    "\"proto\":1,\"go\":\"go1.19.8\",\"host\":\"127.0.0.1\",\"port\":4377,"
	    "\"headers\":true,\"max_payload\":1048576,\"client_id\":150,"
	    "\"client_ip\":\"127.0.0.1\"} ";
	struct connect_info out;
	char scratch[256];

	cr_assert_eq(connect_info_parse(&out, doc, sizeof(doc) - 1, scratch, sizeof(scratch)), 0);
	cr_assert_str_eq(out.version, "2.9.10");
	cr_assert_eq(out.max_payload, 1048576);
	cr_assert_eq(out.port, 4377);
	cr_assert(out.headers);
	cr_assert_not(out.auth_required);
	cr_assert_null(out.nonce);
}

Test(connect, info_parse_rejects_bad_json_and_small_scratch)
{
	static const char *bad[] = {"", "x", "[]", "{\"a\":}", "{} x", "null"};
	struct connect_info out;
	char scratch[8];

	for (size_t i = 0; i < RB_ARRAY_LEN(bad); i++)
		cr_expect_eq(
		    connect_info_parse(&out, bad[i], strlen(bad[i]), scratch, sizeof(scratch)),
		    CONNECT_ERR_JSON, "%s", bad[i]);
	cr_assert_eq(connect_info_parse(&out, "{\"server_id\":\"0123456789\"}", 26, scratch,
	                                sizeof(scratch)),
	             CONNECT_ERR_NOMEM);
}

Test(connect, versions_are_read_as_nats_server_reads_them)
{
	static const struct {
		const char *s;
		bool ok;
		unsigned v[3];
	} rows[] = {
	    {"2.9.10", true, {2, 9, 10}},
	    {"v2.10.0", true, {2, 10, 0}},
	    {"2.10.0-beta.1", true, {2, 10, 0}},
	    {"2.8.0+build7", true, {2, 8, 0}},
	    {"2.9", false, {0}},
	    {"abc", false, {0}},
	    {"2.9.x", false, {0}},
	    {"2.9.1-", false, {0}},
	    {"2.9.1 ", false, {0}},
	    {"", false, {0}},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		unsigned v[3] = {0};
		cr_expect_eq(connect_version_parse(rows[i].s, v), rows[i].ok, "%s", rows[i].s);
		if (rows[i].ok)
			cr_expect(!memcmp(v, rows[i].v, sizeof(v)), "%s: %u.%u.%u", rows[i].s, v[0],
			          v[1], v[2]);
	}
	const unsigned min[3] = {2, 9, 0};
	cr_expect(connect_version_at_least("2.9.0", min));
	cr_expect(connect_version_at_least("2.9.10", min));
	cr_expect(connect_version_at_least("3.0.0", min));
	cr_expect_not(connect_version_at_least("2.8.99", min));
	cr_expect_not(connect_version_at_least(NULL, min));
	cr_expect_not(connect_version_at_least("junk", min));
}
