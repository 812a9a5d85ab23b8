/* TLS for clients, as NATS clients expect it: INFO in plaintext saying
 * tls_required (and tls_verify), then the handshake, then the protocol inside
 * TLS. Run against nats-server, ringbus, and ringbus with kernel TLS turned
 * off (kind "ringbus-proxy": --tls-no-ktls), with the same nats-server flags
 * (--tls/--tlsverify, --tlscert, --tlskey, --tlscacert) and certificates
 * made at run time by tls_certs.sh.
 *
 * Checked on nats-server 2.9.10 (`tls { cert_file key_file ca_file verify }`
 * and the same flags): INFO {..., "tls_required":true, "tls_verify":true
 * (with verify), ...}; a client that sends plaintext CONNECT is closed with no
 * -ERR (the server logs "first record does not look like a TLS handshake");
 * ringbus sends -ERR 'Secure Connection - TLS Required' before the close. A
 * client without a certificate under verify fails its handshake; one that
 * never handshakes is closed after 2 s. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/itest.h"
#include "tests/integration/tls_client.h"

#define WAIT_MS  5000
#define MIB      (1024 * 1024)
#define SCALE_N  200
#define SCALE_TH 4

static char certdir[64];
static char path_ca[128], path_cert[128], path_key[128];
static char path_ccert[128], path_ckey[128], path_ocert[128], path_okey[128];

static void make_certs(void)
{
	itest_certs_make(certdir, sizeof(certdir), "itls");
	snprintf(path_ca, sizeof(path_ca), "%s/ca.pem", certdir);
	snprintf(path_cert, sizeof(path_cert), "%s/server.pem", certdir);
	snprintf(path_key, sizeof(path_key), "%s/server.key", certdir);
	snprintf(path_ccert, sizeof(path_ccert), "%s/client.pem", certdir);
	snprintf(path_ckey, sizeof(path_ckey), "%s/client.key", certdir);
	snprintf(path_ocert, sizeof(path_ocert), "%s/other-client.pem", certdir);
	snprintf(path_okey, sizeof(path_okey), "%s/other-client.key", certdir);
}

static bool proxy_kind(void)
{
	const char *k = getenv("RINGBUS_TEST_KIND");
	return k && !strcmp(k, "ringbus-proxy");
}

static char path_rsa_cert[128], path_rsa_key[128];

static void start_tls_with(bool verify, bool rsa)
{
	make_certs();
	snprintf(path_rsa_cert, sizeof(path_rsa_cert), "%s/server-rsa.pem", certdir);
	snprintf(path_rsa_key, sizeof(path_rsa_key), "%s/server-rsa.key", certdir);
	const char *args[12];
	int n = 0;
	args[n++] = verify ? "--tlsverify" : "--tls";
	args[n++] = "--tlscert";
	args[n++] = rsa ? path_rsa_cert : path_cert;
	args[n++] = "--tlskey";
	args[n++] = rsa ? path_rsa_key : path_key;
	if (verify) {
		args[n++] = "--tlscacert";
		args[n++] = path_ca;
	}
	if (proxy_kind())
		args[n++] = "--tls-no-ktls";
	args[n] = NULL;
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
}

static void start_plain_tls(void)
{
	start_tls_with(false, false);
}

static void start_verify_tls(void)
{
	start_tls_with(true, false);
}

static void start_rsa_tls(void)
{
	start_tls_with(false, true);
}

static void stop_tls(void)
{
	itest_teardown();
	/* libnats 3.4's exit handler frees OpenSSL's list of compression
	 * methods and leaves OpenSSL pointing at it (nats.c issue #904); OpenSSL's
	 * own exit handler then frees it again. Free it here and leave NULL for
	 * both. */
	sk_SSL_COMP_free(SSL_COMP_set0_compression_methods(NULL));
	itest_certs_remove(certdir);
}

