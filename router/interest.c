/* The interest set and each reader's queue of changes (router/interest.h). */
#include "router/interest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/map.h"

#define INTEREST_READERS 64

/* What one reader announced on an entry. */
struct interest_src {
	int16_t reader;
	uint32_t n;
};

/* One subject, or one queue group on a subject. */
struct interest_ent {
	struct interest_ent *next; /* same hash */
	uint32_t local;            /* local clients' subscriptions */
	uint16_t nsrc;
	uint16_t src_cap;
	struct interest_src *src; /* readers' */
	uint32_t slen;
	uint32_t qlen; /* 0: plain */
	char str[];    /* subject NUL queue NUL */
};

/* A change waiting for one reader; @str as in the entry. */
struct interest_log {
	bool plus;
	uint32_t weight;
	uint32_t slen;
	uint32_t qlen;
	char *str;
};

struct interest_reader {
	bool open;
	enum interest_kind kind;
	struct interest_log *ev; /* a FIFO: [head, head + n) modulo cap */
	uint32_t head, n, cap;
	atomic_uint pending; /* n, for the reader's poll */
};

struct interest {
	pthread_mutex_t lock;
	struct map by_hash; /* hash -> entry chain */
	uint32_t nents;
	struct interest_reader r[INTEREST_READERS];
	void (*notify)(void *arg);
	void *notify_arg;
};

struct interest *interest_new(void (*notify)(void *arg), void *arg)
{
	struct interest *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	pthread_mutex_init(&in->lock, NULL);
	map_init(&in->by_hash);
	in->notify = notify;
	in->notify_arg = arg;
	return in;
}

static void reader_drop(struct interest_reader *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(r->ev[(r->head + i) % r->cap].str);
	free(r->ev);
	r->ev = NULL;
	r->head = r->n = r->cap = 0;
	atomic_store_explicit(&r->pending, 0, memory_order_relaxed);
}

void interest_free(struct interest *in)
{
	if (!in)
		return;
	void *v;
	for (uint32_t pos = 0; map_next(&in->by_hash, &pos, NULL, &v);) {
		for (struct interest_ent *e = v, *next; e; e = next) {
			next = e->next;
			free(e->src);
			free(e);
		}
	}
	map_fini(&in->by_hash);
	for (int i = 0; i < INTEREST_READERS; i++)
		reader_drop(&in->r[i]);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

static uint64_t interest_hash(const char *s, size_t slen, const char *q, size_t qlen)
{
	uint64_t h = hash_bytes(s, slen);
	return qlen ? h ^ hash_u64(hash_bytes(q, qlen) + 1) : h;
}

static struct interest_ent *interest_find(struct interest *in, uint64_t h, const char *s,
                                          size_t slen, const char *q, size_t qlen)
{
	for (struct interest_ent *e = map_get(&in->by_hash, h); e; e = e->next)
		if (e->slen == slen && e->qlen == qlen && !memcmp(e->str, s, slen) &&
		    (!qlen || !memcmp(e->str + slen + 1, q, qlen)))
			return e;
	return NULL;
}

/* What reader @k is to be told of @e: local interest, and every other
 * reader's except a route's to a route. */
static uint32_t interest_eff(const struct interest *in, const struct interest_ent *e, int k)
{
	uint32_t n = e->local;
	for (uint16_t i = 0; i < e->nsrc; i++) {
		int src = e->src[i].reader;
		if (src == k ||
		    (in->r[k].kind == INTEREST_ROUTE && in->r[src].kind == INTEREST_ROUTE))
			continue;
		n += e->src[i].n;
	}
	return n;
}

/* Queues a change for reader @k. Under the lock; a change that finds no
 * memory is lost for that reader, and said. */
static void reader_push(struct interest_reader *r, const struct interest_ent *e, bool plus,
                        uint32_t weight)
{
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		struct interest_log *ev = malloc(cap * sizeof(*ev));
		if (!ev)
			goto nomem;
		for (uint32_t i = 0; i < r->n; i++)
			ev[i] = r->ev[(r->head + i) % r->cap];
		free(r->ev);
		r->ev = ev;
		r->head = 0;
		r->cap = cap;
	}
	size_t len = (size_t)e->slen + 1 + e->qlen + 1;
	char *str = malloc(len);
	if (!str)
		goto nomem;
	memcpy(str, e->str, len);
	r->ev[(r->head + r->n) % r->cap] = (struct interest_log){
	    .plus = plus, .weight = weight, .slen = e->slen, .qlen = e->qlen, .str = str};
	r->n++;
	atomic_store_explicit(&r->pending, r->n, memory_order_release);
	return;
nomem:
	log_error("routes: out of memory: an interest change was not announced");
}

