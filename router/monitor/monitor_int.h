/* JSON helpers shared by the monitoring renderers (monitor_render.c,
 * monitor_connz.c, sys_stats.c). Internal to router/monitor/: nothing else
 * includes this. */
#ifndef ROUTER_MONITOR_MONITOR_INT_H
#define ROUTER_MONITOR_MONITOR_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "router/monitor/stats.h"

/* Each adder puts one member into @o (borrowed) and clears *@ok when cJSON
 * runs out of memory, so a renderer checks once at the end. */

/* An exact unsigned integer: written as raw digits, because cJSON keeps
 * numbers as doubles and would round ids and counters above 2^53, or print
 * them with an exponent that integer decoders (Go's) refuse. */
void monitor_json_u64(cJSON *o, const char *key, uint64_t v, bool *ok);
void monitor_json_i64(cJSON *o, const char *key, int64_t v, bool *ok);
void monitor_json_num(cJSON *o, const char *key, double v, bool *ok);
/* @v borrowed; copied. */
void monitor_json_str(cJSON *o, const char *key, const char *v, bool *ok);
/* @wall_ns as monitor_fmt_time() writes it. */
void monitor_json_time(cJSON *o, const char *key, uint64_t wall_ns, bool *ok);
/* @ns as monitor_fmt_uptime() writes it. */
void monitor_json_uptime(cJSON *o, const char *key, uint64_t ns, bool *ok);

/* An array member @key of @root, or NULL (clearing *@ok). */
cJSON *monitor_json_array(cJSON *root, const char *key, bool *ok);
/* A new object appended to @a, or NULL (clearing *@ok). */
cJSON *monitor_json_item(cJSON *a, bool *ok);
/* One admission policy's name, action and counters, as /admissionz and
 * the $SYS figures show them. */
void monitor_json_admission(cJSON *o, const struct stats_admission *ad, bool *ok);

/* A new object holding "server_id" and "now" from @st, or NULL. Owned by the
 * caller (monitor_json_finish or cJSON_Delete). */
cJSON *monitor_json_begin(const struct stats *st);

/* Prints @root (taken: deleted here) into *@out (heap, caller frees) when
 * @ok. Returns 0 or -ENOMEM. */
int monitor_json_finish(cJSON *root, bool ok, char **out);

#endif /* ROUTER_MONITOR_MONITOR_INT_H */