TestSuite(tls, .init = start_plain_tls, .fini = stop_tls, .timeout = 120);
TestSuite(tls_verify, .init = start_verify_tls, .fini = stop_tls, .timeout = 120);
/* An RSA certificate: plain RSA key exchange is possible, so the policy decides. */
TestSuite(tls_rsa, .init = start_rsa_tls, .fini = stop_tls, .timeout = 120);

/* libnats options for TLS: trusts the test CA, checks "localhost"; with the
 * client certificate when @cert. Owned by the caller. */
static natsOptions *tls_opts(bool cert)
{
	natsOptions *o = NULL;
	ITEST_NATS_OK(natsOptions_Create(&o));
	ITEST_NATS_OK(natsOptions_SetSecure(o, true));
	ITEST_NATS_OK(natsOptions_LoadCATrustedCertificates(o, path_ca));
	ITEST_NATS_OK(natsOptions_SetExpectedHostname(o, "localhost"));
	if (cert)
		ITEST_NATS_OK(natsOptions_LoadCertificatesChain(o, path_ccert, path_ckey));
	return o;
}

static natsConnection *tls_nats(bool cert)
{
	natsOptions *o = tls_opts(cert);
	natsConnection *nc = itest_nats(o);
	natsOptions_Destroy(o);
	return nc;
}

/* Reads the INFO line in plaintext and returns its JSON (owned). */
static cJSON *read_info(struct raw_conn *c)
{
	char line[8192];
	ITEST_RAW_OK(c, raw_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "INFO ", 5) == 0, "first line: %s", line);
	cJSON *j = cJSON_Parse(line + 5);
	cr_assert_not_null(j, "INFO is not JSON: %s", line);
	return j;
}

static bool info_true(cJSON *j, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, key));
}

Test(tls, info_is_plaintext_and_says_tls_is_required)
{
	struct raw_conn *c = itest_raw_open();
	cJSON *j = read_info(c);
	cr_expect(info_true(j, "tls_required"));
	cr_expect(!info_true(j, "tls_verify"), "no client certificates are asked for");
	cJSON_Delete(j);
	raw_close(c);
}

Test(tls, a_plaintext_connect_is_refused_and_closed)
{
	struct raw_conn *c = itest_raw_open();
	cJSON_Delete(read_info(c));
	ITEST_SEND(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n");
	if (itest_srv.kind == HARNESS_RINGBUS)
		ITEST_EXPECT(c, "-ERR 'Secure Connection - TLS Required'\r\n");
	/* nats-server 2.9.10 closes without a word */
	ITEST_RAW_OK(c, raw_expect_eof(c, WAIT_MS));
	raw_close(c);
}

/* libnats 3.4 switches to TLS by itself when INFO requires it; without the
 * CA it cannot verify the server and gives up. */
Test(tls, libnats_that_does_not_trust_the_certificate_is_refused)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	ITEST_NATS_OK(natsOptions_Create(&o));
	ITEST_NATS_OK(natsOptions_SetURL(o, itest_srv.url));
	ITEST_NATS_OK(natsOptions_SetAllowReconnect(o, false));
	ITEST_NATS_OK(natsOptions_SetTimeout(o, WAIT_MS));
	natsStatus s = natsConnection_Connect(&nc, o);
	cr_expect_neq(s, NATS_OK, "connected without trusting the server's certificate");
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
}

