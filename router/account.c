/* Accounts: the table built from the settings, the rules of exports and
 * imports, and the replies of service imports in flight (router/account.h). */
#include "router/account.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/hash.h"
#include "router/conf/config.h"
#include "router/conf/value.h"

static const char acc_digits[] = ACC_DIGITS;

static char *acc_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool acc_rule_push(struct account *a, const char *match, const char *map, const char *prefix,
                          int target, bool service)
{
	struct acc_rule *r = realloc(a->rules, sizeof(*r) * (size_t)(a->nrules + 1));
	if (!r)
		return false;
	a->rules = r;
	r = &r[a->nrules];
	*r = (struct acc_rule){.target = (uint16_t)target, .service = service};
	r->match = acc_strdup(match);
	r->match_len = r->match ? strlen(r->match) : 0;
	r->map = acc_strdup(map);
	if (prefix) {
		size_t n = strlen(prefix);
		r->prefix = malloc(n + 2);
		if (r->prefix) {
			memcpy(r->prefix, prefix, n);
			memcpy(r->prefix + n, ".", 2);
		}
	}
	a->nrules++;
	return r->match && (!map || r->map) && (!prefix || r->prefix);
}

/* The imports of account @i as rules: a stream's on its exporter, a
 * service's on @i itself. */
static bool acc_table_rules(struct acc_table *t, const struct config_account *ca, int i)
{
	for (int k = 0; k < ca->nimports; k++) {
		const struct config_import *im = &ca->imports[k];
		int from = acc_find(t, im->account);
		if (from < 0)
			continue; /* refused while the settings were read */
		bool ok = im->service ? acc_rule_push(&t->acc[i], im->to ? im->to : im->subject,
		                                      im->subject, NULL, from, true)
		                      : acc_rule_push(&t->acc[from], im->subject, im->to,
		                                      im->prefix, i, false);
		if (!ok)
			return false;
	}
	return true;
}

/* The account called @name of @c, or NULL. */
static const struct config_account *acc_config_of(const struct config *c, const char *name)
{
	for (int i = 0; i < c->naccounts; i++)
		if (!strcmp(c->accounts[i].name, name))
			return &c->accounts[i];
	return NULL;
}

static void acc_cfg_free(struct config_account *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nexports; i++) {
		free(a->exports[i].subject);
		config_list_free(&a->exports[i].accounts);
	}
	for (int i = 0; i < a->nimports; i++) {
		struct config_import *im = &a->imports[i];
		free(im->account);
		free(im->subject);
		free(im->to);
		free(im->prefix);
	}
	free(a->exports);
	free(a->imports);
	free(a->name);
	free(a);
}

/* A copy of @src's exports and imports (the table outlives the settings it
 * came from), or NULL when out of memory. */
static struct config_account *acc_cfg_copy(const struct config_account *src)
{
	struct config_account *a = calloc(1, sizeof(*a));
	bool ok = a && (a->name = strdup(src->name));
	if (ok && src->nexports)
		ok = (a->exports = calloc((size_t)src->nexports, sizeof(*a->exports))) != NULL;
	for (int i = 0; ok && i < src->nexports; i++, a->nexports++) {
		const struct config_export *e = &src->exports[i];
		a->exports[i].service = e->service;
		ok = (a->exports[i].subject = acc_strdup(e->subject)) &&
		     !config_list_copy(&a->exports[i].accounts, &e->accounts);
	}
	if (ok && src->nimports)
		ok = (a->imports = calloc((size_t)src->nimports, sizeof(*a->imports))) != NULL;
	for (int i = 0; ok && i < src->nimports; i++, a->nimports++) {
		const struct config_import *e = &src->imports[i];
		struct config_import *im = &a->imports[i];
		im->service = e->service;
		im->account = acc_strdup(e->account);
		im->subject = acc_strdup(e->subject);
		im->to = acc_strdup(e->to);
		im->prefix = acc_strdup(e->prefix);
		ok = im->account && im->subject && (!e->to || im->to) && (!e->prefix || im->prefix);
	}
	if (!ok && a) {
		acc_cfg_free(a);
		return NULL;
	}
	return a;
}

/* The names in order: @prev's (kept, gone when @c has no such account),
 * then @c's new ones. Returns false when out of memory or too many. */
