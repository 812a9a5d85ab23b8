/* The client protocol on an I/O thread, as the rest of the server sees it:
 * the loop callbacks, connection ids and the INFO line. The per-connection
 * state itself is private to the client files (router/client_int.h). */
#ifndef ROUTER_CLIENT_H
#define ROUTER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct live;

/* The adopt tag of a WebSocket client (router/ws_listen.c): this bit and
 * its connection id; other adopted clients (TLS) have their id as tag. */
#define CLIENT_ADOPT_WS ((uint64_t)1 << 60)

/* A new connection id (any thread). */
uint64_t client_new_cid(void);

/* Writes the INFO line for a client with id @cid at @peer_ip (borrowed) into
 * @buf (@cap bytes), with the settings @lv (borrowed: the caller keeps its
 * generation alive) and "ldm":true when @ldm; any thread. Returns its
 * length, 0 when it does not fit. */
size_t client_info(struct server *s, const struct live *lv, uint64_t cid, const char *peer_ip,
                   bool ldm, char *buf, size_t cap);
/* As client_info, for a WebSocket client: its own auth_required (websocket
 * { authorization { } no_auth_user }). */
size_t client_info_ws(struct server *s, const struct live *lv, uint64_t cid, const char *peer_ip,
                      char *buf, size_t cap);

#endif /* ROUTER_CLIENT_H */