Test(tls, libnats_publishes_subscribes_and_requests_over_tls)
{
	natsConnection *a = tls_nats(false), *b = tls_nats(false);
	natsSubscription *sub = itest_sub(b, "tls.greet", NULL);
	for (int i = 0; i < 100; i++) {
		char body[32];
		snprintf(body, sizeof(body), "hello %d", i);
		ITEST_NATS_OK(natsConnection_PublishString(a, "tls.greet", body));
	}
	for (int i = 0; i < 100; i++) {
		char want[32];
		snprintf(want, sizeof(want), "hello %d", i);
		natsMsg *m = NULL;
		ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
		cr_assert_str_eq(natsMsg_GetData(m), want);
		natsMsg_Destroy(m);
	}

	natsSubscription *svc = itest_sub(b, "tls.svc", NULL);
	for (int i = 0; i < 20; i++) {
		natsMsg *reply = NULL, *req = NULL;
		char q[16], want[24];
		snprintf(q, sizeof(q), "q%d", i);
		snprintf(want, sizeof(want), "re:q%d", i);
		natsInbox *inbox = NULL;
		ITEST_NATS_OK(natsInbox_Create(&inbox));
		natsSubscription *rs = NULL;
		ITEST_NATS_OK(natsConnection_SubscribeSync(&rs, a, inbox));
		ITEST_NATS_OK(natsConnection_FlushTimeout(a, WAIT_MS));
		ITEST_NATS_OK(natsConnection_PublishRequestString(a, "tls.svc", inbox, q));
		ITEST_NATS_OK(natsSubscription_NextMsg(&req, svc, WAIT_MS));
		ITEST_NATS_OK(natsConnection_PublishString(b, natsMsg_GetReply(req), want));
		ITEST_NATS_OK(natsSubscription_NextMsg(&reply, rs, WAIT_MS));
		cr_assert_str_eq(natsMsg_GetData(reply), want);
		natsMsg_Destroy(req);
		natsMsg_Destroy(reply);
		natsSubscription_Destroy(rs);
		natsInbox_Destroy(inbox);
	}
}

Test(tls, a_one_mebibyte_payload_arrives_intact)
{
	natsConnection *a = tls_nats(false), *b = tls_nats(false);
	natsSubscription *sub = itest_sub(b, "tls.big", NULL);
	char *data = malloc(MIB);
	cr_assert_not_null(data);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < MIB; i++)
			data[i] = (char)((i * 7 + (size_t)round * 13) ^ (i >> 9));
		ITEST_NATS_OK(natsConnection_Publish(a, "tls.big", data, MIB));
		natsMsg *m = NULL;
		ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
		cr_assert_eq(natsMsg_GetDataLength(m), MIB);
		cr_assert(memcmp(natsMsg_GetData(m), data, MIB) == 0, "round %d differs", round);
		natsMsg_Destroy(m);
	}
	free(data);
}

/* A raw TLS client: CONNECT, SUB, PUB, and the MSG back, checking PONGs. */
static void raw_tls_roundtrip(const struct tls_client_opts *o)
{
	struct tls_client *c = NULL;
	char info[4096], why[256] = "";
	int r = tls_client_connect(itest_srv.port, o, info, sizeof(info), why, sizeof(why), &c);
	cr_assert_eq(r, 0, "TLS connect: %s %s", strerror(-r), why);
	if (!o->early)
		cr_assert_eq(tls_client_send_str(c, "CONNECT {\"verbose\":false,\"pedantic\":false}"
		                                    "\r\nPING\r\n"),
		             0);
	cr_assert_eq(tls_client_expect(c, "PONG\r\n", WAIT_MS), 0, "no PONG after CONNECT");
	cr_assert_eq(tls_client_send_str(c, "SUB raw.tls 1\r\nPUB raw.tls 5\r\nhello\r\nPING\r\n"),
	             0);
	cr_assert_eq(tls_client_expect(c, "MSG raw.tls 1 5\r\nhello\r\n", WAIT_MS), 0);
	cr_assert_eq(tls_client_expect(c, "PONG\r\n", WAIT_MS), 0);
	tls_client_close(c);
}

Test(tls, a_tls_1_2_client_works)
{
	/* TLS 1.2 with AES-GCM is what OpenSSL 3.0 hands to the kernel both
	 * ways: the kTLS path where the kernel has the tls module. */
	struct tls_client_opts o = {.ca_file = path_ca, .max_version = TLS1_2_VERSION};
	raw_tls_roundtrip(&o);
}

