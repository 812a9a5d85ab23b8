/* Fault tests: clients that reset in the middle of a frame, half-close, connect
 * and say nothing, send random bytes, or vanish while the server floods them.
 * Through each, the server stays up and a healthy pair keeps being served,
 * losing nothing. The heavy faults (ten thousand connections, a million
 * subscriptions) are in test_faults_scale.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/fault_pair.h"
#include "tests/integration/itest.h"

TestSuite(faults, .init = itest_setup, .fini = itest_teardown, .timeout = 240);

#define Q          ITEST_QUIET
#define QH         ITEST_QUIET_HEADERS
#define CONNECT_Q  "CONNECT " Q "\r\n"
#define CONNECT_QH "CONNECT " QH "\r\n"

/* Paces of the repeated faults (see fault_pace). */
#define RESET_PER_S        1000
#define HALF_CLOSE_PER_S   500
#define GARBAGE_PER_S      200
#define FLOOD_ROUNDS_PER_S 100 /* rounds of FLOOD_PER_ROUND x FLOOD_SIZE */

#define GARBAGE_LEN      (20 * 1024)
#define IDLE_CONNS       200
#define IDLE_HOLD_MS     3000 /* longer than both servers' 2 s authentication timeout */
#define AUTH_WAIT_MS     15000
#define FLOOD_PER_ROUND  1000
#define FLOOD_SIZE       1024
#define FLOOD_GOER_READS 50
#define FLOOD_WAIT_MS    20000
#define BATCH_WAIT_MS    2000  /* for each message of a queue group's batch */
#define BATCHES_WAIT_MS  30000 /* for a whole batch to reach the one member left */

/* ---- a client resets in the middle of a frame ---- */

/* Streams that stop inside a frame; a reset follows each. */
static const char *const half_frames[] = {
    CONNECT_Q "PUB fault.reset 100\r\n0123456789",
    CONNECT_Q "PUB fault.re",
    "CONNECT {\"verbose\":fal",
    CONNECT_QH "HPUB fault.reset 22 30\r\nNATS/1.0\r\nA:",
    CONNECT_Q "SUB fault.reset 1\r\nSUB fault.> q 2\r\nPUB fault.reset 5\r\nhel",
    CONNECT_Q "PUB fault.reset 5\r\nhello", /* payload whole, its CRLF missing */
    CONNECT_Q "PUB fault.reset 5\r\nhello\r",
    CONNECT_Q "PUB fault.reset 1000000\r\n", /* followed by 64 KiB of the payload */
};
#define N_HALF_FRAMES (sizeof half_frames / sizeof half_frames[0])

static void reset_mid_frame(struct fault *f)
{
	static char body[64 * 1024];
	memset(body, 'r', sizeof body);
	for (unsigned long i = 0; !fault_stopping(f); i++, f->rounds++) {
		struct raw_conn *c = NULL;
		int r = raw_connect(f->port, &c);
		if (r != 0) {
			fault_fail(f, r, "connect %lu: %s", i, strerror(-r));
			return;
		}
		size_t k = i % N_HALF_FRAMES;
		if ((i / N_HALF_FRAMES) % 2 == 1)
			r = (int)raw_read_until(c, "\r\n", NULL, 0, RAW_WAIT_MS);
		if (r >= 0)
			r = raw_send_str(c, half_frames[k]);
		if (r >= 0 && k == N_HALF_FRAMES - 1)
			r = raw_send(c, body, sizeof body);
		if (r < 0) {
			fault_fail(f, r, "stream %zu: %s", k, raw_why(c));
			raw_close(c);
			return;
		}
		raw_abort(c);
		fault_pace(f, RESET_PER_S);
	}
}

Test(faults, clients_that_reset_mid_frame_deliver_nothing_and_harm_nobody)
{
	struct raw_conn *watch = itest_raw(Q);
	ITEST_SEND(watch, "SUB fault.> 1\r\nSUB fault.reset 2\r\nPING\r\n");
	ITEST_EXPECT(watch, "PONG\r\n");
	struct fault f = {.fn = reset_mid_frame, .repeating = true};
	fault_run_with_pair("reset mid-frame", &f, "pair.reset", NULL, NULL);
	/* No half frame may have been delivered: the PONG comes first. */
	ITEST_SEND(watch, "PING\r\n");
	ITEST_EXPECT(watch, "PONG\r\n");
	raw_close(watch);
	fault_expect_serving(NULL);
}

