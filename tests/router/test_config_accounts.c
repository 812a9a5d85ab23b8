/* accounts { } and system_account: the block read into struct config (its
 * users into c->users with their account), nats-server's error texts (each
 * checked against nats-server 2.9.10 -t), the checks that need the whole
 * file, and what a reload may change. Run under ASan, these also check that
 * config_fini() releases all of it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "router/perm.h"
#include "tests/router/config_util.h"

#define NKEY "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK"

static const char full[] =
    "authorization { users: [{user: g, password: g}] }\n"
    "accounts {\n"
    "  A: { users: [{user: a, password: a}, {nkey: " NKEY "}]\n"
    "       exports: [{stream: \"news.>\"}, {service: \"help.>\"},\n"
    "                 {stream: \"priv.>\", accounts: [B]}] }\n"
    "  B: { users: [{user: b, password: b, permissions: {publish: \"x.>\"}}]\n"
    "       imports: [{stream: {account: A, subject: \"news.>\"}, prefix: \"fromA\"}\n"
    "                 {stream: {account: A, subject: \"news.sports\"}, to: \"sports\"}\n"
    "                 {service: {account: A, subject: \"help.>\"}, to: \"ask.>\"}\n"
    "                 {stream: {account: A, subject: \"priv.x\"}}] }\n"
    "  SYS: { users: [{user: sys, password: sys}] }\n"
    "  E: {}\n"
    "}\n"
    "system_account: SYS\n";

static const struct config_user *user_named(const struct config *c, const char *name)
{
	for (int i = 0; i < c->nusers; i++)
		if (c->users[i].name && !strcmp(c->users[i].name, name))
			return &c->users[i];
	return NULL;
}

static void expect_account(const struct config_user *u, const char *account)
{
	cr_assert_not_null(u);
	if (account)
		cr_expect_str_eq(u->account, account, "user %s", u->name ? u->name : u->nkey);
	else
		cr_expect_null(u->account, "user %s", u->name);
}

Test(config_accounts, a_full_block_is_read_into_the_settings)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, full), 0, "%s", cfgt_reports[0]);
	cr_assert_eq(config_validate(&c), 0, "%s", cfgt_reports[0]);
	cr_expect_eq(c.warnings, 0, "%s", cfgt_reports[0]);
	cr_assert_eq(c.naccounts, 4);
	cr_expect_str_eq(c.accounts[0].name, "A");
	cr_expect_str_eq(c.accounts[1].name, "B");
	cr_expect_str_eq(c.accounts[2].name, "SYS");
	cr_expect_str_eq(c.accounts[3].name, "E");
	cr_expect_str_eq(c.system_account, "SYS");

	const struct config_account *a = &c.accounts[0], *b = &c.accounts[1];
	cr_assert_eq(a->nexports, 3);
	cr_expect_str_eq(a->exports[0].subject, "news.>");
	cr_expect(!a->exports[0].service && a->exports[0].accounts.n == 0);
	cr_expect_str_eq(a->exports[1].subject, "help.>");
	cr_expect(a->exports[1].service);
	cr_assert_eq(a->exports[2].accounts.n, 1);
	cr_expect_str_eq(a->exports[2].accounts.v[0], "B");
	cr_expect_eq(a->nimports, 0);

	cr_assert_eq(b->nimports, 4);
	const struct config_import *im = b->imports;
	cr_expect(!im[0].service);
	cr_expect_str_eq(im[0].account, "A");
	cr_expect_str_eq(im[0].subject, "news.>");
	cr_expect_str_eq(im[0].prefix, "fromA");
	cr_expect_null(im[0].to);
	cr_expect_str_eq(im[1].to, "sports");
	cr_expect_null(im[1].prefix);
	cr_expect(im[2].service);
	cr_expect_str_eq(im[2].subject, "help.>");
	cr_expect_str_eq(im[2].to, "ask.>");
	cr_expect(!im[3].service && !im[3].to && !im[3].prefix);

	/* the users of $G and of each account, in one list */
	cr_expect_eq(c.nusers, 5);
	expect_account(user_named(&c, "g"), NULL);
	expect_account(user_named(&c, "a"), "A");
	expect_account(user_named(&c, "b"), "B");
	expect_account(user_named(&c, "sys"), "SYS");
	cr_expect_not_null(user_named(&c, "b")->perms);
	bool nkey = false;
	for (int i = 0; i < c.nusers; i++)
		if (c.users[i].nkey) {
			nkey = true;
			cr_expect_str_eq(c.users[i].nkey, NKEY);
			cr_expect_str_eq(c.users[i].account, "A");
		}
	cr_expect(nkey);
	config_fini(&c);
}

