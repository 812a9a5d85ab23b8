/* CPU pinning and the machine's core count. */
#ifndef CORE_PIN_H
#define CORE_PIN_H

#include "core/compiler.h"

/* Number of cores this process may run on (its affinity mask), at least 1. */
int pin_ncpus(void);

/* Pins the calling thread to the @index-th core of the process's affinity
 * mask, modulo its size. Returns 0 or -errno. */
RB_MUST_CHECK int pin_self(int index);

#endif /* CORE_PIN_H */
