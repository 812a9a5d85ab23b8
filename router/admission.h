/* Admission control: high- and low-water marks at the shard inbound queues,
 * each subscriber's outbound queue and the whole process, and the policies
 * that act when a mark is crossed (defer, drop-new, drop-old, disconnect),
 * chosen per subject pattern (most specific wins) with a server-wide default.
 *
 * Policies are read-only after start; their counters are relaxed atomics
 * written only on the slow path (a mark is crossed), never per message while
 * queues are below their marks. */
#ifndef ROUTER_ADMISSION_H
#define ROUTER_ADMISSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct stats_admission;

enum adm_action {
	ADM_DEFER = 0,  /* stop reading the publishers that feed the queue */
	ADM_DROP_NEW,   /* drop the message that does not fit */
	ADM_DROP_OLD,   /* drop the oldest queued messages to make room */
	ADM_DISCONNECT, /* close the subscriber (nats-server's slow consumer) */
};

/* Relaxed atomics: any thread adds, monitoring reads. */
struct adm_counters {
	atomic_uint_fast64_t admitted; /* admitted while a mark was crossed (deferred included) */
	atomic_uint_fast64_t deferred; /* publisher pauses */
	atomic_uint_fast64_t deferred_ns;
	atomic_uint_fast64_t dropped_new;
	atomic_uint_fast64_t dropped_old;
	atomic_uint_fast64_t busy_replies;
	atomic_uint_fast64_t disconnects;
	atomic_uint_fast64_t high_crossings;
	atomic_uint_fast64_t stalls; /* subscribers that stopped holding publishers: no progress */
	atomic_uint_fast64_t no_progress; /* subscribers closed for no progress in write_deadline */
	atomic_uint_fast64_t advisory_last_ns;
};

/* One policy. Read-only after start except @c. */
struct adm_policy {
	char name[48];         /* "default" or the name in policies { NAME { } } */
	enum adm_action shard; /* shard queue over its mark: defer | drop-new */
	enum adm_action sub;   /* subscriber queue over its mark */
	/* sub = defer, once the subscriber's queue reaches max_pending or it made
	 * no progress for write_deadline: drop-new | drop-old | disconnect */
	enum adm_action fallback;
	uint64_t sub_high; /* bytes queued to one subscriber */
	uint64_t sub_low;
	/* sub = defer: a subscriber that made no progress (its socket took no
	 * byte) this long stops holding publishers back */
	uint64_t defer_max_ns;
	/* Request-aware queue groups (router/service.h): requests one member
	 * holds in flight at the most (0: no limit), and how long a request
	 * may wait at the router for a member with room (0: busy at once). */
	uint64_t max_inflight;
	uint64_t queue_wait_ns;
	bool busy;     /* answer a dropped request with a 503 status */
	bool advisory; /* publish $SYS.ADMISSION.<name> on high crossings */
	struct adm_counters c;
};

/* Settings being read (config file, flags) before admission_new(). */
struct adm_config;
struct config_ctx;
struct config_in;
struct conf_value;

struct adm_config *adm_config_new(void);
void adm_config_free(struct adm_config *cfg);

/* How a key of the table is read. */
enum adm_type {
	ADM_T_SUB_ACTION,   /* defer | drop-new | drop-old | disconnect */
	ADM_T_SHARD_ACTION, /* defer | drop-new */
	ADM_T_FALLBACK,     /* drop-new | drop-old | disconnect */
	ADM_T_SIZE,         /* bytes (or a count), a size */
	ADM_T_MS,           /* a duration, stored in ns */
	ADM_T_BOOL,
	ADM_T_SUBJECTS, /* a policy's patterns */
};

/* One key of admission's settings (router/admission_conf.c): in
 * admission { } for the defaults, in policies { NAME { } } for a policy
 * (@per_policy), and as a flag for the defaults (@flag). */
