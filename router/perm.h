/* Permissions of a user, as nats-server reads them from
 *   permissions: { publish: ..., subscribe: ..., allow_responses: ... }
 * (and authorization { default_permissions: ... } for users without their
 * own): each direction is a subject, a list, or { allow, deny }; a
 * subscribe entry may name a queue ("jobs.* workers"). A direction left out
 * allows everything; an allow list allows only what it matches; deny is
 * checked after allow and wins; deny alone allows the rest.
 *
 * Publish checks a literal subject against patterns. Subscribe checks the
 * subscription's pattern: allowed when an allow entry covers every subject
 * it can match (allow `_INBOX.>` takes `SUB _INBOX.*`, refuses `SUB >`), and
 * refused when a deny entry does; a subscription that only overlaps a deny
 * entry is taken, and the messages the deny entry matches are not delivered
 * to it (perm_deliver_ok).
 *
 * Immutable once built; each connection holds its own copy (a reload frees
 * the settings it came from). No allocation and no regex when checking. */
#ifndef ROUTER_PERM_H
#define ROUTER_PERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct config_ctx;
struct config_in;

/* One pattern, with a queue name for subscribe entries (NULL: any queue). */
struct perm_entry {
	char *subject;
	char *queue;
};

struct perm_list {
	struct perm_entry *e;
	uint32_t n;
};

struct perm_dir {
	bool set;       /* false: the direction is not restricted */
	bool has_allow; /* an allow list was given (else everything is allowed) */
	struct perm_list allow;
	struct perm_list deny;
};

struct perms {
	struct perm_dir pub;
	struct perm_dir sub;
	/* allow_responses: replies to the requests this user received, at most
	 * @resp_max per request within @resp_expires_ns (0: off) */
	uint32_t resp_max;
	uint64_t resp_expires_ns;
};

/* Reads a permissions map { publish, subscribe, allow_responses } from the
 * file into *@out (allocated). Reports problems through @x; returns 0 or
 * -EINVAL. */
RB_MUST_CHECK int perm_read(struct config_ctx *x, const struct config_in *in, struct perms **out);

/* A deep copy (NULL for NULL, or when out of memory: *@ok false). */
struct perms *perm_copy(const struct perms *p, bool *ok);
void perm_free(struct perms *p);

/* May publish to the literal subject @subj? */
bool perm_can_publish(const struct perms *p, const char *subj, size_t len);

/* May subscribe to pattern @subj in @queue (NULL/0: none)? *@filter is set
 * when the subscription is taken but overlaps a deny entry (its deliveries
 * must pass perm_deliver_ok). */
bool perm_can_subscribe(const struct perms *p, const char *subj, size_t len, const char *queue,
                        size_t qlen, bool *filter);

/* For a filtered subscription: may the message on literal @subj reach it? */
bool perm_deliver_ok(const struct perms *p, const char *subj, size_t len);

/* True when pattern @pat matches every subject pattern @sub can match
 * (a subscription subset test, token by token). */
bool perm_pattern_covers(const char *pat, size_t plen, const char *sub, size_t slen);

/* True when patterns @a and @b can match a common subject. */
bool perm_patterns_overlap(const char *a, size_t alen, const char *b, size_t blen);

#endif /* ROUTER_PERM_H */
