/* The configuration file in nats-server's format: each key and its aliases,
 * sizes and durations, authorization, the ringbus block and its admission
 * policies, keys of features ringbus lacks, errors at their positions,
 * validation, and what a reload may change. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router/admission.h"
#include "router/perm.h"
#include "tests/router/config_util.h"

Test(config, nats_server_keys_mean_what_they_mean_to_it)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "listen: \"127.0.0.2:4444\"\n"
	                           "server_name: edge\n"
	                           "http: 8223\n"
	                           "max_payload: 2MB\n"
	                           "max_pending: 128MB\n"
	                           "max_conn: 100\n"
	                           "max_subs: 7\n"
	                           "max_control_line: 8KB\n"
	                           "ping_interval: \"1m30s\"\n"
	                           "ping_max: 3\n"
	                           "write_deadline: \"2s\"\n"
	                           "lame_duck_duration: \"45s\"\n"
	                           "lame_duck_grace_period: \"3s\"\n"
	                           "logfile: \"/tmp/x.log\"\n"
	                           "pidfile: /tmp/x.pid\n"
	                           "debug: true\ntrace: yes\nlogtime: off\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.host, "127.0.0.2");
	cr_expect_eq(c.port, 4444);
	cr_expect_str_eq(c.server_name, "edge");
	cr_expect_eq(c.http_port, 8223);
	cr_expect_eq(c.max_payload, 2u << 20);
	cr_expect_eq(c.max_pending, 128u << 20);
	cr_expect_eq(c.max_connections, 100u);
	cr_expect_eq(c.max_subscriptions, 7u);
	cr_expect_eq(c.max_control_line, 8192u);
	cr_expect_eq(c.ping_interval_ms, 90000u);
	cr_expect_eq(c.ping_max, 3u);
	cr_expect_eq(c.write_deadline_ms, 2000u);
	cr_expect_eq(c.lame_duck_duration_ms, 45000u);
	cr_expect_eq(c.lame_duck_grace_ms, 3000u);
	cr_expect_str_eq(c.log_file, "/tmp/x.log");
	cr_expect_str_eq(c.pid_file, "/tmp/x.pid");
	cr_expect(c.debug && c.trace && !c.logtime);
	cr_expect_eq(c.warnings, 0);
	config_fini(&c);

	cr_assert_eq(cfgt_load(&c, "host: 10.0.0.1\nport: 4555\nmonitor_port: 9\n"
	                           "max_connections: 5\nmax_subscriptions: 6\n"
	                           "http: \"127.0.0.3:8224\"\nlog_file: a\npid_file: b\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.host, "10.0.0.1");
	cr_expect_eq(c.port, 4555);
	cr_expect_str_eq(c.http_host, "127.0.0.3");
	cr_expect_eq(c.http_port, 8224, "http, written after monitor_port, wins");
	cr_expect_eq(c.max_connections, 5u);
	cr_expect_eq(c.max_subscriptions, 6u);
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "net: 10.0.0.2\nlisten: 4666\nPORT: 4777\n"), 0);
	cr_expect_eq(c.port, 4777, "keys ignore case; the last word wins");
	config_fini(&c);
}

Test(config, sizes_and_durations_follow_the_format)
{
	struct config c;
	/* 1K is 1000, 1KB 1024; durations are Go strings */
	cr_assert_eq(cfgt_load(&c, "max_payload: 1K\nmax_pending: 100KB\nwrite_deadline: 500ms\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_eq(c.max_payload, 1000u);
	cr_expect_eq(c.max_pending, 102400u);
	cr_expect_eq(c.write_deadline_ms, 500u);
	config_fini(&c);
	/* an integer ping_interval is seconds, with nats-server's warning */
	cr_assert_eq(cfgt_load(&c, "ping_interval: 5\n"), 0);
	cr_expect_eq(c.ping_interval_ms, 5000u);
	cr_expect_eq(c.warnings, 1);
	cr_expect(cfgt_reported(":1:16: invalid use of field \"ping_interval\": ping_interval "
	                        "should be converted to a duration"),
	          "%s", cfgt_reports[0]);
	config_fini(&c);
	/* the trap: a bare 1m is the size 1000000, not a duration */
	cr_expect_eq(cfgt_load(&c, "lame_duck_duration: 1m\n"), -EINVAL);
	cr_expect(cfgt_reported("expected a duration string"), "%s", cfgt_reports[0]);
	config_fini(&c);
	cr_expect_eq(cfgt_load(&c, "max_payload: \"1MB\"\n"), -EINVAL);
	cr_expect(cfgt_reported(":1:14: max_payload: expected a size"), "%s", cfgt_reports[0]);
	config_fini(&c);
}

Test(config, errors_name_the_file_line_and_column)
{
	static const struct {
		const char *text;
		const char *says; /* after "FILE:" */
	} rows[] = {
	    {"port: 4222\nfoo_bar: 1\n", "2:1: unknown field \"foo_bar\""},
	    {"X = 3\nport: 1\n", "1:1: unknown field \"X\""},
	    {"port: 70000\n", "1:7: port: 70000 is out of range (-1 to 65535)"},
	    {"port: \"x\"\n", "1:7: port: expected an integer"},
	    {"debug: 1\n", "1:8: debug: expected a boolean"},
	    {"lame_duck_duration: \"5s\"\n", "1:21: invalid lame_duck_duration of 5s, minimum is "
	                                     "30 seconds"},
	    {"listen: \"nope\"\n", "listen: could not parse address string \"nope\""},
	    {"authorization {\n  user: a\n  bogus: 1\n}\n", "3:3: unknown field \"bogus\""},
	    {"tls {\n  cert_file: a\n  min_version: 1.2\n}\n",
	     "3:3: unknown field \"min_version\""},
	    {"ringbus {\n  threads { cores: 4 }\n}\n", "2:13: unknown field \"cores\""},
	    {"authorization {\n  user: a\n  password: b\n  token: c\n}\n",
	     "Cannot have a user/pass and token"},
	    {"authorization { user: a, password: b, users: [] }\n",
	     "Can not have a single user/pass and a users array"},
	    {"authorization { users: [{user: a}, {user: a}] }\n", "Duplicate user \"a\" detected"},
	    {"authorization { users: [{password: a}] }\n", "User entry requires a user"},
	    {"port: 1\nport: {\n", "unexpected end of file inside a map"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		char want[512];
		cr_expect_neq(cfgt_load(&c, rows[i].text), 0, "row %zu accepted", i);
		snprintf(want, sizeof(want), "%s:%s", cfgt_path, rows[i].says);
		bool exact =
		    strchr(rows[i].says, ':') && rows[i].says[0] >= '0' && rows[i].says[0] <= '9';
		cr_expect(cfgt_reported(exact ? want : rows[i].says), "row %zu: got \"%s\"", i,
		          cfgt_reports[0]);
		config_fini(&c);
	}
	/* a variable some $NAME used is no field */
	struct config c;
	cr_assert_eq(cfgt_load(&c, "P = 4999\nport: $P\n"), 0, "%s", cfgt_reports[0]);
	cr_expect_eq(c.port, 4999);
	config_fini(&c);
}

Test(config, keys_of_missing_features_are_refused_with_advice)
{
	static const struct {
		const char *text;
		const char *advice;
	} rows[] = {
	    {"jetstream {}\n", "JetStream is not supported"},
	    {"jetstream: enabled\n", "leaf node"},
	    {"cluster { port: 6222, tls { pinned_certs: [] } }\n", "pinned"},
	    {"gateway { name: a }\n", "gateways"},
	    {"leafnodes { port: 7422, advertise: \"h:7422\" }\n", "leaf node listener"},
	    {"leafnodes { port: 7422, tls { insecure: true } }\n", "remote's tls"},
	    {"leafnodes { remotes: [ { url: \"nats-leaf://h:7422\", tls { verify: true } } ] }\n",
	     "hub's certificate"},
	    {"mqtt { port: 1883 }\n", "MQTT"},
	    {"websocket { port: 8080, tls { insecure: true } }\n", "outgoing"},
	    {"ws { port: 8080, no_tls: true, jwt_cookie: x }\n", "JWT"},
	    {"ws { port: 8080, no_tls: true, advertise: \"h:1\" }\n", "WebSocket listener"},
	    {"ws { port: 8080, no_tls: true, token: t }\n", "websocket { authorization { user"},
	    {"ws { port: 8080, no_tls: true, authorization { users: [] } }\n",
	     "one user and password, or a token"},
	    {"mappings { a: b }\n", "subject mappings"},
	    {"no_system_account: true\n", "system_account"},
	    {"accounts { A: { jetstream: enabled } }\n", "JetStream"},
	    {"accounts { A: { exports: [{service: x, latency: y}] } }\n", "latency"},
	    {"accounts { A: { imports: [{service: {account: A, subject: x}, share: true}] } }\n",
	     "nothing to share"},
	    {"https_port: 8443\n", "HTTPS"},
	    {"tls { insecure: true }\n", "outgoing"},
	    {"tls { verify_and_map: true }\n", "issue 15"},
	    {"tls { pinned_certs: [] }\n", "pinned"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		cr_expect_eq(cfgt_load(&c, rows[i].text), -EINVAL, "row %zu accepted", i);
		cr_expect(cfgt_reported("is not supported"), "row %zu: %s", i, cfgt_reports[0]);
		cr_expect(cfgt_reported(rows[i].advice), "row %zu: %s", i, cfgt_reports[0]);
		config_fini(&c);
	}
}

Test(config, websocket_block_is_read_and_wants_no_tls)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "websocket { listen: \"127.0.0.1:8080\", no_tls: true, "
	                           "same_origin: true, allowed_origins: [\"http://a:1\"], "
	                           "handshake_timeout: \"3s\" }\n"),
	             0);
	cr_expect(c.ws_listen && c.ws_no_tls && c.ws_same_origin);
	cr_expect_str_eq(c.ws_host, "127.0.0.1");
	cr_expect_eq(c.ws_port, 8080);
	cr_expect_eq(c.ws_allowed_origins.n, 1);
	cr_expect_eq(c.ws_handshake_timeout_ms, 3000);
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "websocket { port: 8080 }\n"), 0);
	cr_expect_eq(config_validate(&c), -EINVAL);
	cr_expect(cfgt_reported("websocket requires TLS configuration"), "%s", cfgt_reports[0]);
	config_fini(&c);
}

