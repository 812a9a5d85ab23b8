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
#include "router/client_stash.h"

/* The first block of a pause is this large (or as large as the input it
 * takes), each next one twice the last, up to STASH_BLOCK_MAX. */
#define STASH_FIRST     (16u << 10)
#define STASH_BLOCK_MAX (256u << 10)

/* A block at the end of the chain with room for @len more bytes, or NULL
 * when out of memory. */
static struct mblock *stash_room(struct client *cl, size_t len)
{
	struct mblock *t = cl->stash_tail;
	if (t && t->cap - t->len >= len)
		return t;
	size_t cap = t ? (size_t)t->cap * 2 : STASH_FIRST;
	if (cap > STASH_BLOCK_MAX)
		cap = STASH_BLOCK_MAX;
	if (cap < len)
		cap = len;
	struct mblock *n = cap <= UINT32_MAX ? mblock_new((uint32_t)cap, MEMACCT_STASH) : NULL;
	if (!n)
		return NULL;
	if (t) {
		t->next = n;
	} else {
		cl->stash = n;
		cl->stash_off = 0;
	}
	return cl->stash_tail = n;
}

int client_stash(struct client *cl, const char *data, size_t len)
{
	struct mblock *t = stash_room(cl, len);
	if (!t)
		return -ENOMEM;
	memcpy(t->data + t->len, data, len);
	t->len += (uint32_t)len;
	return 0;
}

/* The first block is used up: the next one is parsed from its start. It
 * lives on in the batches that hold it, if any. */
static void stash_pop(struct client *cl)
{
	struct mblock *m = cl->stash;
	cl->stash = m->next;
	cl->stash_off = 0;
	if (!cl->stash)
		cl->stash_tail = NULL;
	mblock_unref(m);
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
	while (cl->stash)
		stash_pop(cl);
}
