/* Tests of io/ws's upgrade handshake: the RFC 6455 key vector, nats-server's
 * 101 answer (with and without permessage-deflate), every refusal and its
 * HTTP answer, splits at every byte, the size cap, the Origin rules.
 *
 * What nats-server 2.9.10 answers (tests/io/ws_probe_nats.py; "Go" marks
 * answers of Go's HTTP server, "Bad Request" and such are http.Error()'s
 * body, the status text and a newline):
 *
 * | request                               | nats-server 2.9.10                          |
 * |---------------------------------------|---------------------------------------------|
 * | POST (or "get")                       | 405 Method Not Allowed                      |
 * | HTTP/1.1 without Host                 | Go: 400 Bad Request: missing required Host  |
 * |                                       | header (Connection: close)                  |
 * | Host twice                            | Go: 400 Bad Request                         |
 * | Host "a b"                            | Go: 400 Bad Request: malformed Host header  |
 * | HTTP/1.0 without Host; empty Host     | 400 Bad Request (HTTP/1.0 status line)      |
 * | no Upgrade, or Upgrade: h2c           | 400 Bad Request                             |
 * | Upgrade: foo, WebSocket               | 101                                         |
 * | no Connection                         | 400 Bad Request                             |
 * | Connection: keep-alive, upgrade       | 101                                         |
 * | no key, empty key                     | 400 Bad Request                             |
 * | version 12, or none                   | 400 Bad Request                             |
 * | Sec-WebSocket-Version: 8, 13          | 101                                         |
 * | Origin not allowed                    | 403 Forbidden                               |
 * | frame bytes sent with the request     | nothing: the connection is closed           |
 * | request line "HELLO", target "abc"    | Go: 400 Bad Request                         |
 * | HTTP/1.10, http/1.1, "GET  /"         | Go: 400 Bad Request                         |
 * | HTTP/2.0, HTTP/0.9                    | Go: 505 HTTP Version Not Supported:         |
 * |                                       | unsupported protocol version                |
 * | HTTP/1.2                              | 101                                         |
 * | header line without a colon           | Go: 400 Bad Request                         |
 * | "X-A : b" (space before the colon)    | Go: 400 Bad Request: invalid header name    |
 * | a control character in a value        | Go: 400 Bad Request: invalid header value   |
 * | ": x" (empty name)                    | line ignored, 101                           |
 * | folded header line                    | 101 (ringbus: 400, RFC 7230 allows it)      |
 * | bare \n line ends                     | 101                                         |
 * | 2 MiB of headers                      | Go: 431 Request Header Fields Too Large     |
 * |                                       | (ringbus: above 8 KiB)                      |
 *
 * Error answers carry Content-Type: text/plain; charset=utf-8 and, from
 * nats-server, Sec-Websocket-Version: 13, X-Content-Type-Options: nosniff
 * and Content-Length; Go also sends a Date, which the codec cannot. ringbus
 * adds Connection: close to nats-server's answers, since it closes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "io/ws/ws.h"

#define GOOD_REQUEST                                                                               \
	"GET /ws HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"           \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"             \
	"Origin: http://h:1\r\nUser-Agent: Mozilla/5.0\r\n"                                        \
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, "                   \
	"permessage-deflate; client_no_context_takeover\r\n\r\n"

static int parse(struct ws_upgrade *u, const char *req)
{
	ws_upgrade_init(u);
	return ws_upgrade_parse(u, req, strlen(req));
}

static bool span_is(struct ws_span s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

Test(ws_upgrade, rfc6455_accept_key)
{
	char out[WS_ACCEPT_LEN + 1];

	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
	cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_upgrade, good_request_is_read_whole)
{
	struct ws_upgrade u;

	cr_assert_eq(parse(&u, GOOD_REQUEST), (int)strlen(GOOD_REQUEST));
	cr_assert(span_is(u.path, "/ws"));
	cr_assert(span_is(u.host, "h:1"));
	cr_assert(span_is(u.key, "dGhlIHNhbXBsZSBub25jZQ=="));
	cr_assert(span_is(u.origin, "http://h:1"));
	cr_assert(span_is(u.user_agent, "Mozilla/5.0"));
	cr_assert(u.deflate_offered);
	cr_assert_not(u.client_no_context_takeover, "parameters of the first offer only");
	cr_assert_not(u.server_no_context_takeover);
	cr_assert_eq(u.http_minor, 1);
}

Test(ws_upgrade, accept_answer_is_nats_servers)
{
	static const char plain[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                            "Connection: Upgrade\r\n"
	                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	static const char deflate[] =
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover\r\n\r\n";
	struct ws_upgrade u;
	char out[256];

	cr_assert_gt(parse(&u, GOOD_REQUEST), 0);
	cr_assert_eq(ws_upgrade_accept(&u, false, out, sizeof(out)), strlen(plain));
	cr_assert_str_eq(out, plain);
	cr_assert_eq(ws_upgrade_accept(&u, true, out, sizeof(out)), strlen(deflate));
	cr_assert_str_eq(out, deflate);
	cr_assert(ws_upgrade_deflate(&u, true));
	cr_assert_eq(ws_upgrade_accept(&u, true, out, 100), 0, "does not fit");
	/* compression enabled but not offered */
	cr_assert_gt(parse(&u, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	                       "Connection: Upgrade\r\nSec-WebSocket-Key: k\r\n"
	                       "Sec-WebSocket-Version: 13\r\n\r\n"),
	             0);
	cr_assert_not(ws_upgrade_deflate(&u, true));
}

