/* Allocation, reference counting and filling of mbatches and dbatches. */
#include "router/batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/memacct.h"

struct mbatch *mbatch_new(uint32_t entries, uint32_t arena)
{
	size_t esz = sizeof(struct mentry) * entries;
	size_t total = sizeof(struct mbatch) + esz + arena;
	struct mbatch *b = malloc(total);
	if (!b)
		return NULL;
	b->alloc = (uint32_t)total;
	b->nmsgs = 0;
	b->src = 0;
	b->next = NULL;
	memacct_add(MEMACCT_BATCH, (int64_t)total);
	atomic_init(&b->refs, 1);
	b->n = 0;
	b->cap = entries;
	b->used = 0;
	b->size = arena;
	b->bytes = 0;
	b->e = (struct mentry *)(b + 1);
	b->arena = (char *)b->e + esz;
	b->lend_pool = NULL;
	b->nlend = 0;
	b->lend_bytes = 0;
	b->nown = 0;
	b->nheld = 0;
	return b;
}

void mbatch_unref(struct mbatch *b)
{
	if (!b)
		return;
	/* acq_rel: the last owner must see every other owner's reads finished. */
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
		memacct_add(MEMACCT_BATCH, -(int64_t)b->alloc);
		for (uint32_t i = 0; i < b->nlend; i++)
			io_lend_drop(b->lend_pool, b->lend[i]);
		for (uint32_t i = 0; i < b->nown; i++)
			free(b->own[i]);
		for (uint32_t i = 0; i < b->nheld; i++)
			mblock_unref(b->held[i]);
		free(b);
	}
}

struct mblock *mblock_new(uint32_t cap, uint8_t kind)
{
	struct mblock *m = malloc(sizeof(*m) + cap);
	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->cap = cap;
	m->len = 0;
	m->kind = kind;
	m->next = NULL;
	memacct_add((enum memacct_kind)kind, (int64_t)cap);
	return m;
}

void mblock_unref(struct mblock *m)
{
	if (!m)
		return;
	/* acq_rel: the last holder must see every other holder's reads done. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	memacct_add((enum memacct_kind)m->kind, -(int64_t)m->cap);
	free(m);
}

struct mentry *mbatch_add(struct mbatch *b, enum mentry_kind kind, size_t bytes)
{
	if (!mbatch_fits(b, bytes))
		return NULL;
	struct mentry *e = &b->e[b->n++];
	memset(e, 0, sizeof(*e));
	e->kind = (uint8_t)kind;
	e->off = b->used;
	b->used += (uint32_t)bytes;
	return e;
}

struct dbatch *dbatch_new(void)
{
	struct dbatch *db = malloc(DBATCH_BYTES);
	if (!db)
		return NULL;
	memacct_add(MEMACCT_BATCH, (int64_t)DBATCH_BYTES);
	db->n = 0;
	db->cap = DBATCH_DELIVERIES;
	db->nheld = 0;
	return db;
}

void dbatch_free(struct dbatch *db)
{
	if (!db)
		return;
	for (uint32_t i = 0; i < db->nheld; i++)
		mbatch_unref(db->held[i]);
	memacct_add(MEMACCT_BATCH, -(int64_t)DBATCH_BYTES);
	free(db);
}
