/* Nonce signing for libnats clients in tests (nats_sign.h). */
#include "tests/integration/nats_sign.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSIGN_TRIES 16

static natsStatus nsign_jwt(char **jwt, char **err, void *closure)
{
	(void)err;
	*jwt = strdup(((struct nsign *)closure)->jwt);
	return *jwt ? NATS_OK : NATS_NO_MEMORY;
}

static natsStatus nsign_sig(char **err, unsigned char **sig, int *len, const char *nonce,
                            void *closure)
{
	natsStatus s = nats_Sign(((struct nsign *)closure)->seed, nonce, sig, len);
	if (s != NATS_OK)
		return s;
	if (*len > 0 && (*sig)[0] == 0) {
		free(*sig);
		*sig = NULL;
		*len = 0;
		*err = strdup(NSIGN_ZERO_TEXT);
		return NATS_ERR;
	}
	return NATS_OK;
}

/* The line after the line @begin in @text, into @out (@cap bytes). */
static bool nsign_block(const char *text, const char *begin, char *out, size_t cap)
{
	const char *p = strstr(text, begin);
	if (!p || !(p = strchr(p, '\n')))
		return false;
	p++;
	size_t n = strcspn(p, "\r\n");
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

natsStatus nsign_use_creds(natsOptions *o, struct nsign *ns, const char *path)
{
	char text[8192];
	FILE *f = fopen(path, "r");
	if (!f)
		return NATS_ERR;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	bool ok = nsign_block(text, "BEGIN NATS USER JWT", ns->jwt, sizeof(ns->jwt)) &&
	          nsign_block(text, "BEGIN USER NKEY SEED", ns->seed, sizeof(ns->seed));
	memset(text, 0, sizeof(text));
	if (!ok)
		return NATS_ERR;
	return natsOptions_SetUserCredentialsCallbacks(o, nsign_jwt, ns, nsign_sig, ns);
}

natsStatus nsign_use_nkey(natsOptions *o, struct nsign *ns, const char *pub, const char *seed)
{
	if (snprintf(ns->seed, sizeof(ns->seed), "%s", seed) >= (int)sizeof(ns->seed))
		return NATS_ERR;
	ns->jwt[0] = 0;
	return natsOptions_SetNKey(o, pub, nsign_sig, ns);
}

natsStatus nsign_connect(natsConnection **nc, natsOptions *o)
{
	natsStatus s = NATS_ERR;
	for (int i = 0; i < NSIGN_TRIES; i++) {
		s = natsConnection_Connect(nc, o);
		const char *why = s == NATS_OK ? NULL : nats_GetLastError(NULL);
		if (!why || !strstr(why, NSIGN_ZERO_TEXT))
			return s;
	}
	return s;
}
