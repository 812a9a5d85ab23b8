/* The figures on $SYS.RINGBUS.<server_id>.STATS: the mailbox to I/O thread
 * 0, the document (cJSON, the monitoring renderers' helpers) and the timer
 * the main thread's loop runs. */
#include "router/monitor/sys_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "router/iothr.h"
#include "router/monitor/monitor_int.h"
#include "router/server.h"

#define NS_PER_MS 1000000u
#define NS_PER_S  1000000000u

/* ---- the mailbox ---- */

void sys_stats_box_init(struct sys_stats_box *b, const char *server_id)
{
	pthread_mutex_init(&b->lock, NULL);
	atomic_init(&b->full, false);
	b->msg = NULL;
	b->len = 0;
	snprintf(b->subject, sizeof(b->subject), "$SYS.RINGBUS.%s.STATS", server_id);
}

void sys_stats_box_fini(struct sys_stats_box *b)
{
	free(b->msg);
	b->msg = NULL;
	pthread_mutex_destroy(&b->lock);
}

bool sys_stats_box_post(struct sys_stats_box *b, char *msg, size_t len)
{
	pthread_mutex_lock(&b->lock);
	char *old = b->msg;
	b->msg = msg;
	b->len = len;
	/* release: @msg before the flag; pairs with sys_stats_box_full() */
	atomic_store_explicit(&b->full, true, memory_order_release);
	pthread_mutex_unlock(&b->lock);
	free(old);
	return old != NULL;
}

char *sys_stats_box_take(struct sys_stats_box *b, size_t *len)
{
	pthread_mutex_lock(&b->lock);
	char *msg = b->msg;
	*len = b->len;
	b->msg = NULL;
	b->len = 0;
	/* relaxed: the lock orders it against the next post */
	atomic_store_explicit(&b->full, false, memory_order_relaxed);
	pthread_mutex_unlock(&b->lock);
	return msg;
}

/* ---- the document ---- */

/* Per second over @dt_ns, to the thousandth. */
static double sys_stats_rate(uint64_t now, uint64_t then, uint64_t dt_ns)
{
	if (!dt_ns || now < then)
		return 0.0;
	double r = (double)(now - then) * 1e9 / (double)dt_ns;
	return (double)(uint64_t)(r * 1000.0 + 0.5) / 1000.0;
}

/* Who, when, and the totals since the start (as /varz names them). */
static void sys_stats_head(cJSON *o, const struct sys_stats_doc *d, bool *ok)
{
	const struct stats *st = d->st;
	uint64_t up = st->now_ns > st->start_ns ? st->now_ns - st->start_ns : 0;
	monitor_json_str(o, "server_id", st->server_id, ok);
	monitor_json_str(o, "server_name", st->server_name ? st->server_name : st->server_id, ok);
	monitor_json_str(o, "version", st->version, ok);
	monitor_json_str(o, "ringbus_version", st->ringbus_version, ok);
	monitor_json_time(o, "now", st->now_ns, ok);
	monitor_json_u64(o, "uptime_s", up / NS_PER_S, ok);
	monitor_json_u64(o, "interval_ms", d->interval_ms, ok);
	monitor_json_u64(o, "in_msgs", st->in_msgs, ok);
	monitor_json_u64(o, "out_msgs", st->out_msgs, ok);
	monitor_json_u64(o, "in_bytes", st->in_bytes, ok);
	monitor_json_u64(o, "out_bytes", st->out_bytes, ok);
	monitor_json_u64(o, "slow_consumers", st->slow_consumers, ok);
}

/* The rates since the previous collection (since the start for the first). */
static void sys_stats_rates(cJSON *o, const struct sys_stats_doc *d, bool *ok)
{
	const struct stats *st = d->st;
	const struct sys_stats_prev *p = &d->prev;
	uint64_t dt;
	if (p->at_ns && d->at_ns > p->at_ns)
		dt = d->at_ns - p->at_ns;
	else
		dt = st->now_ns > st->start_ns ? st->now_ns - st->start_ns : 0;
	monitor_json_num(o, "in_msgs_per_s", sys_stats_rate(st->in_msgs, p->in_msgs, dt), ok);
	monitor_json_num(o, "out_msgs_per_s", sys_stats_rate(st->out_msgs, p->out_msgs, dt), ok);
	monitor_json_num(o, "in_bytes_per_s", sys_stats_rate(st->in_bytes, p->in_bytes, dt), ok);
	monitor_json_num(o, "out_bytes_per_s", sys_stats_rate(st->out_bytes, p->out_bytes, dt), ok);
	monitor_json_u64(o, "connections", st->connections, ok);
	monitor_json_u64(o, "skipped", d->skipped, ok);
}

