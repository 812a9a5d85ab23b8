/* WebSocket over TLS (websocket { tls { } }, wss://), on both servers with
 * the same configuration: the TLS handshake comes first, then the HTTP
 * upgrade, then NATS inside frames. A plain ws:// client is refused.
 *
 * Checked on nats-server 2.9.10: nothing is sent before the client's
 * handshake; the INFO after the upgrade has no tls_required; a plaintext
 * upgrade request gets "HTTP/1.0 400 Bad Request" and "Client sent an HTTP
 * request to an HTTPS server." (Go's HTTP server), then the close. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"
#include "tests/integration/ws_client.h"

#define WAIT_MS 5000

static char certdir[64];
static char path_ca[128], path_other_ca[128];
static uint16_t wss_port;

static void wss_start(void)
{
	itest_certs_make(certdir, sizeof(certdir), "iwss");
	snprintf(path_ca, sizeof(path_ca), "%s/ca.pem", certdir);
	snprintf(path_other_ca, sizeof(path_other_ca), "%s/other-ca.pem", certdir);
	int p = harness_free_port();
	cr_assert_gt(p, 0);
	wss_port = (uint16_t)p;
	static char conf[1024];
	snprintf(conf, sizeof(conf),
	         "websocket {\n  listen: \"127.0.0.1:%d\"\n  tls {\n"
	         "    cert_file: \"%s/server.pem\"\n    key_file: \"%s/server.key\"\n"
	         "    timeout: 2\n  }\n}\n",
	         p, certdir, certdir);
	struct harness_opts o = {.config = conf};
	itest_start(&o);
}

static void wss_stop(void)
{
	itest_teardown();
	/* libnats's exit handler and OpenSSL's free this list twice (test_tls.c) */
	sk_SSL_COMP_free(SSL_COMP_set0_compression_methods(NULL));
	itest_certs_remove(certdir);
}

TestSuite(wss, .init = wss_start, .fini = wss_stop, .timeout = 120);

#define WS_OK(expr)                                                                                \
	do {                                                                                       \
		long ws_r_ = (long)(expr);                                                         \
		cr_assert(ws_r_ >= 0, "%s failed: %s", #expr, strerror((int)-ws_r_));              \
	} while (0)

/* A wss:// client past the handshake, the upgrade, INFO, CONNECT and PING;
 * the INFO goes to @info (@cap bytes) when not NULL. */
static void wss_client(struct wsc *w, char *info, size_t cap)
{
	char why[256] = "";
	int status = wsc_open_tls(w, wss_port, path_ca, NULL, NULL, why, sizeof(why));
	cr_assert_eq(status, 101, "upgrade: %d (%s)\n%s", status, why, w->head);
	WS_OK(wsc_read_until(w, "\r\n", info, cap, WAIT_MS));
	WS_OK(wsc_send_str(w, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"));
	WS_OK(wsc_read_until(w, "PONG\r\n", NULL, 0, WAIT_MS));
}

Test(wss, tls_then_upgrade_then_connect_and_ping_get_pong)
{
	struct wsc w;
	char info[4096];
	wss_client(&w, info, sizeof(info));
	cr_expect(!strncmp(info, "INFO {", 6), "%s", info);
	/* as nats-server: the INFO inside wss:// does not ask for TLS again */
	cr_expect(!strstr(info, "\"tls_required\":true"), "%s", info);
	WS_OK(wsc_send_str(&w, "PING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));
	wsc_close(&w);
}

Test(wss, messages_go_both_ways_between_wss_and_tcp_clients)
{
	struct wsc w;
	wss_client(&w, NULL, 0);
	natsConnection *nc = itest_nats(NULL);
	natsSubscription *tcp_sub = itest_sub(nc, "to.tcp", NULL);
	WS_OK(wsc_send_str(&w, "SUB to.wss 7\r\nPING\r\n"));
	WS_OK(wsc_read_until(&w, "PONG\r\n", NULL, 0, WAIT_MS));

	ITEST_NATS_OK(natsConnection_PublishString(nc, "to.wss", "from tcp"));
	char got[256];
	WS_OK(wsc_read_until(&w, "from tcp\r\n", got, sizeof(got), WAIT_MS));
	cr_expect_str_eq(got, "MSG to.wss 7 8\r\nfrom tcp\r\n");

	/* larger than one TLS record, in one frame */
	static char big[40000 + 64];
	int n = snprintf(big, sizeof(big), "PUB to.tcp %d\r\n", 40000);
	memset(big + n, 'x', 40000);
	memcpy(big + n + 40000, "\r\n", 2);
	WS_OK(wsc_send(&w, 2 /* binary */, big, (size_t)n + 40002, true));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, tcp_sub, WAIT_MS));
	cr_expect_eq(natsMsg_GetDataLength(m), 40000);
	natsMsg_Destroy(m);
	wsc_close(&w);
}

Test(wss, a_plain_ws_client_gets_400_and_the_close)
{
	struct wsc w;
	int status = wsc_open(&w, wss_port, NULL, NULL);
	cr_expect_eq(status, 400, "%d\n%s", status, w.head);
	cr_expect(!strncmp(w.head, "HTTP/1.0 400 Bad Request\r\n", 26), "%s", w.head);
	/* the body, then EOF */
	char body[256] = "";
	size_t have = w.in_len < sizeof(body) - 1 ? w.in_len : sizeof(body) - 1;
	memcpy(body, w.in, have);
	struct pollfd p = {.fd = w.fd, .events = POLLIN};
	ssize_t r = 1;
	while (r > 0 && poll(&p, 1, WAIT_MS) == 1) {
		r = recv(w.fd, body + have, sizeof(body) - 1 - have, 0);
		if (r > 0)
			have += (size_t)r;
	}
	body[have] = 0;
	cr_expect_eq(r, 0, "no EOF");
	cr_expect(strstr(body, "Client sent an HTTP request to an HTTPS server."), "%s", body);
	wsc_close(&w);
}

Test(wss, a_client_that_trusts_another_ca_fails_its_handshake)
{
	struct wsc w;
	char why[256] = "";
	int status = wsc_open_tls(&w, wss_port, path_other_ca, NULL, NULL, why, sizeof(why));
	cr_expect_eq(status, -EPROTO, "%d (%s)", status, why);
	wsc_close(&w);
}
