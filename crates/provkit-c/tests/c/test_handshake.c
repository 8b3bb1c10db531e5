/* The handshake: both roles reproducing the transcript vector, every argument, reused and
 * moved states, garbage, truncated and bit-flipped messages 1, 2 and 3. */
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "provkit_vectors.h"
#include "tests.h"

/* Two devices with the vector's identity keys, and the vector's inputs in exact blocks. */
typedef struct {
  device ini, res;
  uint8_t *cert_i, *cert_r, *m1, *m2, *m3, *root;
  provkit_peer_policy policy;
  test_rng ri, rr;
  provkit_rng rngi, rngr;
} fixture;

static bool fixture_new(fixture *f) {
  memset(f, 0, sizeof *f);
  if (!device_new(&f->ini, HS_INITIATOR_SCALAR) || !device_new(&f->res, HS_RESPONDER_SCALAR))
    return false;
  f->cert_i = h_dup(HS_INITIATOR_CERT, 111);
  f->cert_r = h_dup(HS_RESPONDER_CERT, 111);
  f->m1 = h_dup(HS_MESSAGE_1, sizeof HS_MESSAGE_1);
  f->m2 = h_dup(HS_MESSAGE_2, sizeof HS_MESSAGE_2);
  f->m3 = h_dup(HS_MESSAGE_3, sizeof HS_MESSAGE_3);
  f->root = h_dup(HS_ROOT, sizeof HS_ROOT);
  f->policy = vector_policy();
  f->policy.root = f->root;
  f->ri = rng_replay(HS_INITIATOR_EPHEMERAL, 32);
  f->rr = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
  f->rngi = rng_of(&f->ri);
  f->rngr = rng_of(&f->rr);
  return true;
}

static void fixture_free(fixture *f) {
  device_free(&f->ini);
  device_free(&f->res);
  h_free_all();
}

/* The initiator after message 1 (the vector's). */
static bool start_initiator(fixture *f, provkit_handshake *hs) {
  uint8_t m1[PROVKIT_MSG1_LEN];
  size_t n = 0;
  return provkit_initiator_start(hs, IDENTITY_KEY, f->cert_i, 111, PROVKIT_CREDENTIAL_BY_VALUE,
                                 &f->rngi, m1, sizeof m1, &n) == PROVKIT_OK &&
         memcmp(m1, HS_MESSAGE_1, sizeof m1) == 0;
}

/* The responder after message 2 (the vector's). */
static bool start_responder(fixture *f, provkit_handshake *hs) {
  uint8_t m2[PROVKIT_MAX_MSG2_LEN];
  size_t n = 0;
  return provkit_responder_respond(hs, f->res.store, IDENTITY_KEY, f->cert_r, 111,
                                   PROVKIT_CREDENTIAL_BY_VALUE, &f->rngr, f->m1,
                                   sizeof HS_MESSAGE_1, m2, sizeof m2, &n) == PROVKIT_OK &&
         n == sizeof HS_MESSAGE_2 && memcmp(m2, HS_MESSAGE_2, n) == 0;
}

static bool empty(const provkit_handshake *hs) { return h_all(hs->opaque, sizeof hs->opaque, 0); }

