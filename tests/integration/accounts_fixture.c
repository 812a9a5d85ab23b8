/* The accounts configuration and the raw clients of the accounts suites
 * (accounts_fixture.h). */
#include <stdio.h>
#include <string.h>

#include "tests/integration/accounts_fixture.h"

/* The accounts of every test but the start-up errors: A exports news.> and
 * help.> to all, priv.> to B only; B imports news.> under "fromA", priv.x,
 * and help.> as ask.>; C imports news.sports as "sports". */
#define ACCOUNTS                                                                                   \
	"accounts {\n"                                                                             \
	"  A: { users: [{user: a, password: a}, {user: a2, password: a2}]\n"                       \
	"       exports: [{stream: \"news.>\"}, {service: \"help.>\"},\n"                          \
	"                 {stream: \"priv.>\", accounts: [B]}] }\n"                                \
	"  B: { users: [{user: b, password: b},\n"                                                 \
	"               {user: bp, password: bp, permissions: {publish: \"ask.>\"}}]\n"            \
	"       imports: [{stream: {account: A, subject: \"news.>\"}, prefix: \"fromA\"}\n"        \
	"                 {stream: {account: A, subject: \"priv.x\"}}\n"                           \
	"                 {service: {account: A, subject: \"help.>\"}, to: \"ask.>\"}] }\n"        \
	"  C: { users: [{user: c, password: c}]\n"                                                 \
	"       imports: [{stream: {account: A, subject: \"news.sports\"}, to: \"sports\"}] }\n"   \
	"  SYS: { users: [{user: sys, password: sys}] }\n"                                         \
	"}\n"                                                                                      \
	"system_account: SYS\n"

/* With a user outside the accounts: it lands in `$G`. */
const char accounts_conf[] = ACCOUNTS "authorization { users: [{user: g, password: g}] }\n";
/* A client without credentials is user a, in A. */
const char accounts_no_auth_conf[] = ACCOUNTS "no_auth_user: a\n";

void start(const char *text)
{
	struct harness_opts opts = {.config = text};
	itest_start(&opts);
}

/* A raw client logged in as @user with password @user (every user's
 * password is its name). Owned by the caller. */
struct raw_conn *login(const char *user)
{
	char json[160];
	snprintf(json, sizeof json,
	         "{\"verbose\":false,\"pedantic\":false,\"user\":\"%s\",\"pass\":\"%s\"}", user,
	         user);
	return itest_raw(json);
}

/* Sends @ops then PING and waits for the PONG, so that what @ops asked for
 * (SUBs, PUBs) is in force; fails the test if anything else comes first. */
void roundtrip(struct raw_conn *c, const char *ops)
{
	ITEST_SEND(c, ops);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
}

/* Reads messages on @c until one on @sentinel arrives; every message before
 * it is appended to @seen as "[subject sid payload]" ("" when none). Returns
 * the sentinel's payload in @payload (caller storage, may be NULL). */
void collect(struct raw_conn *c, const char *sentinel, char *seen, size_t cap, char *payload,
             size_t payload_cap)
{
	seen[0] = '\0';
	for (;;) {
		struct raw_msg m;
		ITEST_RAW_OK(c, raw_read_msg(c, &m, WAIT_MS));
		if (!strcmp(m.subject, sentinel)) {
			if (payload)
				snprintf(payload, payload_cap, "%s", m.data);
			raw_msg_fini(&m);
			return;
		}
		size_t n = strlen(seen);
		snprintf(seen + n, cap - n, "[%s %s %.40s]", m.subject, m.sid, m.data);
		raw_msg_fini(&m);
	}
}

/* Expects the next message on @c to be on @sentinel with nothing before it. */
void expect_first(struct raw_conn *c, const char *sentinel, const char *why)
{
	char seen[1024];
	collect(c, sentinel, seen, sizeof seen, NULL, 0);
	cr_expect_str_eq(seen, "", "%s: %s came before %s", why, seen, sentinel);
}

/* ---- isolation ---- */
