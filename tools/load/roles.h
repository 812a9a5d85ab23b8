/* The subcommands' role modules (pubsub.c for pubsub/pub/sub, reqrep.c):
 * what each connection does, and the figures only a role module can tell
 * (expected deliveries, per-receiver loss). */
#ifndef TOOLS_LOAD_ROLES_H
#define TOOLS_LOAD_ROLES_H

#include <stdint.h>

#include "core/compiler.h"
#include "tools/load/loop.h"
#include "tools/load/report.h"
#include "tools/load/run.h"

#define ROLES_UNKNOWN UINT64_MAX

/* Called by run.c on the main thread, in this order: prepare (before the
 * threads exist), attach (each connection, before the threads start),
 * expected (after every sender is done, or any time for progress), collect
 * (after the threads stopped), release. */
struct load_mode_ops {
	/* Allocates run->roles. Returns 0 or -errno (message printed). */
	int (*prepare)(struct load_run *run);
	/* The number of connections of @role. */
	uint32_t (*count)(const struct load_run *run, enum load_role role);
	/* Gives @c its role state. Returns 0 or -ENOMEM. */
	int (*attach)(struct load_run *run, struct load_conn *c, enum load_role role,
	              uint32_t index);
	/* Deliveries expected in all once the senders are done (ROLES_UNKNOWN
	 * when this process cannot know). */
	uint64_t (*expected)(const struct load_run *run);
	/* Fills the receivers' part of @res. */
	void (*collect)(const struct load_run *run, struct load_result *res);
	void (*release)(struct load_run *run);
};

extern const struct load_mode_ops pubsub_mode_ops; /* pubsub, pub, sub */
extern const struct load_mode_ops reqrep_mode_ops;

#endif /* TOOLS_LOAD_ROLES_H */
