/* ringbus-load's reports: progress line, human summary, JSON (cJSON) and
 * the .hgrm percentile distribution. */
#include "tools/load/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "tools/load/roles.h"

static const double report_pcts[] = {50.0, 90.0, 99.0, 99.9, 99.99};
static const char *const report_keys[] = {"p50", "p90", "p99", "p999", "p9999"};
static const char *const report_labels[] = {"p50", "p90", "p99", "p99.9", "p99.99"};

/* "812ns", "45.1us", "1.23ms", "2.50s" */
static const char *fmt_ns(char *buf, size_t cap, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, cap, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, cap, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, cap, "%.2fms", (double)ns / 1e6);
	else
		snprintf(buf, cap, "%.2fs", (double)ns / 1e9);
	return buf;
}

/* 1234567 -> "1,234,567" */
static const char *fmt_count(char *buf, size_t cap, double v)
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%.0f", v);
	size_t n = strlen(digits), o = 0;
	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static double secs_between(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1e9 : 0.0;
}

static double tv_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

void report_figures(struct load_result *res, const struct load_config *cfg, uint64_t measure_ns,
                    const struct rusage *r0, const struct rusage *r1)
{
	struct load_stats *s = &res->total;
	res->send_secs = secs_between(measure_ns, s->last_send);
	res->recv_secs = secs_between(measure_ns, s->last_recv);
	res->pub_rate = res->send_secs > 0 ? (double)s->sent_measured / res->send_secs : 0;
	res->sub_rate = res->recv_secs > 0 ? (double)s->delivered_measured / res->recv_secs : 0;
	res->bytes_rate = (res->nrecv ? res->sub_rate : res->pub_rate) * cfg->size;
	if (cfg->rate > 0 && cfg->mode != LOAD_SUB) {
		res->target_rate = cfg->rate;
		res->target_missed = (double)s->sent < 0.99 * (double)s->scheduled ||
		                     res->pub_rate < 0.97 * cfg->rate || res->stalled;
	}
	res->cpu_user_s = tv_secs(&r1->ru_utime) - tv_secs(&r0->ru_utime);
	res->cpu_sys_s = tv_secs(&r1->ru_stime) - tv_secs(&r0->ru_stime);
}

void report_progress(FILE *out, double secs, uint64_t sent, uint64_t delivered, double send_rate,
                     double recv_rate, const struct hist *lat)
{
	static const double shown[] = {50.0, 99.0, 99.9};
	char a[32], b[32], c[32], d[32], p[3][16], mx[16];
	for (size_t i = 0; i < RB_ARRAY_LEN(shown); i++)
		fmt_ns(p[i], sizeof(p[i]), hist_value_at_percentile(lat, shown[i]));
	fprintf(out,
	        "[%6.1fs] sent %s (%s/s)  delivered %s (%s/s)  p50 %s  p99 %s  p99.9 %s  max %s\n",
	        secs, fmt_count(a, sizeof(a), (double)sent), fmt_count(b, sizeof(b), send_rate),
	        fmt_count(c, sizeof(c), (double)delivered), fmt_count(d, sizeof(d), recv_rate),
	        p[0], p[1], p[2], fmt_ns(mx, sizeof(mx), hist_max(lat)));
	fflush(out);
}

static void print_latency(FILE *out, const char *label, const struct hist *h)
{
	if (!hist_count(h))
		return;
	char v[16];
	fprintf(out, "  %-34s", label);
	for (size_t i = 0; i < RB_ARRAY_LEN(report_pcts); i++)
		fprintf(out, " %s %s", report_labels[i],
		        fmt_ns(v, sizeof(v), hist_value_at_percentile(h, report_pcts[i])));
	fprintf(out, " max %s\n", fmt_ns(v, sizeof(v), hist_max(h)));
}

static bool show_uncorrected(const struct load_config *cfg, const struct load_result *res)
{
	return hist_count(&res->total.lat_raw) && (cfg->rate > 0 || cfg->mode == LOAD_SUB);
}

