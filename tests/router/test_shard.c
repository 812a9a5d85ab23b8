/* A shard driven without a server (a fake struct shard_env): results go back
 * to the I/O thread each batch came from, in order, every run ends with
 * exactly one end marker, queue groups get one member per message, and a
 * full result stream keeps its order for the next claim holder. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router/service.h"
#include "router/shard.h"

struct fake {
	int woken[4];
	int cleared;
	int trims;
};

static void fake_wake_io(void *ctx, int io)
{
	((struct fake *)ctx)->woken[io]++;
}

static void fake_cleared(void *ctx)
{
	((struct fake *)ctx)->cleared++;
}

static void fake_trim(void *ctx)
{
	((struct fake *)ctx)->trims++;
}

static void fake_low(void *ctx, uint64_t *bytes, uint64_t *msgs)
{
	(void)ctx;
	*bytes = 0;
	*msgs = 0;
}

static struct fake fk;
static struct shard sh;
static struct svc_table *svc; /* the request-aware suite's */

static void setup_with(int nio, uint32_t stream_size)
{
	if (sh.subs) /* the suite's .init ran before a test's own */
		shard_fini(&sh);
	memset(&fk, 0, sizeof(fk));
	memset(&sh, 0, sizeof(sh));
	struct shard_env env = {.ctx = &fk,
	                        .nio = nio,
	                        .wake_io = fake_wake_io,
	                        .marks_cleared = fake_cleared,
	                        .want_trim = fake_trim,
	                        .low_marks = fake_low,
	                        .svc = svc};
	static struct wake owner; /* never slept on: the test runs the shard */
	cr_assert_eq(shard_init(&sh, 0, &env, &owner, 64, stream_size), 0);
}

static void teardown(void)
{
	shard_fini(&sh);
	svc_table_free(svc);
	svc = NULL;
}

/* A connection id of I/O thread @io (as io/loop makes them). */
static uint64_t conn_of(int io, uint32_t slot)
{
	return ((uint64_t)io << 56) | (1ull << 32) | slot;
}

static struct mentry *add(struct mbatch *b, enum mentry_kind kind, uint64_t conn, const char *a,
                          const char *c, size_t extra)
{
	size_t la = a ? strlen(a) : 0, lc = c ? strlen(c) : 0;
	struct mentry *e = mbatch_add(b, kind, la + lc + extra);
	cr_assert_not_null(e);
	memcpy(b->arena + e->off, a, la);
	if (lc)
		memcpy(b->arena + e->off + la, c, lc);
	e->payload = b->arena + e->off + la; /* a MSG's, after its subject */
	e->conn = conn;
	return e;
}

/* SUB @subj [@queue] with sid "1" numbered @subid for @conn. */
static void add_sub(struct mbatch *b, uint64_t conn, const char *subj, const char *queue,
                    uint32_t subid)
{
	size_t ls = strlen(subj), lq = queue ? strlen(queue) : 0;
	struct mentry *e = mbatch_add(b, MENTRY_SUB, ls + lq + 1);
	memcpy(b->arena + e->off, subj, ls);
	if (lq)
		memcpy(b->arena + e->off + ls, queue, lq);
	b->arena[e->off + ls + lq] = '1';
	e->conn = conn;
	e->subject_len = (uint16_t)ls;
	e->reply_len = (uint16_t)lq;
	e->sid_len = 1;
	e->aux = subid;
}

static struct mentry *add_msg(struct mbatch *b, uint64_t conn, const char *subj,
                              const char *payload)
{
	struct mentry *e = add(b, MENTRY_MSG, conn, subj, payload, 0);
	e->subject_len = (uint16_t)strlen(subj);
	e->len = (uint32_t)strlen(payload);
	b->nmsgs++;
	b->bytes += e->len;
	return e;
}

static struct mbatch *batch_from(int io)
{
	struct mbatch *b = mbatch_new(64, 4096);
	cr_assert_not_null(b);
	b->src = (uint16_t)io;
	return b;
}

