/* websocket { authorization { } no_auth_user }: WebSocket clients' own
 * login beside the top level's, as nats-server 2.9.10 does it (found by
 * running it): a user or token there replaces the top level's for them, a
 * websocket no_auth_user replaces the top level's, INFO asks them for
 * credentials, the block's timeout bounds their CONNECT, TCP clients see
 * none of it, and a reload may not change it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/ws/ws.h"
#include "tests/integration/itest.h"
#include "tests/integration/ws_client.h"

#define WAIT_MS 5000

static uint16_t ws_port;

/* The top level's lines @top and the websocket block's lines @ws into
 * @conf (@cap bytes), the listener on @port. */
static void wsa_conf(char *conf, size_t cap, int port, const char *top, const char *ws)
{
	snprintf(conf, cap,
	         "%s\nwebsocket {\n  listen: \"127.0.0.1:%d\"\n  no_tls: true\n  %s\n}\n", top,
	         port, ws);
}

/* Starts the server with @top at the top level and @ws in websocket { }. */
static void wsa_start(const char *top, const char *ws)
{
	int p = harness_free_port();
	cr_assert_gt(p, 0);
	ws_port = (uint16_t)p;
	static char conf[1024];
	wsa_conf(conf, sizeof(conf), p, top, ws);
	struct harness_opts o = {.config = conf};
	itest_start(&o);
}

TestSuite(websocket_auth, .fini = itest_teardown, .timeout = 120);