static void print_receivers(FILE *out, const struct load_result *res)
{
	bool any = res->lost || res->dup || res->reorder || res->closed;
	if (!res->nrecv || (!any && res->nrecv > 8))
		return;
	fprintf(out, "  %-12s %14s %14s %12s %12s %12s\n", res->recv_kind, "delivered", "expected",
	        "lost", "duplicated", "reordered");
	for (uint32_t i = 0; i < res->nrecv; i++) {
		const struct load_recv_result *r = &res->recv[i];
		if (res->nrecv > 8 && !r->lost && !r->dup && !r->reorder && !r->closed)
			continue;
		char e[24];
		if (r->expected == ROLES_UNKNOWN)
			strcpy(e, "-");
		else
			snprintf(e, sizeof(e), "%" PRIu64, r->expected);
		fprintf(out,
		        "  %-12u %14" PRIu64 " %14s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "%s\n",
		        r->id, r->delivered, e, r->lost, r->dup, r->reorder,
		        r->closed ? "  closed by the server" : "");
	}
}

void report_summary(FILE *out, const struct load_config *cfg, const struct load_result *res)
{
	const struct load_stats *s = &res->total;
	char a[32], b[32], c[32];
	fprintf(out, "%s: %s (server %s)\n", load_flags_prog(cfg->mode), cfg->url_shown,
	        res->server_version && res->server_version[0] ? res->server_version : "?");
	if (cfg->mode == LOAD_REQREP)
		fprintf(out, "  %u clients, %u responders", cfg->clients, cfg->responders);
	else
		fprintf(out, "  %u publishers, %u subscribers%s%s", cfg->pubs, cfg->subs,
		        cfg->queue[0] ? " in queue group " : "", cfg->queue);
	fprintf(out, ", %u subject%s%s, %u B payload, %u thread%s%s\n", cfg->subjects,
	        cfg->subjects == 1 ? "" : "s",
	        cfg->pub_subject_per_pub ? " (one per publisher)" : "", cfg->size, cfg->threads,
	        cfg->threads == 1 ? "" : "s",
	        cfg->mode == LOAD_BLOCKING ? " (one per connection, blocking sockets)" : "");
	if (cfg->nsub_urls) {
		fprintf(out, "  subscribers on");
		for (uint32_t i = 0; i < cfg->nsub_urls; i++)
			fprintf(out, "%s %s", i ? "," : "", cfg->sub_urls[i].shown);
		fprintf(out, "%s; interest crossed in %.3f s\n",
		        cfg->nsub_urls > 1 ? " (subscriber s on the (s mod n)-th)" : "",
		        res->interest_wait_s);
	}
	if (cfg->sub_subject[0])
		fprintf(out, "  every subscriber on %s\n", cfg->sub_subject);
	if (cfg->stream_per_pub || cfg->mode == LOAD_BLOCKING)
		fprintf(out, "  order checked per publisher across its subjects\n");
	if (cfg->rate > 0 && cfg->mode == LOAD_BLOCKING)
		fprintf(out,
		        "  open loop at %s msg/s; latency from each message's intended send time;\n"
		        "  each publisher sleeps until its next message is due\n",
		        fmt_count(a, sizeof(a), cfg->rate));
	else if (cfg->rate > 0)
		fprintf(out,
		        "  open loop at %s msg/s; latency from each message's intended send time;\n"
		        "  sends falling due within %.0f us leave together\n",
		        fmt_count(a, sizeof(a), cfg->rate), (double)cfg->send_window_ns / 1e3);
	else if (cfg->mode == LOAD_REQREP)
		fprintf(out, "  closed loop, %u request%s in flight per client\n", cfg->inflight,
		        cfg->inflight == 1 ? "" : "s");
	else if (cfg->mode != LOAD_SUB && cfg->window)
		fprintf(out, "  closed loop, PING/PONG window of %u messages per publisher\n",
		        cfg->window);
	else if (cfg->mode != LOAD_SUB)
		fprintf(out, "  closed loop without a window: written as fast as the socket takes "
		             "it, one PING at the end\n");
	if (cfg->mode != LOAD_SUB)
		fprintf(out, "  sent        %14s msgs  %12s msg/s over %.3f s\n",
		        fmt_count(a, sizeof(a), (double)s->sent),
		        fmt_count(b, sizeof(b), res->pub_rate), res->send_secs);
	if (res->nrecv) {
		fprintf(out, "  delivered   %14s msgs  %12s msg/s over %.3f s",
		        fmt_count(a, sizeof(a), (double)s->delivered),
		        fmt_count(b, sizeof(b), res->sub_rate), res->recv_secs);
		if (res->expected_known)
			fprintf(out, "  (expected %s)",
			        fmt_count(c, sizeof(c), (double)res->expected));
		fprintf(out,
		        "\n  lost %" PRIu64 ", duplicated %" PRIu64 ", out of order %" PRIu64
		        "%s\n",
		        res->lost, res->dup, res->reorder,
		        res->expected_known ? "" : " (loss from sequence gaps only)");
		if (res->closed)
			fprintf(out,
			        "  %u %s%s closed by the server before the end (slow consumer?)\n",
			        res->closed, res->recv_kind, res->closed == 1 ? "" : "s");
	}
	fprintf(out, "  payload     %14.1f MB/s\n", res->bytes_rate / 1e6);
	if (cfg->rate > 0) {
		print_latency(out, "latency, corrected (from intended):", &s->lat);
		if (show_uncorrected(cfg, res))
			print_latency(out, "latency, uncorrected (from sent):", &s->lat_raw);
		else if (cfg->size < 24)
			fprintf(out, "  latency, uncorrected: needs --size >= 24\n");
		print_latency(out, "send delay (sent - intended):", &s->delay);
	} else {
		const char *label = cfg->mode == LOAD_REQREP ? "round trip:"
		                    : cfg->mode == LOAD_SUB  ? "latency (from intended send):"
		                                             : "latency (from sent):";
		print_latency(out, label, &s->lat);
		if (show_uncorrected(cfg, res))
			print_latency(out, "latency, uncorrected (from sent):", &s->lat_raw);
	}
	if (hist_saturated(&s->lat))
		fprintf(out, "  %" PRIu64 " latencies above one hour were clamped\n",
		        hist_saturated(&s->lat));
	double msgs = (double)(s->sent + s->delivered + s->served);
	fprintf(out, "  cpu         %.2f s user + %.2f s sys = %.3f us per message handled\n",
	        res->cpu_user_s, res->cpu_sys_s,
	        msgs > 0 ? (res->cpu_user_s + res->cpu_sys_s) * 1e6 / msgs : 0.0);
	print_receivers(out, res);
	if (res->target_rate > 0) {
		if (res->target_missed)
			fprintf(out,
			        "  TARGET RATE NOT REACHED: asked %s msg/s, achieved %s msg/s "
			        "(%.1f%%); sent %" PRIu64 " of %" PRIu64 " scheduled\n",
			        fmt_count(a, sizeof(a), res->target_rate),
			        fmt_count(b, sizeof(b), res->pub_rate),
			        100.0 * res->pub_rate / res->target_rate, s->sent, s->scheduled);
		else
			fprintf(out, "  target rate reached: %s msg/s\n",
			        fmt_count(a, sizeof(a), res->pub_rate));
	}
	if (res->stalled)
		fprintf(out,
		        "  STALLED: nothing sent or delivered for %.1f s; the run was cut short\n",
		        (double)cfg->drain_ns / 1e9);
	else if (res->drain_timed_out)
		fprintf(out, "  some messages had not arrived %.1f s after the last send\n",
		        (double)cfg->drain_ns / 1e9);
}

