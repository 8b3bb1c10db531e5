/* Sessions: records both ways, replay and reordering, forgeries, truncation, rekey,
 * exporters, every argument, reset and zero states. */
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "provkit_vectors.h"
#include "tests.h"

typedef struct {
  device ini, res;
  provkit_session *si, *sr;
} pair;

static bool pair_new(pair *p) {
  memset(p, 0, sizeof *p);
  if (!device_new(&p->ini, HS_INITIATOR_SCALAR) || !device_new(&p->res, HS_RESPONDER_SCALAR))
    return false;
  p->si = h_state(sizeof *p->si);
  p->sr = h_state(sizeof *p->sr);
  test_rng rr = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
  return run_handshake(p->ini.store, p->res.store, &rr, p->si, p->sr, true);
}

static void pair_free(pair *p) {
  provkit_session_reset(p->si);
  provkit_session_reset(p->sr);
  CHECK(provkit_session_reset, h_all(p->si->opaque, PROVKIT_SESSION_SIZE, 0) &&
                                   h_all(p->sr->opaque, PROVKIT_SESSION_SIZE, 0));
  device_free(&p->ini);
  device_free(&p->res);
  h_free_all();
}

/* Seals `text` at `from` into a fresh exact block; returns it, its length in *len. */
static uint8_t *seal(provkit_session *from, const char *text, size_t *len) {
  size_t n = strlen(text);
  uint8_t *rec = h_buf(n + PROVKIT_RECORD_OVERHEAD, 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, from, (const uint8_t *)text, n, NULL, 0, rec,
            n + PROVKIT_RECORD_OVERHEAD, len);
  return rec;
}

static bool opens(provkit_session *to, const uint8_t *rec, size_t len, const char *text) {
  size_t n = strlen(text), got = 0;
  uint8_t *out = h_buf(n, 0);
  return EXPECT_ST(PROVKIT_OK, provkit_session_open, to, rec, len, NULL, 0, out, n, &got) ==
             PROVKIT_OK &&
         got == n && memcmp(out, text, n) == 0;
}