#define WS_OK(expr)                                                                                \
	do {                                                                                       \
		long ws_r_ = (long)(expr);                                                         \
		cr_assert(ws_r_ >= 0, "%s failed: %s", #expr, strerror((int)-ws_r_));              \
	} while (0)

/* A WebSocket client past the upgrade with its INFO in @info (@cap bytes). */
static void wsa_open(struct wsc *w, char *info, size_t cap)
{
	int status = wsc_open(w, ws_port, NULL, NULL);
	cr_assert_eq(status, 101, "upgrade: %d\n%s", status, w->head);
	WS_OK(wsc_read_until(w, "\r\n", info, cap, WAIT_MS));
}

/* Sends CONNECT @json and PING over WebSocket; true when PONG comes back
 * (after nothing else: @pub, when not NULL, is sent between them and
 * must go through too), false after nats-server's 'Authorization
 * Violation' and the close frame 1008 it sends with it. Anything else
 * fails the test. */
static bool wsa_login(const char *json, const char *pub)
{
	struct wsc w;
	char info[1024], got[256];
	wsa_open(&w, info, sizeof(info));
	cr_expect(strstr(info, "\"auth_required\":true"), "INFO of a WebSocket client: %s", info);
	char line[512];
	snprintf(line, sizeof(line), "CONNECT %s\r\n%sPING\r\n", json, pub ? pub : "");
	WS_OK(wsc_send_str(&w, line));
	WS_OK(wsc_read_until(&w, "\r\n", got, sizeof(got), WAIT_MS));
	bool in = !strcmp(got, "PONG\r\n");
	if (!in) {
		cr_assert_str_eq(got, "-ERR 'Authorization Violation'\r\n", "%s: %s", json, got);
		int code = 0;
		cr_expect_eq(wsc_expect_eof(&w, &code, WAIT_MS), 0);
		cr_expect_eq(code, WS_CLOSE_POLICY, "close code %d", code);
	}
	wsc_close(&w);
	return in;
}

/* The same over TCP; @auth_required: what INFO must say. */
static bool wsa_tcp_login(const char *json, bool auth_required)
{
	struct raw_conn *c = itest_raw_open();
	char info[1024];
	int r = raw_handshake(c, json, info, sizeof(info));
	cr_expect_eq(strstr(info, "\"auth_required\":true") != NULL, auth_required, "%s", info);
	if (r != 0)
		cr_expect(strstr(raw_why(c), "Authorization Violation"), "%s", raw_why(c));
	raw_close(c);
	return r == 0;
}

#define USER(u, p) "{\"verbose\":false,\"user\":\"" u "\",\"pass\":\"" p "\"}"
#define TOKEN(t)   "{\"verbose\":false,\"auth_token\":\"" t "\"}"
#define NONE       "{\"verbose\":false}"

Test(websocket_auth, a_websocket_user_replaces_the_top_level_user_for_websocket_clients)
{
	wsa_start("authorization { user: x, password: y }",
	          "authorization { user: a, password: b }");
	cr_expect(wsa_login(USER("a", "b"), NULL));
	cr_expect(!wsa_login(USER("a", "wrong"), NULL));
	cr_expect(!wsa_login(USER("x", "y"), NULL), "the top level's user over WebSocket");
	cr_expect(!wsa_login(NONE, NULL));
	cr_expect(wsa_tcp_login(USER("x", "y"), true));
	cr_expect(!wsa_tcp_login(USER("a", "b"), true), "the WebSocket user over TCP");
}

Test(websocket_auth, a_websocket_login_alone_leaves_tcp_clients_open)
{
	wsa_start("", "authorization { user: a }");
	cr_expect(wsa_login(USER("a", ""), NULL));
	cr_expect(wsa_login("{\"verbose\":false,\"user\":\"a\"}", NULL), "no password sent");
	cr_expect(!wsa_login(USER("a", "x"), NULL));
	cr_expect(!wsa_login(NONE, NULL));
	cr_expect(wsa_tcp_login(NONE, false));
}

Test(websocket_auth, a_websocket_token_is_checked_before_a_websocket_user)
{
	wsa_start("authorization { token: s }", "authorization { user: a, password: b, token: t }");
	cr_expect(wsa_login(TOKEN("t"), NULL));
	cr_expect(!wsa_login(TOKEN("s"), NULL), "the top level's token over WebSocket");
	cr_expect(!wsa_login(USER("a", "b"), NULL), "a user beside a token is not used");
	cr_expect(wsa_tcp_login(TOKEN("s"), true));
	cr_expect(!wsa_tcp_login(TOKEN("t"), true));
}

#define USERS                                                                                      \
	"authorization { users: [ {user: x, password: y}, {user: z, password: w, permissions: "    \
	"{ publish: \"zz\" }} ] }\n"

/* websocket { no_auth_user: z } beside the top level's no_auth_user: x: a
 * WebSocket client without credentials is z (may not publish to q), a TCP
 * one is x; the users log in over WebSocket as over TCP. */
Test(websocket_auth, a_websocket_no_auth_user_replaces_the_top_levels)
{
	wsa_start(USERS "no_auth_user: x", "no_auth_user: z");
	struct wsc w;
	char info[1024], got[256];
	wsa_open(&w, info, sizeof(info));
	WS_OK(wsc_send_str(&w, "CONNECT " NONE "\r\nPUB q 1\r\nh\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "\r\n", got, sizeof(got), WAIT_MS));
	cr_expect_str_eq(got, "-ERR 'Permissions Violation for Publish to \"q\"'\r\n");
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	wsc_close(&w);
	cr_expect(wsa_login(NONE, "PUB zz 1\r\nh\r\n"));
	cr_expect(wsa_login(USER("x", "y"), "PUB q 1\r\nh\r\n"));
	cr_expect(!wsa_login(USER("x", "bad"), NULL));
	struct raw_conn *c = itest_raw(NONE);
	ITEST_SEND(c, "PUB q 1\r\nh\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

/* Without a login of its own, the block lets WebSocket clients in as the top
 * level's users and no_auth_user; their INFO still asks for credentials,
 * where a TCP client's does not. */
Test(websocket_auth, without_its_own_login_websocket_clients_use_the_top_levels)
{
	wsa_start(USERS "no_auth_user: x", "");
	cr_expect(wsa_login(NONE, "PUB q 1\r\nh\r\n"));
	cr_expect(wsa_login(USER("z", "w"), NULL));
	cr_expect(!wsa_login(USER("z", "y"), NULL));
	cr_expect(wsa_tcp_login(NONE, false));
}

/* Milliseconds until a silent WebSocket client gets 'Authentication
 * Timeout' and the close frame 1008. */
static long wsa_silent_ms(void)
{
	struct wsc w;
	char info[1024], got[256];
	struct timespec a, b;
	wsa_open(&w, info, sizeof(info));
	clock_gettime(CLOCK_MONOTONIC, &a);
	WS_OK(wsc_read_until(&w, "\r\n", got, sizeof(got), WAIT_MS));
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_expect_str_eq(got, "-ERR 'Authentication Timeout'\r\n");
	int code = 0;
	cr_expect_eq(wsc_expect_eof(&w, &code, WAIT_MS), 0);
	cr_expect_eq(code, WS_CLOSE_POLICY, "close code %d", code);
	wsc_close(&w);
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

Test(websocket_auth, the_blocks_timeout_bounds_a_websocket_clients_connect)
{
	wsa_start("authorization { user: x, password: y, timeout: 4 }",
	          "authorization { user: a, password: b, timeout: 1 }");
	long ms = wsa_silent_ms();
	cr_expect(ms >= 800 && ms < 2500, "closed after %ld ms (timeout 1s)", ms);
	/* a TCP client still has the top level's 4 s */
	struct raw_conn *c = itest_raw_open();
	char line[512];
	cr_assert_gt(raw_read_line(c, line, sizeof(line), WAIT_MS), 0);
	usleep(2000 * 1000);
	ITEST_SEND(c, "CONNECT " USER("x", "y") "\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
}

Test(websocket_auth, without_a_timeout_of_its_own_the_top_levels_applies)
{
	wsa_start("authorization { users: [ {user: x, password: y} ], timeout: 1 }",
	          "no_auth_user: x");
	long ms = wsa_silent_ms();
	cr_expect(ms >= 800 && ms < 2500, "closed after %ld ms (timeout 1s)", ms);
}

/* nats-server 2.9.10 refuses a reload that changes websocket { }, its
 * login included: the old password still holds. */
Test(websocket_auth, a_reload_does_not_change_the_websocket_login)
{
	wsa_start("", "authorization { user: a, password: b }");
	char conf[1024];
	wsa_conf(conf, sizeof(conf), ws_port, "", "authorization { user: a, password: c }");
	FILE *f = fopen(itest_srv.conf_path, "w");
	cr_assert_not_null(f);
	fputs(conf, f);
	fclose(f);
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	bool refused = false;
	for (int i = 0; i < 100 && !refused; i++) {
		char log[8192] = "";
		FILE *l = fopen(itest_srv.log_path, "re");
		if (l) {
			log[fread(log, 1, sizeof(log) - 1, l)] = 0;
			fclose(l);
		}
		refused = strstr(log, "config reload not supported for") != NULL;
		if (!refused)
			usleep(50 * 1000);
	}
	cr_expect(refused, "the reload was not refused");
	cr_expect(wsa_login(USER("a", "b"), NULL));
	cr_expect(!wsa_login(USER("a", "c"), NULL));
}

/* Each file is refused at start with nats-server's words (ringbus adds its
 * advice after the field's name). */
Test(websocket_auth, logins_nats_server_does_not_take_refuse_the_start)
{
	static const struct {
		const char *top, *ws, *error;
	} bad[] = {
	    {"", "authorization { users: [ {user: a, password: b} ] }", "field \"users\""},
	    {"", "authorization { user: a, nkeys: [] }", "field \"nkeys\""},
	    {"", "username: a", "field \"username\""},
	    {"", "token: t", "field \"token\""},
	    {"", "authorization { user: a, bogus: 1 }", "unknown field \"bogus\""},
	    {USERS, "authorization { user: a, password: b }",
	     "websocket authentication username not compatible with presence of users/nkeys"},
	    {USERS, "authorization { token: t }",
	     "websocket authentication token not compatible with presence of users/nkeys"},
	    {"", "no_auth_user: a", "no_auth_user: \"a\" present, but users are not defined"},
	    {"authorization { user: a, password: b }", "no_auth_user: a",
	     "no_auth_user: \"a\" present, but users are not defined"},
	    {USERS, "no_auth_user: q",
	     "no_auth_user: \"q\" not present as user in authorization block or account "
	     "configuration"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char conf[1024], path[] = "/tmp/ringbus-wsauth-XXXXXX", out[4096], port[12];
		int p = harness_free_port();
		cr_assert_gt(p, 0);
		wsa_conf(conf, sizeof(conf), p, bad[i].top, bad[i].ws);
		int fd = mkstemp(path);
		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
		close(fd);
		snprintf(port, sizeof(port), "%d", harness_free_port());
		const char *run[] = {"-c", path, "-a", "127.0.0.1", "-p", port, NULL};
		int r = harness_run(run, out, sizeof(out));
		cr_expect(r > 0, "case %zu: exit %d (want non-zero): %s", i, r, out);
		cr_expect(strstr(out, bad[i].error), "case %zu: want '%s' in: %s", i, bad[i].error,
		          out);
		unlink(path);
	}
}
