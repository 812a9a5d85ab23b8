/* TLS for the router's clients: starts io/tls's service when the
 * configuration asks for TLS, gives it the sockets the I/O threads accept,
 * and takes back the connections whose handshake is done. */
#ifndef ROUTER_TLS_GLUE_H
#define ROUTER_TLS_GLUE_H

#include <stdbool.h>

#include "core/compiler.h"

struct server;
struct config;

/* When s->cfg.tls: loads the files and starts the service into s->tls.
 * Call before the I/O threads start. Returns 0 (also without TLS) or -errno
 * after logging why. */
RB_MUST_CHECK int tls_glue_start(struct server *s);

/* Loads @c's TLS files and settings and puts them in force for the
 * handshakes that start from now on (SIGHUP; the connections open keep
 * theirs). Returns 0 (also without TLS) or -errno after logging why; then
 * nothing changed. */
RB_MUST_CHECK int tls_glue_reload(struct server *s, const struct config *c);

/* io_loop_config.on_accept_fd for an I/O thread (@ctx is its struct iothr):
 * takes every accepted socket for the TLS handshake. */
bool tls_glue_on_accept(void *ctx, int fd);

/* Stops the service: after it returns no connection is handed to any I/O
 * thread. Idempotent, any thread (each I/O thread calls it before freeing
 * its loop). */
void tls_glue_stop(struct server *s);

/* Stops and frees the service (s->tls becomes NULL). */
void tls_glue_free(struct server *s);

#endif /* ROUTER_TLS_GLUE_H */
