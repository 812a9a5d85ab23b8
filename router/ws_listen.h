/* The WebSocket listener (websocket { } in the configuration): a thread of
 * its own that accepts sockets and hands each, round robin, to an I/O
 * thread (io_loop_adopt with CLIENT_ADOPT_WS), where router/wsconn.c reads
 * the upgrade. With websocket { tls { } } (wss://) each socket goes
 * through a TLS service of its own first (io/tls: no INFO before the
 * handshake), which adopts it once the handshake is done. docs/WEBSOCKET.md.
 *
 * Owner: the main thread creates, starts, stops and frees it; the thread
 * reads the server's read-only fields and its phase. */
#ifndef ROUTER_WS_LISTEN_H
#define ROUTER_WS_LISTEN_H

struct server;

/* Binds the listener when the configuration has one (s->ws stays NULL
 * otherwise). Returns 0 or -errno after logging. */
int ws_listen_new(struct server *s);

/* Starts accepting. Returns 0 or -errno. */
int ws_listen_start(struct server *s);

/* Stops the thread (no more sockets are adopted after it returns). */
void ws_listen_stop(struct server *s);

/* Stops the wss:// TLS service, if any: after it returns no connection is
 * handed to an I/O thread. Idempotent, any thread (each I/O thread calls it
 * before freeing its loop). */
void ws_listen_stop_tls(struct server *s);

/* Stops and frees it; NULL s->ws: nothing. */
void ws_listen_free(struct server *s);

/* The port bound, 0 without a listener. */
int ws_listen_port(const struct server *s);

#endif /* ROUTER_WS_LISTEN_H */
