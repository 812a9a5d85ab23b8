/* Protocol errors over raw sockets: each -ERR text and whether the server
 * closes, pedantic publish checks, the payload limit and stale connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

#include <criterion/parameterized.h>

TestSuite(errors, .init = itest_setup, .fini = itest_teardown, .timeout = 60);

#define Q               "{\"verbose\":false,\"pedantic\":false}"
#define QH              "{\"verbose\":false,\"pedantic\":false,\"headers\":true}"
#define PEDANTIC        "{\"verbose\":false,\"pedantic\":true}"
#define UNKNOWN_OP      "-ERR 'Unknown Protocol Operation'\r\n"
#define INVALID_SUBJECT "-ERR 'Invalid Subject'\r\n"
#define INVALID_PUBLISH "-ERR 'Invalid Publish Subject'\r\n"

/* One bad input: after INFO the client sends "CONNECT <connect>\r\n" then
 * input (or, when long_sub is set, a SUB whose subject has long_sub bytes);
 * the server must answer exactly reply, then close or keep serving. */
struct err_case {
	const char *name;
	const char *connect;
	const char *input;
	size_t long_sub;
	const char *reply;
	bool closes;
};

static const struct err_case err_cases[] = {
    {"unknown operation", Q, "FOO bar\r\n", 0, UNKNOWN_OP, true},
    {"payload not followed by CRLF", Q, "PUB foo 1\r\nxy\r\n", 0, UNKNOWN_OP, true},
    {"control line over 4096 bytes", Q, NULL, 5000, "-ERR 'maximum control line exceeded'\r\n",
     true},
    {"PUB over max_payload", Q, "PUB foo 1048577\r\n", 0, "-ERR 'Maximum Payload Violation'\r\n",
     true},
    {"HPUB over max_payload", QH, "HPUB foo 12 1048577\r\n", 0,
     "-ERR 'Maximum Payload Violation'\r\n", true},
    {"empty subject token", Q, "SUB foo..bar 1\r\n", 0, INVALID_SUBJECT, false},
    {"leading dot", Q, "SUB .foo 1\r\n", 0, INVALID_SUBJECT, false},
    {"trailing dot", Q, "SUB foo. 1\r\n", 0, INVALID_SUBJECT, false},
    {"full wildcard not last", Q, "SUB foo.>.bar 1\r\n", 0, INVALID_SUBJECT, false},
    {"pedantic publish to *", PEDANTIC, "PUB foo.* 1\r\nx\r\n", 0, INVALID_PUBLISH, false},
    {"pedantic publish to >", PEDANTIC, "PUB foo.> 1\r\nx\r\n", 0, INVALID_PUBLISH, false},
    {"pedantic publish to empty token", PEDANTIC, "PUB a..b 1\r\nx\r\n", 0, INVALID_PUBLISH, false},
    {"pedantic is on unless CONNECT turns it off", "{\"verbose\":false}", "PUB a.> 1\r\nx\r\n", 0,
     INVALID_PUBLISH, false},
    {"protocol above 1", "{\"verbose\":false,\"protocol\":2}", "PING\r\n", 0,
     "-ERR 'invalid client protocol'\r\n", true},
    {"no_responders without headers", "{\"verbose\":false,\"no_responders\":true}", "PING\r\n", 0,
     "-ERR 'no responders requires headers support'\r\n", true},
    {"malformed SUB arguments", Q, "SUB a b c d\r\n", 0, "", true},
    {"SUB without a sid", Q, "SUB foo\r\n", 0, "", true},
    {"PUB size not a number", Q, "PUB foo 1x\r\na\r\n", 0, "", true},
    {"PUB negative size", Q, "PUB foo -1\r\n", 0, "", true},
    {"HPUB header length over total", QH, "HPUB foo 20 12\r\n", 0, "", true},
    {"HPUB without header support", "{\"verbose\":false,\"pedantic\":false,\"headers\":false}",
     "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n", 0, "", true},
    {"invalid CONNECT JSON", "{verbose", "PING\r\n", 0, "", true},
    {"the client's own -ERR", Q, "-ERR 'boom'\r\nPING\r\n", 0, "", true},
};

#define N_ERR_CASES (sizeof err_cases / sizeof err_cases[0])

ParameterizedTestParameters(errors, each_error_has_its_text_and_close_behaviour)
{
	static int idx[N_ERR_CASES];
	for (size_t i = 0; i < N_ERR_CASES; i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, N_ERR_CASES);
}