/* nats-server 2.9.10's checks, found by starting it with each file. */
Test(config, websocket_authorization_replaces_the_top_levels_as_nats_server_reads_it)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "authorization { user: x, password: y }\nws { port: 8080, "
	                           "no_tls: true, authentication { username: a, pass: b, "
	                           "timeout: 0.5 } }\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_eq(config_validate(&c), 0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.ws_user, "a");
	cr_expect_str_eq(c.ws_pass, "b");
	cr_expect_eq(c.ws_auth_timeout_ms, 500u);
	cr_expect_str_eq(c.user, "x");
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "websocket { port: 8080, no_tls: true, authorization { token: "
	                           "t, timeout: 3 } }\n"),
	             0);
	cr_expect_str_eq(c.ws_token, "t");
	cr_expect_eq(c.ws_auth_timeout_ms, 3000u);
	config_fini(&c);
	static const struct {
		const char *text, *error;
	} bad[] = {
	    {"authorization { users: [{user: x, password: y}] }\nwebsocket { port: 8080, no_tls: "
	     "true, authorization { user: a, password: b } }\n",
	     "websocket authentication username not compatible with presence of users/nkeys"},
	    {"authorization { users: [{user: x, password: y}] }\nwebsocket { port: 8080, no_tls: "
	     "true, authorization { token: t } }\n",
	     "websocket authentication token not compatible with presence of users/nkeys"},
	    {"websocket { port: 8080, no_tls: true, no_auth_user: a }\n",
	     "no_auth_user: \"a\" present, but users are not defined"},
	    {"websocket { port: 8080, no_tls: true, no_auth_user: a, authorization { user: a } }\n",
	     "no_auth_user: \"a\" present, but users are not defined"},
	    {"authorization { users: [{user: x, password: y}] }\nwebsocket { port: 8080, no_tls: "
	     "true, no_auth_user: a }\n",
	     "no_auth_user: \"a\" not present as user in authorization block or account "
	     "configuration"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(bad); i++) {
		cr_assert_eq(cfgt_load(&c, bad[i].text), 0, "row %zu: %s", i, cfgt_reports[0]);
		cr_expect_eq(config_validate(&c), -EINVAL, "row %zu accepted", i);
		cr_expect(cfgt_reported(bad[i].error), "row %zu: %s", i, cfgt_reports[0]);
		config_fini(&c);
	}
	/* the users of an account are users too */
	cr_assert_eq(cfgt_load(&c, "accounts { A: { users: [{user: x, password: y}] } }\n"
	                           "websocket { port: 8080, no_tls: true, no_auth_user: x }\n"),
	             0);
	cr_expect_eq(config_validate(&c), 0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.ws_no_auth_user, "x");
	config_fini(&c);
	cr_expect_eq(cfgt_load(&c, "websocket { port: 8080, no_tls: true, authorization { user: "
	                           "a, bogus: 1 } }\n"),
	             -EINVAL);
	cr_expect(cfgt_reported("unknown field \"bogus\""), "%s", cfgt_reports[0]);
	config_fini(&c);
}

