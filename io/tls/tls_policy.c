/* nats-server's TLS policy on an OpenSSL context: which TLS 1.2 cipher
 * suites and which curves a server offers, named as nats-server (Go's
 * crypto/tls) names them in its configuration (`cipher_suites`,
 * `curve_preferences`). TLS 1.3 suites are not touched by either list, as in
 * nats-server. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "io/tls/tls_int.h"

struct tls_name {
	const char *go;
	const char *ossl;
};

/* Go's TLS 1.2 suite names and OpenSSL's. */
static const struct tls_name tls_suites[] = {
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

/* TLS 1.3 suites: accepted in the list and left alone (nats-server does). */
static const char *const tls13_suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"};

static const struct tls_name tls_curves[] = {
    {"X25519", "X25519"},
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
};

/* nats-server 2.9's defaults: forward secrecy and AEAD only; X25519 first. */
static const char *const tls_default_suites[] = {
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
};
static const char *const tls_default_curves[] = {"X25519", "CurveP256", "CurveP384", "CurveP521"};

static const char *tls_lookup(const struct tls_name *t, size_t n, const char *go)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].go, go))
			return t[i].ossl;
	return NULL;
}

static bool tls_is13(const char *go)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(tls13_suites); i++)
		if (!strcmp(tls13_suites[i], go))
			return true;
	return false;
}

/* Joins the OpenSSL names of @names into @out with @sep. Returns 0, or
 * -EINVAL naming the first unknown name in @why. */
static int tls_join(const struct tls_name *t, size_t nt, const char *const *names, size_t n,
                    const char *what, char *out, size_t cap, char *why, size_t why_len)
{
	size_t len = 0;
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const char *o = tls_lookup(t, nt, names[i]);
		if (!o && t == tls_suites && tls_is13(names[i]))
			continue;
		if (!o) {
			snprintf(why, why_len,
			         "unrecognized %s \"%s\" (nats-server --help_tls lists them)", what,
			         names[i]);
			return -EINVAL;
		}
		int w = snprintf(out + len, cap - len, "%s%s", len ? ":" : "", o);
		if (w < 0 || (size_t)w >= cap - len) {
			snprintf(why, why_len, "too many %ss", what);
			return -EINVAL;
		}
		len += (size_t)w;
	}
	return 0;
}

int tls_policy_apply(SSL_CTX *ssl, const struct tls_config *cfg, char *why, size_t why_len)
{
	const char *const *suites = cfg->nciphers ? cfg->ciphers : tls_default_suites;
	size_t nsuites = cfg->nciphers ? cfg->nciphers : RB_ARRAY_LEN(tls_default_suites);
	const char *const *curves = cfg->ncurves ? cfg->curves : tls_default_curves;
	size_t ncurves = cfg->ncurves ? cfg->ncurves : RB_ARRAY_LEN(tls_default_curves);
	char list[2048];
	int ret = tls_join(tls_suites, RB_ARRAY_LEN(tls_suites), suites, nsuites, "cipher suite",
	                   list, sizeof(list), why, why_len);
	if (ret)
		return ret;
	if (!list[0] || SSL_CTX_set_cipher_list(ssl, list) != 1) {
		snprintf(why, why_len, "no usable TLS 1.2 cipher suite in cipher_suites");
		return -EINVAL;
	}
	ret = tls_join(tls_curves, RB_ARRAY_LEN(tls_curves), curves, ncurves, "curve", list,
	               sizeof(list), why, why_len);
	if (ret)
		return ret;
	if (SSL_CTX_set1_groups_list(ssl, list) != 1) {
		snprintf(why, why_len, "curve_preferences: no curve OpenSSL takes (%s)", list);
		return -EINVAL;
	}
	return 0;
}

bool tls_cipher_suite_known(const char *go)
{
	return tls_lookup(tls_suites, RB_ARRAY_LEN(tls_suites), go) || tls_is13(go);
}

const char *tls_cipher_suite_name(size_t i)
{
	if (i < RB_ARRAY_LEN(tls_suites))
		return tls_suites[i].go;
	i -= RB_ARRAY_LEN(tls_suites);
	return i < RB_ARRAY_LEN(tls13_suites) ? tls13_suites[i] : NULL;
}

const char *tls_curve_name(size_t i)
{
	return i < RB_ARRAY_LEN(tls_curves) ? tls_curves[i].go : NULL;
}

bool tls_curve_known(const char *go)
{
	return tls_lookup(tls_curves, RB_ARRAY_LEN(tls_curves), go) != NULL;
}