static bool acc_table_names(struct acc_table *t, const struct config *c,
                            const struct acc_table *prev)
{
	int cap = (prev ? prev->n : 1) + c->naccounts;
	if (cap > ACC_MAX)
		return false;
	t->acc = calloc((size_t)cap, sizeof(*t->acc));
	if (!t->acc)
		return false;
	t->n = 0;
	for (int i = 0; i < (prev ? prev->n : 1); i++) {
		const char *name = prev ? prev->acc[i].name : "$G";
		t->acc[t->n].gone = i != ACC_GLOBAL && !acc_config_of(c, name);
		if (!(t->acc[t->n++].name = strdup(name)))
			return false;
	}
	for (int i = 0; i < c->naccounts; i++)
		if (acc_find(t, c->accounts[i].name) < 0 &&
		    !(t->acc[t->n++].name = strdup(c->accounts[i].name)))
			return false;
	for (int i = 0; i < t->n; i++) {
		t->acc[i].prefix[0] = acc_digits[i / 64];
		t->acc[i].prefix[1] = acc_digits[i % 64];
		t->acc[i].prefix[2] = '.';
	}
	return true;
}

struct acc_table *acc_table_new(const struct config *c, const struct acc_table *prev)
{
	struct acc_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->system = -1;
	bool ok = acc_table_names(t, c, prev);
	for (int i = 1; ok && i < t->n; i++) {
		const struct config_account *ca = acc_config_of(c, t->acc[i].name);
		if (ca)
			ok = (t->acc[i].cfg = acc_cfg_copy(ca)) && acc_table_rules(t, ca, i);
	}
	if (ok && c->system_account)
		t->system = acc_find(t, c->system_account);
	if (!ok) {
		acc_table_free(t);
		return NULL;
	}
	return t;
}

void acc_table_free(struct acc_table *t)
{
	if (!t)
		return;
	for (int i = 0; t->acc && i < t->n; i++) {
		struct account *a = &t->acc[i];
		for (int k = 0; k < a->nrules; k++) {
			free(a->rules[k].match);
			free(a->rules[k].map);
			free(a->rules[k].prefix);
		}
		free(a->rules);
		free(a->name);
		acc_cfg_free(a->cfg);
	}
	free(t->acc);
	free(t);
}

int acc_find(const struct acc_table *t, const char *name)
{
	return name ? acc_find_n(t, name, strlen(name)) : -1;
}

int acc_find_n(const struct acc_table *t, const char *name, size_t len)
{
	for (int i = 0; i < t->n; i++)
		if (!strncmp(t->acc[i].name, name, len) && t->acc[i].name[len] == 0)
			return i;
	return -1;
}

/* The end of the token starting at @p (before @end). */
static const char *acc_token_end(const char *p, const char *end)
{
	while (p < end && *p != '.')
		p++;
	return p;
}

/* Which of @nc caught tokens a token of a mapping stands for: "$N" the
 * N-th (nats-server's mapping destinations), '*' or '>' the next one in
 * order (*@k); -1 for a literal token. */
static int acc_map_ref(const char *p, const char *pe, int *k, int nc)
{
	if (pe - p == 1 && (*p == '*' || *p == '>'))
		return *k < nc ? (*k)++ : -1;
	if (pe - p < 2 || *p != '$')
		return -1;
	int n = 0;
	for (const char *q = p + 1; q < pe; q++) {
		if (*q < '0' || *q > '9' || n > 64)
			return -1;
		n = n * 10 + (*q - '0');
	}
	return n >= 1 && n <= nc ? n - 1 : -1;
}

/* Each wildcard of @map takes what a wildcard of @match matched in @subj
 * ('*' one token, '>' the rest): "$N" the N-th, '*' and '>' the next in
 * order; other tokens are copied. */
static size_t acc_map_wild(const char *match, const char *map, const char *subj, size_t len,
                           char *out, size_t cap)
{
	const char *caught[64][2];
	int nc = 0;
	const char *s = subj, *send = subj + len, *m = match, *mend = match + strlen(match);
	while (m < mend && s <= send && nc < 64) {
		const char *me = acc_token_end(m, mend), *se = acc_token_end(s, send);
		if (me - m == 1 && *m == '>') {
			caught[nc][0] = s, caught[nc++][1] = send;
			break;
		}
		if (me - m == 1 && *m == '*')
			caught[nc][0] = s, caught[nc++][1] = se;
		m = me + 1, s = se + 1;
	}
	size_t o = 0;
	int k = 0;
	const char *p = map, *pend = map + strlen(map);
	while (p < pend) {
		const char *pe = acc_token_end(p, pend);
		const char *from = p, *to = pe;
		int ref = acc_map_ref(p, pe, &k, nc);
		if (ref >= 0)
			from = caught[ref][0], to = caught[ref][1];
		size_t n = (size_t)(to - from) + (o ? 1 : 0);
		if (o + n >= cap)
			return 0;
		if (o)
			out[o++] = '.';
		memcpy(out + o, from, (size_t)(to - from));
		o += (size_t)(to - from);
		p = pe + 1;
	}
	return o;
}

