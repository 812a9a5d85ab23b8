/* ringbus-load's per-thread measurements and their merge. */
#include "tools/load/stats.h"

#include <string.h>

int load_stats_init(struct load_stats *s)
{
	memset(s, 0, sizeof(*s));
	int err = hist_init(&s->lat, 1, STATS_HIST_MAX_NS, STATS_HIST_DIGITS);
	if (!err)
		err = hist_init(&s->lat_raw, 1, STATS_HIST_MAX_NS, STATS_HIST_DIGITS);
	if (!err)
		err = hist_init(&s->delay, 1, STATS_HIST_MAX_NS, STATS_HIST_DIGITS);
	if (err)
		load_stats_fini(s);
	return err;
}

void load_stats_fini(struct load_stats *s)
{
	hist_fini(&s->lat);
	hist_fini(&s->lat_raw);
	hist_fini(&s->delay);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

void load_stats_merge(struct load_stats *dst, const struct load_stats *src)
{
	/* Same configuration by construction: hist_add cannot refuse. */
	(void)!hist_add(&dst->lat, &src->lat);
	(void)!hist_add(&dst->lat_raw, &src->lat_raw);
	(void)!hist_add(&dst->delay, &src->delay);
	dst->sent += src->sent;
	dst->sent_bytes += src->sent_bytes;
	dst->sent_measured += src->sent_measured;
	dst->delivered += src->delivered;
	dst->delivered_bytes += src->delivered_bytes;
	dst->delivered_measured += src->delivered_measured;
	dst->served += src->served;
	dst->scheduled += src->scheduled;
	dst->last_send = max_u64(dst->last_send, src->last_send);
	dst->last_recv = max_u64(dst->last_recv, src->last_recv);
}

int load_snapshot_init(struct load_stats_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	return hist_init(&s->lat, 1, STATS_HIST_MAX_NS, STATS_HIST_DIGITS);
}

void load_snapshot_fini(struct load_stats_snapshot *s)
{
	hist_fini(&s->lat);
}

void load_snapshot_take(struct load_stats_snapshot *snap, const struct load_stats *s)
{
	hist_reset(&snap->lat);
	(void)!hist_add(&snap->lat, &s->lat);
	snap->sent = s->sent;
	snap->delivered = s->delivered;
}
