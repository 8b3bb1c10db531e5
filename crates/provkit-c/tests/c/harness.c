/* The assertion harness (see harness.h). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FUNCTIONS 128
#define MAX_SITES 4096
#define MAX_BLOCKS 4096

typedef struct {
  const char *name;
  unsigned executed;
  unsigned sites;
} fn_count;

typedef struct {
  const char *file;
  int line;
  const char *fn;
} site;

static fn_count functions[MAX_FUNCTIONS];
static size_t function_count;
static site sites[MAX_SITES];
static size_t site_count;
static unsigned passed, failed;
static void *blocks[MAX_BLOCKS];
static size_t block_count;
static bool verbose;
static bool verbose_read;

static bool is_verbose(void) {
  if (!verbose_read) {
    const char *v = getenv("PROVKIT_CTEST_VERBOSE");
    verbose = v != NULL && v[0] != '\0' && v[0] != '0';
    verbose_read = true;
  }
  return verbose;
}

static fn_count *counter(const char *fn) {
  for (size_t i = 0; i < function_count; i++) {
    if (strcmp(functions[i].name, fn) == 0) return &functions[i];
  }
  if (function_count == MAX_FUNCTIONS) {
    fprintf(stderr, "harness: more than %d functions\n", MAX_FUNCTIONS);
    abort();
  }
  functions[function_count].name = fn;
  return &functions[function_count++];
}

static void count_site(fn_count *c, const char *fn, const char *file, int line) {
  for (size_t i = 0; i < site_count; i++) {
    if (sites[i].line == line && strcmp(sites[i].file, file) == 0 && strcmp(sites[i].fn, fn) == 0)
      return;
  }
  if (site_count == MAX_SITES) {
    fprintf(stderr, "harness: more than %d check sites\n", MAX_SITES);
    abort();
  }
  sites[site_count++] = (site){file, line, fn};
  c->sites++;
}

bool h_check(const char *fn, bool ok, const char *file, int line, const char *what,
             const char *detail) {
  fn_count *c = counter(fn);
  c->executed++;
  count_site(c, fn, file, line);
  if (ok) {
    passed++;
    if (is_verbose()) printf("  ok   %s:%d %s: %s\n", file, line, fn, what);
  } else {
    failed++;
    printf("FAIL %s:%d %s: %s%s%s\n", file, line, fn, what, detail ? " -- " : "",
           detail ? detail : "");
    fflush(stdout);
  }
  return ok;
}

provkit_status h_check_status(const char *fn, provkit_status got, provkit_status want,
                              const char *file, int line) {
  char detail[160];
  snprintf(detail, sizeof detail, "got %s (%d), want %s (%d)", provkit_status_name(got),
           (int)got, provkit_status_name(want), (int)want);
  h_check(fn, got == want, file, line, "status", got == want ? NULL : detail);
  return got;
}

provkit_status h_check_error(const char *fn, provkit_status got, const char *file, int line) {
  char detail[160];
  bool ok = got != PROVKIT_OK && got != PROVKIT_ERR_PANIC &&
            strcmp(provkit_status_name(got), "PROVKIT_UNKNOWN_STATUS") != 0;
  snprintf(detail, sizeof detail, "got %s (%d), want a named error", provkit_status_name(got),
           (int)got);
  h_check(fn, ok, file, line, "an error", ok ? NULL : detail);
  return got;
}

provkit_status h_check_among(const char *fn, provkit_status got, const provkit_status *allowed,
                             size_t n, const char *file, int line) {
  bool ok = false;
  for (size_t i = 0; i < n; i++) ok = ok || got == allowed[i];
  char detail[512];
  int at = snprintf(detail, sizeof detail, "got %s (%d), want one of", provkit_status_name(got),
                    (int)got);
  for (size_t i = 0; i < n && at > 0 && (size_t)at < sizeof detail; i++)
    at += snprintf(detail + at, sizeof detail - (size_t)at, " %s", provkit_status_name(allowed[i]));
  h_check(fn, ok, file, line, "status among", ok ? NULL : detail);
  return got;
}

static void *track(void *p) {
  if (p == NULL) {
    fprintf(stderr, "harness: out of memory\n");
    abort();
  }
  if (block_count == MAX_BLOCKS) {
    fprintf(stderr, "harness: more than %d blocks\n", MAX_BLOCKS);
    abort();
  }
  blocks[block_count++] = p;
  return p;
}

uint8_t *h_dup(const void *p, size_t len) {
  uint8_t *b = track(malloc(len ? len : 1));
  if (len) memcpy(b, p, len);
  return b;
}

uint8_t *h_buf(size_t len, uint8_t fill) {
  uint8_t *b = track(malloc(len ? len : 1));
  memset(b, fill, len);
  return b;
}

void *h_state(size_t size) {
  size_t rounded = (size + 15) / 16 * 16;
  void *p = track(aligned_alloc(16, rounded));
  memset(p, 0, rounded);
  return p;
}

void h_free_all(void) {
  for (size_t i = 0; i < block_count; i++) free(blocks[i]);
  block_count = 0;
}

bool h_all(const uint8_t *p, size_t len, uint8_t v) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != v) return false;
  return true;
}

bool h_contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len) {
  if (len == 0) return true;
  for (size_t i = 0; i + len <= hay_len; i++)
    if (memcmp(hay + i, needle, len) == 0) return true;
  return false;
}

void h_section(const char *name) {
  if (is_verbose()) printf("== %s\n", name);
}

int h_report(const char *const *names, size_t n) {
  printf("\nchecks per function (distinct check sites / checks run):\n");
  for (size_t i = 0; i < n; i++) {
    fn_count *c = NULL;
    for (size_t j = 0; j < function_count; j++)
      if (strcmp(functions[j].name, names[i]) == 0) c = &functions[j];
    unsigned s = c ? c->sites : 0, e = c ? c->executed : 0;
    printf("  %-36s %4u / %5u\n", names[i], s, e);
    if (s == 0) h_check(names[i], false, __FILE__, __LINE__, "covered", "no check calls it");
  }
  for (size_t j = 0; j < function_count; j++) {
    bool listed = false;
    for (size_t i = 0; i < n; i++) listed = listed || strcmp(functions[j].name, names[i]) == 0;
    if (!listed) printf("  (not in provkit.h: %s, %u checks)\n", functions[j].name, functions[j].executed);
  }
  printf("\nC API tests: %u passed, %u failed\n", passed, failed);
  return (int)failed;
}

uint64_t h_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void h_rand_bytes(uint64_t *state, uint8_t *out, size_t len) {
  for (size_t i = 0; i < len; i++) out[i] = (uint8_t)h_rand(state);
}
