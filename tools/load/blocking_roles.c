/* ringbus-load-blocking's threads: a publisher writes its messages through
 * 64 KiB buffered sends (a PING window or none), a subscriber reads, checks
 * and times what arrives. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "tools/load/blocking.h"
#include "tools/load/payload.h"

void bc_fail(struct bc_run *run, const char *fmt, ...)
{
	pthread_mutex_lock(&run->lock);
	if (!run->error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->error, sizeof(run->error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&run->lock);
	__atomic_store_n(&run->failed, true, __ATOMIC_RELEASE); /* pairs with bc_failed */
}

bool bc_failed(struct bc_run *run)
{
	return __atomic_load_n(&run->failed, __ATOMIC_ACQUIRE); /* pairs with bc_fail */
}

static bool bc_stopping(struct bc_run *run)
{
	return __atomic_load_n(&run->stop, __ATOMIC_RELAXED) || bc_failed(run);
}

/* A publisher's I/O failed with @err: a server that takes nothing for
 * --drain stalls the run (the publisher stops), anything else fails it. */
static void pub_io_failed(struct bc_pub *pub, int err)
{
	if (err == -EAGAIN) {
		fprintf(stderr, "ringbus-load-blocking: publisher %u: nothing moved for %.1f s\n",
		        pub->index, (double)pub->run->cfg->drain_ns / 1e9);
		__atomic_store_n(&pub->run->stalled, true, __ATOMIC_RELAXED);
		return;
	}
	bc_fail(pub->run, "publisher %u: %s", pub->index, pub->io.error);
}

/* Reads until at most @outstanding of @pings are unanswered. Returns 0,
 * -EAGAIN (no byte for --drain), -EPIPE (closed) or the read's error. */
static int pub_wait_pongs(struct bc_pub *pub, uint64_t pings, uint64_t outstanding)
{
	while (pings - pub->io.pongs > outstanding) {
		ssize_t n = bconn_read(&pub->io, NULL, NULL);
		if (n == 0) {
			snprintf(pub->io.error, sizeof(pub->io.error),
			         "the server closed the connection");
			return -EPIPE;
		}
		if (n < 0)
			return (int)n;
	}
	return 0;
}

/* Writes message pub->produced, intended at @intended, written at @now. */
static int pub_write(struct bc_pub *pub, uint64_t intended, uint64_t now)
{
	const struct load_config *cfg = pub->run->cfg;
	uint32_t j = (uint32_t)(pub->produced % pub->subj.count);
	uint32_t hl = pub->head_len[j];
	char *dst;
	int err = bconn_reserve(&pub->io, hl + cfg->size + 2, &dst);
	if (err)
		return err;
	memcpy(dst, pub->heads + (size_t)j * BC_HEAD_MAX, hl);
	char *body = dst + hl;
	uint32_t hdr = cfg->size >= PAYLOAD_STAMPED ? PAYLOAD_STAMPED : PAYLOAD_MIN;
	/* one stream per publisher: order is checked across its subjects */
	payload_write(body, cfg->size, pub->index, pub->produced, intended, now);
	memcpy(body + hdr, pub->filler, cfg->size - hdr);
	body[cfg->size] = '\r';
	body[cfg->size + 1] = '\n';
	bconn_commit(&pub->io, hl + cfg->size + 2);
	pub->produced++;
	struct load_stats *s = &pub->stats;
	s->sent++;
	s->sent_bytes += cfg->size;
	s->last_send = now;
	if (intended >= pub->run->measure_ns) {
		s->sent_measured++;
		if (pub->period_ns > 0)
			hist_record(&s->delay, now - intended);
	}
	return 0;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
	                      .tv_nsec = (long)(ns % 1000000000u)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void *bc_pub_main(void *arg)
{
	struct bc_pub *pub = arg;
	struct bc_run *run = pub->run;
	const struct load_config *cfg = run->cfg;
	pthread_barrier_wait(&run->go);
	uint64_t t0 = run->start_ns + (uint64_t)(pub->period_ns * pub->index / cfg->pubs);
	uint64_t pings = 0, since_ping = 0;
	int err = 0;
	sleep_until(run->start_ns);
	while (pub->produced < pub->quota && !bc_failed(run)) {
		uint64_t now = clock_now_ns(), intended = now;
		if (pub->period_ns > 0) {
			intended = t0 + (uint64_t)((double)pub->produced * pub->period_ns);
			if (intended >= run->end_ns)
				break;
			if (intended > now) {
				if ((err = bconn_flush(&pub->io)))
					break;
				sleep_until(intended);
				now = clock_now_ns();
			}
		} else if (now >= run->end_ns) {
			break;
		}
		if ((err = pub_write(pub, intended, now)))
			break;
		if (pub->period_ns > 0 || !cfg->window || ++since_ping < cfg->window)
			continue;
		since_ping = 0;
		if ((err = bconn_ping(&pub->io)) || (err = pub_wait_pongs(pub, ++pings, 1)))
			break;
	}
	/* The last PONG: the server has read everything written. */
	if (!err && !(err = bconn_ping(&pub->io)))
		err = pub_wait_pongs(pub, ++pings, 0);
	if (pub->period_ns > 0) {
		uint64_t due = pub->quota;
		if (run->end_ns != UINT64_MAX) {
			double d = (double)(run->end_ns - t0) / pub->period_ns;
			due = (uint64_t)d + ((double)(uint64_t)d < d);
		}
		pub->stats.scheduled = due < pub->quota ? due : pub->quota;
	}
	if (err && !bc_failed(run))
		pub_io_failed(pub, err);
	return NULL;
}

static void sub_msg(void *arg, struct proto_span body, uint64_t now)
{
	struct bc_sub *sub = arg;
	struct payload_hdr h;
	if (!payload_read(body.ptr, body.len, &h))
		return;
	int v = track_seen(&sub->track, h.stream, h.seq);
	if (v == TRACK_DUP || v < 0)
		return; /* -ENOMEM: the stream goes uncounted, and shows as lost */
	struct load_stats *s = &sub->stats;
	s->delivered++;
	s->delivered_bytes += body.len;
	s->last_recv = now;
	if (h.intended_ns >= sub->run->measure_ns) {
		s->delivered_measured++;
		hist_record(&s->lat, now > h.intended_ns ? now - h.intended_ns : 0);
		if (h.stamped && sub->run->cfg->rate > 0)
			hist_record(&s->lat_raw, now > h.stamp_ns ? now - h.stamp_ns : 0);
	}
}

void *bc_sub_main(void *arg)
{
	struct bc_sub *sub = arg;
	struct bc_run *run = sub->run;
	pthread_barrier_wait(&run->go);
	while (!bc_stopping(run)) {
		ssize_t n = bconn_read(&sub->io, sub_msg, sub);
		__atomic_store_n(&sub->progress, sub->stats.delivered, __ATOMIC_RELAXED);
		if (n > 0 || n == -EAGAIN)
			continue;
		/* its messages from here on count as lost; relaxed: read by the
		 * main thread's drain check only, and after the join */
		__atomic_store_n(&sub->closed, true, __ATOMIC_RELAXED);
		fprintf(stderr, "ringbus-load-blocking: subscriber %u: %s\n", sub->index,
		        n == 0 ? "the server closed the connection (a slow consumer? NATS servers "
		                 "drop subscribers that fall behind)"
		               : sub->io.error);
		break;
	}
	return NULL;
}
