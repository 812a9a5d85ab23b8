/* io/loop's lending of receive buffers (io_loop_lendable, io_loop_lend,
 * io_lend_drop): a real loop with 8 provided buffers of 4 KiB reads a
 * stream whose every byte is known by its offset. Each receive is lent
 * when the loop allows it (at most 4 buffers, half), sometimes with a
 * second hold; another thread checks each loan's bytes are still the ones
 * received, then drops its holds in its own time. A buffer the loop gave
 * back to the kernel while held would be overwritten by later bytes of the
 * stream; one never given back would stop the loans. The newest loan is
 * dropped after the loop was freed. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/loop/loop.h"
#include "loop_thread.h"

#define NBUFS     8u
#define STREAM    (4u << 20)
#define MAX_LOANS 4096
#define TAIL      (256u * 1024u) /* the writer waits for loans to come and go before it */

struct loan {
	struct io_lendpool *pool;
	uint32_t bid;
	int holds;
	const char *p;
	size_t len;
	size_t off; /* of the stream */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct loan loans[MAX_LOANS];
static int nloans, ndropped; /* loans[ndropped..nloans) are held */
static int out[NBUFS];       /* holds the test has on each buffer */
static int out_bufs, most_out, refused, bad_range_lent;
static size_t received;
static bool stream_bad;
static atomic_bool reading_done;
static atomic_int dropped; /* ndropped, for the writer */

static char byte_at(size_t i)
{
	return (char)((i * 131u + i / 4093u) % 251u);
}

static bool intact(const char *p, size_t len, size_t off)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != byte_at(off + i))
			return false;
	return true;
}

static void on_data(void *ctx, struct io_conn *c, const char *d, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&mu);
	if (!intact(d, len, received))
		stream_bad = true;
	/* bytes outside what on_data was given are never lent */
	if (io_loop_lendable(c->loop, d, len + 1) != IO_LEND_NONE ||
	    io_loop_lendable(c->loop, d - 1, 1) != IO_LEND_NONE)
		bad_range_lent++;
	uint32_t bid = io_loop_lendable(c->loop, d + len / 2, len - len / 2);
	if (bid == IO_LEND_NONE || nloans == MAX_LOANS) {
		refused++;
	} else {
		uint32_t size;
		struct loan *ln = &loans[nloans++];
		*ln = (struct loan){.bid = bid, .holds = 1, .p = d, .len = len, .off = received};
		ln->pool = io_loop_lend(c->loop, bid, &size);
		cr_assert_eq(size, 4096u);
		if (nloans % 3 == 0) { /* a second holder of the same buffer */
			io_loop_lend(c->loop, bid, &size);
			ln->holds++;
		}
		if (bid < NBUFS && out[bid]++ == 0 && ++out_bufs > most_out)
			most_out = out_bufs;
	}
	received += len;
	pthread_mutex_unlock(&mu);
}

static void on_close(void *ctx, struct io_conn *c)
{
	(void)ctx;
	(void)c;
	atomic_store(&reading_done, true);
}

static const struct io_ops ops = {
    .on_open = loop_thread_on_open,
    .on_data = on_data,
    .on_close = on_close,
    .on_poll = loop_thread_idle,
    .has_work = loop_thread_idle,
};

/* Checks and drops the oldest held loan; without @all never the newest,
 * which stays for after io_loop_free(). False when none may go yet. */
static bool drop_one(bool all)
{
	pthread_mutex_lock(&mu);
	if (ndropped == nloans || (!all && ndropped == nloans - 1)) {
		pthread_mutex_unlock(&mu);
		return false;
	}
	struct loan *ln = &loans[ndropped++];
	if (!intact(ln->p, ln->len, ln->off))
		stream_bad = true;
	/* counted as back before the last drop: the loop may lend it again at once */
	out_bufs -= --out[ln->bid] == 0;
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < ln->holds; i++)
		io_lend_drop(ln->pool, ln->bid);
	atomic_fetch_add(&dropped, 1);
	return true;
}

static void *dropper(void *arg)
{
	(void)arg;
	for (unsigned k = 0; !atomic_load(&reading_done) || drop_one(false); k++) {
		if (!drop_one(false) || k % 5 == 0)
			usleep(300); /* let some loans wait: the loop goes on meanwhile */
	}
	return NULL;
}

static void *writer(void *arg)
{
	int fd = *(int *)arg;
	char *s = malloc(STREAM);
	for (size_t i = 0; i < STREAM; i++)
		s[i] = byte_at(i);
	size_t at = 0;
	for (unsigned k = 1; at < STREAM; k++) {
		/* Before the tail, wait (10 s at most) for loans to have come and
		 * gone: with buffers that never came back there are only 2. */
		for (int w = 0; at >= STREAM - TAIL && w < 10000 && atomic_load(&dropped) < 3; w++)
			usleep(1000);
		if (at >= STREAM - TAIL && atomic_load(&dropped) < 3)
			atomic_store(&dropped, 3); /* waited once: go on */
		size_t n = 1 + (k * 2654435761u) % 9000u;
		if (n > STREAM - at)
			n = STREAM - at;
		ssize_t w = write(fd, s + at, n);
		if (w <= 0)
			break;
		at += (size_t)w;
		if (k % 16 == 0)
			usleep(100);
	}
	shutdown(fd, SHUT_WR);
	free(s);
	return NULL;
}

Test(loop_lend, lent_buffers_stay_intact_until_their_last_hold_goes, .timeout = 60)
{
	struct loop_thread lt;
	cr_assert_eq(loop_thread_start(&lt, &ops, NBUFS, 4096, 1000), 0, "io_loop_new failed");
	pthread_t drop_th, write_th;
	pthread_create(&drop_th, NULL, dropper, NULL);
	int fd = loop_thread_connect(&lt, 0);
	cr_assert(fd >= 0);
	pthread_create(&write_th, NULL, writer, &fd);
	pthread_join(write_th, NULL);
	pthread_join(drop_th, NULL); /* ends once the loop closed the connection */
	cr_assert_eq(loop_thread_stop(&lt), 0, "io_loop_run failed");

	cr_expect_eq(received, STREAM, "received %zu bytes of %u", received, STREAM);
	cr_expect_eq(bad_range_lent, 0, "bytes outside the receive were lendable");
	cr_expect(most_out <= (int)NBUFS / 2, "%d buffers out on loan at once (at most %u)",
	          most_out, NBUFS / 2);
	/* Buffers that never came back would have stopped the loans at 4. */
	cr_expect(nloans > 4, "only %d loans (%d refused)", nloans, refused);
	cr_expect(refused > 0, "the loop never refused a loan (%d made)", nloans);
	cr_expect(ndropped < nloans, "no loan was left for after the loop");
	while (drop_one(true)) /* after io_loop_free(): the pool outlives the loop */
		;
	cr_expect(!stream_bad, "a lent buffer was overwritten while held, or bytes arrived wrong");
	close(fd);
}