static void vector(void) {
  fixture f;
  if (!CHECK(provkit_store_import_p256, fixture_new(&f))) return;
  provkit_session *si = h_state(sizeof *si), *sr = h_state(sizeof *sr);
  test_rng rr = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
  /* Byte for byte, both roles (run_handshake checks each message against the vector). */
  CHECK(provkit_initiator_finish, run_handshake(f.ini.store, f.res.store, &rr, si, sr, true));
  /* The sessions work both ways; the exporter is the vector's on both sides once the
   * initiator is confirmed by a record from the responder. */
  uint8_t *label = h_dup(HS_EXPORT_LABEL, strlen(HS_EXPORT_LABEL));
  uint8_t *out = h_buf(32, 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_export, memcmp(out, HS_EXPORTED, 32) == 0);
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_NOT_CONFIRMED, provkit_session_export, si, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_open, record_round_trip(sr, si, "responder to initiator"));
  memset(out, 0, 32);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_export, memcmp(out, HS_EXPORTED, 32) == 0);
  CHECK(provkit_session_open, record_round_trip(si, sr, "initiator to responder"));
  provkit_session_reset(si);
  provkit_session_reset(sr);

  /* By reference: each side already knows the other's certificate. */
  provkit_handshake *hi = h_state(sizeof *hi), *hr = h_state(sizeof *hr);
  uint8_t m1[PROVKIT_MSG1_LEN], m2[PROVKIT_MAX_MSG2_LEN], m3[PROVKIT_MAX_MSG3_LEN];
  size_t n1, n2, n3;
  provkit_device_info peer;
  test_rng a = rng_stream(1), b = rng_stream(2);
  provkit_rng ra = rng_of(&a), rb = rng_of(&b);
  for (int pinned = 0; pinned < 3; pinned++) {
    EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, f.cert_i, 111,
              PROVKIT_CREDENTIAL_BY_REFERENCE, &ra, m1, sizeof m1, &n1);
    EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hr, f.res.store, IDENTITY_KEY, f.cert_r, 111,
              PROVKIT_CREDENTIAL_BY_REFERENCE, &rb, m1, n1, m2, sizeof m2, &n2);
    CHECK(provkit_responder_respond, n2 < sizeof HS_MESSAGE_2);
    if (pinned == 0) {
      /* Not pinned: refused. */
      EXPECT_ST(PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED, provkit_initiator_finish, hi, f.ini.store,
                &f.policy, NULL, 0, m2, n2, m3, sizeof m3, &n3, si, &peer);
      CHECK(provkit_initiator_finish, empty(hi));
      provkit_handshake_reset(hr);
      continue;
    }
    if (pinned == 1) {
      /* Pinned to another certificate (the initiator's own). */
      EXPECT_ERR(provkit_initiator_finish, hi, f.ini.store, &f.policy, f.cert_i, 111, m2, n2, m3,
                 sizeof m3, &n3, si, &peer);
      provkit_handshake_reset(hr);
      continue;
    }
    EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hi, f.ini.store, &f.policy, f.cert_r, 111, m2,
              n2, m3, sizeof m3, &n3, si, &peer);
    CHECK(provkit_initiator_finish, peer.serial == 2 && n3 < sizeof HS_MESSAGE_3);
    EXPECT_ST(PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED, provkit_responder_finish, hr, &f.policy, NULL,
              0, m3, n3, sr, &peer);
    CHECK(provkit_responder_finish, empty(hr));
  }
  /* Again, the responder pinned right this time. */
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, f.cert_i, 111,
            PROVKIT_CREDENTIAL_BY_REFERENCE, &ra, m1, sizeof m1, &n1);
  EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hr, f.res.store, IDENTITY_KEY, f.cert_r, 111,
            PROVKIT_CREDENTIAL_BY_VALUE, &rb, m1, n1, m2, sizeof m2, &n2);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hi, f.ini.store, &f.policy, NULL, 0, m2, n2, m3,
            sizeof m3, &n3, si, NULL);
  EXPECT_ERR(provkit_responder_finish, hr, &f.policy, f.cert_r, 111, m3, n3, sr, &peer);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, f.cert_i, 111,
            PROVKIT_CREDENTIAL_BY_REFERENCE, &ra, m1, sizeof m1, &n1);
  EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hr, f.res.store, IDENTITY_KEY, f.cert_r, 111,
            PROVKIT_CREDENTIAL_BY_VALUE, &rb, m1, n1, m2, sizeof m2, &n2);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hi, f.ini.store, &f.policy, NULL, 0, m2, n2, m3,
            sizeof m3, &n3, si, NULL);
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hr, &f.policy, f.cert_i, 111, m3, n3, sr, &peer);
  CHECK(provkit_responder_finish, peer.serial == 1);
  CHECK(provkit_session_open, record_round_trip(sr, si, "by reference"));
  provkit_session_reset(si);
  provkit_session_reset(sr);
  fixture_free(&f);
}