Test(config_accounts, authorization_after_accounts_keeps_the_accounts_users)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "accounts { A: { users: [{user: a, password: a}] } }\n"
	                           "authorization { users: [{user: g, password: g}] }\n"
	                           "no_auth_user: a\n"),
	             0, "%s", cfgt_reports[0]);
	cr_assert_eq(config_validate(&c), 0, "%s", cfgt_reports[0]);
	cr_expect_eq(c.nusers, 2);
	expect_account(user_named(&c, "a"), "A");
	expect_account(user_named(&c, "g"), NULL);
	config_fini(&c);
}

Test(config_accounts, the_short_forms_are_read)
{
	struct config c;
	/* a list of names; system instead of system_account (which wins) */
	cr_assert_eq(cfgt_load(&c, "accounts: [A, B]\nsystem_account: B\nsystem: A\n"), 0, "%s",
	             cfgt_reports[0]);
	cr_assert_eq(c.naccounts, 2);
	cr_expect_str_eq(c.accounts[1].name, "B");
	cr_expect_str_eq(c.system_account, "B");
	cr_expect_eq(config_validate(&c), 0, "%s", cfgt_reports[0]);
	config_fini(&c);
	/* names are case-sensitive, the last of one spelling counts */
	cr_assert_eq(cfgt_load(&c, "accounts { A: {}, a: {}, A: { users: [{user: x, "
	                           "password: y}] } }\nsystem: a\n"),
	             0, "%s", cfgt_reports[0]);
	cr_assert_eq(c.naccounts, 2);
	cr_expect_str_eq(c.accounts[0].name, "a");
	cr_expect_str_eq(c.accounts[1].name, "A");
	expect_account(user_named(&c, "x"), "A");
	cr_expect_str_eq(c.system_account, "a");
	config_fini(&c);
}

Test(config_accounts, default_permissions_go_to_the_accounts_users_without_their_own)
{
	struct config c;
	cr_assert_eq(
	    cfgt_load(&c, "accounts { A: { default_permissions: {publish: \"d.>\"}\n"
	                  "  users: [{user: a, password: a},\n"
	                  "          {user: o, password: o, permissions: {publish: o}}] } }\n"),
	    0, "%s", cfgt_reports[0]);
	const struct config_user *a = user_named(&c, "a"), *o = user_named(&c, "o");
	cr_assert(a && a->perms && o && o->perms);
	cr_expect(perm_can_publish(a->perms, "d.x", 3));
	cr_expect(!perm_can_publish(a->perms, "o", 1));
	cr_expect(perm_can_publish(o->perms, "o", 1));
	cr_expect(!perm_can_publish(o->perms, "d.x", 3));
	config_fini(&c);
}

/* Each line as nats-server 2.9.10 -t prints it for the same file (after
 * "nats-server: FILE:LINE:COL: "). */
