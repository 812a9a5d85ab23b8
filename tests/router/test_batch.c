/* Batches: entries fit until the arena or the entry table is full; a dbatch
 * takes one reference per mbatch it points into and gives them back when
 * freed (the last reference frees the mbatch, and the process's byte count
 * returns to where it was); blocks a batch owns go with it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/memacct.h"
#include "router/batch.h"

Test(batch, entries_fit_until_the_arena_or_the_table_is_full)
{
	struct mbatch *b = mbatch_new(4, 100);
	cr_assert_not_null(b);
	cr_expect_not_null(mbatch_add(b, MENTRY_MSG, 60));
	cr_expect_not_null(mbatch_add(b, MENTRY_MSG, 40));
	cr_expect_null(mbatch_add(b, MENTRY_MSG, 1), "the arena is full");
	cr_expect_not_null(mbatch_add(b, MENTRY_SUB, 0));
	cr_expect_not_null(mbatch_add(b, MENTRY_SUB, 0));
	cr_expect_null(mbatch_add(b, MENTRY_SUB, 0), "the table is full");
	cr_expect_eq(b->e[1].off, 60, "entries are laid out one after the other");
	mbatch_unref(b);
}

Test(batch, a_dbatch_holds_one_reference_per_mbatch_and_gives_it_back)
{
	uint64_t before = memacct_get(MEMACCT_BATCH);
	struct mbatch *a = mbatch_new(8, 64), *b = mbatch_new(8, 64);
	struct mentry *ea = mbatch_add(a, MENTRY_MSG, 1), *eb = mbatch_add(b, MENTRY_MSG, 1);
	struct dbatch *db = dbatch_new();
	cr_assert_not_null(db);
	for (int i = 0; i < 10; i++) {
		struct delivery d = {
		    .conn = 1, .b = i < 5 ? a : b, .e = i < 5 ? ea : eb, .kind = DELIVERY_MSG};
		cr_assert(dbatch_has_room(db, d.b));
		dbatch_add(db, &d);
	}
	cr_expect_eq(db->nheld, 2, "one reference per batch pointed into, not per delivery");
	cr_expect_eq(atomic_load(&a->refs), 2);
	mbatch_unref(a); /* the producers let go: the dbatch keeps them alive */
	mbatch_unref(b);
	cr_expect_eq(db->d[7].e, eb);
	dbatch_free(db); /* the last references: both mbatches are freed */
	cr_expect_eq(memacct_get(MEMACCT_BATCH), before, "every byte given back");
}

/* Blocks a batch owns (payloads assembled in the parser's carry): room for
 * eight, counted with the batch's pinned bytes, freed with the batch (a
 * leak shows under the sanitizer builds). */
Test(batch, a_batch_owns_at_most_eight_blocks_and_frees_them)
{
	struct mbatch *b = mbatch_new(8, 64);
	cr_assert_not_null(b);
	uint32_t bytes = 0;
	for (uint32_t i = 0; i < RB_ARRAY_LEN(b->own); i++) {
		cr_assert(mbatch_can_lend(b, MBATCH_LEND_OWN), "block %u", i);
		char *blk = malloc(4096 + i);
		cr_assert_not_null(blk);
		mbatch_own(b, blk, 4096 + i);
		bytes += 4096 + i;
	}
	cr_expect_not(mbatch_can_lend(b, MBATCH_LEND_OWN), "a ninth block");
	cr_expect(mbatch_can_lend(b, MBATCH_LEND_NONE), "entries without a block still fit");
	cr_expect_eq(b->lend_bytes, bytes);
	cr_expect_eq(b->nown, 8);
	mbatch_unref(b);
}

/* Shared blocks (a paused connection's stash): each batch that holds one
 * takes one reference for a run of entries in it and counts the whole
 * block once; room for eight; the block lives, counted as stash memory,
 * until its last holder lets it go, whichever that is. */
Test(batch, a_held_block_lives_until_its_last_holder_lets_it_go)
{
	uint64_t before = memacct_get(MEMACCT_STASH);
	struct mblock *m = mblock_new(1u << 20, MEMACCT_STASH);
	cr_assert_not_null(m);
	cr_expect_eq(memacct_get(MEMACCT_STASH), before + (1u << 20));
	cr_expect_not(mblock_shared(m));
	memset(m->data, 'a', m->cap);

	struct mbatch *b1 = mbatch_new(8, 64), *b2 = mbatch_new(8, 64);
	cr_assert(b1 && b2);
	for (int i = 0; i < 3; i++) { /* a run of entries in the same block */
		cr_assert(mbatch_can_lend(b1, MBATCH_LEND_HELD));
		mbatch_hold(b1, m);
	}
	mbatch_hold(b2, m);
	cr_expect_eq(b1->nheld, 1, "one hold for a run in one block");
	cr_expect_eq(b1->lend_bytes, 1u << 20, "the whole block counted once");
	cr_expect_eq(atomic_load(&m->refs), 3, "the stash's own and one per batch");
	cr_expect(mblock_shared(m));

	mblock_unref(m); /* the connection lets it go first */
	mbatch_unref(b1);
	cr_expect_eq(memacct_get(MEMACCT_STASH), before + (1u << 20), "still held by b2");
	cr_expect_eq(b2->held[0]->data[(1u << 20) - 1], 'a', "its bytes intact");
	mbatch_unref(b2); /* the last holder frees it (a leak shows under ASan) */
	cr_expect_eq(memacct_get(MEMACCT_STASH), before, "every byte given back");

	struct mbatch *b = mbatch_new(8, 64);
	struct mblock *blk[8];
	for (uint32_t i = 0; i < 8; i++) {
		cr_assert(mbatch_can_lend(b, MBATCH_LEND_HELD), "block %u", i);
		blk[i] = mblock_new(4096, MEMACCT_STASH);
		cr_assert_not_null(blk[i]);
		mbatch_hold(b, blk[i]);
		mblock_unref(blk[i]);
	}
	cr_expect_not(mbatch_can_lend(b, MBATCH_LEND_HELD), "a ninth block");
	cr_expect_eq(b->lend_bytes, 8 * 4096);
	mbatch_unref(b);
	cr_expect_eq(memacct_get(MEMACCT_STASH), before);
}
