/* Telemetry: the sealed length, every argument, a failing RNG, signing through a flash
 * store and a C key store. */
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "provkit_vectors.h"
#include "se.h"
#include "tests.h"

static void lengths(void) {
  size_t base = provkit_telemetry_len(0);
  CHECK(provkit_telemetry_len, base > 64 + 65 && base < 400);
  for (size_t n = 1; n < 300; n += 37) CHECK(provkit_telemetry_len, provkit_telemetry_len(n) == base + n);
  CHECK(provkit_telemetry_len, provkit_telemetry_len(SIZE_MAX / 2) == base + SIZE_MAX / 2);
  CHECK(provkit_telemetry_len, provkit_telemetry_len(SIZE_MAX / 2 + 1) == 0);
  CHECK(provkit_telemetry_len, provkit_telemetry_len(SIZE_MAX) == 0);
  CHECK(provkit_telemetry_len, provkit_telemetry_len(SIZE_MAX - base) == 0);
}

static void seal(void) {
  device d;
  if (!CHECK(provkit_store_import_p256, device_new(&d, HS_RESPONDER_SCALAR))) return;
  provkit_store *s = d.store;
  /* The server's key: the initiator's public key, as OpenSSL computes it. */
  uint8_t server_pub[65];
  CHECK(provkit_telemetry_seal, openssl_public_key(HS_INITIATOR_SCALAR, server_pub));
  uint8_t *server = h_dup(server_pub, 65);
  static const char reading[] = "temperature=21.5C humidity=40%";
  const size_t pl = sizeof reading - 1, need = provkit_telemetry_len(pl);
  uint8_t *payload = h_dup(reading, pl);
  uint8_t *out = h_buf(need, 0xAA);
  size_t len = 0;
  test_rng r = rng_stream(9);
  provkit_rng rng = rng_of(&r);
  const uint64_t serial = 2;

  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, out, need, &len);
  CHECK(provkit_telemetry_seal, len == need && r.drawn >= 32);
  /* Sealed: the reading does not show. */
  CHECK(provkit_telemetry_seal, !h_contains(out, len, payload, pl));
  /* The same inputs and randomness give the same message (RFC 6979 signatures); other
   * randomness another one. */
  uint8_t *again = h_buf(need, 0);
  test_rng r1 = rng_stream(9), r2 = rng_stream(10);
  provkit_rng g1 = rng_of(&r1), g2 = rng_of(&r2);
  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &g1, again, need, &len);
  CHECK(provkit_telemetry_seal, memcmp(out, again, need) == 0);
  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &g2, again, need, &len);
  CHECK(provkit_telemetry_seal, memcmp(out, again, need) != 0);
  /* An empty reading, as NULL; a larger one; a longer buffer than needed. */
  uint8_t *empty = h_buf(provkit_telemetry_len(0), 0);
  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, NULL, 0, &rng, empty, provkit_telemetry_len(0), &len);
  CHECK(provkit_telemetry_seal, len == provkit_telemetry_len(0));
  uint8_t *big_payload = h_buf(4000, 0x42), *big = h_buf(provkit_telemetry_len(4000) + 10, 0xAA);
  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, big_payload, 4000, &rng, big, provkit_telemetry_len(4000) + 10, &len);
  CHECK(provkit_telemetry_seal, len == provkit_telemetry_len(4000) && h_all(big + len, 10, 0xAA));

  /* Arguments. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, NULL, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, out, need, &len);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, s, IDENTITY_KEY, NULL, 65, serial, payload, pl, &rng, out, need, &len);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, NULL, pl, &rng, out, need, &len);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, NULL, out, need, &len);
  provkit_rng no_fill = {.fill = NULL, .ctx = &r};
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &no_fill, out, need, &len);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, NULL, need, &len);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, out, need, NULL);
  provkit_store *none = h_state(sizeof *none);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_telemetry_seal, none, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, out, need, &len);
  /* The server key: fixed length, on the curve, uncompressed. */
  uint8_t *s64 = h_dup(server_pub, 64), *s66 = h_buf(66, 0);
  memcpy(s66, server_pub, 65);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_telemetry_seal, s, IDENTITY_KEY, s64, 64, serial, payload, pl, &rng, out, need, &len);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_telemetry_seal, s, IDENTITY_KEY, s66, 66, serial, payload, pl, &rng, out, need, &len);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_telemetry_seal, s, IDENTITY_KEY, NULL, 0, serial, payload, pl, &rng, out, need, &len);
  uint8_t *compressed = h_buf(33, 0);
  memcpy(compressed, server_pub, 33);
  compressed[0] = (uint8_t)(0x02 | (server_pub[64] & 1));
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_telemetry_seal, s, IDENTITY_KEY, compressed, 33, serial, payload, pl, &rng, out, need, &len);
  uint8_t *off = h_dup(server_pub, 65);
  off[64] ^= 1;
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_telemetry_seal, s, IDENTITY_KEY, off, 65, serial, payload, pl, &rng, out, need, &len);
  memset(off, 0, 65);
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_telemetry_seal, s, IDENTITY_KEY, off, 65, serial, payload, pl, &rng, out, need, &len);
  off[0] = 0x04;
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_telemetry_seal, s, IDENTITY_KEY, off, 65, serial, payload, pl, &rng, out, need, &len);
  /* One byte short (exact block): the length needed. */
  uint8_t *short_out = h_buf(need - 1, 0xAA);
  len = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, short_out, need - 1, &len);
  /* ... and the short output zeroed: a failed seal leaves no part of the message. */
  CHECK(provkit_telemetry_seal, len == need && h_all(short_out, need - 1, 0));
  /* A signing key that is not there: the output (which held the payload in clear before
   * the signature failed) is zeroed too. */
  uint8_t *nokey = h_buf(need, 0xAA);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_telemetry_seal, s, 99, server, 65, serial, payload, pl, &rng, nokey, need, &len);
  CHECK(provkit_telemetry_seal, h_all(nokey, need, 0));
  len = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, NULL, 0, &len);
  CHECK(provkit_telemetry_seal, len == need);
  /* The output over the reading or the server key. */
  uint8_t *both = h_buf(2 * need + 100, 0);
  memcpy(both, reading, pl);
  memcpy(both + need + 50, server_pub, 65);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, both, pl, &rng, both + 10, need, &len);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_telemetry_seal, s, IDENTITY_KEY, both + need + 50, 65, serial, payload, pl, &rng, both + 100, need, &len);
  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, both, pl, &rng, both + pl, need, &len);
  /* No identity key under that id. */
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_telemetry_seal, s, IDENTITY_KEY + 1, server, 65, serial, payload, pl, &rng, out, need, &len);
  CHECK(provkit_telemetry_seal, len == 0);
  /* A failing RNG: RNG_FAILED, the output zeroed. */
  test_rng bad = rng_failing();
  provkit_rng rb = rng_of(&bad);
  memset(out, 0xAA, need);
  len = 99;
  EXPECT_ST(PROVKIT_ERR_RNG_FAILED, provkit_telemetry_seal, s, IDENTITY_KEY, server, 65, serial, payload, pl, &rb, out, need, &len);
  CHECK(provkit_telemetry_seal, h_all(out, need, 0) && len == 0 && bad.calls >= 1);
  /* ... also when only a later draw fails. */
  test_rng late = rng_stream(4);
  late.fail_from = 2;
  provkit_rng rl = rng_of(&late);
  memset(out, 0xAA, need);
  provkit_status st = provkit_telemetry_seal(s, IDENTITY_KEY, server, 65, serial, payload, pl, &rl, out, need, &len);
  if (late.calls >= 2) {
    h_check_status("provkit_telemetry_seal", st, PROVKIT_ERR_RNG_FAILED, __FILE__, __LINE__);
    CHECK(provkit_telemetry_seal, h_all(out, need, 0) && len == 0);
  } else {
    h_check_status("provkit_telemetry_seal", st, PROVKIT_OK, __FILE__, __LINE__);
  }

  /* Signed by a key in a C key store (the OpenSSL element). */
  se e;
  se_init(&e);
  provkit_store *ss = h_state(sizeof *ss);
  provkit_keystore_vtable vt = se_vtable();
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, ss, &vt, &e);
  CHECK(provkit_store_use_keystore, se_provision(&e, IDENTITY_KEY, HS_RESPONDER_SCALAR));
  EXPECT_ST(PROVKIT_OK, provkit_telemetry_seal, ss, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, out, need, &len);
  CHECK(provkit_telemetry_seal, len == need && e.sign_calls == 1);
  e.sign_status = 4242;
  EXPECT_ST(PROVKIT_ERR_STORE_BACKEND, provkit_telemetry_seal, ss, IDENTITY_KEY, server, 65, serial, payload, pl, &rng, out, need, &len);
  CHECK(provkit_telemetry_seal, len == 0);
  provkit_store_release(ss);
  se_free(&e);
  device_free(&d);
  h_free_all();
}

void test_telemetry(void) {
  lengths();
  seal();
}