static void initiator_start(void) {
  fixture f;
  if (!CHECK(provkit_store_import_p256, fixture_new(&f))) return;
  provkit_handshake *hs = h_state(sizeof *hs);
  uint8_t *m1 = h_buf(PROVKIT_MSG1_LEN, 0xAA);
  size_t n = 99;
  const uint32_t by_value = PROVKIT_CREDENTIAL_BY_VALUE;

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_start, NULL, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_start, hs, IDENTITY_KEY, NULL, 111, by_value, &f.rngi, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, NULL, m1, 34, &n);
  provkit_rng no_fill = {.fill = NULL, .ctx = NULL};
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &no_fill, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, NULL, 34, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, m1, 34, NULL);
  CHECK(provkit_initiator_start, empty(hs) && h_all(m1, 34, 0xAA));
  /* Wrong fixed lengths, unknown modes. */
  uint8_t *c110 = h_dup(HS_INITIATOR_CERT, 110), *c112 = h_buf(112, 0);
  memcpy(c112, HS_INITIATOR_CERT, 111);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, c110, 110, by_value, &f.rngi, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, c112, 112, by_value, &f.rngi, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, NULL, 0, by_value, &f.rngi, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, 2, &f.rngi, m1, 34, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, UINT32_MAX, &f.rngi, m1, 34, &n);
  CHECK(provkit_initiator_start, empty(hs) && f.ri.calls == 0);
  /* One byte short: the length needed, no state. */
  uint8_t *short1 = h_buf(PROVKIT_MSG1_LEN - 1, 0xAA);
  n = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, short1, 33, &n);
  CHECK(provkit_initiator_start, n == PROVKIT_MSG1_LEN && empty(hs));
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, NULL, 0, &n);
  CHECK(provkit_initiator_start, n == PROVKIT_MSG1_LEN && empty(hs));
  /* Message 1 over the certificate it copies. */
  uint8_t *both = h_buf(200, 0);
  memcpy(both, HS_INITIATOR_CERT, 111);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, both, 111, by_value, &f.rngi, both + 100, 34, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_start, hs, IDENTITY_KEY, both + 20, 111, by_value, &f.rngi, both, 34, &n);
  CHECK(provkit_initiator_start, empty(hs) && memcmp(both, HS_INITIATOR_CERT, 111) == 0);
  /* Right next to it is fine. */
  f.ri.pos = 0;
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hs, IDENTITY_KEY, both, 111, by_value, &f.rngi, both + 111, 34, &n);
  CHECK(provkit_initiator_start, memcmp(both + 111, HS_MESSAGE_1, 34) == 0);
  provkit_handshake_reset(hs);
  /* A certificate that is no certificate. */
  uint8_t *garbage = h_buf(111, 0x5c);
  EXPECT_ERR(provkit_initiator_start, hs, IDENTITY_KEY, garbage, 111, by_value, &f.rngi, m1, 34, &n);
  CHECK(provkit_initiator_start, empty(hs));
  /* A failing RNG: RNG_FAILED, message 1 zeroed, no state. */
  test_rng bad = rng_failing();
  provkit_rng rb = rng_of(&bad);
  memset(m1, 0xAA, 34);
  n = 99;
  EXPECT_ST(PROVKIT_ERR_RNG_FAILED, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &rb, m1, 34, &n);
  CHECK(provkit_initiator_start, h_all(m1, 34, 0) && n == 0 && empty(hs) && bad.calls >= 1);
  /* ... also when it fails over a running handshake, which is dropped. */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_RNG_FAILED, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &rb, m1, 34, &n);
  CHECK(provkit_initiator_start, empty(hs));
  /* Started twice: the second start replaces the first. */
  test_rng other = rng_stream(77);
  provkit_rng ro = rng_of(&other);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &ro, m1, 34, &n);
  CHECK(provkit_initiator_start, memcmp(m1, HS_MESSAGE_1, 34) != 0);
  f.ri.pos = 0;
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, m1, 34, &n);
  CHECK(provkit_initiator_start, n == 34 && memcmp(m1, HS_MESSAGE_1, 34) == 0);
  uint8_t m3[PROVKIT_MAX_MSG3_LEN];
  size_t n3;
  provkit_session *s = h_state(sizeof *s);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, f.ini.store, &f.policy, NULL, 0, f.m2, sizeof HS_MESSAGE_2, m3, sizeof m3, &n3, s, NULL);
  CHECK(provkit_initiator_finish, n3 == sizeof HS_MESSAGE_3 && memcmp(m3, HS_MESSAGE_3, n3) == 0);
  /* A longer buffer than needed: 34 bytes written. */
  uint8_t *big = h_buf(64, 0xAA);
  f.ri.pos = 0;
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hs, IDENTITY_KEY, f.cert_i, 111, by_value, &f.rngi, big, 64, &n);
  CHECK(provkit_initiator_start, n == 34 && h_all(big + 34, 30, 0xAA));
  /* The handshake keeps its own copy of the certificate: the caller's may change. */
  memset(f.cert_i, 0, 111);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, f.ini.store, &f.policy, NULL, 0, f.m2, sizeof HS_MESSAGE_2, m3, sizeof m3, &n3, s, NULL);
  CHECK(provkit_initiator_finish, memcmp(m3, HS_MESSAGE_3, sizeof HS_MESSAGE_3) == 0);
  provkit_session_reset(s);
  fixture_free(&f);
}

