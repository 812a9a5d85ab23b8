/* Admission control against a real ringbus (nats-server has no such
 * policies, so this suite runs against ringbus only): defer loses nothing,
 * drop-new keeps the oldest, drop-old keeps the newest, disconnect closes only
 * the slow consumer, busy replies reach libnats as no-responders, and memory
 * stays bounded while a subscriber never reads. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>

#include "tests/integration/http_get.h"
#include "tests/integration/itest.h"

TestSuite(admission, .fini = itest_teardown, .timeout = 180);

#define WAIT_MS        5000
#define DRAIN_IDLE_MS  1000
#define DRAIN_TOTAL_MS 60000

/* Shrinks a socket's kernel buffers so a stalled reader backs up into the
 * server quickly. */
static void small_buffers(struct raw_conn *c)
{
	int sz = 16 * 1024;
	setsockopt(raw_fd(c), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(raw_fd(c), SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static uint16_t mon_port;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts ringbus with @conf and monitoring on a free port. */
static void start_monitored(const char *conf)
{
	mon_port = itest_start_monitored(NULL, conf);
	cr_assert_eq(http_wait_listening(mon_port, WAIT_MS), 0);
}

/* /admissionz, parsed (cJSON_Delete() it). */
static cJSON *admissionz(void)
{
	struct http_resp r;
	cr_assert_eq(http_request(mon_port, "GET", "/admissionz", &r), 0);
	cr_assert_eq(r.status, 200);
	cJSON *root = cJSON_Parse(r.body);
	http_resp_fini(&r);
	cr_assert(root, "/admissionz is not JSON");
	return root;
}

/* The counter @field of admission policy @name, from /admissionz. */
static uint64_t adm_counter(const char *name, const char *field)
{
	cJSON *root = admissionz();
	const cJSON *p;
	double v = -1;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(root, "policies"))
	{
		const cJSON *n = cJSON_GetObjectItem(p, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			v = cJSON_GetNumberValue(cJSON_GetObjectItem(p, field));
	}
	cJSON_Delete(root);
	cr_assert(v >= 0, "no counter %s of policy %s", field, name);
	return (uint64_t)v;
}

/* The bytes of input held for paused connections (/admissionz). */
static uint64_t stash_bytes(void)
{
	cJSON *root = admissionz();
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "bytes_held_by"), "stash");
	cr_assert(cJSON_IsNumber(v), "no bytes_held_by.stash in /admissionz");
	uint64_t n = (uint64_t)cJSON_GetNumberValue(v);
	cJSON_Delete(root);
	return n;
}

static struct raw_conn *subscriber(const char *subject)
{
	struct raw_conn *c = itest_raw(ITEST_QUIET);
	small_buffers(c);
	ITEST_RAW_OK(c, raw_sendf(c, "SUB %s 1\r\nPING\r\n", subject));
	ITEST_EXPECT(c, "PONG\r\n");
	return c;
}

struct burst {
	const char *subject;
	int count;
	size_t size;
	atomic_int sent; /* written by the publisher thread */
	int rc;
	/* When set, the publisher stays at most @window messages ahead of
	 * *@received (a reader that drains, however slowly, is never over a
	 * mark because of the machine's speed). */
	const atomic_int *received;
	int window;
};

static void burst_wait_window(const struct burst *b, int i)
{
	if (!b->received)
		return;
	for (int spins = 0; i - atomic_load(b->received) > b->window && spins < 60000; spins++)
		usleep(500); /* bounded: 30 s, then the reader's own timeout tells */
}

/* Publishes count numbered messages ("<seq> xxxx...") as fast as the server
 * takes them, then a PING and waits for its PONG. */
static void *publish_burst(void *arg)
{
	struct burst *b = arg;
	struct raw_conn *c = NULL;
	b->rc = raw_connect(itest_srv.port, &c);
	if (b->rc)
		return NULL;
	b->rc = raw_handshake(c, ITEST_QUIET, NULL, 0);
	size_t cap = 256 * 1024, n = 0;
	char *buf = malloc(cap);
	char *payload = malloc(b->size);
	memset(payload, 'x', b->size);
	for (int i = 0; i < b->count && !b->rc; i++) {
		int k = snprintf(payload, b->size, "%d ", i);
		payload[k] = 'x';
		n += (size_t)snprintf(buf + n, cap - n, "PUB %s %zu\r\n", b->subject, b->size);
		memcpy(buf + n, payload, b->size);
		n += b->size;
		memcpy(buf + n, "\r\n", 2);
		n += 2;
		if (n > cap - b->size - 128 || i == b->count - 1) {
			burst_wait_window(b, i);
			b->rc = raw_send(c, buf, n);
			n = 0;
		}
		b->sent = i + 1;
	}
	if (!b->rc)
		b->rc = raw_send_str(c, "PING\r\n");
	if (!b->rc)
		b->rc = raw_expect(c, "PONG\r\n", 6, 60000);
	free(buf);
	free(payload);
	raw_close(c);
	return NULL;
}

/* Reads messages until each of the @count published is accounted for: it
 * arrived, or policy @policy's counter @dropped says it was dropped. The
 * counter is read again whenever DRAIN_IDLE_MS pass without a message, and
 * the whole wait is bounded by DRAIN_TOTAL_MS: how long a busy machine takes
 * does not change what is counted. Records each sequence number in @seen
 * (count entries) and the first one missing in *@first_gap (-1: none).
 * Returns how many arrived. */
static int drain(struct raw_conn *c, char *seen, int count, const char *policy, const char *dropped,
                 int *first_gap)
{
	int got = 0, expect = 0;
	*first_gap = -1;
	struct raw_msg m;
	uint64_t gone = adm_counter(policy, dropped);
	int64_t end = now_ms() + DRAIN_TOTAL_MS;
	while ((uint64_t)got + gone < (uint64_t)count && now_ms() < end) {
		int rr = raw_read_msg(c, &m, DRAIN_IDLE_MS);
		if (rr != 0) {
			cr_assert_eq(rr, -ETIMEDOUT, "after message %d: %s", expect - 1,
			             raw_why(c));
			gone = adm_counter(policy, dropped);
			continue;
		}
		int seq = atoi(m.data);
		cr_assert(seq >= 0 && seq < count, "bad sequence %d", seq);
		cr_assert(!seen[seq], "message %d delivered twice", seq);
		cr_assert(seq >= expect, "message %d after %d: out of order", seq, expect - 1);
		if (seq != expect && *first_gap < 0)
			*first_gap = expect;
		seen[seq] = 1;
		expect = seq + 1;
		got++;
		raw_msg_fini(&m);
	}
	return got;
}

Test(admission, defer_loses_nothing_while_a_slow_subscriber_drains_a_burst)
{
	start_monitored("ringbus { admission { policies { slow {\n"
	                "  subjects: \"slow.>\"\n"
	                "  subscriber: defer\n"
	                "  subscriber_high: 256KB\n"
	                "  defer_max: \"120s\"\n"
	                "} } } }\n");
	struct raw_conn *sub = subscriber("slow.>");
	/* 64 MiB at about a tenth of what the publisher could send. */
	struct burst b = {.subject = "slow.burst", .count = 64 * 1024, .size = 1024};
	pthread_t th;
	pthread_create(&th, NULL, publish_burst, &b);
	char *seen = calloc((size_t)b.count, 1);
	int got = 0, received_when_done = -1;
	struct raw_msg m;
	while (got < b.count && raw_read_msg(sub, &m, 10000) == 0) {
		int seq = atoi(m.data);
		cr_assert_eq(seq, got, "message %d arrived as number %d", seq, got);
		raw_msg_fini(&m);
		if (++got % 64 == 0)
			usleep(1000); /* a slow consumer: ~64 KiB per ms at most */
		if (received_when_done < 0 && b.sent == b.count)
			received_when_done = got;
	}
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, 0, "publisher failed: %s", strerror(-b.rc));
	cr_assert_eq(got, b.count, "lost %d of %d messages under defer", b.count - got, b.count);
	/* Deferred, the publisher cannot get far ahead: when its last write
	 * went through, the subscriber had read all but what the kernel's socket
	 * buffers (autotuned up to 4-6 MiB each way on both connections), the
	 * server's mark, the receive buffers lent to batches (up to 4 MiB) and
	 * those filled before the pause lands (up to 16 MiB) hold: up to about
	 * 40 MiB of the 64 (clean CI runs saw 26 and 40). Without deferral the
	 * reader, at a tenth of the publisher's rate, has read about a tenth
	 * when the publisher is done: a quarter lies between the two. */
	cr_assert(received_when_done >= b.count / 4,
	          "the publisher finished when the subscriber had read only %d of %d: not deferred",
	          received_when_done, b.count);
	cr_assert_gt(adm_counter("slow", "deferred") + adm_counter("default", "deferred"), 0,
	             "no publisher was ever deferred");
	cr_assert_eq(adm_counter("slow", "dropped_new") + adm_counter("slow", "dropped_old"), 0);
	free(seen);
	raw_close(sub);
}

