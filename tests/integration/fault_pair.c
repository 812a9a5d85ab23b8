/* The healthy pair of the fault tests (a raw publisher and subscriber that
 * check every message comes back once and in order), the runner that injects
 * a fault next to it, and /proc readings of the server under test. */
#define _GNU_SOURCE
#include "tests/integration/fault_pair.h"

#include "tests/integration/itest.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FPAIR_BATCH   16
#define FPAIR_CONNECT "{\"verbose\":false,\"pedantic\":false}"
#define FPAIR_SEQ_MOD 100000000ull /* the payload is 8 decimal digits */

int64_t fault_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fault_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

__attribute__((format(printf, 3, 4))) static int fpair_fail(struct fpair *p, int err,
                                                            const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof p->why, fmt, ap);
	va_end(ap);
	p->err = err < 0 ? err : -EBADMSG;
	return p->err;
}

/* Publishes one batch and reads it back. Returns 0 or -errno (recorded). */
static int fpair_round(struct fpair *p, uint64_t *seq)
{
	char buf[FPAIR_BATCH * 96];
	size_t len = 0;
	for (uint64_t i = 0; i < FPAIR_BATCH; i++)
		len +=
		    (size_t)snprintf(buf + len, sizeof buf - len, "PUB %s 8\r\n%08llu\r\n",
		                     p->subject, (unsigned long long)((*seq + i) % FPAIR_SEQ_MOD));
	int64_t t0 = now_us();
	int r = raw_send(p->pub, buf, len);
	if (r != 0)
		return fpair_fail(p, r, "publisher: %s", raw_why(p->pub));
	for (int i = 0; i < FPAIR_BATCH; i++) {
		struct raw_msg m;
		r = raw_read_msg(p->sub, &m, FPAIR_WAIT_MS);
		if (r != 0)
			return fpair_fail(p, r, "subscriber, message %llu: %s",
			                  (unsigned long long)*seq, raw_why(p->sub));
		char want[16];
		snprintf(want, sizeof want, "%08llu", (unsigned long long)(*seq % FPAIR_SEQ_MOD));
		bool ok = strcmp(m.subject, p->subject) == 0 && strcmp(m.data, want) == 0;
		if (!ok)
			fpair_fail(p, -EBADMSG, "subscriber: expected %s on %s, got %s on %s", want,
			           p->subject, m.data, m.subject);
		raw_msg_fini(&m);
		if (!ok)
			return p->err;
		(*seq)++;
		atomic_fetch_add_explicit(&p->received, 1, memory_order_relaxed);
	}
	int64_t gap = now_us() - t0;
	if (gap > atomic_load_explicit(&p->max_gap_us, memory_order_relaxed))
		atomic_store_explicit(&p->max_gap_us, gap, memory_order_relaxed);
	return 0;
}

/* Sleeps until @next_us when it is ahead; when far behind, forgets the debt
 * instead of bursting to catch up. */
static void pace_to(int64_t *next_us, int64_t period_us)
{
	*next_us += period_us;
	int64_t now = now_us();
	if (*next_us > now)
		sleep_us(*next_us - now);
	else if (now - *next_us > FAULT_MAX_DEBT_US)
		*next_us = now;
}

static void *fpair_main(void *arg)
{
	struct fpair *p = arg;
	uint64_t seq = 0;
	int64_t next = now_us();
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		if (fpair_round(p, &seq) != 0)
			break;
		pace_to(&next, (int64_t)FPAIR_BATCH * 1000000 / FPAIR_RATE);
	}
	return NULL;
}