Test(config, authorization_takes_a_user_a_token_or_users)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "authorization { user: a, password: b, timeout: 0.5 }\n"), 0);
	cr_expect_str_eq(c.user, "a");
	cr_expect_str_eq(c.pass, "b");
	cr_expect_eq(c.auth_timeout_ms, 500u);
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "authorization { token: \"$2a$11$x\", timeout: 3 }\n"), 0);
	cr_expect_str_eq(c.token, "$2a$11$x");
	cr_expect_eq(c.auth_timeout_ms, 3000u);
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "authorization {\n users = [\n  {user: alice, password: one}\n"
	                           "  {username: bob, pass: \"$2b$04$abc\"}\n ]\n}\n"),
	             0, "%s", cfgt_reports[0]);
	cr_assert_eq(c.nusers, 2);
	cr_expect_str_eq(c.users[0].name, "alice");
	cr_expect_str_eq(c.users[0].password, "one");
	cr_expect_str_eq(c.users[1].name, "bob");
	cr_expect_str_eq(c.users[1].password, "$2b$04$abc");
	config_fini(&c);
	/* permissions: per user, defaults, ignored beside a single user */
	cr_assert_eq(cfgt_load(&c, "authorization {\n default_permissions: {publish: \"d.>\"}\n"
	                           " users = [ {user: u, password: p, permissions: {\n"
	                           "   publish: {allow: [\"a\", \"b.*\"], deny: \"b.x\"},\n"
	                           "   subscribe: \"jobs.* workers\",\n"
	                           "   allow_responses: {max: 3, expires: \"2s\"}}} ]\n}\n"),
	             0, "%s", cfgt_reports[0]);
	cr_assert_not_null(c.users[0].perms);
	cr_expect_eq(c.users[0].perms->pub.allow.n, 2);
	cr_expect_str_eq(c.users[0].perms->pub.deny.e[0].subject, "b.x");
	cr_expect_str_eq(c.users[0].perms->sub.allow.e[0].queue, "workers");
	cr_expect_eq(c.users[0].perms->resp_max, 3);
	cr_expect_eq(c.users[0].perms->resp_expires_ns, 2000000000ull);
	cr_assert_not_null(c.default_perms);
	config_fini(&c);
	cr_assert_eq(
	    cfgt_load(&c, "authorization { user: a, password: b, permissions: {publish: x} }\n"),
	    0);
	cr_expect(cfgt_reported("is ignored (as nats-server does)"), "%s", cfgt_reports[0]);
	config_fini(&c);
	cr_expect_eq(cfgt_load(&c, "authorization { users: [{user: a, password: b, permissions: "
	                           "{publish: \"a..b\"}}] }\n"),
	             -EINVAL);
	cr_expect(cfgt_reported("is not a valid subject"), "%s", cfgt_reports[0]);
	config_fini(&c);
	/* no_auth_user names one of the users */
	cr_expect_eq(cfgt_load(&c, "no_auth_user: ghost\nauthorization { users: [{user: a, "
	                           "password: b}] }\n"),
	             0);
	cr_expect_neq(config_validate(&c), 0);
	cr_expect(cfgt_reported("no_auth_user: \"ghost\" not present as user in authorization "
	                        "block or account configuration"),
	          "%s", cfgt_reports[0]);
	config_fini(&c);
	/* NKey users: a valid public key, and no name or password beside it */
	cr_expect_eq(cfgt_load(&c, "authorization { users: [{nkey: UABC}] }\n"), -EINVAL);
	cr_expect(cfgt_reported("Not a valid public nkey for a user"), "%s", cfgt_reports[0]);
	config_fini(&c);
	cr_expect_eq(cfgt_load(&c, "authorization { users: [{nkey: "
	                           "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK, "
	                           "user: a}] }\n"),
	             -EINVAL);
	cr_expect(cfgt_reported("Nkey users do not take usernames or passwords"), "%s",
	          cfgt_reports[0]);
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c,
	                       "authorization { users: [{nkey: "
	                       "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK}] }\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.users[0].nkey,
	                 "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK");
	config_fini(&c);
	cr_expect_eq(cfgt_load(&c,
	                       "authorization { users: [{nkey: "
	                       "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK}, {nkey: "
	                       "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK}] }\n"),
	             -EINVAL);
	cr_expect(cfgt_reported(
	              "Duplicate nkey \"UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK"
	              "\" detected"),
	          "%s", cfgt_reports[0]);
	config_fini(&c);
	/* the default timeout: 2s, or the TLS timeout + 1s with TLS */
	cfgt_init(&c);
	cr_assert_eq(config_validate(&c), 0);
	cr_expect_eq(c.auth_timeout_ms, 2000u);
	config_fini(&c);
}