static cJSON *latency_json(const struct hist *h)
{
	if (!hist_count(h))
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < RB_ARRAY_LEN(report_pcts); i++)
		cJSON_AddNumberToObject(o, report_keys[i],
		                        (double)hist_value_at_percentile(h, report_pcts[i]) / 1e3);
	cJSON_AddNumberToObject(o, "max", (double)hist_max(h) / 1e3);
	cJSON_AddNumberToObject(o, "min", (double)hist_min(h) / 1e3);
	cJSON_AddNumberToObject(o, "mean", hist_mean(h) / 1e3);
	cJSON_AddNumberToObject(o, "stddev", hist_stddev(h) / 1e3);
	cJSON_AddNumberToObject(o, "count", (double)hist_count(h));
	return o;
}

static void add_count_or_null(cJSON *o, const char *key, uint64_t v, bool known)
{
	if (known)
		cJSON_AddNumberToObject(o, key, (double)v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *config_json(const struct load_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "pubs", cfg->pubs);
	cJSON_AddNumberToObject(o, "subs", cfg->subs);
	cJSON_AddNumberToObject(o, "clients", cfg->clients);
	cJSON_AddNumberToObject(o, "responders", cfg->responders);
	cJSON_AddNumberToObject(o, "msgs", (double)cfg->msgs);
	cJSON_AddNumberToObject(o, "duration_s", (double)cfg->duration_ns / 1e9);
	cJSON_AddNumberToObject(o, "warmup_s", (double)cfg->warmup_ns / 1e9);
	cJSON_AddNumberToObject(o, "size", cfg->size);
	cJSON_AddNumberToObject(o, "subjects", cfg->subjects);
	cJSON_AddStringToObject(o, "subject_prefix", cfg->prefix);
	cJSON_AddStringToObject(o, "queue", cfg->queue);
	if (cfg->sub_subject[0])
		cJSON_AddStringToObject(o, "sub_subject", cfg->sub_subject);
	else
		cJSON_AddNullToObject(o, "sub_subject");
	cJSON_AddBoolToObject(o, "stream_per_pub",
	                      cfg->stream_per_pub || cfg->mode == LOAD_BLOCKING);
	cJSON_AddBoolToObject(o, "pub_subject_per_pub", cfg->pub_subject_per_pub);
	cJSON_AddNumberToObject(o, "rate", cfg->rate);
	cJSON_AddNumberToObject(o, "window", cfg->window);
	cJSON_AddNumberToObject(o, "send_window_us", (double)cfg->send_window_ns / 1e3);
	cJSON_AddNumberToObject(o, "inflight", cfg->inflight);
	cJSON_AddNumberToObject(o, "threads", cfg->threads);
	return o;
}

static cJSON *receivers_json(const struct load_result *res)
{
	cJSON *a = cJSON_CreateArray();
	for (uint32_t i = 0; i < res->nrecv && res->recv; i++) {
		const struct load_recv_result *r = &res->recv[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", r->id);
		cJSON_AddNumberToObject(o, "received", (double)r->received);
		cJSON_AddNumberToObject(o, "delivered", (double)r->delivered);
		add_count_or_null(o, "expected", r->expected, r->expected != ROLES_UNKNOWN);
		add_count_or_null(o, "lost", r->lost, res->per_recv_loss);
		cJSON_AddNumberToObject(o, "duplicated", (double)r->dup);
		cJSON_AddNumberToObject(o, "out_of_order", (double)r->reorder);
		cJSON_AddBoolToObject(o, "closed_by_server", r->closed);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *result_json(const struct load_config *cfg, const struct load_result *res)
{
	const struct load_stats *s = &res->total;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(
	    o, "tool", cfg->mode == LOAD_BLOCKING ? "ringbus-load-blocking" : "ringbus-load");
	cJSON_AddStringToObject(o, "version", RINGBUS_VERSION);
	cJSON_AddStringToObject(o, "mode", load_mode_name(cfg->mode));
	cJSON_AddStringToObject(o, "url", cfg->url_shown);
	if (cfg->nsub_urls) {
		cJSON *urls = cJSON_AddArrayToObject(o, "sub_urls");
		for (uint32_t i = 0; urls && i < cfg->nsub_urls; i++)
			cJSON_AddItemToArray(urls, cJSON_CreateString(cfg->sub_urls[i].shown));
	} else {
		cJSON_AddNullToObject(o, "sub_urls");
	}
	cJSON_AddStringToObject(o, "server_version",
	                        res->server_version ? res->server_version : "");
	cJSON_AddItemToObject(o, "config", config_json(cfg));
	if (res->error) {
		cJSON_AddStringToObject(o, "error", res->error);
		return o;
	}
	cJSON_AddNullToObject(o, "error");
	if (cfg->nsub_urls)
		cJSON_AddNumberToObject(o, "interest_wait_s", res->interest_wait_s);
	else
		cJSON_AddNullToObject(o, "interest_wait_s");
	cJSON_AddBoolToObject(o, "closed_loop", cfg->rate <= 0);
	cJSON_AddNumberToObject(o, "sent", (double)s->sent);
	cJSON_AddNumberToObject(o, "delivered", (double)s->delivered);
	cJSON_AddNumberToObject(o, "received", (double)res->received);
	add_count_or_null(o, "expected", res->expected, res->expected_known);
	cJSON_AddNumberToObject(o, "lost", (double)res->lost);
	cJSON_AddNumberToObject(o, "duplicated", (double)res->dup);
	cJSON_AddNumberToObject(o, "out_of_order", (double)res->reorder);
	cJSON_AddNumberToObject(o, "closed_by_server", (double)res->closed);
	if (cfg->mode == LOAD_REQREP)
		cJSON_AddNumberToObject(o, "served", (double)s->served);
	cJSON_AddNumberToObject(o, "pub_msgs_per_sec", res->pub_rate);
	cJSON_AddNumberToObject(o, "sub_msgs_per_sec", res->sub_rate);
	cJSON_AddNumberToObject(o, "bytes_per_sec", res->bytes_rate);
	cJSON_AddNumberToObject(o, "send_secs", res->send_secs);
	cJSON_AddNumberToObject(o, "recv_secs", res->recv_secs);
	if (res->target_rate > 0) {
		cJSON_AddNumberToObject(o, "target_rate", res->target_rate);
		cJSON_AddBoolToObject(o, "target_reached", !res->target_missed);
		cJSON_AddNumberToObject(o, "scheduled", (double)s->scheduled);
	} else {
		cJSON_AddNullToObject(o, "target_rate");
		cJSON_AddNullToObject(o, "target_reached");
	}
	cJSON_AddItemToObject(o, "latency_us", latency_json(&s->lat));
	cJSON_AddItemToObject(o, "latency_uncorrected_us",
	                      show_uncorrected(cfg, res) ? latency_json(&s->lat_raw)
	                                                 : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "send_delay_us", latency_json(&s->delay));
	cJSON_AddNumberToObject(o, "latency_saturated", (double)hist_saturated(&s->lat));
	cJSON *cpu = cJSON_AddObjectToObject(o, "cpu");
	double msgs = (double)(s->sent + s->delivered + s->served);
	cJSON_AddNumberToObject(cpu, "user_s", res->cpu_user_s);
	cJSON_AddNumberToObject(cpu, "sys_s", res->cpu_sys_s);
	cJSON_AddNumberToObject(cpu, "us_per_msg",
	                        msgs > 0 ? (res->cpu_user_s + res->cpu_sys_s) * 1e6 / msgs : 0.0);
	cJSON_AddBoolToObject(o, "stalled", res->stalled);
	cJSON_AddBoolToObject(o, "drain_timed_out", res->drain_timed_out);
	cJSON_AddItemToObject(o, cfg->mode == LOAD_REQREP ? "requesters" : "subscribers",
	                      receivers_json(res));
	return o;
}

int report_json(const char *path, const struct load_config *cfg, const struct load_result *res)
{
	cJSON *doc = result_json(cfg, res);
	char *text = doc ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "w");
	int err = 0;
	if (!f)
		err = -errno;
	else if (fprintf(f, "%s\n", text) < 0)
		err = -EIO;
	if (f && !to_stdout && fclose(f) && !err)
		err = -errno;
	cJSON_free(text);
	return err;
}

int report_hgrm(const char *path, const struct load_result *res)
{
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "w");
	if (!f)
		return -errno;
	int err = hist_write_hgrm(&res->total.lat, f, 5, 1000.0);
	if (!to_stdout && fclose(f) && !err)
		err = -errno;
	return err;
}
