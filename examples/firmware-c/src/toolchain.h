/* What differs between the two compilers the C firmware is built with (Makefile,
 * TOOLCHAIN=gcc or clang). */
#ifndef TOOLCHAIN_H
#define TOOLCHAIN_H

/* A loop that stays a loop: both compilers would otherwise turn a byte or word fill into
 * a call to memset, which the Rust firmware does not link for the same work. */
#if defined(__clang__)
#define KEEP_LOOPS __attribute__((no_builtin("memset", "memcpy")))
#else
#define KEEP_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

#endif