/* Queues @b (its last entry ends a run, as an I/O thread leaves every batch)
 * and runs the shard once. */
static void run_batch(struct mbatch *b)
{
	b->e[b->n - 1].flags |= MENTRY_F_RUN_END;
	cr_assert(ring_push_mpmc(&sh.in, b));
	cr_assert(shard_try_claim(&sh));
	shard_run(&sh, 64);
	shard_release(&sh);
}

/* Pops every result for @io into @out (at most @cap). */
static size_t results(int io, struct delivery *out, size_t cap, const char **payloads)
{
	size_t n = 0;
	struct dbatch *db;
	while (shard_pop_results(&sh, io, &db)) {
		for (uint32_t i = 0; i < db->n && n < cap; i++, n++) {
			out[n] = db->d[i];
			if (payloads && db->d[i].e && db->d[i].kind == DELIVERY_MSG) {
				static char buf[256][16];
				static unsigned next;
				char *slot = buf[next++ % 256];
				const struct mentry *e = db->d[i].e;
				snprintf(slot, sizeof buf[0], "%.*s", (int)e->len,
				         mentry_str(db->d[i].b, e) + e->subject_len);
				payloads[n] = slot;
			}
		}
		dbatch_free(db);
	}
	return n;
}

static void setup2(void)
{
	setup_with(2, 64);
}

TestSuite(shard, .init = setup2, .fini = teardown);

Test(shard, results_go_back_to_the_thread_the_batch_came_from)
{
	uint64_t sub = conn_of(0, 3), pub = conn_of(1, 7);
	struct mbatch *b = batch_from(1);
	add_sub(b, sub, "a.b", NULL, 11);
	b->e[0].flags |= MENTRY_F_RUN_END;
	add_msg(b, pub, "a.b", "x");
	run_batch(b);
	struct delivery d[8];
	cr_expect_eq(results(0, d, 8, NULL), 0, "nothing for thread 0");
	size_t n = results(1, d, 8, NULL);
	cr_assert_eq(n, 2);
	cr_expect_eq(d[0].kind, DELIVERY_NONE); /* the SUB's run made no result */
	cr_expect_eq(d[0].flags, DELIVERY_F_END);
	cr_expect_eq(d[1].kind, DELIVERY_MSG);
	cr_expect_eq(d[1].conn, sub, "to the subscriber, through the publisher's thread");
	cr_expect_eq(d[1].subid, 11);
	cr_expect_eq(d[1].flags, DELIVERY_F_END);
	cr_expect_eq(fk.woken[1], 1);
	cr_expect_eq(fk.woken[0], 0);
}

Test(shard, every_run_ends_with_exactly_one_end_marker)
{
	uint64_t s1 = conn_of(0, 1), s2 = conn_of(0, 2), pub = conn_of(0, 9);
	struct mbatch *b = batch_from(0);
	add_sub(b, s1, "t", NULL, 1);
	add_sub(b, s2, "t", NULL, 2);
	b->e[1].flags |= MENTRY_F_RUN_END; /* run 1: two SUBs */
	add_msg(b, pub, "t", "m1");
	add_msg(b, pub, "t", "m2");
	b->e[3].flags |= MENTRY_F_RUN_END; /* run 2: two messages, two deliveries each */
	add_msg(b, pub, "nobody", "m3");   /* run 3: a message nobody wants */
	run_batch(b);
	struct delivery d[16];
	const char *pl[16] = {0};
	size_t n = results(0, d, 16, pl);
	cr_assert_eq(n, 6);
	static const uint16_t kinds[] = {DELIVERY_NONE, DELIVERY_MSG, DELIVERY_MSG,
	                                 DELIVERY_MSG,  DELIVERY_MSG, DELIVERY_NONE};
	static const uint16_t ends[] = {1, 0, 0, 0, 1, 1};
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(d[i].kind, kinds[i], "result %zu", i);
		cr_expect_eq(d[i].flags & DELIVERY_F_END, ends[i], "result %zu", i);
	}
	cr_expect_str_eq(pl[1], "m1");
	cr_expect_str_eq(pl[2], "m1");
	cr_expect_str_eq(pl[3], "m2");
	cr_expect_str_eq(pl[4], "m2");
}