ParameterizedTest(int *i, errors, each_error_has_its_text_and_close_behaviour)
{
	const struct err_case *e = &err_cases[*i];
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_RAW_OK(c, raw_sendf(c, "CONNECT %s\r\n", e->connect));
	if (e->long_sub > 0) {
		char *line = malloc(e->long_sub + 16);
		cr_assert_not_null(line);
		memcpy(line, "SUB ", 4);
		memset(line + 4, 'a', e->long_sub);
		memcpy(line + 4 + e->long_sub, " 1\r\n", 5);
		raw_send_str(c, line); /* the server may close before reading it all */
		free(line);
	} else {
		raw_send_str(c, e->input);
	}
	cr_assert_eq(raw_expect_str(c, e->reply), 0, "%s: %s", e->name, raw_why(c));
	if (e->closes) {
		cr_assert_eq(raw_expect_eof(c, RAW_WAIT_MS), 0, "%s: must close: %s", e->name,
		             raw_why(c));
	} else {
		raw_send_str(c, "PING\r\n");
		cr_assert_eq(raw_expect_str(c, "PONG\r\n"), 0, "%s: must stay open: %s", e->name,
		             raw_why(c));
	}
	raw_close(c);
}

/* CONNECT JSON that nats-server's decoder refuses although a lenient parser
 * reads it: a raw control character inside a string (one of each class: TAB,
 * NUL, CR, LF, the others below 0x20), a bad escape, and bytes after the
 * object. Each is answered with nothing (no PONG, no -ERR) and a close; the
 * same document written correctly gets its PONG. Explicit lengths: some
 * hold NUL bytes. */
struct strict_case {
	const char *name;
	const char *bad;
	size_t bad_len;
	const char *good; /* the same CONNECT written correctly */
};

#define STRICT(name, bad, good)                                                                    \
	{                                                                                          \
		name, bad, sizeof(bad) - 1, good                                                   \
	}
static const struct strict_case strict_cases[] = {
    STRICT("raw TAB in a string", "{\"verbose\":false,\"name\":\"a\tb\"}",
           "{\"verbose\":false,\"name\":\"a\\tb\"}"),
    STRICT("raw NUL in a string", "{\"verbose\":false,\"name\":\"a\0b\"}",
           "{\"verbose\":false,\"name\":\"a\\u0000b\"}"),
    STRICT("raw CR in a string", "{\"verbose\":false,\"name\":\"a\rb\"}",
           "{\"verbose\":false,\"name\":\"a\\rb\"}"),
    STRICT("raw 0x01 in a string",
           "{\"verbose\":false,\"name\":\"a\x01"
           "b\"}",
           "{\"verbose\":false,\"name\":\"a\\u0001b\"}"),
    STRICT("raw 0x1f in a key",
           "{\"verbose\":false,\"na\x1f"
           "me\":\"a\"}",
           "{\"verbose\":false,\"na\\u001fme\":\"a\"}"),
    STRICT("raw ESC in a string", "{\"verbose\":false,\"lang\":\"\x1b[0m\"}",
           "{\"verbose\":false,\"lang\":\"\\u001b[0m\"}"),
    STRICT("unknown escape", "{\"verbose\":false,\"name\":\"a\\xb\"}",
           "{\"verbose\":false,\"name\":\"a\\\\xb\"}"),
    STRICT("bad \\u digits", "{\"verbose\":false,\"name\":\"a\\u00zz\"}",
           "{\"verbose\":false,\"name\":\"a\\u00ff\"}"),
    STRICT("number with a leading zero", "{\"verbose\":false,\"x\":01}",
           "{\"verbose\":false,\"x\":1}"),
    STRICT("garbage after the object", "{\"verbose\":false} x", "{\"verbose\":false} "),
    STRICT("NUL after the object", "{\"verbose\":false}\0", "{\"verbose\":false}\t"),
};
#undef STRICT
#define N_STRICT_CASES (sizeof strict_cases / sizeof strict_cases[0])

ParameterizedTestParameters(errors, connect_json_is_read_strictly)
{
	static int idx[N_STRICT_CASES];
	for (size_t i = 0; i < N_STRICT_CASES; i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, N_STRICT_CASES);
}

ParameterizedTest(int *i, errors, connect_json_is_read_strictly)
{
	const struct strict_case *e = &strict_cases[*i];
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_SEND(c, "CONNECT ");
	ITEST_RAW_OK(c, raw_send(c, e->bad, e->bad_len));
	raw_send_str(c, "\r\nPING\r\n"); /* the server may have closed already */
	cr_assert_eq(raw_expect_eof(c, RAW_WAIT_MS), 0, "%s: must close without a reply: %s",
	             e->name, raw_why(c));
	raw_close(c);

	c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_RAW_OK(c, raw_sendf(c, "CONNECT %s\r\nPING\r\n", e->good));
	cr_assert_eq(raw_expect_str(c, "PONG\r\n"), 0, "%s, written correctly: %s", e->name,
	             raw_why(c));
	raw_close(c);
}

