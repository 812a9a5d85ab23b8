/* Users and tokens; bcrypt through libcrypt (libxcrypt). */
#define _GNU_SOURCE
#include "router/auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "router/nkey.h"
#include "router/perm.h"

struct auth_user {
	char *name;   /* the user name, or the public key of an NKey user */
	char *secret; /* NULL for an NKey user */
	struct perms *perms;
	bool nkey;
	uint16_t acc;
	uint8_t key[32]; /* an NKey user's public key */
};

struct auth {
	struct auth_user *users;
	int nusers;
	char *token;
	char *no_auth_user;
};

struct auth *auth_new(void)
{
	return calloc(1, sizeof(struct auth));
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		free(a->users[i].secret);
		perm_free(a->users[i].perms);
	}
	free(a->users);
	free(a->token);
	free(a->no_auth_user);
	free(a);
}

int auth_add_user(struct auth *a, const char *user, const char *password, const struct perms *perms,
                  uint16_t acc)
{
	if (!user || !*user || !password)
		return -EINVAL;
	bool ok;
	struct perms *p = perm_copy(perms, &ok);
	char *secret = strdup(password);
	if (!secret || !ok) {
		free(secret);
		perm_free(p);
		return -ENOMEM;
	}
	for (int i = 0; i < a->nusers; i++)
		if (!a->users[i].nkey && !strcmp(a->users[i].name, user)) {
			free(a->users[i].secret);
			perm_free(a->users[i].perms);
			a->users[i].secret = secret;
			a->users[i].perms = p;
			a->users[i].acc = acc;
			return 0;
		}
	struct auth_user *u = realloc(a->users, sizeof(*u) * (size_t)(a->nusers + 1));
	char *name = strdup(user);
	if (!u || !name) {
		free(name);
		free(secret);
		perm_free(p);
		if (u)
			a->users = u;
		return -ENOMEM;
	}
	a->users = u;
	u[a->nusers] = (struct auth_user){.name = name, .secret = secret, .perms = p, .acc = acc};
	a->nusers++;
	return 0;
}

int auth_set_token(struct auth *a, const char *token)
{
	char *t = strdup(token);
	if (!t)
		return -ENOMEM;
	free(a->token);
	a->token = t;
	return 0;
}

int auth_add_nkey(struct auth *a, const char *nkey, const struct perms *perms, uint16_t acc)
{
	uint8_t key[32];
	if (!nkey_user_public(nkey, key))
		return -EINVAL;
	bool ok;
	struct perms *p = perm_copy(perms, &ok);
	char *name = strdup(nkey);
	struct auth_user *u =
	    ok && name ? realloc(a->users, sizeof(*u) * (size_t)(a->nusers + 1)) : NULL;
	if (!u) {
		free(name);
		perm_free(p);
		return -ENOMEM;
	}
	a->users = u;
	u[a->nusers] = (struct auth_user){.name = name, .perms = p, .nkey = true, .acc = acc};
	memcpy(u[a->nusers].key, key, 32);
	a->nusers++;
	return 0;
}

bool auth_has_nkeys(const struct auth *a)
{
	for (int i = 0; a && i < a->nusers; i++)
		if (a->users[i].nkey)
			return true;
	return false;
}

bool auth_check_nkey(const struct auth *a, const char *nkey, const char *sig, const char *nonce,
                     struct auth_who *who)
{
	*who = (struct auth_who){0};
	for (int i = 0; a && nkey && i < a->nusers; i++) {
		const struct auth_user *u = &a->users[i];
		if (!u->nkey || strcmp(u->name, nkey))
			continue;
		if (!nkey_verify(u->key, nonce, strlen(nonce), sig))
			return false;
		*who = (struct auth_who){u->perms, u->acc, true, 0};
		return true;
	}
	return false;
}

int auth_set_no_auth_user(struct auth *a, const char *user)
{
	char *u = strdup(user);
	if (!u)
		return -ENOMEM;
	free(a->no_auth_user);
	a->no_auth_user = u;
	return 0;
}

bool auth_has_no_auth_user(const struct auth *a)
{
	return a && a->no_auth_user;
}

const char *auth_no_auth_user(const struct auth *a)
{
	return a ? a->no_auth_user : NULL;
}

bool auth_required(const struct auth *a)
{
	return a && (a->nusers > 0 || a->token);
}

int auth_nusers(const struct auth *a)
{
	return a ? a->nusers : 0;
}

static bool auth_is_bcrypt(const char *s)
{
	return s[0] == '$' && s[1] == '2' && (s[2] == 'a' || s[2] == 'b' || s[2] == 'y') &&
	       s[3] == '$';
}

/* Compares without stopping at the first difference. */
static bool auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool auth_match(const char *secret, const char *given)
{
	if (!given)
		return false;
	if (!auth_is_bcrypt(secret))
		return auth_equal(secret, given);
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	const char *h = crypt_r(given, secret, cd);
	bool ok = h && h[0] != '*' && auth_equal(h, secret);
	free(cd);
	return ok;
}

bool auth_check(const struct auth *a, const char *user, const char *pass, const char *token)
{
	if (!auth_required(a))
		return true;
	if (a->token && auth_match(a->token, token))
		return true;
	if (!user && !pass && !token && a->no_auth_user)
		return true; /* logs in as the no_auth_user */
	if (!user)
		return false;
	for (int i = 0; i < a->nusers; i++)
		if (!a->users[i].nkey && !strcmp(a->users[i].name, user))
			return auth_match(a->users[i].secret,
			                  pass ? pass
			                       : ""); /* none sent: nats-server compares "" */
	return false;
}

static struct auth_who auth_find(const struct auth *a, const char *name, bool nkey)
{
	for (int i = 0; a && name && i < a->nusers; i++) {
		const struct auth_user *u = &a->users[i];
		if (u->nkey == nkey && !strcmp(u->name, name))
			return (struct auth_who){
			    u->perms, u->acc, true,
			    u->secret ? hash_bytes(u->secret, strlen(u->secret)) | 1 : 0};
	}
	return (struct auth_who){0};
}

struct auth_who auth_user_who(const struct auth *a, const char *user)
{
	return auth_find(a, user, false);
}

struct auth_who auth_nkey_who(const struct auth *a, const char *nkey)
{
	return auth_find(a, nkey, true);
}
