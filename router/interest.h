/* The local interest a node announces to its routes: how many subscriptions
 * of this server's own clients there are on each subject (and queue group),
 * and the changes of that set as a log the route connections read. NATS
 * keeps one such set per account: a route gets `RS+ $G foo` when the first
 * local subscription on `foo` appears, `RS- $G foo` when the last goes, and
 * for a queue group `RS+ $G foo q <weight>` at every change of its member
 * count (docs/CLUSTER.md).
 *
 * Any I/O thread changes it (a SUB, an UNSUB, a close: never a message), under
 * one mutex; route connections read the log from their own I/O thread. */
#ifndef ROUTER_INTEREST_H
#define ROUTER_INTEREST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct interest;

/* One change, or one entry of a dump: @weight is the queue group's member
 * count (0 with @plus false: the last went). @queue is NULL for a plain
 * subscription. Strings are NUL-terminated and valid during the callback. */
struct interest_ev {
	bool plus;
	uint32_t weight;
	const char *subject;
	const char *queue;
};

typedef void (*interest_fn)(void *arg, const struct interest_ev *ev);

/* A new empty set; @notify (may be NULL) is called with @arg, outside the
 * lock, after each change, to wake the readers. NULL when out of memory. */
struct interest *interest_new(void (*notify)(void *arg), void *arg);
void interest_free(struct interest *in);

/* A local subscription on @subject (in queue group @queue, NULL for none)
 * came or went. */
void interest_add(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen);
void interest_del(struct interest *in, const char *subject, size_t slen, const char *queue,
                  size_t qlen);

/* A reader (a route connection) starts: @fn is called for every subject and
 * queue group of the set (the dump), and the reader's number is returned
 * (-1 when out of memory). From then on interest_read() gives it the
 * changes made after the dump. */
int interest_reader_open(struct interest *in, interest_fn fn, void *arg);
void interest_reader_close(struct interest *in, int reader);

/* Calls @fn for every change reader @reader has not seen; returns how many. */
uint32_t interest_read(struct interest *in, int reader, interest_fn fn, void *arg);

/* True when the log has changes reader @reader has not seen (a relaxed
 * look, no lock: for the poll). */
bool interest_pending(struct interest *in, int reader);

/* Subjects and queue groups in the set (for /routez and tests). */
uint32_t interest_count(struct interest *in);

#endif /* ROUTER_INTEREST_H */
