/* A real io/loop on its own thread, listening on a loopback port, for the
 * tests of io/loop (test_loop_ref, test_loop_lend). */
#ifndef TESTS_IO_LOOP_THREAD_H
#define TESTS_IO_LOOP_THREAD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/wake.h"
#include "io/loop/loop.h"

struct loop_thread {
	struct io_loop_config cfg; /* filled by loop_thread_start() from its arguments */
	struct sockaddr_in addr;   /* where it listens */
	struct wake wk;
	atomic_bool stop;
	atomic_int ready; /* 1 created, -1 failed */
	pthread_t th;
};

/* io_ops members the tests share: a connection's user is itself; nothing
 * to poll and no work waiting. */
int loop_thread_on_open(void *ctx, struct io_conn *c);
bool loop_thread_idle(void *ctx);

/* Listens on a free loopback port and runs a loop with @ops, @nbufs
 * provided buffers of @buf_size bytes and @linger_ms for closing
 * connections. Returns 0 once the loop runs, -1 when it could not start. */
int loop_thread_start(struct loop_thread *t, const struct io_ops *ops, uint32_t nbufs,
                      uint32_t buf_size, uint32_t linger_ms);

/* A blocking client socket connected to it (with a receive buffer of
 * @rcvbuf bytes, 0: the default), or -1. */
int loop_thread_connect(const struct loop_thread *t, int rcvbuf);

/* Stops the loop, frees it and closes the listener; returns what
 * io_loop_run() returned. */
int loop_thread_stop(struct loop_thread *t);

#endif
