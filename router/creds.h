/* A leaf remote's credentials file (leafnodes { remotes = [ { credentials:
 * "user.creds" } ] }): the user JWT a hub in operator mode takes, and the
 * user's seed that signs the hub's nonce. Read at each connection, as
 * nats-server reads it (a file replaced on disk is used from the next
 * connection on); the seed is wiped once the nonce is signed. */
#ifndef ROUTER_CREDS_H
#define ROUTER_CREDS_H

#include <stddef.h>
#include <stdint.h>

#define CREDS_FILE_MAX (1 << 20) /* a creds file is about 1 KiB */

/* What a credentials file holds. Owner: the caller; creds_wipe() ends it. */
struct creds {
	char *jwt;        /* the user JWT (malloc'd) */
	uint8_t seed[32]; /* the user's Ed25519 seed */
};

/* Finds the JWT and the seed in the @len bytes of @text: the first two
 * blocks of one line each between lines of dashes ("-----BEGIN NATS USER
 * JWT-----" ... "------END USER NKEY SEED------": a line of at least three
 * dashes, anything, three dashes), as nats-server's credsRe does. Returns
 * 0, or -EINVAL (no such blocks, or the second is not a user seed) or
 * -ENOMEM, with what is wrong in @err. */
int creds_parse(const char *text, size_t len, struct creds *cr, char *err, size_t errcap);

/* creds_parse() of the file @path; -errno with strerror in @err when it
 * cannot be read. */
int creds_load(const char *path, struct creds *cr, char *err, size_t errcap);

/* Frees the JWT and wipes the seed. */
void creds_wipe(struct creds *cr);

/* The CONNECT fields of a leaf that logs in with the file @path to the hub
 * whose INFO JSON is the @len bytes of @info: ,"jwt":"<JWT>","sig":"<the
 * INFO's nonce signed, base64url>". malloc'd, or NULL with @err. */
char *creds_connect_fields(const char *path, const char *info, size_t len, char *err,
                           size_t errcap);

/* At start: logs what makes the file @path unusable, in nats-server's
 * words; the server runs on (each connection tries it again). */
void creds_check(const char *path);

#endif /* ROUTER_CREDS_H */
