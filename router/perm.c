/* Permissions: reading them from the file, copying, and the checks (see
 * router/perm.h). */
#define _GNU_SOURCE
#include "router/perm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "router/conf/value.h"
#include "router/index/subject.h"

/* ---- patterns ---- */

/* The next token of [*p, end): its start and length; advances *p past it
 * and its dot. False when none is left. */
static bool perm_token(const char **p, const char *end, const char **tok, size_t *len)
{
	if (*p > end)
		return false;
	const char *dot = memchr(*p, '.', (size_t)(end - *p));
	*tok = *p;
	*len = dot ? (size_t)(dot - *p) : (size_t)(end - *p);
	*p = dot ? dot + 1 : end + 1;
	return true;
}

static bool perm_is(const char *tok, size_t len, char c)
{
	return len == 1 && tok[0] == c;
}

bool perm_pattern_covers(const char *pat, size_t plen, const char *sub, size_t slen)
{
	const char *pp = pat, *pe = pat + plen, *sp = sub, *se = sub + slen;
	const char *pt, *st;
	size_t pl = 0, sl = 0;
	for (;;) {
		bool hp = perm_token(&pp, pe, &pt, &pl), hs = perm_token(&sp, se, &st, &sl);
		if (!hp)
			return !hs; /* both ended: covered; @sub has more tokens: not */
		if (perm_is(pt, pl, '>'))
			return hs; /* '>' takes one or more tokens, whatever they are */
		if (!hs || perm_is(st, sl, '>'))
			return false; /* @sub goes on (or ends) where @pat does not */
		if (perm_is(pt, pl, '*'))
			continue; /* any single token, '*' included */
		if (perm_is(st, sl, '*') || pl != sl || memcmp(pt, st, pl))
			return false;
	}
}

bool perm_patterns_overlap(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *ap = a, *ae = a + alen, *bp = b, *be = b + blen;
	const char *at, *bt;
	size_t al = 0, bl = 0;
	for (;;) {
		bool ha = perm_token(&ap, ae, &at, &al), hb = perm_token(&bp, be, &bt, &bl);
		if (!ha || !hb)
			return !ha && !hb;
		if (perm_is(at, al, '>') || perm_is(bt, bl, '>'))
			return true;
		if (perm_is(at, al, '*') || perm_is(bt, bl, '*'))
			continue;
		if (al != bl || memcmp(at, bt, al))
			return false;
	}
}

/* ---- checks ---- */

static bool perm_list_matches(const struct perm_list *l, const char *subj, size_t len)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (subject_matches(l->e[i].subject, strlen(l->e[i].subject), subj, len))
			return true;
	return false;
}

bool perm_can_publish(const struct perms *p, const char *subj, size_t len)
{
	if (!p || !p->pub.set)
		return true;
	if (p->pub.has_allow && !perm_list_matches(&p->pub.allow, subj, len))
		return false;
	return !perm_list_matches(&p->pub.deny, subj, len);
}

static bool perm_queue_ok(const struct perm_entry *e, const char *queue, size_t qlen)
{
	if (!e->queue)
		return true; /* a plain entry: any queue, or none */
	return qlen == strlen(e->queue) && !memcmp(e->queue, queue, qlen);
}

bool perm_can_subscribe(const struct perms *p, const char *subj, size_t len, const char *queue,
                        size_t qlen, bool *filter)
{
	*filter = false;
	if (!p || !p->sub.set)
		return true;
	if (p->sub.has_allow) {
		bool ok = false;
		for (uint32_t i = 0; !ok && i < p->sub.allow.n; i++) {
			const struct perm_entry *e = &p->sub.allow.e[i];
			ok = perm_pattern_covers(e->subject, strlen(e->subject), subj, len) &&
			     perm_queue_ok(e, queue, qlen);
		}
		if (!ok)
			return false;
	}
	for (uint32_t i = 0; i < p->sub.deny.n; i++) {
		const struct perm_entry *e = &p->sub.deny.e[i];
		size_t el = strlen(e->subject);
		if (e->queue) { /* a deny with a queue refuses only that queue */
			if (perm_queue_ok(e, queue, qlen) &&
			    perm_pattern_covers(e->subject, el, subj, len))
				return false;
			continue;
		}
		if (perm_pattern_covers(e->subject, el, subj, len))
			return false;
		if (perm_patterns_overlap(e->subject, el, subj, len))
			*filter = true;
	}
	return true;
}

