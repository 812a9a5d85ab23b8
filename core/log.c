/* Logging: formats a whole line in a stack buffer, then one write(2). */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

atomic_int log_level_now = LOG_INFO;
static atomic_int log_fd = STDERR_FILENO;
static atomic_bool log_time = true;

static const char *const log_names[] = {"ERR", "WRN", "INF", "DBG", "TRC"};

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level_now, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&log_level_now, memory_order_relaxed);
}

void log_set_time(bool on)
{
	atomic_store_explicit(&log_time, on, memory_order_relaxed);
}

int log_open(const char *path)
{
	int fd = STDERR_FILENO;

	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd < 0)
			return -errno;
	}
	int old = atomic_exchange(&log_fd, fd);
	if (old != STDERR_FILENO && old != fd)
		close(old);
	return 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;

	char line[2048];
	size_t n = 0;
	int k;
	if (atomic_load_explicit(&log_time, memory_order_relaxed)) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		k = snprintf(line + n, sizeof(line) - n, ".%06ldZ ", ts.tv_nsec / 1000);
		if (k > 0)
			n += (size_t)k;
	}
	k = snprintf(line + n, sizeof(line) - n, "[%s] ", log_names[level]);
	if (k > 0)
		n += (size_t)k;

	va_list ap;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2;
	line[n++] = '\n';

	ssize_t w = write(atomic_load(&log_fd), line, n);
	(void)w; /* nowhere to report a failed log write */
}

void log_ratelimit_init(struct log_ratelimit *rl, uint64_t interval_ns, uint32_t burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->interval_ns = interval_ns;
	rl->burst = burst;
	rl->tokens = burst;
}

bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns)
{
	if (rl->interval_ns && now_ns - rl->last_ns >= rl->interval_ns) {
		uint64_t refill = (now_ns - rl->last_ns) / rl->interval_ns;
		uint64_t t = rl->tokens + refill;
		rl->tokens = t > rl->burst ? rl->burst : (uint32_t)t;
		rl->last_ns = now_ns;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
}