size_t acc_rule_map(const struct acc_rule *r, const char *subj, size_t len, char *out, size_t cap)
{
	if (r->map)
		return acc_map_wild(r->match, r->map, subj, len, out, cap);
	size_t pl = r->prefix ? strlen(r->prefix) : 0;
	if (pl + len >= cap)
		return 0;
	if (pl)
		memcpy(out, r->prefix, pl);
	memcpy(out + pl, subj, len);
	return pl + len;
}

/* ---- replies of service imports ---- */

struct acc_reply {
	struct acc_reply *prev, *next; /* by age */
	uint64_t id;
	uint64_t expires_ns;
	uint16_t acc;
	uint16_t len;
	char reply[];
};

int acc_replies_init(struct acc_replies *r, uint64_t ttl_ns)
{
	memset(r, 0, sizeof(*r));
	map_init(&r->by_id);
	r->ttl_ns = ttl_ns;
	if (getrandom(&r->key, sizeof(r->key), 0) != sizeof(r->key))
		r->key = hash_u64((uint64_t)(uintptr_t)r);
	return -pthread_mutex_init(&r->lock, NULL);
}

void acc_replies_fini(struct acc_replies *r)
{
	for (struct acc_reply *e = r->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	map_fini(&r->by_id);
	pthread_mutex_destroy(&r->lock);
}

/* Takes @e out of the age list and the map. Under the lock. */
static void acc_reply_unlink(struct acc_replies *r, struct acc_reply *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		r->tail = e->prev;
	map_del(&r->by_id, e->id);
	r->n--;
}

/* Forgets the oldest requests whose time is up. Under the lock. */
static void acc_replies_expire(struct acc_replies *r, uint64_t now_ns)
{
	while (r->head && r->head->expires_ns <= now_ns) {
		struct acc_reply *e = r->head;
		acc_reply_unlink(r, e);
		r->expired++;
		free(e);
	}
}

bool acc_reply_add(struct acc_replies *r, uint16_t acc, const char *reply, size_t len,
                   uint64_t now_ns, char *out)
{
	struct acc_reply *e = malloc(sizeof(*e) + len);
	if (!e || len > UINT16_MAX) {
		free(e);
		return false;
	}
	*e = (struct acc_reply){.acc = acc, .len = (uint16_t)len, .expires_ns = now_ns + r->ttl_ns};
	memcpy(e->reply, reply, len);
	pthread_mutex_lock(&r->lock);
	acc_replies_expire(r, now_ns);
	e->id = hash_u64(++r->next ^ r->key); /* a bijection: never twice */
	bool ok = map_put(&r->by_id, e->id, e) == 0;
	if (ok) {
		e->prev = r->tail;
		if (r->tail)
			r->tail->next = e;
		else
			r->head = e;
		r->tail = e;
		r->n++;
	}
	pthread_mutex_unlock(&r->lock);
	if (!ok) {
		free(e);
		return false;
	}
	memcpy(out, "_R_.", 4);
	for (int i = 0; i < ACC_REPLY_LEN - 4; i++) /* 11 digits of 6 bits: 64 bits */
		out[4 + i] = acc_digits[(e->id >> (6 * i)) & 63];
	return true;
}

/* The id written in a "_R_." subject, or false when it is not one of ours. */
static bool acc_reply_id(const char *subj, size_t len, uint64_t *id)
{
	if (len != ACC_REPLY_LEN || memcmp(subj, "_R_.", 4))
		return false;
	uint64_t v = 0;
	for (int i = ACC_REPLY_LEN - 5; i >= 0; i--) {
		int d = acc_digit_value(subj[4 + i]);
		if (d < 0 || (i == ACC_REPLY_LEN - 5 && d > 15))
			return false; /* the last digit holds the top 4 bits */
		v = v << 6 | (uint64_t)d;
	}
	*id = v;
	return true;
}

bool acc_reply_take(struct acc_replies *r, const char *subj, size_t len, uint64_t now_ns,
                    uint16_t *acc, char *out, size_t cap, size_t *outlen)
{
	uint64_t id;
	if (!acc_reply_id(subj, len, &id))
		return false;
	bool found = false;
	pthread_mutex_lock(&r->lock);
	acc_replies_expire(r, now_ns);
	struct acc_reply *e = map_get(&r->by_id, id);
	if (e && e->len <= cap) {
		acc_reply_unlink(r, e);
		*acc = e->acc;
		memcpy(out, e->reply, e->len);
		*outlen = e->len;
		found = true;
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	free(e);
	return found;
}
