/* The subscription index of one shard: literal subjects in a hash table,
 * wildcard subjects in a token trie, queue groups with a fair pick, per-owner
 * lists for removal, and a match-result cache invalidated by a generation
 * counter.
 *
 * Owner: one shard worker. No locks: only the owning thread calls these. */
#ifndef ROUTER_INDEX_SUBLIST_H
#define ROUTER_INDEX_SUBLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct sublist;

/* One subscription as the index stores it. The index owns the entry and its
 * strings; pointers stay valid until the entry is removed. Read-only to
 * callers. */
struct sublist_sub {
	uint64_t owner;  /* opaque id of the subscribing connection */
	void *data;      /* caller's, given at insert (e.g. the connection handle) */
	const char *sid; /* NUL-terminated copies */
	const char *subject;
	const char *queue; /* NULL for a plain subscription */
	uint32_t sid_len;
	uint32_t subject_len;
	uint32_t queue_len;
	uint64_t load; /* caller's: 0 at insert (the router keeps a service reference here) */
};

/* The members of one queue group that match a subject. */
struct sublist_qgroup {
	struct sublist_sub **members;
	uint32_t n;
	uint32_t next; /* private: round-robin cursor for sublist_pick() */
	/* private: the cursor kept in the index's own group object, so that the
	 * rotation survives new matches of the subject; next mirrors it. */
	uint32_t *home;
};

/* Everything that matches one subject: plain subscriptions, and queue groups
 * of which exactly one member should receive each message. Owned by the index;
 * valid until the next insert/remove/match call on the same sublist. The
 * arrays may be the index's own: read-only (only sublist_pick() writes a
 * group). An empty array may be NULL. */
struct sublist_result {
	struct sublist_sub **plain;
	uint32_t nplain;
	struct sublist_qgroup *groups;
	uint32_t ngroups;
};

struct sublist_stats {
	uint64_t subs; /* current subscriptions */
	uint64_t inserts;
	uint64_t removes;
	uint64_t matches;
	uint64_t cache_hits;
	uint64_t cache_entries;
};

/* Returns a new empty index, or NULL when out of memory. */
struct sublist *sublist_new(void);
/* Frees the index and every entry. NULL is a no-op. */
void sublist_free(struct sublist *sl);

/* Adds subscription @sid of @owner on the valid subject @subject, in @queue
 * when non-NULL (lengths given; strings are copied). A duplicate (@owner,
 * @sid) is ignored and returns -EEXIST. Returns 0, -EEXIST or -ENOMEM, or
 * -EINVAL for an invalid subject, an empty queue name or a length over
 * UINT32_MAX (nothing added). */
RB_MUST_CHECK int sublist_insert(struct sublist *sl, uint64_t owner, const char *sid,
                                 size_t sid_len, const char *subject, size_t subject_len,
                                 const char *queue, size_t queue_len, void *data);

/* The entry for (@owner, @sid), or NULL. Borrows @sid; the entry stays owned
 * by the index and valid until it is removed. */
struct sublist_sub *sublist_find(struct sublist *sl, uint64_t owner, const char *sid,
                                 size_t sid_len);

/* Removes (@owner, @sid). Returns 0 or -ENOENT. */
int sublist_remove(struct sublist *sl, uint64_t owner, const char *sid, size_t sid_len);

/* Removes every subscription of @owner, in time proportional to their number.
 * Returns how many were removed. */
size_t sublist_remove_owner(struct sublist *sl, uint64_t owner);

/* Removes at most @max subscriptions of @owner (the most recent first), so
 * that a large removal can be spread over several calls. Returns how many are
 * left. */
size_t sublist_remove_owner_max(struct sublist *sl, uint64_t owner, size_t max);

/* Matches the literal subject @subj/@len (borrowed for the call). Never NULL
 * except when out of memory. The result may come from the cache. A subject with an empty token
 * matches nothing (as in nats-server). A cache hit does not allocate. */
const struct sublist_result *sublist_match(struct sublist *sl, const char *subj, size_t len);

/* Picks the member of @g that receives the next message: fair over time
 * (round robin from a random start, kept across matches of the subject while
 * the group exists). @g must have n > 0 and come from the current result. */
struct sublist_sub *sublist_pick(struct sublist_qgroup *g);

/* A member's cost for sublist_pick_least(): SUBLIST_SKIP passes it over. */
#define SUBLIST_SKIP UINT32_MAX
typedef uint32_t (*sublist_cost_fn)(void *ctx, const struct sublist_sub *m);

/* Picks the member of @g with the least @cost, the first from the group's
 * round-robin cursor among equals (so equals take turns), and moves the
 * cursor past it. NULL when every member costs SUBLIST_SKIP. */
struct sublist_sub *sublist_pick_least(struct sublist_qgroup *g, sublist_cost_fn cost, void *ctx);

/* Copies the index's counters into @out (caller's storage). */
void sublist_get_stats(const struct sublist *sl, struct sublist_stats *out);

#endif /* ROUTER_INDEX_SUBLIST_H */
