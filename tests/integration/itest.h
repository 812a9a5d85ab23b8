/* Criterion glue for the integration tests: the server of the current test,
 * raw connections and libnats objects released at the end of each test. */
#ifndef TESTS_INTEGRATION_ITEST_H
#define TESTS_INTEGRATION_ITEST_H

#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <string.h>

#include "tests/integration/harness.h"
#include "tests/integration/raw.h"

/* CONNECT JSON of a plain raw client: no +OK, no pedantic checks. */
#define ITEST_QUIET "{\"verbose\":false,\"pedantic\":false}"
/* Same, declaring header support. */
#define ITEST_QUIET_HEADERS "{\"verbose\":false,\"pedantic\":false,\"headers\":true}"

/* The server of the running test (each test runs in its own process). */
extern struct harness_server itest_srv;

/* Starts itest_srv with opts (borrowed, may be NULL); fails the test if it
 * cannot. */
void itest_start(const struct harness_opts *opts);

/* Starts itest_srv with monitoring (-m) on a free port, then @args
 * (NULL-terminated, at most 8; may be NULL) and @config (may be NULL),
 * retried when the port is lost to a race; fails the test if it cannot.
 * Returns the monitoring port (the caller waits for it to listen). */
uint16_t itest_start_monitored(const char *const *args, const char *config);

/* Criterion .init: starts itest_srv with no extra arguments. */
void itest_setup(void);

/* Criterion .fini: destroys the tracked libnats objects, closes libnats,
 * stops itest_srv and fails the test if the server did not exit cleanly. */
void itest_teardown(void);

/* A new directory /tmp/ringbus-@name-XXXXXX (its path into @dir, @cap
 * bytes, at least 64) holding tls_certs.sh's CA and certificates; asserts.
 * itest_certs_remove() deletes it (nothing when @dir is empty). */
void itest_certs_make(char *dir, size_t cap, const char *name);
void itest_certs_remove(const char *dir);

/* Connects a raw client to itest_srv and completes the handshake with
 * connect_json (borrowed); asserts success. Returns the connection, owned by
 * the caller (raw_close). */
struct raw_conn *itest_raw(const char *connect_json);

/* Connects a raw client without reading anything; asserts success. Owned by
 * the caller. */
struct raw_conn *itest_raw_open(void);

/* Connects libnats to itest_srv with opts (borrowed; NULL for defaults; URL,
 * timeouts and no-reconnect are set on a copy). Asserts success. The
 * connection is owned by the harness and destroyed at teardown. */
natsConnection *itest_nats(natsOptions *opts);

/* Creates a synchronous (queue, when queue is not NULL) subscription on nc
 * and flushes it to the server; asserts success. Owned by the harness. */
natsSubscription *itest_sub(natsConnection *nc, const char *subject, const char *queue);

/* Hands a subscription made by the test to the harness for teardown. */
void itest_track_sub(natsSubscription *sub);

/* Asserts that a raw helper returned 0, showing what the server sent. */
#define ITEST_RAW_OK(c, expr)                                                                      \
	do {                                                                                       \
		long itest_r_ = (long)(expr);                                                      \
		cr_assert(itest_r_ >= 0, "%s failed (%s): %s", #expr, strerror((int)-itest_r_),    \
		          raw_why(c));                                                             \
	} while (0)

/* Asserts that the next bytes on c are the string s. */
#define ITEST_EXPECT(c, s) ITEST_RAW_OK(c, raw_expect_str((c), (s)))

/* Sends the string s on c, asserting success. */
#define ITEST_SEND(c, s) ITEST_RAW_OK(c, raw_send_str((c), (s)))

/* Asserts that a libnats call returned NATS_OK. */
#define ITEST_NATS_OK(expr)                                                                        \
	do {                                                                                       \
		natsStatus itest_s_ = (expr);                                                      \
		cr_assert_eq(itest_s_, NATS_OK, "%s: %s", #expr, natsStatus_GetText(itest_s_));    \
	} while (0)

#endif