/* ---- a subscriber half-closes ---- */

/* Each round: subscribe (plainly, by wildcard and in a queue group),
 * half-close, have the subject published, and expect the server to close the
 * connection as nats-server does on end of input. */
static void half_close(struct fault *f)
{
	struct raw_conn *pub = NULL;
	int r = raw_connect(f->port, &pub);
	if (r == 0)
		r = raw_handshake(pub, Q, NULL, 0);
	if (r != 0) {
		fault_fail(f, r, "publisher: %s", pub ? raw_why(pub) : strerror(-r));
		raw_close(pub);
		return;
	}
	for (; !fault_stopping(f); f->rounds++) {
		struct raw_conn *c = NULL;
		r = raw_connect(f->port, &c);
		if (r != 0) {
			fault_fail(f, r, "connect: %s", strerror(-r));
			break;
		}
		if ((r = raw_handshake(c, Q, NULL, 0)) != 0 ||
		    (r = raw_send_str(c, "SUB fault.hc 1\r\nSUB fault.* 2\r\nSUB fault.hc hcq 3\r\n"
		                         "PING\r\n")) != 0 ||
		    (r = raw_expect_str(c, "PONG\r\n")) != 0 || (r = raw_shutdown_write(c)) != 0 ||
		    (r = raw_send_str(pub, "PUB fault.hc 2\r\nhc\r\n")) != 0) {
			fault_fail(f, r, "round %ld: %s / %s", f->rounds, raw_why(c), raw_why(pub));
			raw_close(c);
			break;
		}
		/* Whatever was routed before the server saw the end of input may
		 * come; then the close. */
		char line[256];
		ssize_t n;
		while ((n = raw_read_line(c, line, sizeof line, RAW_WAIT_MS)) >= 0)
			;
		if (n != -ECONNRESET)
			fault_fail(f, (int)n,
			           "round %ld: the half-closed client was not closed: %s",
			           f->rounds, raw_why(c));
		raw_close(c);
		if (n != -ECONNRESET)
			break;
		fault_pace(f, HALF_CLOSE_PER_S);
	}
	if (raw_send_str(pub, "PING\r\n") != 0 || raw_expect_str(pub, "PONG\r\n") != 0)
		fault_fail(f, -EIO, "publisher after the rounds: %s", raw_why(pub));
	raw_close(pub);
}

/* True when the 20 messages "f<round>.<k>" all reach @member (other payloads
 * are skipped), each within BATCH_WAIT_MS. A message may also have gone to a
 * half-closed member the server had not yet dropped (a queue group delivers
 * at most once): then the round fails and the caller tries another. */
static bool batch_reaches(struct raw_conn *pub, struct raw_conn *member, int round)
{
	for (int k = 0; k < 20; k++)
		ITEST_RAW_OK(pub,
		             raw_sendf(pub, "PUB fault.hc 8\r\nf%03d.%03d\r\n", round % 1000, k));
	ITEST_SEND(pub, "PING\r\n");
	ITEST_EXPECT(pub, "PONG\r\n");
	char want[32];
	int k = 0;
	while (k < 20) {
		struct raw_msg m;
		if (raw_read_msg(member, &m, BATCH_WAIT_MS) != 0)
			return false;
		snprintf(want, sizeof want, "f%03d.%03d", round % 1000, k);
		if (strcmp(m.data, want) == 0)
			k++;
		raw_msg_fini(&m);
	}
	return true;
}

