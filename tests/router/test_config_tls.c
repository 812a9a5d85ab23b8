/* The TLS settings: nats-server's flags, the tls {} block with nats-server's
 * keys, and validation that loads the files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router/conf/config.h"

static char certdir[64];

static void make_certs(void)
{
	snprintf(certdir, sizeof(certdir), "/tmp/ringbus-ctls-XXXXXX");
	cr_assert_not_null(mkdtemp(certdir));
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sh %s %s", RINGBUS_TLS_CERTS_SH, certdir);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

static void remove_certs(void)
{
	if (certdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
		int r = system(cmd);
		(void)r;
	}
}

TestSuite(config_tls, .init = make_certs, .fini = remove_certs);

/* Writes @text to a file and loads it into @c (initialised here). */
static int load(struct config *c, const char *text)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/ringbus.conf", certdir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	config_init(c);
	return config_load_file(c, path);
}

Test(config_tls, defaults_are_plaintext_with_kernel_tls_allowed_and_a_2s_handshake)
{
	struct config c;
	config_init(&c);
	cr_expect(!c.tls);
	cr_expect(!c.tls_verify);
	cr_expect(c.tls_ktls);
	cr_expect_eq(c.tls_timeout_ms, 2000u);
	cr_expect_eq(config_validate(&c), 0);
	cr_expect(!c.tls);
	config_fini(&c);
}

Test(config_tls, the_tls_block_takes_nats_server_keys)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "tls {\n  cert_file: \"%s/server.pem\"\n  key_file = %s/server.key\n"
	         "  ca_file %s/ca.pem\n  verify: true\n  timeout: 0.5\n"
	         "  cipher_suites: [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\",\n"
	         "                  \"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]\n"
	         "  curve_preferences: [\"CurveP256\"]\n}\nringbus { ktls: false }\n",
	         certdir, certdir, certdir);
	struct config c;
	cr_assert_eq(load(&c, text), 0);
	cr_expect(c.tls, "a tls block turns TLS on");
	cr_expect(c.tls_cert && strstr(c.tls_cert, "/server.pem"));
	cr_expect(c.tls_key && strstr(c.tls_key, "/server.key"));
	cr_expect(c.tls_ca && strstr(c.tls_ca, "/ca.pem"));
	cr_expect(c.tls_verify);
	cr_expect(!c.tls_ktls);
	cr_expect_eq(c.tls_timeout_ms, 500u);
	cr_expect_eq(c.tls_ciphers.n, 2u);
	cr_expect_eq(c.tls_curves.n, 1u);
	cr_expect_eq(config_validate(&c), 0);
	cr_expect_eq(c.auth_timeout_ms, 1500u, "the TLS timeout + 1s");
	config_fini(&c);
	/* a Go duration works for the timeout too */
	snprintf(text, sizeof(text),
	         "tls { cert_file: %s/server.pem, key_file: %s/server.key, "
	         "timeout: \"250ms\" }\n",
	         certdir, certdir);
	cr_assert_eq(load(&c, text), 0);
	cr_expect_eq(c.tls_timeout_ms, 250u);
	config_fini(&c);
}

Test(config_tls, unknown_names_and_keys_are_refused)
{
	struct config c;
	cr_expect_eq(load(&c, "tls { verify: maybe }\n"), -EINVAL);
	config_fini(&c);
	cr_expect_eq(load(&c, "tls { ciphers: all }\n"), -EINVAL);
	config_fini(&c);
	cr_expect_eq(load(&c, "tls { cipher_suites: [\"TLS_RC5\"] }\n"), -EINVAL);
	config_fini(&c);
	cr_expect_eq(load(&c, "tls { curve_preferences: [\"P-256\"] }\n"), -EINVAL);
	config_fini(&c);
	cr_expect_eq(load(&c, "tls { timeout: \"1ms\" }\n"), -EINVAL);
	config_fini(&c);
	cr_expect_eq(load(&c, "tls_cert: x.pem\n"), -EINVAL, "the old INI key is no field");
	config_fini(&c);
}

Test(config_tls, nats_server_flags_set_tls)
{
	char cert[96], key[96], ca[96];
	snprintf(cert, sizeof(cert), "%s/server.pem", certdir);
	snprintf(key, sizeof(key), "%s/server.key", certdir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certdir);
	const struct {
		const char *flag;
		bool verify, ktls;
	} cases[] = {
	    {"--tls", false, true}, {"--tlsverify", true, true}, {"--tls-no-ktls", false, false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"ringbus", (char *)cases[i].flag, "--tlscert", cert, "--tlskey",
		                key,       "--tlscacert",         ca,          NULL};
		struct config c;
		config_init(&c);
		cr_assert_eq(config_parse_args(&c, 8, argv), 0, "%s", cases[i].flag);
		cr_expect_eq(config_validate(&c), 0, "%s", cases[i].flag);
		cr_expect(c.tls, "%s", cases[i].flag);
		cr_expect_eq(c.tls_verify, cases[i].verify, "%s", cases[i].flag);
		cr_expect_eq(c.tls_ktls, cases[i].ktls, "%s", cases[i].flag);
		cr_expect_str_eq(c.tls_ca, ca);
		config_fini(&c);
	}
}

