/* JWTs and creds files for tests (nats_jwt.h). */
#include "tests/integration/nats_jwt.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int njwt_key_new(struct njwt_key *k, uint8_t prefix)
{
	uint8_t pub[32];
	k->prefix = prefix;
	if (RAND_bytes(k->seed, sizeof(k->seed)) != 1 || !nkey_seed_public(k->seed, pub))
		return -1;
	nkey_encode(prefix, pub, false, k->pub);
	nkey_encode(prefix, k->seed, true, k->seed_text);
	return 0;
}

/* @n bytes of @in, base64url unpadded, into @out (4n/3 + 2 bytes). */
static void b64url(const uint8_t *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = 0;
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

/* @n bytes of @in, base32 unpadded, into @out (8n/5 + 2 bytes). */
static void b32(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		for (bits += 8; bits >= 5; bits -= 5)
			*out++ = a[(acc >> (bits - 5)) & 31];
	}
	if (bits)
		*out++ = a[(acc << (5 - bits)) & 31];
	*out = 0;
}

/* The claims JSON with @jti ("" for the hash). */
static int claims(char *buf, size_t cap, const char *jti, long iat, const struct njwt_key *issuer,
                  const char *sub, const char *name, const char *nats)
{
	const char *type = sub[0] == 'O' ? "operator" : sub[0] == 'A' ? "account" : "user";
	return snprintf(buf, cap,
	                "{\"jti\":\"%s\",\"iat\":%ld,\"iss\":\"%s\",\"name\":\"%s\",\"sub\":\"%s\","
	                "\"nats\":{%s%s\"type\":\"%s\",\"version\":2}}",
	                jti, iat, issuer->pub, name, sub, nats, nats[0] ? "," : "", type);
}

char *njwt_encode(const struct njwt_key *issuer, const char *sub, const char *name,
                  const char *nats)
{
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
	char c[2048], jti[64], h64[128], c64[2800], sig[NKEY_SIG_LEN + 1];
	uint8_t hash[32];
	unsigned hlen = 0;
	long iat = (long)time(NULL);
	int n = claims(c, sizeof(c), "", iat, issuer, sub, name, nats);
	if (n <= 0 || (size_t)n >= sizeof(c) ||
	    !EVP_Digest(c, (size_t)n, hash, &hlen, EVP_sha512_256(), NULL) || hlen != 32)
		return NULL;
	b32(hash, 32, jti);
	n = claims(c, sizeof(c), jti, iat, issuer, sub, name, nats);
	if (n <= 0 || (size_t)n >= sizeof(c))
		return NULL;
	b64url((const uint8_t *)header, sizeof(header) - 1, h64);
	b64url((const uint8_t *)c, (size_t)n, c64);
	size_t cap = strlen(h64) + strlen(c64) + sizeof(sig) + 4;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	snprintf(out, cap, "%s.%s", h64, c64);
	/* the signature covers "header.claims" as sent */
	if (!nkey_sign(issuer->seed, out, strlen(out), sig)) {
		free(out);
		return NULL;
	}
	strcat(out, ".");
	strcat(out, sig);
	return out;
}

char *njwt_operator(const struct njwt_key *op)
{
	return njwt_encode(op, op->pub, "test-operator", "");
}

char *njwt_account(const struct njwt_key *op, const struct njwt_key *acc)
{
	return njwt_encode(op, acc->pub, "test-account",
	                   "\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,"
	                   "\"exports\":-1,\"wildcards\":true,\"conn\":-1,\"leaf\":-1},"
	                   "\"default_permissions\":{\"pub\":{},\"sub\":{}}");
}

char *njwt_user(const struct njwt_key *acc, const struct njwt_key *user)
{
	return njwt_encode(acc, user->pub, "test-user",
	                   "\"pub\":{},\"sub\":{},\"subs\":-1,\"data\":-1,\"payload\":-1");
}

int njwt_write_creds(const char *path, const char *jwt, const char *seed_text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
	        "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
	        "************************* IMPORTANT *************************\n"
	        "NKEY Seed printed below can be used to sign and prove identity.\n"
	        "NKEYs are sensitive and should be treated as secrets.\n\n"
	        "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
	        "*************************************************************\n",
	        jwt, seed_text);
	return fclose(f) ? -errno : 0;
}
