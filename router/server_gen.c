/* Generations of the reloadable settings (admission policies and struct
 * live), so that a daemon can reload forever: a replaced generation is
 * freed once no thread can still see it.
 *
 * The I/O threads and workers read the settings in force with a plain
 * acquire load, many times a second, and never hold a pointer across a
 * quiescent state: at each poll an I/O thread first moves its connections'
 * long-lived pointers (paused publishers' policies, ...) to the generation
 * in force, then stores the generation count it saw (qs_seq, release). A
 * generation replaced as count N is unreachable from a thread whose qs_seq
 * is N or more (quiescent-state reclamation, as in ck_epoch, with the
 * threads' own polls as the grace points). Other threads (TLS handshakes,
 * monitoring) hold the generation they use under gen_lock. */
#include <errno.h>
#include <stdlib.h>

#include "router/admission.h"
#include "router/account.h"
#include "router/auth.h"
#include "router/iothr.h"
#include "router/server_int.h"
#include "router/service.h"
#include "router/worker.h"

static void server_gen_free(struct server_gen *g)
{
	admission_free(g->adm);
	server_live_free(g->live);
	free(g);
}

int server_gen_init(struct server *s, struct admission *adm, struct live *lv)
{
	struct server_gen *g = calloc(1, sizeof(*g));
	if (!g) {
		admission_free(adm);
		server_live_free(lv);
		return -ENOMEM;
	}
	g->adm = adm;
	g->live = lv;
	s->gen_cur = g;
	atomic_init(&s->adm, adm);
	atomic_init(&s->live, lv);
	atomic_init(&s->gen_seq, 0);
	return 0;
}

void server_gen_swap(struct server *s, struct admission *adm, struct live *lv)
{
	struct server_gen *g = calloc(1, sizeof(*g));
	if (!g) {
		/* Keep the old one in force rather than lose track of it. */
		admission_free(adm);
		server_live_free(lv);
		return;
	}
	g->adm = adm;
	g->live = lv;
	pthread_mutex_lock(&s->gen_lock);
	struct server_gen *old = s->gen_cur;
	s->gen_cur = g;
	/* release: the new settings are complete before anyone can see them;
	 * pairs with the acquire loads of server_adm() and server_live() */
	atomic_store_explicit(&s->adm, adm, memory_order_release);
	atomic_store_explicit(&s->live, lv, memory_order_release);
	/* release, after the pointers: a thread that sees the new count sees the
	 * new pointers (pairs with the acquire in iothr_quiesce/worker_quiesce) */
	old->retired_seq = atomic_fetch_add_explicit(&s->gen_seq, 1, memory_order_acq_rel) + 1;
	old->next = s->gen_retired;
	s->gen_retired = old;
	pthread_mutex_unlock(&s->gen_lock);
}

/* The oldest generation count any hot thread may still be reading. */
static uint64_t server_gen_quiet(struct server *s)
{
	uint64_t min = UINT64_MAX;
	for (int i = 0; i < s->nio; i++) {
		/* acquire: pairs with the release store of the thread's qs_seq,
		 * made after it let go of everything older */
		uint64_t q = atomic_load_explicit(&s->io[i].qs_seq, memory_order_acquire);
		min = q < min ? q : min;
	}
	for (int i = 0; i < s->nworkers; i++) {
		uint64_t q = atomic_load_explicit(&s->workers[i].qs_seq, memory_order_acquire);
		min = q < min ? q : min;
	}
	return min;
}

bool server_gen_reap(struct server *s)
{
	uint64_t quiet = server_gen_quiet(s);
	pthread_mutex_lock(&s->gen_lock);
	struct server_gen **pp = &s->gen_retired;
	while (*pp) {
		struct server_gen *g = *pp;
		if (g->retired_seq <= quiet && g->holds == 0) {
			*pp = g->next;
			server_gen_free(g);
		} else {
			pp = &g->next;
		}
	}
	bool left = s->gen_retired != NULL;
	pthread_mutex_unlock(&s->gen_lock);
	if (left)
		server_wake_all(s); /* a sleeping thread passes no quiescent state */
	return left;
}

void server_gen_fini(struct server *s)
{
	while (s->gen_retired) {
		struct server_gen *g = s->gen_retired;
		s->gen_retired = g->next;
		server_gen_free(g);
	}
	if (s->gen_cur)
		server_gen_free(s->gen_cur);
	s->gen_cur = NULL;
}

const struct server_gen *server_gen_hold(struct server *s)
{
	pthread_mutex_lock(&s->gen_lock);
	struct server_gen *g = s->gen_cur;
	g->holds++;
	pthread_mutex_unlock(&s->gen_lock);
	return g;
}

void server_gen_release(struct server *s, const struct server_gen *g)
{
	pthread_mutex_lock(&s->gen_lock);
	((struct server_gen *)g)->holds--;
	pthread_mutex_unlock(&s->gen_lock);
}

void server_live_free(struct live *lv)
{
	if (lv) {
		auth_free(lv->auth);
		auth_free(lv->ws_auth);
		acc_table_free(lv->acc);
		free(lv);
	}
}

/* The policy of service subject @subj (for svc_relimit). */
static void server_svc_policy(void *ctx, const char *subj, size_t len, uint32_t *limit,
                              uint64_t *wait_ns)
{
	const struct adm_policy *p = admission_lookup(ctx, subj, len);
	*limit = p->max_inflight > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)p->max_inflight;
	*wait_ns = p->queue_wait_ns;
}

void server_svc_apply(struct server *s, const struct admission *a)
{
	atomic_store_explicit(&s->svc->aware, a->request_aware, memory_order_relaxed);
	atomic_store_explicit(&s->svc->expiry_ns, a->request_expiry_ns, memory_order_relaxed);
	svc_relimit(s->svc, server_svc_policy, (void *)a);
}
