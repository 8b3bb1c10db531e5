/* Test doubles written in C: RNG callbacks, a RAM NOR flash driver with fault injection,
 * and set-up helpers shared by the tests. */
#ifndef PROVKIT_C_TESTS_FIXTURES_H
#define PROVKIT_C_TESTS_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "provkit.h"

/* ---- RNG ---------------------------------------------------------------------------- */

/* An RNG callback context: replays `bytes` (cyclically), or, with no bytes, a
 * deterministic stream from `seed`; fails every call from call number `fail_from` on
 * (1-based; 0: never), writing 0xEE into the buffer first (which provkit must not use). */
typedef struct {
  const uint8_t *bytes;
  size_t len;
  size_t pos;
  uint64_t seed;
  unsigned fail_from;
  unsigned calls;
  size_t drawn;
} test_rng;

/* A provkit_rng over `ctx`. */
provkit_rng rng_of(test_rng *ctx);
/* Replays `bytes[0..len]`. */
test_rng rng_replay(const uint8_t *bytes, size_t len);
/* A deterministic stream. */
test_rng rng_stream(uint64_t seed);
/* Fails on every call. */
test_rng rng_failing(void);

/* ---- RAM NOR flash -------------------------------------------------------------------- */

/* A NOR flash in RAM: erase sets 0xFF, program ANDs (bits 1 -> 0 only). Every call is
 * checked against the driver contract (inside the part, whole sectors, program unit,
 * no bit 0 -> 1, a word programmed once unless multiwrite); a breach counts in
 * `violations` and fails the call. `fail_*` (0: never) makes the n-th call and every
 * later one fail. */
typedef struct {
  uint8_t *mem;
  uint32_t size;
  uint32_t sector;
  uint32_t unit;
  bool multiwrite;
  unsigned reads, programs, erases;
  unsigned fail_read, fail_program, fail_erase;
  unsigned violations;
} ramflash;

/* A blank (erased) part of `sectors` sectors of `sector` bytes. */
ramflash ramflash_new(uint32_t sector, uint32_t sectors, bool multiwrite);
void ramflash_free(ramflash *f);
/* The driver description over `f`, with write size `write_size`. */
provkit_flash_driver ramflash_driver(ramflash *f, uint32_t write_size);
/* Clears the fault injection. */
void ramflash_heal(ramflash *f);

/* ---- shared set-up ------------------------------------------------------------------ */

/* The identity key id the tests use. */
#define IDENTITY_KEY 7u

/* Mounts a flash store on `f` (4 KiB sectors unless the part says otherwise); checks it. */
bool mount_store(provkit_store *store, ramflash *f);

/* A device with its identity key imported into its own flash store. */
typedef struct {
  ramflash flash;
  provkit_store *store;
} device;

/* A fresh device holding `scalar` as IDENTITY_KEY. */
bool device_new(device *d, const uint8_t scalar[32]);
void device_free(device *d);

/* The policy of the handshake vector: root HS_ROOT, no intermediate, now HS_NOW. */
provkit_peer_policy vector_policy(void);

/* Runs the vector handshake between `ini` and `res` (responder store `res_store`, which
 * may be a C key store; its RNG `res_rng`), into `si` and `sr`. With `exact`, the
 * messages are checked against the vector byte for byte. Returns whether it completed. */
bool run_handshake(provkit_store *ini_store, provkit_store *res_store, test_rng *res_rng,
                   provkit_session *si, provkit_session *sr, bool exact);

/* Seals `n` bytes from `from` and opens them at `to`; checks the round trip. */
bool record_round_trip(provkit_session *from, provkit_session *to, const char *text);

#endif