static void responder_respond(void) {
  fixture f;
  if (!CHECK(provkit_store_import_p256, fixture_new(&f))) return;
  provkit_handshake *hs = h_state(sizeof *hs);
  uint8_t *m2 = h_buf(PROVKIT_MAX_MSG2_LEN, 0xAA);
  size_t n = 99;
  const size_t l1 = sizeof HS_MESSAGE_1, cap = PROVKIT_MAX_MSG2_LEN;
  const uint32_t v = PROVKIT_CREDENTIAL_BY_VALUE, id = IDENTITY_KEY;
  provkit_store *st = f.res.store;

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, NULL, st, id, f.cert_r, 111, v, &f.rngr, f.m1, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, hs, NULL, id, f.cert_r, 111, v, &f.rngr, f.m1, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, hs, st, id, NULL, 111, v, &f.rngr, f.m1, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, NULL, f.m1, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, NULL, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, f.m1, l1, NULL, cap, &n);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, f.m1, l1, m2, cap, NULL);
  CHECK(provkit_responder_respond, empty(hs) && f.rr.calls == 0);
  uint8_t *c110 = h_dup(HS_RESPONDER_CERT, 110);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_responder_respond, hs, st, id, c110, 110, v, &f.rngr, f.m1, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_responder_respond, hs, st, id, f.cert_r, 111, 2, &f.rngr, f.m1, l1, m2, cap, &n);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_responder_respond, hs, st, id, f.cert_r, 111, 0x100, &f.rngr, f.m1, l1, m2, cap, &n);
  /* A store never set up; a released one. */
  provkit_store *none = h_state(sizeof *none);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_responder_respond, hs, none, id, f.cert_r, 111, v, &f.rngr, f.m1, l1, m2, cap, &n);
  /* No identity key under that id. */
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_responder_respond, hs, st, id + 1, f.cert_r, 111, v, &f.rngr, f.m1, l1, m2, cap, &n);
  CHECK(provkit_responder_respond, empty(hs));
  /* One byte short. */
  uint8_t *short2 = h_buf(cap - 1, 0xAA);
  n = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, f.m1, l1, short2, cap - 1, &n);
  CHECK(provkit_responder_respond, n == sizeof HS_MESSAGE_2 && empty(hs));
  /* Message 2 over message 1 or the certificate. */
  uint8_t *both = h_buf(411, 0);
  memcpy(both, HS_MESSAGE_1, l1);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, both, l1, both + 10, cap, &n);
  memcpy(both + 300, HS_RESPONDER_CERT, 111);
  f.rr.calls = 0;
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_responder_respond, hs, st, id, both + 300, 111, v, &f.rngr, f.m1, l1, both + 100, cap, &n);
  CHECK(provkit_responder_respond, empty(hs) && f.rr.calls == 0);

  /* A failing RNG: RNG_FAILED, message 2 zeroed, no state. */
  f.rr.calls = 0;
  test_rng bad = rng_failing();
  provkit_rng rb = rng_of(&bad);
  n = 99;
  EXPECT_ST(PROVKIT_ERR_RNG_FAILED, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &rb, f.m1, l1, m2, cap, &n);
  CHECK(provkit_responder_respond, h_all(m2, cap, 0) && n == 0 && empty(hs) && bad.calls >= 1);

  /* Garbage message 1: every truncation (exact blocks), one byte more, another version,
   * each byte flipped, random bytes. */
  for (size_t len = 0; len < l1; len++) {
    uint8_t *cut = h_dup(HS_MESSAGE_1, len);
    EXPECT_ST(PROVKIT_ERR_DECODE_TRUNCATED, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, cut, len, m2, cap, &n);
  }
  uint8_t *longer = h_buf(l1 + 1, 0);
  memcpy(longer, HS_MESSAGE_1, l1);
  EXPECT_ST(PROVKIT_ERR_DECODE_TRAILING_DATA, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, longer, l1 + 1, m2, cap, &n);
  uint8_t *t = h_dup(HS_MESSAGE_1, l1);
  t[0] ^= 0x80;
  EXPECT_ST(PROVKIT_ERR_DECODE_UNKNOWN_VERSION, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, t, l1, m2, cap, &n);
  t[0] ^= 0x80;
  /* A malformed message 1 is refused before any work: no randomness drawn. */
  CHECK(provkit_responder_respond, empty(hs) && f.rr.calls == 0);
  static const provkit_status point[] = {PROVKIT_OK, PROVKIT_ERR_DECODE_INVALID_POINT};
  for (size_t i = 1; i < l1; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      t[i] ^= (uint8_t)(1u << bit);
      EXPECT_AMONG(point, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, t, l1, m2, cap, &n);
      t[i] ^= (uint8_t)(1u << bit);
    }
  }
  uint64_t seed = 0x6d736731;
  for (int i = 0; i < 32; i++) {
    h_rand_bytes(&seed, t, l1);
    t[0] = HS_MESSAGE_1[0];
    EXPECT_AMONG(point, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, t, l1, m2, cap, &n);
  }
  /* Message 1 with the point at infinity's encoding, and x = p (not a field element). */
  memset(t, 0, l1);
  t[0] = HS_MESSAGE_1[0];
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, t, l1, m2, cap, &n);
  memset(t + 1, 0xFF, l1 - 1);
  t[1] = 0x02;
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_responder_respond, hs, st, id, f.cert_r, 111, v, &f.rngr, t, l1, m2, cap, &n);

  /* Responding twice: the second replaces the first. */
  f.rr.pos = 0;
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  f.rr.pos = 0;
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  provkit_session *s = h_state(sizeof *s);
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hs, &f.policy, NULL, 0, f.m3, sizeof HS_MESSAGE_3, s, NULL);
  /* The identity key is not the certified one: the initiator refuses the signature. */
  EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, st, 99, HS_INITIATOR_SCALAR, 32, NULL, 0);
  provkit_handshake *hi = h_state(sizeof *hi);
  CHECK(provkit_initiator_start, start_initiator(&f, hi));
  f.ri.pos = 0;
  provkit_status wrong = provkit_responder_respond(hs, st, 99, f.cert_r, 111, v, &f.rngr, f.m1, l1, m2, cap, &n);
  if (wrong == PROVKIT_OK) {
    uint8_t m3[PROVKIT_MAX_MSG3_LEN];
    size_t n3;
    EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_initiator_finish, hi, f.ini.store, &f.policy, NULL, 0, m2, n, m3, sizeof m3, &n3, s, NULL);
  } else {
    h_check_status("provkit_responder_respond", wrong, PROVKIT_ERR_CERT_KEY_MISMATCH, __FILE__, __LINE__);
  }
  provkit_handshake_reset(hs);
  provkit_handshake_reset(hi);
  provkit_session_reset(s);
  fixture_free(&f);
}