Test(ws_upgrade, deflate_parameters_and_token_lists)
{
	struct ws_upgrade u;

	cr_assert_gt(parse(&u, "GET / HTTP/1.1\r\nHost: h\r\nupgrade: foo, WebSocket\r\n"
	                       "CONNECTION: keep-alive,  upgrade\r\nSec-WebSocket-Key: k\r\n"
	                       "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Version: 8, 13\r\n"
	                       "Sec-WebSocket-Extensions: x-foo\r\n"
	                       "Sec-WebSocket-Extensions: foo, Permessage-Deflate ;"
	                       "server_no_context_takeover ; client_no_context_takeover\r\n\r\n"),
	             0);
	cr_assert(u.deflate_offered);
	cr_assert(u.server_no_context_takeover);
	cr_assert(u.client_no_context_takeover);
	cr_assert_gt(parse(&u, "GET / HTTP/1.0\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n"
	                       "Sec-WebSocket-Key: k\nSec-WebSocket-Version: 13\n\n"),
	             0, "bare line feeds, HTTP/1.0");
	cr_assert_eq(u.http_minor, 0);
	cr_assert_not(u.deflate_offered);
}

struct reject_case {
	const char *name;
	const char *request;
	int err;
	const char *status_line;
	const char *body;
};

#define L_UPG "Upgrade: websocket\r\n"
#define L_CON "Connection: Upgrade\r\n"
#define L_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define L_VER "Sec-WebSocket-Version: 13\r\n"
#define L_ALL L_UPG L_CON L_KEY L_VER
#define GO400 "HTTP/1.1 400 Bad Request"