Test(faults, half_closed_subscribers_are_closed_and_leave_their_queue_group)
{
	struct raw_conn *member = itest_raw(Q);
	ITEST_SEND(member, "SUB fault.hc hcq 1\r\nPING\r\n");
	ITEST_EXPECT(member, "PONG\r\n");
	struct fault f = {.fn = half_close, .repeating = true};
	fault_run_with_pair("half-close", &f, "pair.hc", NULL, NULL);
	cr_assert_gt(f.rounds, 0);
	/* Once the server has dropped the half-closed members, every message of
	 * the queue group goes to the one that stayed. */
	struct raw_conn *pub = itest_raw(Q);
	int64_t deadline = fault_now_ms() + BATCHES_WAIT_MS;
	bool whole = false;
	for (int round = 0; !whole && fault_now_ms() < deadline; round++)
		whole = batch_reaches(pub, member, round);
	cr_assert(whole, "the remaining queue member never received a whole batch");
	raw_close(pub);
	raw_close(member);
	fault_expect_serving(NULL);
}

/* ---- clients connect and send nothing ---- */

struct idle_arg {
	bool auth; /* the server requires authentication */
};

static void idle_clients(struct fault *f)
{
	const struct idle_arg *a = f->arg;
	static struct raw_conn *conns[IDLE_CONNS];
	int open = 0;
	for (; open < IDLE_CONNS; open++, f->rounds++) {
		char line[4096];
		int r = raw_connect(f->port, &conns[open]);
		if (r != 0) {
			fault_fail(f, r, "connect %d: %s", open, strerror(-r));
			goto out;
		}
		ssize_t n = raw_read_line(conns[open], line, sizeof line, RAW_WAIT_MS);
		if (n < 0 || strncmp(line, "INFO ", 5) != 0) {
			fault_fail(f, n < 0 ? (int)n : -EBADMSG, "connection %d: no INFO: %s", open,
			           raw_why(conns[open]));
			open++;
			goto out;
		}
	}
	if (a->auth) {
		/* Each is closed with the authentication timeout. */
		for (int i = 0; i < open; i++) {
			int r = raw_expect(conns[i], "-ERR 'Authentication Timeout'\r\n", 31,
			                   AUTH_WAIT_MS);
			if (r == 0)
				r = raw_expect_eof(conns[i], RAW_WAIT_MS);
			if (r != 0) {
				fault_fail(f, r, "connection %d: %s", i, raw_why(conns[i]));
				goto out;
			}
		}
		goto out;
	}
	/* Without authentication nothing times out: each can still connect. */
	fault_sleep_ms(IDLE_HOLD_MS);
	for (int i = 0; i < open; i++) {
		int r = raw_send_str(conns[i], CONNECT_Q "PING\r\n");
		if (r == 0)
			r = raw_expect_str(conns[i], "PONG\r\n");
		if (r != 0) {
			fault_fail(f, r, "connection %d after %d ms idle: %s", i, IDLE_HOLD_MS,
			           raw_why(conns[i]));
			goto out;
		}
	}
out:
	for (int i = 0; i < open; i++)
		raw_close(conns[i]);
}

Test(faults, silent_connections_get_info_and_stay_open_without_auth)
{
	struct idle_arg a = {.auth = false};
	struct fault f = {.fn = idle_clients, .arg = &a};
	fault_run_with_pair("silent connections", &f, "pair.idle", NULL, NULL);
	fault_expect_serving(NULL);
}

#define AUTH_CONNECT "{\"verbose\":false,\"pedantic\":false,\"user\":\"u\",\"pass\":\"p\"}"

