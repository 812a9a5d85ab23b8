/* A WebSocket client on its I/O thread: the HTTP upgrade, then frames
 * decoded into the client's parser and the output sent framed by the loop
 * (io_conn_set_framed). The client itself is a client like any other
 * (router/client.c); this is a thin layer in front of its on_data.
 * docs/WEBSOCKET.md.
 *
 * Owner: the I/O thread of the connection. */
#ifndef ROUTER_WSCONN_H
#define ROUTER_WSCONN_H

#include <stddef.h>
#include <stdint.h>

struct io_conn;
struct client;
struct wsconn;

/* on_open for a socket of the WebSocket listener: the client record, no
 * INFO yet (it follows the 101). Returns 0 or -errno (the loop then closes
 * the socket). */
int wsconn_open(void *ctx, struct io_conn *c);

/* on_data of a WebSocket client: the upgrade request, then frames. */
void wsconn_on_data(void *ctx, struct io_conn *c, const char *data, size_t len);

/* The handshake timeout, for each connection of the thread (about once a
 * second). */
void wsconn_tick(struct io_conn *c, uint64_t now);

/* The server closes @c (its client @cl, with a WebSocket): the close frame
 * nats-server sends for the -ERR it was closed with goes after the output.
 * Call from on_close, before the client is freed. */
void wsconn_closing(struct client *cl, struct io_conn *c);

/* Frees @w (NULL: nothing), once its client is closed. */
void wsconn_free(struct wsconn *w);

#endif /* ROUTER_WSCONN_H */
