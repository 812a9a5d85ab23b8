/* The input a connection read past its pause: what the kernel had handed
 * over when the pause took effect (at most the loop's provided buffers),
 * kept in a chain of blocks and parsed when its reads resume.
 *
 * Blocks are appended to, never moved or grown: a payload parsed from one
 * stays there, the batch holding the block (mbatch_hold()), and a block is
 * counted whole in what a batch pins (CLIENT_PIN_MAX), so blocks stay
 * small (STASH_BLOCK_MAX). A payload that crosses from one block to the
 * next is assembled by the parser, as one that crosses receive buffers. */
#include <errno.h>
#include <string.h>

#include "core/memacct.h"
#include "router/batch.h"
#include "router/client_int.h"

/* The first block of a pause is this large (or as large as the input it
 * takes), each next one twice the last, up to STASH_BLOCK_MAX. */
#define STASH_FIRST     (16u << 10)
#define STASH_BLOCK_MAX (256u << 10)
/* A used-up block no batch holds is kept for the next pause up to this
 * size; a larger one is given back. */
#define STASH_SPARE_MAX (64u << 10)

int client_stash(struct client *cl, const char *data, size_t len)
{
	struct mblock *t = cl->stash_tail;
	if (t && t->cap - t->len >= len)
		goto append;
	size_t cap = t ? (size_t)t->cap * 2 : STASH_FIRST;
	if (cap > STASH_BLOCK_MAX)
		cap = STASH_BLOCK_MAX;
	if (cap < len)
		cap = len;
	struct mblock *n = cap <= UINT32_MAX ? mblock_new((uint32_t)cap, MEMACCT_STASH) : NULL;
	if (!n)
		return -ENOMEM;
	if (t && !t->len) { /* a spare too small for this: no one else has it */
		mblock_unref(t);
		t = NULL;
	}
	if (t) {
		t->next = n;
	} else {
		cl->stash = n;
		cl->stash_off = 0;
	}
	cl->stash_tail = t = n;
append:
	memcpy(t->data + t->len, data, len);
	t->len += (uint32_t)len;
	return 0;
}

/* The first block is used up: the next one is parsed from its start. */
static void stash_pop(struct client *cl)
{
	struct mblock *m = cl->stash;
	cl->stash_off = 0;
	if (m->next) {
		cl->stash = m->next;
		m->next = NULL;
		mblock_unref(m);
		return;
	}
	if (m->cap <= STASH_SPARE_MAX && !mblock_shared(m)) {
		m->len = 0; /* kept for the next pause */
		return;
	}
	mblock_unref(m);
	cl->stash = cl->stash_tail = NULL;
}

void client_unstash(struct client *cl)
{
	struct io_conn *c = cl->c;
	if (cl->quitting)
		return;
	while (!cl->pause_reasons && client_stashed(cl)) {
		struct mblock *m = cl->stash;
		size_t used = client_parse(cl, c, m->data + cl->stash_off, m->len - cl->stash_off);
		if (io_conn_is_closing(c) || cl->quitting)
			return;
		cl->stash_off += used;
		if (cl->stash_off == m->len)
			stash_pop(cl);
	}
	if (!cl->pause_reasons && !client_stashed(cl) && cl->eof_pending)
		client_quit(cl, NULL, 0);
}

void client_stash_free(struct client *cl)
{
	for (struct mblock *m = cl->stash, *next; m; m = next) {
		next = m->next;
		m->next = NULL;
		mblock_unref(m);
	}
	cl->stash = cl->stash_tail = NULL;
	cl->stash_off = 0;
}
