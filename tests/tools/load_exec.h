/* Runs the ringbus-load binary from a test and reads back its JSON report. */
#ifndef TESTS_TOOLS_LOAD_EXEC_H
#define TESTS_TOOLS_LOAD_EXEC_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* One finished run. Owner: the test. */
struct load_exec {
	int status;     /* exit status, or 128 + signal */
	char err[8192]; /* what it printed on stderr (truncated) */
	char out[8192]; /* what it printed on stdout (truncated) */
	cJSON *json;    /* the --json report, NULL when none was written */
};

/* Runs RINGBUS_LOAD_BIN with @args (NULL-terminated, borrowed) followed by
 * --json <tmp> --quiet, waits for it, and fills @x. Returns 0 or -errno when
 * it could not be started. */
int load_exec_run(struct load_exec *x, const char *const *args);

/* The same with the program @bin (RINGBUS_LOAD_BLOCKING_BIN, ...). */
int load_exec_run_bin(struct load_exec *x, const char *bin, const char *const *args);

void load_exec_fini(struct load_exec *x);

/* A number of the report (top level or, with @sub, inside that object);
 * -1 when absent or not a number. */
double load_exec_num(const struct load_exec *x, const char *sub, const char *key);

#endif /* TESTS_TOOLS_LOAD_EXEC_H */
