/* ringbus-load's output: the per-second progress line, the final human
 * summary, the JSON document and the .hgrm latency distribution. */
#ifndef TOOLS_LOAD_REPORT_H
#define TOOLS_LOAD_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "core/compiler.h"
#include "tools/load/flags.h"
#include "tools/load/stats.h"

/* One receiver's (subscriber's or requester's) delivery figures. */
struct load_recv_result {
	uint32_t id;
	uint64_t received;  /* arrivals, duplicates included */
	uint64_t delivered; /* unique arrivals */
	uint64_t expected;  /* ROLES_UNKNOWN when not known */
	uint64_t lost;
	uint64_t dup;
	uint64_t reorder;
	bool closed; /* the server closed it before the end (ringbus-load-blocking) */
};

/* Everything the reports print. Owner: the main thread. */
struct load_result {
	struct load_stats total;       /* every thread merged */
	struct load_recv_result *recv; /* heap, nrecv entries */
	uint32_t nrecv;
	const char *recv_kind; /* "subscriber" / "requester" */
	bool expected_known;
	bool per_recv_loss; /* false for queue groups: loss is counted over the group */
	uint64_t expected;
	uint64_t received;
	uint64_t lost;
	uint64_t dup;
	uint64_t reorder;
	uint32_t closed;  /* receivers the server closed (ringbus-load-blocking) */
	double send_secs; /* measured sending window */
	double recv_secs; /* measured receiving window */
	double pub_rate;
	double sub_rate;
	double bytes_rate;
	double target_rate; /* 0: closed loop */
	bool target_missed;
	double cpu_user_s;
	double cpu_sys_s;
	bool stalled;           /* no progress for --drain: ended early */
	bool drain_timed_out;   /* deliveries still missing at the end of --drain */
	double interest_wait_s; /* --sub-url: probing until interest had crossed */
	const char *server_version;
	const char *error; /* NULL on success */
};

/* Fills the rates, the target verdict and the CPU of @res from its merged
 * stats (@res->total, receivers collected): rates count from @measure_ns (the
 * end of the warm-up) to the last message sent and received; CPU is the
 * difference of the two getrusage() samples. */
void report_figures(struct load_result *res, const struct load_config *cfg, uint64_t measure_ns,
                    const struct rusage *r0, const struct rusage *r1);

/* The progress line for @secs into the run, to @out (a terminal). */
void report_progress(FILE *out, double secs, uint64_t sent, uint64_t delivered, double send_rate,
                     double recv_rate, const struct hist *lat);

/* The final human summary. */
void report_summary(FILE *out, const struct load_config *cfg, const struct load_result *res);

/* Writes the JSON document to @path ("-": stdout). Returns 0 or -errno. */
RB_MUST_CHECK int report_json(const char *path, const struct load_config *cfg,
                              const struct load_result *res);

/* Writes the corrected latency distribution in .hgrm format, in us.
 * Returns 0 or -errno. */
RB_MUST_CHECK int report_hgrm(const char *path, const struct load_result *res);

#endif /* TOOLS_LOAD_REPORT_H */
