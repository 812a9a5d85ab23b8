/* The same configuration files start nats-server and ringbus, and the
 * behaviour they ask for is the same on both: limits and authorization, TLS
 * (with its cipher suites), and (ringbus only, since nats-server refuses the
 * block) one with ringbus's own block. Also SIGHUP with new certificates:
 * new handshakes see them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/integration/tls_client.h"

#define WAIT_MS 5000

static bool is_ringbus(void)
{
	return harness_kind_from_env() == HARNESS_RINGBUS;
}

static char certdir[64];

static void make_certs(void)
{
	itest_certs_make(certdir, sizeof(certdir), "icfg");
}

static void finish(void)
{
	itest_teardown();
	/* libnats 3.4 and OpenSSL both free this list at exit (test_tls.c) */
	sk_SSL_COMP_free(SSL_COMP_set0_compression_methods(NULL));
	itest_certs_remove(certdir);
}

TestSuite(config_files, .fini = finish, .timeout = 120);

/* The first file: limits and authorization, nats-server's keys only. */
static const char limits_auth[] = "max_payload: 2KB\n"
                                  "max_subscriptions: 3\n"
                                  "max_connections: 100\n"
                                  "ping_interval: \"2m\"\n"
                                  "write_deadline: \"10s\"\n"
                                  "authorization {\n"
                                  "  timeout: 1\n"
                                  "  users: [\n"
                                  "    {user: alice, password: wonderland}\n"
                                  "    {user: bob, password: builder}\n"
                                  "  ]\n"
                                  "}\n";

Test(config_files, limits_and_authorization)
{
	struct harness_opts opts = {.config = limits_auth};
	itest_start(&opts);
	struct raw_conn *c = itest_raw_open();
	char info[2048];
	ITEST_RAW_OK(c, raw_read_line(c, info, sizeof info, WAIT_MS));
	cr_expect(strstr(info, "\"max_payload\":2048"), "%s", info);
	cr_expect(strstr(info, "\"auth_required\":true"), "%s", info);
	ITEST_SEND(c, "CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"nope\"}\r\n");
	ITEST_EXPECT(c, "-ERR 'Authorization Violation'\r\n");
	ITEST_RAW_OK(c, raw_expect_eof(c, WAIT_MS));
	raw_close(c);

	c = itest_raw_open();
	ITEST_RAW_OK(
	    c,
	    raw_handshake(c, "{\"verbose\":false,\"user\":\"bob\",\"pass\":\"builder\"}", NULL, 0));
	ITEST_SEND(c, "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n");
	ITEST_EXPECT(c, "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
	ITEST_SEND(c, "PUB a 2\r\nok\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG a 1 2\r\nok\r\nPONG\r\n");
	ITEST_SEND(c, "PUB a 2049\r\n");
	ITEST_EXPECT(c, "-ERR 'Maximum Payload Violation'\r\n");
	raw_close(c);
	/* no CONNECT within the authorization timeout */
	c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_line(c, info, sizeof info, WAIT_MS));
	ITEST_RAW_OK(c, raw_read_until(c, "-ERR 'Authentication Timeout'\r\n", NULL, 0, WAIT_MS));
	raw_close(c);
}

/* Writes the TLS file for the certificates in certdir: TLS 1.2 offers one
 * cipher suite only. */
static void tls_conf(char *buf, size_t cap, const char *leaf)
{
	snprintf(buf, cap,
	         "tls {\n"
	         "  cert_file: \"%s/%s.pem\"\n"
	         "  key_file: \"%s/%s.key\"\n"
	         "  ca_file: \"%s/ca.pem\"\n"
	         "  timeout: 2\n"
	         "  cipher_suites: [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]\n"
	         "  curve_preferences: [\"CurveP256\", \"X25519\"]\n"
	         "}\n"
	         "authorization { user: tls, password: tls }\n",
	         certdir, leaf, certdir, leaf, certdir);
}

/* A TLS client, TLS 1.2 with @ciphers, and the outcome of its handshake. */
static int tls_connect(const char *ciphers, char *info, size_t cap, struct tls_client **out)
{
	char ca[128];
	snprintf(ca, sizeof ca, "%s/ca.pem", certdir);
	struct tls_client_opts o = {
	    .ca_file = ca, .max_version = TLS1_2_VERSION, .cipher_list = ciphers};
	return tls_client_connect(itest_srv.port, &o, info, cap, NULL, 0, out);
}

