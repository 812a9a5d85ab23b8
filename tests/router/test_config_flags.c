/* The command line as Go's flag package reads nats-server's: one dash or
 * two, "=value" or the next argument, booleans bare or "=value", the words
 * after the flags, flags of features ringbus lacks, and flags over the file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "router/admission.h"
#include "tests/router/config_util.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(config_flags, one_dash_or_two_and_equals_or_next_argument)
{
	const char *const *forms[] = {
	    ARGS("-p", "4333"),    ARGS("--p", "4333"),    ARGS("-p=4333"),    ARGS("--p=4333"),
	    ARGS("-port", "4333"), ARGS("--port", "4333"), ARGS("-port=4333"), ARGS("--port=4333"),
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(forms); i++) {
		struct config c;
		cr_assert_eq(cfgt_args(&c, forms[i]), 0, "form %zu: %s", i, cfgt_reports[0]);
		cr_expect_eq(c.port, 4333, "form %zu", i);
		config_fini(&c);
	}
}

Test(config_flags, nats_server_multi_letter_flags_take_one_dash)
{
	struct config c;
	cr_assert_eq(cfgt_args(&c, ARGS("-user", "ivan", "-pass", "secret", "-a", "127.0.0.2",
	                                "-http_port", "8333", "-l", "/tmp/x.log", "-P",
	                                "/tmp/x.pid", "-n", "edge-1", "-config", "/dev/null")),
	             0, "%s", cfgt_reports[0]);
	cr_expect_str_eq(c.user, "ivan");
	cr_expect_str_eq(c.pass, "secret");
	cr_expect_str_eq(c.host, "127.0.0.2");
	cr_expect_eq(c.http_port, 8333);
	cr_expect_str_eq(c.log_file, "/tmp/x.log");
	cr_expect_str_eq(c.pid_file, "/tmp/x.pid");
	cr_expect_str_eq(c.server_name, "edge-1");
	cr_expect_str_eq(c.config_file, "/dev/null");
	config_fini(&c);

	/* -auth is the token (getopt read it as -a uth) */
	cr_assert_eq(cfgt_args(&c, ARGS("-auth", "s3cret", "-m", "8222")), 0);
	cr_expect_str_eq(c.token, "s3cret");
	cr_expect_str_eq(c.host, "0.0.0.0");
	cr_expect_eq(c.http_port, 8222);
	config_fini(&c);
}

Test(config_flags, booleans_are_bare_or_take_go_words_after_equals)
{
	const struct {
		const char *const *args;
		bool debug, trace;
	} rows[] = {
	    {ARGS("-D"), true, false},
	    {ARGS("--debug"), true, false},
	    {ARGS("-V"), false, true},
	    {ARGS("-DV"), true, true},
	    {ARGS("--DV"), true, true},
	    {ARGS("-VV"), false, true},
	    {ARGS("-DVV"), true, true},
	    {ARGS("-DV", "-D=false"), false, true},
	    {ARGS("-DV=false"), false, false},
	    {ARGS("-D=1", "-V=T"), true, true},
	    {ARGS("-D=TRUE", "-trace=True"), true, true},
	    {ARGS("-D=true", "-D=F"), false, false},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		cr_assert_eq(cfgt_args(&c, rows[i].args), 0, "row %zu: %s", i, cfgt_reports[0]);
		cr_expect_eq(c.debug, rows[i].debug, "row %zu", i);
		cr_expect_eq(c.trace, rows[i].trace, "row %zu", i);
		config_fini(&c);
	}
	struct config c;
	/* a boolean never takes the next argument (Go: an unrecognized command) */
	cr_expect_eq(cfgt_args(&c, ARGS("-D", "false")), -EINVAL);
	cr_expect(cfgt_reported("unrecognized command: \"false\""), "%s", cfgt_reports[0]);
	config_fini(&c);
	cr_expect_eq(cfgt_args(&c, ARGS("-D=maybe")), -EINVAL);
	cr_expect(cfgt_reported("invalid boolean value \"maybe\" for -D: parse error"), "%s",
	          cfgt_reports[0]);
	config_fini(&c);
	cr_assert_eq(cfgt_args(&c, ARGS("--no-pin", "-T=false")), 0);
	cr_expect(!c.pin);
	cr_expect(!c.logtime);
	config_fini(&c);
	cr_assert_eq(cfgt_args(&c, ARGS("--no-pin", "--pin")), 0);
	cr_expect(c.pin);
	config_fini(&c);
}

