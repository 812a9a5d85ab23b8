/* What the server's files share: router/server.c (assembly, threads),
 * router/server_gen.c (generations of the reloadable settings),
 * router/server_reload.c (SIGHUP) and router/server_main.c (the main
 * thread's loop: signals, lame duck mode, the graceful stop). Private to
 * them. Everything here runs on the main thread unless it says otherwise. */
#ifndef ROUTER_SERVER_INT_H
#define ROUTER_SERVER_INT_H

#include <stdbool.h>

#include "core/compiler.h"
#include "router/server.h"

struct admission;
struct live;
struct acc_table;

/* The first generation, from server_new(). Takes @adm and @lv. Returns 0 or
 * -ENOMEM (then frees both). */
RB_MUST_CHECK int server_gen_init(struct server *s, struct admission *adm, struct live *lv);

/* Puts @adm and @lv (taken) in force; the replaced generation is retired. */
void server_gen_swap(struct server *s, struct admission *adm, struct live *lv);

/* Frees the retired generations no thread can still see: every I/O thread
 * and worker passed a quiescent state since they were replaced, and none
 * is held. Returns true when some remain (then the threads are woken so
 * they pass one soon). */
bool server_gen_reap(struct server *s);

/* Frees every generation (the threads are gone). */
void server_gen_fini(struct server *s);

/* The reloadable settings of @c (its accounts numbered as in @prev, the
 * ones in force; NULL at start), or NULL when out of memory or a user
 * entry is invalid (logged). */
struct live *server_live_new(const struct config *c, const struct acc_table *prev);
void server_live_free(struct live *lv);

/* SIGHUP: reads the configuration again (the same flags, the file, the
 * flags) and puts what may change in force, or nothing at all. */
void server_reload(struct server *s);

/* The main thread from "ready" to the end: signals, lame duck mode, the
 * graceful stop, and malloc_trim between them. Returns when the server
 * should stop (its threads still run). */
void server_main_loop(struct server *s);

/* Writes the eventfd of every I/O thread and worker (any thread). */
void server_wake_all(struct server *s);

/* A listening socket on host:@port; 0 and *@out, or -errno after logging. */
int server_listen(const char *host, int port, int *out);
/* The port a listening socket got. */
int server_bound_port(int fd);

#endif /* ROUTER_SERVER_INT_H */
