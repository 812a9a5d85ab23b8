/* ringbus-load-blocking's shared state: the run, and its publisher and
 * subscriber connections. bc_* functions live in blocking_client.c (set-up,
 * the end of a run, the report) and blocking_roles.c (the threads). */
#ifndef TOOLS_LOAD_BLOCKING_H
#define TOOLS_LOAD_BLOCKING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "tools/load/bconn.h"
#include "tools/load/flags.h"
#include "tools/load/hello.h"
#include "tools/load/stats.h"
#include "tools/load/topo.h"
#include "tools/load/track.h"

#define BC_HEAD_MAX    300u      /* "PUB <subject> <size>\r\n" */
#define BC_START_DELAY 2000000u  /* publishers start this long after the go */
#define BC_POLL_NS     50000000u /* subscribers look at the stop flag this often */

/* The run. Owner: the main thread. Threads read the configuration and the
 * clock anchors (written before the start barrier, which orders them) and
 * use the atomics @stop, @stalled and @failed; @error is guarded by @lock. */
struct bc_run {
	const struct load_config *cfg;
	struct hello_target targets[HELLO_MAX_TARGETS]; /* --url, then each --sub-url */
	uint32_t ntargets;
	uint64_t start_ns, measure_ns, end_ns;
	pthread_barrier_t go;
	int stop;     /* atomic: subscribers leave their loops */
	bool stalled; /* atomic: a publisher gave up on a server taking nothing */
	bool failed;  /* atomic */
	pthread_mutex_t lock;
	char error[512];
	struct bc_pub *pubs;
	struct bc_sub *subs;
};

/* Owner: its thread; the main thread reads it after the join. */
struct bc_pub {
	struct bc_run *run;
	uint32_t index;
	pthread_t tid;
	bool started;
	struct bconn io;
	struct topo_set subj;
	char *heads; /* "PUB <subject> <size>\r\n" per subject, BC_HEAD_MAX apart */
	uint16_t *head_len;
	char *filler;      /* the payload after its header: cfg->size bytes of 'x' */
	uint64_t quota;    /* UINT64_MAX: until end_ns */
	uint64_t produced; /* messages written, numbered in one sequence */
	double period_ns;  /* open loop; 0: closed loop */
	struct load_stats stats;
};

/* Owner: its thread; @progress is read by the main thread while it runs
 * (relaxed: a count for deciding when to stop, nothing else hangs on it),
 * everything else after the join. */
struct bc_sub {
	struct bc_run *run;
	uint32_t index;
	pthread_t tid;
	bool started;
	struct bconn io;
	struct topo_set subj; /* unused with --sub-subject */
	struct track track;
	struct load_stats stats;
	uint64_t progress; /* atomic: unique deliveries so far */
	uint64_t expected; /* ROLES_UNKNOWN in a queue group */
	bool closed;       /* atomic: by the server, before the end */
};

/* Records the first error (later ones are dropped) and fails the run. */
void bc_fail(struct bc_run *run, const char *fmt, ...) RB_PRINTF(2, 3);

/* True once bc_fail() was called (acquire). */
bool bc_failed(struct bc_run *run);

/* Thread bodies; @arg is the struct bc_pub or bc_sub. Both wait on
 * run->go first. A publisher sends its quota (or until end_ns), PINGs at the
 * end and returns once the PONG came; a subscriber reads until run->stop. */
void *bc_pub_main(void *arg);
void *bc_sub_main(void *arg);

#endif /* TOOLS_LOAD_BLOCKING_H */