/* A message with more than one delivery says so in each of them (its payload
 * then goes by reference from 1 KiB: router/client_int.h); one delivered
 * once, or to one member of a group, does not. */
Test(shard, deliveries_of_a_message_with_several_say_it_is_shared)
{
	uint64_t pub = conn_of(0, 9);
	struct mbatch *b = batch_from(0);
	add_sub(b, conn_of(0, 1), "two", NULL, 1);
	add_sub(b, conn_of(0, 2), "two", NULL, 2);
	add_sub(b, conn_of(0, 3), "one", NULL, 3);
	add_sub(b, conn_of(0, 4), "q", "g", 4); /* a sid per connection: one each */
	add_sub(b, conn_of(0, 5), "q", "g", 5);
	b->e[4].flags |= MENTRY_F_RUN_END;
	add_msg(b, pub, "two", "a");
	add_msg(b, pub, "one", "b");
	add_msg(b, pub, "q", "c");
	b->e[7].flags |= MENTRY_F_RUN_END;
	run_batch(b);
	struct delivery d[16];
	size_t n = results(0, d, 16, NULL);
	cr_assert_eq(n, 5);
	static const uint16_t shared[] = {0, DELIVERY_F_SHARED, DELIVERY_F_SHARED, 0, 0};
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(d[i].flags & DELIVERY_F_SHARED, shared[i], "result %zu", i);
}

Test(shard, a_queue_group_gets_one_member_per_message_in_turn)
{
	struct mbatch *b = batch_from(0);
	for (uint32_t i = 0; i < 3; i++)
		add_sub(b, conn_of(0, 10 + i), "job", "workers", 1);
	for (int i = 0; i < 30; i++)
		add_msg(b, conn_of(0, 1), "job", "j");
	run_batch(b);
	struct delivery d[64];
	size_t n = results(0, d, 64, NULL);
	int per[3] = {0};
	size_t msgs = 0;
	for (size_t i = 0; i < n; i++)
		if (d[i].kind == DELIVERY_MSG) {
			msgs++;
			per[(uint32_t)d[i].conn - 10]++;
		}
	cr_expect_eq(msgs, 30, "one member per message");
	for (int m = 0; m < 3; m++)
		cr_expect_eq(per[m], 10, "member %d got %d", m, per[m]);
}

Test(shard, echo_off_skips_the_publisher_and_an_unsub_is_acknowledged)
{
	uint64_t me = conn_of(0, 4), other = conn_of(0, 5);
	struct mbatch *b = batch_from(0);
	add_sub(b, me, "e", NULL, 1);
	add_sub(b, other, "e", NULL, 1);
	struct mentry *m = add_msg(b, me, "e", "x");
	m->flags |= MENTRY_F_NO_ECHO;
	struct mentry *u = add(b, MENTRY_UNSUB, me, "1", NULL, 0);
	u->sid_len = 1;
	u->aux = 1;
	run_batch(b);
	struct delivery d[8];
	size_t n = results(0, d, 8, NULL);
	cr_assert_eq(n, 2);
	cr_expect_eq(d[0].kind, DELIVERY_MSG);
	cr_expect_eq(d[0].conn, other, "not to the publisher itself");
	cr_expect_eq(d[1].kind, DELIVERY_UNSUBBED);
	cr_expect_eq(d[1].conn, me);
	cr_expect_eq(d[1].subid, 1);
	cr_expect_eq(d[1].flags, DELIVERY_F_END);
}

static void setup_small(void)
{
	setup_with(1, 4); /* a stream ring of 3 dbatches */
}

/* A suite of its own: a test's .init runs after its suite's, which would
 * set a second shard up over the first. */
TestSuite(shard_small, .init = setup_small, .fini = teardown);