Test(config_files, tls_with_its_cipher_suites)
{
	make_certs();
	char conf[1024], info[2048];
	tls_conf(conf, sizeof conf, "server");
	struct harness_opts opts = {.config = conf};
	itest_start(&opts);
	struct tls_client *t = NULL;
	cr_assert_eq(tls_connect("ECDHE-ECDSA-AES128-GCM-SHA256", info, sizeof info, &t), 0);
	cr_expect(strstr(info, "\"tls_required\":true"), "%s", info);
	cr_assert_eq(tls_client_send_str(t, "CONNECT {\"verbose\":false,\"user\":\"tls\","
	                                    "\"pass\":\"tls\"}\r\nSUB x 1\r\nPUB x 2\r\nhi\r\n"
	                                    "PING\r\n"),
	             0);
	cr_expect_eq(tls_client_expect(t, "MSG x 1 2\r\nhi\r\nPONG\r\n", WAIT_MS), 0);
	tls_client_close(t);
	t = NULL;
	/* the suite the file left out is refused, by both */
	cr_expect_eq(tls_connect("ECDHE-ECDSA-AES256-GCM-SHA384", info, sizeof info, &t), -EPROTO);
	tls_client_close(t);
}

/* The subject CN of the certificate the server presents now. */
static void tls_peer_subject(char *out, size_t cap)
{
	char info[2048];
	struct tls_client *t = NULL;
	cr_assert_eq(tls_connect("ECDHE-ECDSA-AES128-GCM-SHA256", info, sizeof info, &t), 0);
	snprintf(out, cap, "%s", tls_client_peer_subject(t));
	tls_client_close(t);
}

Test(config_files, sighup_puts_new_certificates_in_force_for_new_handshakes)
{
	make_certs();
	char conf[1024], subject[256];
	tls_conf(conf, sizeof conf, "server");
	struct harness_opts opts = {.config = conf};
	itest_start(&opts);
	tls_peer_subject(subject, sizeof subject);
	cr_expect(strstr(subject, "CN=localhost"), "%s", subject);
	/* a second certificate for the same names, with another subject */
	char cmd[512];
	snprintf(
	    cmd, sizeof cmd,
	    "cd %s && openssl req -new -key server.key -subj /CN=localhost/O=reloaded "
	    "-out r.csr 2>/dev/null && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' "
	    "> r.ext && openssl x509 -req -in r.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	    "-out reloaded.pem -days 2 -extfile r.ext 2>/dev/null && cp server.key reloaded.key",
	    certdir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	tls_conf(conf, sizeof conf, "reloaded");
	FILE *f = fopen(itest_srv.conf_path, "w");
	cr_assert(f);
	fputs(conf, f);
	fclose(f);
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	bool reloaded = false;
	for (int i = 0; i < WAIT_MS / 20 && !reloaded; i++) {
		usleep(20000);
		tls_peer_subject(subject, sizeof subject);
		reloaded = strstr(subject, "O=reloaded") != NULL;
	}
	cr_expect(reloaded, "still %s after SIGHUP", subject);
}

Test(config_files, the_ringbus_block)
{
	if (!is_ringbus())
		cr_skip_test("nats-server refuses the ringbus block (unknown field \"ringbus\")");
	struct harness_opts opts = {
	    .config = "max_payload: 4KB\n"
	              "ringbus {\n"
	              "  threads { io: 2, workers: 1, shards: 8, pin: false }\n"
	              "  admission {\n"
	              "    subscriber: defer\n"
	              "    policies { lossy { subjects: [\"metrics.>\"], subscriber: drop-new,\n"
	              "                       subscriber_high: 64KB } }\n"
	              "  }\n"
	              "}\n"};
	itest_start(&opts);
	char info[2048];
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_handshake(c, ITEST_QUIET, info, sizeof info));
	cr_expect(strstr(info, "\"max_payload\":4096"), "%s", info);
	ITEST_SEND(c, "SUB metrics.> 1\r\nPUB metrics.cpu 2\r\n42\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG metrics.cpu 1 2\r\n42\r\nPONG\r\n");
	raw_close(c);
	/* the same file read by -t */
	char out[1024];
	const char *args[] = {"-t", "-c", itest_srv.conf_path, NULL};
	cr_expect_eq(harness_run(args, out, sizeof out), 0, "%s", out);
}

Test(config_files, the_common_example_is_read_by_both)
{
	char out[1024];
	const char *args[] = {"-t", "-c", RINGBUS_COMMON_CONF, NULL};
	cr_expect_eq(harness_run(args, out, sizeof out), 0, "%s", out);
	cr_expect(strstr(out, "is valid"), "%s", out);
}
