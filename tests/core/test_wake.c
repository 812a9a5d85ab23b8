/* The sleep/wake-up protocol: no eventfd write while the consumer is awake;
 * exactly one while it announced sleep; and no lost wake-up between a
 * consumer that announces sleep and a producer that pushes (threads race
 * through many rounds; a lost wake-up would hang the consumer, which the
 * test's timeout turns into a failure). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/wake.h"

Test(wake, notify_writes_only_for_a_sleeper_and_once)
{
	struct wake w;
	cr_assert_eq(wake_init(&w, true), 0);
	wake_notify(&w);
	cr_expect_eq(atomic_load(&w.notifies), 0, "awake: no write");
	wake_prepare(&w);
	cr_expect(wake_is_sleeping(&w));
	wake_notify(&w);
	wake_notify(&w);
	cr_expect_eq(atomic_load(&w.notifies), 1, "one write per announcement");
	wake_cancel(&w);
	cr_expect(!wake_is_sleeping(&w));
	wake_fini(&w);
}

#define ROUNDS 20000

static struct wake pw;
static atomic_uint work; /* the "ring": items pushed and not yet taken */

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		atomic_fetch_add(&work, 1);
		wake_notify(&pw);
		while (atomic_load(&work) > 8)
			; /* a bounded ring */
	}
	return NULL;
}

Test(wake, no_wake_up_is_lost_between_announce_and_push, .timeout = 60)
{
	cr_assert_eq(wake_init(&pw, false), 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, producer, NULL), 0);
	unsigned taken = 0;
	while (taken < ROUNDS) {
		unsigned n = atomic_exchange(&work, 0);
		if (n) {
			taken += n;
			continue;
		}
		wake_prepare(&pw);
		if (atomic_load(&work)) { /* re-check after announcing */
			wake_cancel(&pw);
			continue;
		}
		cr_assert_eq(wake_wait(&pw), 0);
		wake_cancel(&pw);
	}
	pthread_join(t, NULL);
	cr_expect_eq(taken, ROUNDS);
	wake_fini(&pw);
}
