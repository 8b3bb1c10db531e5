/* The flash store over a C driver: mounting (geometry, failing callbacks, garbage),
 * keys (import, generate, public key, delete), records, states. */
#include <stdio.h>
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "provkit_vectors.h"
#include "tests.h"

static const provkit_status corrupt_or_ok[] = {PROVKIT_OK, PROVKIT_ERR_STORE_CORRUPT};

static void mount_arguments(void) {
  ramflash f = ramflash_new(4096, 4, false);
  provkit_store *s = h_state(sizeof *s);
  provkit_flash_driver d = ramflash_driver(&f, 4);

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_mount_flash, NULL, &d);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_mount_flash, s, NULL);
  provkit_flash_driver no = d;
  no.read = NULL;
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_mount_flash, s, &no);
  no = d;
  no.program = NULL;
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_mount_flash, s, &no);
  no = d;
  no.erase = NULL;
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_mount_flash, s, &no);
  CHECK(provkit_store_mount_flash, f.reads == 0 && f.programs == 0 && f.erases == 0);

  /* Geometry the store cannot use. */
  struct {
    uint32_t capacity, sector, write_size;
  } bad[] = {
      {16384, 4096, 3},  /* write size not a power of two */
      {16384, 4096, 0},  /* no write size */
      {16384, 4096, 8},  /* larger than the library's unit (4) */
      {16384, 4096, 64}, /* larger than any unit */
      {1000, 100, 4},    /* sector not a multiple of 256 */
      {16384, 0, 4},     /* no sector */
      {16384, 4000, 4},  /* sector not a multiple of 256 */
      {4096, 4096, 4},   /* one sector only */
      {256, 256, 4},     /* one small sector */
      {0, 4096, 4},      /* nothing */
      {12288 + 256, 4096, 4}, /* capacity not a multiple of the sector */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    provkit_flash_driver g = d;
    g.capacity = bad[i].capacity;
    g.sector_size = bad[i].sector;
    g.write_size = bad[i].write_size;
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_store_mount_flash, s, &g);
    /* Refused before the part is touched, and the store is left empty. */
    CHECK(provkit_store_mount_flash, f.reads == 0 && f.programs == 0 && f.erases == 0);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_delete_record, s, 1);
  }
  /* Write sizes 1, 2 and 4 are fine with the 4-byte unit. */
  for (uint32_t w = 1; w <= 4; w *= 2) {
    ramflash g = ramflash_new(4096, 3, false);
    provkit_flash_driver gd = ramflash_driver(&g, w);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &gd);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, (const uint8_t *)"abc", 3);
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, g.violations == 0);
    ramflash_free(&g);
  }
  /* The smallest part (two 256-byte sectors) and a sector that is not a power of two. */
  static const uint32_t sectors[][2] = {{256, 2}, {768, 3}, {65536, 2}};
  for (size_t i = 0; i < 3; i++) {
    ramflash g = ramflash_new(sectors[i][0], sectors[i][1], false);
    provkit_flash_driver gd = ramflash_driver(&g, 4);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &gd);
    uint8_t pub[65];
    EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, s, 1, HS_INITIATOR_SCALAR, 32, pub, 65);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 1, pub, 65);
    /* The driver struct is copied: changing it after the mount changes nothing. */
    gd.read = NULL;
    gd.capacity = 1;
    provkit_store_release(s);
    gd = ramflash_driver(&g, 4);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &gd);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 1, pub, 65);
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, g.violations == 0);
    ramflash_free(&g);
  }
  ramflash_free(&f);
  h_free_all();
}

