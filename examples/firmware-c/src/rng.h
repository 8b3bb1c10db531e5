/* The randomness of this proof, which runs on QEMU's mps2-an386: that machine has NO TRNG,
 * so two stand-ins live here, in the example, and nowhere in the library. NEITHER IS
 * RANDOM. A real device passes its TRNG driver (or a DRBG seeded from it) as the
 * provkit_rng wherever these are passed. */
#ifndef RNG_H
#define RNG_H

#include "provkit.h"

/* Replays fixed bytes, in order, cycling: the ephemeral keys and PIN-block fill of the
 * host's test vectors, so that this firmware reproduces the host transcript and the
 * X9.24-3 vectors byte for byte (the key generation code path stays the real one).
 * NOT RANDOM: only for reproducing vectors. */
typedef struct {
    const uint8_t *bytes;
    size_t len;
    size_t pos;
} vector_replay;

provkit_rng vector_replay_rng(vector_replay *replay, const uint8_t *bytes, size_t len);

/* Stands in for the TRNG where the proof needs fresh-looking bytes (the second pairing,
 * the telemetry's HPKE ephemeral key): splitmix64 over a fixed seed.
 * PLACEHOLDER, NOT RANDOM, NOT SECURE: its whole output follows from a small seed in
 * this source. A real device passes its TRNG driver here. */
typedef struct {
    uint64_t state;
} placeholder_not_random;

provkit_rng placeholder_not_random_rng(placeholder_not_random *p, uint64_t seed);

/* Always fails (returns non-zero), as a TRNG whose health test fails: provkit must report
 * it (PROVKIT_ERR_RNG_FAILED), never ignore it. */
provkit_rng failing_rng(void);

#endif
