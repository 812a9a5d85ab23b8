/* What the suites that run several servers at once share (test_cluster.c,
 * test_cluster_faults.c, test_leaf.c): libnats clients that the teardown
 * closes, and waiting until interest has crossed between servers. */
#ifndef TESTS_INTEGRATION_MULTI_H
#define TESTS_INTEGRATION_MULTI_H

#include <nats/nats.h>
#include <stdbool.h>

#include "tests/integration/harness.h"

/* A client of @url, logged in as @user with the same password when not
 * NULL (5 s timeout, no reconnect); asserts it connected. Closed by
 * multi_close_all(). */
natsConnection *multi_connect(const char *url, const char *user);

/* The same, logged in with the credentials file @creds (a user JWT and
 * seed: a server in operator mode). */
natsConnection *multi_connect_creds(const char *url, const char *creds);

/* Destroys every client multi_connect() made, newest first. */
void multi_close_all(void);

/* Publishes on @subject from @pub until a message reaches @sub (interest
 * crossed the route or leaf connection), within @wait_ms; then drains the
 * probes. Fails the test on time out. */
void multi_await(natsConnection *pub, natsSubscription *sub, const char *subject, int wait_ms);

/* A client of @to_url subscribes to @subject; once a client of @from_url
 * reaches it (multi_await), one message crosses. Fails the test otherwise. */
void multi_check_crosses(const char *from_url, const char *to_url, const char *subject,
                         int wait_ms);

/* A libnats handler that answers each request with "re:<its data>". */
void multi_on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);

/* A hub and leaf suite's teardown: closes the clients, stops @leaf (a
 * teardown failure on stderr when it does not stop cleanly) and @hub, and
 * removes the directory @dir unless it is "". True when the leaf stopped
 * cleanly. */
bool multi_stop_hub_leaf(struct harness_server *hub, struct harness_server *leaf, const char *dir);

#endif /* TESTS_INTEGRATION_MULTI_H */
