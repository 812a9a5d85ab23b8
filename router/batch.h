/* The two kinds of batch that cross threads through the rings.
 *
 * An mbatch carries operations from one I/O thread to one shard: messages
 * (subject, reply, headers and payload copied once into the batch's arena)
 * and subscription changes. A dbatch carries results back to the I/O thread
 * that sent the operations (deliveries pointing into mbatches, which they
 * hold references to; unsubscribe acknowledgements; no-responders notices),
 * and from one I/O thread to another (deliveries it forwards to the
 * subscribers it does not own; publisher pauses and resumes).
 *
 * Ownership: a batch belongs to its producer until pushed into a ring, then
 * to whoever pops it. An mbatch is also shared read-only by the dbatches that
 * reference it: mbatch_unref() frees it with the last reference. */
#ifndef ROUTER_BATCH_H
#define ROUTER_BATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "io/loop/loop.h"

enum mentry_kind {
	MENTRY_MSG = 1, /* PUB / HPUB */
	MENTRY_SUB,     /* add a subscription */
	MENTRY_UNSUB,   /* remove a subscription */
	MENTRY_CLOSE,   /* remove every subscription of a connection */
	MENTRY_KICK,    /* hand waiting requests to members with room (router/shard_request.c) */
};

enum mentry_flag {
	MENTRY_F_NO_ECHO = 1 << 0,       /* do not deliver to the publishing connection */
	MENTRY_F_NO_RESPONDERS = 1 << 1, /* publisher wants a 503 when nobody receives */
	MENTRY_F_RUN_END = 1 << 2,       /* last entry of a run (see router/rlog.h) */
	MENTRY_F_REMOTE = 1 << 3,        /* SUB: interest of a route (router/route.h) */
	MENTRY_F_ROUTED = 1 << 4,        /* MSG: came from a route: to local subscribers only,
	                                  * and to one member of each queue group it lists */
	MENTRY_F_LEAF = 1 << 5,          /* SUB (with F_REMOTE): a leaf connection's interest */
	MENTRY_F_FROM_LEAF = 1 << 6,     /* MSG: came from a leaf connection (not back to it) */
	MENTRY_F_LOCAL = 1 << 7,         /* MSG: to this server's clients only (a stream
	                                  * import's copy: each server makes its own) */
};

/* One operation in an mbatch. Strings live in the batch arena at @off:
 * MSG: subject, reply, payload (headers first), and for a routed message
 * the queue groups it is for (@sid_len bytes, names separated by blanks);
 * a MSG's payload is at @payload: in the arena after the reply, or (lent,
 * and then without queue groups) in a receive buffer the batch holds;
 * SUB: subject, queue, sid;
 * UNSUB: sid. A queue SUB carries its service reference (router/service.h)
 * in @len (high half) and @hdr_len (low half). */
struct mentry {
	uint64_t conn;       /* connection id (see client_id_*) */
	const char *payload; /* MSG: see above */
	uint32_t off;
	uint32_t len; /* MSG: payload bytes (headers included) */
	uint32_t hdr_len;
	uint32_t aux; /* SUB, UNSUB: the connection's subscription number */
	uint16_t subject_len;
	uint16_t reply_len; /* SUB: queue length */
	uint16_t sid_len;
	uint8_t kind;
	uint8_t flags;
};

/* A block of bytes that batches may point into and hold, freed by whoever
 * drops the last reference (any thread): the input a paused connection read
 * past its pause (router/client_stash.c), whose payloads go to the batches
 * where they are instead of being copied again. Holders read only the bytes
 * they point to, which are never written again; the owner may append past
 * them. Counted in core/memacct.h as @kind while it lives. */
struct mblock {
	atomic_uint refs;
	uint32_t cap;
	uint32_t len;        /* bytes written: its owner's, as is @next */
	uint8_t kind;        /* enum memacct_kind */
	struct mblock *next; /* the owner's chain (a stash's blocks) */
	char data[];
};

/* A block of @cap bytes, one reference held by the caller; NULL when out of
 * memory. */
struct mblock *mblock_new(uint32_t cap, uint8_t kind);

static inline bool mblock_shared(const struct mblock *m)
{
	return atomic_load_explicit(&m->refs, memory_order_acquire) > 1;
}

/* Drops one reference; the last frees the block. NULL is a no-op. */
void mblock_unref(struct mblock *m);

/* Owner: see the header comment. Fields are read by the shard and, through
 * deliveries, by I/O threads; only @refs changes after the push. */
