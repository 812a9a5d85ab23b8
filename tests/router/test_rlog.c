/* The route log: records come out in the order they went in, across
 * growth and wrap-around; it gives large storage back once empty. */
#include <criterion/criterion.h>

#include "router/rlog.h"

Test(rlog, records_come_out_in_order_across_growth_and_wrap)
{
	struct rlog l;
	rlog_init(&l);
	uint32_t next_in = 0, next_out = 0;
	for (int round = 0; round < 100; round++) {
		/* push more than we pop, so it wraps and grows */
		for (int i = 0; i < 300; i++) {
			cr_assert_eq(rlog_reserve(&l, 1), 0);
			rlog_push(&l, (struct rlog_rec){.kind = RLOG_RUN, .aux = next_in++});
		}
		for (int i = 0; i < 250; i++) {
			cr_assert(!rlog_empty(&l));
			cr_assert_eq(rlog_front(&l)->aux, next_out, "record %u", next_out);
			rlog_pop(&l);
			next_out++;
		}
	}
	while (!rlog_empty(&l)) {
		cr_assert_eq(rlog_front(&l)->aux, next_out++);
		rlog_pop(&l);
	}
	cr_expect_eq(next_out, next_in);
	rlog_shrink(&l);
	cr_expect_eq(l.cap, 0, "a large empty log gives its storage back");
	rlog_fini(&l);
}