static void initiator_finish(void) {
  fixture f;
  if (!CHECK(provkit_store_import_p256, fixture_new(&f))) return;
  provkit_handshake *hs = h_state(sizeof *hs);
  provkit_session *s = h_state(sizeof *s);
  uint8_t *m3 = h_buf(PROVKIT_MAX_MSG3_LEN, 0xAA);
  size_t n = 99;
  const size_t l2 = sizeof HS_MESSAGE_2, cap = PROVKIT_MAX_MSG3_LEN;
  provkit_store *st = f.ini.store;
  provkit_peer_policy *p = &f.policy;
  provkit_device_info peer;

  /* NULL pointers: refused before the handshake is touched (it goes on afterwards). */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, NULL, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, p, NULL, 0, NULL, l2, m3, cap, &n, s, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, NULL, cap, &n, s, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, NULL, s, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, NULL, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, p, NULL, 111, f.m2, l2, m3, cap, &n, s, &peer);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_finish, hs, st, p, f.cert_r, 110, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, !empty(hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, NULL, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, !empty(hs));
  /* The policy is an argument too: a NULL one leaves the handshake as it was. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, NULL, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, !empty(hs));
  /* peer_out is optional. */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, NULL);
  CHECK(provkit_initiator_finish, n == sizeof HS_MESSAGE_3 && memcmp(m3, HS_MESSAGE_3, n) == 0);
  /* Finished twice; never started; the other role's state. */
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  provkit_handshake *zero = h_state(sizeof *zero);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_initiator_finish, zero, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  provkit_handshake *hr = h_state(sizeof *hr);
  CHECK(provkit_responder_respond, start_responder(&f, hr));
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_initiator_finish, hr, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  /* ... which stays usable for its own role. */
  provkit_session *sr = h_state(sizeof *sr);
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hr, p, NULL, 0, f.m3, sizeof HS_MESSAGE_3, sr, &peer);
  CHECK(provkit_session_open, record_round_trip(sr, s, "after a wrong-role call"));
  /* After a reset. */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  provkit_handshake_reset(hs);
  CHECK(provkit_handshake_reset, empty(hs));
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  provkit_handshake_reset(hs); /* twice */
  provkit_handshake_reset(NULL);
  CHECK(provkit_handshake_reset, empty(hs));

  /* One byte short for message 3: the length needed, the handshake left as it was (and
   * untouched output), and a retry with room finishes it with the vector's message 3. */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  uint8_t *short3 = h_buf(cap - 1, 0xAA);
  n = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, short3, cap - 1, &n, s, &peer);
  CHECK(provkit_initiator_finish, n == sizeof HS_MESSAGE_3 && !empty(hs) && h_all(short3, cap - 1, 0xAA));
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, n == sizeof HS_MESSAGE_3 && memcmp(m3, HS_MESSAGE_3, n) == 0 && empty(hs));
  /* Message 3 over message 2 or over the known peer. */
  uint8_t *both = h_buf(500, 0);
  memcpy(both, HS_MESSAGE_2, l2);
  memcpy(both + 300, HS_RESPONDER_CERT, 111);
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_finish, hs, st, p, NULL, 0, both, l2, both + 100, cap, &n, s, &peer);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_finish, hs, st, p, both + 300, 111, f.m2, l2, both + 250, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, !empty(hs));
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, st, p, NULL, 0, both, l2, both + l2, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, memcmp(both + l2, HS_MESSAGE_3, sizeof HS_MESSAGE_3) == 0);

  /* Policies. */
  provkit_peer_policy q = *p;
  uint64_t *revoked = (uint64_t *)h_buf(3 * sizeof(uint64_t), 0);
  revoked[0] = 5;
  revoked[1] = 2; /* the responder */
  revoked[2] = 9;
  q.revoked = revoked;
  q.revoked_len = 3;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REVOKED, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q.revoked_len = 1;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q.revoked = NULL;
  q.revoked_len = 2;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  uint8_t *raw = h_buf(2 * sizeof(uint64_t) + 1, 0);
  q.revoked = (const uint64_t *)(const void *)(raw + 1); /* misaligned: refused, not read */
  q.revoked_len = 2;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q = *p;
  q.now = 0;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_CERT_NOT_YET_VALID, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q = *p;
  q.root = CHAIN_ROOT;
  q.root_len = sizeof CHAIN_ROOT;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_CERT_ISSUER_MISMATCH, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q = *p;
  q.intermediate = CHAIN_INTERMEDIATE;
  q.intermediate_len = sizeof CHAIN_INTERMEDIATE;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ERR(provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q = *p;
  q.root = NULL;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q = *p;
  q.intermediate_len = 10;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  q = *p;
  q.root_len = 100;
  q.root = h_dup(HS_ROOT, 100);
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ERR(provkit_initiator_finish, hs, st, &q, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  /* A malformed policy is an argument error: the handshake is left as it was. */
  CHECK(provkit_initiator_finish, !empty(hs));

  /* A handshake state copied elsewhere: the copy is refused (and wiped); the original,
   * which did not move, still finishes. */
  provkit_handshake *copy = h_state(sizeof *copy);
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  memcpy(copy, hs, sizeof *hs);
  EXPECT_ST(PROVKIT_ERR_STATE_MOVED, provkit_initiator_finish, copy, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, empty(copy) && n == 0);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_initiator_finish, copy, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, memcmp(m3, HS_MESSAGE_3, sizeof HS_MESSAGE_3) == 0);
  /* Moved, the old place freed: refused without touching the old place. */
  provkit_handshake *old = aligned_alloc(16, sizeof *old);
  memset(old, 0, sizeof *old);
  CHECK(provkit_initiator_start, start_initiator(&f, old));
  memcpy(copy, old, sizeof *old);
  free(old);
  EXPECT_ST(PROVKIT_ERR_STATE_MOVED, provkit_initiator_finish, copy, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  /* ... and reset (a drop) of a moved state, too. */
  old = aligned_alloc(16, sizeof *old);
  memset(old, 0, sizeof *old);
  CHECK(provkit_initiator_start, start_initiator(&f, old));
  memcpy(copy, old, sizeof *old);
  free(old);
  provkit_handshake_reset(copy);
  CHECK(provkit_handshake_reset, empty(copy));

  /* Garbage message 2: every truncation (exact blocks), one byte more, each byte with a
   * bit flipped, random bytes. Each is refused with a named error, and the handshake is
   * over. */
  for (size_t len = 0; len < l2; len++) {
    uint8_t *cut = h_dup(HS_MESSAGE_2, len);
    CHECK(provkit_initiator_start, start_initiator(&f, hs));
    EXPECT_ERR(provkit_initiator_finish, hs, st, p, NULL, 0, cut, len, m3, cap, &n, s, &peer);
    CHECK(provkit_initiator_finish, empty(hs) && n == 0);
  }
  uint8_t *longer = h_buf(l2 + 1, 0);
  memcpy(longer, HS_MESSAGE_2, l2);
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ERR(provkit_initiator_finish, hs, st, p, NULL, 0, longer, l2 + 1, m3, cap, &n, s, &peer);
  uint8_t *t = h_dup(HS_MESSAGE_2, l2);
  for (size_t i = 0; i < l2; i++) {
    t[i] ^= (uint8_t)(1u << (i % 8));
    CHECK(provkit_initiator_start, start_initiator(&f, hs));
    EXPECT_ERR(provkit_initiator_finish, hs, st, p, NULL, 0, t, l2, m3, cap, &n, s, &peer);
    t[i] ^= (uint8_t)(1u << (i % 8));
  }
  /* A flipped tag or ciphertext: an opaque CRYPTO. */
  t[l2 - 1] ^= 1;
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_initiator_finish, hs, st, p, NULL, 0, t, l2, m3, cap, &n, s, &peer);
  t[l2 - 1] ^= 1;
  /* The initiator's own ephemeral key sent back (the keys no longer agree). */
  memcpy(t, HS_MESSAGE_1 + 1, 33);
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_initiator_finish, hs, st, p, NULL, 0, t, l2, m3, cap, &n, s, &peer);
  memcpy(t, HS_MESSAGE_2, l2);
  /* A responder presenting the initiator's own certificate (and holding its key): a
   * reflection, by value and by reference. */
  EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, f.res.store, 98, HS_INITIATOR_SCALAR, 32, NULL, 0);
  for (uint32_t mode = 0; mode < 2; mode++) {
    uint8_t m2[PROVKIT_MAX_MSG2_LEN];
    size_t n2;
    provkit_handshake *mirror = h_state(sizeof *mirror);
    CHECK(provkit_initiator_start, start_initiator(&f, hs));
    EXPECT_ST(PROVKIT_OK, provkit_responder_respond, mirror, f.res.store, 98, f.cert_i, 111, mode, &f.rngr, f.m1, sizeof HS_MESSAGE_1, m2, sizeof m2, &n2);
    EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REFLECTION, provkit_initiator_finish, hs, st, p, mode ? f.cert_i : NULL, mode ? 111 : 0, m2, n2, m3, cap, &n, s, &peer);
    provkit_handshake_reset(mirror);
  }
  uint64_t seed = 0x6d736732;
  for (int i = 0; i < 32; i++) {
    h_rand_bytes(&seed, t, l2);
    CHECK(provkit_initiator_start, start_initiator(&f, hs));
    EXPECT_ERR(provkit_initiator_finish, hs, st, p, NULL, 0, t, (size_t)(i * 7) % (l2 + 1), m3, cap, &n, s, &peer);
  }
  /* Message 1 given back as message 2, message 3 as message 2. */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ERR(provkit_initiator_finish, hs, st, p, NULL, 0, f.m1, sizeof HS_MESSAGE_1, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ERR(provkit_initiator_finish, hs, st, p, NULL, 0, f.m3, sizeof HS_MESSAGE_3, m3, cap, &n, s, &peer);
  /* After all that, the same state still makes the vector. */
  CHECK(provkit_initiator_start, start_initiator(&f, hs));
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hs, st, p, NULL, 0, f.m2, l2, m3, cap, &n, s, &peer);
  CHECK(provkit_initiator_finish, memcmp(m3, HS_MESSAGE_3, sizeof HS_MESSAGE_3) == 0);
  provkit_session_reset(s);
  provkit_session_reset(sr);
  fixture_free(&f);
}