struct adm_row {
	const char *key;
	const char *flag; /* ringbus's flag, or NULL */
	const char *arg;  /* the flag's argument in --help; NULL for a bool */
	enum adm_type type;
	bool per_policy;  /* a policy may set it (else admission { } only) */
	size_t off;       /* in struct adm_policy (per_policy) or struct adm_config */
	unsigned set_bit; /* which of the policy's fields it sets */
	uint64_t min;     /* sizes, durations (ms) */
	bool brief;       /* its flag is in the short --help (else --help_all only) */
	const char *help;
};

/* The table, and lookups over it (NULL: none). */
const struct adm_row *adm_rows(size_t *n);
const struct adm_row *adm_row_by_key(const char *key);
const struct adm_row *adm_row_by_flag(const char *flag);
/* True when its flag takes a value (everything but a boolean). */
bool adm_row_takes_value(const struct adm_row *r);

/* Applies @in to @row of the policy @policy (NULL: the defaults). Returns 0,
 * or -EINVAL after reporting through @x (router/conf/value.h). */
RB_MUST_CHECK int adm_config_apply(struct adm_config *cfg, const char *policy,
                                   const struct adm_row *row, struct config_ctx *x,
                                   const struct config_in *in);

/* Applies the file's admission { } map @map: the defaults' keys and
 * policies { NAME { subjects: [...], ... } }. Returns 0 or -EINVAL after
 * reporting each problem where it is written. */
RB_MUST_CHECK int adm_config_map(struct adm_config *cfg, struct config_ctx *x,
                                 const struct conf_value *map);

/* The whole admission state. Read-only after start except counters. */
struct admission {
	struct adm_policy *policies; /* [0] is the default */
	int npolicies;
	struct adm_rule *rules; /* (pattern, policy) most specific first */
	int nrules;
	uint64_t min_sub_high; /* smallest subscriber mark of any policy */
	uint64_t shard_high;   /* bytes queued to one shard */
	uint64_t shard_low;
	uint64_t shard_high_msgs;
	uint64_t shard_low_msgs;
	uint64_t process_high; /* bytes held in message batches, whole process */
	uint64_t process_low;
	bool request_aware;          /* queue groups pick the least busy member for requests */
	uint64_t request_expiry_ns;  /* a request without a reply this long is expired */
	struct adm_counters shard_c; /* process and shard level decisions without a policy */
	atomic_uint_fast64_t process_crossings;
};

/* Builds the admission state from @cfg, checking it. Each problem goes to
 * @report, one line without its newline (NULL: printed to stderr). Returns 0
 * and *@out, or -EINVAL / -ENOMEM. */
RB_MUST_CHECK int admission_new(const struct adm_config *cfg, void (*report)(const char *problem),
                                struct admission **out);
void admission_free(struct admission *a);

/* The policy named @name, else the default (policies[0]). */
struct adm_policy *admission_policy_by_name(const struct admission *a, const char *name);

/* The policy for the literal subject @subj: the most specific pattern that
 * matches, else the default. Not for the fast path: call it only when a mark
 * is crossed. */
struct adm_policy *admission_lookup(const struct admission *a, const char *subj, size_t len);

/* Formats the advisory published on $SYS.ADMISSION.<policy> into @buf; the
 * subject into @subj. Returns the payload length (0: nothing to send, rate
 * limited to one a second per policy). */
size_t admission_advisory(struct adm_policy *p, const char *queue, int64_t id, uint64_t bytes,
                          uint64_t high, uint64_t now_ns, char *subj, size_t subj_cap, char *buf,
                          size_t cap);

/* Fills an array of per-policy counters for monitoring (caller frees). */
void admission_stats(const struct admission *a, struct stats_admission **out, int *n);

static inline void adm_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

const char *adm_action_name(enum adm_action a);

/* Logs the policies at info level. */
void admission_log(const struct admission *a);

#endif /* ROUTER_ADMISSION_H */