static void mount_failures(void) {
  provkit_store *s = h_state(sizeof *s);
  /* A driver whose read, program or erase fails. */
  for (int which = 0; which < 3; which++) {
    ramflash f = ramflash_new(4096, 4, false);
    provkit_flash_driver d = ramflash_driver(&f, 4);
    if (which == 0) f.fail_read = 1;
    if (which == 1) f.fail_program = 1;
    if (which == 2) f.fail_erase = 1;
    provkit_status st = provkit_store_mount_flash(s, &d);
    if (which == 0) {
      h_check_status("provkit_store_mount_flash", st, PROVKIT_ERR_STORE_BACKEND, __FILE__, __LINE__);
      EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_write_record, s, 1, (const uint8_t *)"x", 1);
    } else {
      /* A blank part is formatted lazily: the mount reads only, the first write fails. */
      h_check_status("provkit_store_mount_flash", st, PROVKIT_OK, __FILE__, __LINE__);
      EXPECT_ST(PROVKIT_ERR_STORE_BACKEND, provkit_store_write_record, s, 1, (const uint8_t *)"x", 1);
    }
    /* Healed, it mounts. */
    ramflash_heal(&f);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &d);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, (const uint8_t *)"x", 1);
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, f.violations == 0);
    ramflash_free(&f);
  }
  /* A driver that fails later: at the n-th program of a record write (a power cut at every
   * point of it). After healing and remounting, the record holds the old or the new
   * value, and the store still works. */
  for (int multi = 0; multi < 2; multi++) {
    for (unsigned n = 1;; n++) {
      ramflash f = ramflash_new(4096, 3, multi);
      provkit_flash_driver d = ramflash_driver(&f, 4);
      EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &d);
      EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 9, (const uint8_t *)"old value", 9);
      f.fail_program = f.programs + n;
      provkit_status st = provkit_store_write_record(s, 9, (const uint8_t *)"the new value", 13);
      bool done = st == PROVKIT_OK;
      if (!done) h_check_status("provkit_store_write_record", st, PROVKIT_ERR_STORE_BACKEND, __FILE__, __LINE__);
      ramflash_heal(&f);
      EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &d);
      uint8_t out[32];
      size_t len = 0;
      EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 9, out, sizeof out, &len);
      bool old = len == 9 && memcmp(out, "old value", 9) == 0;
      bool new = len == 13 && memcmp(out, "the new value", 13) == 0;
      CHECK(provkit_store_write_record, done ? new : (old || new));
      EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 10, (const uint8_t *)"after", 5);
      provkit_store_release(s);
      CHECK(provkit_store_mount_flash, f.violations == 0);
      ramflash_free(&f);
      if (done || n > 64) {
        CHECK(provkit_store_write_record, done);
        break;
      }
    }
  }
  /* An erase that fails when a page must be evacuated (program-once flash: replacing a
   * value evacuates its page once the page fills). */
  {
    ramflash f = ramflash_new(4096, 3, false);
    provkit_flash_driver d = ramflash_driver(&f, 4);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &d);
    uint8_t rec[48];
    memset(rec, 0, sizeof rec);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 3, rec, sizeof rec);
    f.fail_erase = f.erases + 1;
    provkit_status st = PROVKIT_OK;
    int last_ok = 0;
    for (int i = 1; i < 400 && st == PROVKIT_OK; i++) {
      memset(rec, i, sizeof rec);
      st = provkit_store_write_record(s, 3, rec, sizeof rec);
      if (st == PROVKIT_OK) last_ok = i;
    }
    h_check_status("provkit_store_write_record", st, PROVKIT_ERR_STORE_BACKEND, __FILE__, __LINE__);
    ramflash_heal(&f);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &d);
    size_t len = 0;
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 3, rec, sizeof rec, &len);
    /* The last value written, or the one whose write failed. */
    CHECK(provkit_store_read_record, len == sizeof rec && (h_all(rec, sizeof rec, (uint8_t)last_ok) ||
                                                           h_all(rec, sizeof rec, (uint8_t)(last_ok + 1))));
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, f.violations == 0);
    ramflash_free(&f);
  }
  h_free_all();
}