/* Tells each reader whose count of @e went from @before[k]. Returns true
 * when any was told. Under the lock. */
static bool interest_tell(struct interest *in, const struct interest_ent *e, const uint32_t *before)
{
	bool told = false;
	for (int k = 0; k < INTEREST_READERS; k++) {
		if (!in->r[k].open)
			continue;
		uint32_t now = interest_eff(in, e, k);
		if (now == before[k] || (!e->qlen && now && before[k]))
			continue; /* a plain subject is announced once; a group at each change */
		reader_push(&in->r[k], e, now > 0, now);
		told = true;
	}
	return told;
}

static struct interest_ent *interest_ent_new(struct interest *in, uint64_t h, const char *s,
                                             size_t slen, const char *q, size_t qlen)
{
	struct interest_ent *e = calloc(1, sizeof(*e) + slen + qlen + 2);
	if (!e)
		return NULL;
	e->next = map_get(&in->by_hash, h);
	if (map_put(&in->by_hash, h, e) != 0) {
		free(e);
		return NULL;
	}
	e->slen = (uint32_t)slen;
	e->qlen = (uint32_t)qlen;
	memcpy(e->str, s, slen);
	if (qlen)
		memcpy(e->str + slen + 1, q, qlen);
	in->nents++;
	return e;
}

static void interest_ent_free(struct interest *in, uint64_t h, struct interest_ent *e)
{
	struct interest_ent *head = map_get(&in->by_hash, h);
	if (head == e) {
		if (!e->next)
			map_del(&in->by_hash, h);
		else if (map_put(&in->by_hash, h, e->next) != 0)
			log_error("routes: out of memory");
	} else {
		for (struct interest_ent *p = head; p; p = p->next)
			if (p->next == e) {
				p->next = e->next;
				break;
			}
	}
	in->nents--;
	free(e->src);
	free(e);
}

/* Adds @delta to what @reader (-1: local clients) announced on @e. */
static bool interest_count_src(struct interest_ent *e, int reader, int delta)
{
	if (reader < 0) {
		if (delta < 0 && e->local == 0)
			return false;
		e->local = (uint32_t)((int64_t)e->local + delta);
		return true;
	}
	for (uint16_t i = 0; i < e->nsrc; i++)
		if (e->src[i].reader == reader) {
			if (delta < 0 && e->src[i].n == 0)
				return false;
			e->src[i].n = (uint32_t)((int64_t)e->src[i].n + delta);
			if (e->src[i].n == 0)
				e->src[i] = e->src[--e->nsrc];
			return true;
		}
	if (delta < 0)
		return false;
	if (e->nsrc == e->src_cap) {
		uint16_t cap = e->src_cap ? (uint16_t)(e->src_cap * 2) : 2;
		struct interest_src *a = realloc(e->src, cap * sizeof(*a));
		if (!a)
			return false;
		e->src = a;
		e->src_cap = cap;
	}
	e->src[e->nsrc++] = (struct interest_src){.reader = (int16_t)reader, .n = (uint32_t)delta};
	return true;
}

static void interest_change(struct interest *in, int reader, const char *s, size_t slen,
                            const char *q, size_t qlen, int delta)
{
	uint64_t h = interest_hash(s, slen, q, qlen);
	uint32_t before[INTEREST_READERS];
	bool told = false;
	pthread_mutex_lock(&in->lock);
	struct interest_ent *e = interest_find(in, h, s, slen, q, qlen);
	if (!e && delta > 0 && !(e = interest_ent_new(in, h, s, slen, q, qlen))) {
		log_error("routes: out of memory: a subscription was not announced");
		goto out;
	}
	if (!e)
		goto out; /* a removal of what was never counted */
	for (int k = 0; k < INTEREST_READERS; k++)
		before[k] = in->r[k].open ? interest_eff(in, e, k) : 0;
	if (interest_count_src(e, reader, delta))
		told = interest_tell(in, e, before);
	if (e->local == 0 && e->nsrc == 0)
		interest_ent_free(in, h, e);
out:
	pthread_mutex_unlock(&in->lock);
	if (told && in->notify)
		in->notify(in->notify_arg);
}

void interest_add(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen)
{
	interest_change(in, -1, subject, slen, queue, qlen, 1);
}

