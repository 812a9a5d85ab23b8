/* Lame duck mode, against both servers, with a second server of the same
 * kind for the clients to move to: --signal ldm=PIDFILE (SIGUSR2) makes the
 * first stop accepting, send "ldm":true to the clients that take async INFO
 * (protocol 1, after their first PING), wait lame_duck_grace_period, close
 * the clients without -ERR, spread over lame_duck_duration, and exit 0.
 * libnats sees the INFO (its lame duck callback) and reconnects to the
 * second server; a client that reconnects loses nothing it published after
 * the INFO. SIGTERM is ignored meanwhile, SIGINT stops it. lame_duck_duration
 * has nats-server's minimum, 30s; the grace is short and the clients few, so
 * the closing takes about the grace plus a second per client. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/itest.h"

#define WAIT_MS  10000
#define LDM_MS   30000 /* the whole lame duck mode, bounded */
#define LDM_CONF "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"%s\"\npid_file: \"%s\"\n"

static struct harness_server other; /* where clients go */
static char pid_file[64];

static void stop_other(void)
{
	if (itest_srv.pid <= 0) { /* it exited on its own: only its files are left */
		unlink(itest_srv.log_path);
		unlink(itest_srv.conf_path);
	}
	itest_teardown();
	if (other.pid > 0) {
		char why[128];
		int r = harness_server_stop(&other, why, sizeof why);
		if (r)
			fprintf(stderr, "ITEST TEARDOWN FAILURE: the second server %s\n", why);
	}
	unlink(pid_file);
}

TestSuite(lame_duck, .fini = stop_other, .timeout = 120);

static bool is_ringbus(void)
{
	return harness_kind_from_env() == HARNESS_RINGBUS;
}

/* The first server (itest_srv) with a grace of @grace and a pid file, and
 * the second (other). */
static void start_pair(const char *grace)
{
	char conf[512];
	snprintf(pid_file, sizeof pid_file, "/tmp/ringbus-ldm-XXXXXX.pid");
	int fd = mkstemps(pid_file, 4);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(conf, sizeof conf, LDM_CONF, grace, pid_file);
	struct harness_opts opts = {.config = conf};
	itest_start(&opts);
	cr_assert_eq(harness_server_start(&other, NULL), 0, "cannot start the second server");
}

/* --signal ldm=PIDFILE, as an operator would send it. */
static void enter_lame_duck(void)
{
	char arg[96], out[512];
	snprintf(arg, sizeof arg, "ldm=%s", pid_file);
	const char *args[] = {"--signal", arg, NULL};
	cr_assert_eq(harness_run(args, out, sizeof out), 0, "--signal %s: %s", arg, out);
}

/* The first server exits on its own, with status 0. */
static void expect_exit_0(void)
{
	int status = 0;
	cr_assert_eq(harness_server_wait_exit(&itest_srv, LDM_MS, &status), 0,
	             "still running after lame duck mode");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x",
	          (unsigned)status);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (bounded by @ms) for *@flag. */
static bool wait_flag(atomic_bool *flag, int ms)
{
	for (int64_t end = now_ms() + ms; now_ms() < end;) {
		if (atomic_load(flag))
			return true;
		usleep(5000);
	}
	return atomic_load(flag);
}

Test(lame_duck, protocol_1_clients_get_ldm_info_then_all_are_closed_without_err)
{
	start_pair("1s");
	char info[2048];
	struct raw_conn *p1 = itest_raw("{\"verbose\":false,\"protocol\":1}");
	struct raw_conn *p0 = itest_raw("{\"verbose\":false,\"protocol\":0}");
	enter_lame_duck();
	ITEST_RAW_OK(p1, raw_read_line(p1, info, sizeof info, WAIT_MS));
	cr_expect(strncmp(info, "INFO {", 6) == 0 && strstr(info, "\"ldm\":true"), "%s", info);
	/* accepting stopped before the INFO went out: connects are refused */
	struct raw_conn *late = NULL;
	cr_expect_neq(raw_connect(itest_srv.port, &late), 0, "a new client got in");
	raw_close(late);
	/* then each is closed, with nothing more said */
	ITEST_RAW_OK(p1, raw_expect_eof(p1, LDM_MS));
	ITEST_RAW_OK(p0, raw_expect_eof(p0, LDM_MS));
	raw_close(p1);
	raw_close(p0);
	expect_exit_0();
}

