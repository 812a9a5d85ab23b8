/* The opening of a load-generator connection, shared by ringbus-load and
 * ringbus-load-blocking: the CONNECT line, and what a -ERR means to the user. */
#ifndef TOOLS_LOAD_HELLO_H
#define TOOLS_LOAD_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "io/proto/proto.h"
#include "tools/load/flags.h"

/* "CONNECT {...}\r\nPING\r\n" for client @name with @url's credentials
 * (verbose off, echo on, no headers). Returns it owned (heap, free()) with its
 * length in *@len, or NULL when out of memory. */
RB_MUST_CHECK char *hello_connect_line(const struct load_url *url, const char *name, uint32_t *len);

/* Writes into @dst the message for a -ERR carrying @text: a refused
 * authorization (before the connection was ready, @ready false) names the
 * --url part to check; any other says the server will close. */
void hello_err_message(char *dst, size_t cap, struct proto_span text, bool ready);

#endif /* TOOLS_LOAD_HELLO_H */
