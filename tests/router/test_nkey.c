/* NKeys and credentials files (router/nkey.c, router/creds.c): a user's
 * seed decoded, the nonce signed and checked with the verification that
 * CONNECT's "sig" goes through, and the blocks of a .creds file found as
 * nats-server finds them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "router/creds.h"
#include "router/nkey.h"

/* Seed bytes 0..31 and its public key (docs: NATS-CONFIG-NOTES.md 6; the
 * npm client took both). */
static const char seed_0_31[] = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
static const char pub_0_31[] = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";

Test(nkey, a_user_seed_decodes_and_encodes_back)
{
	uint8_t seed[32], want[32], pub[32], key[32];
	char text[NKEY_SEED_LEN + 1], ptext[NKEY_TEXT_LEN + 1];
	for (int i = 0; i < 32; i++)
		want[i] = (uint8_t)i;
	cr_assert(nkey_user_seed(seed_0_31, strlen(seed_0_31), seed));
	cr_assert_arr_eq(seed, want, 32);
	nkey_encode(NKEY_PREFIX_USER, seed, true, text);
	cr_expect_str_eq(text, seed_0_31);
	cr_assert(nkey_seed_public(seed, pub));
	nkey_encode(NKEY_PREFIX_USER, pub, false, ptext);
	cr_expect_str_eq(ptext, pub_0_31);
	cr_assert(nkey_user_public(pub_0_31, key));
	cr_expect_arr_eq(key, pub, 32);
}

Test(nkey, what_is_not_a_user_seed_is_refused)
{
	uint8_t seed[32], key[32];
	char t[NKEY_SEED_LEN + 1];
	strcpy(t, seed_0_31);
	t[20] = t[20] == 'A' ? 'B' : 'A'; /* the checksum no longer holds */
	cr_expect_not(nkey_user_seed(t, strlen(t), seed));
	cr_expect_not(nkey_user_seed(seed_0_31, strlen(seed_0_31) - 1, seed));
	cr_expect_not(nkey_user_seed(pub_0_31, strlen(pub_0_31), seed));
	strcpy(t, seed_0_31);
	t[3] = '1'; /* not base32 */
	cr_expect_not(nkey_user_seed(t, strlen(t), seed));
	/* an account's seed of the same bytes */
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	nkey_encode(NKEY_PREFIX_ACCOUNT, key, true, t);
	cr_expect_eq(strncmp(t, "SA", 2), 0, "%s", t);
	cr_expect_not(nkey_user_seed(t, strlen(t), seed));
}

/* RFC 8032 section 7.1, test 1: the empty message. */
Test(nkey, signing_gives_rfc8032_signatures)
{
	static const uint8_t sk[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
	                               0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	                               0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	                               0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
	/* e5564300c360ac72...7a100b, base64url */
	static const char want[] = "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc-"
	                           "bRr0lv18FlbviRlUUFDjnoQCw";
	char sig[NKEY_SIG_LEN + 1];
	cr_assert(nkey_sign(sk, "", 0, sig));
	cr_expect_str_eq(sig, want);
}

Test(nkey, a_signed_nonce_passes_the_connect_check)
{
	uint8_t seed[32], pub[32];
	char sig[NKEY_SIG_LEN + 1];
	const char nonce[] = "VsmkEg7r4RmF8zc";
	cr_assert(nkey_user_seed(seed_0_31, strlen(seed_0_31), seed));
	cr_assert(nkey_seed_public(seed, pub));
	cr_assert(nkey_sign(seed, nonce, strlen(nonce), sig));
	cr_expect_eq(strlen(sig), NKEY_SIG_LEN);
	cr_expect(nkey_verify(pub, nonce, strlen(nonce), sig));
	cr_expect_not(nkey_verify(pub, nonce, strlen(nonce) - 1, sig), "another nonce");
	seed[0] ^= 1;
	cr_assert(nkey_sign(seed, nonce, strlen(nonce), sig));
	cr_expect_not(nkey_verify(pub, nonce, strlen(nonce), sig), "another key");
}

/* ---- credentials files ---- */

#define JWT "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln"

static int parse(const char *text, struct creds *cr)
{
	char err[128];
	return creds_parse(text, strlen(text), cr, err, sizeof(err));
}

Test(creds, the_file_nsc_writes)
{
	struct creds cr;
	const char *text = "-----BEGIN NATS USER JWT-----\n" JWT "\n"
	                   "------END NATS USER JWT------\n\n"
	                   "************************* IMPORTANT *************************\n"
	                   "NKEY Seed printed below can be used to sign and prove identity.\n\n"
	                   "-----BEGIN USER NKEY SEED-----\n"
	                   "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y\n"
	                   "------END USER NKEY SEED------\n\n"
	                   "*************************************************************\n";
	/* as read from the file: no NUL after it */
	size_t len = strlen(text);
	char *exact = malloc(len);
	cr_assert_not_null(exact);
	memcpy(exact, text, len);
	char err[128];
	cr_assert_eq(creds_parse(exact, len, &cr, err, sizeof(err)), 0, "%s", err);
	free(exact);
	cr_expect_str_eq(cr.jwt, JWT);
	cr_expect_eq(cr.seed[31], 31);
	creds_wipe(&cr);
	cr_expect_null(cr.jwt);
	cr_expect_eq(cr.seed[31], 0, "the seed is wiped");
}

/* Any line of three dashes or more ... three dashes frames a block, CRLF
 * too, and the last line needs no newline (nats-server's credsRe). */
Test(creds, lenient_as_nats_server)
{
	struct creds cr;
	const char *text = "---x---\r\n" JWT "\r\n------\r\n"
	                   "junk\n--- seed ---\n"
	                   "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y\n---end---";
	cr_assert_eq(parse(text, &cr), 0);
	cr_expect_str_eq(cr.jwt, JWT);
	creds_wipe(&cr);
}

Test(creds, malformed_files_are_refused)
{
	struct creds cr;
	cr_expect_eq(parse("", &cr), -EINVAL);
	cr_expect_eq(parse("garbage\n", &cr), -EINVAL);
	cr_expect_eq(parse("-----BEGIN NATS USER JWT-----\n" JWT "\n------END------\n", &cr),
	             -EINVAL, "no seed");
	/* two dashes do not frame */
	cr_expect_eq(parse("--a--\n" JWT "\n--b--\n--c--\nSUAAAAICAMCAKBQHBAEQUCYMBUHA6EAR"
	                   "CIJRIFIWC4MBSGQ3DQOR4H776Y\n--d--\n",
	                   &cr),
	             -EINVAL);
	cr_expect_eq(parse("---a---\n" JWT "\n---b---\n---c---\n" JWT "\n---d---\n", &cr), -EINVAL,
	             "the second block is not a seed");
	cr_expect_eq(parse("---a---\n" JWT " x\n---b---\n---c---\nSUAAAAICAMCAKBQHBAEQUCYMB"
	                   "UHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y\n---d---\n",
	                   &cr),
	             -EINVAL, "a space in the JWT's line");
	char err[128];
	cr_expect_eq(creds_load("/nonexistent/user.creds", &cr, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "No such file"), "%s", err);
}
