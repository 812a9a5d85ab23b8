/* /connz: its query (offset, limit, sort, auth, with nats-server's defaults
 * and texts) and one sorted page of the connections of a snapshot. */
#include "router/monitor/monitor_render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/monitor/monitor_int.h"

struct monitor_sort_name {
	const char *name;
	enum monitor_sort sort;
};

static const struct monitor_sort_name monitor_sorts[] = {
    {"cid", MONITOR_SORT_CID},           {"start", MONITOR_SORT_START},
    {"subs", MONITOR_SORT_SUBS},         {"pending", MONITOR_SORT_PENDING},
    {"msgs_to", MONITOR_SORT_MSGS_TO},   {"msgs_from", MONITOR_SORT_MSGS_FROM},
    {"bytes_to", MONITOR_SORT_BYTES_TO}, {"bytes_from", MONITOR_SORT_BYTES_FROM},
    {"last", MONITOR_SORT_LAST},         {"idle", MONITOR_SORT_IDLE},
    {"uptime", MONITOR_SORT_UPTIME},     {"drops", MONITOR_SORT_DROPS},
};

/* Parses a decimal integer with an optional sign, as Go's strconv.Atoi. */
static bool monitor_parse_i64(const char *s, int64_t *v)
{
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return false;
	uint64_t acc = 0;
	const uint64_t max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (acc > (max - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return true;
}

static bool monitor_present(const char *s)
{
	return s && *s;
}

/* Parses a boolean as Go's strconv.ParseBool; with nats-server's text for
 * the client when it is none. */
static int monitor_parse_bool(const char *key, const char *s, bool *v, char *err, size_t cap)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < RB_ARRAY_LEN(yes); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*v = !strcmp(s, yes[i]);
			return 0;
		}
	}
	snprintf(err, cap,
	         "Error decoding boolean for '%s': strconv.ParseBool: parsing \"%.64s\": "
	         "invalid syntax",
	         key, s);
	return -EINVAL;
}

int monitor_connz_parse(const struct monitor_connz_query *q, struct monitor_connz_opts *o,
                        char *err, size_t cap)
{
	const char *offset = q->offset, *limit = q->limit, *sort = q->sort;
	o->offset = 0;
	o->limit = MONITOR_CONNZ_LIMIT;
	o->sort = MONITOR_SORT_CID;
	o->auth = false;
	o->acc = 0;
	if (monitor_present(q->auth) && monitor_parse_bool("auth", q->auth, &o->auth, err, cap))
		return -EINVAL;
	int64_t v;
	if (monitor_present(offset)) {
		if (!monitor_parse_i64(offset, &v)) {
			snprintf(err, cap, "invalid 'offset': \"%.64s\" is not an integer", offset);
			return -EINVAL;
		}
		o->offset = v > 0 ? (uint64_t)v : 0;
	}
	if (monitor_present(limit)) {
		if (!monitor_parse_i64(limit, &v)) {
			snprintf(err, cap, "invalid 'limit': \"%.64s\" is not an integer", limit);
			return -EINVAL;
		}
		if (v > 0)
			o->limit = (uint64_t)v;
	}
	if (!monitor_present(sort))
		return 0;
	for (size_t i = 0; i < RB_ARRAY_LEN(monitor_sorts); i++) {
		if (!strcmp(sort, monitor_sorts[i].name)) {
			o->sort = monitor_sorts[i].sort;
			return 0;
		}
	}
	if (!strcmp(sort, "stop") || !strcmp(sort, "reason"))
		snprintf(err, cap, "sort by %s only valid on closed connections", sort);
	else
		snprintf(err, cap, "invalid sorting option: %.64s", sort);
	return -EINVAL;
}

/* One connection with the value it is ordered by. */
struct monitor_conn_key {
	uint64_t key;
	const struct stats_conn *c;
};

static int monitor_cmp_cid(const struct monitor_conn_key *a, const struct monitor_conn_key *b)
{
	return (a->c->cid > b->c->cid) - (a->c->cid < b->c->cid);
}

static int monitor_cmp_asc(const void *pa, const void *pb)
{
	const struct monitor_conn_key *a = pa, *b = pb;
	int r = (a->key > b->key) - (a->key < b->key);
	return r ? r : monitor_cmp_cid(a, b);
}

static int monitor_cmp_desc(const void *pa, const void *pb)
{
	const struct monitor_conn_key *a = pa, *b = pb;
	int r = (a->key < b->key) - (a->key > b->key);
	return r ? r : monitor_cmp_cid(a, b);
}

