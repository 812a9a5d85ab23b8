/* Admission's settings: one table of the keys a policy (or the defaults)
 * takes, from which the flags (--sub-policy ...), the file's block
 *   ringbus { admission { subscriber: defer ... policies { NAME { ... } } } }
 * and the help all come. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router/admission_int.h"
#include "router/conf/value.h"
#include "router/index/subject.h"

#define POL(f) offsetof(struct adm_policy, f)
#define CFG(f) offsetof(struct adm_config, f)
#define MIB    (1024 * 1024)

/* clang-format off */
static const struct adm_row adm_table[] = {
    {.key = "subscriber", .flag = "sub-policy", .arg = "POLICY", .type = ADM_T_SUB_ACTION,
     .per_policy = true, .off = POL(sub), .set_bit = ADM_SET_SUB, .brief = true,
     .help = "a subscriber's queue over its mark: defer (hold back its publishers, lose "
             "nothing; default), drop-new, drop-old or disconnect"},
    {.key = "subscriber_high", .flag = "sub-high", .arg = "SIZE", .type = ADM_T_SIZE,
     .per_policy = true, .off = POL(sub_high), .set_bit = ADM_SET_HIGH, .min = 1024,
     .brief = true,
     .help = "bytes queued to one subscriber (default 8MB)"},
    {.key = "subscriber_low", .flag = "sub-low", .arg = "SIZE", .type = ADM_T_SIZE,
     .per_policy = true, .off = POL(sub_low), .set_bit = ADM_SET_LOW,
     .help = "where the subscriber's queue is healthy again (default: half the high mark)"},
    {.key = "defer_max", .flag = "defer-max", .arg = "DUR", .type = ADM_T_MS,
     .per_policy = true, .off = POL(defer_max_ns), .set_bit = ADM_SET_DEFER, .min = 1,
     .help = "a deferring subscriber whose socket takes no byte this long stops holding "
             "publishers (default 500ms)"},
    {.key = "fallback", .flag = "fallback", .arg = "POLICY", .type = ADM_T_FALLBACK,
     .per_policy = true, .off = POL(fallback), .set_bit = ADM_SET_FALLBACK,
     .help = "defer, at max_pending or write_deadline: disconnect (default), drop-new or "
             "drop-old"},
    {.key = "shard", .flag = "shard-policy", .arg = "POLICY", .type = ADM_T_SHARD_ACTION,
     .per_policy = true, .off = POL(shard), .set_bit = ADM_SET_SHARD,
     .help = "a shard's queue over its mark: defer (default) or drop-new"},
    {.key = "busy", .flag = "busy", .type = ADM_T_BOOL, .per_policy = true, .off = POL(busy),
     .set_bit = ADM_SET_BUSY, .help = "answer a dropped request with a 503 status (default true)"},
    {.key = "advisory", .flag = "advisories", .type = ADM_T_BOOL, .per_policy = true,
     .off = POL(advisory), .set_bit = ADM_SET_ADVISORY,
     .help = "publish $SYS.ADMISSION.<policy> when a high mark is crossed"},
    {.key = "max_inflight", .flag = "max-inflight", .arg = "N", .type = ADM_T_SIZE,
     .per_policy = true, .off = POL(max_inflight), .set_bit = ADM_SET_INFLIGHT,
     .help = "requests one queue member holds without a reply, at the most; when every "
             "member of the group holds that many, a request waits (queue_wait) or is "
             "answered busy with a 503 status (default 0: no limit)"},
    {.key = "queue_wait", .flag = "queue-wait", .arg = "DUR", .type = ADM_T_MS,
     .per_policy = true, .off = POL(queue_wait_ns), .set_bit = ADM_SET_QWAIT,
     .help = "how long a request may wait at the router for a queue member under "
             "max_inflight; it waits only when the service's pace says it will be served "
             "in time, else it is answered busy at once (default 0: busy at once)"},
    {.key = "subjects", .type = ADM_T_SUBJECTS, .per_policy = true,
     .help = "the subject patterns a policy applies to (the most specific wins)"},
    {.key = "shard_high", .flag = "shard-high", .arg = "SIZE", .type = ADM_T_SIZE,
     .off = CFG(shard_high), .min = 1024, .help = "bytes queued to one shard (default 4MB)"},
    {.key = "shard_low", .arg = "SIZE", .type = ADM_T_SIZE, .off = CFG(shard_low),
     .help = "where a shard's queue is healthy again (default: half)"},
    {.key = "shard_high_msgs", .flag = "shard-high-msgs", .arg = "N", .type = ADM_T_SIZE,
     .off = CFG(shard_high_msgs), .min = 16,
     .help = "messages queued to one shard (default 65536)"},
    {.key = "shard_low_msgs", .arg = "N", .type = ADM_T_SIZE, .off = CFG(shard_low_msgs),
     .help = "where a shard's message count is healthy again (default: half)"},
    {.key = "process_high", .flag = "process-high", .arg = "SIZE", .type = ADM_T_SIZE,
     .off = CFG(process_high), .min = MIB,
     .help = "bytes held in messages by the process: above it every publisher is deferred "
             "(default 1GB)"},
    {.key = "process_low", .arg = "SIZE", .type = ADM_T_SIZE, .off = CFG(process_low),
     .help = "where the process is healthy again (default: half)"},
    {.key = "request_aware", .flag = "request-aware", .type = ADM_T_BOOL,
     .off = CFG(request_aware),
     .help = "queue groups send each request (a message with a reply subject) to the member "
             "with the fewest requests in flight, and track them (/servicez); false: round "
             "robin, as nats-server (default true)"},
    {.key = "request_expiry", .flag = "request-expiry", .arg = "DUR", .type = ADM_T_MS,
     .off = CFG(request_expiry_ns), .min = 1,
     .help = "a request without a reply this long no longer counts as in flight at its "
             "member (counted as expired; default 5s)"},
};
/* clang-format on */