static void records(void) {
  pair p;
  if (!CHECK(provkit_session_seal, pair_new(&p))) return;
  provkit_session *si = p.si, *sr = p.sr;
  /* Both ways, several sizes, empty plaintext and empty associated data as NULL. */
  CHECK(provkit_session_open, record_round_trip(si, sr, "hello responder"));
  CHECK(provkit_session_open, record_round_trip(sr, si, "hello initiator"));
  CHECK(provkit_session_open, record_round_trip(si, sr, ""));
  uint8_t rec[PROVKIT_RECORD_OVERHEAD + 1000], out[1000];
  size_t rl = 0, ol = 99;
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, si, NULL, 0, NULL, 0, rec, PROVKIT_RECORD_OVERHEAD, &rl);
  CHECK(provkit_session_seal, rl == PROVKIT_RECORD_OVERHEAD);
  EXPECT_ST(PROVKIT_OK, provkit_session_open, sr, rec, rl, NULL, 0, NULL, 0, &ol);
  CHECK(provkit_session_open, ol == 0);
  uint64_t seed = 0x73657373;
  uint8_t *big = h_buf(1000, 0);
  h_rand_bytes(&seed, big, 1000);
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, sr, big, 1000, big, 7, rec, sizeof rec, &rl);
  CHECK(provkit_session_seal, rl == 1000 + PROVKIT_RECORD_OVERHEAD);
  EXPECT_ST(PROVKIT_OK, provkit_session_open, si, rec, rl, big, 7, out, sizeof out, &ol);
  CHECK(provkit_session_open, ol == 1000 && memcmp(out, big, 1000) == 0);

  /* Replay: the same record twice. */
  size_t l1, l2, l3;
  uint8_t *r1 = seal(si, "one", &l1), *r2 = seal(si, "two", &l2), *r3 = seal(si, "three", &l3);
  CHECK(provkit_session_open, opens(sr, r1, l1, "one"));
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REPLAY, provkit_session_open, sr, r1, l1, NULL, 0, out, 3, &ol);
  CHECK(provkit_session_open, ol == 0);
  /* Reordered: within the window, each once. */
  CHECK(provkit_session_open, opens(sr, r3, l3, "three"));
  CHECK(provkit_session_open, opens(sr, r2, l2, "two"));
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REPLAY, provkit_session_open, sr, r2, l2, NULL, 0, out, 3, &ol);
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REPLAY, provkit_session_open, sr, r3, l3, NULL, 0, out, 5, &ol);
  /* Older than the window (64 records). */
  size_t lo;
  uint8_t *oldest = seal(si, "old", &lo);
  for (int i = 0; i < 70; i++) {
    size_t l;
    uint8_t *r = seal(si, "newer", &l);
    if (i == 69) CHECK(provkit_session_open, opens(sr, r, l, "newer"));
  }
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REPLAY, provkit_session_open, sr, oldest, lo, NULL, 0, out, 3, &ol);

  /* Forgeries: each byte flipped, a wrong aad, the other direction's record, truncations;
   * all refused, and the genuine record opens afterwards. */
  size_t lg;
  uint8_t *g = seal(si, "genuine record", &lg);
  uint8_t *t = h_dup(g, lg);
  uint8_t *dst = h_buf(lg, 0xAA);
  for (size_t i = 0; i < lg; i++) {
    t[i] ^= 0x04;
    provkit_status st = EXPECT_ERR(provkit_session_open, sr, t, lg, NULL, 0, dst, lg, &ol);
    if (i >= 8) h_check_status("provkit_session_open", st, PROVKIT_ERR_CRYPTO, __FILE__, __LINE__);
    /* Nothing of the forgery is left in the output (provkit wipes what it decrypted). */
    CHECK(provkit_session_open, ol == 0 && (h_all(dst, lg, 0xAA) || h_all(dst, lg - PROVKIT_RECORD_OVERHEAD, 0)));
    t[i] ^= 0x04;
  }
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_session_open, sr, g, lg, (const uint8_t *)"x", 1, dst, lg, &ol);
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_session_open, si, g, lg, NULL, 0, dst, lg, &ol);
  for (size_t n = 0; n < lg; n++) {
    uint8_t *cut = h_dup(g, n);
    provkit_status st = EXPECT_ERR(provkit_session_open, sr, cut, n, NULL, 0, dst, lg, &ol);
    if (n < PROVKIT_RECORD_OVERHEAD)
      h_check_status("provkit_session_open", st, PROVKIT_ERR_DECODE_TRUNCATED, __FILE__, __LINE__);
  }
  uint8_t *longer = h_buf(lg + 1, 0);
  memcpy(longer, g, lg);
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_session_open, sr, longer, lg + 1, NULL, 0, dst, lg + 1, &ol);
  for (int i = 0; i < 32; i++) {
    size_t n = (size_t)i * 5;
    uint8_t *junk = h_buf(n, 0);
    h_rand_bytes(&seed, junk, n);
    EXPECT_ERR(provkit_session_open, sr, junk, n, NULL, 0, dst, lg, &ol);
  }
  CHECK(provkit_session_open, opens(sr, g, lg, "genuine record"));

  /* Short buffers (exact blocks, one byte short): the length needed, and nothing used up:
   * the record still seals / opens afterwards, in sequence. */
  const char *msg = "sixteen bytes!!!";
  size_t need = 16 + PROVKIT_RECORD_OVERHEAD;
  uint8_t *short_rec = h_buf(need - 1, 0xAA);
  rl = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_session_seal, sr, (const uint8_t *)msg, 16, NULL, 0, short_rec, need - 1, &rl);
  CHECK(provkit_session_seal, rl == need && h_all(short_rec, need - 1, 0xAA));
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_session_seal, sr, (const uint8_t *)msg, 16, NULL, 0, NULL, 0, &rl);
  CHECK(provkit_session_seal, rl == need);
  size_t ls;
  uint8_t *rs = seal(sr, msg, &ls);
  uint8_t *short_pt = h_buf(15, 0xAA);
  ol = 0;
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_session_open, si, rs, ls, NULL, 0, short_pt, 15, &ol);
  CHECK(provkit_session_open, ol == 16 && h_all(short_pt, 15, 0xAA));
  CHECK(provkit_session_open, opens(si, rs, ls, msg));

  /* Overlapping buffers. */
  uint8_t *buf = h_buf(200, 0);
  memcpy(buf, msg, 16);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_seal, sr, buf, 16, NULL, 0, buf + 8, need, &rl);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_seal, sr, buf + 20, 16, NULL, 0, buf, need, &rl);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_seal, sr, (const uint8_t *)msg, 16, buf + 100, 10, buf + 90, need, &rl);
  /* In place (record over plaintext) is refused too. */
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_seal, sr, buf, 16, NULL, 0, buf, need, &rl);
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, sr, buf, 16, buf + 16, 4, buf + 20, need, &rl);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_open, si, buf + 20, rl, buf + 16, 4, buf + 28, 16, &ol);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_open, si, buf + 20, rl, buf + 16, 4, buf + 10, 16, &ol);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_open, si, buf + 20, rl, buf + 16, 4, buf + 8, 16, &ol);
  EXPECT_ST(PROVKIT_OK, provkit_session_open, si, buf + 20, rl, buf + 16, 4, buf + 100, 16, &ol);
  CHECK(provkit_session_open, ol == 16 && memcmp(buf + 100, msg, 16) == 0);

  /* NULL pointers. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_seal, NULL, buf, 16, NULL, 0, rec, need, &rl);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_seal, sr, NULL, 16, NULL, 0, rec, need, &rl);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_seal, sr, buf, 16, NULL, 3, rec, need, &rl);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_seal, sr, buf, 16, NULL, 0, NULL, need, &rl);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_seal, sr, buf, 16, NULL, 0, rec, need, NULL);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_open, NULL, rs, ls, NULL, 0, out, 16, &ol);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_open, si, NULL, ls, NULL, 0, out, 16, &ol);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_open, si, rs, ls, NULL, 3, out, 16, &ol);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_open, si, rs, ls, NULL, 0, NULL, 16, &ol);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_open, si, rs, ls, NULL, 0, out, 16, NULL);
  /* Still in step after all the refusals. */
  CHECK(provkit_session_open, record_round_trip(si, sr, "still in step"));
  CHECK(provkit_session_open, record_round_trip(sr, si, "both ways"));
  pair_free(&p);
}

