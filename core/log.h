/* Process-wide logging: levels, timestamps, one line per event, written with
 * a single write(2) so lines from different threads never interleave. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE, /* protocol trace (-V): every operation in and out */
};

/* Sets the most verbose level printed. Default LOG_INFO. Thread-safe (atomic). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Starts each line with its UTC time (true, the default) or not (nats-server's
 * logtime: false). Thread-safe (atomic). */
void log_set_time(bool on);

/* Sends output to @path (appended, created 0640), or stderr when NULL.
 * Returns 0 or -errno; on error the previous destination stays. Call before
 * threads start or from the thread that handles SIGUSR1 (reopen). */
RB_MUST_CHECK int log_open(const char *path);

/* The level in force (log_set_level()): read through log_enabled(). */
extern atomic_int log_level_now;

/* True when @level would be printed; use to skip building costly messages.
 * Inline: the delivery path asks it per message for the trace (-V). */
static inline bool log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&log_level_now, memory_order_relaxed);
}

/* Prints one line "<time> [LVL] <message>\n" (no "<time> " when
 * log_set_time(false)). */
void log_msg(enum log_level level, const char *fmt, ...) RB_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __VA_ARGS__)

/* A token bucket for events a client could flood (bad input, drops):
 * log_ratelimit_ok() allows @burst events, then one per @interval_ns.
 * Owner: the thread that uses it (not thread-safe). */
struct log_ratelimit {
	uint64_t interval_ns;
	uint64_t last_ns;
	uint32_t burst;
	uint32_t tokens;
	uint64_t suppressed; /* events refused since the last allowed one */
};

void log_ratelimit_init(struct log_ratelimit *rl, uint64_t interval_ns, uint32_t burst);
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns);

#endif /* CORE_LOG_H */
