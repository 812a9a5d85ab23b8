/* Client authentication: a token, or users with passwords stored in plain
 * text or as bcrypt hashes ($2a$/$2b$/$2y$, as nats-server accepts them).
 * Immutable once built; replaced whole on reload. */
#ifndef ROUTER_AUTH_H
#define ROUTER_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

struct auth;

/* An empty set (no authentication required). NULL when out of memory. */
struct auth *auth_new(void);
void auth_free(struct auth *a);

struct perms;

/* Who a client logged in as: its permissions (NULL: none) and its account
 * (router/account.h; ACC_GLOBAL for users outside any). */
struct auth_who {
	const struct perms *perms;
	uint16_t acc;
	bool found;      /* the user is one of the users (else: no permissions, $G) */
	uint64_t secret; /* a fingerprint of its password or hash as configured (0: none):
	                    unchanged across a reload, a login made with it still holds */
};

/* Adds @user with @password (plain, or a bcrypt hash), permissions @perms
 * (copied; NULL: none) in account @acc. A second entry for the same user
 * replaces the first. Returns 0, -EINVAL (empty user) or -ENOMEM. */
RB_MUST_CHECK int auth_add_user(struct auth *a, const char *user, const char *password,
                                const struct perms *perms, uint16_t acc);

/* Adds the NKey user of public key @nkey (text, checked by the caller) with
 * @perms (copied; NULL: none) in account @acc. Returns 0, -EINVAL or
 * -ENOMEM. */
RB_MUST_CHECK int auth_add_nkey(struct auth *a, const char *nkey, const struct perms *perms,
                                uint16_t acc);

/* True when some user logs in with an NKey: INFO then carries a nonce. */
bool auth_has_nkeys(const struct auth *a);

/* The NKey login: @nkey must be one of the users and @sig its signature
 * of @nonce. Sets *@who to that user. */
bool auth_check_nkey(const struct auth *a, const char *nkey, const char *sig, const char *nonce,
                     struct auth_who *who);

/* Requires @token (plain or bcrypt). Returns 0 or -ENOMEM. */
RB_MUST_CHECK int auth_set_token(struct auth *a, const char *token);

/* A client that sends no credentials logs in as @user (no_auth_user).
 * Returns 0 or -ENOMEM. */
RB_MUST_CHECK int auth_set_no_auth_user(struct auth *a, const char *user);

/* True when a client without credentials gets in as the no_auth_user: INFO
 * then says no authentication is required, as nats-server's does. */
bool auth_has_no_auth_user(const struct auth *a);
/* That user's name, or NULL. */
const char *auth_no_auth_user(const struct auth *a);

/* True when clients must authenticate. */
bool auth_required(const struct auth *a);

/* True when @given matches @secret (plain text, or a bcrypt hash of it),
 * compared in constant time. Any thread. */
bool auth_match(const char *secret, const char *given);

/* True when the credentials a client sent in CONNECT (any may be NULL) are
 * accepted. A bcrypt check costs what its cost factor says (about 1 ms at
 * cost 4, 60 ms at cost 10) on the calling thread. */
bool auth_check(const struct auth *a, const char *user, const char *pass, const char *token);

/* The permissions (borrowed from @a) and account of @user; no permissions
 * and $G when there is no such user. */
struct auth_who auth_user_who(const struct auth *a, const char *user);
/* The same for the NKey user of public key @nkey. */
struct auth_who auth_nkey_who(const struct auth *a, const char *nkey);

/* Number of users (for the start-up log). */
int auth_nusers(const struct auth *a);

#endif /* ROUTER_AUTH_H */
