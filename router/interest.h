/* The interest a node announces to its routes and leaf connections: how many
 * subscriptions there are on each subject (and queue group), from this
 * server's own clients and from each route or leaf connection, and for each
 * reader (a route or leaf connection) the changes of what it is to be told.
 * NATS keeps one such set per account: a route gets `RS+ $G foo` when the
 * first subscription on `foo` it should know of appears, `RS- $G foo` when
 * the last goes, and for a queue group `RS+ $G foo q <weight>` at every
 * change of its member count; a leaf connection the same as `LS+`/`LS-`.
 *
 * Who is told what (as nats-server): a route is told of local and leaf
 * interest, never of other routes' (one hop); a leaf connection of local,
 * route and other leaf connections' interest, never of its own.
 *
 * Any I/O thread changes it (a SUB, an UNSUB, a close, a peer's RS+/LS+:
 * never a message), under one mutex; each reader reads its own queue of
 * changes from its own I/O thread. */
#ifndef ROUTER_INTEREST_H
#define ROUTER_INTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct interest;

enum interest_kind {
	INTEREST_ROUTE = 1,
	INTEREST_LEAF = 2,
};

/* One change, or one entry of a dump: @weight is the count the reader is to
 * be told (for a queue group, its members; 0 with @plus false: the last
 * went). @queue is NULL for a plain subscription. Strings are
 * NUL-terminated and valid during the callback. */
struct interest_ev {
	bool plus;
	uint32_t weight;
	const char *subject;
	const char *queue;
};

typedef void (*interest_fn)(void *arg, const struct interest_ev *ev);

/* A new empty set; @notify (may be NULL) is called with @arg, outside the
 * lock, after each change a reader is to hear of, to wake the readers. NULL
 * when out of memory. */
struct interest *interest_new(void (*notify)(void *arg), void *arg);
void interest_free(struct interest *in);

/* A subscription of a local client on @subject (in queue group @queue,
 * NULL for none) came or went. */
void interest_add(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen);
void interest_del(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen);
/* The same for the interest a route or leaf connection, reader @reader,
 * announced (@delta +1 or -1). */
void interest_change_from(struct interest *in, int reader, const char *subject, size_t slen,
                          const char *queue, size_t qlen, int delta);

/* A reader (a route or leaf connection of @kind) starts: @fn is called for
 * everything it is to know of now (the dump), and its number is returned
 * (-1 when out of memory or too many). From then on interest_read() gives
 * it the changes. */
int interest_reader_open(struct interest *in, enum interest_kind kind, interest_fn fn, void *arg);
/* The reader goes; the interest it announced goes with it (the others are
 * told). */
void interest_reader_close(struct interest *in, int reader);

/* Calls @fn for every change reader @reader has not seen; returns how many. */
uint32_t interest_read(struct interest *in, int reader, interest_fn fn, void *arg);

/* True when reader @reader has changes waiting (a relaxed look, no lock:
 * for the poll). */
bool interest_pending(struct interest *in, int reader);

/* Subjects and queue groups in the set (for tests). */
uint32_t interest_count(struct interest *in);

#endif /* ROUTER_INTEREST_H */
