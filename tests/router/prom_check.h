/* A checker of Prometheus text exposition format 0.0.4, as strict as the
 * monitoring tests want it, and a lookup of one sample's value. Used by the
 * renderer's unit test and the /metrics integration test. */
#ifndef TESTS_ROUTER_PROM_CHECK_H
#define TESTS_ROUTER_PROM_CHECK_H

#include <stddef.h>

/* Checks @text (borrowed, NUL-terminated): every line ends in '\n'; comment
 * lines are "# HELP name text", "# TYPE name counter|gauge|untyped|histogram|
 * summary" (each at most once per name) or free text; a sample line is
 * `name{label="value",...} value [timestamp]` with names matching
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (no "__"
 * prefix, no repeats), values escaped only as \\ \" \n, and a value that
 * parses as a float (or NaN, +Inf, -Inf). Stricter than the format: each
 * sample's name has both HELP and TYPE before it; a family's lines are
 * contiguous; no series appears twice; a counter's name ends in "_total" and
 * its values are not negative. Returns 0 and *@nsamples (may be NULL), or -1
 * with the line number and reason in @why (@cap bytes). */
int prom_check(const char *text, char *why, size_t cap, size_t *nsamples);

/* Finds the sample @name whose label text (what is between the braces, as
 * written) equals @labels ("" for none) and stores its value in *@v.
 * Returns 0, or -1 when absent or unparsable. */
int prom_value(const char *text, const char *name, const char *labels, double *v);

#endif /* TESTS_ROUTER_PROM_CHECK_H */