Test(config, the_ringbus_block_holds_ringbus_settings)
{
	struct config c;
	cr_assert_eq(cfgt_load(&c, "ringbus {\n"
	                           "  threads { io: 2, workers: 3, shards: 12, pin: false,\n"
	                           "            spin_us: 20, inline_max: all }\n"
	                           "  recv_buffers: 512\n  recv_buffer_size: 32KB\n"
	                           "  shutdown_timeout: \"3s\"\n  ktls: false\n"
	                           "}\n"),
	             0, "%s", cfgt_reports[0]);
	cr_expect_eq(c.io_threads, 2);
	cr_expect_eq(c.workers, 3);
	cr_expect_eq(c.shards, 12);
	cr_expect(!c.pin);
	cr_expect_eq(c.spin_us, 20u);
	cr_expect_eq(c.inline_max, UINT32_MAX);
	cr_expect_eq(c.buf_count, 512u);
	cr_expect_eq(c.buf_size, 32768u);
	cr_expect_eq(c.shutdown_timeout_ms, 3000u);
	cr_expect(!c.tls_ktls);
	config_fini(&c);
	cr_expect_eq(cfgt_load(&c, "ringbus { recv_buffers: 300 }\n"), -EINVAL);
	cr_expect(cfgt_reported("300 is not a power of two"));
	config_fini(&c);
	/* its keys belong in it, not at the top level */
	cr_expect_eq(cfgt_load(&c, "workers: 2\n"), -EINVAL);
	cr_expect(cfgt_reported("unknown field \"workers\""));
	config_fini(&c);
}