static const struct reject_case reject_cases[] = {
    {"POST", "POST / HTTP/1.1\r\nHost: h\r\n" L_ALL "\r\n", WS_UP_ERR_METHOD,
     "HTTP/1.1 405 Method Not Allowed", "Method Not Allowed\n"},
    {"get", "get / HTTP/1.1\r\nHost: h\r\n" L_ALL "\r\n", WS_UP_ERR_METHOD,
     "HTTP/1.1 405 Method Not Allowed", "Method Not Allowed\n"},
    {"no Host", "GET / HTTP/1.1\r\n" L_ALL "\r\n", WS_UP_ERR_HOST_HEADER,
     GO400 ": missing required Host header", "400 Bad Request: missing required Host header"},
    {"Host twice", "GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n" L_ALL "\r\n", WS_UP_ERR_BAD_REQUEST,
     GO400, "400 Bad Request"},
    {"Host a b", "GET / HTTP/1.1\r\nHost: a b\r\n" L_ALL "\r\n", WS_UP_ERR_HOST_HEADER,
     GO400 ": malformed Host header", "400 Bad Request: malformed Host header"},
    {"empty Host", "GET / HTTP/1.1\r\nHost:\r\n" L_ALL "\r\n", WS_UP_ERR_HOST, GO400,
     "Bad Request\n"},
    {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n" L_ALL "\r\n", WS_UP_ERR_HOST,
     "HTTP/1.0 400 Bad Request", "Bad Request\n"},
    {"no Upgrade", "GET / HTTP/1.1\r\nHost: h\r\n" L_CON L_KEY L_VER "\r\n", WS_UP_ERR_UPGRADE,
     GO400, "Bad Request\n"},
    {"Upgrade: h2c", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n" L_CON L_KEY L_VER "\r\n",
     WS_UP_ERR_UPGRADE, GO400, "Bad Request\n"},
    {"no Connection", "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_KEY L_VER "\r\n",
     WS_UP_ERR_CONNECTION, GO400, "Bad Request\n"},
    {"no key", "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CON L_VER "\r\n", WS_UP_ERR_KEY, GO400,
     "Bad Request\n"},
    {"empty key first", "GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key:\r\n" L_ALL "\r\n",
     WS_UP_ERR_KEY, GO400, "Bad Request\n"},
    {"version 12",
     "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CON L_KEY "Sec-WebSocket-Version: 12\r\n\r\n",
     WS_UP_ERR_VERSION, GO400, "Bad Request\n"},
    {"no version", "GET / HTTP/1.1\r\nHost: h\r\n" L_UPG L_CON L_KEY "\r\n", WS_UP_ERR_VERSION,
     GO400, "Bad Request\n"},
    {"HELLO", "HELLO\r\n\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"leading empty line", "\r\nGET / HTTP/1.1\r\n", WS_UP_ERR_BAD_REQUEST, GO400,
     "400 Bad Request"},
    {"target abc", "GET abc HTTP/1.1\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"target *", "GET * HTTP/1.1\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"two spaces", "GET  / HTTP/1.1\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"HTTP/1.10", "GET / HTTP/1.10\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"http/1.1", "GET / http/1.1\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"method G(T", "G(T / HTTP/1.1\r\n", WS_UP_ERR_BAD_REQUEST, GO400, "400 Bad Request"},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n" L_ALL "\r\n", WS_UP_ERR_HTTP_VERSION,
     "HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version",
     "505 HTTP Version Not Supported: unsupported protocol version"},
    {"no colon", "GET / HTTP/1.1\r\nHost: h\r\nBogus\r\n", WS_UP_ERR_BAD_REQUEST, GO400,
     "400 Bad Request"},
    {"folded line", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n", WS_UP_ERR_BAD_REQUEST, GO400,
     "400 Bad Request"},
    {"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\n" L_ALL "\r\n",
     WS_UP_ERR_HEADER_NAME, GO400 ": invalid header name", "400 Bad Request: invalid header name"},
    {"control in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01z\r\n" L_ALL "\r\n",
     WS_UP_ERR_HEADER_VALUE, GO400 ": invalid header value",
     "400 Bad Request: invalid header value"},
};

Test(ws_upgrade, refusals_get_the_answers_of_nats_server)
{
	for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
		const struct reject_case *c = &reject_cases[i];
		struct ws_upgrade u;
		char out[512];
		int rc = parse(&u, c->request);

		cr_assert_eq(rc, c->err, "%s: %d, want %d", c->name, rc, c->err);
		size_t n = ws_upgrade_reject(&u, rc, out, sizeof(out));
		cr_assert_gt(n, 0, "%s", c->name);
		cr_assert_eq(strncmp(out, c->status_line, strlen(c->status_line)), 0, "%s: %s",
		             c->name, out);
		cr_assert_eq(out[strlen(c->status_line)], '\r', "%s: %s", c->name, out);
		cr_assert(strstr(out, "Content-Type: text/plain; charset=utf-8\r\n"), "%s",
		          c->name);
		cr_assert_str_eq(strstr(out, "\r\n\r\n") + 4, c->body, "%s", c->name);
		cr_assert_not_null(ws_upgrade_err_text(rc));
	}
}

Test(ws_upgrade, nats_server_answers_carry_its_headers)
{
	struct ws_upgrade u;
	char out[512];

	cr_assert_eq(parse(&u, "POST / HTTP/1.1\r\nHost: h\r\n\r\n"), WS_UP_ERR_METHOD);
	cr_assert_eq(ws_upgrade_reject(&u, WS_UP_ERR_METHOD, out, sizeof(out)), strlen(out));
	cr_assert_str_eq(out, "HTTP/1.1 405 Method Not Allowed\r\n"
	                      "Content-Type: text/plain; charset=utf-8\r\n"
	                      "Sec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\n"
	                      "Content-Length: 19\r\nConnection: close\r\n\r\n"
	                      "Method Not Allowed\n");
	cr_assert_eq(ws_upgrade_reject(&u, WS_UP_ERR_ORIGIN, out, sizeof(out)), strlen(out));
	cr_assert_eq(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24), 0);
	cr_assert_eq(ws_upgrade_reject(&u, WS_UP_ERR_EARLY_DATA, out, sizeof(out)), 0);
	cr_assert_str_eq(ws_upgrade_err_text(WS_UP_ERR_EARLY_DATA),
	                 "client sent data before handshake is complete");
	cr_assert_eq(ws_upgrade_reject(&u, WS_UP_ERR_METHOD, out, 20), 0, "does not fit");
}

Test(ws_upgrade, split_at_every_byte_gives_the_whole_result)
{
	static const char *const requests[] = {GOOD_REQUEST, reject_cases[0].request,
	                                       reject_cases[2].request, "GET / HTTP/1.1\r\nX\r\n"};

	for (size_t r = 0; r < sizeof(requests) / sizeof(requests[0]); r++) {
		const char *req = requests[r];
		size_t len = strlen(req);
		struct ws_upgrade whole, cut;
		int want = parse(&whole, req);

		for (size_t at = 0; at <= len; at++) {
			char buf[1024];
			int rc;
			ws_upgrade_init(&cut);
			memcpy(buf, req, at);
			rc = ws_upgrade_parse(&cut, buf, at);
			if (rc == 0) {
				memcpy(buf, req, len); /* the buffer grows, maybe elsewhere */
				rc = ws_upgrade_parse(&cut, buf, len);
			}
			cr_assert_eq(rc, want, "request %zu split at %zu: %d, want %d", r, at, rc,
			             want);
			if (want > 0)
				cr_assert(span_is(cut.key, "dGhlIHNhbXBsZSBub25jZQ=="));
		}
	}
}