/* Fills a stalled subscriber of @policy, then reads what it kept (until the
 * policy's counter @dropped and what arrived add up to @count). */
static void stalled_then_drained(const char *policy, const char *dropped, int count, char *seen,
                                 int *got, int *first_gap)
{
	char conf[256];
	snprintf(conf, sizeof conf,
	         "ringbus { admission { policies { p {\n  subjects: \"q.>\"\n  subscriber: %s\n"
	         "  subscriber_high: 128KB\n} } } }\n",
	         policy);
	start_monitored(conf);
	struct raw_conn *sub = subscriber("q.>");
	struct burst b = {.subject = "q.x", .count = count, .size = 1024};
	publish_burst(&b); /* returns after the server answered its PING */
	cr_assert_eq(b.rc, 0, "publisher failed: %s", strerror(-b.rc));
	*got = drain(sub, seen, count, "p", dropped, first_gap);
	raw_close(sub);
}

/* The kernel's socket buffers take part of what a stalled reader is sent, and
 * the server's queue drains into them in steps, so with hysteresis a policy
 * may admit again after dropping: what both drop policies guarantee is order,
 * no duplicates, and which end survives. */
Test(admission, drop_new_keeps_the_oldest_messages_and_drops_new_ones)
{
	int count = 16384, got, gap;
	char *seen = calloc((size_t)count, 1);
	stalled_then_drained("drop-new", "dropped_new", count, seen, &got, &gap);
	cr_assert(got > 0 && got < count, "kept %d of %d: nothing was dropped", got, count);
	cr_assert(seen[0], "drop-new dropped the oldest message");
	cr_assert(gap > 0, "drop-new dropped nothing after the first message");
	/* counted exactly, and no flapping: each crossing needs the queue to
	 * drain from the high to the low mark first (64 KiB of 1 KiB messages) */
	cr_assert_eq(adm_counter("p", "dropped_new"), (uint64_t)(count - got));
	uint64_t crossings = adm_counter("p", "high_crossings");
	cr_assert(crossings >= 1 && crossings <= (uint64_t)count / 64 + 1,
	          "%llu high-mark crossings for %d messages: flapping",
	          (unsigned long long)crossings, count);
	free(seen);
}