Test(shard_small, a_full_stream_keeps_its_order_for_the_next_claim_holder)
{
	uint64_t sub = conn_of(0, 1);
	struct mbatch *b = batch_from(0);
	add_sub(b, sub, "f", NULL, 1);
	run_batch(b);
	char text[8];
	for (int i = 0; i < 6; i++) { /* one dbatch per run: 3 fit, 3 wait */
		b = batch_from(0);
		snprintf(text, sizeof text, "%d", i);
		add_msg(b, conn_of(0, 2), "f", text);
		run_batch(b);
	}
	cr_expect_eq(atomic_load(&sh.npending), 4, "7 dbatches, 3 in the ring");
	cr_expect(shard_has_work(&sh), "results waiting for room are work");
	struct delivery d[16];
	const char *pl[16] = {0};
	size_t n = 0;
	for (int rounds = 0; rounds < 10; rounds++) {
		n += results(0, d + n, 16 - n, pl + n);
		if (atomic_load(&sh.npending) == 0)
			break;
		cr_assert(shard_try_claim(&sh));
		shard_run(&sh, 64); /* nothing to apply: pushes what waited */
		shard_release(&sh);
	}
	cr_expect_eq(atomic_load(&sh.npending), 0);
	cr_assert_eq(n, 7);
	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof text, "%d", i);
		cr_expect_str_eq(pl[i + 1], text, "result %d in order", i + 1);
	}
}

/* ---- request-aware queue groups (router/shard_request.c) ---- */

static uint64_t refs[3];

/* Three members of "svc workers" on thread 0 (slots 10..12) with @limit and
 * @wait_ns, subscribed through the shard. */
static void setup_members(uint32_t limit, uint64_t wait_ns)
{
	cr_assert_eq(svc_table_new(&svc), 0);
	atomic_store(&svc->aware, true);
	setup_with(1, 64);
	struct mbatch *b = batch_from(0);
	for (uint32_t i = 0; i < 3; i++) {
		refs[i] = svc_join(svc, "svc", 3, "workers", 7, limit, wait_ns);
		cr_assert_neq(refs[i], 0);
		add_sub(b, conn_of(0, 10 + i), "svc", "workers", 1);
		b->e[i].len = (uint32_t)(refs[i] >> 32);
		b->e[i].hdr_len = (uint32_t)refs[i];
	}
	run_batch(b);
	struct delivery d[4];
	results(0, d, 4, NULL);
}

static void setup_unlimited(void)
{
	setup_members(0, 0);
}

/* A request (reply subject "r") from thread 0's connection 1; @status: the
 * requester takes a 503. */
static void request(struct mbatch *b, bool status)
{
	struct mentry *e = add(b, MENTRY_MSG, conn_of(0, 1), "svc", "rq", 0);
	e->subject_len = 3;
	e->reply_len = 1;
	e->len = 1;
	if (status)
		e->flags |= MENTRY_F_NO_RESPONDERS;
	b->nmsgs++;
}

/* Runs one request; returns its result (the last one). */
static struct delivery run_request(bool status)
{
	struct mbatch *b = batch_from(0);
	request(b, status);
	run_batch(b);
	struct delivery d[4];
	size_t n = results(0, d, 4, NULL);
	cr_assert_geq(n, 1);
	return d[n - 1];
}

TestSuite(shard_request, .init = setup_unlimited, .fini = teardown);

Test(shard_request, a_request_goes_to_the_member_with_the_fewest_in_flight)
{
	cr_assert(svc_take(svc, refs[0], 0, false) && svc_take(svc, refs[0], 0, false));
	cr_assert(svc_take(svc, refs[2], 0, false));
	struct delivery d = run_request(false);
	cr_expect_eq(d.kind, DELIVERY_MSG);
	cr_expect_eq((uint32_t)d.conn, 11, "to the idle member, not %u", (uint32_t)d.conn);
	cr_expect(d.flags & DELIVERY_F_TRACKED);
	cr_expect_eq(svc_load(svc, refs[1]), 1, "counted in flight");
	/* equals take turns: 0 has 2, 1 and 2 have 1 each */
	d = run_request(false);
	cr_expect_eq((uint32_t)d.conn, 12);
	d = run_request(false);
	cr_expect_eq((uint32_t)d.conn, 11);
}