/* The sort value of @c, and whether the order is ascending. */
static uint64_t monitor_sort_key(const struct stats_conn *c, enum monitor_sort s, bool *asc)
{
	*asc = false;
	switch (s) {
	case MONITOR_SORT_CID:
		*asc = true;
		return c->cid;
	case MONITOR_SORT_START:
		*asc = true;
		return c->start_ns;
	case MONITOR_SORT_SUBS:
		return c->subscriptions;
	case MONITOR_SORT_PENDING:
		return c->pending_bytes;
	case MONITOR_SORT_MSGS_TO:
		return c->out_msgs;
	case MONITOR_SORT_MSGS_FROM:
		return c->in_msgs;
	case MONITOR_SORT_BYTES_TO:
		return c->out_bytes;
	case MONITOR_SORT_BYTES_FROM:
		return c->in_bytes;
	case MONITOR_SORT_LAST:
		return c->last_activity_ns;
	case MONITOR_SORT_IDLE:
		/* longest idle first: least recent activity first */
		*asc = true;
		return c->last_activity_ns;
	case MONITOR_SORT_UPTIME:
		/* shortest uptime first: latest start first */
		return c->start_ns;
	case MONITOR_SORT_DROPS:
		return c->drops;
	}
	*asc = true;
	return c->cid;
}

/* With auth=1, as nats-server: the user, left out when none, and the
 * account, left out when it is $G. */
static void monitor_connz_auth(cJSON *o, const struct stats *st, const struct stats_conn *c,
                               bool *ok)
{
	if (c->user[0])
		monitor_json_str(o, "authorized_user", c->user, ok);
	if (c->account != 0 && c->account < st->naccounts)
		monitor_json_str(o, "account", st->accounts[c->account].name, ok);
}

static void monitor_connz_one(cJSON *o, const struct stats *st, const struct stats_conn *c,
                              bool auth, bool *ok)
{
	uint64_t now = st->now_ns;
	monitor_json_u64(o, "cid", c->cid, ok);
	monitor_json_str(o, "kind", "Client", ok);
	monitor_json_str(o, "type", c->websocket ? "websocket" : "nats", ok);
	monitor_json_str(o, "ip", c->ip, ok);
	monitor_json_u64(o, "port", c->port, ok);
	monitor_json_time(o, "start", c->start_ns, ok);
	monitor_json_time(o, "last_activity", c->last_activity_ns, ok);
	monitor_json_uptime(o, "uptime", now > c->start_ns ? now - c->start_ns : 0, ok);
	monitor_json_uptime(o, "idle", now > c->last_activity_ns ? now - c->last_activity_ns : 0,
	                    ok);
	monitor_json_u64(o, "pending_bytes", c->pending_bytes, ok);
	monitor_json_u64(o, "in_msgs", c->in_msgs, ok);
	monitor_json_u64(o, "out_msgs", c->out_msgs, ok);
	monitor_json_u64(o, "in_bytes", c->in_bytes, ok);
	monitor_json_u64(o, "out_bytes", c->out_bytes, ok);
	monitor_json_u64(o, "subscriptions", c->subscriptions, ok);
	/* left out when empty, as nats-server does */
	if (c->name[0])
		monitor_json_str(o, "name", c->name, ok);
	if (c->lang[0])
		monitor_json_str(o, "lang", c->lang, ok);
	if (c->version[0])
		monitor_json_str(o, "version", c->version, ok);
	if (auth)
		monitor_connz_auth(o, st, c, ok);
	monitor_json_u64(o, "drops", c->drops, ok);
}

int monitor_render_connz(const struct stats *st, const struct monitor_connz_opts *o, char **out)
{
	size_t n = 0;
	struct monitor_conn_key *keys = NULL;
	bool asc = true;
	if (st->nconns) {
		keys = malloc(st->nconns * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (size_t i = 0; i < st->nconns; i++) {
			const struct stats_conn *c = &st->conns[i];
			/* clients only, as nats-server lists them */
			if (c->link || (o->acc && c->account + 1 != o->acc))
				continue;
			keys[n].c = c;
			keys[n++].key = monitor_sort_key(c, o->sort, &asc);
		}
		qsort(keys, n, sizeof(*keys), asc ? monitor_cmp_asc : monitor_cmp_desc);
	}
	size_t first = o->offset < n ? (size_t)o->offset : n;
	size_t count = n - first;
	if (o->limit < count)
		count = (size_t)o->limit;

	cJSON *root = monitor_json_begin(st);
	bool ok = root != NULL;
	cJSON *a = NULL;
	if (ok) {
		monitor_json_u64(root, "num_connections", count, &ok);
		monitor_json_u64(root, "total", n, &ok);
		monitor_json_u64(root, "offset", o->offset, &ok);
		monitor_json_u64(root, "limit", o->limit, &ok);
		a = cJSON_AddArrayToObject(root, "connections");
		ok = ok && a;
	}
	for (size_t i = first; ok && i < first + count; i++) {
		cJSON *c = cJSON_CreateObject();
		if (!c || !cJSON_AddItemToArray(a, c)) {
			cJSON_Delete(c);
			ok = false;
			break;
		}
		monitor_connz_one(c, st, keys[i].c, o->auth, &ok);
	}
	free(keys);
	return monitor_json_finish(root, ok, out);
}
