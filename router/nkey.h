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

/* Decodes the user public key @text into @key; false when it is not one
 * (length, alphabet, prefix or checksum). */
bool nkey_user_public(const char *text, uint8_t key[32]);

/* True when @sig (base64url or base64) is @key's Ed25519 signature of the
 * @len bytes of @nonce. */
bool nkey_verify(const uint8_t key[32], const char *nonce, size_t len, const char *sig);

/* The nonce for connection @cid: base64url of the first 11 bytes of
 * HMAC-SHA256(@secret, cid), so the INFO sent before a TLS handshake and
 * the check at CONNECT agree without keeping it. @out gets
 * NKEY_NONCE_LEN + 1 bytes. */
void nkey_nonce(const uint8_t secret[32], uint64_t cid, char *out);

#endif /* ROUTER_NKEY_H */
