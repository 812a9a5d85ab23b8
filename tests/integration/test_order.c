/* Delivery promises with plain blocking clients, against nats-server and
 * ringbus: one publisher's messages reach every subscriber in the order they
 * were published whatever their subjects (wildcards, several literal
 * subscriptions on one connection, queue groups, many I/O threads and
 * shards), and nothing is lost where nats-server loses nothing (fan-out,
 * fan-in, a slow reader, a reader that stopped beside a healthy one).
 * Every test asserts counts and order, never a rate or a duration. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tests/integration/bclient.h"
#include "tests/integration/itest.h"

TestSuite(order, .fini = itest_teardown, .timeout = 280);

/* Fewer messages under the sanitizers, which slow the server several times. */
#define SCALE(n) (RINGBUS_TEST_SANITIZED ? (n) / 5 : (n))
#define IDLE_MS  30000 /* a subscriber gives up after this long without a byte */

/* Starts the server; for ringbus, with more threads and shards than cores
 * when @many (so that every path that could reorder is exercised). */
static void start(bool many)
{
	static const char *const many_args[] = {"--io-threads", "4",  "--workers", "4",
	                                        "--shards",     "16", NULL};
	struct harness_opts o = {0};
	if (many && harness_kind_from_env() == HARNESS_RINGBUS)
		o.args = many_args;
	itest_start(&o);
}

static void sub_init(struct bc_sub *s, const char *queue, uint64_t expect)
{
	memset(s, 0, sizeof(*s));
	s->port = itest_srv.port;
	s->queue = queue;
	s->expect = expect;
	s->idle_ms = IDLE_MS;
}

static void pub_init(struct bc_pub *p, uint32_t id, uint64_t msgs, uint32_t size)
{
	memset(p, 0, sizeof(*p));
	p->port = itest_srv.port;
	p->id = id;
	p->msgs = msgs;
	p->size = size;
}

static const char *const o_subjects[16] = {"o.0",  "o.1",  "o.2",  "o.3", "o.4",  "o.5",
                                           "o.6",  "o.7",  "o.8",  "o.9", "o.10", "o.11",
                                           "o.12", "o.13", "o.14", "o.15"};

/* Runs @npubs publishers and @nsubs subscribers (all already filled in),
 * subscribers first, and waits for all of them. */
static void run(struct bc_pub *pubs, int npubs, struct bc_sub *subs, int nsubs)
{
	pthread_t pt[BC_MAX_PUBS], st[16];
	for (int i = 0; i < nsubs; i++)
		cr_assert_eq(pthread_create(&st[i], NULL, bc_sub_main, &subs[i]), 0);
	for (int i = 0; i < nsubs; i++)
		cr_assert(bc_sub_wait_ready(&subs[i], 10000), "subscriber %d: %s", i, subs[i].why);
	for (int i = 0; i < npubs; i++)
		cr_assert_eq(pthread_create(&pt[i], NULL, bc_pub_main, &pubs[i]), 0);
	for (int i = 0; i < npubs; i++)
		pthread_join(pt[i], NULL);
	for (int i = 0; i < nsubs; i++)
		pthread_join(st[i], NULL);
	for (int i = 0; i < npubs; i++)
		cr_assert_eq(pubs[i].err, 0, "publisher %d: %s", i, pubs[i].why);
}

/* Every message of every publisher, each once, in order. */
static void expect_all_in_order(const struct bc_sub *s, int which, uint64_t per_pub, int npubs)
{
	cr_expect_eq(s->err, 0, "subscriber %d: %s", which, s->why);
	cr_expect_eq(s->out_of_order, 0, "subscriber %d: %llu messages out of order", which,
	             (unsigned long long)s->out_of_order);
	cr_expect_eq(s->gaps, 0, "subscriber %d: %llu gaps", which, (unsigned long long)s->gaps);
	cr_expect(!s->closed, "subscriber %d was disconnected", which);
	for (int p = 0; p < npubs; p++)
		cr_expect_eq(s->per_pub[p], per_pub,
		             "subscriber %d got %llu of %llu from publisher %d (%s)", which,
		             (unsigned long long)s->per_pub[p], (unsigned long long)per_pub, p,
		             s->why);
}

static void wildcard_order(bool many)
{
	start(many);
	uint64_t n = SCALE(200000);
	struct bc_pub p;
	pub_init(&p, 0, n, 32);
	memcpy(p.subjects, o_subjects, sizeof(o_subjects));
	p.nsubjects = 16;
	struct bc_sub s[2];
	for (int i = 0; i < 2; i++) {
		sub_init(&s[i], NULL, n);
		s[i].subjects[0] = "o.>";
		s[i].nsubjects = 1;
	}
	run(&p, 1, s, 2);
	for (int i = 0; i < 2; i++)
		expect_all_in_order(&s[i], i, n, 1);
}

Test(order, one_publisher_over_16_subjects_reaches_wildcard_subscribers_in_order)
{
	wildcard_order(false);
}

Test(order, wildcard_order_holds_with_more_threads_and_shards_than_cores)
{
	wildcard_order(true);
}

static void literal_order(bool many)
{
	start(many);
	uint64_t n = SCALE(200000);
	struct bc_pub p;
	pub_init(&p, 0, n, 32);
	memcpy(p.subjects, o_subjects, sizeof(o_subjects));
	p.nsubjects = 16;
	struct bc_sub s;
	sub_init(&s, NULL, n);
	memcpy(s.subjects, o_subjects, sizeof(o_subjects));
	s.nsubjects = 16;
	run(&p, 1, &s, 1);
	expect_all_in_order(&s, 0, n, 1);
}

