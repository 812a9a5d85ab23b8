/* Applying the table: one value into the field its row names, and a map of
 * the file onto the rows of its block (unknown keys, and keys of
 * nats-server features ringbus lacks, are errors that say so). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router/conf/table.h"

static void *config_field(struct config *c, const struct config_row *r)
{
	return (char *)c + r->off;
}

/* The words "all" and "always" of a CONFIG_F_ALL row. */
static bool config_is_all(const struct config_in *in)
{
	const char *s = NULL;
	if (in->from_file) {
		if (conf_type(in->v) != CONF_STRING || conf_as_string(in->v, &s, NULL) != 0)
			return false;
	} else {
		s = in->text;
	}
	return s && (!strcasecmp(s, "all") || !strcasecmp(s, "always"));
}

/* Numbers and durations into their fields. */
static int config_apply_number(struct config_ctx *x, const struct config_row *r,
                               const struct config_in *in)
{
	int64_t v = 0;
	int ret;
	switch (r->type) {
	case CONFIG_T_INT:
	case CONFIG_T_U32:
		if ((r->opts & CONFIG_F_ALL) && config_is_all(in)) {
			v = UINT32_MAX;
			ret = 0;
		} else {
			ret = config_in_int(x, in, r->min, r->max, &v);
		}
		break;
	case CONFIG_T_SIZE:
		ret = config_in_size(x, in, r->min, r->max, &v);
		break;
	case CONFIG_T_MS:
		ret = config_in_ms(x, in, r->opts & CONFIG_F_INT_SECONDS, r->min, r->max, &v);
		break;
	default:
		ret = config_in_seconds(x, in, r->min, r->max, &v);
		break;
	}
	if (ret)
		return ret;
	if (r->type == CONFIG_T_INT)
		*(int *)config_field(x->c, r) = (int)v;
	else
		*(uint32_t *)config_field(x->c, r) = (uint32_t)v;
	return 0;
}

int config_apply(struct config_ctx *x, const struct config_row *r, const struct config_in *in)
{
	int ret = 0;
	bool b;
	const char *s;
	char *dup;
	switch (r->type) {
	case CONFIG_T_BOOL:
		if ((ret = config_in_bool(x, in, &b)) == 0)
			*(bool *)config_field(x->c, r) = b;
		break;
	case CONFIG_T_STRING:
		if ((ret = config_in_string(x, in, &s)) != 0)
			break;
		if (!(dup = strdup(s))) {
			config_report_in(x, false, in, "%s: out of memory", in->name);
			return -EINVAL;
		}
		free(*(char **)config_field(x->c, r));
		*(char **)config_field(x->c, r) = dup;
		break;
	case CONFIG_T_LIST:
		ret = config_in_list(x, in, (struct config_list *)config_field(x->c, r));
		break;
	case CONFIG_T_CUSTOM:
		return r->set(x, r, in);
	case CONFIG_T_BLOCK:
		if (!in->from_file || conf_type(in->v) != CONF_MAP) {
			config_report_in(x, false, in, "%s: expected a map { ... }, found %s",
			                 in->name,
			                 in->from_file ? conf_type_name(conf_type(in->v)) : "");
			return -EINVAL;
		}
		return config_map_block(x, in->v, r->sub);
	default:
		ret = config_apply_number(x, r, in);
		break;
	}
	if (ret == 0 && r->check)
		ret = r->check(x, r, in);
	return ret;
}

int config_map_block(struct config_ctx *x, const struct conf_value *map, enum config_block block)
{
	int errors = x->errors;
	for (const struct conf_entry *e = conf_map_first(map); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue; /* the same key again further down: the last wins */
		const char *key = conf_entry_key(e);
		const struct conf_value *v = conf_entry_value(e);
		const struct config_row *r = x->row_by_key((int)block, key);
		if (r) {
			struct config_in in = {.from_file = true, .v = v, .name = key};
			if (config_apply(x, r, &in))
				continue; /* reported; counted in x */
			continue;
		}
		const char *advice = config_unsupported_key(block, key);
		if (advice)
			config_report_at(x, false, conf_entry_pos(e),
			                 "field \"%s\" is not supported: %s", key, advice);
		else if (!conf_used(v)) /* a variable some $NAME used is no field */
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
	}
	return x->errors > errors ? -EINVAL : 0;
}
