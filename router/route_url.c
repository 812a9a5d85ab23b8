/* Reading route and leaf URLs, and whether a server ID is known: what the
 * route manager (router/route_mgr.c) and the table of peers
 * (router/route_peers.c) both use, in a file that calls neither. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/route_int.h"
#include "router/server.h"

/* "nats://user:pass@host:port" (nats-route:// too) into @u. */
int route_url_parse(const char *text, struct route_url *u)
{
	const char *p = strstr(text, "://");
	p = p ? p + 3 : text;
	const char *at = strrchr(p, '@');
	memset(u, 0, sizeof(*u));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = (size_t)((colon ? colon : at) - p);
		snprintf(u->user, sizeof(u->user), "%.*s", (int)ulen, p);
		if (colon)
			snprintf(u->pass, sizeof(u->pass), "%.*s", (int)(at - colon - 1),
			         colon + 1);
		p = at + 1;
	}
	const char *colon = strrchr(p, ':');
	if (!colon)
		return -EINVAL;
	const char *h = p, *he = colon;
	if (*h == '[' && he > h && he[-1] == ']') {
		h++;
		he--;
	}
	snprintf(u->host, sizeof(u->host), "%.*s", (int)(he - h), h);
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (port <= 0 || port > 65535 || (*end && *end != '/'))
		return -EINVAL;
	u->port = (int)port;
	return 0;
}

bool route_peer_known_locked(struct route_mgr *m, const char *id)
{
	if (!id[0])
		return false;
	if (!strcmp(id, m->s->server_id))
		return true;
	for (int i = 0; i < ROUTE_PEERS_MAX; i++)
		if (m->peers[i].used && !strcmp(m->peers[i].h.id, id))
			return true;
	return false;
}