const struct adm_row *adm_rows(size_t *n)
{
	*n = RB_ARRAY_LEN(adm_table);
	return adm_table;
}

const struct adm_row *adm_row_by_key(const char *key)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(adm_table); i++)
		if (!strcasecmp(adm_table[i].key, key))
			return &adm_table[i];
	return NULL;
}

const struct adm_row *adm_row_by_flag(const char *flag)
{
	for (size_t i = 0; i < RB_ARRAY_LEN(adm_table); i++)
		if (adm_table[i].flag && !strcmp(adm_table[i].flag, flag))
			return &adm_table[i];
	return NULL;
}

bool adm_row_takes_value(const struct adm_row *r)
{
	return r->type != ADM_T_BOOL;
}

const char *adm_action_name(enum adm_action a)
{
	switch (a) {
	case ADM_DEFER:
		return "defer";
	case ADM_DROP_NEW:
		return "drop-new";
	case ADM_DROP_OLD:
		return "drop-old";
	case ADM_DISCONNECT:
		return "disconnect";
	}
	return "?";
}

struct adm_config *adm_config_new(void)
{
	struct adm_config *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	struct adm_policy *d = &c->specs[0].p;
	snprintf(d->name, sizeof(d->name), "default");
	d->shard = ADM_DEFER;
	/* Backpressure before loss, as nats-server stalls fast producers; a
	 * subscriber that stops reading is closed as nats-server closes a slow
	 * consumer (max_pending, write_deadline). */
	d->sub = ADM_DEFER;
	d->fallback = ADM_DISCONNECT;
	d->sub_high = 8ull << 20;
	d->defer_max_ns = 500ull * 1000000u;
	d->busy = true;
	d->advisory = false;
	c->nspecs = 1;
	/* Shallow: what is queued to the shards when subscribers ask their
	 * publishers to wait still reaches them (defer is lossless). */
	c->shard_high = 4ull << 20;
	c->shard_high_msgs = 64 * 1024;
	c->process_high = 1ull << 30;
	c->request_aware = true;
	c->request_expiry_ns = 5000ull * 1000000u;
	return c;
}