bool perm_deliver_ok(const struct perms *p, const char *subj, size_t len)
{
	for (uint32_t i = 0; p && i < p->sub.deny.n; i++) {
		const struct perm_entry *e = &p->sub.deny.e[i];
		if (!e->queue && subject_matches(e->subject, strlen(e->subject), subj, len))
			return false;
	}
	return true;
}

/* ---- copies ---- */

static void perm_list_free(struct perm_list *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		free(l->e[i].subject);
		free(l->e[i].queue);
	}
	free(l->e);
	l->e = NULL;
	l->n = 0;
}

void perm_free(struct perms *p)
{
	if (!p)
		return;
	perm_list_free(&p->pub.allow);
	perm_list_free(&p->pub.deny);
	perm_list_free(&p->sub.allow);
	perm_list_free(&p->sub.deny);
	free(p);
}

static bool perm_list_copy(struct perm_list *dst, const struct perm_list *src)
{
	dst->n = 0;
	dst->e = src->n ? calloc(src->n, sizeof(*dst->e)) : NULL;
	if (src->n && !dst->e)
		return false;
	for (uint32_t i = 0; i < src->n; i++) {
		dst->e[i].subject = strdup(src->e[i].subject);
		dst->e[i].queue = src->e[i].queue ? strdup(src->e[i].queue) : NULL;
		dst->n++;
		if (!dst->e[i].subject || (src->e[i].queue && !dst->e[i].queue))
			return false;
	}
	return true;
}

struct perms *perm_copy(const struct perms *p, bool *ok)
{
	*ok = true;
	if (!p)
		return NULL;
	struct perms *c = calloc(1, sizeof(*c));
	if (!c) {
		*ok = false;
		return NULL;
	}
	*c = *p;
	memset(&c->pub.allow, 0, sizeof(c->pub.allow));
	memset(&c->pub.deny, 0, sizeof(c->pub.deny));
	memset(&c->sub.allow, 0, sizeof(c->sub.allow));
	memset(&c->sub.deny, 0, sizeof(c->sub.deny));
	if (!perm_list_copy(&c->pub.allow, &p->pub.allow) ||
	    !perm_list_copy(&c->pub.deny, &p->pub.deny) ||
	    !perm_list_copy(&c->sub.allow, &p->sub.allow) ||
	    !perm_list_copy(&c->sub.deny, &p->sub.deny)) {
		perm_free(c);
		*ok = false;
		return NULL;
	}
	return c;
}

/* ---- reading ---- */

/* Adds the subjects of @in (a string or an array; "subject queue" with
 * @queues) to @l. */
static int perm_read_list(struct config_ctx *x, const struct config_in *in, bool queues,
                          struct perm_list *l)
{
	struct config_list cl = {0};
	if (config_in_list(x, in, &cl))
		return -EINVAL;
	int ret = 0;
	struct perm_entry *e = realloc(l->e, (l->n + cl.n + 1) * sizeof(*e));
	if (!e) {
		config_list_free(&cl);
		return -ENOMEM;
	}
	l->e = e;
	for (size_t i = 0; i < cl.n && ret == 0; i++) {
		char *s = cl.v[i];
		char *sp = queues ? strchr(s, ' ') : NULL;
		size_t slen = sp ? (size_t)(sp - s) : strlen(s);
		const char *q = sp ? sp + strspn(sp, " ") : NULL;
		if (!subject_valid_sub(s, slen) || (q && (!*q || strchr(q, ' ')))) {
			config_report_in(x, false, in, "%s: \"%s\" is not a valid subject%s",
			                 in->name, s, queues ? " (and queue)" : "");
			ret = -EINVAL;
			break;
		}
		struct perm_entry *pe = &l->e[l->n];
		pe->subject = strndup(s, slen);
		pe->queue = q ? strdup(q) : NULL;
		l->n++;
		if (!pe->subject || (q && !pe->queue))
			ret = -ENOMEM;
	}
	config_list_free(&cl);
	return ret;
}

