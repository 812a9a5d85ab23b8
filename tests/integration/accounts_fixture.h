/* What the accounts suites share (test_accounts.c, test_accounts_services.c):
 * one configuration of accounts, the same for both servers, and raw clients
 * logged in as its users. */
#ifndef TESTS_INTEGRATION_ACCOUNTS_FIXTURE_H
#define TESTS_INTEGRATION_ACCOUNTS_FIXTURE_H

#include <stddef.h>

#include "tests/integration/itest.h"

#define WAIT_MS 5000
/* Enough subjects to spread over ringbus's shards. */
#define N_SUBJECTS 64

/* With a user outside the accounts: it lands in `$G`. */
extern const char accounts_conf[];
/* A client without credentials is user a, in A. */
extern const char accounts_no_auth_conf[];

void start(const char *text);
/* A raw client logged in as @user with password @user (every user's
 * password is its name). Owned by the caller. */
struct raw_conn *login(const char *user);
/* Sends @ops then PING and waits for the PONG, so that what @ops asked for
 * (SUBs, PUBs) is in force; fails the test if anything else comes first. */
void roundtrip(struct raw_conn *c, const char *ops);
/* Reads messages on @c until one on @sentinel arrives; every message before
 * it is appended to @seen as "[subject sid payload]" ("" when none). Returns
 * the sentinel's payload in @payload (caller storage, may be NULL). */
void collect(struct raw_conn *c, const char *sentinel, char *seen, size_t cap, char *payload,
             size_t payload_cap);
/* Expects the next message on @c to be on @sentinel with nothing before it. */
void expect_first(struct raw_conn *c, const char *sentinel, const char *why);

#endif /* TESTS_INTEGRATION_ACCOUNTS_FIXTURE_H */