static void rekey_export(void) {
  pair p;
  if (!CHECK(provkit_session_rekey, pair_new(&p))) return;
  provkit_session *si = p.si, *sr = p.sr;
  uint8_t a[64], b[64];
  /* The initiator exports only once a record from the responder confirmed the session. */
  uint8_t *label = h_dup(HS_EXPORT_LABEL, strlen(HS_EXPORT_LABEL));
  uint8_t *out = h_buf(32, 0xAA);
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_NOT_CONFIRMED, provkit_session_export, si, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_export, h_all(out, 32, 0xAA));
  CHECK(provkit_session_open, record_round_trip(sr, si, "confirm"));
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_export, memcmp(out, HS_EXPORTED, 32) == 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_export, memcmp(out, HS_EXPORTED, 32) == 0);
  /* A non-NULL empty context is the same as none; other labels, contexts and lengths. */
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, label, 6, (const uint8_t *)"", 0, a, 32);
  CHECK(provkit_session_export, memcmp(a, HS_EXPORTED, 32) == 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, (const uint8_t *)"other", 5, NULL, 0, a, 32);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, (const uint8_t *)"other", 5, NULL, 0, b, 32);
  CHECK(provkit_session_export, memcmp(a, b, 32) == 0 && memcmp(a, HS_EXPORTED, 32) != 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, label, 6, (const uint8_t *)"ctx", 3, a, 64);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, label, 6, (const uint8_t *)"ctx", 3, b, 64);
  CHECK(provkit_session_export, memcmp(a, b, 64) == 0 && memcmp(a, HS_EXPORTED, 32) != 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, NULL, 0, NULL, 0, a, 16);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, NULL, 0, NULL, 0, b, 16);
  CHECK(provkit_session_export, memcmp(a, b, 16) == 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, label, 6, NULL, 0, NULL, 0);
  /* Limits: a label over 255 bytes, more than 8160 bytes out (HKDF's). */
  uint8_t *long_label = h_buf(256, 'l');
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, long_label, 255, NULL, 0, a, 16);
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_LENGTH, provkit_session_export, si, long_label, 256, NULL, 0, a, 16);
  uint8_t *huge = h_buf(8161, 0xAA);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, label, 6, NULL, 0, huge, 8160);
  CHECK(provkit_session_export, memcmp(huge, HS_EXPORTED, 32) == 0);
  EXPECT_ST(PROVKIT_ERR_DECODE_INVALID_LENGTH, provkit_session_export, si, label, 6, NULL, 0, huge, 8161);
  /* Arguments. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_export, NULL, label, 6, NULL, 0, a, 32);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_export, si, NULL, 6, NULL, 0, a, 32);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_export, si, label, 6, NULL, 3, a, 32);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_export, si, label, 6, NULL, 0, NULL, 32);
  uint8_t *buf = h_buf(64, 0);
  memcpy(buf, "vector", 6);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_export, si, buf, 6, NULL, 0, buf + 4, 32);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_session_export, si, buf + 40, 6, buf + 50, 4, buf + 20, 32);
  EXPECT_ST(PROVKIT_OK, provkit_session_export, si, buf, 6, NULL, 0, buf + 6, 32);
  CHECK(provkit_session_export, memcmp(buf + 6, HS_EXPORTED, 32) == 0);

  /* Rekey on both sides: records still pass, both ways; records sealed under the old
   * keys no longer open. */
  size_t lo;
  uint8_t *before = h_buf(3 + PROVKIT_RECORD_OVERHEAD, 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, si, (const uint8_t *)"old", 3, NULL, 0, before, 3 + PROVKIT_RECORD_OVERHEAD, &lo);
  EXPECT_ST(PROVKIT_OK, provkit_session_rekey, si);
  EXPECT_ST(PROVKIT_OK, provkit_session_rekey, sr);
  uint8_t o3[3];
  size_t ol;
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_session_open, sr, before, lo, NULL, 0, o3, 3, &ol);
  CHECK(provkit_session_rekey, record_round_trip(si, sr, "after rekey"));
  CHECK(provkit_session_rekey, record_round_trip(sr, si, "after rekey, back"));
  /* Counters restarted: the old record's number is now taken. */
  EXPECT_ST(PROVKIT_ERR_HANDSHAKE_REPLAY, provkit_session_open, sr, before, lo, NULL, 0, o3, 3, &ol);
  for (int i = 0; i < 3; i++) {
    EXPECT_ST(PROVKIT_OK, provkit_session_rekey, si);
    EXPECT_ST(PROVKIT_OK, provkit_session_rekey, sr);
  }
  CHECK(provkit_session_rekey, record_round_trip(si, sr, "after four rekeys"));
  /* Only one side rekeys: its records are refused, until the other follows. */
  EXPECT_ST(PROVKIT_OK, provkit_session_rekey, si);
  size_t l;
  uint8_t *r = h_buf(4 + PROVKIT_RECORD_OVERHEAD, 0);
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, si, (const uint8_t *)"skew", 4, NULL, 0, r, 4 + PROVKIT_RECORD_OVERHEAD, &l);
  EXPECT_ST(PROVKIT_OK, provkit_session_seal, si, (const uint8_t *)"skew", 4, NULL, 0, r, 4 + PROVKIT_RECORD_OVERHEAD, &l);
  uint8_t o4[4];
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_session_open, sr, r, l, NULL, 0, o4, 4, &ol);
  EXPECT_ST(PROVKIT_OK, provkit_session_rekey, sr);
  CHECK(provkit_session_rekey, record_round_trip(si, sr, "in step again"));
  /* The exporter does not change with the traffic keys. */
  EXPECT_ST(PROVKIT_OK, provkit_session_export, sr, label, 6, NULL, 0, out, 32);
  CHECK(provkit_session_export, memcmp(out, HS_EXPORTED, 32) == 0);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_session_rekey, NULL);
  pair_free(&p);
}