/* Each shard as /shardz names its figures (a subset). */
static void sys_stats_shards(cJSON *root, const struct stats *st, bool *ok)
{
	cJSON *a = monitor_json_array(root, "shards", ok);
	for (int i = 0; *ok && i < st->nshards; i++) {
		cJSON *o = monitor_json_item(a, ok);
		if (!o)
			return;
		monitor_json_i64(o, "shard", i, ok);
		monitor_json_u64(o, "queue_batches", st->shards[i].queue_batches, ok);
		monitor_json_u64(o, "msgs", st->shards[i].msgs, ok);
		monitor_json_u64(o, "deliveries", st->shards[i].deliveries, ok);
	}
}

/* Each admission policy as /admissionz names it and its counters. */
static void sys_stats_admission(cJSON *root, const struct stats *st, bool *ok)
{
	cJSON *a = monitor_json_array(root, "admission", ok);
	for (int i = 0; *ok && i < st->nadmission; i++) {
		const struct stats_admission *ad = &st->admission[i];
		cJSON *o = monitor_json_item(a, ok);
		if (!o)
			return;
		monitor_json_admission(o, ad, ok);
	}
}

/* The client connections with the most output pending; left out when none
 * has any. */
static void sys_stats_slowest(cJSON *root, const struct stats *st, bool *ok)
{
	if (!st->nslowest)
		return;
	cJSON *a = monitor_json_array(root, "slowest", ok);
	for (size_t i = 0; *ok && i < st->nslowest; i++) {
		cJSON *o = monitor_json_item(a, ok);
		if (!o)
			return;
		monitor_json_u64(o, "cid", st->slowest[i].cid, ok);
		monitor_json_str(o, "name", st->slowest[i].name, ok);
		monitor_json_u64(o, "pending_bytes", st->slowest[i].pending_bytes, ok);
	}
}

int sys_stats_render(const struct sys_stats_doc *d, char **out, size_t *len)
{
	cJSON *root = cJSON_CreateObject();
	bool ok = root != NULL;
	*out = NULL;
	*len = 0;
	if (ok) {
		sys_stats_head(root, d, &ok);
		sys_stats_rates(root, d, &ok);
		sys_stats_shards(root, d->st, &ok);
		sys_stats_admission(root, d->st, &ok);
		sys_stats_slowest(root, d->st, &ok);
	}
	if (ok)
		*out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

/* ---- the timer ---- */

void sys_stats_timer_init(struct sys_stats_timer *tm, uint32_t interval_ms, uint64_t now_ns)
{
	memset(tm, 0, sizeof(*tm));
	tm->interval_ns = (uint64_t)interval_ms * NS_PER_MS;
	tm->next_ns = now_ns + tm->interval_ns;
}

int64_t sys_stats_timer_wait_ms(const struct sys_stats_timer *tm, uint64_t now_ns)
{
	if (!tm->interval_ns)
		return INT64_MAX;
	if (now_ns >= tm->next_ns)
		return 0;
	return (int64_t)((tm->next_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS);
}

/* Collects, renders and posts one document. */
static void sys_stats_publish(struct server *s, struct sys_stats_timer *tm)
{
	struct stats st;
	int ret = stats_collect(s, &st, STATS_SLOWEST);
	if (ret == -ENOMEM) {
		log_warn("$SYS stats: out of memory; document skipped");
		return;
	}
	/* -ETIMEDOUT: an I/O thread did not answer within 1 s; the totals lack
	 * its share this time, the rest is right */
	struct sys_stats_doc d = {.st = &st,
	                          .at_ns = clock_now_ns(),
	                          .prev = tm->prev,
	                          .interval_ms = (uint32_t)(tm->interval_ns / NS_PER_MS),
	                          .skipped = tm->skipped};
	char *msg;
	size_t len;
	if (ret == 0) /* rates from a partial collection would be wrong twice */
		tm->prev = (struct sys_stats_prev){.at_ns = d.at_ns,
		                                   .in_msgs = st.in_msgs,
		                                   .out_msgs = st.out_msgs,
		                                   .in_bytes = st.in_bytes,
		                                   .out_bytes = st.out_bytes};
	ret = sys_stats_render(&d, &msg, &len);
	stats_free(&st);
	if (ret) {
		log_warn("$SYS stats: out of memory; document skipped");
		return;
	}
	if (sys_stats_box_post(&s->sys_box, msg, len))
		tm->skipped++;
	uint64_t one = 1; /* I/O thread 0 publishes it at its next poll */
	ssize_t n = write(wake_fd(&s->io[0].wake), &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is far from zero, it will look */
}

void sys_stats_tick(struct server *s, struct sys_stats_timer *tm, uint64_t now_ns)
{
	if (!tm->interval_ns || now_ns < tm->next_ns)
		return;
	tm->next_ns += tm->interval_ns;
	if (tm->next_ns <= now_ns) /* fell behind (a slow collection): no burst to catch up */
		tm->next_ns = now_ns + tm->interval_ns;
	sys_stats_publish(s, tm);
}
