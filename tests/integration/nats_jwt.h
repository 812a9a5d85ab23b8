/* Decentralized auth for tests: operator, account and user nkeys made with
 * OpenSSL, JWTs (v2, "ed25519-nkey") that nats-server 2.9.10 takes, and
 * .creds files, so a test can run a hub in operator mode (operator,
 * resolver: MEMORY, resolver_preload) without the nsc tool. */
#ifndef TESTS_INTEGRATION_NATS_JWT_H
#define TESTS_INTEGRATION_NATS_JWT_H

#include <stdint.h>

#include "router/nkey.h"

/* One key pair: its Ed25519 seed and both texts. */
struct njwt_key {
	uint8_t prefix; /* NKEY_PREFIX_OPERATOR, _ACCOUNT or _USER */
	uint8_t seed[32];
	char pub[NKEY_TEXT_LEN + 1];       /* "O...", "A...", "U..." */
	char seed_text[NKEY_SEED_LEN + 1]; /* "SO...", "SA...", "SU..." */
};

/* A new random key of type @prefix. 0, or -1 when OpenSSL fails. */
int njwt_key_new(struct njwt_key *k, uint8_t prefix);

/* A JWT for @sub (a public key) named @name, issued and signed by
 * @issuer, with @nats the JSON members of its "nats" object besides
 * "type" and "version" (which follow @sub's kind). jti is the base32 of
 * the SHA-512/256 of the claims without it, as nats-io/jwt makes it.
 * malloc'd; NULL on failure. */
char *njwt_encode(const struct njwt_key *issuer, const char *sub, const char *name,
                  const char *nats);

/* The operator JWT of @op (self-signed). */
char *njwt_operator(const struct njwt_key *op);
/* The JWT of account @acc, signed by @op: no limits, leaf nodes allowed. */
char *njwt_account(const struct njwt_key *op, const struct njwt_key *acc);
/* The JWT of user @user of account @acc, signed by it: no limits. */
char *njwt_user(const struct njwt_key *acc, const struct njwt_key *user);

/* Writes a .creds file, @jwt and @seed_text framed as nsc frames them.
 * 0, or -errno. */
int njwt_write_creds(const char *path, const char *jwt, const char *seed_text);

#endif /* TESTS_INTEGRATION_NATS_JWT_H */