struct mbatch {
	atomic_uint refs;
	struct mbatch *next; /* producer's list of batches waiting for ring room */
	uint32_t n;          /* entries used */
	uint32_t cap;        /* entries allocated */
	uint32_t used;       /* arena bytes used */
	uint32_t size;       /* arena bytes allocated */
	uint64_t bytes;      /* payload bytes of MSG entries (admission) */
	uint32_t nmsgs;      /* MSG entries (admission) */
	uint32_t alloc;      /* bytes allocated (core/memacct.h, MEMACCT_BATCH) */
	uint16_t src;        /* the I/O thread that filled it: results go back there */
	struct mentry *e;    /* entries, inside the same allocation */
	char *arena;
	/* Receive buffers its payloads were left in (io_loop_lend()), one hold
	 * on each, dropped with the batch. */
	struct io_lendpool *lend_pool;
	uint32_t nlend;
	uint32_t lend_bytes; /* what it holds outside itself, whole (pinned output counts it) */
	uint32_t lend[16];
	/* Blocks its payloads were assembled in (the parser's carry, taken with
	 * proto_parser_take_carry()), freed with the batch. */
	uint32_t nown;
	char *own[8];
	/* Shared blocks its payloads stayed in (a paused connection's stash),
	 * one reference on each, dropped with the batch. */
	uint32_t nheld;
	struct mblock *held[8];
};

#define MBATCH_ENTRIES    512u
#define MBATCH_ARENA_SIZE (64u * 1024u)
#define MBATCH_LEND_NONE  IO_LEND_NONE
#define MBATCH_LEND_OWN   (IO_LEND_NONE - 1u) /* not a buffer: a block (mbatch_own()) */
#define MBATCH_LEND_HELD  (IO_LEND_NONE - 2u) /* not a buffer: a shared block (mbatch_hold()) */

/* Holds receive buffer @bid of @l (io_loop_lendable() returned it) for
 * an entry of @b whose payload stays there (mbatch_can_lend() was true);
 * once for a run of entries in the same buffer. */
static inline void mbatch_lend(struct mbatch *b, struct io_loop *l, uint32_t bid)
{
	if (b->nlend && b->lend[b->nlend - 1] == bid)
		return;
	uint32_t size;
	b->lend_pool = io_loop_lend(l, bid, &size);
	b->lend[b->nlend++] = bid;
	b->lend_bytes += size;
}

/* True when the batch can take an entry whose payload stays in receive
 * buffer @bid (MBATCH_LEND_NONE: an entry without one), or in a block of its
 * own (@bid MBATCH_LEND_OWN). */
static inline bool mbatch_can_lend(const struct mbatch *b, uint32_t bid)
{
	if (bid == MBATCH_LEND_OWN)
		return b->nown < RB_ARRAY_LEN(b->own);
	if (bid == MBATCH_LEND_HELD)
		return b->nheld < RB_ARRAY_LEN(b->held);
	return bid == MBATCH_LEND_NONE || (b->nlend && b->lend[b->nlend - 1] == bid) ||
	       b->nlend < RB_ARRAY_LEN(b->lend);
}

/* Gives @b block @blk of @size bytes (mbatch_can_lend(b, MBATCH_LEND_OWN)
 * was true): freed with the batch. */
static inline void mbatch_own(struct mbatch *b, char *blk, uint32_t size)
{
	b->own[b->nown++] = blk;
	b->lend_bytes += size;
}

/* Holds block @m for an entry of @b whose payload stays there
 * (mbatch_can_lend(b, MBATCH_LEND_HELD) was true); once for a run of
 * entries in the same block. The whole block counts in what the batch pins
 * (an output that holds the batch holds all of it; CLIENT_PIN_MAX). */
static inline void mbatch_hold(struct mbatch *b, struct mblock *m)
{
	if (b->nheld && b->held[b->nheld - 1] == m)
		return;
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	b->held[b->nheld++] = m;
	b->lend_bytes += m->cap;
}

/* A new empty batch with room for @entries entries and @arena bytes, one
 * reference held by the caller. NULL when out of memory. */
struct mbatch *mbatch_new(uint32_t entries, uint32_t arena);

/* Drops one reference; the last frees the batch. NULL is a no-op. */
void mbatch_unref(struct mbatch *b);

/* Adds @n references (before handing the batch to other threads). */
static inline void mbatch_ref(struct mbatch *b, unsigned n)
{
	atomic_fetch_add_explicit(&b->refs, n, memory_order_relaxed);
}

/* True when the batch has room for one more entry with @bytes of strings. */
static inline bool mbatch_fits(const struct mbatch *b, size_t bytes)
{
	return b->n < b->cap && b->size - b->used >= bytes;
}