void interest_del(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen)
{
	interest_change(in, -1, subject, slen, queue, qlen, -1);
}

void interest_change_from(struct interest *in, int reader, const char *subject, size_t slen,
                          const char *queue, size_t qlen, int delta)
{
	if (reader >= 0 && reader < INTEREST_READERS)
		interest_change(in, reader, subject, slen, queue, qlen, delta);
}

int interest_reader_open(struct interest *in, enum interest_kind kind, interest_fn fn, void *arg)
{
	int k = -1;
	pthread_mutex_lock(&in->lock);
	for (int i = 0; i < INTEREST_READERS && k < 0; i++)
		if (!in->r[i].open)
			k = i;
	if (k >= 0) {
		in->r[k].open = true;
		in->r[k].kind = kind;
		void *v;
		for (uint32_t pos = 0; map_next(&in->by_hash, &pos, NULL, &v);)
			for (struct interest_ent *e = v; e; e = e->next) {
				uint32_t n = interest_eff(in, e, k);
				if (n)
					fn(arg,
					   &(struct interest_ev){
					       .plus = true,
					       .weight = n,
					       .subject = e->str,
					       .queue = e->qlen ? e->str + e->slen + 1 : NULL});
			}
	}
	pthread_mutex_unlock(&in->lock);
	return k;
}

void interest_reader_close(struct interest *in, int reader)
{
	if (reader < 0 || reader >= INTEREST_READERS)
		return;
	bool told = false;
	uint32_t before[INTEREST_READERS];
	pthread_mutex_lock(&in->lock);
	in->r[reader].open = false;
	reader_drop(&in->r[reader]);
	/* what it announced goes: the others are told */
	void *v;
	for (uint32_t pos = 0; map_next(&in->by_hash, &pos, NULL, &v);) {
		for (struct interest_ent *e = v; e; e = e->next)
			for (uint16_t i = 0; i < e->nsrc; i++) {
				if (e->src[i].reader != reader)
					continue;
				for (int k = 0; k < INTEREST_READERS; k++)
					before[k] = in->r[k].open ? interest_eff(in, e, k) : 0;
				e->src[i] = e->src[--e->nsrc];
				told |= interest_tell(in, e, before);
				break;
			}
	}
	/* entries nobody holds any more: gathered, then freed (freeing changes
	 * the map under the scan) */
	struct interest_ent **gone = NULL;
	size_t ngone = 0, cap = 0;
	for (uint32_t pos = 0; map_next(&in->by_hash, &pos, NULL, &v);)
		for (struct interest_ent *e = v; e; e = e->next) {
			if (e->local || e->nsrc)
				continue;
			if (ngone == cap) {
				size_t c = cap ? cap * 2 : 64;
				struct interest_ent **a = realloc(gone, c * sizeof(*a));
				if (!a)
					break; /* kept, at zero: harmless */
				gone = a;
				cap = c;
			}
			gone[ngone++] = e;
		}
	for (size_t i = 0; i < ngone; i++) {
		struct interest_ent *e = gone[i];
		interest_ent_free(in, interest_hash(e->str, e->slen, e->str + e->slen + 1, e->qlen),
		                  e);
	}
	free(gone);
	pthread_mutex_unlock(&in->lock);
	if (told && in->notify)
		in->notify(in->notify_arg);
}

uint32_t interest_read(struct interest *in, int reader, interest_fn fn, void *arg)
{
	uint32_t k = 0;
	pthread_mutex_lock(&in->lock);
	struct interest_reader *r = &in->r[reader];
	for (; r->n; k++) {
		struct interest_log *l = &r->ev[r->head];
		fn(arg, &(struct interest_ev){.plus = l->plus,
		                              .weight = l->weight,
		                              .subject = l->str,
		                              .queue = l->qlen ? l->str + l->slen + 1 : NULL});
		free(l->str);
		r->head = (r->head + 1) % r->cap;
		r->n--;
	}
	atomic_store_explicit(&r->pending, 0, memory_order_relaxed);
	pthread_mutex_unlock(&in->lock);
	return k;
}

bool interest_pending(struct interest *in, int reader)
{
	return atomic_load_explicit(&in->r[reader].pending, memory_order_acquire) != 0;
}

uint32_t interest_count(struct interest *in)
{
	pthread_mutex_lock(&in->lock);
	uint32_t n = in->nents;
	pthread_mutex_unlock(&in->lock);
	return n;
}
