/* Worker threads: run the shards they own while they have work, poll a
 * while when they run dry, then sleep until someone queues work. */
#include "router/worker.h"

#include <ck_pr.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/pin.h"
#include "router/shard.h"

/* True when a shard of @w has work nobody is doing. */
static bool worker_has_work(struct worker *w)
{
	for (int i = 0; i < w->nshards; i++) {
		struct shard *sh = w->shards[i];
		if (shard_has_work(sh) && atomic_load(&sh->claimed) == 0)
			return true;
	}
	return false;
}

/* One pass over the shards. Returns the work done; *@left is set when
 * results still wait for room in a full stream. */
static unsigned worker_pass(struct worker *w, bool *left)
{
	unsigned did = 0;
	for (int i = 0; i < w->nshards; i++) {
		struct shard *sh = w->shards[i];
		if (!shard_has_work(sh) || !shard_try_claim(sh))
			continue;
		did += shard_run(sh, 64);
		if (atomic_load_explicit(&sh->npending, memory_order_relaxed))
			*left = true;
		shard_release(sh);
	}
	return did;
}

/* A quiescent state: between passes a worker holds no pointer into the
 * settings (router/server_gen.c). */
static void worker_quiesce(struct worker *w)
{
	/* acquire: pairs with the release in server_gen_swap() */
	uint64_t seq = atomic_load_explicit(w->gen_seq, memory_order_acquire);
	if (seq != atomic_load_explicit(&w->qs_seq, memory_order_relaxed))
		atomic_store_explicit(&w->qs_seq, seq, memory_order_release);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t idle_since = 0;

	if (w->pin_cpu >= 0) {
		int ret = pin_self(w->pin_cpu);
		if (ret)
			log_warn("worker %d: cannot pin: %s", w->index, strerror(-ret));
	}
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		bool left = false;
		worker_quiesce(w);
		unsigned did = worker_pass(w, &left);
		if (did || left) {
			idle_since = 0;
			continue;
		}
		uint64_t now = clock_now_ns();
		if (!idle_since)
			idle_since = now;
		if (now - idle_since < w->spin_ns) {
			ck_pr_stall();
			continue;
		}
		idle_since = 0;
		wake_prepare(&w->wake);
		if (worker_has_work(w) || atomic_load(w->stop)) {
			wake_cancel(&w->wake);
			continue;
		}
		w->sleeps++;
		wake_wait(&w->wake);
		wake_cancel(&w->wake);
	}
	return NULL;
}
