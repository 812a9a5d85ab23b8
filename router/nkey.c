/* NKeys: decoding a user's public key and seed, signing and verifying a
 * nonce's signature, and the nonces themselves (see router/nkey.h). */
#include "router/nkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define NKEY_PREFIX_SEED (18u << 3)

/* CRC-16/XMODEM: polynomial 0x1021, initial value 0. */
static uint16_t nkey_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

/* The value of base32 digit @c (RFC 4648), or -1. */
static int nkey_b32(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* The value of base64 or base64url digit @c, or -1. */
static int nkey_b64(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/* Decodes @s, @width bits a digit (@digit gives each value), unpadded (a
 * '=' ends it); returns the bytes written or -1. */
static int nkey_decode(const char *s, int width, int (*digit)(char), uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *s && *s != '='; s++) {
		int v = digit(*s);
		if (v < 0)
			return -1;
		acc = (acc << width) | (uint32_t)v;
		bits += width;
		if (bits >= 8) {
			if (n == cap)
				return -1;
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

/* @n bytes of @in, @width bits a digit from the alphabet @a, unpadded,
 * into @out (NUL-terminated): base32 (RFC 4648) and base64url. */
static void nkey_encode_bits(const uint8_t *in, size_t n, int width, const char *a, char *out)
{
	uint32_t acc = 0, mask = (1u << width) - 1;
	int bits = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= width) {
			bits -= width;
			out[k++] = a[(acc >> bits) & mask];
		}
	}
	if (bits)
		out[k++] = a[(acc << (width - bits)) & mask];
	out[k] = 0;
}

static void nkey_b64url(const uint8_t *in, size_t n, char *out)
{
	nkey_encode_bits(in, n, 6,
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", out);
}

static void nkey_b32_encode(const uint8_t *in, size_t n, char *out)
{
	nkey_encode_bits(in, n, 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", out);
}

bool nkey_user_public(const char *text, uint8_t key[32])
{
	uint8_t raw[35];
	if (!text || strlen(text) != 56 || nkey_decode(text, 5, nkey_b32, raw, sizeof(raw)) != 35)
		return false;
	if (raw[0] != NKEY_PREFIX_USER)
		return false;
	uint16_t crc = (uint16_t)(raw[33] | raw[34] << 8);
	if (nkey_crc16(raw, 33) != crc)
		return false;
	memcpy(key, raw + 1, 32);
	return true;
}

bool nkey_verify(const uint8_t key[32], const char *nonce, size_t len, const char *sig)
{
	uint8_t s[64];
	if (!sig || nkey_decode(sig, 6, nkey_b64, s, sizeof(s)) != 64)
		return false;
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = pk && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	          EVP_DigestVerify(md, s, sizeof(s), (const unsigned char *)nonce, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ok;
}

bool nkey_user_seed(const char *text, size_t len, uint8_t seed[32])
{
	char t[NKEY_SEED_LEN + 1];
	uint8_t raw[36];
	if (!text || len != NKEY_SEED_LEN)
		return false;
	memcpy(t, text, len);
	t[len] = 0;
	bool ok = nkey_decode(t, 5, nkey_b32, raw, sizeof(raw)) == 36;
	/* 'S' in the first 5 bits, then the key type's 8 bits */
	ok = ok && (raw[0] & 0xf8) == NKEY_PREFIX_SEED &&
	     (((raw[0] & 7u) << 5) | (raw[1] >> 3)) == NKEY_PREFIX_USER &&
	     nkey_crc16(raw, 34) == (uint16_t)(raw[34] | raw[35] << 8);
	if (ok)
		memcpy(seed, raw + 2, 32);
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

bool nkey_seed_public(const uint8_t seed[32], uint8_t key[32])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	size_t n = 32;
	bool ok = pk && EVP_PKEY_get_raw_public_key(pk, key, &n) == 1 && n == 32;
	EVP_PKEY_free(pk);
	return ok;
}

bool nkey_sign(const uint8_t seed[32], const void *msg, size_t len, char *sig)
{
	uint8_t s[64];
	size_t n = sizeof(s);
	/* EVP_PKEY_free cleanses the key OpenSSL holds */
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = pk && md && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
	          EVP_DigestSign(md, s, &n, msg, len) == 1 && n == 64;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	if (ok)
		nkey_b64url(s, 64, sig);
	return ok;
}

void nkey_encode(uint8_t prefix, const uint8_t key[32], bool seed, char *out)
{
	uint8_t raw[36];
	size_t n = 0;
	if (seed) {
		raw[n++] = (uint8_t)(NKEY_PREFIX_SEED | prefix >> 5);
		raw[n++] = (uint8_t)((prefix & 31u) << 3);
	} else {
		raw[n++] = prefix;
	}
	memcpy(raw + n, key, 32);
	n += 32;
	uint16_t crc = nkey_crc16(raw, n);
	raw[n++] = (uint8_t)crc;
	raw[n++] = (uint8_t)(crc >> 8);
	nkey_b32_encode(raw, n, out);
	OPENSSL_cleanse(raw, sizeof(raw));
}

void nkey_nonce(const uint8_t secret[32], uint64_t cid, char *out)
{
	uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	for (int i = 0; i < 8; i++)
		msg[i] = (uint8_t)(cid >> (8 * i));
	HMAC(EVP_sha256(), secret, 32, msg, sizeof(msg), mac, &mlen);
	nkey_b64url(mac, 11, out); /* 11 bytes: 15 characters */
}