Test(config_flags, bad_values_and_missing_ones_name_the_flag)
{
	const struct {
		const char *const *args;
		const char *says;
	} rows[] = {
	    {ARGS("-p", "abc"), "invalid value \"abc\" for flag -p: parse error"},
	    {ARGS("--port=70000"), "invalid value \"70000\" for flag -port: 70000 is out of range"},
	    {ARGS("-p"), "flag needs an argument: -p"},
	    {ARGS("---p", "1"), "bad flag syntax: ---p"},
	    {ARGS("-=1"), "bad flag syntax: -=1"},
	    {ARGS("--max-payload", "1x"), "for flag -max-payload: expected a size"},
	    {ARGS("--ping-interval", "soon"), "for flag -ping-interval: expected a duration"},
	    {ARGS("--sub-policy", "sometimes"), "use defer, drop-new, drop-old or disconnect"},
	    {ARGS("--io-threads", "0"), "0 is out of range (1 to 64)"},
	    {ARGS("-bogus"), "flag provided but not defined: -bogus"},
	    {ARGS("-p", "1", "stray"), "unrecognized command: \"stray\""},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		cr_expect_eq(cfgt_args(&c, rows[i].args), -EINVAL, "row %zu accepted", i);
		cr_expect_eq(cfgt_nreports, 1, "row %zu: %d lines", i, cfgt_nreports);
		cr_expect(cfgt_reported(rows[i].says), "row %zu: %s", i, cfgt_reports[0]);
		config_fini(&c);
	}
}

Test(config_flags, flags_of_missing_features_are_refused_in_one_line_with_advice)
{
	static const struct {
		const char *flag;
		const char *advice;
	} rows[] = {
	    {"-js", "JetStream"},
	    {"--jetstream", "JetStream"},
	    {"-sd", "JetStream"},
	    {"--cluster_advertise", "advertising"},
	    {"-ms", "HTTPS"},
	    {"--syslog", "syslog"},
	    {"-r", "syslog"},
	    {"--log_size_limit", "logrotate"},
	    {"--client_advertise", "connect_urls"},
	    {"--ports_file_dir", "-p"},
	    {"--profile", "perf"},
	    {"--max_traced_msg_len", "payloads"},
	};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		char name[64];
		cr_expect_eq(cfgt_args(&c, ARGS(rows[i].flag, "x")), -EINVAL, "%s", rows[i].flag);
		cr_expect_eq(cfgt_nreports, 1, "%s: %d lines", rows[i].flag, cfgt_nreports);
		snprintf(name, sizeof(name), "flag -%s is not supported",
		         rows[i].flag + 1 + (rows[i].flag[1] == '-'));
		cr_expect(cfgt_reported(name), "%s: %s", rows[i].flag, cfgt_reports[0]);
		cr_expect(cfgt_reported(rows[i].advice), "%s: %s", rows[i].flag, cfgt_reports[0]);
		config_fini(&c);
	}
}

Test(config_flags, version_and_help_as_flags_or_words_end_the_parse)
{
	const char *const *rows[] = {ARGS("-v"), ARGS("--version"), ARGS("version"),
	                             ARGS("-p", "1", "version")};
	for (size_t i = 0; i < RB_ARRAY_LEN(rows); i++) {
		struct config c;
		FILE *saved = stdout;
		stdout = fopen("/dev/null", "w");
		int ret = cfgt_args(&c, rows[i]);
		fclose(stdout);
		stdout = saved;
		cr_expect_eq(ret, 1, "row %zu", i);
		cr_expect(c.show_version, "row %zu", i);
		config_fini(&c);
	}
}

Test(config_flags, admission_defaults_take_flags)
{
	struct config c;
	cr_assert_eq(cfgt_args(&c, ARGS("--sub-policy", "drop-old", "-sub-high=2MB", "--busy=false",
	                                "--advisories", "--shard-high-msgs", "1K")),
	             0, "%s", cfgt_reports[0]);
	struct admission *a = NULL;
	cr_assert_eq(admission_new(c.adm, NULL, &a), 0);
	cr_expect_eq(a->policies[0].sub, ADM_DROP_OLD);
	cr_expect_eq(a->policies[0].sub_high, 2u << 20);
	cr_expect(!a->policies[0].busy);
	cr_expect(a->policies[0].advisory);
	cr_expect_eq(a->shard_high_msgs, 1000u);
	admission_free(a);
	config_fini(&c);
}

