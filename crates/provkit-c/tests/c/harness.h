/* A tiny assertion harness for the provkit C API tests: no framework, C11.
 *
 * Every check counts for one API function, so that the runner can show how many checks
 * each function of provkit.h got and fail when one got none:
 *
 *   EXPECT_ST(PROVKIT_OK, provkit_kcv_aes, key, 16, kcv, 5);   calls and checks the status
 *   CHECK(provkit_kcv_aes, memcmp(kcv, want, 5) == 0);         any other check about it
 *
 * A failed check prints its place and what was expected, and the run goes on; the
 * summary line and the exit status report failures. Buffers from h_dup/h_buf are
 * malloc'd at exactly the length asked (so that AddressSanitizer sees one byte too far)
 * and freed by h_free_all.
 */
#ifndef PROVKIT_C_TESTS_HARNESS_H
#define PROVKIT_C_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provkit.h"

/* Records one check for function `fn`. Returns `ok`. */
bool h_check(const char *fn, bool ok, const char *file, int line, const char *what,
             const char *detail);
/* Checks that `got` is `want`; returns `got`. */
provkit_status h_check_status(const char *fn, provkit_status got, provkit_status want,
                              const char *file, int line);
/* Checks that `got` is an error with a name (not PROVKIT_OK, not PROVKIT_ERR_PANIC, not
 * an unknown code); returns `got`. */
provkit_status h_check_error(const char *fn, provkit_status got, const char *file, int line);
/* Checks that `got` is one of the `n` codes in `allowed`; returns `got`. */
provkit_status h_check_among(const char *fn, provkit_status got, const provkit_status *allowed,
                             size_t n, const char *file, int line);

/* Calls fn(...) and checks its status; the expression is the status. */
#define EXPECT_ST(want, fn, ...) h_check_status(#fn, fn(__VA_ARGS__), (want), __FILE__, __LINE__)
/* Calls fn(...) and checks that it fails with a named error (garbage inputs). */
#define EXPECT_ERR(fn, ...) h_check_error(#fn, fn(__VA_ARGS__), __FILE__, __LINE__)
/* Calls fn(...) and checks that its status is one of the listed codes. */
#define EXPECT_AMONG(allowed, fn, ...)                                                   \
  h_check_among(#fn, fn(__VA_ARGS__), (allowed), sizeof(allowed) / sizeof((allowed)[0]), \
                __FILE__, __LINE__)
/* A check about API function `fn` (an identifier: the build fails for a name that is not
 * declared). */
#define CHECK(fn, cond) \
  ((void)sizeof(&(fn)), h_check(#fn, (cond) ? true : false, __FILE__, __LINE__, #cond, NULL))

/* A copy of `len` bytes of `p` in a heap block of exactly `len` bytes (a valid, empty
 * block for 0). */
uint8_t *h_dup(const void *p, size_t len);
/* A heap block of exactly `len` bytes filled with `fill`. */
uint8_t *h_buf(size_t len, uint8_t fill);
/* A zeroed heap block of `size` bytes aligned to 16 (for provkit states). */
void *h_state(size_t size);
/* Frees every block from h_dup, h_buf and h_state. */
void h_free_all(void);

/* Whether `len` bytes at `p` are all `v`. */
bool h_all(const uint8_t *p, size_t len, uint8_t v);
/* Whether the `len` bytes `needle` occur in `hay`. */
bool h_contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len);

/* Starts a group of tests (printed in verbose mode). */
void h_section(const char *name);
/* Prints the per-function table and checks that every function in `names` got at least
 * one check; returns the number of failed checks. */
int h_report(const char *const *names, size_t n);

/* A deterministic byte stream (splitmix64), for garbage inputs. */
uint64_t h_rand(uint64_t *state);
void h_rand_bytes(uint64_t *state, uint8_t *out, size_t len);

#endif
