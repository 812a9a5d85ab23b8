/* The WebSocket upgrade request (RFC 6455 section 4.2.1), read line by line as
 * it arrives and checked in the order Go's HTTP server and then nats-server
 * 2.9.10 (wsUpgrade) check it, so a bad request gets their answer. */
#include <string.h>

#include "io/ws/ws.h"
#include "io/ws/ws_upgrade_int.h"

void ws_upgrade_init(struct ws_upgrade *u)
{
	memset(u, 0, sizeof(*u));
}

bool ws_up_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool ws_up_ieq(const char *a, size_t n, const char *b)
{
	size_t i = 0;

	for (; i < n && b[i]; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
	}
	return i == n && b[i] == '\0';
}

/* Trims spaces and tabs at both ends of @s/@n. */
static const char *trim(const char *s, size_t *n)
{
	while (*n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		(*n)--;
	}
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

/* Takes the next @sep-separated item of the list at *@s (*@n bytes) into @item/@len (trimmed).
 * Returns false when the list is used up. */
static bool next_item(const char **s, size_t *n, char sep, const char **item, size_t *len)
{
	const char *end;
	size_t k;

	if (*n == 0)
		return false;
	end = memchr(*s, sep, *n);
	k = end ? (size_t)(end - *s) : *n;
	*len = k;
	*item = trim(*s, len);
	*s += k + (end ? 1 : 0);
	*n -= k + (end ? 1 : 0);
	return true;
}

/* True when @sep-separated list @s/@n has @token (case-insensitive). */
static bool list_has(const char *s, size_t n, char sep, const char *token)
{
	const char *item;
	size_t len;

	while (next_item(&s, &n, sep, &item, &len))
		if (ws_up_ieq(item, len, token))
			return true;
	return false;
}

/* nats-server's reading of Sec-WebSocket-Extensions: the first
 * permessage-deflate (anywhere in an extension's ';' list) and the
 * parameters after it. */
static void read_extensions(struct ws_upgrade *u, const char *s, size_t n)
{
	const char *ext, *param;
	size_t ext_len, param_len;

	while (!u->deflate_offered && next_item(&s, &n, ',', &ext, &ext_len)) {
		while (next_item(&ext, &ext_len, ';', &param, &param_len)) {
			if (!ws_up_ieq(param, param_len, "permessage-deflate"))
				continue;
			u->deflate_offered = true;
			u->server_no_context_takeover =
			    list_has(ext, ext_len, ';', "server_no_context_takeover");
			u->client_no_context_takeover =
			    list_has(ext, ext_len, ';', "client_no_context_takeover");
			return;
		}
	}
}

/* Go's url.ParseRequestURI, in short: a path, or an absolute URI; no
 * control characters. ("*" is refused by Go's ServeMux.) */
static bool target_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return false;
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] <= 0x20 || s[k] == 0x7f)
			return false;
	if (s[0] == '/')
		return true;
	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	                 (i > 0 && ((s[i] >= '0' && s[i] <= '9') || strchr("+-.", s[i])))))
		i++;
	return i > 0 && i < n && s[i] == ':';
}

/* Go's validMethod, ParseHTTPVersion and ParseRequestURI, in short. */
static int request_line(struct ws_upgrade *u, const char *s, size_t n)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *v;
	size_t target_len;

	if (!sp1 || sp1 == s)
		return WS_UP_ERR_BAD_REQUEST;
	for (const char *p = s; p < sp1; p++)
		if (!ws_up_tchar((unsigned char)*p))
			return WS_UP_ERR_BAD_REQUEST;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (!sp2)
		return WS_UP_ERR_BAD_REQUEST;
	target_len = (size_t)(sp2 - sp1 - 1);
	if (!target_valid(sp1 + 1, target_len))
		return WS_UP_ERR_BAD_REQUEST;
	v = sp2 + 1;
	if ((size_t)(s + n - v) != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return WS_UP_ERR_BAD_REQUEST;
	if (v[5] != '1')
		u->flags |= WS_UP_F_BAD_VERSION;
	u->http_minor = (uint8_t)(v[7] - '0');
	if (sp1 - s == 3 && memcmp(s, "GET", 3) == 0)
		u->flags |= WS_UP_F_GET;
	u->off[WS_UP_PATH] = (uint16_t)(sp1 + 1 - s);
	u->len[WS_UP_PATH] = (uint16_t)target_len;
	u->flags |= WS_UP_F_REQUEST_LINE;
	return 0;
}

/* Remembers the first value of the header in slot @i. */
static void keep_first(struct ws_upgrade *u, int i, uint32_t flag, size_t off, size_t len)
{
	if (u->flags & flag)
		return;
	u->flags |= flag;
	u->off[i] = (uint16_t)off;
	u->len[i] = (uint16_t)len;
}