/* Pipelines PUB+PING pairs on @arg (its own thread) until the server closes
 * the connection (bounded: 100 rounds): every PING waits for the results of
 * the PUB before it, so replies queue behind marks. */
static void *pipeline_pings(void *arg)
{
	static const char pair[] = "PUB ldm.x 1\r\na\r\nPING\r\n";
	enum { PAIRS = 20000 };
	size_t n = sizeof(pair) - 1;
	char *buf = malloc(n * PAIRS);
	if (!buf)
		return NULL;
	for (int i = 0; i < PAIRS; i++)
		memcpy(buf + (size_t)i * n, pair, n);
	for (int round = 0; round < 100; round++) {
		if (raw_send(arg, buf, n * PAIRS) != 0)
			break; /* the server closed us, as expected */
	}
	free(buf);
	return NULL;
}

/* A reply that waits behind the results of earlier messages (a PONG, the
 * INFO of lame duck mode) is sent whole: the INFO, longer than the PONGs
 * and -ERRs such waits usually hold, once reached the client cut short with
 * the next MSG spliced into its JSON. Every line seen is one of the frames
 * this client can get, and the INFO is whole. */
Test(lame_duck, the_ldm_info_is_whole_behind_a_busy_clients_pending_replies)
{
	start_pair("1s");
	struct raw_conn *p = itest_raw("{\"verbose\":false,\"protocol\":1}");
	ITEST_RAW_OK(p, raw_send_str(p, "SUB ldm.x 1\r\nPING\r\n"));
	ITEST_RAW_OK(p, raw_expect_str(p, "PONG\r\n"));
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, pipeline_pings, p), 0);
	enter_lame_duck();
	char line[2048];
	int infos = 0;
	for (;;) {
		ssize_t r = raw_read_line(p, line, sizeof line, LDM_MS);
		if (r < 0)
			break; /* closed by lame duck mode */
		if (strncmp(line, "INFO ", 5) == 0) {
			size_t n = strlen(line);
			/* "MSG " with its blank: a random server id may hold "MSG" */
			cr_expect(n >= 2 && line[0 + 5] == '{' && strrchr(line, '}') &&
			              strstr(line, "\"ldm\":true") && !strstr(line, "MSG "),
			          "a cut INFO: %s", line);
			infos++;
			continue;
		}
		cr_expect(strncmp(line, "MSG ldm.x 1 1", 13) == 0 || strcmp(line, "a") == 0 ||
		              strcmp(line, "PONG") == 0 || strcmp(line, "PING") == 0,
		          "unexpected line: %.200s", line);
	}
	pthread_join(th, NULL);
	cr_expect_eq(infos, 1, "%d INFOs with ldm", infos);
	raw_close(p);
	expect_exit_0();
}

struct flags {
	atomic_bool ldm;
	atomic_bool reconnected;
};

static void on_ldm(natsConnection *nc, void *arg)
{
	(void)nc;
	atomic_store(&((struct flags *)arg)->ldm, true);
}

static void on_reconnected(natsConnection *nc, void *arg)
{
	(void)nc;
	atomic_store(&((struct flags *)arg)->reconnected, true);
}

/* libnats on both servers, the first one first. Owned by the caller. */
static natsConnection *connect_pair(struct flags *f)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	const char *urls[] = {itest_srv.url, other.url};
	ITEST_NATS_OK(natsOptions_Create(&o));
	ITEST_NATS_OK(natsOptions_SetServers(o, urls, 2));
	ITEST_NATS_OK(natsOptions_SetNoRandomize(o, true));
	ITEST_NATS_OK(natsOptions_SetMaxReconnect(o, 100));
	ITEST_NATS_OK(natsOptions_SetReconnectWait(o, 50));
	ITEST_NATS_OK(natsOptions_SetTimeout(o, WAIT_MS));
	ITEST_NATS_OK(natsOptions_SetLameDuckModeCB(o, on_ldm, f));
	ITEST_NATS_OK(natsOptions_SetReconnectedCB(o, on_reconnected, f));
	ITEST_NATS_OK(natsConnection_Connect(&nc, o));
	natsOptions_Destroy(o);
	return nc;
}