int fpair_start(struct fpair *p, uint16_t port, const char *subject, const char *connect_json)
{
	if (connect_json == NULL)
		connect_json = FPAIR_CONNECT;
	memset(p, 0, sizeof *p);
	atomic_init(&p->stop, false);
	atomic_init(&p->received, 0);
	atomic_init(&p->max_gap_us, 0);
	snprintf(p->subject, sizeof p->subject, "%s", subject);
	int r = raw_connect(port, &p->pub);
	if (r == 0)
		r = raw_connect(port, &p->sub);
	if (r != 0) {
		fpair_fail(p, r, "connect: %s", strerror(-r));
		goto fail;
	}
	if ((r = raw_handshake(p->pub, connect_json, NULL, 0)) != 0 ||
	    (r = raw_handshake(p->sub, connect_json, NULL, 0)) != 0 ||
	    (r = raw_sendf(p->sub, "SUB %s 1\r\nPING\r\n", subject)) != 0 ||
	    (r = raw_expect_str(p->sub, "PONG\r\n")) != 0) {
		fpair_fail(p, r, "set-up: %s / %s", raw_why(p->pub), raw_why(p->sub));
		goto fail;
	}
	r = -pthread_create(&p->th, NULL, fpair_main, p);
	if (r != 0) {
		fpair_fail(p, r, "pthread_create: %s", strerror(-r));
		goto fail;
	}
	p->running = true;
	return 0;
fail:
	raw_close(p->pub);
	raw_close(p->sub);
	p->pub = p->sub = NULL;
	return r;
}

uint64_t fpair_count(struct fpair *p)
{
	return atomic_load_explicit(&p->received, memory_order_relaxed);
}

int64_t fpair_take_max_gap_us(struct fpair *p)
{
	return atomic_exchange_explicit(&p->max_gap_us, 0, memory_order_relaxed);
}

uint64_t fpair_window(struct fpair *p, int ms, int64_t *took_ms)
{
	uint64_t before = fpair_count(p);
	int64_t t0 = fault_now_ms();
	fault_sleep_ms(ms);
	/* A busy machine may have held the pair back for the whole window:
	 * wait (bounded) for one batch rather than report nothing. */
	while (fpair_count(p) - before < FPAIR_BATCH && fault_now_ms() - t0 < FAULT_MAX_WAIT_MS)
		fault_sleep_ms(5);
	*took_ms = fault_now_ms() - t0;
	return fpair_count(p) - before;
}

int fpair_stop(struct fpair *p)
{
	if (p->running) {
		atomic_store(&p->stop, true);
		pthread_join(p->th, NULL);
		p->running = false;
	}
	raw_close(p->pub);
	raw_close(p->sub);
	p->pub = p->sub = NULL;
	return p->err;
}

int fault_fail(struct fault *f, int err, const char *fmt, ...)
{
	if (err >= 0)
		err = -EBADMSG;
	if (f->err != 0)
		return err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof f->why, fmt, ap);
	va_end(ap);
	f->err = err;
	return err;
}

bool fault_stopping(struct fault *f)
{
	return atomic_load(&f->stop);
}

void fault_pace(struct fault *f, long per_sec)
{
	pace_to(&f->next_us, 1000000 / per_sec);
}

static void *fault_main(void *arg)
{
	struct fault *f = arg;
	f->next_us = now_us();
	f->fn(f);
	atomic_store(&f->done, true);
	return NULL;
}

/* Messages per second, for the report. */
static double per_s(uint64_t msgs, int64_t ms)
{
	return ms > 0 ? (double)msgs * 1000.0 / (double)ms : 0.0;
}