Test(ws_upgrade, request_above_8_kib_is_431)
{
	static char req[WS_UPGRADE_MAX_REQUEST + 100];
	struct ws_upgrade u;
	char out[512];
	int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");

	memset(req + n, 'a', sizeof(req) - (size_t)n - 1);
	ws_upgrade_init(&u);
	cr_assert_eq(ws_upgrade_parse(&u, req, WS_UPGRADE_MAX_REQUEST - 1), 0);
	cr_assert_eq(ws_upgrade_parse(&u, req, WS_UPGRADE_MAX_REQUEST), WS_UP_ERR_TOO_LARGE);
	cr_assert_gt(ws_upgrade_reject(&u, WS_UP_ERR_TOO_LARGE, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
	                      "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	                      "431 Request Header Fields Too Large");
	/* a request of exactly 8 KiB is read */
	ws_upgrade_init(&u);
	static const char tail[] = "\r\n" L_ALL "\r\n";
	memcpy(req + WS_UPGRADE_MAX_REQUEST - strlen(tail), tail, strlen(tail));
	cr_assert_eq(ws_upgrade_parse(&u, req, sizeof(req)), (int)WS_UPGRADE_MAX_REQUEST);
}

struct origin_case {
	const char *origin;
	const char *host;
	bool same, allowed; /* nats-server 2.9.10's answer: pass or 403 */
};

/* same: same_origin true; allowed: allowed_origins below. Probed answers. */
static const char *const allowed_list[] = {"http://h:1", "https://x:8443", "http://y"};
static const struct origin_case origin_cases[] = {
    {"http://h:1", "h:1", true, true},
    {"http://other:1", "h:1", false, false},
    {"http://H:1", "h:1", true, true},
    {"https://h:1", "h:1", true, false},
    {"http://h:2", "h:1", false, false},
    {"http://h", "h:1", false, false},
    {"not a url", "h:1", false, false},
    {":bad", "h:1", false, false},
    {"https://x:8443", "h:1", false, true},
    {"https://x", "h:1", false, false},
    {"http://y:80", "h:1", false, true},
    {"http://y", "h:1", false, true},
    {"http://u@h:1", "h:1", true, true},
    {"http://[::1]:1", "h:1", false, false},
    {"http://h:80", "h", true, false},
    {"http://[::1]:1", "[::1]:1", true, false},
    {"", "h:1", true, true},
};

Test(ws_upgrade, origin_rules_of_nats_server)
{
	for (size_t i = 0; i < sizeof(origin_cases) / sizeof(origin_cases[0]); i++) {
		const struct origin_case *c = &origin_cases[i];
		char req[512];
		struct ws_upgrade u;

		snprintf(req, sizeof(req),
		         "GET / HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n" L_ALL "\r\n", c->host,
		         c->origin);
		cr_assert_gt(parse(&u, req), 0, "%s", req);
		cr_assert_eq(ws_origin_check(&u, false, false, NULL, 0), 0);
		cr_assert_eq(ws_origin_check(&u, false, true, NULL, 0),
		             c->same ? 0 : WS_UP_ERR_ORIGIN, "same_origin %s on %s", c->origin,
		             c->host);
		cr_assert_eq(ws_origin_check(&u, false, false, allowed_list, 3),
		             c->allowed ? 0 : WS_UP_ERR_ORIGIN, "allowed %s", c->origin);
		cr_assert_eq(ws_origin_check(&u, false, true, allowed_list, 3),
		             c->same && c->allowed ? 0 : WS_UP_ERR_ORIGIN, "both %s", c->origin);
	}
}

Test(ws_upgrade, origin_falls_back_to_sec_websocket_origin_and_tls_ports)
{
	struct ws_upgrade u;

	cr_assert_gt(parse(&u, "GET / HTTP/1.1\r\nHost: h\r\nOrigin:\r\n"
	                       "Sec-WebSocket-Origin: https://h\r\n" L_ALL "\r\n"),
	             0);
	cr_assert(span_is(u.origin, "https://h"));
	cr_assert_eq(ws_origin_check(&u, true, true, NULL, 0), 0, "443 both sides");
	cr_assert_eq(ws_origin_check(&u, false, true, NULL, 0), WS_UP_ERR_ORIGIN, "443 vs 80");
}
