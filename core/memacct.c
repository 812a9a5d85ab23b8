/* The process-wide count of bytes held for messages (core/memacct.h). */
#include "core/memacct.h"

atomic_int_fast64_t memacct_bytes[MEMACCT_KINDS];
