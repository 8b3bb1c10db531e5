/* provkit_store_use_keystore: a secure element written in C over OpenSSL behind the
 * vtable, holding the responder's identity key and the records. The handshake through it
 * completes and its sessions interoperate (its ECDSA nonces are random: message 2 is not
 * the vector's); callback statuses map to store errors; a public key off the curve is
 * refused. */
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "provkit_vectors.h"
#include "se.h"
#include "tests.h"

static void setup(void) {
  se e;
  se_init(&e);
  provkit_store *s = h_state(sizeof *s);
  provkit_keystore_vtable vt = se_vtable();

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_use_keystore, NULL, &vt, &e);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_use_keystore, s, NULL, &e);
  provkit_keystore_vtable missing = vt;
  missing.public_key = NULL;
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_use_keystore, s, &missing, &e);
  missing = vt;
  missing.sign_digest = NULL;
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_use_keystore, s, &missing, &e);
  CHECK(provkit_store_use_keystore, h_all(s->opaque, sizeof s->opaque, 0));
  /* ECDH is optional (the device functions never agree with the identity key). */
  missing = vt;
  missing.ecdh = NULL;
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &missing, &e);
  provkit_store_release(s);
  /* The optional callbacks may be NULL: those functions are UNSUPPORTED. */
  provkit_keystore_vtable minimal = {.public_key = vt.public_key, .sign_digest = vt.sign_digest, .ecdh = vt.ecdh};
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &minimal, &e);
  test_rng r = rng_stream(1);
  provkit_rng rng = rng_of(&r);
  uint8_t pub[65], out[16];
  size_t len;
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_generate_p256, s, 1, &rng, pub, 65);
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_delete_key, s, 1);
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_read_record, s, 1, out, sizeof out, &len);
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_delete_record, s, 1);
  /* max_record_len 0: every non-empty record is too large (before any callback). */
  EXPECT_ST(PROVKIT_ERR_STORE_RECORD_TOO_LARGE, provkit_store_write_record, s, 1, out, 1);
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_write_record, s, 1, NULL, 0);
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_import_p256, s, 1, HS_RESPONDER_SCALAR, 32, pub, 65);
  EXPECT_ST(PROVKIT_ERR_STORE_RECORD_TOO_LARGE, provkit_dukpt_load_initial_key, s, 0, DUKPT_IKID, 8, DUKPT_IK, 16);
  /* Set up again over the full vtable (the first is released); a NULL ctx is passed on. */
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &vt, NULL);
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &vt, &e);
  /* The vtable is copied: the caller's may change or go. */
  vt.public_key = NULL;
  vt.max_record_len = 0;
  CHECK(provkit_store_use_keystore, se_provision(&e, 1, HS_RESPONDER_SCALAR));
  EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 1, pub, 65);
  EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, out, 16);
  /* A flash store and a C key store share the state type: either replaces the other. */
  ramflash f = ramflash_new(4096, 2, false);
  mount_store(s, &f);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 1, pub, 65);
  vt = se_vtable();
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &vt, &e);
  EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 1, pub, 65);
  /* Releasing calls nothing in the element. */
  unsigned calls = e.public_calls + e.sign_calls + e.read_calls + e.write_calls + e.generate_calls;
  provkit_store_release(s);
  CHECK(provkit_store_release, h_all(s->opaque, sizeof s->opaque, 0));
  CHECK(provkit_store_release, calls == e.public_calls + e.sign_calls + e.read_calls + e.write_calls + e.generate_calls);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_public_key, s, 1, pub, 65);
  CHECK(provkit_store_use_keystore, e.contract_breaches == 0);
  ramflash_free(&f);
  se_free(&e);
  h_free_all();
}

/* A store over the secure element `e`, holding the responder's identity key. */
static provkit_store *se_store(se *e) {
  se_init(e);
  provkit_store *s = h_state(sizeof *s);
  provkit_keystore_vtable vt = se_vtable();
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &vt, e);
  CHECK(provkit_store_use_keystore, se_provision(e, IDENTITY_KEY, HS_RESPONDER_SCALAR));
  return s;
}

