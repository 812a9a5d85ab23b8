/* Compiler helpers shared by every module: branch hints, must-check results,
 * cache-line alignment. Nothing here hides control flow. */
#ifndef CORE_COMPILER_H
#define CORE_COMPILER_H

#define RB_LIKELY(x)     __builtin_expect(!!(x), 1)
#define RB_UNLIKELY(x)   __builtin_expect(!!(x), 0)
#define RB_MUST_CHECK    __attribute__((warn_unused_result))
#define RB_CACHELINE     64
#define RB_ALIGNED_CACHE __attribute__((aligned(RB_CACHELINE)))
#define RB_UNUSED        __attribute__((unused))
#define RB_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#define RB_ARRAY_LEN(a)  (sizeof(a) / sizeof((a)[0]))

#endif /* CORE_COMPILER_H */
