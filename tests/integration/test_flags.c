/* nats-server's command line, spelled as programs that start a server spell
 * it (Go's flag package: one dash or two, "=value" or the next argument),
 * checked through a client against both servers: -user/-pass, -auth,
 * -config, -m/-http_port, -D/-DV, -l/-log, -P/-pid, -n=NAME, -v, -t. And
 * what differs on purpose: ringbus refuses flags it does not support
 * (nats-server starts with -js, and exits 0 on an unknown flag). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/http_get.h"
#include "tests/integration/itest.h"

TestSuite(flags, .fini = itest_teardown, .timeout = 120);

#define WAIT_MS 5000

static bool is_ringbus(void)
{
	return harness_kind_from_env() == HARNESS_RINGBUS;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* A temporary file name ending in @suffix (the file exists, empty). */
static void temp_name(char *path, size_t cap, const char *suffix)
{
	snprintf(path, cap, "/tmp/ringbus-flags-XXXXXX%s", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	cr_assert(fd >= 0);
	close(fd);
}

static natsStatus connect_as(const char *user, const char *pass, const char *token)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	natsOptions_Create(&o);
	natsOptions_SetURL(o, itest_srv.url);
	natsOptions_SetAllowReconnect(o, false);
	natsOptions_SetTimeout(o, WAIT_MS);
	if (user)
		natsOptions_SetUserInfo(o, user, pass);
	if (token)
		natsOptions_SetToken(o, token);
	natsStatus s = natsConnection_Connect(&nc, o);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
	return s;
}

/* The server's INFO line, read by a raw client. */
static void read_info(char *info, size_t cap)
{
	struct raw_conn *c = itest_raw_open();
	ITEST_RAW_OK(c, raw_read_line(c, info, cap, WAIT_MS));
	raw_close(c);
}