Test(errors, a_pedantic_publish_to_a_wildcard_is_still_routed)
{
	struct raw_conn *sub = itest_raw(Q);
	ITEST_SEND(sub, "SUB ped.> 1\r\nSUB ped.* 2\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	struct raw_conn *pub = itest_raw(PEDANTIC);
	ITEST_SEND(pub, "PUB ped.* 1\r\nx\r\n");
	ITEST_EXPECT(pub, INVALID_PUBLISH);
	struct raw_msg m[2];
	bool seen[3] = {false, false, false};
	for (int k = 0; k < 2; k++) {
		ITEST_RAW_OK(sub, raw_read_msg(sub, &m[k], RAW_WAIT_MS));
		cr_assert_str_eq(m[k].subject, "ped.*");
		cr_assert_str_eq(m[k].data, "x");
		int sid = atoi(m[k].sid);
		cr_assert(sid == 1 || sid == 2, "sid %s", m[k].sid);
		cr_assert(!seen[sid], "sid %d delivered twice", sid);
		seen[sid] = true;
		raw_msg_fini(&m[k]);
	}
	ITEST_SEND(pub, "PING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	raw_close(sub);
	raw_close(pub);
}

Test(errors, a_verbose_pedantic_publish_gets_the_error_then_ok)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS));
	ITEST_SEND(c, "CONNECT {}\r\n");
	ITEST_EXPECT(c, "+OK\r\n");
	ITEST_SEND(c, "PUB vp.* 1\r\nx\r\n");
	ITEST_EXPECT(c, INVALID_PUBLISH "+OK\r\n");
	ITEST_SEND(c, "SUB vp..x 1\r\n");
	ITEST_EXPECT(c, INVALID_SUBJECT);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(errors, a_payload_of_exactly_max_payload_is_delivered)
{
	const size_t max = 1048576;
	struct raw_conn *sub = itest_raw(Q);
	ITEST_SEND(sub, "SUB big 1\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	struct raw_conn *pub = itest_raw(Q);
	char *payload = malloc(max);
	cr_assert_not_null(payload);
	for (size_t i = 0; i < max; i++)
		payload[i] = (char)('a' + i % 26);
	ITEST_SEND(pub, "PUB big 1048576\r\n");
	ITEST_RAW_OK(pub, raw_send(pub, payload, max));
	ITEST_SEND(pub, "\r\nPING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	struct raw_msg m;
	ITEST_RAW_OK(sub, raw_read_msg(sub, &m, RAW_WAIT_MS));
	cr_assert_eq(m.len, max);
	cr_assert(memcmp(m.data, payload, max) == 0, "payload changed in transit");
	raw_msg_fini(&m);
	free(payload);
	raw_close(sub);
	raw_close(pub);
}

/* Starts the server with a 1 s ping interval and at most 2 unanswered PINGs
 * (a config file, as nats-server has no such flags). */
static void start_with_short_pings(void)
{
	struct harness_opts opts = {.config = "ping_interval: \"1s\"\nping_max: 2\n"};
	if (harness_kind_from_env() == HARNESS_RINGBUS) {
		if (harness_server_start(&itest_srv, &opts) != 0)
			cr_skip_test("ringbus did not start with a ping_interval config file");
		return;
	}
	itest_start(&opts);
}

Test(stale, a_client_that_never_answers_pings_is_closed_as_stale, .fini = itest_teardown,
     .timeout = 60)
{
	start_with_short_pings();
	struct raw_conn *c = itest_raw(Q);
	raw_set_auto_pong(c, false);
	char line[256];
	int pings = 0;
	for (;;) {
		ssize_t n = raw_read_line(c, line, sizeof line, 10000);
		cr_assert_geq(n, 0, "no stale close after %d PINGs: %s", pings, raw_why(c));
		if (strcmp(line, "PING") != 0)
			break;
		pings++;
	}
	cr_assert_str_eq(line, "-ERR 'Stale Connection'");
	cr_assert_eq(pings, 2, "the server closes after ping_max (2) unanswered PINGs, sent %d",
	             pings);
	ITEST_RAW_OK(c, raw_expect_eof(c, RAW_WAIT_MS));
	raw_close(c);
}

Test(stale, a_client_that_answers_pings_stays_connected, .fini = itest_teardown, .timeout = 60)
{
	start_with_short_pings();
	struct raw_conn *c = itest_raw(Q);
	raw_set_auto_pong(c, false);
	/* Five server PINGs answered outlast ping_max (2) several times over. */
	for (int i = 0; i < 5; i++) {
		ITEST_RAW_OK(c, raw_expect(c, "PING\r\n", 6, 10000));
		ITEST_SEND(c, "PONG\r\n");
	}
	raw_set_auto_pong(c, true);
	ITEST_SEND(c, "SUB alive 1\r\nPUB alive 2\r\nok\r\n");
	ITEST_EXPECT(c, "MSG alive 1 2\r\nok\r\n");
	raw_close(c);
}
