/* Private to io/ws: what the upgrade parser keeps in struct ws_upgrade's
 * private fields, and the small text helpers ws_origin.c shares. */
#ifndef IO_WS_WS_UPGRADE_INT_H
#define IO_WS_WS_UPGRADE_INT_H

#include <stdbool.h>
#include <stddef.h>

/* Slots of struct ws_upgrade's off[] and len[]. */
enum {
	WS_UP_PATH = 0,
	WS_UP_HOST,
	WS_UP_KEY,
	WS_UP_ORIGIN,
	WS_UP_WS_ORIGIN, /* Sec-WebSocket-Origin */
	WS_UP_USER_AGENT,
};

/* Bits of struct ws_upgrade's flags. */
enum {
	WS_UP_F_REQUEST_LINE = 1u << 0,
	WS_UP_F_GET = 1u << 1,
	WS_UP_F_BAD_VERSION = 1u << 2, /* HTTP/<major other than 1> */
	WS_UP_F_HOST = 1u << 3,
	WS_UP_F_HOST_TWICE = 1u << 4,
	WS_UP_F_UPGRADE = 1u << 5,    /* Upgrade has the token websocket */
	WS_UP_F_CONNECTION = 1u << 6, /* Connection has the token upgrade */
	WS_UP_F_VERSION = 1u << 7,    /* Sec-WebSocket-Version has the token 13 */
	WS_UP_F_KEY = 1u << 8,
	WS_UP_F_ORIGIN = 1u << 9,
	WS_UP_F_WS_ORIGIN = 1u << 10,
	WS_UP_F_USER_AGENT = 1u << 11,
	WS_UP_F_BAD_NAME = 1u << 12,  /* a header name that is not a token */
	WS_UP_F_BAD_VALUE = 1u << 13, /* a header value with a control character */
	WS_UP_F_DONE = 1u << 14,
};

/* True when @c may be in an HTTP token (RFC 7230 tchar). */
bool ws_up_tchar(unsigned char c);

/* True when @a/@n equals the NUL-terminated @b, ignoring ASCII case. */
bool ws_up_ieq(const char *a, size_t n, const char *b);

#endif /* IO_WS_WS_UPGRADE_INT_H */