Test(flags, single_dash_user_and_pass)
{
	const char *args[] = {"-user", "ivan", "-pass", "s3cret", NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
	cr_expect_eq(connect_as("ivan", "s3cret", NULL), NATS_OK);
	cr_expect_neq(connect_as("ivan", "wrong", NULL), NATS_OK);
	cr_expect_neq(connect_as(NULL, NULL, NULL), NATS_OK);
	nats_CloseAndWait(2000);
}

Test(flags, single_dash_auth_and_equals_forms)
{
	const char *args[] = {"-auth=t0ken", "--n=edge-7", NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
	char info[2048];
	read_info(info, sizeof info);
	cr_expect(strstr(info, "\"server_name\":\"edge-7\""), "%s", info);
	cr_expect(strstr(info, "\"auth_required\":true"), "%s", info);
	cr_expect_eq(connect_as(NULL, NULL, "t0ken"), NATS_OK);
	cr_expect_neq(connect_as(NULL, NULL, "other"), NATS_OK);
	nats_CloseAndWait(2000);
}

Test(flags, single_dash_config)
{
	char path[64];
	temp_name(path, sizeof path, ".conf");
	write_file(path, "max_payload: 2048\nping_interval: \"30s\"\n");
	const char *args[] = {"-config", path, NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
	char info[2048];
	read_info(info, sizeof info);
	cr_expect(strstr(info, "\"max_payload\":2048"), "%s", info);
	unlink(path);
}

Test(flags, single_dash_m_and_http_port)
{
	for (int form = 0; form < 2; form++) {
		char port[12];
		int fp = harness_free_port();
		cr_assert_gt(fp, 0, "no free port");
		uint16_t p = (uint16_t)fp;
		snprintf(port, sizeof port, "%u", p);
		const char *args[] = {form ? "-http_port" : "-m", port, NULL};
		struct harness_opts opts = {.args = args};
		itest_start(&opts);
		cr_assert_eq(http_wait_listening(p, WAIT_MS), 0, "%s: no monitoring", args[0]);
		struct http_resp r;
		cr_assert_eq(http_request(p, "GET", "/varz", &r), 0);
		cr_expect_eq(r.status, 200);
		cr_expect(strstr(r.body, "\"version\"") && strstr(r.body, "\"2.9.10\""), "%s",
		          r.body);
		http_resp_fini(&r);
		char why[128];
		cr_assert_eq(harness_server_stop(&itest_srv, why, sizeof why), 0, "%s", why);
	}
}

/* True when the server's output (stdout and stderr) has @needle within the
 * wait, after a client said something. */
static bool output_shows(const char *path, const char *needle)
{
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
	for (int i = 0; i < WAIT_MS / 10; i++) {
		FILE *f = fopen(path, "r");
		char line[2048];
		bool found = false;
		while (f && !found && fgets(line, sizeof line, f))
			found = strstr(line, needle) != NULL;
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(10000);
	}
	return false;
}

Test(flags, single_dash_D_and_DV_turn_on_debug_and_trace)
{
	const char *dv[] = {"-DV", NULL};
	struct harness_opts opts = {.args = dv};
	itest_start(&opts);
	cr_expect(output_shows(itest_srv.log_path, "[TRC]"), "-DV: no trace line");
	cr_expect(output_shows(itest_srv.log_path, "[DBG]"), "-DV: no debug line");
	char why[128];
	cr_assert_eq(harness_server_stop(&itest_srv, why, sizeof why), 0, "%s", why);
	const char *d[] = {"-D", "-V=false", NULL};
	opts.args = d;
	itest_start(&opts);
	cr_expect(output_shows(itest_srv.log_path, "[DBG]"), "-D: no debug line");
}

Test(flags, single_dash_l_and_log_write_the_log_to_a_file)
{
	for (int form = 0; form < 2; form++) {
		char log[64];
		temp_name(log, sizeof log, ".log");
		const char *args[] = {form ? "-log" : "-l", log, NULL};
		struct harness_opts opts = {.args = args};
		itest_start(&opts);
		cr_expect(output_shows(log, "[INF]"), "%s: nothing logged to %s", args[0], log);
		char why[128];
		cr_assert_eq(harness_server_stop(&itest_srv, why, sizeof why), 0, "%s", why);
		unlink(log);
	}
}

Test(flags, single_dash_P_and_pid_write_the_bare_pid)
{
	for (int form = 0; form < 2; form++) {
		char pidf[64];
		temp_name(pidf, sizeof pidf, ".pid");
		unlink(pidf);
		const char *args[] = {form ? "-pid" : "-P", pidf, NULL};
		struct harness_opts opts = {.args = args};
		itest_start(&opts);
		char text[32] = "", want[32];
		FILE *f = fopen(pidf, "r");
		cr_assert(f, "%s: no pid file", args[0]);
		cr_expect(fgets(text, sizeof text, f));
		fclose(f);
		snprintf(want, sizeof want, "%d", (int)itest_srv.pid);
		cr_expect_str_eq(text, want, "the bare pid, no newline");
		char why[128];
		cr_assert_eq(harness_server_stop(&itest_srv, why, sizeof why), 0, "%s", why);
		/* ringbus removes it at exit; nats-server leaves it */
		if (is_ringbus())
			cr_expect_neq(access(pidf, F_OK), 0, "the pid file is still there");
		unlink(pidf);
	}
}

Test(flags, version_reads_as_nats_server_2_9_10)
{
	const char *const forms[] = {"-v", "--version", "version"};
	for (size_t i = 0; i < 3; i++) {
		char out[512];
		const char *args[] = {forms[i], NULL};
		cr_assert_eq(harness_run(args, out, sizeof out), 0, "%s: %s", forms[i], out);
		cr_expect_eq(strncmp(out, "nats-server: v2.9.10", 20), 0, "%s: %s", forms[i], out);
		if (is_ringbus())
			cr_expect(strstr(out, "(ringbus "), "%s", out);
	}
	itest_start(NULL);
	char info[2048];
	read_info(info, sizeof info);
	cr_expect(strstr(info, "\"version\":\"2.9.10\""), "%s", info);
}

Test(flags, t_checks_a_file_and_says_so_as_nats_server)
{
	char path[64], out[2048], want[128];
	temp_name(path, sizeof path, ".conf");
	write_file(path, "port: 4999\nmax_payload: 1MB\n");
	const char *args[] = {"-t", "-c", path, NULL};
	cr_assert_eq(harness_run(args, out, sizeof out), 0, "%s", out);
	snprintf(want, sizeof want, "configuration file %s is valid", path);
	cr_expect(strstr(out, want), "%s", out);
	write_file(path, "port: 4999\nbogus_key: 1\n");
	cr_expect_eq(harness_run(args, out, sizeof out), 1, "%s", out);
	snprintf(want, sizeof want, "unknown field \"bogus_key\"");
	cr_expect(strstr(out, want) && strstr(out, path), "%s", out);
	write_file(path, "ping_interval: 60\n");
	cr_expect_eq(harness_run(args, out, sizeof out), 1, "a warning passed -t: %s", out);
	const char *no_c[] = {"-t", NULL};
	cr_expect_eq(harness_run(no_c, out, sizeof out), 1, "%s", out);
	cr_expect(strstr(out, "must specify [-c, --config] option"), "%s", out);
	unlink(path);
}

Test(flags, unsupported_and_unknown_flags)
{
	char out[2048];
	const char *js[] = {"-js", "-p", "0", NULL};
	const char *bogus[] = {"-bogus", NULL};
	if (!is_ringbus()) {
		/* nats-server: -js is a feature; an unknown flag prints the usage
		 * and exits 0 (ringbus exits 1: docs/OPERATIONS.md) */
		cr_expect_eq(harness_run(bogus, out, sizeof out), 0, "%s", out);
		cr_expect(strstr(out, "flag provided but not defined: -bogus"), "%s", out);
		return;
	}
	cr_expect_eq(harness_run(js, out, sizeof out), 1, "%s", out);
	cr_expect(strstr(out, "-js") && strstr(out, "JetStream"), "%s", out);
	cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
	const char *cluster[] = {"--cluster_advertise", "127.0.0.1:6222", NULL};
	cr_expect_eq(harness_run(cluster, out, sizeof out), 1, "%s", out);
	cr_expect(strstr(out, "-cluster_advertise") && strstr(out, "advertising"), "%s", out);
	cr_expect_eq(harness_run(bogus, out, sizeof out), 1, "%s", out);
	cr_expect(strstr(out, "flag provided but not defined: -bogus"), "%s", out);
}