static const struct {
	const char *text;
	const char *says;
} refused[] = {
    {"accounts { B: { imports: [{stream: {account: Z, subject: x}}] } }\n",
     "\"Z\" account not defined for stream import"},
    {"accounts { B: { imports: [{service: {account: Z, subject: x}}] } }\n",
     "\"Z\" account not defined for service import"},
    {"accounts { A: { exports: [{stream: \"news.>\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"p.>\"}}] } }\n",
     "Error adding stream import \"p.>\": stream import not authorized"},
    {"accounts { A: { exports: [{service: \"help.>\"}] }\n"
     "  B: { imports: [{service: {account: A, subject: \"p.>\"}}] } }\n",
     "Error adding service import \"p.>\": service import not authorized"},
    /* an import of more than the export */
    {"accounts { A: { exports: [{stream: \"news.sports\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"news.>\"}}] } }\n",
     "Error adding stream import \"news.>\": stream import not authorized"},
    /* a stream export is no service export */
    {"accounts { A: { exports: [{stream: \"x\"}] }\n"
     "  B: { imports: [{service: {account: A, subject: x}}] } }\n",
     "Error adding service import \"x\": service import not authorized"},
    /* an export for B only */
    {"accounts { A: { exports: [{stream: \"priv.>\", accounts: [B]}] }, B: {}\n"
     "  C: { imports: [{stream: {account: A, subject: \"priv.x\"}}] } }\n",
     "Error adding stream import \"priv.x\": stream import not authorized"},
    {"accounts { A: { exports: [{stream: \"x.>\", accounts: [Z]}] } }\n",
     "\"Z\" account not defined for stream export"},
    {"accounts { A: { exports: [{service: \"x.>\", accounts: [\"$G\"]}] } }\n",
     "\"$G\" account not defined for service export"},
    {"accounts { $G: {} }\n", "\"$G\" is a Reserved Account"},
    {"accounts: [A, \"$G\"]\n", "\"$G\" is a Reserved Account"},
    {"accounts: [A, B, A]\n", "Duplicate Account Entry: A"},
    {"accounts { A: 5 }\n", "Expected map entries for accounts"},
    {"accounts { A: { foo: 1 } }\n", "unknown field \"foo\""},
    {"accounts { A: { exports: [{stream: x}] }\n"
     "  B: { imports: [{stream: {account: A, subject: x}, prefix: p, to: q}] } }\n",
     "Stream import can not have a 'prefix' and a 'to' property"},
    {"accounts { A: { exports: [{stream: \"x.>\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"x.>\"}, prefix: \"p.*\"}] } }\n",
     "Error adding stream import \"x.>\": stream import prefix can not contain wildcard tokens"},
    {"accounts { A: { exports: [{stream: \"x.>\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"x.>\"}},\n"
     "                 {stream: {account: A, subject: \"x.>\"}, prefix: q}] } }\n",
     "Error adding stream import \"x.>\": stream import already exists"},
    {"accounts { A: { exports: [{service: \"x.>\"}] }\n"
     "  B: { imports: [{service: {account: A, subject: \"x.>\"}},\n"
     "                 {service: {account: A, subject: \"x.>\"}}] } }\n",
     "Duplicate service import subject \"x.>\", previously used in import for account "
     "\"A\", subject \"x.>\""},
    {"accounts { A: { exports: [{service: \"x.>\"}] }\n"
     "  B: { imports: [{service: {account: A, subject: \"x..y\"}}] } }\n",
     "Error adding service import \"x..y\": sublist: invalid subject"},
    {"accounts { A: { exports: [{stream: \"x.>\"}],\n"
     "                imports: [{stream: {account: B, subject: \"x.>\"}}] }\n"
     "  B: { exports: [{stream: \"x.>\"}],\n"
     "       imports: [{stream: {account: A, subject: \"x.>\"}}] } }\n",
     "Error adding stream import \"x.>\": import forms a cycle"},
    {"accounts { A: { exports: [{stream: \"x.>\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"x.>\"}, to: y}] } }\n",
     "Error adding stream import \"x.>\": failed to create mapping transform for stream "
     "import subject \"x.>\" to \"y\": invalid subject"},
    {"accounts { A: { exports: [{stream: \"x.>\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"x.*.*\"}, to: \"y.*\"}] } }\n",
     "invalid mapping destination: not using all of the token wildcard(s) in y.$1"},
    {"accounts { A: { exports: [{stream: \"x.>\"}] }\n"
     "  B: { imports: [{stream: {account: A, subject: \"x.*\"}, to: \"y.*.*\"}] } }\n",
     "invalid mapping destination: wildcard index out of range in $2: [2]"},
    {"accounts { A: { exports: {stream: x} } }\n",
     "Exports should be an array, got map[string]interface {}"},
    {"accounts { A: { imports: {stream: x} } }\n",
     "Imports should be an array, got map[string]interface {}"},
    {"accounts { A: { imports: [{stream: {subject: x}}] } }\n",
     "Expect an account name and a subject"},
    {"accounts { A: { imports: [{stream: x}] } }\n",
     "Stream entry should be an account map, got string"},
    {"accounts { A: { exports: [{stream: 5}] } }\n",
     "Expected stream name to be string, got int64"},
    {"accounts { A: { exports: [{stream: x, service: y}] } }\n",
     "Detected service \"y\" but already saw a stream"},
    {"accounts { A: { exports: [{stream: x, foo: 1}] } }\n", "unknown field \"foo\""},
    {"accounts { A: { users: [{user: a, password: a}] }\n"
     "  B: { users: [{user: a, password: b}] } }\n",
     "Duplicate user \"a\" detected"},
    {"accounts { A: { users: [{user: a, password: a}] } }\n"
     "authorization { users: [{user: a, password: a}] }\n",
     "Duplicate user \"a\" detected"},
    {"authorization { users: [{nkey: " NKEY "}] }\n"
     "accounts { A: { users: [{nkey: " NKEY "}] } }\n",
     "Duplicate nkey \"" NKEY "\" detected"},
    {"authorization { user: x, password: y }\n"
     "accounts { A: { users: [{user: a, password: a}] } }\n",
     "Can not have a single user/pass and accounts"},
    {"authorization { token: t }\n"
     "accounts { A: { users: [{user: a, password: a}] } }\n",
     "Can not have a token and accounts"},
    {"accounts { A: {} }\nsystem_account: 5\n", "system account name must be a string"},
    {"leafnodes { authorization { users: [{user: l, password: p, permissions: {}}] } }\n",
     "unknown field \"permissions\""},
    {"leafnodes { authorization { users: [{password: p}] } }\n",
     "a leaf node user needs a user name"},
    {"leafnodes { min_version: \"2.7.0\" }\n", "the minimum version should be at least 2.8.0"},
    {"leafnodes { min_version: abc }\n", "invalid leafnode's minimum version: invalid semver"},
    {"leafnodes { min_version: 2 }\n", "interface conversion: interface {} is int64, not string"},
    /* nats-server 2.9.10 has no nkey on a remote (2.10 added it) */
    {"leafnodes { remotes = [ { url: \"nats-leaf://h:7422\", nkey: \"SUAB\" } ] }\n",
     "unknown field \"nkey\""},
    {"leafnodes { remotes = [ { url: \"nats-leaf://h:7422\", credentials: 5 } ] }\n",
     "credentials"},
};