Test(config, admission_policies_pick_the_most_specific_pattern)
{
	struct config c;
	cr_assert_eq(
	    cfgt_load(&c,
	              "ringbus { admission {\n"
	              "  subscriber: drop-new\n  shard_high: 1MB\n"
	              "  policies {\n"
	              "    wide { subjects: \"orders.>\", subscriber: defer, defer_max: \"2s\" }\n"
	              "    eu { subjects: [\"orders.eu.>\"], subscriber: drop-old }\n"
	              "    star { subjects: [orders.*.x], subscriber: disconnect }\n"
	              "  }\n} }\n"),
	    0, "%s", cfgt_reports[0]);
	struct admission *a = NULL;
	cr_assert_eq(admission_new(c.adm, NULL, &a), 0);
	static const struct {
		const char *subject;
		const char *policy;
	} rows[] = {
	    {"orders.eu.x", "eu"},   {"orders.eu.y.z", "eu"}, {"orders.us.x", "star"},
	    {"orders.us.y", "wide"}, {"orders.a", "wide"},    {"payments.x", "default"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct adm_policy *p =
		    admission_lookup(a, rows[i].subject, strlen(rows[i].subject));
		cr_expect_str_eq(p->name, rows[i].policy, "%s", rows[i].subject);
	}
	/* inherited from the defaults where a policy is silent */
	cr_expect_eq(admission_lookup(a, "payments.x", 10)->sub, ADM_DROP_NEW);
	cr_expect_eq(admission_lookup(a, "orders.a", 8)->defer_max_ns, 2000000000u);
	cr_expect_eq(admission_lookup(a, "orders.a", 8)->sub_low,
	             admission_lookup(a, "orders.a", 8)->sub_high / 2);
	cr_expect_eq(a->shard_high, 1u << 20);
	admission_free(a);
	config_fini(&c);
}

Test(config, admission_problems_are_reported_where_they_are_written)
{
	static const struct {
		const char *text;
		const char *says;
	} rows[] = {
	    {"ringbus { admission { shard: drop-old } }", "the shard policy is defer or drop-new"},
	    {"ringbus { admission { subscriber: sometimes } }", "use defer, drop-new"},
	    {"ringbus { admission { subjects: a } }", "subjects belongs in a policy"},
	    {"ringbus { admission { policies { p { subjects: \"a..b\" } } } }",
	     "\"a..b\" is not a valid subject pattern"},
	    {"ringbus { admission { policies { p { shard_high: 1MB } } } }",
	     "shard_high is set in admission { }, not per policy"},
	    {"ringbus { admission { policies { p { wat: 1 } } } }", "unknown field \"wat\""},
	    {"ringbus { admission { policies { \"a b\" { subjects: x } } } }",
	     "policy name \"a b\""},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		cr_expect_eq(cfgt_load(&c, rows[i].text), -EINVAL, "row %zu accepted", i);
		cr_expect(cfgt_reported(rows[i].says), "row %zu: %s", i, cfgt_reports[0]);
		config_fini(&c);
	}
	/* found when the state is built */
	struct config c;
	cr_assert_eq(cfgt_load(&c, "ringbus { admission { policies { p {\n"
	                           "  subjects: p.>, subscriber_high: 1MB, subscriber_low: 2MB\n"
	                           "} } } }\n"),
	             0);
	struct admission *a = NULL;
	cfgt_nreports = 0;
	cr_expect_neq(admission_new(c.adm, c.report, &a), 0);
	cr_expect(cfgt_reported("admission: policy p: subscriber_low must be below "
	                        "subscriber_high"));
	config_fini(&c);
	cr_assert_eq(cfgt_load(&c, "ringbus { admission { policies { lonely { busy: false } } } }"),
	             0);
	cr_expect_neq(admission_new(c.adm, c.report, &a), 0);
	cr_expect(cfgt_reported("policy lonely has no 'subjects'"));
	config_fini(&c);
}

Test(config, validation_checks_values_against_each_other_in_nats_server_words)
{
	static const struct {
		const char *text;
		const char *says;
	} rows[] = {
	    {"max_payload: 32MB\nmax_pending: 16MB\n",
	     "max_payload (33554432) cannot be higher than max_pending (16777216)"},
	    {"lame_duck_duration: \"40s\"\nlame_duck_grace_period: \"50s\"\n",
	     "lame duck grace period (50s) should be strictly lower than lame duck duration (40s)"},
	    {"tls { key_file: k.pem }\n", "missing 'cert_file' in TLS configuration"},
	    {"tls { cert_file: c.pem }\n", "missing 'key_file' in TLS configuration"},
	    {"ringbus { threads { workers: 4, shards: 2 } }\n",
	     "shards (2) must be at least workers (4)"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		cr_assert_eq(cfgt_load(&c, rows[i].text), 0, "row %zu: %s", i, cfgt_reports[0]);
		cr_expect_eq(config_validate(&c), -EINVAL, "row %zu accepted", i);
		cr_expect(cfgt_reported(rows[i].says), "row %zu: %s", i, cfgt_reports[0]);
		config_fini(&c);
	}
	/* nats-server's zeros ask for its defaults */
	struct config c;
	cr_assert_eq(cfgt_load(&c, "max_connections: 0\nping_max: 0\nwrite_deadline: \"0s\"\n"
	                           "max_control_line: 0\n"),
	             0);
	cr_assert_eq(config_validate(&c), 0, "%s", cfgt_reports[0]);
	cr_expect_eq(c.max_connections, 65536u);
	cr_expect_eq(c.ping_max, 2u);
	cr_expect_eq(c.write_deadline_ms, 10000u);
	cr_expect_eq(c.max_control_line, 4096u);
	config_fini(&c);
}

/* Two configurations from two files, validated. */
static void load_pair(struct config *was, struct config *now, const char *a, const char *b)
{
	cr_assert_eq(cfgt_load(was, a), 0, "%s", cfgt_reports[0]);
	cr_assert_eq(config_validate(was), 0);
	cr_assert_eq(cfgt_load(now, b), 0, "%s", cfgt_reports[0]);
	cr_assert_eq(config_validate(now), 0);
}

Test(config, a_reload_refuses_what_it_cannot_change_as_nats_server_says_it)
{
	struct config was, now;
	load_pair(&was, &now, "port: 14222\nmax_payload: 1MB\n", "port: 14223\nmax_payload: 2MB\n");
	cr_expect_eq(config_reload_check(&was, &now), -EINVAL);
	cr_expect(cfgt_reported("config reload not supported for port: old=14222, new=14223"), "%s",
	          cfgt_reports[0]);
	config_fini(&was);
	config_fini(&now);
	load_pair(&was, &now, "max_payload: 1MB\nauthorization { token: a }\n",
	          "max_payload: 2MB\nauthorization { token: b }\n");
	cr_expect_eq(config_reload_check(&was, &now), 0, "%s", cfgt_reports[0]);
	config_fini(&was);
	config_fini(&now);
	load_pair(&was, &now, "ringbus { threads { workers: 1 } }\n",
	          "ringbus { threads { workers: 2 } }\n");
	cr_expect_eq(config_reload_check(&was, &now), -EINVAL);
	cr_expect(cfgt_reported("config reload not supported for workers: old=1, new=2"));
	config_fini(&was);
	config_fini(&now);
	/* nats-server 2.9.10 reloads nothing of websocket { }, its login neither;
	 * a password is not printed */
	load_pair(&was, &now,
	          "ws { port: 8080, no_tls: true, authorization { user: a, pass: b } }\n",
	          "ws { port: 8080, no_tls: true, authorization { user: a, pass: c } }\n");
	cr_expect_eq(config_reload_check(&was, &now), -EINVAL);
	cr_expect(cfgt_reported("config reload not supported for password: old=(secret), "
	                        "new=(secret)"),
	          "%s", cfgt_reports[0]);
	config_fini(&was);
	config_fini(&now);
}

Test(config, a_file_that_cannot_be_read_says_so)
{
	struct config c;
	cfgt_init(&c);
	cr_expect_neq(config_load_file(&c, "/nonexistent/ringbus.conf"), 0);
	cr_expect(cfgt_reported("/nonexistent/ringbus.conf"), "%s", cfgt_reports[0]);
	config_fini(&c);
}