/* nats-server's TLS 1.2 policy: forward secrecy only. */
Test(tls_rsa, a_tls_1_2_suite_without_forward_secrecy_is_refused)
{
	static const char *const plain_rsa[] = {"AES256-GCM-SHA384", "AES128-GCM-SHA256",
	                                        "AES128-SHA", "ECDHE-RSA-AES128-SHA",
	                                        "DHE-RSA-AES128-GCM-SHA256"};
	for (size_t i = 0; i < sizeof(plain_rsa) / sizeof(plain_rsa[0]); i++) {
		struct tls_client_opts o = {
		    .ca_file = path_ca, .max_version = TLS1_2_VERSION, .cipher_list = plain_rsa[i]};
		struct tls_client *c = NULL;
		char why[256] = "";
		int r = tls_client_connect(itest_srv.port, &o, NULL, 0, why, sizeof(why), &c);
		cr_expect_eq(r, -EPROTO, "%s was accepted (%d %s)", plain_rsa[i], r, why);
		if (r == 0)
			tls_client_close(c);
	}
}

Test(tls_rsa, an_ecdhe_tls_1_2_suite_is_accepted)
{
	static const char *const ecdhe[] = {"ECDHE-RSA-AES128-GCM-SHA256",
	                                    "ECDHE-RSA-AES256-GCM-SHA384",
	                                    "ECDHE-RSA-CHACHA20-POLY1305"};
	for (size_t i = 0; i < sizeof(ecdhe) / sizeof(ecdhe[0]); i++) {
		struct tls_client_opts o = {
		    .ca_file = path_ca, .max_version = TLS1_2_VERSION, .cipher_list = ecdhe[i]};
		raw_tls_roundtrip(&o);
	}
}