static void keys_and_records(void) {
  se e;
  provkit_store *s = se_store(&e);
  provkit_keystore_vtable vt = se_vtable();
  provkit_device_info cert;
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, HS_RESPONDER_CERT, 111, &cert);
  uint8_t *pub = h_buf(65, 0);
  EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  CHECK(provkit_store_public_key, memcmp(pub, cert.public_key, 65) == 0 && e.public_len == 65);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 2, pub, 65);
  /* Import is not for secure elements. */
  EXPECT_ST(PROVKIT_ERR_UNSUPPORTED, provkit_store_import_p256, s, 2, HS_INITIATOR_SCALAR, 32, pub, 65);
  /* Generate: the element's own RNG, so a failing provkit_rng is not even called. */
  test_rng bad = rng_failing();
  provkit_rng rb = rng_of(&bad);
  uint8_t *gen = h_buf(65, 0);
  EXPECT_ST(PROVKIT_OK, provkit_store_generate_p256, s, 2, &rb, gen, 65);
  CHECK(provkit_store_generate_p256, bad.calls == 0 && gen[0] == 0x04);
  EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 2, pub, 65);
  CHECK(provkit_store_generate_p256, memcmp(pub, gen, 65) == 0);
  EXPECT_ST(PROVKIT_ERR_STORE_ALREADY_EXISTS, provkit_store_generate_p256, s, 2, &rb, gen, 65);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_generate_p256, s, 3, NULL, gen, 65);
  EXPECT_ST(PROVKIT_OK, provkit_store_delete_key, s, 2);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_delete_key, s, 2);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 2, pub, 65);

  /* Callback statuses: a store error passes through, anything else is STORE_BACKEND. */
  struct {
    int32_t returned;
    provkit_status seen;
  } map[] = {
      {PROVKIT_ERR_STORE_NOT_FOUND, PROVKIT_ERR_STORE_NOT_FOUND},
      {PROVKIT_ERR_STORE_FULL, PROVKIT_ERR_STORE_FULL},
      {PROVKIT_ERR_STORE_CORRUPT, PROVKIT_ERR_STORE_CORRUPT},
      {PROVKIT_ERR_STORE_WRONG_KEY_KIND, PROVKIT_ERR_STORE_WRONG_KEY_KIND},
      {PROVKIT_ERR_STORE_ALREADY_EXISTS, PROVKIT_ERR_STORE_ALREADY_EXISTS},
      {PROVKIT_ERR_STORE_RECORD_TOO_LARGE, PROVKIT_ERR_STORE_RECORD_TOO_LARGE},
      {PROVKIT_ERR_STORE_BACKEND, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_UNSUPPORTED, PROVKIT_ERR_UNSUPPORTED},
      {PROVKIT_ERR_CRYPTO, PROVKIT_ERR_CRYPTO},
      {12345, PROVKIT_ERR_STORE_BACKEND},
      {-1, PROVKIT_ERR_STORE_BACKEND},
      {INT32_MIN, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_PANIC, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_NULL_POINTER, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_BUFFER_TOO_SMALL, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_WRONG_STATE, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_RNG_FAILED, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_DUKPT_EXHAUSTED, PROVKIT_ERR_STORE_BACKEND},
      {PROVKIT_ERR_STORE_OTHER, PROVKIT_ERR_STORE_BACKEND},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    e.public_status = map[i].returned;
    EXPECT_ST(map[i].seen, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
    e.public_status = 0;
    e.generate_status = map[i].returned;
    EXPECT_ST(map[i].seen, provkit_store_generate_p256, s, 5, &rb, pub, 65);
    e.generate_status = 0;
    e.delete_status = map[i].returned;
    EXPECT_ST(map[i].seen, provkit_store_delete_key, s, IDENTITY_KEY);
    e.delete_status = 0;
    e.write_status = map[i].returned;
    EXPECT_ST(map[i].seen, provkit_store_write_record, s, 1, (const uint8_t *)"x", 1);
    e.write_status = 0;
    e.delete_record_status = map[i].returned;
    EXPECT_ST(map[i].seen, provkit_store_delete_record, s, 1);
    e.delete_record_status = 0;
    if (map[i].returned != PROVKIT_ERR_BUFFER_TOO_SMALL) {
      e.read_status = map[i].returned;
      EXPECT_ST(map[i].seen, provkit_store_read_record, s, 1, pub, 65, &(size_t){0});
      e.read_status = 0;
    }
  }
  EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  /* A public key off the curve, and other non-keys, from the element: refused. */
  e.bad_point = true;
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  uint8_t *g2 = h_buf(65, 0xAA);
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_store_generate_p256, s, 6, &rb, g2, 65);
  CHECK(provkit_store_generate_p256, h_all(g2, 65, 0xAA));
  e.bad_point = false;
  int k = -1;
  for (int i = 0; i < SE_KEYS; i++)
    if (e.keys[i].used && e.keys[i].id == IDENTITY_KEY) k = i;
  uint8_t saved[65];
  memcpy(saved, e.keys[k].pub, 65);
  static const uint8_t prefixes[] = {0x00, 0x02, 0x03, 0x05, 0xFF};
  for (size_t i = 0; i < sizeof prefixes; i++) {
    e.keys[k].pub[0] = prefixes[i];
    EXPECT_ERR(provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  }
  memset(e.keys[k].pub, 0, 65);
  e.keys[k].pub[0] = 0x04;
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  memset(e.keys[k].pub + 1, 0xFF, 64); /* coordinates >= p */
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_POINT, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  memcpy(e.keys[k].pub, saved, 65);
  EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, IDENTITY_KEY, pub, 65);
  CHECK(provkit_store_public_key, memcmp(pub, saved, 65) == 0);

  /* Records through the vtable. */
  uint8_t *data = h_dup("secure element record", 21);
  size_t len = 0;
  EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 7, data, 21);
  uint8_t *exact = h_buf(21, 0);
  EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 7, exact, 21, &len);
  CHECK(provkit_store_read_record, len == 21 && memcmp(exact, data, 21) == 0);
  uint8_t *short_out = h_buf(20, 0);
  len = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_read_record, s, 7, short_out, 20, &len);
  CHECK(provkit_store_read_record, len == 21);
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_read_record, s, 7, NULL, 0, &len);
  CHECK(provkit_store_read_record, len == 21);
  /* An element that claims to have written more than it was given room for. */
  e.read_lies = true;
  EXPECT_ST(PROVKIT_ERR_STORE_CORRUPT, provkit_store_read_record, s, 7, exact, 21, &len);
  CHECK(provkit_store_read_record, len == 0);
  e.read_lies = false;
  /* Larger than the element's max_record_len: refused before the callback. */
  unsigned writes = e.write_calls;
  uint8_t *big = h_buf(SE_RECORD_MAX + 1, 1);
  EXPECT_ST(PROVKIT_ERR_STORE_RECORD_TOO_LARGE, provkit_store_write_record, s, 8, big, SE_RECORD_MAX + 1);
  CHECK(provkit_store_write_record, e.write_calls == writes);
  EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 8, big, SE_RECORD_MAX);
  EXPECT_ST(PROVKIT_OK, provkit_store_delete_record, s, 7);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_read_record, s, 7, exact, 21, &len);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_delete_record, s, 7);

  /* DUKPT over the element's records: the vectors again. */
  uint8_t ksn[12], block[16], mac[16];
  provkit_dukpt_transaction *txn = h_state(sizeof *txn);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, 20, DUKPT_IKID, 8, DUKPT_IK, 16);
  for (uint32_t counter = 1; counter <= 2; counter++) {
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, 20, txn, ksn, 12);
    CHECK(provkit_dukpt_next_transaction, ksn[11] == counter);
    test_rng fill = rng_replay(DUKPT_FILL, 8);
    provkit_rng rf = rng_of(&fill);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_pin_block, txn, PROVKIT_DUKPT_KEY_AES128, (const uint8_t *)DUKPT_PIN,
              strlen(DUKPT_PIN), (const uint8_t *)DUKPT_PAN, strlen(DUKPT_PAN), &rf, block, 16);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, PROVKIT_DUKPT_KEY_AES128, (const uint8_t *)DUKPT_MESSAGE,
              strlen(DUKPT_MESSAGE), mac, 16);
    CHECK(provkit_dukpt_encrypt_pin_block, memcmp(block, DUKPT_VECTORS[counter - 1].pin_block, 16) == 0);
    CHECK(provkit_dukpt_request_cmac, memcmp(mac, DUKPT_VECTORS[counter - 1].mac, 16) == 0);
  }
  /* The element cannot store the advance: refused, and no counter is used twice. */
  e.write_status = PROVKIT_ERR_STORE_BACKEND;
  EXPECT_ST(PROVKIT_ERR_STORE_BACKEND, provkit_dukpt_next_transaction, s, 20, txn, ksn, 12);
  e.write_status = 0;
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, 20, txn, ksn, 12);
  CHECK(provkit_dukpt_next_transaction, ksn[11] >= 3);
  e.read_status = PROVKIT_ERR_STORE_CORRUPT;
  EXPECT_ST(PROVKIT_ERR_STORE_CORRUPT, provkit_dukpt_next_transaction, s, 20, txn, ksn, 12);
  e.read_status = 0;
  provkit_dukpt_transaction_reset(txn);
  /* An element whose records are too small for the DUKPT registers. */
  /* The smallest records DUKPT takes: 20 bytes for an AES-128 initial key, 36 for AES-256
   * (the header says 40, which is enough for both); smaller is refused before anything is
   * written. */
  static const uint8_t ik32[32] = {1, 2, 3};
  size_t least[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    for (size_t max = 0; max <= SE_RECORD_MAX && least[k] == 0; max++) {
      se fresh;
      se_init(&fresh);
      provkit_keystore_vtable small = se_vtable();
      small.max_record_len = max;
      EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &small, &fresh);
      provkit_status st = k == 0 ? provkit_dukpt_load_initial_key(s, 100, DUKPT_IKID, 8, DUKPT_IK, 16)
                                 : provkit_dukpt_load_initial_key(s, 100, DUKPT_IKID, 8, ik32, 32);
      if (st == PROVKIT_OK) {
        least[k] = max;
        EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, 100, txn, ksn, 12);
      } else {
        h_check_status("provkit_dukpt_load_initial_key", st, PROVKIT_ERR_STORE_RECORD_TOO_LARGE, __FILE__, __LINE__);
        CHECK(provkit_dukpt_load_initial_key, fresh.write_calls == 0);
      }
      provkit_store_release(s);
      se_free(&fresh);
    }
  }
  CHECK(provkit_dukpt_load_initial_key, least[0] == 20 && least[1] == 36);
  se fresh;
  se_init(&fresh);
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s, &vt, &fresh);
  /* ... and one that runs out of record slots (33 needed, 64 slots, 40 used). */
  for (uint32_t i = 0; i < 40; i++) EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1000 + i, (const uint8_t *)"r", 1);
  EXPECT_ST(PROVKIT_ERR_STORE_FULL, provkit_dukpt_load_initial_key, s, 200, DUKPT_IKID, 8, DUKPT_IK, 16);
  se_free(&fresh);

  provkit_store_release(s);
  CHECK(provkit_store_use_keystore, e.contract_breaches == 0);
  se_free(&e);
  h_free_all();
}