static void mount_garbage(void) {
  provkit_store *s = h_state(sizeof *s);
  uint64_t seed = 0x67617262;
  /* Random contents. */
  for (int round = 0; round < 8; round++) {
    ramflash f = ramflash_new(round % 2 ? 256 : 4096, 4, round % 4 >= 2);
    h_rand_bytes(&seed, f.mem, f.size);
    provkit_flash_driver d = ramflash_driver(&f, 4);
    provkit_status st = EXPECT_AMONG(corrupt_or_ok, provkit_store_mount_flash, s, &d);
    if (st == PROVKIT_OK) {
      uint8_t out[64];
      size_t len;
      EXPECT_ERR(provkit_store_read_record, s, 1, out, sizeof out, &len);
    }
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, f.violations == 0);
    ramflash_free(&f);
  }
  /* A real store, then one byte of it changed, at offsets all over the part: mounting and
   * reading give a clear answer, never a crash. */
  for (int multi = 0; multi < 2; multi++) {
    ramflash f = ramflash_new(256, 4, multi);
    provkit_flash_driver d = ramflash_driver(&f, 4);
    EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, s, &d);
    EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, s, 1, HS_RESPONDER_SCALAR, 32, NULL, 0);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 2, (const uint8_t *)"record two", 10);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 2, (const uint8_t *)"record 2", 8);
    provkit_store_release(s);
    uint8_t *image = h_dup(f.mem, f.size);
    for (uint32_t at = 0; at < f.size; at += 5) {
      memcpy(f.mem, image, f.size);
      f.mem[at] ^= (uint8_t)(1u << (at % 8));
      provkit_status st = EXPECT_AMONG(corrupt_or_ok, provkit_store_mount_flash, s, &d);
      if (st != PROVKIT_OK) continue;
      uint8_t out[16], pub[65];
      size_t len = 0;
      st = provkit_store_read_record(s, 2, out, sizeof out, &len);
      if (st == PROVKIT_OK) {
        CHECK(provkit_store_read_record, len == 8 && memcmp(out, "record 2", 8) == 0);
      } else {
        EXPECT_ERR(provkit_store_read_record, s, 2, out, sizeof out, &len);
      }
      st = provkit_store_public_key(s, 1, pub, 65);
      if (st != PROVKIT_OK) h_check_error("provkit_store_public_key", st, __FILE__, __LINE__);
      provkit_store_release(s);
    }
    CHECK(provkit_store_mount_flash, f.violations == 0);
    ramflash_free(&f);
  }
  h_free_all();
}

static void states(void) {
  provkit_store *s = h_state(sizeof *s);
  uint8_t pub[65], out[8];
  size_t len;
  test_rng r = rng_stream(5);
  provkit_rng rng = rng_of(&r);
  /* A zero-initialized store is empty: every use is WRONG_STATE. */
  for (int pass = 0; pass < 2; pass++) {
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_import_p256, s, 1, HS_INITIATOR_SCALAR, 32, pub, 65);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_generate_p256, s, 1, &rng, pub, 65);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_public_key, s, 1, pub, 65);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_delete_key, s, 1);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_read_record, s, 1, out, sizeof out, &len);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_write_record, s, 1, out, sizeof out);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_store_delete_record, s, 1);
    /* ... and so is a released one. */
    ramflash f = ramflash_new(4096, 2, false);
    mount_store(s, &f);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, out, sizeof out);
    provkit_store_release(s);
    CHECK(provkit_store_release, h_all(s->opaque, sizeof s->opaque, 0));
    provkit_store_release(s); /* twice: a no-op */
    CHECK(provkit_store_release, h_all(s->opaque, sizeof s->opaque, 0));
    ramflash_free(&f);
  }
  provkit_store_release(NULL); /* a no-op */
  CHECK(provkit_store_release, true);

  /* Mounting over a mounted store releases the first; two stores on two parts. */
  ramflash a = ramflash_new(4096, 2, false), b = ramflash_new(4096, 2, true);
  mount_store(s, &a);
  EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, (const uint8_t *)"on a", 4);
  mount_store(s, &b);
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_read_record, s, 1, out, sizeof out, &len);
  EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, (const uint8_t *)"on b", 4);
  mount_store(s, &a);
  EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 1, out, sizeof out, &len);
  CHECK(provkit_store_read_record, len == 4 && memcmp(out, "on a", 4) == 0);
  /* A store may be moved in memory while not in use (it does not refer to itself). */
  provkit_store *moved = h_state(sizeof *moved);
  memcpy(moved, s, sizeof *s);
  memset(s, 0, sizeof *s);
  EXPECT_ST(PROVKIT_OK, provkit_store_read_record, moved, 1, out, sizeof out, &len);
  CHECK(provkit_store_read_record, len == 4 && memcmp(out, "on a", 4) == 0);
  provkit_store_release(moved);
  CHECK(provkit_store_mount_flash, a.violations == 0 && b.violations == 0);
  ramflash_free(&a);
  ramflash_free(&b);
  h_free_all();
}