Test(admission, drop_old_keeps_the_newest_messages)
{
	int count = 16384, got, gap;
	char *seen = calloc((size_t)count, 1);
	stalled_then_drained("drop-old", "dropped_old", count, seen, &got, &gap);
	cr_assert(got > 0 && got < count, "kept %d of %d: nothing was dropped", got, count);
	cr_assert(seen[count - 1], "drop-old lost the newest message");
	cr_assert(gap >= 0, "drop-old delivered a gap-free prefix: nothing old was dropped");
	cr_assert_eq(adm_counter("p", "dropped_old"), (uint64_t)(count - got),
	             "dropped_old %llu, dropped_new %llu, received %d of %d",
	             (unsigned long long)adm_counter("p", "dropped_old"),
	             (unsigned long long)adm_counter("p", "dropped_new"), got, count);
	cr_assert_eq(adm_counter("p", "dropped_new"), 0);
	free(seen);
}

Test(admission, disconnect_closes_only_the_slow_consumer)
{
	const char *args[] = {"--sub-policy", "disconnect", "--sub-high", "32MB", NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
	struct raw_conn *stalled = subscriber("d.x");
	natsConnection *nc = itest_nats(NULL);
	natsSubscription *healthy = NULL;
	ITEST_NATS_OK(natsConnection_SubscribeSync(&healthy, nc, "d.x"));
	itest_track_sub(healthy);
	ITEST_NATS_OK(natsSubscription_SetPendingLimits(healthy, -1, -1));
	ITEST_NATS_OK(natsConnection_FlushTimeout(nc, WAIT_MS));

	/* The healthy one is at most 8 MiB behind, the stalled one takes 64. */
	atomic_int received = 0;
	struct burst b = {.subject = "d.x",
	                  .count = 64 * 1024,
	                  .size = 1024,
	                  .received = &received,
	                  .window = 8192};
	pthread_t th;
	pthread_create(&th, NULL, publish_burst, &b);
	for (int i = 0; i < b.count; i++, atomic_store(&received, i)) {
		natsMsg *msg = NULL;
		natsStatus s = natsSubscription_NextMsg(&msg, healthy, WAIT_MS);
		cr_assert_eq(s, NATS_OK, "healthy subscriber: message %d: %s", i,
		             natsStatus_GetText(s));
		cr_assert_eq(atoi(natsMsg_GetData(msg)), i);
		natsMsg_Destroy(msg);
	}
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, 0, "publisher failed: %s", strerror(-b.rc));
	/* The stalled one was closed: draining its socket ends in EOF. */
	struct raw_msg m;
	int r;
	while ((r = raw_read_msg(stalled, &m, WAIT_MS)) == 0)
		raw_msg_fini(&m);
	cr_assert(r != -ETIMEDOUT, "the slow consumer is still connected");
	cr_assert(natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED);
	raw_close(stalled);
}