void adm_config_free(struct adm_config *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nspecs; i++)
		for (int j = 0; j < c->specs[i].nsubjects; j++)
			free(c->specs[i].subjects[j]);
	free(c);
}

/* The policy @name, created on first use; NULL after reporting when the name
 * is not one or there are too many. */
static struct adm_spec *adm_spec_for(struct adm_config *c, const char *name, struct config_ctx *x,
                                     const struct config_in *in)
{
	bool ok = *name && strlen(name) < sizeof(c->specs[0].p.name);
	for (const char *p = name; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_';
	if (!ok) {
		config_report_in(x, false, in,
		                 "policy name \"%s\": 1 to %zu letters, digits, - and _", name,
		                 sizeof(c->specs[0].p.name) - 1);
		return NULL;
	}
	for (int i = 0; i < c->nspecs; i++)
		if (!strcmp(c->specs[i].p.name, name))
			return &c->specs[i];
	if (c->nspecs == ADM_MAX_POLICIES) {
		config_report_in(x, false, in, "at most %d policies", ADM_MAX_POLICIES);
		return NULL;
	}
	struct adm_spec *s = &c->specs[c->nspecs++];
	memset(s, 0, sizeof(*s));
	snprintf(s->p.name, sizeof(s->p.name), "%s", name);
	return s;
}

/* A policy name for an action: @kind restricts which. */
static int adm_in_action(struct config_ctx *x, const struct config_in *in, enum adm_type kind,
                         enum adm_action *out)
{
	static const enum adm_action all[] = {ADM_DEFER, ADM_DROP_NEW, ADM_DROP_OLD,
	                                      ADM_DISCONNECT};
	static const char *const why[] = {
	    [ADM_T_SUB_ACTION] = "use defer, drop-new, drop-old or disconnect",
	    [ADM_T_SHARD_ACTION] = "the shard policy is defer or drop-new",
	    [ADM_T_FALLBACK] = "the fallback is drop-new, drop-old or disconnect",
	};
	const char *s;
	if (config_in_string(x, in, &s))
		return -EINVAL;
	for (size_t i = 0; i < RB_ARRAY_LEN(all); i++) {
		if (strcasecmp(s, adm_action_name(all[i])))
			continue;
		if ((kind == ADM_T_SHARD_ACTION && all[i] != ADM_DEFER && all[i] != ADM_DROP_NEW) ||
		    (kind == ADM_T_FALLBACK && all[i] == ADM_DEFER))
			break;
		*out = all[i];
		return 0;
	}
	config_report_in(x, false, in, "%s: \"%s\": %s", in->name, s, why[kind]);
	return -EINVAL;
}

/* A policy's subject patterns: one string or an array (a flag: comma
 * separated). */
static int adm_in_subjects(struct config_ctx *x, const struct config_in *in, struct adm_spec *s)
{
	struct config_list l = {0};
	if (config_in_list(x, in, &l))
		return -EINVAL;
	int ret = 0;
	for (size_t i = 0; i < l.n && ret == 0; i++) {
		if (!subject_valid_sub(l.v[i], strlen(l.v[i]))) {
			config_report_in(x, false, in, "%s: \"%s\" is not a valid subject pattern",
			                 in->name, l.v[i]);
			ret = -EINVAL;
		} else if (s->nsubjects == ADM_MAX_SUBJECTS) {
			config_report_in(x, false, in, "%s: at most %d subjects per policy",
			                 in->name, ADM_MAX_SUBJECTS);
			ret = -EINVAL;
		} else if (!(s->subjects[s->nsubjects] = strdup(l.v[i]))) {
			ret = -ENOMEM;
		} else {
			s->nsubjects++;
		}
	}
	config_list_free(&l);
	return ret ? -EINVAL : 0;
}

/* Reads @in by @r's type into @field. */
static int adm_in_value(struct config_ctx *x, const struct adm_row *r, const struct config_in *in,
                        void *field)
{
	int64_t v;
	bool b;
	enum adm_action a;
	switch (r->type) {
	case ADM_T_SIZE:
		if (config_in_size(x, in, (int64_t)r->min, 1ll << 50, &v))
			return -EINVAL;
		*(uint64_t *)field = (uint64_t)v;
		return 0;
	case ADM_T_MS:
		if (config_in_ms(x, in, false, (int64_t)r->min, 24 * 3600 * 1000, &v))
			return -EINVAL;
		*(uint64_t *)field = (uint64_t)v * 1000000u;
		return 0;
	case ADM_T_BOOL:
		if (config_in_bool(x, in, &b))
			return -EINVAL;
		*(bool *)field = b;
		return 0;
	default:
		if (adm_in_action(x, in, r->type, &a))
			return -EINVAL;
		*(enum adm_action *)field = a;
		return 0;
	}
}

int adm_config_apply(struct adm_config *c, const char *policy, const struct adm_row *r,
                     struct config_ctx *x, const struct config_in *in)
{
	struct adm_spec *s = policy ? adm_spec_for(c, policy, x, in) : &c->specs[0];
	if (!s)
		return -EINVAL;
	if (r->type == ADM_T_SUBJECTS) {
		if (!policy) {
			config_report_in(x, false, in,
			                 "%s belongs in a policy (policies { NAME { } })",
			                 in->name);
			return -EINVAL;
		}
		return adm_in_subjects(x, in, s);
	}
	if (policy && !r->per_policy) {
		config_report_in(x, false, in, "%s is set in admission { }, not per policy",
		                 in->name);
		return -EINVAL;
	}
	void *field =
	    r->per_policy ? (void *)((char *)&s->p + r->off) : (void *)((char *)c + r->off);
	if (adm_in_value(x, r, in, field))
		return -EINVAL;
	s->set |= r->set_bit;
	return 0;
}

static int adm_config_map_keys(struct adm_config *c, const char *policy, struct config_ctx *x,
                               const struct conf_value *map);

/* policies { NAME { ... } ... } */
static void adm_config_map_policies(struct adm_config *c, struct config_ctx *x,
                                    const struct config_in *in)
{
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in, "policies: expected a map { NAME { ... } }");
		return;
	}
	for (const struct conf_entry *p = conf_map_first(in->v); p; p = conf_entry_next(p)) {
		struct config_in pin = {
		    .from_file = true, .v = conf_entry_value(p), .name = conf_entry_key(p)};
		if (conf_entry_shadowed(p))
			continue;
		if (conf_type(pin.v) != CONF_MAP)
			config_report_in(x, false, &pin, "policy %s: expected a map { ... }",
			                 pin.name);
		else if (adm_spec_for(c, pin.name, x, &pin))
			(void)adm_config_map_keys(c, pin.name, x, pin.v);
	}
}

/* The keys of one map (admission { } itself, or one policy in it). */
static int adm_config_map_keys(struct adm_config *c, const char *policy, struct config_ctx *x,
                               const struct conf_value *map)
{
	int errors = x->errors;
	for (const struct conf_entry *e = conf_map_first(map); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e);
		const struct conf_value *v = conf_entry_value(e);
		struct config_in in = {.from_file = true, .v = v, .name = key};
		const struct adm_row *r = adm_row_by_key(key);
		if (!policy && !strcasecmp(key, "policies")) {
			adm_config_map_policies(c, x, &in);
		} else if (r) {
			if (adm_config_apply(c, policy, r, x, &in))
				continue; /* reported; counted in x */
		} else if (!conf_used(v)) {
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
		}
	}
	return x->errors > errors ? -EINVAL : 0;
}

int adm_config_map(struct adm_config *c, struct config_ctx *x, const struct conf_value *map)
{
	return adm_config_map_keys(c, NULL, x, map);
}