/* Appends an entry and reserves @bytes of arena for it; returns the entry
 * (its @off set, the rest zero) or NULL when it does not fit. */
struct mentry *mbatch_add(struct mbatch *b, enum mentry_kind kind, size_t bytes);

static inline const char *mentry_str(const struct mbatch *b, const struct mentry *e)
{
	return b->arena + e->off;
}

/* A MSG's subject as its subscribers see it: after the account token of
 * @pre bytes the index keys it with (router/account.h; 0 without
 * accounts). Its length is e->subject_len - @pre. */
static inline const char *mentry_subject(const struct mbatch *b, const struct mentry *e,
                                         unsigned pre)
{
	return b->arena + e->off + pre;
}

enum delivery_kind {
	DELIVERY_MSG = 1,       /* send entry @e of @b to subscription @subid */
	DELIVERY_NONE,          /* nothing: carries DELIVERY_F_END for a run without results */
	DELIVERY_NO_RESPONDERS, /* nobody received @e (or admission refused it): 503 to its reply */
	DELIVERY_PAUSE,         /* a subscriber's queue is full: stop reading this publisher */
	DELIVERY_RESUME,        /* that subscriber drained: the pause above is over */
	DELIVERY_UNSUBBED,      /* a shard applied the UNSUB of subscription @subid */
};

enum delivery_flag {
	DELIVERY_F_END = 1 << 0,     /* the last result of a run of entries (router/rlog.h) */
	DELIVERY_F_TRACKED = 1 << 1, /* a request counted in flight at its member (service.h) */
	/* To a route: one RMSG carries the message and every queue group the
	 * route was picked for. The first delivery says how many follow it
	 * (DELIVERY_MORE_SHIFT), each following one (F_CONT) adds a group; they
	 * are kept in one dbatch. */
	DELIVERY_F_CONT = 1 << 2,
	/* The message has other deliveries besides this one (subscribers,
	 * routes): from 1 KiB its payload goes by reference, one copy for all
	 * (router/client_int.h, CLIENT_REF_MIN_SHARED). */
	DELIVERY_F_SHARED = 1 << 3,
};

#define DELIVERY_MORE_SHIFT 8 /* flags >> this: deliveries that continue this one */

struct delivery {
	uint64_t conn;
	const struct mbatch *b;
	const struct mentry *e;
	uint32_t subid;
	uint16_t kind;
	uint16_t flags;
};

/* Owner: its producer (a shard's claim holder, or an I/O thread forwarding)
 * until pushed; then the I/O thread that pops it. */
struct dbatch {
	struct dbatch *next; /* in a runner's list of batches waiting for ring room */
	uint32_t n;
	uint32_t cap;
	uint32_t nheld;
	struct mbatch *held[32]; /* one reference held on each */
	struct delivery d[];
};

#define DBATCH_DELIVERIES 1024u
#define DBATCH_BYTES      (sizeof(struct dbatch) + sizeof(struct delivery) * DBATCH_DELIVERIES)

struct dbatch *dbatch_new(void);

/* Releases the references held and frees the batch. NULL is a no-op. */
void dbatch_free(struct dbatch *db);

/* True when @n more deliveries referencing @b can be added. */
static inline bool dbatch_has_room_n(const struct dbatch *db, const struct mbatch *b, uint32_t n)
{
	if (db->n + n > db->cap)
		return false;
	if (db->nheld > 0 && db->held[db->nheld - 1] == b)
		return true;
	return db->nheld < RB_ARRAY_LEN(db->held);
}

/* True when one more delivery referencing @b can be added. */
static inline bool dbatch_has_room(const struct dbatch *db, const struct mbatch *b)
{
	if (db->n >= db->cap)
		return false;
	if (db->nheld > 0 && db->held[db->nheld - 1] == b)
		return true;
	return db->nheld < RB_ARRAY_LEN(db->held);
}

/* Appends a delivery that points into @b (NULL: none) and returns it for the
 * caller to fill in place (the caller checked dbatch_has_room()); takes a
 * reference on @b the first time this batch points into it. */
static inline struct delivery *dbatch_slot(struct dbatch *db, const struct mbatch *b)
{
	if (b && (db->nheld == 0 || db->held[db->nheld - 1] != b)) {
		mbatch_ref((struct mbatch *)b, 1);
		db->held[db->nheld++] = (struct mbatch *)b;
	}
	return &db->d[db->n++];
}

/* Appends a copy of @d (see dbatch_slot()). */
static inline void dbatch_add(struct dbatch *db, const struct delivery *d)
{
	*dbatch_slot(db, d->b) = *d;
}

#endif /* ROUTER_BATCH_H */
