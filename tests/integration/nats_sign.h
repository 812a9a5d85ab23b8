/* Nonce signing for libnats clients in tests.
 *
 * libnats 3.4.1 base64-encodes the nonce's signature with an encoder that
 * takes a first byte of 0 for an empty string: then CONNECT carries the
 * JWT or NKey but no "sig", and the server (nats-server and ringbus alike)
 * answers Authorization Violation. Ed25519 signatures start with 0 once in
 * 256, so one NKey or creds login in 256 fails. Checked on the wire: with a
 * nonce whose signature starts with 0, libnats sends no "sig".
 *
 * These helpers sign the nonce themselves (nats_Sign), refuse to hand
 * libnats such a signature (the connect fails with NSIGN_ZERO_TEXT), and
 * nsign_connect() then connects again, to a new nonce. Any other failure,
 * a refused key among them, is returned at once. */
#ifndef TESTS_INTEGRATION_NATS_SIGN_H
#define TESTS_INTEGRATION_NATS_SIGN_H

#include <nats/nats.h>

#define NSIGN_ZERO_TEXT "signature starts with a zero byte (libnats would drop it)"

/* The key material of one login; must outlive the connect (the tests turn
 * reconnecting off, so libnats asks for it only then). */
struct nsign {
	char seed[128];
	char jwt[4096]; /* "" for an NKey user */
};

/* Log in with the user JWT and seed of the .creds file at @path.
 * NATS_OK, or NATS_ERR when the file cannot be read or parsed. */
natsStatus nsign_use_creds(natsOptions *o, struct nsign *ns, const char *path);

/* Log in as the NKey user @pub, signing with @seed ("SU..."). */
natsStatus nsign_use_nkey(natsOptions *o, struct nsign *ns, const char *pub, const char *seed);

/* natsConnection_Connect, again (at most 16 times in all) while it failed
 * only because the signature started with a zero byte. */
natsStatus nsign_connect(natsConnection **nc, natsOptions *o);

#endif /* TESTS_INTEGRATION_NATS_SIGN_H */
