/* Parsing of setting values shared by the configuration file, the flags and
 * the admission policies. Each returns 0 or -EINVAL and leaves *out alone on
 * error. */
#ifndef CORE_PARSE_H
#define CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

/* A whole decimal number in [@min, @max]. */
RB_MUST_CHECK int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A size: a number with an optional K, M or G (powers of 1024, optional B),
 * at most @max. */
RB_MUST_CHECK int parse_size(const char *s, uint64_t max, uint64_t *out);

/* A duration in milliseconds: "250ms", "2s", "1m", "1h", or a bare number of
 * seconds (nats-server's convention). */
RB_MUST_CHECK int parse_duration_ms(const char *s, uint64_t *out);

/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
RB_MUST_CHECK int parse_bool(const char *s, bool *out);

#endif /* CORE_PARSE_H */