void fault_run_with_pair(const char *name, struct fault *f, const char *pair_subject,
                         const char *pair_connect, struct fault_report *out)
{
	struct fpair pair;
	struct fault_report rep = {0};
	int r = fpair_start(&pair, itest_srv.port, pair_subject, pair_connect);
	cr_assert_eq(r, 0, "%s: healthy pair: %s", name, pair.why);
	rep.alone = fpair_window(&pair, FAULT_WINDOW_MS, &rep.alone_ms);
	rep.max_gap_alone_us = fpair_take_max_gap_us(&pair);

	f->port = itest_srv.port;
	atomic_init(&f->stop, false);
	atomic_init(&f->done, false);
	uint64_t c0 = fpair_count(&pair);
	int64_t t0 = fault_now_ms();
	r = pthread_create(&f->th, NULL, fault_main, f);
	cr_assert_eq(r, 0, "%s: pthread_create: %s", name, strerror(r));
	while (!atomic_load(&f->done)) {
		if (f->repeating && fault_now_ms() - t0 >= FAULT_LOOP_MS)
			atomic_store(&f->stop, true);
		fault_sleep_ms(5);
	}
	rep.during = fpair_count(&pair) - c0;
	rep.during_ms = fault_now_ms() - t0;
	rep.max_gap_us = fpair_take_max_gap_us(&pair);
	pthread_join(f->th, NULL);

	if (f->settle_ms > 0)
		fault_sleep_ms(f->settle_ms);
	rep.after = fpair_window(&pair, FAULT_WINDOW_MS, &rep.after_ms);
	rep.max_gap_after_us = fpair_take_max_gap_us(&pair);
	r = fpair_stop(&pair);
	fprintf(
	    stderr,
	    "faults: %s: %ld faults in %lld ms; healthy pair %llu msgs in %lld ms alone "
	    "(%.0f/s), %llu in %lld ms during (%.0f/s, %.0f%%), %llu in %lld ms after "
	    "(%.0f/s); longest wait for a batch %.1f ms alone, %.1f ms during, %.1f ms "
	    "after\n",
	    name, f->rounds, (long long)rep.during_ms, (unsigned long long)rep.alone,
	    (long long)rep.alone_ms, per_s(rep.alone, rep.alone_ms), (unsigned long long)rep.during,
	    (long long)rep.during_ms, per_s(rep.during, rep.during_ms),
	    rep.alone ? 100.0 * per_s(rep.during, rep.during_ms) / per_s(rep.alone, rep.alone_ms)
	              : 0.0,
	    (unsigned long long)rep.after, (long long)rep.after_ms, per_s(rep.after, rep.after_ms),
	    (double)rep.max_gap_alone_us / 1000.0, (double)rep.max_gap_us / 1000.0,
	    (double)rep.max_gap_after_us / 1000.0);
	cr_assert_eq(f->err, 0, "%s: the fault failed: %s", name, f->why);
	cr_assert_eq(r, 0, "%s: the healthy pair failed: %s", name, pair.why);
	cr_assert(rep.alone > 0 && rep.after > 0,
	          "%s: the healthy pair exchanged nothing in %lld ms %s the fault", name,
	          (long long)(rep.alone ? rep.after_ms : rep.alone_ms),
	          rep.alone ? "after" : "before");
	int64_t longest = rep.max_gap_alone_us;
	if (rep.max_gap_us > longest)
		longest = rep.max_gap_us;
	if (rep.max_gap_after_us > longest)
		longest = rep.max_gap_after_us;
	cr_assert_leq(longest, (int64_t)FAULT_MAX_WAIT_MS * 1000,
	              "%s: the healthy pair waited %.1f ms for a batch (at most %d ms allowed)",
	              name, (double)longest / 1000.0, FAULT_MAX_WAIT_MS);
	if (out != NULL)
		*out = rep;
}

void fault_expect_serving(const char *connect_json)
{
	struct raw_conn *c = itest_raw(connect_json != NULL ? connect_json : FPAIR_CONNECT);
	ITEST_SEND(c, "SUB serving.check 7\r\nPUB serving.check 2\r\nok\r\nPING\r\n");
	ITEST_EXPECT(c, "MSG serving.check 7 2\r\nok\r\nPONG\r\n");
	raw_close(c);
}

long fault_rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	long kib = -ENOENT;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

long fault_fd_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return -errno;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The fault tests run one at a time whatever --jobs says: the rates they
 * print compare the healthy pair with and without its fault, which a second
 * test on the same two cores would blur, and the heaviest of them take the
 * machine's descriptors and memory for a while. */
int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;
	if (criterion_handle_args(argc, argv, true)) {
		criterion_options.jobs = 1;
		result = !criterion_run_all_tests(tests);
	}
	criterion_finalize(tests);
	return result;
}
