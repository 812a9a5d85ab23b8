/* The route log's storage (router/rlog.h). */
#include "router/rlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rlog_init(struct rlog *l)
{
	memset(l, 0, sizeof(*l));
}

void rlog_fini(struct rlog *l)
{
	free(l->r);
	memset(l, 0, sizeof(*l));
}

int rlog_reserve(struct rlog *l, uint32_t more)
{
	if (l->n + more <= l->cap)
		return 0;
	uint32_t cap = l->cap ? l->cap : 256;
	while (cap < l->n + more)
		cap *= 2;
	struct rlog_rec *r = malloc((size_t)cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->n; i++)
		r[i] = l->r[(l->head + i) & (l->cap - 1)];
	free(l->r);
	l->r = r;
	l->head = 0;
	l->cap = cap;
	return 0;
}

void rlog_shrink(struct rlog *l)
{
	if (l->n == 0 && l->cap > 4096) {
		free(l->r);
		l->r = NULL;
		l->cap = 0;
		l->head = 0;
	}
}
