/* The opening of a load-generator connection, shared by ringbus-load and
 * ringbus-load-blocking: the servers dialled, the CONNECT line, and what a
 * -ERR means to the user. */
#ifndef TOOLS_LOAD_HELLO_H
#define TOOLS_LOAD_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "io/proto/proto.h"
#include "tools/load/flags.h"

/* "CONNECT {...}\r\nPING\r\n" for client @name with @url's credentials
 * (verbose off, echo on, no headers). Returns it owned (heap, free()) with its
 * length in *@len, or NULL when out of memory. */
RB_MUST_CHECK char *hello_connect_line(const struct load_url *url, const char *name, uint32_t *len);

/* A server the connections dial: --url (the first target: publishers, and
 * subscribers without --sub-url) or one of --sub-url. Owner: the main
 * thread; read-only once the connections' threads run. */
struct hello_target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *connect_line; /* hello_connect_line() with this URL's credentials, heap */
	uint32_t connect_len;
	const char *shown; /* the URL as printed, borrowed from the configuration */
	char ws_host[300]; /* ws://: the upgrade's Host ("host:port"); "": plain NATS */
};

#define HELLO_MAX_TARGETS (1u + LOAD_MAX_SUB_URLS)

/* Resolves --url and every --sub-url of @cfg into @t[0..*@n-1] and builds
 * their CONNECT lines for client @name. Returns 0, -EINVAL (a host that does
 * not resolve: the reason in @err) or -ENOMEM. hello_targets_fini() frees
 * what was built, also after a failure. */
RB_MUST_CHECK int hello_targets_init(struct hello_target *t, uint32_t *n,
                                     const struct load_config *cfg, const char *name, char *err,
                                     size_t cap);
void hello_targets_fini(struct hello_target *t, uint32_t n);

/* The target subscriber @s dials. */
static inline const struct hello_target *hello_sub_target(const struct hello_target *t,
                                                          const struct load_config *cfg, uint32_t s)
{
	int i = load_sub_endpoint(cfg, s);
	return &t[i < 0 ? 0 : 1 + i];
}

/* Writes into @dst the message for a -ERR carrying @text: a refused
 * authorization (before the connection was ready, @ready false) names the
 * --url part to check; any other says the server will close. */
void hello_err_message(char *dst, size_t cap, struct proto_span text, bool ready);

#endif /* TOOLS_LOAD_HELLO_H */
