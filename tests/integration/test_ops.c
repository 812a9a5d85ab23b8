/* Operations against a real ringbus: graceful stop delivers everything
 * already accepted, SIGHUP reloads admission policies and users under live
 * traffic without dropping connections or messages, bcrypt passwords,
 * SIGUSR1 reopens the log, --check-config names the file, line and setting.
 * ringbus only: these are ringbus's own behaviours and flags. */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/integration/itest.h"

TestSuite(ops, .fini = itest_teardown, .timeout = 120);

#define WAIT_MS 5000

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Waits (bounded: 10 s) for the file @path to contain @needle. */
static bool file_waits_for(const char *path, const char *needle)
{
	for (int i = 0; i < 1000; i++) {
		if (file_contains(path, needle))
			return true;
		usleep(10000);
	}
	return false;
}

/* Waits (bounded) for the server's log to contain @needle. */
static bool log_waits_for(const char *needle)
{
	return file_waits_for(itest_srv.log_path, needle);
}

static void *stop_server(void *arg)
{
	static char why[160];
	*(int *)arg = harness_server_stop(&itest_srv, why, sizeof why);
	return why;
}

Test(ops, sigterm_delivers_everything_already_accepted_then_exits_0)
{
	itest_start(NULL);
	struct raw_conn *sub = itest_raw(ITEST_QUIET), *pub = itest_raw(ITEST_QUIET);
	/* Small, but not below loopback's MSS (64 KiB): a receive buffer that
	 * can never open a window of one MSS sends no window updates, and the
	 * sender falls back to zero-window probes with exponential backoff;
	 * with 16 KiB the 4 MiB took up to 30 s to trickle through, past the
	 * server's shutdown_timeout (a stall of TCP, not of the server). */
	int sz = 256 * 1024;
	setsockopt(raw_fd(sub), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	ITEST_SEND(sub, "SUB g.x 1\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	/* 4 MiB accepted by the server (its PONG says so) and queued to a
	 * subscriber that has not read any of it yet. */
	enum { N = 4096 };
	char payload[1024];
	memset(payload, 'p', sizeof payload);
	for (int i = 0; i < N; i++) {
		int k = snprintf(payload, sizeof payload, "%d ", i);
		payload[k] = 'p';
		ITEST_RAW_OK(pub, raw_sendf(pub, "PUB g.x %zu\r\n", sizeof payload));
		ITEST_RAW_OK(pub, raw_send(pub, payload, sizeof payload));
		ITEST_SEND(pub, "\r\n");
	}
	ITEST_SEND(pub, "PING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");

	int stop_ret = -1;
	pthread_t th;
	pthread_create(&th, NULL, stop_server, &stop_ret);
	struct raw_msg m;
	int got = 0, r;
	while ((r = raw_read_msg(sub, &m, WAIT_MS)) == 0) {
		cr_assert_eq(atoi(m.data), got, "message %d arrived as %d", atoi(m.data), got);
		got++;
		raw_msg_fini(&m);
	}
	void *why;
	pthread_join(th, &why);
	cr_assert_eq(got, N, "the stop lost %d of %d accepted messages", N - got, N);
	cr_assert_eq(stop_ret, 0, "the server %s", (const char *)why);
	raw_close(sub);
	raw_close(pub);
}

struct flow {
	atomic_bool stop;
	int sent;
	int rc;
};

/* Publishes numbered messages on r.x until told to stop. */
static void *publish_until_stopped(void *arg)
{
	struct flow *f = arg;
	struct raw_conn *c = NULL;
	f->rc = raw_connect(itest_srv.port, &c);
	if (!f->rc)
		f->rc = raw_handshake(c, ITEST_QUIET, NULL, 0);
	while (!f->rc && !atomic_load(&f->stop)) {
		char line[64];
		int n = snprintf(line, sizeof line, "%d", f->sent);
		f->rc = raw_sendf(c, "PUB r.x %d\r\n%s\r\n", n, line);
		f->sent++;
		if (f->sent % 256 == 0)
			usleep(500);
	}
	if (!f->rc)
		f->rc = raw_send_str(c, "PING\r\n");
	if (!f->rc)
		f->rc = raw_expect_str(c, "PONG\r\n");
	raw_close(c);
	return NULL;
}

Test(ops, sighup_changes_a_policy_under_live_traffic_and_loses_nothing)
{
	struct harness_opts opts = {.config = "ringbus { admission { policies { r {\n"
	                                      "  subjects: \"r.>\"\n"
	                                      "  subscriber: defer\n"
	                                      "  subscriber_high: 1MB\n"
	                                      "} } } }\n"};
	itest_start(&opts);
	struct raw_conn *sub = itest_raw(ITEST_QUIET);
	ITEST_SEND(sub, "SUB r.x 1\r\nPING\r\n");
	ITEST_EXPECT(sub, "PONG\r\n");
	struct flow f = {0};
	pthread_t th;
	pthread_create(&th, NULL, publish_until_stopped, &f);

	int got = 0;
	struct raw_msg m;
	for (int reloads = 0; reloads < 3; reloads++) {
		for (int i = 0; i < 2000; i++) {
			cr_assert_eq(raw_read_msg(sub, &m, WAIT_MS), 0, "message %d missing", got);
			cr_assert_eq(atoi(m.data), got, "message %d arrived as %d", atoi(m.data),
			             got);
			got++;
			raw_msg_fini(&m);
		}
		char conf[256];
		snprintf(conf, sizeof conf,
		         "ringbus { admission { policies { r {\n  subjects: \"r.>\"\n"
		         "  subscriber: %s\n  subscriber_high: %dMB\n} } } }\n",
		         reloads % 2 ? "defer" : "drop-old", 2 + reloads);
		write_file(itest_srv.conf_path, conf);
		cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
		char want[64];
		snprintf(want, sizeof want, "subscriber %s at %d",
		         reloads % 2 ? "defer" : "drop-old", (2 + reloads) << 20);
		cr_assert(log_waits_for(want), "reload %d not applied (no '%s' in the log)",
		          reloads, want);
	}
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(f.rc, 0, "publisher failed: %s", strerror(-f.rc));
	while (got < f.sent) {
		cr_assert_eq(raw_read_msg(sub, &m, WAIT_MS), 0, "message %d of %d missing", got,
		             f.sent);
		cr_assert_eq(atoi(m.data), got);
		got++;
		raw_msg_fini(&m);
	}
	raw_close(sub);
}

static natsStatus connect_as(const char *user, const char *pass, natsConnection **nc)
{
	natsOptions *o = NULL;
	natsOptions_Create(&o);
	natsOptions_SetURL(o, itest_srv.url);
	natsOptions_SetUserInfo(o, user, pass);
	natsOptions_SetMaxReconnect(o, 0);
	natsStatus s = natsConnection_Connect(nc, o);
	natsOptions_Destroy(o);
	return s;
}

/* A reload replaces the users: the new ones get in, the removed ones do
 * not, and a removed user's open connection is closed (as nats-server
 * closes it: itest_permissions checks that on both servers), while a user
 * that stays keeps its connection. */
Test(ops, sighup_replaces_users_and_closes_removed_ones)
{
	struct harness_opts opts = {.config =
	                                "authorization { users: [{user: alice, password: secret},\n"
	                                "  {user: dave, password: keep}] }\n"};
	itest_start(&opts);
	natsConnection *alice = NULL, *dave = NULL, *nc = NULL;
	ITEST_NATS_OK(connect_as("alice", "secret", &alice));
	ITEST_NATS_OK(connect_as("dave", "keep", &dave));
	cr_assert_neq(connect_as("alice", "wrong", &nc), NATS_OK, "a wrong password got in");

	write_file(itest_srv.conf_path, "authorization { users: [{user: bob, password: hunter2},\n"
	                                "  {user: dave, password: keep}] }\n");
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	cr_assert(log_waits_for("reload: done"));
	natsStatus s = connect_as("alice", "secret", &nc);
	cr_assert_neq(s, NATS_OK, "alice still gets in after the reload");
	ITEST_NATS_OK(connect_as("bob", "hunter2", &nc));
	/* dave stays connected; alice's connection is closed (bounded wait) */
	ITEST_NATS_OK(natsConnection_FlushTimeout(dave, WAIT_MS));
	for (int i = 0; i < 100 && !natsConnection_IsClosed(alice); i++)
		nats_Sleep(100);
	cr_expect(natsConnection_IsClosed(alice), "the removed user's connection stayed open");
	natsConnection_Destroy(nc);
	natsConnection_Destroy(dave);
	natsConnection_Destroy(alice);
	nats_CloseAndWait(2000);
}

Test(ops, bcrypt_passwords_are_accepted)
{
	char salt[64], conf[256];
	cr_assert(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof salt));
	struct crypt_data cd = {0};
	const char *hash = crypt_r("opensesame", salt, &cd);
	cr_assert(hash && hash[0] == '$', "cannot make a bcrypt hash");
	snprintf(conf, sizeof conf, "authorization { users: [{user: carol, password: \"%s\"}] }\n",
	         hash);
	struct harness_opts opts = {.config = conf};
	itest_start(&opts);
	natsConnection *nc = NULL;
	ITEST_NATS_OK(connect_as("carol", "opensesame", &nc));
	natsConnection_Destroy(nc);
	nc = NULL;
	cr_assert_neq(connect_as("carol", "opensesam", &nc), NATS_OK);
	nats_CloseAndWait(2000);
}

Test(ops, sigusr1_reopens_the_log_file)
{
	char log[] = "/tmp/ringbus-ops-XXXXXX.log", moved[64];
	int fd = mkstemps(log, 4);
	cr_assert(fd >= 0);
	close(fd);
	const char *args[] = {"-l", log, NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
	snprintf(moved, sizeof moved, "%s.1", log);
	cr_assert_eq(rename(log, moved), 0);
	cr_assert_eq(kill(itest_srv.pid, SIGUSR1), 0);
	bool reopened = false;
	for (int i = 0; i < 300 && !reopened; i++) {
		reopened = file_contains(log, "log file reopened");
		usleep(10000);
	}
	cr_assert(reopened, "no new log file after SIGUSR1");
	cr_assert(file_contains(moved, "ready for connections"), "the old file lost its lines");
	unlink(log);
	unlink(moved);
}

/* Runs `ringbus ARGS` and returns its exit status and output. */
static int run_ringbus(const char *args, char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", getenv("RINGBUS_TEST_SERVER"), args);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(ops, check_config_names_the_file_line_column_and_setting)
{
	char path[] = "/tmp/ringbus-conf-XXXXXX.conf", out[2048], args[128], want[256];
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	write_file(path, "port: 4999\nringbus { admission { policies { a {\n"
	                 "  subjects: \"a.>\", subscriber: drop-new\n} } } }\n");
	for (int t = 0; t < 2; t++) {
		snprintf(args, sizeof args, "%s -c %s", t ? "-t" : "--check-config", path);
		cr_assert_eq(run_ringbus(args, out, sizeof out), 0, "valid file refused: %s", out);
		snprintf(want, sizeof want, "configuration file %s is valid", path);
		cr_assert(strstr(out, want), "%s", out);
	}
	write_file(path, "port: 4999\n# a comment\nringbus { admission { policies { a {\n"
	                 "  subjects: \"a.>\"\n  subscriber: sometimes\n} } } }\n");
	cr_assert_eq(run_ringbus(args, out, sizeof out), 1, "invalid file accepted: %s", out);
	snprintf(want, sizeof want, "%s:5:15: subscriber: \"sometimes\"", path);
	cr_assert(strstr(out, want),
	          "error does not name the file, line 5, column 15 and the setting: %s", out);

	write_file(path, "prot: 4999\n");
	cr_assert_eq(run_ringbus(args, out, sizeof out), 1);
	snprintf(want, sizeof want, "%s:1:1: unknown field \"prot\"", path);
	cr_assert(strstr(out, want), "%s", out);
	/* a warning fails the check, as in nats-server */
	write_file(path, "ping_interval: 60\n");
	cr_assert_eq(run_ringbus(args, out, sizeof out), 1, "%s", out);
	cr_assert(strstr(out, "ping_interval should be converted to a duration"), "%s", out);
	unlink(path);
}

/* ---- protocol errors in the log ---- */

/* Connects a raw client and reads its INFO; *@cid is its client_id and
 * *@port its local port, which the server's log names. */
static struct raw_conn *client_with_id(unsigned long long *cid, unsigned *port)
{
	struct raw_conn *c = itest_raw_open();
	char info[2048];
	ITEST_RAW_OK(c, raw_read_line(c, info, sizeof info, WAIT_MS));
	const char *id = strstr(info, "\"client_id\":");
	cr_assert(id, "no client_id in %s", info);
	*cid = strtoull(id + 12, NULL, 10);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	cr_assert_eq(getsockname(raw_fd(c), (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return c;
}

/* Lines of @path that contain @needle. */
static int count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* What a client sends (explicit length: it may hold a NUL) and the reason the
 * log must give, as nats-server logs it at its default level. */
static const struct {
	const char *input;
	size_t len;
	const char *reason;
} logged_errors[] = {
#define IN(s) s, sizeof(s) - 1
    {IN("CONNECT {\"name\":\"a\tb\"}\r\n"), "invalid character '\\t' in string literal"},
    {IN("CONNECT {\"name\":\"a\0b\"}\r\n"), "invalid character '\\x00' in string literal"},
    {IN("CONNECT {\"verbose\":false} x\r\n"), "invalid character 'x' after top-level value"},
    {IN("CONNECT {\"verbose\":false,\"protocol\":2}\r\n"), "invalid client protocol"},
    {IN("CONNECT {\"verbose\":false}\r\nBOGUS\r\n"), "Unknown Protocol Operation"},
    {IN("CONNECT {\"verbose\":false}\r\nSUB a b c d\r\n"), "malformed arguments"},
    {IN("CONNECT {\"verbose\":false}\r\nPUB a 2000000\r\n"), "Maximum Payload Violation"},
    {IN("CONNECT {\"verbose\":false}\r\nHPUB a 12 12\r\nNATS/1.0\r\n\r\n\r\n"),
     "message headers not supported"},
#undef IN
};

Test(ops, protocol_errors_are_logged_with_the_client_and_the_reason)
{
	itest_start(NULL); /* the default log level: no -D */
	for (size_t i = 0; i < sizeof logged_errors / sizeof logged_errors[0]; i++) {
		unsigned long long cid;
		unsigned port;
		struct raw_conn *c = client_with_id(&cid, &port);
		ITEST_RAW_OK(c, raw_send(c, logged_errors[i].input, logged_errors[i].len));
		char line[256];
		while (raw_read_line(c, line, sizeof line, WAIT_MS) >= 0)
			; /* an -ERR line or nothing, then the close */
		raw_close(c);
		char want[256];
		snprintf(want, sizeof want, "[ERR] 127.0.0.1:%u - cid:%llu - %s", port, cid,
		         logged_errors[i].reason);
		cr_assert(log_waits_for(want), "no '%s' in the log", want);
	}
}

#define FLOOD_CLIENTS 60
#define LOG_BURST     10 /* the I/O thread's client log: 10 lines, then one a second */

static int64_t ops_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(ops, a_flood_of_bad_clients_is_logged_at_a_bounded_rate)
{
	itest_start(NULL);
	int64_t t0 = ops_now_ms();
	for (int i = 0; i < FLOOD_CLIENTS; i++) {
		struct raw_conn *c = itest_raw(ITEST_QUIET);
		ITEST_SEND(c, "BOGUS\r\n");
		ITEST_EXPECT(c, "-ERR 'Unknown Protocol Operation'\r\n");
		ITEST_RAW_OK(c, raw_expect_eof(c, WAIT_MS));
		raw_close(c);
	}
	int64_t took_ms = ops_now_ms() - t0;
	/* Let the bucket refill, then one more: its line says how many went
	 * unlogged. */
	usleep(1100 * 1000);
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	ITEST_SEND(c, "BOGUS\r\n");
	ITEST_EXPECT(c, "-ERR 'Unknown Protocol Operation'\r\n");
	ITEST_RAW_OK(c, raw_expect_eof(c, WAIT_MS));
	raw_close(c);
	cr_assert(log_waits_for("earlier lines about clients suppressed"),
	          "the line after a suppressed burst does not count what was suppressed");
	int logged = count_lines(itest_srv.log_path, "Unknown Protocol Operation");
	/* The burst, one a second while the flood lasted, and the last one; the
	 * flood's length is measured, so a slow machine only raises the bound. */
	int most = LOG_BURST + (int)(took_ms / 1000) + 2;
	fprintf(stderr, "ops: %d bad clients in %lld ms, %d log lines\n", FLOOD_CLIENTS + 1,
	        (long long)took_ms, logged);
	cr_assert(logged >= LOG_BURST && logged <= most,
	          "%d lines for %d bad clients in %lld ms (expected %d to %d)", logged,
	          FLOOD_CLIENTS + 1, (long long)took_ms, LOG_BURST, most);
}

/* ---- reloads that change nothing ---- */

/* Starts ringbus with -l (a new temporary file, its name in @log) and the
 * config file @conf (NULL: no -c). */
static void start_logging_to_file(char *log, size_t cap, const char *conf)
{
	snprintf(log, cap, "/tmp/ringbus-ops-XXXXXX.log");
	int fd = mkstemps(log, 4);
	cr_assert(fd >= 0);
	close(fd);
	const char *args[] = {"-l", log, NULL};
	struct harness_opts opts = {.args = args, .config = conf};
	itest_start(&opts);
	cr_assert(file_waits_for(log, "ready for connections"), "ringbus does not log to %s", log);
}

Test(ops, a_reload_of_a_bad_file_logs_each_reason_and_position)
{
	char log[64], want[256];
	start_logging_to_file(log, sizeof log, "max_payload: 2048\n");
	write_file(itest_srv.conf_path, "max_payload: 1024\n"
	                                "bogus_setting = 1\n"
	                                "ringbus { admission { policies { p {\n"
	                                "  subjects: \"p.>\"\n"
	                                "  subscriber: sometimes\n"
	                                "} } } }\n");
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	cr_assert(file_waits_for(log, "reload: the configuration is invalid; nothing changed"),
	          "no refusal in %s", log);
	snprintf(want, sizeof want, "[ERR] reload: %s:2:1: unknown field \"bogus_setting\"",
	         itest_srv.conf_path);
	cr_assert(file_contains(log, want), "no '%s' in %s", want, log);
	snprintf(want, sizeof want, "[ERR] reload: %s:5:15: subscriber: ", itest_srv.conf_path);
	cr_assert(file_contains(log, want), "no '%s' in %s", want, log);
	/* Problems found once the file is read, by the admission checks. */
	write_file(itest_srv.conf_path, "ringbus { admission { policies { p {\n"
	                                "  subjects: \"p.>\"\n"
	                                "  subscriber_high: 1MB, subscriber_low: 2MB\n"
	                                "} } } }\n");
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	cr_assert(file_waits_for(log, "[ERR] reload: admission: policy p: subscriber_low must be "
	                              "below subscriber_high"),
	          "no admission problem in %s", log);
	cr_assert(file_waits_for(log, "reload: cannot build the new settings; nothing changed"));
	/* Nothing of it went to stderr, and nothing changed. */
	cr_assert_not(file_contains(itest_srv.log_path, "bogus_setting"),
	              "a reload problem went to stderr");
	cr_assert_not(file_contains(itest_srv.log_path, "subscriber_low"),
	              "a reload problem went to stderr");
	cr_assert_not(file_contains(log, "reload: done"));
	struct raw_conn *c = itest_raw_open();
	char info[2048];
	ITEST_RAW_OK(c, raw_read_line(c, info, sizeof info, WAIT_MS));
	cr_assert(strstr(info, "\"max_payload\":2048"), "the bad file changed something: %s", info);
	raw_close(c);
	unlink(log);
}

Test(ops, a_reload_without_a_config_file_says_there_is_nothing_to_reload)
{
	char log[64];
	start_logging_to_file(log, sizeof log, NULL);
	cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
	cr_assert(file_waits_for(log, "[ERR] reload: ringbus was started without a configuration "
	                              "file (-c FILE): nothing to reload"),
	          "no such line in %s", log);
	cr_assert_not(file_contains(log, "reload: done"));
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	ITEST_SEND(c, "PING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	raw_close(c);
	unlink(log);
}

/* ---- reloads without a limit ---- */

Test(ops, reloads_go_on_past_any_fixed_number_and_keep_connections)
{
	char log[64];
	start_logging_to_file(log, sizeof log,
	                      "ringbus { admission { policies { r { subjects: \"r.>\" } } } }\n");
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	ITEST_SEND(c, "SUB r.x 1\r\nPING\r\n");
	ITEST_EXPECT(c, "PONG\r\n");
	enum { RELOADS = 100 }; /* the old limit was 64 */
	for (int i = 1; i <= RELOADS; i++) {
		char conf[256];
		snprintf(conf, sizeof conf,
		         "max_payload: %d\nringbus { admission { policies { r {\n"
		         "  subjects: \"r.>\", subscriber_high: %dKB\n} } } }\n",
		         4096 + i, 1024 + i);
		write_file(itest_srv.conf_path, conf);
		cr_assert_eq(kill(itest_srv.pid, SIGHUP), 0);
		char want[64];
		snprintf(want, sizeof want, "reload: max_payload = %d", 4096 + i);
		cr_assert(file_waits_for(log, want), "reload %d not applied", i);
		/* traffic through the reloads, on the connection opened before them */
		ITEST_SEND(c, "PUB r.x 2\r\nhi\r\nPING\r\n");
		ITEST_EXPECT(c, "MSG r.x 1 2\r\nhi\r\nPONG\r\n");
	}
	cr_assert_eq(count_lines(log, "reload: done"), RELOADS);
	cr_assert_eq(count_lines(log, "too many reloads"), 0);
	raw_close(c);
	unlink(log);
}
