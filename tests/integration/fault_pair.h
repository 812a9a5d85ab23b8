/* Helpers of the fault tests: a healthy publisher/subscriber pair that keeps
 * exchanging messages on its own thread, a runner that injects a fault from
 * another thread meanwhile and checks that the pair lost nothing and was
 * never held up for long (its rates are printed, not asserted: a busy machine
 * changes them), and readings of the server process (resident memory, open
 * descriptors). */
#ifndef TESTS_INTEGRATION_FAULT_PAIR_H
#define TESTS_INTEGRATION_FAULT_PAIR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/integration/raw.h"

/* How long the pair waits for one of its own messages before it calls the
 * server unhealthy (generous: the machine is shared and may run ASan). */
#define FPAIR_WAIT_MS 20000

/* The pair publishes at this rate (messages per second, in batches) and reads
 * each message back: a client with a steady load, served through every
 * fault. */
#define FPAIR_RATE 20000
/* A paced loop that falls further behind than this forgets the debt rather
 * than bursting to catch up. */
#define FAULT_MAX_DEBT_US 50000

/* The pair's rate alone is measured over this window, before and after (and
 * longer when it has not completed a batch by then, up to
 * FAULT_MAX_WAIT_MS). */
#define FAULT_WINDOW_MS 1000
/* A repeating fault runs this long. */
#define FAULT_LOOP_MS 2000
/* The longest the pair may wait for one of its batches, in any phase. It is
 * generous because any thread of a busy machine may be held back for a
 * while; a server that stops serving the pair (a stall, a lost wake-up,
 * starvation for as long as a fault lasts) exceeds it. The pair's rate during
 * a fault is a measurement, printed and recorded in docs/HARDENING.md. */
#define FAULT_MAX_WAIT_MS 10000

/* A raw publisher and subscriber on one subject, driven by one thread in
 * batches: publish a batch, read it back in order, repeat. Owner: the test's
 * main thread, except @received (atomics only) and the fields the pair's
 * thread writes before it ends (@err, @why: read after fpair_stop). */
struct fpair {
	pthread_t th;
	bool running;
	struct raw_conn *pub;
	struct raw_conn *sub;
	char subject[64];
	atomic_bool stop;
	atomic_uint_fast64_t received;
	atomic_int_fast64_t max_gap_us; /* longest wait for one batch to come back */
	int err;
	char why[512];
};

/* Connects the pair to 127.0.0.1:@port on @subject (borrowed) with the
 * CONNECT JSON @connect_json (borrowed; NULL: quiet, no credentials),
 * subscribes, and starts its thread. Returns 0 or -errno (then p->why says
 * what failed and nothing is left open). */
int fpair_start(struct fpair *p, uint16_t port, const char *subject, const char *connect_json);

/* Messages the pair has exchanged so far (received back in order). */
uint64_t fpair_count(struct fpair *p);

/* The longest the pair has waited for one of its batches, in microseconds,
 * since the last call (which resets it). */
int64_t fpair_take_max_gap_us(struct fpair *p);

/* Messages the pair exchanges during the next @ms milliseconds (sleeps), or
 * longer, until it has exchanged a batch or FAULT_MAX_WAIT_MS passed. *@took_ms
 * receives the window's length. */
uint64_t fpair_window(struct fpair *p, int ms, int64_t *took_ms);

/* Stops the thread, closes both connections and returns 0 when the pair never
 * failed, or the -errno of its first failure (p->why describes it). */
int fpair_stop(struct fpair *p);

/* A fault injected from its own thread. The test fills @fn, @arg and
 * @repeating; the runner fills @port. The fault's thread writes @rounds,
 * @err and @why, read by the test after the runner joined it. */
struct fault {
	void (*fn)(struct fault *f);
	void *arg;
	bool repeating;   /* runs until @stop (after FAULT_LOOP_MS), else ends itself */
	int settle_ms;    /* allowed to the server after the fault, before "after" */
	uint16_t port;    /* the server under test */
	atomic_bool stop; /* set by the runner: a repeating fault returns */
	atomic_bool done; /* set when fn returned */
	long rounds;      /* faults injected */
	int err;          /* 0, or the -errno of the first failure */
	char why[512];
	pthread_t th;
	int64_t next_us; /* pacing (fault_pace) */
};

/* Records the first failure of @f (@err < 0, else -EBADMSG) and returns it. */
int fault_fail(struct fault *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sleeps as needed to keep @f's loop at @per_sec rounds per second: the
 * faults are a storm, not a CPU hog, so that the pair's rate shows how the
 * server treats it rather than how busy the two cores are. */
void fault_pace(struct fault *f, long per_sec);

/* True when a repeating fault should end. */
bool fault_stopping(struct fault *f);

/* What the healthy pair exchanged in each phase of a run. */
struct fault_report {
	uint64_t alone;           /* before the fault */
	int64_t alone_ms;         /* over this long (FAULT_WINDOW_MS or a little more) */
	uint64_t during;          /* while the fault ran */
	int64_t during_ms;        /* how long that was */
	uint64_t after;           /* after the fault (and f->settle_ms) */
	int64_t after_ms;         /* over this long */
	int64_t max_gap_alone_us; /* the pair's longest wait for a batch alone */
	int64_t max_gap_us;       /* ... during the fault */
	int64_t max_gap_after_us; /* ... and after it (settling included) */
};

/* Runs @f (borrowed) on its own thread next to a healthy pair on
 * @pair_subject (@pair_connect as for fpair_start) against itest_srv:
 * the pair alone, then during the fault, then after it (once f->settle_ms
 * passed). Asserts what must hold however busy the machine is: the fault
 * reported no failure; the pair never failed (every message came back, once,
 * in order); it exchanged messages before and after the fault; and it never
 * waited longer than FAULT_MAX_WAIT_MS for a batch. Prints the rates and
 * waits to stderr under @name ("faults: ..."). Fills @out (may be NULL). */
void fault_run_with_pair(const char *name, struct fault *f, const char *pair_subject,
                         const char *pair_connect, struct fault_report *out);

/* Asserts that itest_srv accepts a new connection that subscribes, publishes
 * to itself and gets its message and PONG; @connect_json as for fpair_start. */
void fault_expect_serving(const char *connect_json);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t fault_now_ms(void);

/* Sleeps @ms milliseconds. */
void fault_sleep_ms(long ms);

/* Resident set of process @pid in KiB (VmRSS), or -errno. */
long fault_rss_kib(pid_t pid);

/* Number of open descriptors of process @pid, or -errno. */
long fault_fd_count(pid_t pid);

#endif /* TESTS_INTEGRATION_FAULT_PAIR_H */
