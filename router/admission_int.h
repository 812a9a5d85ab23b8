/* What router/admission.c (the state built from the settings) and
 * router/admission_conf.c (the settings: its table, flags and file block)
 * share. Private to those two files. */
#ifndef ROUTER_ADMISSION_INT_H
#define ROUTER_ADMISSION_INT_H

#include "router/admission.h"

#define ADM_MAX_POLICIES 64
#define ADM_MAX_RULES    256
#define ADM_MAX_SUBJECTS 16

/* A pattern and the policy it selects. */
struct adm_rule {
	char *pattern;
	int policy;
};

/* One policy being configured: which fields were set, to inherit the rest
 * from the defaults. */
struct adm_spec {
	struct adm_policy p;
	unsigned set; /* ADM_SET_* */
	char *subjects[ADM_MAX_SUBJECTS];
	int nsubjects;
};

enum {
	ADM_SET_SHARD = 1 << 0,
	ADM_SET_SUB = 1 << 1,
	ADM_SET_FALLBACK = 1 << 2,
	ADM_SET_HIGH = 1 << 3,
	ADM_SET_LOW = 1 << 4,
	ADM_SET_DEFER = 1 << 5,
	ADM_SET_BUSY = 1 << 6,
	ADM_SET_ADVISORY = 1 << 7,
	ADM_SET_INFLIGHT = 1 << 8,
	ADM_SET_QWAIT = 1 << 9,
};

/* Owner: the thread reading the settings; read-only once admission_new()
 * has it. */
struct adm_config {
	struct adm_spec specs[ADM_MAX_POLICIES]; /* [0] default */
	int nspecs;
	uint64_t shard_high, shard_low, shard_high_msgs, shard_low_msgs;
	uint64_t process_high, process_low;
	bool request_aware;
	uint64_t request_expiry_ns;
};

#endif /* ROUTER_ADMISSION_INT_H */