static void start_with_user(void)
{
	static const char *const args[] = {"--user", "u", "--pass", "p", NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
}

Test(faults, silent_connections_time_out_with_auth, .init = start_with_user)
{
	struct idle_arg a = {.auth = true};
	struct fault f = {.fn = idle_clients, .arg = &a};
	fault_run_with_pair("silent connections, auth", &f, "pair.idle", AUTH_CONNECT, NULL);
	fault_expect_serving(AUTH_CONNECT);
}

/* ---- clients send random bytes ---- */

/* xorshift64*: the same bytes on every run. */
static void random_bytes(uint64_t seed, unsigned char *buf, size_t len)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		buf[i] = (unsigned char)((x * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

/* Each round sends 20 KiB of random bytes: before CONNECT, after it, or
 * after a subscription; the server answers one -ERR line and closes. */
static void garbage(struct fault *f)
{
	static unsigned char buf[GARBAGE_LEN];
	for (; !fault_stopping(f); f->rounds++) {
		struct raw_conn *c = NULL;
		int r = raw_connect(f->port, &c);
		if (r != 0) {
			fault_fail(f, r, "connect: %s", strerror(-r));
			return;
		}
		int how = (int)(f->rounds % 3);
		if (how >= 1)
			r = raw_handshake(c, Q, NULL, 0);
		if (r == 0 && how == 2) {
			r = raw_send_str(c, "SUB fault.g 1\r\nPING\r\n");
			if (r == 0)
				r = raw_expect_str(c, "PONG\r\n");
		}
		random_bytes((uint64_t)f->rounds, buf, sizeof buf);
		if (r == 0)
			r = raw_send(c, buf, sizeof buf);
		/* A close while our bytes are unread may reach us as a reset, but
		 * the -ERR line is written before it. */
		char line[256] = "";
		if (r == 0 || r == -EPIPE || r == -ECONNRESET) {
			ssize_t n = raw_read_line(c, line, sizeof line, RAW_WAIT_MS);
			if (n >= 0 && how == 0 && strncmp(line, "INFO ", 5) == 0)
				n = raw_read_line(c, line, sizeof line, RAW_WAIT_MS);
			r = n < 0 ? (int)n : 0;
		}
		if (r == 0 && strncmp(line, "-ERR '", 6) != 0)
			r = -EBADMSG;
		if (r == 0)
			r = raw_expect_eof(c, RAW_WAIT_MS);
		if (r != 0) {
			fault_fail(f, r, "round %ld (%s): expected -ERR then a close: %s",
			           f->rounds,
			           how == 0   ? "before CONNECT"
			           : how == 1 ? "after CONNECT"
			                      : "after SUB",
			           raw_why(c));
			raw_close(c);
			return;
		}
		raw_close(c);
		fault_pace(f, GARBAGE_PER_S);
	}
}

Test(faults, random_bytes_get_an_error_and_a_close)
{
	struct fault f = {.fn = garbage, .repeating = true};
	fault_run_with_pair("random bytes", &f, "pair.garbage", NULL, NULL);
	cr_assert_gt(f.rounds, 0);
	fault_expect_serving(NULL);
}

/* ---- a subscriber vanishes while the server floods it ---- */

/* A subscriber that stays and reads the whole flood, on its own thread, up
 * to the publisher's last message (marked 'E' after its number). */
struct flood {
	struct raw_conn *steady;
	pthread_t th;
	long published; /* written by the fault's thread, read after its join */
	long got;
	int err;
	char why[512];
};

static void *steady_main(void *arg)
{
	struct flood *fl = arg;
	for (bool last = false; !last;) {
		struct raw_msg m;
		int r = raw_read_msg(fl->steady, &m, FLOOD_WAIT_MS);
		if (r != 0) {
			fl->err = r;
			snprintf(fl->why, sizeof fl->why, "after %ld messages: %s", fl->got,
			         raw_why(fl->steady));
			return NULL;
		}
		bool ok = m.len == FLOOD_SIZE && strtol(m.data, NULL, 10) == fl->got;
		if (!ok) {
			fl->err = -EBADMSG;
			snprintf(fl->why, sizeof fl->why, "message %ld: %zu bytes starting %.12s",
			         fl->got, m.len, m.data);
		}
		last = ok && m.data[8] == 'E';
		raw_msg_fini(&m);
		if (!ok)
			return NULL;
		fl->got++;
	}
	return NULL;
}

/* Appends message @seq of the flood to @buf (@mark follows its number). */
static size_t flood_msg(char *buf, size_t cap, long seq, char mark)
{
	size_t len = (size_t)snprintf(buf, cap, "PUB flood.x %d\r\n%08ld", FLOOD_SIZE, seq);
	memset(buf + len, mark, FLOOD_SIZE - 8);
	len += FLOOD_SIZE - 8;
	memcpy(buf + len, "\r\n", 2);
	return len + 2;
}

static int flood_round(struct fault *f, struct raw_conn *pub, char *buf, size_t cap, long *seq)
{
	struct raw_conn *goer = NULL;
	int r = raw_connect(f->port, &goer);
	if (r == 0)
		r = raw_handshake(goer, Q, NULL, 0);
	if (r == 0)
		r = raw_send_str(goer, "SUB flood.x 1\r\nSUB flood.* 2\r\nPING\r\n");
	if (r == 0)
		r = (int)raw_read_until(goer, "PONG\r\n", NULL, 0, RAW_WAIT_MS);
	if (r < 0) {
		fault_fail(f, r, "vanishing subscriber: %s", goer ? raw_why(goer) : "connect");
		raw_close(goer);
		return r;
	}
	size_t len = 0;
	for (int k = 0; k < FLOOD_PER_ROUND; k++, (*seq)++)
		len += flood_msg(buf + len, cap - len, *seq, 'f');
	r = raw_send(pub, buf, len);
	/* Read the first FLOOD_GOER_READS messages, so that the server is mid-way
	 * through sending, then reset. */
	char needle[64];
	snprintf(needle, sizeof needle, "MSG flood.x 1 %d\r\n%08ld", FLOOD_SIZE,
	         *seq - FLOOD_PER_ROUND + FLOOD_GOER_READS);
	if (r == 0)
		r = (int)raw_read_until(goer, needle, NULL, 0, RAW_WAIT_MS);
	raw_abort(goer);
	if (r < 0)
		return fault_fail(f, r, "round %ld: publisher %s / subscriber", f->rounds,
		                  raw_why(pub));
	return 0;
}

static void flood_and_vanish(struct fault *f)
{
	struct flood *fl = f->arg;
	size_t cap = (size_t)FLOOD_PER_ROUND * (FLOOD_SIZE + 64);
	char *buf = malloc(cap);
	struct raw_conn *pub = NULL;
	long seq = 0;
	int r = buf ? raw_connect(f->port, &pub) : -ENOMEM;
	if (r == 0)
		r = raw_handshake(pub, Q, NULL, 0);
	if (r != 0)
		fault_fail(f, r, "publisher: %s", pub ? raw_why(pub) : strerror(-r));
	for (; r == 0 && !fault_stopping(f); f->rounds++) {
		r = flood_round(f, pub, buf, cap, &seq);
		if (r == 0)
			r = raw_send_str(pub, "PING\r\n");
		if (r == 0)
			r = raw_expect(pub, "PONG\r\n", 6, FLOOD_WAIT_MS);
		if (r != 0)
			fault_fail(f, r, "publisher flush: %s", raw_why(pub));
		fault_pace(f, FLOOD_ROUNDS_PER_S);
	}
	if (r == 0) {
		r = raw_send(pub, buf, flood_msg(buf, cap, seq++, 'E'));
		if (r != 0)
			fault_fail(f, r, "publisher, last message: %s", raw_why(pub));
	}
	fl->published = seq;
	raw_close(pub);
	free(buf);
}

Test(faults, a_subscriber_that_vanishes_under_a_flood_disturbs_nobody)
{
	struct flood fl = {0};
	fl.steady = itest_raw(Q);
	ITEST_SEND(fl.steady, "SUB flood.x 1\r\nPING\r\n");
	ITEST_EXPECT(fl.steady, "PONG\r\n");
	cr_assert_eq(pthread_create(&fl.th, NULL, steady_main, &fl), 0);
	struct fault f = {.fn = flood_and_vanish, .arg = &fl, .repeating = true};
	fault_run_with_pair("vanish under a flood", &f, "pair.flood", NULL, NULL);
	pthread_join(fl.th, NULL);
	cr_assert_eq(fl.err, 0, "the steady subscriber: %s", fl.why);
	cr_assert_gt(f.rounds, 0);
	cr_assert_eq(fl.got, fl.published, "steady subscriber got %ld of %ld", fl.got,
	             fl.published);
	fprintf(stderr,
	        "faults: vanish under a flood: %ld rounds, %ld messages to the steady "
	        "subscriber\n",
	        f.rounds, fl.got);
	raw_close(fl.steady);
	fault_expect_serving(NULL);
}
