/* ringbus-load's measurements: per-thread counters and latency histograms,
 * the snapshot the progress line reads, and their merge. */
#ifndef TOOLS_LOAD_STATS_H
#define TOOLS_LOAD_STATS_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/hist.h"

#define STATS_HIST_MAX_NS (UINT64_C(3600) * 1000000000u) /* clamp at one hour */
#define STATS_HIST_DIGITS 3

/* Owner: one event-loop thread (or the main thread once merged). Times are
 * CLOCK_MONOTONIC ns; "measured" counts leave out the warm-up. */
struct load_stats {
	struct hist lat;     /* receive time - intended send time (corrected) */
	struct hist lat_raw; /* receive time - actual send time (uncorrected) */
	struct hist delay;   /* actual - intended send time, open loop */
	uint64_t sent;
	uint64_t sent_bytes;
	uint64_t sent_measured;
	uint64_t delivered; /* unique arrivals (replies for reqrep) */
	uint64_t delivered_bytes;
	uint64_t delivered_measured;
	uint64_t served; /* requests answered by responders */
	uint64_t last_send;
	uint64_t last_recv;
	uint64_t scheduled; /* open loop: messages due before the end */
};

/* What the progress line needs. Owner: guarded by the thread's snap_lock. */
struct load_stats_snapshot {
	struct hist lat;
	uint64_t sent;
	uint64_t delivered;
};

/* Returns 0 or -ENOMEM. */
RB_MUST_CHECK int load_stats_init(struct load_stats *s);
void load_stats_fini(struct load_stats *s);

/* Adds @src into @dst (counts summed, times maxed). Borrows both. */
void load_stats_merge(struct load_stats *dst, const struct load_stats *src);

RB_MUST_CHECK int load_snapshot_init(struct load_stats_snapshot *s);
void load_snapshot_fini(struct load_stats_snapshot *s);

/* Copies @s's figures into @snap (the caller holds the lock). */
void load_snapshot_take(struct load_stats_snapshot *snap, const struct load_stats *s);

#endif /* TOOLS_LOAD_STATS_H */
