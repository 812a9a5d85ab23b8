/* One ringbus-load run: the state every thread shares (phase, clock
 * anchors, the first error, the server's INFO) and the orchestration by the
 * main thread. */
#ifndef TOOLS_LOAD_RUN_H
#define TOOLS_LOAD_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "tools/load/flags.h"
#include "tools/load/hello.h"
#include "tools/load/loop.h"

enum load_phase {
	PHASE_CONNECT = 0, /* connecting, handshakes, subscriptions */
	PHASE_PROBE,       /* pubsub with --sub-url: publishers send interest probes */
	PHASE_RUN,         /* senders send */
	PHASE_DRAIN,       /* senders done; waiting for the last deliveries */
	PHASE_STOP,        /* threads leave their loops */
};

/* Owner: the main thread; threads read it. @phase, @ready, @probed,
 * @senders_done and @failed are atomics; the clock anchors are written before
 * the release store of PHASE_RUN and read after the threads' acquire load of
 * it. */
struct load_run {
	const struct load_config *cfg;
	struct hello_target targets[HELLO_MAX_TARGETS]; /* read-only once threads run */
	uint32_t ntargets;
	int phase;
	uint64_t start_ns;     /* senders' schedules start here */
	uint64_t measure_ns;   /* start + warm-up: figures count from here */
	uint64_t end_ns;       /* senders stop producing here (UINT64_MAX: by count) */
	uint32_t ready;        /* connections ready to run */
	uint32_t probed;       /* subscribers a probe reached on each of their subjects */
	uint32_t senders_done; /* senders finished and flushed */
	uint32_t nsenders;
	uint32_t nconns;
	bool failed;
	pthread_mutex_t lock; /* guards error and server */
	char error[512];
	struct {
		char version[64];
		char server_id[64];
		uint32_t max_payload;
		bool seen;
	} server;
	struct load_thread *threads;
	uint32_t nthreads;
	void *roles; /* the subcommand's role module state */
};

static inline int run_phase(const struct load_run *run)
{
	return __atomic_load_n(&run->phase, __ATOMIC_ACQUIRE); /* pairs with run_set_phase */
}

/* Records the first error (later ones are dropped) and fails the run. */
void run_fail(struct load_run *run, const char *fmt, ...) RB_PRINTF(2, 3);

static inline bool run_failed(const struct load_run *run)
{
	return __atomic_load_n(&run->failed, __ATOMIC_ACQUIRE); /* pairs with run_fail */
}

/* A connection finished its set-up (handshake and subscriptions). */
static inline void run_conn_ready(struct load_run *run)
{
	__atomic_fetch_add(&run->ready, 1, __ATOMIC_RELEASE); /* pairs with the main wait */
}

/* A subscriber has had a probe on each of its subjects (pairs with the
 * main thread's wait). */
static inline void run_sub_probed(struct load_run *run)
{
	__atomic_fetch_add(&run->probed, 1, __ATOMIC_RELEASE);
}

/* A sender finished and its last PING was answered. Its counters must be
 * final before this call (release; the main thread acquires). */
static inline void run_sender_done(struct load_run *run)
{
	__atomic_fetch_add(&run->senders_done, 1, __ATOMIC_RELEASE);
}

/* Runs the subcommand configured in @cfg to the end and reports. Returns the
 * process exit status (see load_flags_usage). */
int run_main(const struct load_config *cfg);

#endif /* TOOLS_LOAD_RUN_H */
