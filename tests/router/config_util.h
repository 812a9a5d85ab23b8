/* Helpers of the settings tests: files written for a test, problems
 * collected instead of printed. */
#ifndef TESTS_ROUTER_CONFIG_UTIL_H
#define TESTS_ROUTER_CONFIG_UTIL_H

#include <stddef.h>

#include "router/conf/config.h"

#define CFGT_MAX_REPORTS 16

/* The problems reported since cfgt_init() (one line each). */
extern char cfgt_reports[CFGT_MAX_REPORTS][512];
extern int cfgt_nreports;

/* config_init() with problems collected into cfgt_reports. */
void cfgt_init(struct config *c);

/* Writes @text to a new temporary file; its name goes to @path (@cap
 * bytes). The caller unlinks it. */
void cfgt_write(char *path, size_t cap, const char *text);

/* cfgt_init(), then config_load_file() of @text. Returns its result; the
 * file's name is in cfgt_path until the next call. */
int cfgt_load(struct config *c, const char *text);
extern char cfgt_path[64];

/* cfgt_init(), then config_parse_args() of the NULL-terminated @args
 * (without the program name). */
int cfgt_args(struct config *c, const char *const *args);

/* True when some report contains @needle. */
int cfgt_reported(const char *needle);

#endif /* TESTS_ROUTER_CONFIG_UTIL_H */
