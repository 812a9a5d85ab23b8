/* Admission policies: the state built from the settings (router/
 * admission_conf.c reads them), most-specific-pattern lookup, counters,
 * advisories. The decisions themselves are taken where the queues are
 * (router/client.c for I/O threads, router/shard.c for shard queues). */
#define _GNU_SOURCE
#include "router/admission_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "router/monitor/stats.h"
#include "router/index/subject.h"

/* Negative when @a is more specific than @b: at the first token where they
 * differ, a literal beats '*' beats '>'; a longer pattern beats its prefix. */
static int adm_rule_cmp(const void *x, const void *y)
{
	const char *a = ((const struct adm_rule *)x)->pattern;
	const char *b = ((const struct adm_rule *)y)->pattern;
	for (;;) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		int ka = (la == 1 && *a == '>') ? 2 : (la == 1 && *a == '*') ? 1 : 0;
		int kb = (lb == 1 && *b == '>') ? 2 : (lb == 1 && *b == '*') ? 1 : 0;
		if (ka != kb)
			return ka - kb;
		a += la;
		b += lb;
		if (!*a || !*b)
			return (*a ? -1 : 0) - (*b ? -1 : 0);
		a++;
		b++;
	}
}

/* One problem of admission_new() to @report, or to stderr. */
RB_PRINTF(2, 3) static void adm_problem(void (*report)(const char *problem), const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (report)
		report(line);
	else
		fprintf(stderr, "%s\n", line);
}

int admission_new(const struct adm_config *cfg, void (*report)(const char *problem),
                  struct admission **out)
{
	struct admission *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->npolicies = cfg->nspecs;
	a->policies = calloc((size_t)cfg->nspecs, sizeof(*a->policies));
	a->rules = calloc(ADM_MAX_RULES, sizeof(*a->rules));
	if (!a->policies || !a->rules) {
		admission_free(a);
		return -ENOMEM;
	}
	const struct adm_policy *d = &cfg->specs[0].p;
	int bad = 0;
	for (int i = 0; i < cfg->nspecs; i++) {
		const struct adm_spec *s = &cfg->specs[i];
		struct adm_policy *p = &a->policies[i];
		*p = *d; /* counters are zero: the config's never moved */
		memcpy(p->name, s->p.name, sizeof(p->name));
		if (s->set & ADM_SET_SHARD)
			p->shard = s->p.shard;
		if (s->set & ADM_SET_SUB)
			p->sub = s->p.sub;
		if (s->set & ADM_SET_FALLBACK)
			p->fallback = s->p.fallback;
		if (s->set & ADM_SET_HIGH)
			p->sub_high = s->p.sub_high;
		p->sub_low = (s->set & ADM_SET_LOW) ? s->p.sub_low : p->sub_high / 2;
		if (s->set & ADM_SET_DEFER)
			p->defer_max_ns = s->p.defer_max_ns;
		if (s->set & ADM_SET_BUSY)
			p->busy = s->p.busy;
		if (s->set & ADM_SET_ADVISORY)
			p->advisory = s->p.advisory;
		if (s->set & ADM_SET_INFLIGHT)
			p->max_inflight = s->p.max_inflight;
		if (s->set & ADM_SET_QWAIT)
			p->queue_wait_ns = s->p.queue_wait_ns;
		if (p->sub_low >= p->sub_high) {
			adm_problem(report,
			            "admission: policy %s: subscriber_low must be below "
			            "subscriber_high",
			            p->name);
			bad++;
		}
		if (i > 0 && s->nsubjects == 0) {
			adm_problem(report, "admission: policy %s has no 'subjects'", p->name);
			bad++;
		}
		for (int j = 0; j < s->nsubjects && a->nrules < ADM_MAX_RULES; j++) {
			a->rules[a->nrules].pattern = strdup(s->subjects[j]);
			a->rules[a->nrules].policy = i;
			a->nrules++;
		}
		if (i == 0 || p->sub_high < a->min_sub_high)
			a->min_sub_high = p->sub_high;
	}
	qsort(a->rules, (size_t)a->nrules, sizeof(*a->rules), adm_rule_cmp);
	a->shard_high = cfg->shard_high;
	a->shard_low = cfg->shard_low ? cfg->shard_low : cfg->shard_high / 2;
	a->shard_high_msgs = cfg->shard_high_msgs;
	a->shard_low_msgs = cfg->shard_low_msgs ? cfg->shard_low_msgs : cfg->shard_high_msgs / 2;
	a->process_high = cfg->process_high;
	a->process_low = cfg->process_low ? cfg->process_low : cfg->process_high / 2;
	a->request_aware = cfg->request_aware;
	a->request_expiry_ns = cfg->request_expiry_ns;
	if (a->shard_low >= a->shard_high || a->shard_low_msgs >= a->shard_high_msgs ||
	    a->process_low >= a->process_high) {
		adm_problem(report, "admission: every low mark must be below its high mark");
		bad++;
	}
	if (bad) {
		admission_free(a);
		return -EINVAL;
	}
	*out = a;
	return 0;
}