Test(lame_duck, libnats_sees_ldm_and_reconnects_to_the_other_server)
{
	start_pair("1s");
	struct flags f = {0};
	natsConnection *nc = connect_pair(&f);
	char url[128];
	ITEST_NATS_OK(natsConnection_GetConnectedUrl(nc, url, sizeof url));
	cr_assert(strstr(url, itest_srv.url + 7), "connected to %s first", url);
	enter_lame_duck();
	cr_assert(wait_flag(&f.ldm, WAIT_MS), "no lame duck callback");
	cr_assert(wait_flag(&f.reconnected, LDM_MS), "no reconnect");
	ITEST_NATS_OK(natsConnection_GetConnectedUrl(nc, url, sizeof url));
	cr_expect(strstr(url, other.url + 7), "reconnected to %s, not the other server", url);
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, WAIT_MS));
	natsConnection_Destroy(nc);
	expect_exit_0();
	nats_CloseAndWait(2000);
}

/* A client that publishes and subscribes as a service does: each message
 * published and flushed (the server answered the PING after it) counts as
 * sent; a flush that fails is published again once reconnected. Without
 * clustering, two clients on two servers cannot see each other's messages,
 * so the client checks its own: none it sent may be missing. */
struct seq_client {
	natsConnection *nc;
	struct flags f;
	char subject[32];
	atomic_int received[4096]; /* times each number arrived */
	int sent;
	int sent_after_ldm;
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	(void)nc;
	(void)sub;
	struct seq_client *c = arg;
	int n = atoi(natsMsg_GetData(msg));
	if (n >= 0 && n < 4096)
		atomic_fetch_add(&c->received[n], 1);
	natsMsg_Destroy(msg);
}

/* Reconnections of @nc so far. */
static uint64_t reconnects(natsConnection *nc)
{
	natsStatistics *st = NULL;
	uint64_t n = 0;
	natsStatistics_Create(&st);
	natsConnection_GetStats(nc, st);
	natsStatistics_GetCounts(st, NULL, NULL, NULL, NULL, &n);
	natsStatistics_Destroy(st);
	return n;
}

/* Publishes number @n until a flush confirms it on the connection it was
 * published on: a flush that succeeds after a reconnect may answer for a
 * PING sent to the new server while the message went into the old one's
 * socket, which nobody read (libnats flushes the one but not the other). */
static void publish_confirmed(struct seq_client *c, int n)
{
	char data[16];
	snprintf(data, sizeof data, "%d", n);
	for (int64_t end = now_ms() + LDM_MS; now_ms() < end;) {
		uint64_t before = reconnects(c->nc);
		if (natsConnection_PublishString(c->nc, c->subject, data) == NATS_OK &&
		    natsConnection_FlushTimeout(c->nc, 1000) == NATS_OK &&
		    reconnects(c->nc) == before)
			return;
		usleep(20000); /* reconnecting */
	}
	cr_assert_fail("message %d never confirmed", n);
}

Test(lame_duck, a_client_that_reconnects_loses_nothing_published_after_the_ldm_info)
{
	start_pair("1s");
	static struct seq_client clients[2];
	natsSubscription *subs[2];
	for (int i = 0; i < 2; i++) {
		struct seq_client *c = &clients[i];
		snprintf(c->subject, sizeof c->subject, "ldm.seq.%d", i);
		c->nc = connect_pair(&c->f);
		ITEST_NATS_OK(natsConnection_Subscribe(&subs[i], c->nc, c->subject, on_msg, c));
		ITEST_NATS_OK(natsConnection_FlushTimeout(c->nc, WAIT_MS));
	}
	enter_lame_duck();
	/* before, during and after the move: both reconnect and send more */
	while (
	    !(atomic_load(&clients[0].f.reconnected) && atomic_load(&clients[1].f.reconnected)) ||
	    clients[0].sent_after_ldm < 200) {
		for (int i = 0; i < 2; i++) {
			struct seq_client *c = &clients[i];
			cr_assert_lt(c->sent, 4000, "no reconnect after %d messages", c->sent);
			publish_confirmed(c, c->sent++);
			if (atomic_load(&c->f.ldm))
				c->sent_after_ldm++;
		}
		usleep(2000);
	}
	for (int i = 0; i < 2; i++) {
		struct seq_client *c = &clients[i];
		cr_expect(atomic_load(&c->f.ldm), "client %d saw no ldm INFO", i);
		cr_expect_gt(c->sent_after_ldm, 0, "client %d sent nothing after the INFO", i);
		ITEST_NATS_OK(natsConnection_FlushTimeout(c->nc, WAIT_MS));
		int missing = -1;
		for (int64_t end = now_ms() + WAIT_MS; now_ms() < end && missing != 0;) {
			missing = 0;
			for (int n = 0; n < c->sent; n++)
				missing += atomic_load(&c->received[n]) == 0;

			usleep(10000);
		}
		cr_expect_eq(missing, 0, "client %d: %d of %d messages lost (%d after the INFO)", i,
		             missing, c->sent, c->sent_after_ldm);
		natsSubscription_Destroy(subs[i]);
		natsConnection_Destroy(c->nc);
	}
	expect_exit_0();
	nats_CloseAndWait(2000);
}