static void states(void) {
  pair p;
  if (!CHECK(provkit_session_reset, pair_new(&p))) return;
  uint8_t rec[64], out[32];
  size_t rl, ol;
  /* A zero-initialized session holds nothing. */
  provkit_session *zero = h_state(sizeof *zero);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_seal, zero, (const uint8_t *)"x", 1, NULL, 0, rec, sizeof rec, &rl);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_open, zero, rec, 30, NULL, 0, out, sizeof out, &ol);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_rekey, zero);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_export, zero, NULL, 0, NULL, 0, out, 32);
  provkit_session_reset(zero);
  CHECK(provkit_session_reset, h_all(zero->opaque, sizeof zero->opaque, 0));
  provkit_session_reset(NULL);
  /* A session may move while not in use (it does not refer to itself). */
  provkit_session *moved = h_state(sizeof *moved);
  memcpy(moved, p.sr, sizeof *moved);
  memset(p.sr, 0, sizeof *p.sr);
  CHECK(provkit_session_open, record_round_trip(p.si, moved, "to the moved session"));
  CHECK(provkit_session_open, record_round_trip(moved, p.si, "from the moved session"));
  /* Reset: wiped, then WRONG_STATE everywhere; twice is fine. */
  provkit_session_reset(moved);
  CHECK(provkit_session_reset, h_all(moved->opaque, sizeof moved->opaque, 0));
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_seal, moved, (const uint8_t *)"x", 1, NULL, 0, rec, sizeof rec, &rl);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_open, moved, rec, 30, NULL, 0, out, sizeof out, &ol);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_rekey, moved);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_session_export, moved, NULL, 0, NULL, 0, out, 32);
  provkit_session_reset(moved);
  CHECK(provkit_session_reset, h_all(moved->opaque, sizeof moved->opaque, 0));
  /* A session state that holds a session is replaced by the next handshake into it. */
  provkit_session *si2 = p.si, *sr2 = h_state(sizeof *sr2);
  test_rng rr = rng_replay(HS_RESPONDER_EPHEMERAL, 32);
  CHECK(provkit_initiator_finish, run_handshake(p.ini.store, p.res.store, &rr, si2, sr2, true));
  CHECK(provkit_session_open, record_round_trip(si2, sr2, "a new session in the old state"));
  provkit_session_reset(sr2);
  pair_free(&p);
}

void test_session(void) {
  records();
  rekey_export();
  states();
}