Test(order, a_connection_with_16_literal_subscriptions_sees_publisher_order)
{
	literal_order(false);
}

Test(order, literal_order_holds_with_more_threads_and_shards_than_cores)
{
	literal_order(true);
}

Test(order, queue_group_members_each_see_publisher_order_and_share_every_message)
{
	start(true);
	uint64_t n = SCALE(200000);
	struct bc_pub p;
	pub_init(&p, 0, n, 32);
	memcpy(p.subjects, o_subjects, sizeof(o_subjects));
	p.nsubjects = 16;
	struct bc_sub s[3];
	for (int i = 0; i < 3; i++) {
		sub_init(&s[i], "workers", n); /* stops when idle: the group shares n */
		s[i].subjects[0] = "o.>";
		s[i].nsubjects = 1;
		s[i].idle_ms = 3000;
	}
	run(&p, 1, s, 3);
	uint64_t total = 0;
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(s[i].err, 0, "member %d: %s", i, s[i].why);
		cr_expect_eq(s[i].out_of_order, 0, "member %d: %llu out of order", i,
		             (unsigned long long)s[i].out_of_order);
		cr_expect(!s[i].closed, "member %d was disconnected", i);
		total += s[i].got;
	}
	cr_expect_eq(total, n, "the group got %llu of %llu", (unsigned long long)total,
	             (unsigned long long)n);
}

/* 4 publishers on p.0..p.3, written as fast as the socket takes them, and 4
 * subscribers on p.>: 16 streams, nothing lost, nobody disconnected. */
static void fan_out(bool many)
{
	start(many);
	uint64_t n = SCALE(250000);
	struct bc_pub p[4];
	static const char *const subj[4] = {"p.0", "p.1", "p.2", "p.3"};
	for (int i = 0; i < 4; i++) {
		pub_init(&p[i], (uint32_t)i, n, 128);
		p[i].subjects[0] = subj[i];
		p[i].nsubjects = 1;
	}
	struct bc_sub s[4];
	for (int i = 0; i < 4; i++) {
		sub_init(&s[i], NULL, 4 * n);
		s[i].subjects[0] = "p.>";
		s[i].nsubjects = 1;
	}
	run(p, 4, s, 4);
	for (int i = 0; i < 4; i++)
		expect_all_in_order(&s[i], i, n, 4);
}

Test(order, four_to_four_fan_out_with_blocking_clients_loses_nothing)
{
	fan_out(false);
}

Test(order, fan_out_loses_nothing_with_more_threads_and_shards_than_cores)
{
	fan_out(true);
}

Test(order, eight_publishers_into_one_subscriber_lose_nothing)
{
	start(false);
	uint64_t n = SCALE(100000);
	struct bc_pub p[8];
	static const char *const subj[8] = {"in.0", "in.1", "in.2", "in.3",
	                                    "in.4", "in.5", "in.6", "in.7"};
	for (int i = 0; i < 8; i++) {
		pub_init(&p[i], (uint32_t)i, n, 64);
		p[i].subjects[0] = subj[i];
		p[i].nsubjects = 1;
	}
	struct bc_sub s;
	sub_init(&s, NULL, 8 * n);
	s.subjects[0] = "in.*";
	s.nsubjects = 1;
	run(p, 8, &s, 1);
	expect_all_in_order(&s, 0, n, 8);
}

/* One publisher far faster than its subscriber: paused again and again, and
 * what it had sent past each pause (kept by the server and parsed when it
 * resumes; payloads may stay there until delivered) arrives whole, in order. */
static void slow_reader(bool many, uint32_t size, uint64_t n)
{
	start(many);
	struct bc_pub p;
	pub_init(&p, 0, n, size);
	p.subjects[0] = "slow";
	p.nsubjects = 1;
	struct bc_sub s;
	sub_init(&s, NULL, n);
	s.subjects[0] = "slow";
	s.nsubjects = 1;
	s.read_chunk = 16 * 1024; /* about 16 MB/s: far slower than the publisher */
	s.pause_us = 1000;
	run(&p, 1, &s, 1);
	expect_all_in_order(&s, 0, n, 1);
}

Test(order, a_slow_reader_loses_nothing)
{
	slow_reader(false, 1024, SCALE(20000));
}

/* Large payloads are sent from where they were kept (by reference), while
 * other threads route: the kept input must not be written over meanwhile. */
Test(order, a_slow_reader_of_large_messages_loses_nothing_with_more_threads_than_cores)
{
	slow_reader(true, 4096, SCALE(40000));
}

/* A subscriber that never reads (small kernel buffers) beside a healthy one:
 * the healthy one gets everything, in order, and the publisher finishes. */
Test(order, a_stalled_reader_does_not_cost_a_healthy_one_any_message)
{
	start(false);
	struct raw_conn *stalled = itest_raw(ITEST_QUIET);
	int sz = 16 * 1024;
	setsockopt(raw_fd(stalled), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	ITEST_SEND(stalled, "SUB iso 1\r\nPING\r\n");
	ITEST_EXPECT(stalled, "PONG\r\n");
	uint64_t n = SCALE(200000);
	struct bc_pub p;
	pub_init(&p, 0, n, 128);
	p.subjects[0] = "iso";
	p.nsubjects = 1;
	struct bc_sub s;
	sub_init(&s, NULL, n);
	s.subjects[0] = "iso";
	s.nsubjects = 1;
	run(&p, 1, &s, 1);
	expect_all_in_order(&s, 0, n, 1);
	raw_abort(stalled);
}