Test(shard_request, plain_messages_keep_round_robin_and_are_not_counted)
{
	cr_assert(svc_take(svc, refs[0], 0, false));
	struct mbatch *b = batch_from(0);
	for (int i = 0; i < 30; i++)
		add_msg(b, conn_of(0, 1), "svc", "j");
	run_batch(b);
	struct delivery d[64];
	size_t n = results(0, d, 64, NULL);
	int per[3] = {0};
	for (size_t i = 0; i < n; i++)
		if (d[i].kind == DELIVERY_MSG) {
			per[(uint32_t)d[i].conn - 10]++;
			cr_expect_eq(d[i].flags & DELIVERY_F_TRACKED, 0);
		}
	for (int m = 0; m < 3; m++)
		cr_expect_eq(per[m], 10, "member %d got %d", m, per[m]);
	cr_expect_eq(svc_load(svc, refs[0]), 1);
}

Test(shard_request, a_member_that_left_gets_nothing)
{
	svc_leave(svc, refs[0]);
	svc_leave(svc, refs[1]);
	for (int i = 0; i < 5; i++) {
		struct delivery d = run_request(false);
		cr_expect_eq((uint32_t)d.conn, 12);
	}
	svc_done(svc, refs[0], true, 1000, false); /* after leaving: ignored */
	cr_expect_eq(svc_load(svc, refs[0]), SVC_GONE);
}

static void setup_limit1(void)
{
	setup_members(1, 0);
}

TestSuite(shard_request_full, .init = setup_limit1, .fini = teardown);

Test(shard_request_full, every_member_full_answers_busy_or_sends_over_the_limit)
{
	for (int i = 0; i < 3; i++)
		cr_assert(svc_take(svc, refs[i], 1, false));
	cr_expect_not(svc_take(svc, refs[0], 1, false), "at its limit");
	struct delivery d = run_request(true);
	cr_expect_eq(d.kind, DELIVERY_NO_RESPONDERS, "busy: the 503 to the requester");
	cr_expect_eq(d.conn, conn_of(0, 1));
	struct svc *s = svc_of(svc, refs[0]);
	cr_expect_eq(atomic_load(&s->busy), 1);
	/* a requester that takes no status gets a member anyway */
	d = run_request(false);
	cr_expect_eq(d.kind, DELIVERY_MSG);
	cr_expect_eq(atomic_load(&s->over), 1);
}

static void setup_wait(void)
{
	setup_members(1, 60ull * 1000000000u);
}

TestSuite(shard_request_wait, .init = setup_wait, .fini = teardown);

Test(shard_request_wait, a_waiting_request_goes_to_the_first_member_with_room)
{
	for (int i = 0; i < 3; i++)
		cr_assert(svc_take(svc, refs[i], 1, false));
	struct delivery d = run_request(true);
	cr_expect_eq(d.kind, DELIVERY_NONE, "it waits: no result but the run's end");
	cr_expect_eq(atomic_load(&sh.waiting), 1);
	svc_done(svc, refs[1], true, 2000000, false); /* member 1 replied */
	struct mbatch *b = batch_from(0);
	mbatch_add(b, MENTRY_KICK, 0);
	run_batch(b);
	struct delivery r[4];
	size_t n = results(0, r, 4, NULL);
	cr_assert_eq(n, 1);
	cr_expect_eq(r[0].kind, DELIVERY_MSG);
	cr_expect_eq((uint32_t)r[0].conn, 11);
	cr_expect(r[0].flags & DELIVERY_F_TRACKED);
	cr_expect(r[0].flags & DELIVERY_F_END, "the kick's run ends with it");
	cr_expect_eq(atomic_load(&sh.waiting), 0);
	cr_expect_eq(atomic_load(&svc_of(svc, refs[1])->queued), 1);
}
