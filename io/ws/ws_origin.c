/* nats-server's Origin checks (checkOrigin): same_origin and allowed_origins.
 * Hosts compare without case, ports as written, defaulting to 80 or 443. */
#include <string.h>

#include "io/ws/ws.h"
#include "io/ws/ws_upgrade_int.h"

struct hostport {
	struct ws_span host, port;
};

/* An Origin or allowed_origins entry: "scheme://[user@]host[:port][/...]". */
struct origin_url {
	struct ws_span scheme;
	struct hostport hp;
};

/* Go's net.SplitHostPort, and the default port when it says "missing port".
 * Returns 0 or -1. */
static int split_host_port(const char *s, size_t n, bool tls, struct hostport *hp)
{
	const char *colon;

	hp->host = (struct ws_span){s, n};
	hp->port = (struct ws_span){tls ? "443" : "80", tls ? 3u : 2u};
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		if (close + 1 == s + n)
			return 0; /* "[v6]": missing port, the brackets stay */
		if (close[1] != ':' || memchr(close + 1, '[', (size_t)(s + n - close - 1)) ||
		    memchr(close + 1, ']', (size_t)(s + n - close - 1)))
			return -1;
		hp->host = (struct ws_span){s + 1, (size_t)(close - s - 1)};
		hp->port = (struct ws_span){close + 2, (size_t)(s + n - close - 2)};
		return 0;
	}
	colon = memchr(s, ':', n);
	if (!colon)
		return 0;
	if (memchr(colon + 1, ':', (size_t)(s + n - colon - 1)) || memchr(s, '[', n) ||
	    memchr(s, ']', n))
		return -1; /* too many colons, or a stray bracket */
	hp->host = (struct ws_span){s, (size_t)(colon - s)};
	hp->port = (struct ws_span){colon + 1, (size_t)(s + n - colon - 1)};
	return 0;
}

/* Returns 0 or -1 (not an absolute URL with an authority). */
static int parse_origin(const char *s, size_t n, struct origin_url *o)
{
	const char *p = s, *end = s + n, *auth;
	size_t auth_len;

	while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	                   (p > s && ((*p >= '0' && *p <= '9') || strchr("+-.", *p)))))
		p++;
	if (p == s || end - p < 3 || memcmp(p, "://", 3) != 0)
		return -1;
	o->scheme = (struct ws_span){s, (size_t)(p - s)};
	auth = p + 3;
	auth_len = 0;
	while (auth + auth_len < end && !strchr("/?#", auth[auth_len]))
		auth_len++;
	for (size_t i = 0; i < auth_len; i++)
		if ((unsigned char)auth[i] <= 0x20 || auth[i] == 0x7f)
			return -1;
	for (size_t i = auth_len; i > 0; i--) {
		if (auth[i - 1] == '@') { /* user info is not part of the host */
			auth_len -= i;
			auth += i;
			break;
		}
	}
	return split_host_port(auth, auth_len, ws_up_ieq(o->scheme.ptr, o->scheme.len, "https"),
	                       &o->hp);
}

static bool span_ieq(struct ws_span a, struct ws_span b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
		if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
			return false;
	}
	return true;
}

static bool span_eq(struct ws_span a, struct ws_span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* The allowed_origins check: nats-server keeps the list in a map by host,
 * so the last entry for a host is the one that counts. */
static bool in_allowed(const struct origin_url *o, const char *const *allowed, size_t n)
{
	for (size_t i = n; i > 0; i--) {
		struct origin_url a;
		const char *s = allowed[i - 1];
		if (!s || parse_origin(s, strlen(s), &a) != 0)
			continue; /* nats-server skips an entry it cannot parse */
		if (!span_ieq(a.hp.host, o->hp.host))
			continue;
		return span_ieq(a.scheme, o->scheme) && span_eq(a.hp.port, o->hp.port);
	}
	return false;
}

int ws_origin_check(const struct ws_upgrade *u, bool tls, bool same_origin,
                    const char *const *allowed, size_t n_allowed)
{
	struct origin_url o;
	struct hostport req;

	if ((!same_origin && n_allowed == 0) || u->origin.len == 0)
		return 0;
	if (parse_origin(u->origin.ptr, u->origin.len, &o) != 0)
		return WS_UP_ERR_ORIGIN;
	if (same_origin) {
		if (split_host_port(u->host.ptr, u->host.len, tls, &req) != 0 ||
		    !span_ieq(o.hp.host, req.host) || !span_eq(o.hp.port, req.port))
			return WS_UP_ERR_ORIGIN;
	}
	if (n_allowed && !in_allowed(&o, allowed, n_allowed))
		return WS_UP_ERR_ORIGIN;
	return 0;
}