/* publish: / subscribe: a subject, a list, or { allow, deny }. */
static int perm_read_dir(struct config_ctx *x, const struct config_in *in, bool queues,
                         struct perm_dir *d)
{
	d->set = true;
	if (conf_type(in->v) != CONF_MAP) {
		d->has_allow = true;
		return perm_read_list(x, in, queues, &d->allow);
	}
	int ret = 0;
	for (const struct conf_entry *e = conf_map_first(in->v); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e);
		struct config_in sub = {.from_file = true, .v = conf_entry_value(e), .name = key};
		if (!strcasecmp(key, "allow")) {
			d->has_allow = true;
			ret |= perm_read_list(x, &sub, queues, &d->allow);
		} else if (!strcasecmp(key, "deny")) {
			ret |= perm_read_list(x, &sub, queues, &d->deny);
		} else {
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
			ret = -EINVAL;
		}
	}
	return ret ? -EINVAL : 0;
}

/* allow_responses: true, or { max: N, expires: "1s" }. */
static int perm_read_responses(struct config_ctx *x, const struct config_in *in, struct perms *p)
{
	p->resp_max = 1; /* nats-server's defaults: one reply within 2 minutes */
	p->resp_expires_ns = 120ull * 1000000000u;
	if (conf_type(in->v) != CONF_MAP) {
		bool on;
		if (config_in_bool(x, in, &on))
			return -EINVAL;
		if (!on)
			p->resp_max = 0;
		return 0;
	}
	int ret = 0;
	for (const struct conf_entry *e = conf_map_first(in->v); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e);
		struct config_in sub = {.from_file = true, .v = conf_entry_value(e), .name = key};
		int64_t v;
		if (!strcasecmp(key, "max")) {
			if (config_in_int(x, &sub, 1, UINT32_MAX, &v) == 0)
				p->resp_max = (uint32_t)v;
			else
				ret = -EINVAL;
		} else if (!strcasecmp(key, "expires")) {
			if (config_in_ms(x, &sub, false, 1, 24 * 3600 * 1000, &v) == 0)
				p->resp_expires_ns = (uint64_t)v * 1000000u;
			else
				ret = -EINVAL;
		} else {
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
			ret = -EINVAL;
		}
	}
	return ret;
}

int perm_read(struct config_ctx *x, const struct config_in *in, struct perms **out)
{
	if (conf_type(in->v) != CONF_MAP) {
		config_report_in(x, false, in, "%s: expected a map { publish, subscribe }",
		                 in->name);
		return -EINVAL;
	}
	struct perms *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int ret = 0;
	for (const struct conf_entry *e = conf_map_first(in->v); e; e = conf_entry_next(e)) {
		if (conf_entry_shadowed(e))
			continue;
		const char *key = conf_entry_key(e);
		struct config_in sub = {.from_file = true, .v = conf_entry_value(e), .name = key};
		if (!strcasecmp(key, "publish") || !strcasecmp(key, "pub"))
			ret |= perm_read_dir(x, &sub, false, &p->pub);
		else if (!strcasecmp(key, "subscribe") || !strcasecmp(key, "sub"))
			ret |= perm_read_dir(x, &sub, true, &p->sub);
		else if (!strcasecmp(key, "allow_responses"))
			ret |= perm_read_responses(x, &sub, p);
		else {
			config_report_at(x, false, conf_entry_pos(e), "unknown field \"%s\"", key);
			ret = -EINVAL;
		}
	}
	/* allow_responses without publish: publishing is denied but for the
	 * replies (nats-server) */
	if (ret == 0 && p->resp_max && !p->pub.set) {
		p->pub.set = true;
		p->pub.has_allow = true;
	}
	if (ret) {
		perm_free(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}