/* credentials (or creds): the path is kept, and the file is not read (as
 * nats-server's -t, which takes a file that is not there). */
Test(config_accounts, a_leaf_remote_takes_a_credentials_file)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "leafnodes { remotes = [ { url: \"nats-leaf://h:7422\", "
	                           "credentials: \"/nonexistent/u.creds\" } ] }\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.leaf_creds[0], "/nonexistent/u.creds");
	cr_expect_eq(cfgt_nreports, 0, "%s", cfgt_reports[0]);
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "leafnodes { remotes = [ { url: \"nats-leaf://h:7422\", "
	                           "creds: \"/x.creds\" } ] }\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.leaf_creds[0], "/x.creds");
	config_fini(&c);
}

Test(config_accounts, mistakes_are_refused_in_nats_server_words)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(refused); i++) {
		struct config c;
		cr_expect_eq(cfgt_load(&c, refused[i].text), -EINVAL, "row %zu accepted", i);
		cr_expect(cfgt_reported(refused[i].says), "row %zu: \"%s\"", i, cfgt_reports[0]);
		config_fini(&c);
	}
}

/* Found once the whole file is read (config_validate): nats-server says
 * these at start; its -t takes them. */
static const struct {
	const char *text;
	const char *says;
} invalid[] = {
    {"accounts { A: {} }\nsystem_account: SYS\n",
     "error resolving system account: account missing"},
    {"system_account: \"$SYS\"\n", "error resolving system account: account missing"},
    {"accounts { A: { users: [{user: a, password: a}] } }\nno_auth_user: ghost\n",
     "no_auth_user: \"ghost\" not present as user in authorization block or account "
     "configuration"},
    {"accounts { A: { users: [{user: a, password: a}] } }\n"
     "authorization { user: x, password: y }\n",
     "Can not have a single user/pass and a users array"},
    {"leafnodes { authorization { users: [{user: l, password: p, account: NOPE}] } }\n",
     "cannot find local account \"NOPE\" specified in leafnode authorization"},
    {"leafnodes { authorization { user: x, password: y, users: [{user: l, password: p}] } }\n",
     "can not have a single user/pass and a users array"},
};

Test(config_accounts, the_whole_file_is_checked_as_nats_server_checks_it_at_start)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(invalid); i++) {
		struct config c;
		cr_expect_eq(cfgt_load(&c, invalid[i].text), 0, "row %zu: %s", i, cfgt_reports[0]);
		cr_expect_eq(config_validate(&c), -EINVAL, "row %zu accepted", i);
		cr_expect(cfgt_reported(invalid[i].says), "row %zu: \"%s\"", i, cfgt_reports[0]);
		config_fini(&c);
	}
}