static void keys(void) {
  for (int multi = 0; multi < 2; multi++) {
    ramflash f = ramflash_new(4096, 4, multi);
    provkit_store *s = h_state(sizeof *s);
    mount_store(s, &f);
    uint8_t *scalar = h_dup(HS_INITIATOR_SCALAR, 32);
    uint8_t *pub = h_buf(65, 0xAA);
    provkit_device_info cert;
    EXPECT_ST(PROVKIT_OK, provkit_cert_parse, HS_INITIATOR_CERT, 111, &cert);

    /* Import: the public key is the one the vector's certificate certifies. */
    EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, s, 1, scalar, 32, pub, 65);
    CHECK(provkit_store_import_p256, memcmp(pub, cert.public_key, 65) == 0);
    CHECK(provkit_store_import_p256, h_contains(f.mem, f.size, HS_INITIATOR_SCALAR, 32));
    memset(pub, 0, 65);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 1, pub, 65);
    CHECK(provkit_store_public_key, memcmp(pub, cert.public_key, 65) == 0);
    EXPECT_ST(PROVKIT_ERR_STORE_ALREADY_EXISTS, provkit_store_import_p256, s, 1, scalar, 32, pub, 65);
    /* No public key wanted. */
    EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, s, 2, HS_RESPONDER_SCALAR, 32, NULL, 0);
    /* A longer output: 65 bytes written. */
    uint8_t *big = h_buf(70, 0xAA);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 2, big, 70);
    CHECK(provkit_store_public_key, big[0] == 0x04 && h_all(big + 65, 5, 0xAA));
    /* Arguments. */
    uint8_t *short_pub = h_buf(64, 0xAA);
    EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_import_p256, s, 3, scalar, 32, short_pub, 64);
    CHECK(provkit_store_import_p256, h_all(short_pub, 64, 0xAA));
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 3, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_import_p256, NULL, 3, scalar, 32, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_import_p256, s, 3, NULL, 32, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_import_p256, s, 3, scalar, 32, NULL, 65);
    static const size_t bad_len[] = {0, 1, 31, 33, 64};
    for (size_t i = 0; i < 5; i++) {
      uint8_t *sb = h_buf(bad_len[i], 0x22);
      EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_store_import_p256, s, 3, sb, bad_len[i], pub, 65);
    }
    /* Scalars that are no private key: 0, the group order n, all ones. */
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                  0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    uint8_t *zero = h_buf(32, 0), *ones = h_buf(32, 0xFF), *order = h_dup(n, 32);
    EXPECT_ERR(provkit_store_import_p256, s, 3, zero, 32, pub, 65);
    EXPECT_ERR(provkit_store_import_p256, s, 3, ones, 32, pub, 65);
    EXPECT_ERR(provkit_store_import_p256, s, 3, order, 32, pub, 65);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 3, pub, 65);
    /* The public key written over the scalar it comes from. */
    uint8_t *both = h_buf(100, 0);
    memcpy(both, HS_RESPONDER_SCALAR, 32);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_store_import_p256, s, 4, both, 32, both + 16, 65);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 4, pub, 65);

    /* public_key's own arguments. */
    EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_public_key, s, 1, short_pub, 64);
    EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_public_key, s, 1, NULL, 0);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_public_key, s, 1, NULL, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_public_key, NULL, 1, pub, 65);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 99, pub, 65);

    /* Generate. */
    test_rng r = rng_stream(42);
    provkit_rng rng = rng_of(&r);
    memset(pub, 0xAA, 65);
    EXPECT_ST(PROVKIT_OK, provkit_store_generate_p256, s, 5, &rng, pub, 65);
    CHECK(provkit_store_generate_p256, pub[0] == 0x04 && r.drawn >= 32);
    uint8_t again[65];
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 5, again, 65);
    CHECK(provkit_store_generate_p256, memcmp(pub, again, 65) == 0);
    EXPECT_ST(PROVKIT_ERR_STORE_ALREADY_EXISTS, provkit_store_generate_p256, s, 5, &rng, pub, 65);
    EXPECT_ST(PROVKIT_OK, provkit_store_generate_p256, s, 6, &rng, NULL, 0);
    EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_generate_p256, s, 7, &rng, short_pub, 64);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 7, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_generate_p256, NULL, 7, &rng, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_generate_p256, s, 7, NULL, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_generate_p256, s, 7, &rng, NULL, 65);
    provkit_rng no_fill = {.fill = NULL, .ctx = &r};
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_generate_p256, s, 7, &no_fill, pub, 65);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 7, pub, 65);
    /* Keys are stored as their scalars: one from a replayed all-0x5a stream is on flash... */
    static const uint8_t fives[32] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                      0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                      0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                      0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
    test_rng rf = rng_replay(fives, 32);
    provkit_rng rngf = rng_of(&rf);
    EXPECT_ST(PROVKIT_OK, provkit_store_generate_p256, s, 8, &rngf, pub, 65);
    bool raw = h_contains(f.mem, f.size, fives, 32);
    CHECK(provkit_store_generate_p256, raw);
    /* ... and scrubbed when deleted. */
    EXPECT_ST(PROVKIT_OK, provkit_store_delete_key, s, 8);
    CHECK(provkit_store_delete_key, !h_contains(f.mem, f.size, fives, 32));
    /* A failing RNG: RNG_FAILED, no key left (not on flash either: provkit fills a failed
     * draw with 0x5a, which would make exactly that scalar), the output untouched. */
    test_rng bad = rng_failing();
    provkit_rng rngb = rng_of(&bad);
    memset(pub, 0xAA, 65);
    EXPECT_ST(PROVKIT_ERR_RNG_FAILED, provkit_store_generate_p256, s, 8, &rngb, pub, 65);
    CHECK(provkit_store_generate_p256, bad.calls >= 1);
    CHECK(provkit_store_generate_p256, h_all(pub, 65, 0xAA));
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 8, pub, 65);
    CHECK(provkit_store_generate_p256, !h_contains(f.mem, f.size, fives, 32));
    /* ... and a failing RNG never deletes an existing key. */
    EXPECT_ST(PROVKIT_ERR_STORE_ALREADY_EXISTS, provkit_store_generate_p256, s, 5, &rngb, pub, 65);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 5, pub, 65);
    CHECK(provkit_store_generate_p256, memcmp(pub, again, 65) == 0);

    /* Delete. */
    EXPECT_ST(PROVKIT_OK, provkit_store_delete_key, s, 1);
    CHECK(provkit_store_delete_key, !h_contains(f.mem, f.size, HS_INITIATOR_SCALAR, 32));
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_delete_key, s, 1);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_public_key, s, 1, pub, 65);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_delete_key, NULL, 1);
    /* The id is free again. */
    EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, s, 1, scalar, 32, pub, 65);
    CHECK(provkit_store_import_p256, memcmp(pub, cert.public_key, 65) == 0);

    /* Keys survive a remount. */
    provkit_store_release(s);
    mount_store(s, &f);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 1, pub, 65);
    CHECK(provkit_store_public_key, memcmp(pub, cert.public_key, 65) == 0);
    EXPECT_ST(PROVKIT_OK, provkit_store_public_key, s, 5, pub, 65);
    CHECK(provkit_store_public_key, memcmp(pub, again, 65) == 0);
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, f.violations == 0);
    ramflash_free(&f);
    h_free_all();
  }
}

