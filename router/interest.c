/* The local interest set and its change log (router/interest.h). */
#include "router/interest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/map.h"

/* One subject, or one queue group on a subject. */
struct interest_ent {
	struct interest_ent *next; /* same hash */
	uint64_t hash;
	uint32_t count;
	uint32_t slen;
	uint32_t qlen; /* 0: plain */
	char str[];    /* subject NUL queue NUL */
};

/* A change waiting for readers; @str as in the entry. */
struct interest_log {
	bool plus;
	uint32_t weight;
	uint32_t slen;
	uint32_t qlen;
	char *str;
};

#define INTEREST_READERS 64

struct interest {
	pthread_mutex_t lock;
	struct map by_hash; /* hash -> entry chain */
	uint32_t nents;
	/* the log: events [base, base + n) by sequence number, event s at
	 * ev[(s - base + head) % cap] */
	struct interest_log *ev;
	uint32_t head, n, cap;
	uint64_t base;
	atomic_uint_fast64_t next_seq;     /* base + n, read without the lock */
	uint64_t cursor[INTEREST_READERS]; /* next sequence each reader reads */
	bool open[INTEREST_READERS];
	uint32_t nreaders;
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

static void interest_log_drop(struct interest *in, uint32_t k)
{
	for (uint32_t i = 0; i < k; i++) {
		free(in->ev[in->head].str);
		in->head = (in->head + 1) % in->cap;
	}
	in->n -= k;
	in->base += k;
}

void interest_free(struct interest *in)
{
	if (!in)
		return;
	void *v;
	for (uint32_t pos = 0; map_next(&in->by_hash, &pos, NULL, &v);) {
		for (struct interest_ent *e = v, *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	map_fini(&in->by_hash);
	interest_log_drop(in, in->n);
	free(in->ev);
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

/* Appends a change for the readers (none open: nothing to keep). Under the
 * lock. A change that finds no memory is lost for the routes, and said. */
static void interest_log_add(struct interest *in, const struct interest_ent *e, bool plus)
{
	if (in->nreaders == 0)
		return;
	/* forget what every reader has read */
	uint64_t low = UINT64_MAX;
	for (int r = 0; r < INTEREST_READERS; r++)
		if (in->open[r] && in->cursor[r] < low)
			low = in->cursor[r];
	if (low > in->base)
		interest_log_drop(in, (uint32_t)(low - in->base));
	if (in->n == in->cap) {
		uint32_t cap = in->cap ? in->cap * 2 : 64;
		struct interest_log *ev = malloc(cap * sizeof(*ev));
		if (!ev)
			goto nomem;
		for (uint32_t i = 0; i < in->n; i++)
			ev[i] = in->ev[(in->head + i) % in->cap];
		free(in->ev);
		in->ev = ev;
		in->head = 0;
		in->cap = cap;
	}
	size_t len = (size_t)e->slen + 1 + e->qlen + 1;
	char *str = malloc(len);
	if (!str)
		goto nomem;
	memcpy(str, e->str, len);
	in->ev[(in->head + in->n) % in->cap] = (struct interest_log){
	    .plus = plus, .weight = e->count, .slen = e->slen, .qlen = e->qlen, .str = str};
	in->n++;
	atomic_store_explicit(&in->next_seq, in->base + in->n, memory_order_release);
	return;
nomem:
	log_error("routes: out of memory: an interest change was not announced");
}

static void interest_change(struct interest *in, const char *s, size_t slen, const char *q,
                            size_t qlen, int delta)
{
	uint64_t h = interest_hash(s, slen, q, qlen);
	bool changed = false;
	pthread_mutex_lock(&in->lock);
	struct interest_ent *e = interest_find(in, h, s, slen, q, qlen);
	if (!e && delta > 0) {
		e = calloc(1, sizeof(*e) + slen + qlen + 2);
		if (!e || map_put(&in->by_hash, h, e) != 0) {
			free(e);
			log_error("routes: out of memory: a subscription was not announced");
			goto out;
		}
		e->next = NULL;
		e->hash = h;
		e->slen = (uint32_t)slen;
		e->qlen = (uint32_t)qlen;
		memcpy(e->str, s, slen);
		if (qlen)
			memcpy(e->str + slen + 1, q, qlen);
		in->nents++;
	} else if (!e) {
		goto out; /* an UNSUB of what was never counted */
	}
	if (delta > 0) {
		e->count++;
		/* a plain subject is announced once; a queue group at each change */
		changed = e->count == 1 || qlen;
		if (changed)
			interest_log_add(in, e, true);
		goto out;
	}
	if (--e->count > 0) {
		if (qlen) {
			interest_log_add(in, e, true);
			changed = true;
		}
		goto out;
	}
	interest_log_add(in, e, false);
	changed = true;
	/* unlink and free */
	struct interest_ent *head = map_get(&in->by_hash, h);
	if (head == e) {
		if (e->next) {
			if (map_put(&in->by_hash, h, e->next) != 0)
				log_error("routes: out of memory");
		} else {
			map_del(&in->by_hash, h);
		}
	} else {
		for (struct interest_ent *p = head; p; p = p->next)
			if (p->next == e) {
				p->next = e->next;
				break;
			}
	}
	in->nents--;
	free(e);
out:
	pthread_mutex_unlock(&in->lock);
	if (changed && in->notify)
		in->notify(in->notify_arg);
}

void interest_add(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen)
{
	interest_change(in, subject, slen, queue, qlen, 1);
}

void interest_del(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen)
{
	interest_change(in, subject, slen, queue, qlen, -1);
}

int interest_reader_open(struct interest *in, interest_fn fn, void *arg)
{
	int r = -1;
	pthread_mutex_lock(&in->lock);
	for (int i = 0; i < INTEREST_READERS; i++)
		if (!in->open[i]) {
			r = i;
			break;
		}
	if (r >= 0) {
		in->open[r] = true;
		in->nreaders++;
		in->cursor[r] = in->base + in->n;
		void *v;
		for (uint32_t pos = 0; map_next(&in->by_hash, &pos, NULL, &v);)
			for (struct interest_ent *e = v; e; e = e->next)
				fn(arg, &(struct interest_ev){
				            .plus = true,
				            .weight = e->count,
				            .subject = e->str,
				            .queue = e->qlen ? e->str + e->slen + 1 : NULL});
	}
	pthread_mutex_unlock(&in->lock);
	return r;
}

void interest_reader_close(struct interest *in, int reader)
{
	if (reader < 0)
		return;
	pthread_mutex_lock(&in->lock);
	if (in->open[reader]) {
		in->open[reader] = false;
		in->nreaders--;
		if (in->nreaders == 0)
			interest_log_drop(in, in->n);
	}
	pthread_mutex_unlock(&in->lock);
}

uint32_t interest_read(struct interest *in, int reader, interest_fn fn, void *arg)
{
	uint32_t k = 0;
	pthread_mutex_lock(&in->lock);
	for (uint64_t s = in->cursor[reader]; s < in->base + in->n; s++, k++) {
		const struct interest_log *l = &in->ev[(in->head + (s - in->base)) % in->cap];
		fn(arg, &(struct interest_ev){.plus = l->plus,
		                              .weight = l->weight,
		                              .subject = l->str,
		                              .queue = l->qlen ? l->str + l->slen + 1 : NULL});
	}
	in->cursor[reader] = in->base + in->n;
	pthread_mutex_unlock(&in->lock);
	return k;
}

bool interest_pending(struct interest *in, int reader)
{
	/* The cursor is written by this reader's own thread only. */
	return atomic_load_explicit(&in->next_seq, memory_order_acquire) > in->cursor[reader];
}

uint32_t interest_count(struct interest *in)
{
	pthread_mutex_lock(&in->lock);
	uint32_t n = in->nents;
	pthread_mutex_unlock(&in->lock);
	return n;
}
