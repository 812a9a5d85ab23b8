/* Integration-test harness: runs the server under test (ringbus or
 * nats-server, chosen by environment) on a free loopback port and stops it. */
#ifndef TESTS_INTEGRATION_HARNESS_H
#define TESTS_INTEGRATION_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Which server binary RINGBUS_TEST_SERVER names (RINGBUS_TEST_KIND). */
enum harness_kind {
	HARNESS_RINGBUS,
	HARNESS_NATS_SERVER,
};

/* How long a server may take to accept TCP, and to exit after the stop signal. */
#define HARNESS_START_MS 10000
#define HARNESS_STOP_MS  10000

/* One running server process. Owner: the test process that started it. */
struct harness_server {
	pid_t pid;     /* 0 when not running */
	uint16_t port; /* loopback port it listens on */
	enum harness_kind kind;
	char url[48];       /* "nats://127.0.0.1:<port>" */
	char log_path[64];  /* its stdout and stderr */
	char conf_path[64]; /* config file written for it, "" if none */
};

/* What to start: extra command-line arguments and an optional config file. */
struct harness_opts {
	const char *const *args; /* NULL-terminated, may be NULL; borrowed */
	const char *config;      /* config file text, passed as `-c FILE`; may be NULL */
};

/* A loopback port free at the time of the call (another process may take it
 * before it is used). Returns it, or -errno. */
int harness_free_port(void);

/* Raises RLIMIT_NOFILE of this process to its hard limit (children inherit it).
 * Returns 0 or -errno. */
int harness_raise_nofile(void);

/* Reads RINGBUS_TEST_KIND (defaulting from the basename of
 * RINGBUS_TEST_SERVER). Returns the kind; never fails. */
enum harness_kind harness_kind_from_env(void);

/* Starts RINGBUS_TEST_SERVER with `-a 127.0.0.1 -p PORT` on a free port, plus
 * opts (borrowed; NULL for none), and waits until that process, and no other,
 * accepts TCP on the port (bounded by HARNESS_START_MS; a port lost to a race
 * is retried with another). Fills srv. Returns 0, -ENOENT when the variable is
 * unset, -ECHILD when the server keeps exiting at start, -ETIMEDOUT, or
 * another -errno. On failure the server's log is copied to stderr. */
int harness_server_start(struct harness_server *srv, const struct harness_opts *opts);

/* The same for a server of @kind, whatever RINGBUS_TEST_SERVER says: its
 * binary is RINGBUS_TEST_RINGBUS or RINGBUS_TEST_NATS_SERVER (tests that
 * run both, as mixed clusters), else RINGBUS_TEST_SERVER when it is of
 * that kind. -ENOENT when none is set. */
int harness_server_start_kind(struct harness_server *srv, enum harness_kind kind,
                              const struct harness_opts *opts);

/* Stops srv with the kind's clean-shutdown signal (SIGTERM for ringbus, SIGINT
 * for nats-server, which exits 1 on SIGTERM), waits up to HARNESS_STOP_MS, then
 * SIGKILLs it. Removes its log and config. Returns 0 when it exited with status
 * 0, -EIO when it exited non-zero, crashed or printed a sanitizer report (then
 * its log is copied to stderr), -ETIMEDOUT when it had to be killed. why
 * (caller storage of why_len bytes, may be NULL) receives a description. */
int harness_server_stop(struct harness_server *srv, char *why, size_t why_len);

/* Waits up to @timeout_ms for srv's process to exit on its own (lame duck
 * mode ends with an exit). Returns 0 with its wait status in *@status (the
 * server is then not running: harness_server_stop() only removes its files),
 * or -ETIMEDOUT. */
int harness_server_wait_exit(struct harness_server *srv, int timeout_ms, int *status);

/* Runs RINGBUS_TEST_SERVER with @args (NULL-terminated, borrowed) and waits
 * up to HARNESS_STOP_MS for it, killing it after that: for the commands
 * that do not start a server (-v, -t, --signal). Its stdout and stderr go to
 * @out (@cap bytes, NUL-terminated). Returns its exit status (0-255), or
 * -errno (-ETIMEDOUT when it had to be killed). */
int harness_run(const char *const *args, char *out, size_t cap);

#endif