/* One header line @buf[@start, @start+@n). Returns 0 or an error. */
static int header(struct ws_upgrade *u, const char *buf, size_t start, size_t n)
{
	const char *s = buf + start, *colon = memchr(s, ':', n), *v;
	size_t name_len, vn;

	if (s[0] == ' ' || s[0] == '\t')
		return WS_UP_ERR_BAD_REQUEST; /* obsolete line folding: refused */
	if (!colon)
		return WS_UP_ERR_BAD_REQUEST;
	name_len = (size_t)(colon - s);
	if (name_len == 0)
		return 0; /* Go skips a line with an empty name */
	for (size_t i = 0; i < name_len; i++)
		if (!ws_up_tchar((unsigned char)s[i]))
			u->flags |= WS_UP_F_BAD_NAME;
	vn = n - name_len - 1;
	v = trim(colon + 1, &vn);
	for (size_t i = 0; i < vn; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			u->flags |= WS_UP_F_BAD_VALUE;
	size_t off = (size_t)(v - buf);
	if (ws_up_ieq(s, name_len, "host")) {
		if (u->flags & WS_UP_F_HOST)
			u->flags |= WS_UP_F_HOST_TWICE;
		keep_first(u, WS_UP_HOST, WS_UP_F_HOST, off, vn);
	} else if (ws_up_ieq(s, name_len, "upgrade")) {
		if (list_has(v, vn, ',', "websocket"))
			u->flags |= WS_UP_F_UPGRADE;
	} else if (ws_up_ieq(s, name_len, "connection")) {
		if (list_has(v, vn, ',', "upgrade"))
			u->flags |= WS_UP_F_CONNECTION;
	} else if (ws_up_ieq(s, name_len, "sec-websocket-version")) {
		if (list_has(v, vn, ',', "13"))
			u->flags |= WS_UP_F_VERSION;
	} else if (ws_up_ieq(s, name_len, "sec-websocket-key")) {
		keep_first(u, WS_UP_KEY, WS_UP_F_KEY, off, vn);
	} else if (ws_up_ieq(s, name_len, "sec-websocket-extensions")) {
		read_extensions(u, v, vn);
	} else if (ws_up_ieq(s, name_len, "origin")) {
		keep_first(u, WS_UP_ORIGIN, WS_UP_F_ORIGIN, off, vn);
	} else if (ws_up_ieq(s, name_len, "sec-websocket-origin")) {
		keep_first(u, WS_UP_WS_ORIGIN, WS_UP_F_WS_ORIGIN, off, vn);
	} else if (ws_up_ieq(s, name_len, "user-agent")) {
		keep_first(u, WS_UP_USER_AGENT, WS_UP_F_USER_AGENT, off, vn);
	}
	return 0;
}

/* Go's httpguts.ValidHostHeader. */
static bool host_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr("!$%&'()*+,-.:;=[]_~", c))))
			return false;
	}
	return true;
}

static struct ws_span span_at(const struct ws_upgrade *u, const char *buf, int i)
{
	return (struct ws_span){buf + u->off[i], u->len[i]};
}

/* The blank line came: Go's checks of the whole request, then nats-server's. */
static int finish(struct ws_upgrade *u, const char *buf)
{
	uint32_t f = u->flags;

	if (f & WS_UP_F_BAD_VERSION)
		return WS_UP_ERR_HTTP_VERSION;
	if (!(f & WS_UP_F_HOST) && u->http_minor >= 1)
		return WS_UP_ERR_HOST_HEADER;
	if (f & WS_UP_F_HOST_TWICE)
		return WS_UP_ERR_BAD_REQUEST;
	if (!host_valid(buf + u->off[WS_UP_HOST], u->len[WS_UP_HOST]))
		return WS_UP_ERR_HOST_HEADER;
	if (f & WS_UP_F_BAD_NAME)
		return WS_UP_ERR_HEADER_NAME;
	if (f & WS_UP_F_BAD_VALUE)
		return WS_UP_ERR_HEADER_VALUE;
	if (!(f & WS_UP_F_GET))
		return WS_UP_ERR_METHOD;
	if (u->len[WS_UP_HOST] == 0)
		return WS_UP_ERR_HOST;
	if (!(f & WS_UP_F_UPGRADE))
		return WS_UP_ERR_UPGRADE;
	if (!(f & WS_UP_F_CONNECTION))
		return WS_UP_ERR_CONNECTION;
	if (u->len[WS_UP_KEY] == 0)
		return WS_UP_ERR_KEY;
	if (!(f & WS_UP_F_VERSION))
		return WS_UP_ERR_VERSION;
	u->path = span_at(u, buf, WS_UP_PATH);
	u->host = span_at(u, buf, WS_UP_HOST);
	u->key = span_at(u, buf, WS_UP_KEY);
	/* nats-server: Origin, or Sec-WebSocket-Origin when Origin is empty */
	u->origin = span_at(u, buf, u->len[WS_UP_ORIGIN] ? WS_UP_ORIGIN : WS_UP_WS_ORIGIN);
	u->user_agent = span_at(u, buf, WS_UP_USER_AGENT);
	u->flags |= WS_UP_F_DONE;
	return (int)u->pos;
}

int ws_upgrade_parse(struct ws_upgrade *u, const char *buf, size_t len)
{
	size_t lim = len < WS_UPGRADE_MAX_REQUEST ? len : WS_UPGRADE_MAX_REQUEST;

	if (u->flags & WS_UP_F_DONE)
		return (int)u->pos;
	while (u->pos < lim) {
		const char *nl = memchr(buf + u->pos, '\n', lim - u->pos);
		size_t start = u->pos, n;
		int rc;

		if (!nl)
			break;
		n = (size_t)(nl - (buf + start));
		u->pos = (uint32_t)(start + n + 1);
		if (n && buf[start + n - 1] == '\r')
			n--; /* a bare \n ends a line too, as in Go */
		if (!(u->flags & WS_UP_F_REQUEST_LINE))
			rc = request_line(u, buf + start, n);
		else if (n == 0)
			return finish(u, buf);
		else
			rc = header(u, buf, start, n);
		if (rc < 0)
			return rc;
	}
	return len >= WS_UPGRADE_MAX_REQUEST ? WS_UP_ERR_TOO_LARGE : 0;
}
