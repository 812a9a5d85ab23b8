/* Accounts: separate subject spaces, as nats-server's accounts {} make them.
 *
 * The index knows no accounts. When any is configured, every subject that
 * enters it (a message's, a subscription's) starts with a token naming its
 * account, ACC_PREFIX_LEN bytes ("Ab." for account 65): a subscription to
 * ">" in account A is "Ab.>" in the index and matches nothing of any other
 * account, whatever its shard or wildcards. Subscribers never see the
 * token: deliveries are written from after it. Without accounts nothing is
 * prefixed and nothing is paid.
 *
 * Exports and imports become rules of the account whose publishes trigger
 * them: a stream import by B of A's "news.>" is a rule of A (a message
 * published in A on news.x is published again in B, on the imported
 * subject); a service import by B of A's "help.>" as "ask.>" is a rule of B
 * (a request published in B on ask.x is published again in A on help.x, its
 * reply subject replaced by a "_R_." subject whose answers go back to B:
 * struct acc_replies).
 *
 * Ownership: a table is immutable, one per generation of the reloadable
 * settings (struct live): a reload builds a new one in which every account
 * keeps its number (an account removed keeps its slot, marked gone), so
 * tokens in the index and accounts of connections stay valid. The reply
 * map is shared by the I/O threads under its mutex. */
#ifndef ROUTER_ACCOUNT_H
#define ROUTER_ACCOUNT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/map.h"

struct config;

#define ACC_GLOBAL     0 /* $G: users outside any account */
#define ACC_MAX        4096
#define ACC_PREFIX_LEN 3
#define ACC_REPLY_LEN  15 /* "_R_." and 11 characters */
/* An unanswered request through a service import is forgotten after this
 * (nats-server's default response threshold, 2 minutes). */
#define ACC_REPLY_TTL_NS (120ull * 1000u * 1000u * 1000u)

/* A publish in the rule's account on a subject matching @match is
 * published again in account @target on the subject @map gives. */
struct acc_rule {
	char *match;
	size_t match_len;
	char *map;    /* with the wildcards of @match in order; NULL: the same subject */
	char *prefix; /* "fromA." before the subject (a stream import's prefix), or NULL */
	uint16_t target;
	bool service; /* the reply is replaced, answers go back (struct acc_replies) */
};

struct config_account;

struct account {
	char *name;
	bool gone; /* no longer configured (a reload removed it): kept for its number */
	struct config_account *cfg; /* a copy of its exports and imports, for monitoring
	                               (NULL: $G, or gone) */
	char prefix[ACC_PREFIX_LEN + 1];
	struct acc_rule *rules;
	int nrules;
};

struct acc_table {
	struct account *acc; /* [0] is $G */
	int n;
	int system; /* the system account, -1: none */
};

/* The accounts of @c, or NULL when out of memory or more than ACC_MAX. The
 * accounts of @prev (NULL at start) keep their numbers, gone or not; $G is
 * 0; the new ones follow in @c's order. With no accounts ever configured:
 * a table of $G alone, whose subjects carry no prefix (acc_on() false). */
struct acc_table *acc_table_new(const struct config *c, const struct acc_table *prev);
void acc_table_free(struct acc_table *t);

/* True when subjects in the index carry their account's token (decided at
 * start: a reload may not turn accounts on or off). */
static inline bool acc_on(const struct acc_table *t)
{
	return t->n > 1;
}

/* The index of account @name, or -1. */
int acc_find(const struct acc_table *t, const char *name);
/* The same for a name of @len bytes, not terminated. */
int acc_find_n(const struct acc_table *t, const char *name, size_t len);

/* The digits of account tokens and reply ids: never '.', '*', '>' nor a
 * blank. */
#define ACC_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* The value (0-63) of digit @c of ACC_DIGITS, or -1. */
static inline int acc_digit_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* The account whose token starts the index key @key (acc_on() true). */
static inline unsigned acc_of_key(const char *key)
{
	int hi = acc_digit_value(key[0]), lo = acc_digit_value(key[1]);
	return hi >= 0 && lo >= 0 ? (unsigned)(hi * 64 + lo) : 0;
}

/* The subject a rule gives for @subj (which matches rule->match), written
 * to @out (capacity @cap). Returns its length, or 0 when it does not fit. */
size_t acc_rule_map(const struct acc_rule *r, const char *subj, size_t len, char *out, size_t cap);

/* Replies of service imports in flight: a "_R_." subject handed to the
 * exporting account's responder, and where its answer goes. */
struct acc_replies {
	pthread_mutex_t lock;
	struct map by_id;              /* id -> struct acc_reply */
	struct acc_reply *head, *tail; /* by age: the oldest expires first */
	uint64_t next;
	uint64_t key;        /* mixes ids so that they cannot be guessed */
	uint64_t ttl_ns;     /* an unanswered request is forgotten after this */
	uint64_t n, expired; /* waiting now; forgotten unanswered so far */
};

RB_MUST_CHECK int acc_replies_init(struct acc_replies *r, uint64_t ttl_ns);
void acc_replies_fini(struct acc_replies *r);

/* Remembers that an answer to the subject written to @out (ACC_REPLY_LEN
 * bytes, not terminated) goes to @reply in account @acc. Returns false when
 * out of memory. */
bool acc_reply_add(struct acc_replies *r, uint16_t acc, const char *reply, size_t len,
                   uint64_t now_ns, char *out);

/* The answer to @subj ("_R_." subject): copies the reply it stands for to
 * @out (capacity @cap), sets *@acc and *@len and forgets it (one answer per
 * request, as nats-server's singleton responses). False when unknown. */
bool acc_reply_take(struct acc_replies *r, const char *subj, size_t len, uint64_t now_ns,
                    uint16_t *acc, char *out, size_t cap, size_t *outlen);

#endif /* ROUTER_ACCOUNT_H */