void admission_free(struct admission *a)
{
	if (!a)
		return;
	for (int i = 0; a->rules && i < a->nrules; i++)
		free(a->rules[i].pattern);
	free(a->rules);
	free(a->policies);
	free(a);
}

struct adm_policy *admission_policy_by_name(const struct admission *a, const char *name)
{
	for (int i = 0; i < a->npolicies; i++)
		if (!strcmp(a->policies[i].name, name))
			return &a->policies[i];
	return &a->policies[0];
}

struct adm_policy *admission_lookup(const struct admission *a, const char *subj, size_t len)
{
	for (int i = 0; i < a->nrules; i++)
		if (subject_matches(a->rules[i].pattern, strlen(a->rules[i].pattern), subj, len))
			return &a->policies[a->rules[i].policy];
	return &a->policies[0];
}

size_t admission_advisory(struct adm_policy *p, const char *queue, int64_t id, uint64_t bytes,
                          uint64_t high, uint64_t now_ns, char *subj, size_t subj_cap, char *buf,
                          size_t cap)
{
	if (!p->advisory)
		return 0;
	uint64_t last = atomic_load_explicit(&p->c.advisory_last_ns, memory_order_relaxed);
	if (last && now_ns - last < 1000000000ull)
		return 0;
	if (!atomic_compare_exchange_strong_explicit(&p->c.advisory_last_ns, &last, now_ns,
	                                             memory_order_relaxed, memory_order_relaxed))
		return 0; /* another thread sends this second's advisory */
	snprintf(subj, subj_cap, "$SYS.ADMISSION.%s", p->name);
	int n = snprintf(buf, cap,
	                 "{\"type\":\"ringbus.admission.high\",\"policy\":\"%s\",\"queue\":\"%s\","
	                 "\"id\":%lld,\"bytes\":%llu,\"high\":%llu,\"action\":\"%s\","
	                 "\"dropped_new\":%llu,\"dropped_old\":%llu,\"deferred\":%llu,"
	                 "\"disconnects\":%llu}",
	                 p->name, queue, (long long)id, (unsigned long long)bytes,
	                 (unsigned long long)high,
	                 adm_action_name(!strcmp(queue, "subscriber") ? p->sub : p->shard),
	                 (unsigned long long)atomic_load(&p->c.dropped_new),
	                 (unsigned long long)atomic_load(&p->c.dropped_old),
	                 (unsigned long long)atomic_load(&p->c.deferred),
	                 (unsigned long long)atomic_load(&p->c.disconnects));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void admission_stats(const struct admission *a, struct stats_admission **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (!a)
		return;
	struct stats_admission *st = calloc((size_t)a->npolicies + 1, sizeof(*st));
	if (!st)
		return;
	for (int i = 0; i <= a->npolicies; i++) {
		const struct adm_counters *c = i < a->npolicies ? &a->policies[i].c : &a->shard_c;
		struct stats_admission *o = &st[i];
		if (i < a->npolicies) {
			snprintf(o->name, sizeof(o->name), "%s", a->policies[i].name);
			snprintf(o->action, sizeof(o->action), "%s",
			         adm_action_name(a->policies[i].sub));
		} else {
			snprintf(o->name, sizeof(o->name), "process");
			snprintf(o->action, sizeof(o->action), "defer");
		}
		o->admitted = atomic_load(&c->admitted);
		o->deferred = atomic_load(&c->deferred);
		o->deferred_ns = atomic_load(&c->deferred_ns);
		o->dropped_new = atomic_load(&c->dropped_new);
		o->dropped_old = atomic_load(&c->dropped_old);
		o->busy_replies = atomic_load(&c->busy_replies);
		o->disconnects = atomic_load(&c->disconnects);
		o->high_crossings = atomic_load(&c->high_crossings);
		o->stalls = atomic_load(&c->stalls);
		o->no_progress = atomic_load(&c->no_progress);
	}
	*out = st;
	*n = a->npolicies + 1;
}

void admission_log(const struct admission *a)
{
	log_info("admission: shard marks %llu/%llu bytes, %llu/%llu msgs; process %llu/%llu bytes",
	         (unsigned long long)a->shard_high, (unsigned long long)a->shard_low,
	         (unsigned long long)a->shard_high_msgs, (unsigned long long)a->shard_low_msgs,
	         (unsigned long long)a->process_high, (unsigned long long)a->process_low);
	for (int i = 0; i < a->npolicies; i++) {
		const struct adm_policy *p = &a->policies[i];
		log_info("admission policy %s: shard %s, subscriber %s at %llu/%llu bytes%s%s, "
		         "busy %s, advisory %s",
		         p->name, adm_action_name(p->shard), adm_action_name(p->sub),
		         (unsigned long long)p->sub_high, (unsigned long long)p->sub_low,
		         p->sub == ADM_DEFER ? ", then " : "",
		         p->sub == ADM_DEFER ? adm_action_name(p->fallback) : "",
		         p->busy ? "on" : "off", p->advisory ? "on" : "off");
	}
	for (int i = 0; i < a->nrules; i++)
		log_info("admission: %s -> %s", a->rules[i].pattern,
		         a->policies[a->rules[i].policy].name);
}