static void responder_finish(void) {
  fixture f;
  if (!CHECK(provkit_store_import_p256, fixture_new(&f))) return;
  provkit_handshake *hs = h_state(sizeof *hs);
  provkit_session *s = h_state(sizeof *s);
  const size_t l3 = sizeof HS_MESSAGE_3;
  provkit_peer_policy *p = &f.policy;
  provkit_device_info peer;

  CHECK(provkit_responder_respond, start_responder(&f, hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_finish, NULL, p, NULL, 0, f.m3, l3, s, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_finish, hs, p, NULL, 0, NULL, l3, s, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_finish, hs, p, NULL, 0, f.m3, l3, NULL, &peer);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_finish, hs, p, NULL, 111, f.m3, l3, s, &peer);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_responder_finish, hs, p, f.cert_i, 112, f.m3, l3, s, &peer);
  CHECK(provkit_responder_finish, !empty(hs));
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_responder_finish, hs, NULL, NULL, 0, f.m3, l3, s, &peer);
  CHECK(provkit_responder_finish, !empty(hs));
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  memset(&peer, 0xCC, sizeof peer);
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hs, p, NULL, 0, f.m3, l3, s, &peer);
  CHECK(provkit_responder_finish, peer.serial == 1 && peer.public_key[0] == 4);
  /* Twice; never started; the other role's state (left usable). */
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_responder_finish, hs, p, NULL, 0, f.m3, l3, s, &peer);
  provkit_handshake *zero = h_state(sizeof *zero);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_responder_finish, zero, p, NULL, 0, f.m3, l3, s, &peer);
  provkit_handshake *hi = h_state(sizeof *hi);
  CHECK(provkit_initiator_start, start_initiator(&f, hi));
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_responder_finish, hi, p, NULL, 0, f.m3, l3, s, &peer);
  CHECK(provkit_responder_finish, !empty(hi));
  uint8_t m3[PROVKIT_MAX_MSG3_LEN];
  size_t n3;
  provkit_session *si = h_state(sizeof *si);
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hi, f.ini.store, p, NULL, 0, f.m2, sizeof HS_MESSAGE_2, m3, sizeof m3, &n3, si, NULL);
  /* The session from before the wrong-role call talks to this one. */
  CHECK(provkit_session_open, record_round_trip(s, si, "responder session"));
  /* Revoked initiator. */
  uint64_t revoked[1] = {1};
  provkit_peer_policy q = *p;
  q.revoked = revoked;
  q.revoked_len = 1;
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REVOKED, provkit_responder_finish, hs, &q, NULL, 0, f.m3, l3, s, &peer);
  CHECK(provkit_responder_finish, empty(hs));
  /* An initiator presenting the responder's own certificate (holding its key). */
  EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, f.ini.store, 98, HS_RESPONDER_SCALAR, 32, NULL, 0);
  for (uint32_t mode = 0; mode < 2; mode++) {
    uint8_t m1[PROVKIT_MSG1_LEN], m2[PROVKIT_MAX_MSG2_LEN];
    size_t n1, n2;
    test_rng a = rng_stream(mode + 10);
    provkit_rng ra = rng_of(&a);
    EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, 98, f.cert_r, 111, mode, &ra, m1, sizeof m1, &n1);
    EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hs, f.res.store, IDENTITY_KEY, f.cert_r, 111, PROVKIT_CREDENTIAL_BY_VALUE, &f.rngr, m1, n1, m2, sizeof m2, &n2);
    /* The initiator refuses first: the responder is its own certificate too. */
    EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REFLECTION, provkit_initiator_finish, hi, f.ini.store, p, NULL, 0, m2, n2, m3, sizeof m3, &n3, si, NULL);
    provkit_handshake_reset(hs);
  }
  /* Moved. */
  provkit_handshake *copy = h_state(sizeof *copy);
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  memcpy(copy, hs, sizeof *hs);
  EXPECT_ST(PROVKIT_ERR_STATE_MOVED, provkit_responder_finish, copy, p, NULL, 0, f.m3, l3, s, &peer);
  CHECK(provkit_responder_finish, empty(copy));
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hs, p, NULL, 0, f.m3, l3, s, &peer);
  /* Garbage message 3. */
  for (size_t len = 0; len < l3; len++) {
    uint8_t *cut = h_dup(HS_MESSAGE_3, len);
    CHECK(provkit_responder_respond, start_responder(&f, hs));
    EXPECT_ERR(provkit_responder_finish, hs, p, NULL, 0, cut, len, s, &peer);
    CHECK(provkit_responder_finish, empty(hs));
  }
  uint8_t *longer = h_buf(l3 + 1, 0);
  memcpy(longer, HS_MESSAGE_3, l3);
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  EXPECT_ERR(provkit_responder_finish, hs, p, NULL, 0, longer, l3 + 1, s, &peer);
  uint8_t *t = h_dup(HS_MESSAGE_3, l3);
  for (size_t i = 0; i < l3; i++) {
    t[i] ^= (uint8_t)(0x80u >> (i % 8));
    CHECK(provkit_responder_respond, start_responder(&f, hs));
    EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_responder_finish, hs, p, NULL, 0, t, l3, s, &peer);
    t[i] ^= (uint8_t)(0x80u >> (i % 8));
  }
  uint64_t seed = 0x6d736733;
  uint8_t *big = h_buf(600, 0);
  for (int i = 0; i < 24; i++) {
    size_t len = (size_t)(i * 25);
    h_rand_bytes(&seed, big, len);
    CHECK(provkit_responder_respond, start_responder(&f, hs));
    EXPECT_ERR(provkit_responder_finish, hs, p, NULL, 0, big, len, s, &peer);
  }
  /* Message 2 given as message 3. */
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  EXPECT_ERR(provkit_responder_finish, hs, p, NULL, 0, f.m2, sizeof HS_MESSAGE_2, s, &peer);
  /* Still the vector afterwards. */
  CHECK(provkit_responder_respond, start_responder(&f, hs));
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hs, p, NULL, 0, f.m3, l3, s, &peer);
  provkit_session_reset(s);
  provkit_session_reset(si);
  fixture_free(&f);
}

void test_handshake(void) {
  vector();
  initiator_start();
  responder_respond();
  initiator_finish();
  responder_finish();
}