Test(admission, a_dropped_request_is_answered_busy_as_no_responders)
{
	struct harness_opts opts = {.config = "ringbus { admission { policies { svc {\n"
	                                      "  subjects: \"svc.>\"\n"
	                                      "  subscriber: drop-new\n"
	                                      "  subscriber_high: 64KB\n"
	                                      "  busy: true\n"
	                                      "} } } }\n"};
	itest_start(&opts);
	struct raw_conn *responder = subscriber("svc.work");
	/* Keep the stalled responder's queue over its mark while requesting:
	 * once the kernel's buffers are full, a flood holds it there. */
	struct burst b = {.subject = "svc.work", .count = 256 * 1024, .size = 1024};
	pthread_t th;
	pthread_create(&th, NULL, publish_burst, &b);
	while (b.sent < 8192 && !b.rc)
		usleep(1000);

	natsConnection *nc = itest_nats(NULL);
	int busy = 0, timeouts = 0;
	for (int i = 0; i < 10 && !busy; i++) {
		natsMsg *reply = NULL;
		natsStatus s = natsConnection_RequestString(&reply, nc, "svc.work", "job", 2000);
		if (s == NATS_NO_RESPONDERS)
			busy++;
		else if (s == NATS_TIMEOUT)
			timeouts++; /* admitted in a moment the queue was below its low mark */
		else
			cr_assert_fail("request: %s", natsStatus_GetText(s));
		natsMsg_Destroy(reply);
	}
	pthread_join(th, NULL);
	cr_assert(busy > 0, "no request was answered busy (%d timed out)", timeouts);
	raw_close(responder);
}

static long vm_hwm_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

/* Input a publisher had read when the process mark paused it waits, unparsed,
 * in its stash: those bytes are counted as held (/admissionz
 * bytes_held_by.stash; outside the mark, which would otherwise keep the
 * publisher paused on its own stash) and stop counting when it leaves. */
Test(admission, a_paused_publishers_stashed_input_is_counted_until_it_leaves)
{
	start_monitored("ringbus { admission { process_high: 1MB\n"
	                "  policies { p { subjects: \"held.>\", subscriber: defer,\n"
	                "    subscriber_high: 64MB, defer_max: \"1s\" } } } }\n");
	struct raw_conn *stalled = subscriber("held.>");
	struct burst b = {.subject = "held.x", .count = 16 * 1024, .size = 1024};
	pthread_t th;
	pthread_create(&th, NULL, publish_burst, &b);
	uint64_t seen = 0;
	for (int i = 0; i < 1000 && !seen; i++) { /* 10 s at most */
		seen = stash_bytes();
		if (!seen)
			usleep(10000);
	}
	raw_close(stalled); /* the publisher may go on */
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, 0, "publisher failed: %s", strerror(-b.rc));
	cr_expect_gt(seen, 0, "the paused publisher's input was never counted as held");
	uint64_t left = stash_bytes();
	for (int i = 0; i < 500 && left; i++) {
		usleep(10000);
		left = stash_bytes();
	}
	cr_expect_eq(left, 0, "%llu bytes of stashed input still counted after the publisher left",
	             (unsigned long long)left);
}

