/* A reload's new permissions on a connected client: its user's permissions
 * from the new settings, and each subscription they no longer allow removed
 * with nats-server's -ERR ("... Subscription to \"a.x\" (sid \"1\")"). Above
 * client_perm.c (the checks) and client_sub.c (the unsubscribe). */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "router/auth.h"
#include "router/client_int.h"
#include "router/perm.h"

/* Who @cl's credentials make it under @a. */
static struct auth_who client_who(const struct client *cl, const struct auth *a)
{
	const struct connect_opts *o = &cl->opts;
	if (o->nkey)
		return auth_nkey_who(a, o->nkey);
	if (!o->user && !o->pass && !o->auth_token)
		return auth_user_who(a, auth_no_auth_user(a));
	return auth_user_who(a, o->user);
}

/* True when @cl's credentials still let it in under @a. A user whose
 * password (or hash) did not change is not checked again (no bcrypt per
 * client per reload); one that changed is. */
static bool client_still_in(const struct client *cl, const struct auth *a, const struct auth_who *w)
{
	const struct connect_opts *o = &cl->opts;
	if (!auth_required(a))
		return true;
	if (o->nkey)
		return w->found; /* its key signed this connection's nonce */
	if (w->found && w->secret && w->secret == cl->auth_secret)
		return true;
	return auth_check(a, o->user, o->pass, o->auth_token);
}

/* Removes @cs, which the new permissions do not allow, and says so. */
static void client_perm_revoke(struct client *cl, struct csub *cs)
{
	char err[400];
	snprintf(err, sizeof(err), "Permissions Violation for Subscription to \"%s\" (sid \"%s\")",
	         cs->subject, cs->sid);
	client_err(cl, err, false);
	log_info("Removed sub \"%s\" (sid \"%s\") for User \"%s\" - not authorized", cs->subject,
	         cs->sid, cl->opts.user ? cl->opts.user : "");
	client_unsub(cl, cs);
}

void client_perm_reload(struct client *cl, const struct live *lv)
{
	if (!cl->connected || cl->quitting || cl->kind)
		return;
	const struct auth *a = server_live_auth(lv, cl->ws != NULL);
	const struct auth_who who = client_who(cl, a);
	const char *user = cl->opts.user ? cl->opts.user : cl->opts.nkey ? cl->opts.nkey : "";
	if (auth_required(a) && (cl->opts.user || cl->opts.nkey) && !who.found) {
		/* as nats-server: a user the settings no longer have is closed */
		log_info("cid %llu: user \"%s\" is gone: closing", (unsigned long long)cl->cid,
		         user);
		client_quit(cl, NULL, 0);
		return;
	}
	if (!client_still_in(cl, a, &who)) {
		log_error("cid %llu: authentication error - User \"%s\"",
		          (unsigned long long)cl->cid, user);
		client_err(cl, "Authorization Violation", true);
		return;
	}
	if (who.acc != cl->acc) {
		/* as nats-server: a client whose user moved to another account is
		 * closed; it logs in again into the new one */
		log_info("cid %llu: its user's account changed: closing",
		         (unsigned long long)cl->cid);
		client_quit(cl, NULL, 0);
		return;
	}
	/* the checks remembered with the last subject (permissions, imports)
	 * were made under the old settings */
	cl->last_subj_len = 0;
	const struct perms *p = who.perms;
	if (!p && !cl->perms)
		return; /* unrestricted before and after: nothing to look at */
	if (!client_perm_connect(cl, p)) {
		log_error("cid %llu: out of memory for its permissions: closing",
		          (unsigned long long)cl->cid);
		io_conn_close(cl->c, false);
		return;
	}
	/* collect first: unsubscribing may change the map being walked */
	uint32_t n = 0, cap = map_count(&cl->by_id);
	struct csub **revoke = cap ? malloc(cap * sizeof(*revoke)) : NULL;
	void *v;
	for (uint32_t it = 0; map_next(&cl->by_id, &it, NULL, &v);) {
		struct csub *cs = v;
		bool filter = false;
		if (cs->unsubscribed)
			continue;
		if (perm_can_subscribe(cl->perms, cs->subject, cs->subject_len, cs->queue,
		                       cs->queue_len, &filter))
			cs->perm_filter = filter;
		else if (revoke)
			revoke[n++] = cs;
		else
			cs->perm_filter =
			    true; /* no memory to remove it: at least deliver nothing denied */
	}
	for (uint32_t i = 0; i < n; i++)
		client_perm_revoke(cl, revoke[i]);
	free(revoke);
}
