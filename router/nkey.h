/* NKeys, as nats-server checks them: a user's public key in its text form
 * (base32, RFC 4648 unpadded, of prefix | 32-byte Ed25519 key | CRC-16/
 * XMODEM little-endian; a user key starts with 'U'), a nonce in INFO, and
 * CONNECT's "sig": the Ed25519 signature of the nonce's ASCII bytes,
 * base64url unpadded (standard base64 accepted). Verification goes through
 * OpenSSL's EVP interface: no hand-written cryptography. */
#ifndef ROUTER_NKEY_H
#define ROUTER_NKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NKEY_NONCE_LEN 15 /* 11 bytes, base64url unpadded */
#define NKEY_TEXT_LEN  56 /* a public key's text; a seed's is 58 */
#define NKEY_SEED_LEN  58
#define NKEY_SIG_LEN   86 /* 64 bytes, base64url unpadded */

/* The first byte of a public key of each type (its letter in base32). */
#define NKEY_PREFIX_USER     (20u << 3)
#define NKEY_PREFIX_ACCOUNT  0u
#define NKEY_PREFIX_OPERATOR (14u << 3)

/* Decodes the user public key @text into @key; false when it is not one
 * (length, alphabet, prefix or checksum). */
bool nkey_user_public(const char *text, uint8_t key[32]);

/* True when @sig (base64url or base64) is @key's Ed25519 signature of the
 * @len bytes of @nonce. */
bool nkey_verify(const uint8_t key[32], const char *nonce, size_t len, const char *sig);

/* Decodes @len bytes of @text, a user's seed ("SU...": 'S', the user
 * type, the 32-byte Ed25519 seed, CRC-16), into @seed; false when it is
 * not one. Wipes its copies; the caller wipes @seed after use. */
bool nkey_user_seed(const char *text, size_t len, uint8_t seed[32]);

/* The public key of the Ed25519 @seed. False only when OpenSSL fails. */
bool nkey_seed_public(const uint8_t seed[32], uint8_t key[32]);

/* Signs the @len bytes of @msg with the Ed25519 @seed: @sig gets the
 * signature base64url unpadded, NKEY_SIG_LEN + 1 bytes. False when OpenSSL
 * fails. */
bool nkey_sign(const uint8_t seed[32], const void *msg, size_t len, char *sig);

/* The text of @key with @prefix (NKEY_PREFIX_*): a public key into @out of
 * NKEY_TEXT_LEN + 1 bytes, or, when @seed, that type's seed into @out of
 * NKEY_SEED_LEN + 1 bytes. */
void nkey_encode(uint8_t prefix, const uint8_t key[32], bool seed, char *out);

/* The nonce for connection @cid: base64url of the first 11 bytes of
 * HMAC-SHA256(@secret, cid), so the INFO sent before a TLS handshake and
 * the check at CONNECT agree without keeping it. @out gets
 * NKEY_NONCE_LEN + 1 bytes. */
void nkey_nonce(const uint8_t secret[32], uint64_t cid, char *out);

#endif /* ROUTER_NKEY_H */