/* Reads @n numbered messages from @sub, in order, from @first on. */
static void read_numbered(struct raw_conn *sub, int first, int n)
{
	struct raw_msg m;
	for (int i = first; i < first + n; i++) {
		cr_assert_eq(raw_read_msg(sub, &m, 10000), 0, "message %d of %d did not come", i,
		             first + n);
		cr_assert_eq(atoi(m.data), i - first, "message %d arrived out of order", i);
		raw_msg_fini(&m);
	}
}

/* A subscriber that was slow through one burst and then read it all keeps
 * nothing queued, only the output buffers the burst grew. Over a low process
 * mark those empty buffers must not keep the process over it: publishers
 * would stay deferred with nothing queued anywhere (nothing flows to free
 * them). A second burst goes through. */
Test(admission, empty_output_buffers_do_not_hold_the_process_over_its_mark)
{
	start_monitored("ringbus { admission { process_high: 1MB } }\n");
	struct raw_conn *sub = subscriber("idle.x");
	struct burst b = {.subject = "idle.x", .count = 4000, .size = 1024};
	pthread_t th;
	pthread_create(&th, NULL, publish_burst, &b);
	usleep(300000); /* not reading: the burst queues in the server */
	read_numbered(sub, 0, b.count);
	pthread_join(th, NULL);
	cr_assert_eq(b.rc, 0, "first publisher failed: %s", strerror(-b.rc));
	struct burst b2 = {.subject = "idle.x", .count = 200, .size = 1024};
	pthread_create(&th, NULL, publish_burst, &b2);
	read_numbered(sub, 0, b2.count);
	pthread_join(th, NULL);
	cr_assert_eq(b2.rc, 0, "second publisher failed: %s", strerror(-b2.rc));
	raw_close(sub);
}

/* A subscriber that stopped reading while the process is over its mark gets
 * its fallback (disconnect, the default) once it has made no progress for
 * defer_max, without waiting for a delivery: none may come (here the
 * publisher is done; elsewhere every publisher is deferred). The write
 * deadline is out of the way (10 minutes), so only that rule closes it. */
Test(admission, a_stalled_subscriber_is_closed_once_the_process_is_over_its_mark)
{
	start_monitored("write_deadline: \"600s\"\nringbus { admission { process_high: 1MB } }\n");
	struct raw_conn *stalled = subscriber("stall.x");
	struct burst b = {.subject = "stall.x", .count = 16 * 1024, .size = 1024};
	publish_burst(&b); /* returns once its PING was answered */
	cr_assert_eq(b.rc, 0, "publisher failed: %s", strerror(-b.rc));
	uint64_t closed = 0; /* read nothing meanwhile: reading is progress */
	for (int i = 0; i < 200 && !closed; i++) {
		usleep(50000);
		closed = adm_counter("default", "disconnects");
	}
	cr_expect_eq(closed, 1, "the stalled subscriber was not closed in 10 s");
	raw_close(stalled);
}

Test(admission, memory_stays_bounded_while_a_subscriber_never_reads)
{
	const char *args[] = {"--sub-policy",   "drop-new", "--sub-high", "32MB",
	                      "--process-high", "64MB",     NULL};
	struct harness_opts opts = {.args = args};
	itest_start(&opts);
	struct raw_conn *stalled = subscriber("big.x");
	long before = vm_hwm_kib(itest_srv.pid);
	cr_assert(before > 0, "cannot read the server's VmHWM");
#if RINGBUS_TEST_SANITIZED
	/* ASan's quarantine and shadow memory inflate RSS; send less. */
	int count = 8 * 1024;
	long margin_kib = 768 * 1024;
#else
	int count = 32 * 1024; /* 2 GiB */
	long margin_kib = 96 * 1024;
#endif
	struct burst b = {.subject = "big.x", .count = count, .size = 64 * 1024};
	publish_burst(&b);
	cr_assert_eq(b.rc, 0, "publisher failed: %s", strerror(-b.rc));
	long peak = vm_hwm_kib(itest_srv.pid);
	long budget_kib = (64 + 32) * 1024 + before + margin_kib;
	cr_assert(peak < budget_kib,
	          "peak RSS %ld KiB after %d x 64 KiB sent: over the budget of %ld KiB", peak,
	          count, budget_kib);
	fprintf(stderr, "admission: peak RSS %ld MiB after sending %ld MiB\n", peak / 1024,
	        (long)count * 64 / 1024);
	raw_close(stalled);
}