Test(config_flags, flags_win_over_the_file_read_between_two_passes)
{
	char path[64];
	cfgt_write(path, sizeof(path),
	           "port: 5000\ndebug: true\nmax_payload: 2MB\n"
	           "ringbus { threads { workers: 2 } }\n");
	struct config c;
	cr_assert_eq(cfgt_args(&c, ARGS("-p", "6000", "-D=false", "-c", path)), 0, "%s",
	             cfgt_reports[0]);
	cr_expect_eq(c.port, 6000, "the flag, though given before -c");
	cr_expect(!c.debug);
	cr_expect_eq(c.max_payload, 2u << 20, "the file, where no flag says otherwise");
	cr_expect_eq(c.workers, 2);
	config_fini(&c);
	/* -t without -c is nats-server's error */
	cr_expect_eq(cfgt_args(&c, ARGS("-t")), -EINVAL);
	cr_expect(cfgt_reported("must specify [-c, --config] option"), "%s", cfgt_reports[0]);
	config_fini(&c);
	cr_assert_eq(cfgt_args(&c, ARGS("-c", path, "-t")), 0);
	cr_expect(c.check_config);
	config_fini(&c);
	unlink(path);
}

Test(config_flags, tls_flags_replace_the_tls_block)
{
	char path[64];
	cfgt_write(path, sizeof(path),
	           "tls { cert_file: /f/c.pem, key_file: /f/k.pem, ca_file: /f/ca.pem, "
	           "verify: true, cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] }\n");
	struct config c;
	cr_assert_eq(cfgt_args(&c, ARGS("-c", path)), 0, "%s", cfgt_reports[0]);
	cr_expect(c.tls && c.tls_verify);
	cr_expect_eq(c.tls_ciphers.n, 1u);
	config_fini(&c);
	cr_assert_eq(cfgt_args(&c, ARGS("-c", path, "--tlscert", "/g/c.pem", "-tlskey=/g/k.pem")),
	             0);
	cr_expect(c.tls);
	cr_expect(!c.tls_verify, "the flags say nothing of verify");
	cr_expect_str_eq(c.tls_cert, "/g/c.pem");
	cr_expect_null(c.tls_ca, "the file's ca_file went with its block");
	cr_expect_eq(c.tls_ciphers.n, 0u);
	config_fini(&c);
	cr_assert_eq(cfgt_args(&c, ARGS("-c", path, "--tls=false")), 0);
	cr_expect(!c.tls);
	config_fini(&c);
	cr_expect_eq(cfgt_args(&c, ARGS("--tlsverify")), -EINVAL);
	cr_expect(cfgt_reported("TLS Server certificate must be present and valid"));
	config_fini(&c);
	unlink(path);
}

Test(config_flags, a_signal_with_a_pid_needs_no_file)
{
	struct config c;
	cr_assert_eq(cfgt_args(&c, ARGS("--signal", "reload=123", "-c", "/nonexistent.conf")), 0);
	cr_expect_str_eq(c.signal, "reload=123");
	config_fini(&c);
	cr_assert_eq(cfgt_args(&c, ARGS("-sl=ldm")), 0);
	cr_expect_str_eq(c.signal, "ldm");
	config_fini(&c);
}

/* A route URL that cannot be dialled is refused while reading (-t sees it),
 * not when the route manager starts. */
Test(config_flags, route_urls_are_checked)
{
	struct config c;
	cr_expect_eq(cfgt_args(&c, ARGS("--routes", "nats://127.0.0.1:6222,nats://u:p@h:7")), 0);
	cr_expect_eq(c.routes.n, 2u);
	config_fini(&c);
	const char *bad[] = {"nats://127.0.0.1", "nats://h:0", "h:x", "nats://h:70000"};
	for (size_t i = 0; i < RB_ARRAY_LEN(bad); i++) {
		cr_expect_eq(cfgt_args(&c, ARGS("--routes", bad[i])), -EINVAL, "%s", bad[i]);
		cr_expect(cfgt_reported("could not parse route URL"), "%s: %s", bad[i],
		          cfgt_reports[0]);
		config_fini(&c);
	}
}