static void records(void) {
  for (int multi = 0; multi < 2; multi++) {
    ramflash f = ramflash_new(4096, 4, multi);
    provkit_store *s = h_state(sizeof *s);
    mount_store(s, &f);
    uint8_t *data = h_dup("a record of 24 bytes....", 24);
    size_t len = 99;

    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, data, 24);
    uint8_t *exact = h_buf(24, 0);
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 1, exact, 24, &len);
    CHECK(provkit_store_read_record, len == 24 && memcmp(exact, data, 24) == 0);
    /* One byte short: BUFFER_TOO_SMALL with the length needed. */
    uint8_t *short_out = h_buf(23, 0xAA);
    len = 0;
    EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_read_record, s, 1, short_out, 23, &len);
    CHECK(provkit_store_read_record, len == 24);
    /* A length query: no buffer. */
    len = 0;
    EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_store_read_record, s, 1, NULL, 0, &len);
    CHECK(provkit_store_read_record, len == 24);
    /* Longer buffer: the bytes after the record untouched. */
    uint8_t *big = h_buf(40, 0xAA);
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 1, big, 40, &len);
    CHECK(provkit_store_read_record, len == 24 && h_all(big + 24, 16, 0xAA));
    /* Arguments. */
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_read_record, s, 1, exact, 24, NULL);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_read_record, s, 1, NULL, 24, &len);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_read_record, NULL, 1, exact, 24, &len);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_read_record, s, 2, exact, 24, &len);
    CHECK(provkit_store_read_record, len == 0);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_write_record, s, 2, NULL, 24);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_write_record, NULL, 2, data, 24);
    EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_store_delete_record, NULL, 1);
    /* An empty record (NULL with length 0). */
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 2, NULL, 0);
    len = 99;
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 2, NULL, 0, &len);
    CHECK(provkit_store_read_record, len == 0);
    /* Replace. */
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 1, (const uint8_t *)"short", 5);
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 1, exact, 24, &len);
    CHECK(provkit_store_write_record, len == 5 && memcmp(exact, "short", 5) == 0);
    /* Delete. */
    EXPECT_ST(PROVKIT_OK, provkit_store_delete_record, s, 1);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_read_record, s, 1, exact, 24, &len);
    provkit_status st = provkit_store_delete_record(s, 1);
    static const provkit_status gone[] = {PROVKIT_OK, PROVKIT_ERR_STORE_NOT_FOUND};
    h_check_among("provkit_store_delete_record", st, gone, 2, __FILE__, __LINE__);
    EXPECT_AMONG(gone, provkit_store_delete_record, s, 12345);
    /* Too large for the store. */
    uint8_t *huge = h_buf(8192, 0x33);
    EXPECT_ST(PROVKIT_ERR_STORE_RECORD_TOO_LARGE, provkit_store_write_record, s, 3, huge, 8192);
    EXPECT_ST(PROVKIT_ERR_STORE_RECORD_TOO_LARGE, provkit_store_write_record, s, 3, huge, 4096);
    size_t largest = 0;
    for (size_t n = 16; n <= 4096; n += 16) {
      if (provkit_store_write_record(s, 3, huge, n) != PROVKIT_OK) break;
      largest = n;
    }
    CHECK(provkit_store_write_record, largest >= 64);
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 3, huge, 8192, &len);
    CHECK(provkit_store_read_record, len == largest);
    EXPECT_ST(PROVKIT_OK, provkit_store_delete_record, s, 3);
    /* Fill the store: FULL, and what was written before is intact. */
    uint8_t rec[64];
    uint32_t id = 100;
    for (;; id++) {
      memset(rec, (int)id, sizeof rec);
      st = provkit_store_write_record(s, id, rec, sizeof rec);
      if (st != PROVKIT_OK || id > 1000) break;
    }
    h_check_status("provkit_store_write_record", st, PROVKIT_ERR_STORE_FULL, __FILE__, __LINE__);
    bool intact = true;
    for (uint32_t i = 100; i < id; i++) {
      uint8_t back[64];
      intact &= provkit_store_read_record(s, i, back, 64, &len) == PROVKIT_OK && len == 64 &&
                h_all(back, 64, (uint8_t)i);
    }
    CHECK(provkit_store_read_record, intact && id > 110);
    /* Deleting makes room again. */
    for (uint32_t i = 100; i < id; i += 2) EXPECT_ST(PROVKIT_OK, provkit_store_delete_record, s, i);
    memset(rec, 0x77, sizeof rec);
    EXPECT_ST(PROVKIT_OK, provkit_store_write_record, s, 5000, rec, sizeof rec);
    /* Records survive a remount. */
    provkit_store_release(s);
    mount_store(s, &f);
    intact = true;
    for (uint32_t i = 101; i < id; i += 2) {
      uint8_t back[64];
      intact &= provkit_store_read_record(s, i, back, 64, &len) == PROVKIT_OK && len == 64 &&
                h_all(back, 64, (uint8_t)i);
    }
    CHECK(provkit_store_read_record, intact);
    EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_store_read_record, s, 100, rec, 64, &len);
    EXPECT_ST(PROVKIT_OK, provkit_store_read_record, s, 5000, rec, 64, &len);
    CHECK(provkit_store_read_record, len == 64 && h_all(rec, 64, 0x77));
    provkit_store_release(s);
    CHECK(provkit_store_mount_flash, f.violations == 0);
    ramflash_free(&f);
    h_free_all();
  }
}

void test_store(void) {
  mount_arguments();
  mount_failures();
  mount_garbage();
  states();
  keys();
  records();
}
