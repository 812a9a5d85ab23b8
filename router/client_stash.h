/* The input a paused connection read past its pause, kept until its reads
 * resume (router/client_stash.c). Private to router/. */
#ifndef ROUTER_CLIENT_STASH_H
#define ROUTER_CLIENT_STASH_H

#include <stdbool.h>
#include <stddef.h>

#include "router/client_int.h"

/* True when input read while @cl was paused waits to be parsed. */
static inline bool client_stashed(const struct client *cl)
{
	return cl->stash != NULL; /* a block is let go once parsed to its end */
}

/* True when @n bytes at @p lie in @cl's stash, which a batch may then hold
 * (mbatch_hold()) instead of copying them. */
static inline bool client_in_stash(const struct client *cl, const char *p, size_t n)
{
	const struct mblock *m = cl->stash; /* the block being parsed */
	return m && p >= m->data && n <= m->len && (size_t)(p - m->data) <= m->len - n;
}

/* Keeps @len bytes of input that arrived while @cl was paused (or behind
 * input that did); 0, or -ENOMEM. */
int client_stash(struct client *cl, const char *data, size_t len);

/* Parses the input stashed while @cl was paused, until it is used up or @cl
 * is paused again. @cl may be closed and freed on return (check its conn). */
void client_unstash(struct client *cl);

/* Lets the stash go (its blocks live on in batches that hold them). */
void client_stash_free(struct client *cl);

#endif
