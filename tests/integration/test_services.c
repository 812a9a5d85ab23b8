/* Request-aware queue groups, against both servers: responders are plain
 * blocking socket clients (one thread each), requesters libnats (its
 * mux-inbox requests and the old style) or a raw client that pipelines
 * requests. What both servers must do is asserted on both (every request is
 * answered or times out, replies are right); what ringbus adds is asserted
 * on ringbus only: a frozen member gets almost nothing, a slow one less than
 * its round-robin share, every member full means a busy (503) answer, and
 * /servicez counts it all, expiries included. No assertion on time: where a
 * busy machine could slow a reply past a timeout, the bound allows for it. */
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

TestSuite(services, .fini = itest_teardown, .timeout = 180);

#define WAIT_MS    5000
#define SUBJECT    "svc.req"
#define QUEUE      "workers"
#define MAX_MEMBER 8

static uint16_t mon_port;

static bool is_ringbus(void)
{
	return harness_kind_from_env() == HARNESS_RINGBUS;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts the server with monitoring on a free port and, on ringbus only,
 * @ringbus_args (NULL-terminated). */
static void start(const char *const *ringbus_args)
{
	mon_port = itest_start_monitored(is_ringbus() ? ringbus_args : NULL, NULL);
	cr_assert_eq(http_wait_listening(mon_port, WAIT_MS), 0);
}

/* ---- responders: plain blocking clients ---- */

enum member_kind {
	MEMBER_REPLIES,  /* answers "ok" after @delay_us */
	MEMBER_FROZEN,   /* subscribes, then reads nothing */
	MEMBER_FORWARDS, /* answers through a second connection */
	MEMBER_SILENT,   /* reads every request, answers none */
};

struct member {
	enum member_kind kind;
	unsigned delay_us;
	atomic_bool ready;
	atomic_bool stop;
	atomic_uint handled; /* requests read */
	int err;
	char why[160];
	pthread_t th;
};

static int member_connect(struct raw_conn **c)
{
	int r = raw_connect(itest_srv.port, c);
	if (r == 0)
		r = raw_handshake(*c, ITEST_QUIET, NULL, 0);
	return r;
}

/* Reads one MSG (its line and payload): 0 with its reply subject in
 * @reply, -ETIMEDOUT, or another -errno. */
static int member_read(struct raw_conn *c, char *reply, size_t cap, int timeout_ms)
{
	char line[512], subj[256], sid[64], payload[256];
	ssize_t n = raw_read_line(c, line, sizeof line, timeout_ms);
	if (n < 0)
		return (int)n;
	unsigned len = 0;
	reply[0] = 0;
	if (sscanf(line, "MSG %255s %63s %255s %u", subj, sid, reply, &len) != 4)
		return -EBADMSG;
	(void)cap;
	n = raw_read_line(c, payload, sizeof payload, WAIT_MS);
	return n < 0 ? (int)n : 0;
}

static void *member_main(void *arg)
{
	struct member *m = arg;
	struct raw_conn *c = NULL, *out = NULL;
	int r = member_connect(&c);
	if (r == 0 && m->kind == MEMBER_FORWARDS)
		r = member_connect(&out);
	if (r == 0)
		r = raw_send_str(c, "SUB " SUBJECT " " QUEUE " 1\r\nPING\r\n");
	if (r == 0)
		r = raw_expect_str(c, "PONG\r\n");
	if (r) {
		m->err = r;
		snprintf(m->why, sizeof m->why, "member: %s", c ? raw_why(c) : strerror(-r));
		atomic_store(&m->ready, true);
		raw_close(c);
		return NULL;
	}
	atomic_store(&m->ready, true);
	while (!atomic_load(&m->stop)) {
		if (m->kind == MEMBER_FROZEN) {
			usleep(10000);
			continue;
		}
		char reply[256];
		r = member_read(c, reply, sizeof reply, 100);
		if (r == -ETIMEDOUT)
			continue;
		if (r) {
			m->err = r;
			snprintf(m->why, sizeof m->why, "member read: %s", raw_why(c));
			break;
		}
		atomic_fetch_add(&m->handled, 1);
		if (m->kind == MEMBER_SILENT)
			continue;
		if (m->delay_us)
			usleep(m->delay_us);
		char pub[320];
		snprintf(pub, sizeof pub, "PUB %s 2\r\nok\r\n", reply);
		r = raw_send_str(m->kind == MEMBER_FORWARDS ? out : c, pub);
		if (r) {
			m->err = r;
			snprintf(m->why, sizeof m->why, "member send: %s", raw_why(c));
			break;
		}
	}
	if (m->kind == MEMBER_FROZEN) {
		/* what it was handed waits in its socket: count it */
		char reply[256];
		while (member_read(c, reply, sizeof reply, 200) == 0)
			atomic_fetch_add(&m->handled, 1);
	}
	raw_close(out);
	raw_close(c);
	return NULL;
}

static void members_start(struct member *ms, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(pthread_create(&ms[i].th, NULL, member_main, &ms[i]), 0);
	for (int i = 0; i < n; i++) {
		for (int64_t end = now_ms() + WAIT_MS;
		     !atomic_load(&ms[i].ready) && now_ms() < end;)
			usleep(1000);
		cr_assert(atomic_load(&ms[i].ready), "member %d did not start", i);
		cr_assert_eq(ms[i].err, 0, "member %d: %s", i, ms[i].why);
	}
}

static void members_stop(struct member *ms, int n)
{
	for (int i = 0; i < n; i++)
		atomic_store(&ms[i].stop, true);
	for (int i = 0; i < n; i++) {
		pthread_join(ms[i].th, NULL);
		cr_expect_eq(ms[i].err, 0, "member %d: %s", i, ms[i].why);
	}
}

/* ---- requesters ---- */

struct tally {
	int ok, timeouts, no_responders, wrong;
};

/* @n requests one after the other, each waiting @timeout_ms. */
static void request_n(natsConnection *nc, int n, int timeout_ms, struct tally *t)
{
	for (int i = 0; i < n; i++) {
		natsMsg *reply = NULL;
		natsStatus s = natsConnection_RequestString(&reply, nc, SUBJECT, "job", timeout_ms);
		if (s == NATS_OK) {
			if (natsMsg_GetDataLength(reply) == 2 &&
			    !memcmp(natsMsg_GetData(reply), "ok", 2))
				t->ok++;
			else
				t->wrong++;
			natsMsg_Destroy(reply);
		} else if (s == NATS_TIMEOUT) {
			t->timeouts++;
		} else if (s == NATS_NO_RESPONDERS) {
			t->no_responders++;
		} else {
			t->wrong++;
		}
	}
}

struct req_thread {
	natsConnection *nc;
	int n;
	int timeout_ms;
	struct tally t;
	pthread_t th;
};

static void *req_main(void *arg)
{
	struct req_thread *r = arg;
	request_n(r->nc, r->n, r->timeout_ms, &r->t);
	return NULL;
}

/* ---- /servicez ---- */

/* Field @field of service SUBJECT/QUEUE in /servicez (-1: not found). */
static int64_t svc_field(const char *field)
{
	struct http_resp r;
	cr_assert_eq(http_request(mon_port, "GET", "/servicez", &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cJSON *root = cJSON_Parse(r.body);
	cr_assert_not_null(root, "/servicez is not JSON: %s", r.body);
	int64_t v = -1;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(root, "services"))
	{
		const cJSON *subj = cJSON_GetObjectItem(s, "subject");
		const cJSON *q = cJSON_GetObjectItem(s, "queue");
		const cJSON *f = cJSON_GetObjectItem(s, field);
		if (cJSON_IsString(subj) && !strcmp(subj->valuestring, SUBJECT) &&
		    cJSON_IsString(q) && !strcmp(q->valuestring, QUEUE) && cJSON_IsNumber(f))
			v = (int64_t)f->valuedouble;
	}
	cJSON_Delete(root);
	http_resp_fini(&r);
	return v;
}

/* Waits (bounded) until /servicez's @field reads @want; returns the last. */
static int64_t svc_wait(const char *field, int64_t want)
{
	int64_t v = svc_field(field);
	for (int64_t end = now_ms() + 10000; v != want && now_ms() < end; v = svc_field(field))
		usleep(20000);
	return v;
}

/* ---- tests ---- */

/* One member of four stops reading. nats-server keeps handing it a quarter
 * of the requests; ringbus hands it one and then none while it holds that
 * one (the others are idle whenever a request is picked: a member's reply
 * is counted before it reaches the requester). A fast member's reply that
 * came too late on a loaded machine can tie it with the frozen one once:
 * the bound allows one more request to the frozen member per such reply. */
Test(services, a_frozen_member_gets_one_request_and_then_none)
{
	const char *args[] = {"--request-expiry", "120s", NULL};
	start(args);
	struct member ms[4] = {{.kind = MEMBER_REPLIES, .delay_us = 1000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 1000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 1000},
	                       {.kind = MEMBER_FROZEN}};
	members_start(ms, 4);
	natsConnection *nc = itest_nats(NULL);
	/* nats-server times a quarter out: a short wait keeps the test short */
	int n = 200, timeout_ms = is_ringbus() ? 2000 : 100;
	struct tally t = {0};
	request_n(nc, n, timeout_ms, &t);
	members_stop(ms, 4);
	unsigned frozen = atomic_load(&ms[3].handled);
	cr_expect_eq(t.ok + t.timeouts, n, "ok %d timeouts %d no-responders %d wrong %d", t.ok,
	             t.timeouts, t.no_responders, t.wrong);
	cr_expect_eq(t.wrong, 0);
	cr_expect_eq((unsigned)t.timeouts >= frozen, true, "timeouts %d, frozen handed %u",
	             t.timeouts, frozen);
	if (is_ringbus()) {
		unsigned late = (unsigned)t.timeouts - frozen; /* fast members' late replies */
		cr_expect(frozen <= 1 + late, "the frozen member was handed %u requests (%u late)",
		          frozen, late);
		cr_expect_eq(svc_wait("members", 0), 0, "members left");
		/* what the frozen member held when it left is counted, not lost */
		cr_expect_eq(svc_field("abandoned"), frozen);
		cr_expect_eq(svc_field("requests"), svc_field("replies") + frozen);
		cr_expect_eq(svc_field("outstanding"), 0);
	}
	fprintf(stderr, "frozen member: %u of %d requests, %d timed out (%s)\n", frozen, n,
	        t.timeouts, is_ringbus() ? "ringbus" : "nats-server");
}

/* Round robin when asked (--request-aware=false): the frozen member gets
 * its quarter, as on nats-server. */
Test(services, request_aware_false_is_round_robin)
{
	if (!is_ringbus())
		cr_skip_test("a ringbus switch");
	const char *args[] = {"--request-aware=false", NULL};
	start(args);
	struct member ms[4] = {{.kind = MEMBER_REPLIES},
	                       {.kind = MEMBER_REPLIES},
	                       {.kind = MEMBER_REPLIES},
	                       {.kind = MEMBER_FROZEN}};
	members_start(ms, 4);
	natsConnection *nc = itest_nats(NULL);
	struct tally t = {0};
	request_n(nc, 40, 100, &t);
	members_stop(ms, 4);
	unsigned frozen = atomic_load(&ms[3].handled);
	cr_expect_eq(frozen, 10, "round robin hands the frozen member 10 of 40, not %u", frozen);
	cr_expect_eq(svc_field("requests"), 0, "nothing is tracked");
}

/* A member twenty times slower than the other three, four requesters at
 * once: the slow one gets less than its round-robin share on ringbus. */
Test(services, a_slow_member_gets_less_than_its_share)
{
	start(NULL);
	struct member ms[4] = {{.kind = MEMBER_REPLIES, .delay_us = 1000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 1000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 1000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 20000}};
	members_start(ms, 4);
	struct req_thread rt[4];
	for (int i = 0; i < 4; i++) {
		rt[i] =
		    (struct req_thread){.nc = itest_nats(NULL), .n = 100, .timeout_ms = WAIT_MS};
		cr_assert_eq(pthread_create(&rt[i].th, NULL, req_main, &rt[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(rt[i].th, NULL);
		ok += rt[i].t.ok;
		cr_expect_eq(rt[i].t.wrong + rt[i].t.no_responders, 0);
	}
	members_stop(ms, 4);
	unsigned slow = atomic_load(&ms[3].handled);
	cr_expect_eq(ok, 400, "%d of 400 answered", ok);
	if (is_ringbus())
		cr_expect_lt(slow, 100u, "the slow member got %u of 400 (round robin: 100)", slow);
	fprintf(stderr, "slow member: %u of 400\n", slow);
}

/* Pipelines @n requests (headers, no_responders) from a raw client and
 * reads every answer: replies counted in *@ok, 503 statuses in *@busy. */
static void pipeline_requests(int n, int *ok, int *busy)
{
	struct raw_conn *c = itest_raw(
	    "{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}");
	ITEST_RAW_OK(c, raw_send_str(c, "SUB _INBOX.t.* 9\r\nPING\r\n"));
	ITEST_RAW_OK(c, raw_expect_str(c, "PONG\r\n"));
	size_t cap = (size_t)n * 64, len = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(
		    buf + len, cap - len,
		    "HPUB " SUBJECT " _INBOX.t.%d 12 12\r\nNATS/1.0\r\n\r\n\r\n", i);
	ITEST_RAW_OK(c, raw_send(c, buf, len));
	free(buf);
	*ok = *busy = 0;
	for (int i = 0; i < n; i++) {
		struct raw_msg m;
		ITEST_RAW_OK(c, raw_read_msg(c, &m, 30000));
		if (m.has_headers && strstr(m.data, "NATS/1.0 503"))
			(*busy)++;
		else if (m.len == 2 && !memcmp(m.data, "ok", 2))
			(*ok)++;
		raw_msg_fini(&m);
	}
	raw_close(c);
}

/* Two members that take 20 ms each, at most two requests in flight each,
 * 200 requests at once: ringbus answers the rest busy at once (nats-server
 * queues them all and serves them). Every request gets one answer. */
Test(services, every_member_full_answers_busy)
{
	const char *args[] = {"--max-inflight", "2", NULL};
	start(args);
	struct member ms[2] = {{.kind = MEMBER_REPLIES, .delay_us = 20000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 20000}};
	members_start(ms, 2);
	int ok, busy;
	pipeline_requests(200, &ok, &busy);
	members_stop(ms, 2);
	cr_expect_eq(ok + busy, 200, "ok %d busy %d", ok, busy);
	if (is_ringbus()) {
		cr_expect_geq(ok, 4, "the members' room is served");
		cr_expect_gt(busy, 0);
		cr_expect_eq(svc_field("busy"), busy);
		cr_expect_eq(svc_field("max_inflight"), 2);
	} else {
		cr_expect_eq(ok, 200);
	}
}

/* A requester that gives every request the same reply subject and tells
 * the answers apart by their contents, three requests in flight at a time
 * (one sent as each answer comes): each answer counts for the oldest
 * request with that subject, so none is left outstanding and a member with
 * room is never taken for a full one (--max-inflight 4: one request left
 * behind per answer would fill it at once). */
Test(services, requests_sharing_a_reply_subject_are_answered_in_turn)
{
	const char *args[] = {"--max-inflight", "4", "--request-expiry", "120s", NULL};
	start(args);
	struct member ms[1] = {{.kind = MEMBER_REPLIES, .delay_us = 1000}};
	members_start(ms, 1);
	struct raw_conn *c = itest_raw(
	    "{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}");
	ITEST_RAW_OK(c, raw_send_str(c, "SUB _INBOX.shared 9\r\nPING\r\n"));
	ITEST_RAW_OK(c, raw_expect_str(c, "PONG\r\n"));
	const char *req = "HPUB " SUBJECT " _INBOX.shared 12 12\r\nNATS/1.0\r\n\r\n\r\n";
	int ok = 0, busy = 0, sent = 0, n = 60, window = 3;
	for (; sent < window; sent++)
		ITEST_RAW_OK(c, raw_send_str(c, req));
	for (int got = 0; got < n; got++) {
		struct raw_msg m;
		ITEST_RAW_OK(c, raw_read_msg(c, &m, 30000));
		if (m.has_headers && strstr(m.data, "NATS/1.0 503"))
			busy++;
		else if (m.len == 2 && !memcmp(m.data, "ok", 2))
			ok++;
		raw_msg_fini(&m);
		if (sent < n && ++sent)
			ITEST_RAW_OK(c, raw_send_str(c, req));
	}
	raw_close(c);
	cr_expect_eq(ok, n, "ok %d busy %d", ok, busy);
	cr_expect_eq(busy, 0);
	if (is_ringbus()) {
		cr_expect_eq(svc_wait("replies", n), n);
		cr_expect_eq(svc_field("outstanding"), 0);
		cr_expect_eq(svc_field("expired"), 0);
	}
	members_stop(ms, 1);
}

/* With a wait, requests the members' pace can serve in time wait at the
 * router instead: after a warm-up that teaches the router the pace, a burst
 * of 100 is served whole. */
Test(services, a_queue_wait_serves_what_the_pace_allows)
{
	if (!is_ringbus())
		cr_skip_test("a ringbus policy");
	const char *args[] = {"--max-inflight", "2", "--queue-wait", "20s", NULL};
	start(args);
	struct member ms[2] = {{.kind = MEMBER_REPLIES, .delay_us = 2000},
	                       {.kind = MEMBER_REPLIES, .delay_us = 2000}};
	members_start(ms, 2);
	natsConnection *nc = itest_nats(NULL);
	struct tally t = {0};
	request_n(nc, 20, WAIT_MS, &t); /* the pace */
	cr_expect_eq(t.ok, 20);
	int ok, busy;
	pipeline_requests(100, &ok, &busy);
	members_stop(ms, 2);
	cr_expect_eq(ok, 100, "ok %d busy %d", ok, busy);
	cr_expect_gt(svc_field("queued"), 0);
	cr_expect_eq(svc_wait("waiting", 0), 0);
}

/* A member that reads requests and never answers: each expires, and the
 * count in flight returns to 0. */
Test(services, requests_without_replies_expire)
{
	if (!is_ringbus())
		cr_skip_test("ringbus's /servicez");
	const char *args[] = {"--request-expiry", "200ms", NULL};
	start(args);
	struct member ms[1] = {{.kind = MEMBER_SILENT}};
	members_start(ms, 1);
	natsConnection *nc = itest_nats(NULL);
	struct tally t = {0};
	request_n(nc, 10, 20, &t);
	cr_expect_eq(t.timeouts, 10);
	cr_expect_eq(svc_wait("expired", 10), 10);
	cr_expect_eq(svc_field("outstanding"), 0);
	members_stop(ms, 1);
}

/* A member that answers through another connection: the requester gets
 * every reply; ringbus does not see them as replies, so they expire. */
Test(services, a_reply_from_another_connection_is_delivered)
{
	const char *args[] = {"--request-expiry", "200ms", NULL};
	start(args);
	struct member ms[1] = {{.kind = MEMBER_FORWARDS}};
	members_start(ms, 1);
	natsConnection *nc = itest_nats(NULL);
	struct tally t = {0};
	request_n(nc, 20, WAIT_MS, &t);
	cr_expect_eq(t.ok, 20, "ok %d timeouts %d", t.ok, t.timeouts);
	if (is_ringbus()) { /* while the member is there: its leaving ends its count */
		cr_expect_eq(svc_wait("expired", 20), 20);
		cr_expect_eq(svc_field("outstanding"), 0);
	}
	members_stop(ms, 1);
}

/* libnats's old request style (a new inbox subscription per request). */
Test(services, old_style_requests_are_tracked)
{
	start(NULL);
	struct member ms[2] = {{.kind = MEMBER_REPLIES}, {.kind = MEMBER_REPLIES}};
	members_start(ms, 2);
	natsOptions *o = NULL;
	ITEST_NATS_OK(natsOptions_Create(&o));
	ITEST_NATS_OK(natsOptions_UseOldRequestStyle(o, true));
	natsConnection *nc = itest_nats(o);
	natsOptions_Destroy(o);
	struct tally t = {0};
	request_n(nc, 50, WAIT_MS, &t);
	members_stop(ms, 2);
	cr_expect_eq(t.ok, 50, "ok %d timeouts %d", t.ok, t.timeouts);
	if (is_ringbus()) {
		cr_expect_eq(svc_field("replies"), 50);
		cr_expect_eq(svc_field("outstanding"), 0);
	}
}

/* The group's only member unsubscribed: no responders, as before. */
Test(services, a_group_whose_members_left_has_no_responders)
{
	start(NULL);
	struct raw_conn *m = itest_raw(ITEST_QUIET);
	ITEST_RAW_OK(m, raw_send_str(m, "SUB " SUBJECT " " QUEUE " 1\r\nUNSUB 1\r\nPING\r\n"));
	ITEST_RAW_OK(m, raw_expect_str(m, "PONG\r\n"));
	natsConnection *nc = itest_nats(NULL);
	struct tally t = {0};
	request_n(nc, 5, WAIT_MS, &t);
	cr_expect_eq(t.no_responders, 5, "no-responders %d timeouts %d", t.no_responders,
	             t.timeouts);
	raw_close(m);
}