Test(tls, bytes_sent_with_the_finished_message_are_not_lost)
{
	struct tls_client_opts o = {
	    .ca_file = path_ca,
	    .early = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"};
	raw_tls_roundtrip(&o);
}

Test(tls_verify, info_says_client_certificates_are_verified)
{
	struct raw_conn *c = itest_raw_open();
	cJSON *j = read_info(c);
	cr_expect(info_true(j, "tls_required"));
	cr_expect(info_true(j, "tls_verify"));
	cJSON_Delete(j);
	raw_close(c);
}

Test(tls_verify, libnats_with_a_client_certificate_works)
{
	natsConnection *a = tls_nats(true);
	natsSubscription *sub = itest_sub(a, "tls.cert", NULL);
	ITEST_NATS_OK(natsConnection_PublishString(a, "tls.cert", "signed"));
	natsMsg *m = NULL;
	ITEST_NATS_OK(natsSubscription_NextMsg(&m, sub, WAIT_MS));
	cr_assert_str_eq(natsMsg_GetData(m), "signed");
	natsMsg_Destroy(m);
}

Test(tls_verify, libnats_without_a_client_certificate_is_refused)
{
	natsOptions *o = tls_opts(false);
	ITEST_NATS_OK(natsOptions_SetURL(o, itest_srv.url));
	ITEST_NATS_OK(natsOptions_SetAllowReconnect(o, false));
	ITEST_NATS_OK(natsOptions_SetTimeout(o, WAIT_MS));
	natsConnection *nc = NULL;
	natsStatus s = natsConnection_Connect(&nc, o);
	cr_expect_neq(s, NATS_OK, "connected without a certificate");
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
}

/* A certificate that another CA signed: the handshake fails, or (TLS 1.3,
 * where the client finishes first) the connection ends at once. */
Test(tls_verify, a_certificate_from_another_ca_is_refused)
{
	for (int v = 0; v < 2; v++) {
		struct tls_client_opts o = {.ca_file = path_ca,
		                            .cert_file = path_ocert,
		                            .key_file = path_okey,
		                            .max_version = v ? TLS1_2_VERSION : 0};
		struct tls_client *c = NULL;
		char why[256] = "";
		int r = tls_client_connect(itest_srv.port, &o, NULL, 0, why, sizeof(why), &c);
		if (r == 0) {
			tls_client_send_str(c, "CONNECT {\"verbose\":false}\r\nPING\r\n");
			cr_expect_eq(tls_client_expect_eof(c, WAIT_MS), 0,
			             "the server must end the connection");
			tls_client_close(c);
		} else {
			cr_expect_eq(r, -EPROTO, "%s %s", strerror(-r), why);
		}
	}
	struct tls_client_opts good = {
	    .ca_file = path_ca, .cert_file = path_ccert, .key_file = path_ckey};
	raw_tls_roundtrip(&good);
}

/* ---- many at once ---- */

struct scale_arg {
	int first;
	natsConnection **ncs;
	natsSubscription **subs;
	natsStatus status;
	int failed_at;
};

static void *scale_connect(void *p)
{
	struct scale_arg *a = p;
	natsOptions *o = tls_opts(false);
	natsOptions_SetURL(o, itest_srv.url);
	natsOptions_SetAllowReconnect(o, false);
	natsOptions_SetTimeout(o, 20000);
	a->status = NATS_OK;
	for (int i = a->first; i < a->first + SCALE_N / SCALE_TH && a->status == NATS_OK; i++) {
		a->status = natsConnection_Connect(&a->ncs[i], o);
		if (a->status == NATS_OK)
			a->status = natsConnection_SubscribeSync(&a->subs[i], a->ncs[i], "tls.all");
		if (a->status == NATS_OK)
			a->status = natsConnection_FlushTimeout(a->ncs[i], 20000);
		if (a->status != NATS_OK)
			a->failed_at = i;
	}
	natsOptions_Destroy(o);
	return NULL;
}

Test(tls, two_hundred_tls_connections_at_once_all_work)
{
	harness_raise_nofile();
	natsConnection *ncs[SCALE_N] = {0};
	natsSubscription *subs[SCALE_N] = {0};
	pthread_t th[SCALE_TH];
	struct scale_arg args[SCALE_TH];
	for (int t = 0; t < SCALE_TH; t++) {
		args[t] =
		    (struct scale_arg){.first = t * (SCALE_N / SCALE_TH), .ncs = ncs, .subs = subs};
		cr_assert_eq(pthread_create(&th[t], NULL, scale_connect, &args[t]), 0);
	}
	for (int t = 0; t < SCALE_TH; t++)
		pthread_join(th[t], NULL);
	natsStatus bad = NATS_OK;
	int bad_at = -1;
	for (int t = 0; t < SCALE_TH; t++)
		if (args[t].status != NATS_OK) {
			bad = args[t].status;
			bad_at = args[t].failed_at;
		}
	if (bad == NATS_OK) {
		/* every connection publishes once; every one receives all */
		for (int i = 0; i < SCALE_N; i++) {
			char body[16];
			snprintf(body, sizeof(body), "%d", i);
			ITEST_NATS_OK(natsConnection_PublishString(ncs[i], "tls.all", body));
		}
		for (int i = 0; i < SCALE_N && bad == NATS_OK; i++) {
			char seen[SCALE_N] = {0};
			for (int k = 0; k < SCALE_N && bad == NATS_OK; k++) {
				natsMsg *m = NULL;
				bad = natsSubscription_NextMsg(&m, subs[i], 20000);
				if (bad == NATS_OK) {
					int from = atoi(natsMsg_GetData(m));
					if (from >= 0 && from < SCALE_N)
						seen[from]++;
					natsMsg_Destroy(m);
				} else {
					bad_at = i;
				}
			}
			for (int k = 0; k < SCALE_N && bad == NATS_OK; k++)
				cr_assert_eq(seen[k], 1, "connection %d saw %d messages from %d", i,
				             seen[k], k);
		}
	}
	for (int i = 0; i < SCALE_N; i++) {
		natsSubscription_Destroy(subs[i]);
		if (ncs[i])
			natsConnection_Close(ncs[i]);
		natsConnection_Destroy(ncs[i]);
	}
	nats_CloseAndWait(WAIT_MS);
	cr_assert_eq(bad, NATS_OK, "connection %d: %s", bad_at, natsStatus_GetText(bad));
}