Test(lame_duck, sigterm_is_ignored_meanwhile_and_sigint_stops_with_0)
{
	start_pair("20s"); /* long enough for the signals to arrive during it */
	struct raw_conn *p1 = itest_raw("{\"verbose\":false,\"protocol\":1}");
	enter_lame_duck();
	char info[2048];
	ITEST_RAW_OK(p1, raw_read_line(p1, info, sizeof info, WAIT_MS));
	cr_assert(strstr(info, "\"ldm\":true"), "%s", info);
	cr_assert_eq(kill(itest_srv.pid, SIGTERM), 0);
	int status = 0;
	cr_expect_eq(harness_server_wait_exit(&itest_srv, 500, &status), -ETIMEDOUT,
	             "SIGTERM stopped a server in lame duck mode (status 0x%x)", (unsigned)status);
	cr_assert_eq(kill(itest_srv.pid, SIGINT), 0);
	cr_assert_eq(harness_server_wait_exit(&itest_srv, WAIT_MS, &status), 0, "SIGINT: no exit");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", (unsigned)status);
	raw_close(p1);
}

Test(lame_duck, clients_gone_during_the_grace_end_it)
{
	start_pair("20s"); /* a grace longer than any wait below */
	struct raw_conn *p1 = itest_raw("{\"verbose\":false,\"protocol\":1}");
	enter_lame_duck();
	char info[2048];
	ITEST_RAW_OK(p1, raw_read_line(p1, info, sizeof info, WAIT_MS));
	cr_assert(strstr(info, "\"ldm\":true"), "%s", info);
	raw_close(p1); /* told, it goes elsewhere */
	int status = 0;
	if (!is_ringbus()) { /* nats-server waits the grace out regardless */
		cr_expect_eq(harness_server_wait_exit(&itest_srv, 1000, &status), -ETIMEDOUT);
		cr_assert_eq(kill(itest_srv.pid, SIGINT), 0);
	}
	cr_assert_eq(harness_server_wait_exit(&itest_srv, WAIT_MS, &status), 0,
	             "still running with no client, 20 s grace");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", (unsigned)status);
}

Test(lame_duck, without_clients_it_exits_at_once)
{
	start_pair("10s");
	enter_lame_duck();
	/* no client to wait for: neither the grace nor the duration applies */
	int status = 0;
	cr_assert_eq(harness_server_wait_exit(&itest_srv, WAIT_MS, &status), 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", (unsigned)status);
}

Test(lame_duck, ringbus_signal_finds_the_pid_file_of_its_configuration)
{
	if (!is_ringbus())
		cr_skip_test("nats-server looks for its process with pgrep instead");
	start_pair("10s");
	char out[512];
	const char *args[] = {"--signal", "ldm", "-c", itest_srv.conf_path, NULL};
	cr_assert_eq(harness_run(args, out, sizeof out), 0, "%s", out);
	int status = 0;
	cr_assert_eq(harness_server_wait_exit(&itest_srv, WAIT_MS, &status), 0,
	             "no lame duck mode");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	const char *bad[] = {"--signal", "bogus=1", NULL};
	cr_expect_eq(harness_run(bad, out, sizeof out), 1);
	cr_expect(strstr(out, "unknown signal \"bogus\""), "%s", out);
	const char *nopid[] = {"--signal", "reload=notapid", NULL};
	cr_expect_eq(harness_run(nopid, out, sizeof out), 1);
	cr_expect(strstr(out, "invalid pid: notapid"), "%s", out);
}