Test(config_accounts, what_nats_server_ignores_is_taken_with_a_warning)
{
	static const char *const rows[] = {
	    "accounts { A: { exports: [{accounts: [A]}] } }\n",
	    "accounts { A: { imports: [{prefix: x}] } }\n",
	    "accounts { A: { exports: [{service: x}] }\n"
	    "  B: { imports: [{service: {account: A, subject: x}, prefix: p}] } }\n",
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		cr_expect_eq(cfgt_load(&c, rows[i]), 0, "row %zu: %s", i, cfgt_reports[0]);
		cr_expect_eq(c.warnings, 1, "row %zu", i);
		cr_expect(cfgt_reported("as nats-server does"), "row %zu: %s", i, cfgt_reports[0]);
		config_fini(&c);
	}
}

static void load_pair(struct config *was, struct config *now, const char *a, const char *b)
{
	cr_assert_eq(cfgt_load(was, a), 0, "%s", cfgt_reports[0]);
	cr_assert_eq(config_validate(was), 0, "%s", cfgt_reports[0]);
	cr_assert_eq(cfgt_load(now, b), 0, "%s", cfgt_reports[0]);
	cr_assert_eq(config_validate(now), 0, "%s", cfgt_reports[0]);
}

Test(config_accounts, a_reload_may_change_accounts_but_not_turn_them_on_or_off)
{
	struct config was, now;
	/* users (and their passwords) of accounts may change */
	load_pair(&was, &now, full,
	          "authorization { users: [{user: g, password: g2}] }\n"
	          "accounts {\n"
	          "  A: { users: [{user: a, password: a2}, {user: a3, password: a3}]\n"
	          "       exports: [{stream: \"news.>\"}, {service: \"help.>\"},\n"
	          "                 {stream: \"priv.>\", accounts: [B]}] }\n"
	          "  B: { imports: [{stream: {account: A, subject: \"news.>\"}, prefix: fromA}\n"
	          "                 {stream: {account: A, subject: \"news.sports\"}, to: sports}\n"
	          "                 {service: {account: A, subject: \"help.>\"}, to: \"ask.>\"}\n"
	          "                 {stream: {account: A, subject: \"priv.x\"}}] }\n"
	          "  SYS: {}\n  E: {}\n"
	          "}\nsystem_account: SYS\n");
	cr_expect_eq(config_reload_check(&was, &now), 0, "%s", cfgt_reports[0]);
	config_fini(&was);
	config_fini(&now);
	/* an export, an account more or fewer, another order, another import,
	 * another system account: all taken */
	const char *const pairs[][2] = {
	    {"accounts { A: { exports: [{stream: x}] } }\n",
	     "accounts { A: { exports: [{stream: x}, {stream: y}] } }\n"},
	    {"accounts { A: {} }\n", "accounts { A: {}, B: {} }\n"},
	    {"accounts { A: {}, B: {} }\n", "accounts { B: {} }\n"},
	    {"accounts { A: {}, B: {} }\n", "accounts { B: {}, A: {} }\n"},
	    {"accounts { A: {}, B: { imports: [{stream: {account: A, subject: x}}] }, "
	     "A: { exports: [{stream: x}] } }\n",
	     "accounts { A: {}, B: { imports: [{stream: {account: A, subject: x}, prefix: p}] }, "
	     "A: { exports: [{stream: x}] } }\n"},
	    {"accounts { A: {}, B: {} }\nsystem_account: A\n",
	     "accounts { A: {}, B: {} }\nsystem_account: B\n"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(pairs); i++) {
		load_pair(&was, &now, pairs[i][0], pairs[i][1]);
		cr_expect_eq(config_reload_check(&was, &now), 0, "pair %zu: %s", i,
		             cfgt_reports[0]);
		config_fini(&was);
		config_fini(&now);
	}
	/* but not to no accounts, nor from none */
	const char *const onoff[][2] = {
	    {"accounts { A: {} }\n", "\n"},
	    {"\n", "accounts { A: {} }\n"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(onoff); i++) {
		load_pair(&was, &now, onoff[i][0], onoff[i][1]);
		cr_expect_eq(config_reload_check(&was, &now), -EINVAL, "on/off %zu", i);
		cr_expect(
		    cfgt_reported("config reload not supported for accounts (turning them on or "
		                  "off needs a restart): old="),
		    "on/off %zu: %s", i, cfgt_reports[0]);
		config_fini(&was);
		config_fini(&now);
	}
}
