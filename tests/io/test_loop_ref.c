/* io/loop's referenced output (io_conn_write_ref): a real loop on loopback
 * sends a stream made of its own bytes and segments that point into owners'
 * memory; a reader with a small receive buffer, reading in small pieces,
 * makes the sends partial at every kind of boundary. The bytes must arrive
 * exactly, every owner held is dropped once, and io_conn_unsent() must give
 * the same bytes contiguous (the drop-old policy rewrites them). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/loop/loop.h"
#include "loop_thread.h"

#define NOWNERS 7
#define BIG     (256u * 1024u)

struct owner {
	char bytes[BIG];
};

static struct owner *owners;
static atomic_int holds, drops;
static char *expect; /* the stream the reader must get */
static size_t expect_len;
static bool flatten; /* test_flatten: io_conn_unsent() before the send */
static bool flat_ok;

static uint32_t hold(void *ctx, void *owner)
{
	(void)ctx;
	(void)owner;
	atomic_fetch_add(&holds, 1);
	return 1000;
}

static void drop(void *ctx, void *owner)
{
	(void)ctx;
	(void)owner;
	atomic_fetch_add(&drops, 1);
}

/* Writes the stream: per message, a small head of its own, a segment of a
 * size that varies (1 byte to 40 KB, consecutive ones often from the same
 * owner), and a line end; recorded in @expect as it goes. */
static void write_stream(struct io_conn *c)
{
	size_t cap = 64u << 20, n = 0;
	expect = malloc(cap);
	unsigned x = 12345;
	for (int i = 0; i < 3000; i++) {
		char head[32];
		int h = snprintf(head, sizeof head, "M%d ", i);
		cr_assert_eq(io_conn_write(c, head, (size_t)h), 0);
		memcpy(expect + n, head, (size_t)h);
		n += (size_t)h;
		x = x * 1103515245u + 12345u;
		size_t len = 1 + (x >> 8) % (i % 50 == 0 ? 40000 : 3000);
		struct owner *o = &owners[(i / 3) % NOWNERS];
		size_t at = (x >> 4) % (BIG - len);
		cr_assert_eq(io_conn_write_ref(c, o->bytes + at, len, o), 0);
		memcpy(expect + n, o->bytes + at, len);
		n += len;
		if (i % 7) { /* now and then two segments in a row */
			cr_assert_eq(io_conn_write(c, "\r\n", 2), 0);
			memcpy(expect + n, "\r\n", 2);
			n += 2;
		}
	}
	expect_len = n;
	cr_assert_eq(io_conn_pending(c), n);
	if (flatten) {
		size_t len, in_flight;
		char *p = io_conn_unsent(c, &len, &in_flight);
		flat_ok = p && len == n && in_flight == 0 && memcmp(p, expect, n) == 0;
		flat_ok =
		    flat_ok && atomic_load(&drops) == atomic_load(&holds) && io_conn_pinned(c) == 0;
	}
	io_conn_close(c, true);
}

static void on_data(void *ctx, struct io_conn *c, const char *d, size_t len)
{
	(void)ctx;
	if (len && d[0] == 'g')
		write_stream(c);
}

static void on_close(void *ctx, struct io_conn *c)
{
	(void)ctx;
	(void)c;
}

static const struct io_ops ops = {
    .on_open = loop_thread_on_open,
    .on_data = on_data,
    .on_close = on_close,
    .on_poll = loop_thread_idle,
    .has_work = loop_thread_idle,
    .ref_hold = hold,
    .ref_drop = drop,
};

static void exercise(bool flat)
{
	flatten = flat;
	owners = malloc(sizeof(*owners) * NOWNERS);
	for (size_t i = 0; i < sizeof(*owners) * NOWNERS; i++)
		((char *)owners)[i] = (char)('a' + (i * 7 + i / 251) % 26);
	struct loop_thread lt;
	cr_assert_eq(loop_thread_start(&lt, &ops, 64, 4096, 30000), 0, "io_loop_new failed");
	int fd = loop_thread_connect(&lt, 4096);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "go", 2), 2);
	size_t cap = 64u << 20, got = 0;
	char *buf = malloc(cap);
	for (int k = 0;; k++) {
		ssize_t r =
		    read(fd, buf + got, k % 3 ? 700 : 9000); /* small reads: partial sends */
		cr_assert(r >= 0, "read failed");
		if (r == 0)
			break;
		got += (size_t)r;
		if (k % 64 == 0)
			usleep(200);
	}
	cr_assert_eq(got, expect_len, "got %zu bytes of %zu", got, expect_len);
	size_t i = 0;
	while (i < got && buf[i] == expect[i])
		i++;
	cr_assert_eq(i, got, "the stream differs at byte %zu of %zu", i, got);
	if (flatten)
		cr_assert(flat_ok, "io_conn_unsent() did not give the stream contiguous");
	close(fd);
	cr_assert_eq(loop_thread_stop(&lt), 0, "io_loop_run failed");
	cr_assert(atomic_load(&holds) > 0);
	cr_assert_eq(atomic_load(&drops), atomic_load(&holds), "held %d, dropped %d",
	             atomic_load(&holds), atomic_load(&drops));
	free(buf);
	free(expect);
	free(owners);
}

Test(loop_ref, segments_arrive_in_place_through_partial_sends, .timeout = 60)
{
	exercise(false);
}

Test(loop_ref, unsent_output_is_made_contiguous_with_its_owners_dropped, .timeout = 60)
{
	exercise(true);
}