Test(config_tls, validation_refuses_missing_or_mismatched_files)
{
	char key[96], other[96];
	snprintf(key, sizeof(key), "%s/server.key", certdir);
	snprintf(other, sizeof(other), "%s/client.key", certdir);
	char cert[96];
	snprintf(cert, sizeof(cert), "%s/server.pem", certdir);
	const struct {
		const char *cert, *key;
		bool tls;
	} cases[] = {
	    {NULL, NULL, true}, /* --tls alone */
	    {"/nonexistent.pem", key, false},
	    {cert, other, false}, /* the key of another certificate */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		config_init(&c);
		c.tls = cases[i].tls;
		c.tls_cert = cases[i].cert ? strdup(cases[i].cert) : NULL;
		c.tls_key = cases[i].key ? strdup(cases[i].key) : NULL;
		cr_expect_eq(config_validate(&c), -EINVAL, "case %zu", i);
		config_fini(&c);
	}
}

Test(config_tls, websocket_tls_block_takes_nats_server_keys_and_loads_its_files)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "websocket {\n  port: 8443\n  tls {\n    cert_file: \"%s/server.pem\"\n"
	         "    key_file: \"%s/server.key\"\n    ca_file: \"%s/ca.pem\"\n"
	         "    verify: true\n    timeout: 3\n"
	         "    cipher_suites: [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"]\n"
	         "    curve_preferences: [\"CurveP256\"]\n  }\n}\n",
	         certdir, certdir, certdir);
	struct config c;
	cr_assert_eq(load(&c, text), 0);
	cr_expect(c.ws_tls.on && c.ws_tls.verify && !c.ws_no_tls && !c.tls);
	cr_expect_eq(c.ws_tls.timeout_ms, 3000u);
	cr_expect_eq(c.ws_tls.ciphers.n, 1);
	cr_expect_eq(c.ws_tls.curves.n, 1);
	cr_expect_eq(config_validate(&c), 0); /* TLS stands in for no_tls */
	cr_expect(!c.tls);                    /* TCP clients stay plaintext */
	config_fini(&c);

	/* a key file that is not there, and a block without key_file */
	snprintf(text, sizeof(text),
	         "websocket { port: 8443, tls { cert_file: \"%s/server.pem\", "
	         "key_file: \"%s/none.key\" } }\n",
	         certdir, certdir);
	cr_assert_eq(load(&c, text), 0);
	cr_expect_eq(config_validate(&c), -EINVAL);
	config_fini(&c);
	snprintf(text, sizeof(text),
	         "websocket { port: 8443, tls { cert_file: \"%s/server.pem\" } }\n", certdir);
	cr_assert_eq(load(&c, text), 0);
	cr_expect_eq(config_validate(&c), -EINVAL);
	config_fini(&c);
}

Test(config_tls, leaf_tls_blocks_take_nats_server_keys_and_load_their_files)
{
	char text[2048];
	snprintf(text, sizeof(text),
	         "leafnodes {\n  port: 7422\n  tls {\n    cert_file: \"%s/node.pem\"\n"
	         "    key_file: \"%s/node.key\"\n    ca_file: \"%s/ca.pem\"\n"
	         "    verify: true\n    timeout: 3\n  }\n"
	         "  remotes: [\n    { url: \"nats-leaf://127.0.0.1:7422\" }\n"
	         "    { url: \"nats-leaf://localhost:7423\", tls { ca_file: \"%s/ca.pem\" } }\n"
	         "    { url: \"tls://127.0.0.1:7424\", tls { cert_file: \"%s/node.pem\",\n"
	         "      key_file: \"%s/node.key\", ca_file: \"%s/ca.pem\", insecure: true,\n"
	         "      timeout: \"500ms\", cipher_suites: "
	         "[\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"],\n"
	         "      curve_preferences: [\"CurveP256\"] } }\n  ]\n}\n",
	         certdir, certdir, certdir, certdir, certdir, certdir, certdir);
	struct config c;
	cr_assert_eq(load(&c, text), 0);
	cr_expect(c.leaf_tls.on && c.leaf_tls.verify && !c.tls);
	cr_expect_eq(c.leaf_tls.timeout_ms, 3000u);
	cr_assert_eq(c.nleaf_remotes, 3);
	cr_expect(!c.leaf_remote_tls[0].on);
	cr_expect(c.leaf_remote_tls[1].on && !c.leaf_remote_tls[1].cert);
	cr_expect(c.leaf_remote_tls[2].on && c.leaf_remote_tls[2].insecure);
	cr_expect_eq(c.leaf_remote_tls[2].timeout_ms, 500u);
	cr_expect_eq(c.leaf_remote_tls[2].ciphers.n, 1);
	cr_expect_eq(config_validate(&c), 0); /* a remote needs no certificate */
	config_fini(&c);

	/* a CA file that is not there; a certificate without its key; a
	 * listener block without a certificate */
	char bad[3][512];
	snprintf(bad[0], sizeof(bad[0]),
	         "leafnodes { remotes: [ { url: \"nats-leaf://h:1\", "
	         "tls { ca_file: \"%s/none.pem\" } } ] }",
	         certdir);
	snprintf(bad[1], sizeof(bad[1]),
	         "leafnodes { remotes: [ { url: \"nats-leaf://h:1\", "
	         "tls { cert_file: \"%s/node.pem\" } } ] }",
	         certdir);
	snprintf(bad[2], sizeof(bad[2]), "leafnodes { port: 7422, tls { ca_file: \"%s/ca.pem\" } }",
	         certdir);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(load(&c, bad[i]), 0, "case %zu", i);
		cr_expect_eq(config_validate(&c), -EINVAL, "case %zu", i);
		config_fini(&c);
	}
}