/* The responder's identity key in the element; the initiator on a flash store. */
static void handshake(void) {
  se e;
  provkit_store *s = se_store(&e);
  provkit_keystore_vtable vt = se_vtable();
  device ini;
  CHECK(provkit_store_import_p256, device_new(&ini, HS_INITIATOR_SCALAR));
  provkit_session *si = h_state(sizeof *si), *sr = h_state(sizeof *sr);

  /* Several runs: OpenSSL's s is high half the time, which provkit normalizes. */
  for (int run = 0; run < 6; run++) {
    unsigned signs = e.sign_calls;
    test_rng rr = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
    CHECK(provkit_store_use_keystore, run_handshake(ini.store, s, &rr, si, sr, false));
    CHECK(provkit_store_use_keystore, e.sign_calls == signs + 1 && e.digest_len == 32 && e.signature_len == 64);
    CHECK(provkit_session_open, record_round_trip(sr, si, "from the secure element's side"));
    CHECK(provkit_session_open, record_round_trip(si, sr, "to the secure element's side"));
    uint8_t a[32], b[32];
    EXPECT_ST(PROVKIT_OK, provkit_session_export, si, (const uint8_t *)"vector", 6, NULL, 0, a, 32);
    EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, (const uint8_t *)"vector", 6, NULL, 0, b, 32);
    CHECK(provkit_session_export, memcmp(a, b, 32) == 0);
  }
  /* Message 1 is the vector's (no signature in it); message 2 differs from the vector
   * only by the signature inside its ciphertext. */
  provkit_handshake *hi = h_state(sizeof *hi), *hr = h_state(sizeof *hr);
  test_rng ri = rng_replay(HS_INITIATOR_EPHEMERAL, 32), rr = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
  provkit_rng rngi = rng_of(&ri), rngr = rng_of(&rr);
  uint8_t m1[PROVKIT_MSG1_LEN], m2[PROVKIT_MAX_MSG2_LEN], m3[PROVKIT_MAX_MSG3_LEN];
  size_t n1, n2, n3;
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, HS_INITIATOR_CERT, 111, PROVKIT_CREDENTIAL_BY_VALUE, &rngi, m1, sizeof m1, &n1);
  CHECK(provkit_initiator_start, memcmp(m1, HS_MESSAGE_1, sizeof m1) == 0);
  EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hr, s, IDENTITY_KEY, HS_RESPONDER_CERT, 111, PROVKIT_CREDENTIAL_BY_VALUE, &rngr, m1, n1, m2, sizeof m2, &n2);
  CHECK(provkit_responder_respond, n2 == sizeof HS_MESSAGE_2 && memcmp(m2, HS_MESSAGE_2, 33) == 0 &&
                                       memcmp(m2, HS_MESSAGE_2, n2) != 0);
  provkit_peer_policy policy = vector_policy();
  EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hi, ini.store, &policy, NULL, 0, m2, n2, m3, sizeof m3, &n3, si, NULL);
  EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hr, &policy, NULL, 0, m3, n3, sr, NULL);

  /* The element fails to sign: the responder reports it and keeps no state. */
  struct {
    int32_t returned;
    provkit_status seen;
  } fail[] = {{PROVKIT_ERR_STORE_NOT_FOUND, PROVKIT_ERR_STORE_NOT_FOUND},
              {PROVKIT_ERR_STORE_BACKEND, PROVKIT_ERR_STORE_BACKEND},
              {777, PROVKIT_ERR_STORE_BACKEND},
              {PROVKIT_ERR_STORE_WRONG_KEY_KIND, PROVKIT_ERR_STORE_WRONG_KEY_KIND}};
  for (size_t i = 0; i < 4; i++) {
    e.sign_status = fail[i].returned;
    ri.pos = rr.pos = 0;
    EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, HS_INITIATOR_CERT, 111, PROVKIT_CREDENTIAL_BY_VALUE, &rngi, m1, sizeof m1, &n1);
    EXPECT_ST(fail[i].seen, provkit_responder_respond, hr, s, IDENTITY_KEY, HS_RESPONDER_CERT, 111, PROVKIT_CREDENTIAL_BY_VALUE, &rngr, m1, n1, m2, sizeof m2, &n2);
    CHECK(provkit_responder_respond, h_all(hr->opaque, sizeof hr->opaque, 0) && n2 == 0);
    provkit_handshake_reset(hi);
  }
  e.sign_status = 0;
  /* A signature that does not verify: the initiator refuses it. */
  e.bad_signature = true;
  ri.pos = rr.pos = 0;
  EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, HS_INITIATOR_CERT, 111, PROVKIT_CREDENTIAL_BY_VALUE, &rngi, m1, sizeof m1, &n1);
  EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hr, s, IDENTITY_KEY, HS_RESPONDER_CERT, 111, PROVKIT_CREDENTIAL_BY_VALUE, &rngr, m1, n1, m2, sizeof m2, &n2);
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_initiator_finish, hi, ini.store, &policy, NULL, 0, m2, n2, m3, sizeof m3, &n3, si, NULL);
  provkit_handshake_reset(hr);
  e.bad_signature = false;

  /* The element as the initiator's store too: both identity keys in C key stores. */
  se e2;
  se_init(&e2);
  provkit_store *s2 = h_state(sizeof *s2);
  EXPECT_ST(PROVKIT_OK, provkit_store_use_keystore, s2, &vt, &e2);
  CHECK(provkit_store_use_keystore, se_provision(&e2, IDENTITY_KEY, HS_INITIATOR_SCALAR));
  test_rng r3 = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
  CHECK(provkit_store_use_keystore, run_handshake(s2, s, &r3, si, sr, false));
  CHECK(provkit_session_open, record_round_trip(sr, si, "between two secure elements"));
  CHECK(provkit_store_use_keystore, e2.sign_calls == 1);
  /* The vtable's ecdh is required, but no function of the C API reaches it today. */
  CHECK(provkit_store_use_keystore, e.ecdh_calls == 0 && e2.ecdh_calls == 0);
  /* (It works: the element's ECDH agrees with OpenSSL's both ways.) */
  uint8_t x1[32], x2[32], pi[65], pr[65];
  CHECK(provkit_store_use_keystore, openssl_public_key(HS_INITIATOR_SCALAR, pi) && openssl_public_key(HS_RESPONDER_SCALAR, pr));
  CHECK(provkit_store_use_keystore, se_ecdh_direct(&e, IDENTITY_KEY, pi, x1) == 0 &&
                                        se_ecdh_direct(&e2, IDENTITY_KEY, pr, x2) == 0 && memcmp(x1, x2, 32) == 0);

  provkit_session_reset(si);
  provkit_session_reset(sr);
  provkit_store_release(s);
  provkit_store_release(s2);
  device_free(&ini);
  CHECK(provkit_store_use_keystore, e.contract_breaches == 0 && e2.contract_breaches == 0);
  se_free(&e);
  se_free(&e2);
  h_free_all();
}

void test_keystore(void) {
  setup();
  keys_and_records();
  handshake();
}
