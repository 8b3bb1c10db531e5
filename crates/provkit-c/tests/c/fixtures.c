/* Test doubles (see fixtures.h). */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provkit_vectors.h"

/* ---- RNG ---------------------------------------------------------------------------- */

static int32_t rng_fill(void *ctx, uint8_t *buf, size_t len) {
  test_rng *r = ctx;
  r->calls++;
  if (r->fail_from != 0 && r->calls >= r->fail_from) {
    memset(buf, 0xEE, len);
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    if (r->len != 0) {
      buf[i] = r->bytes[r->pos % r->len];
      r->pos++;
    } else {
      buf[i] = (uint8_t)h_rand(&r->seed);
    }
  }
  r->drawn += len;
  return 0;
}

provkit_rng rng_of(test_rng *ctx) { return (provkit_rng){.fill = rng_fill, .ctx = ctx}; }

test_rng rng_replay(const uint8_t *bytes, size_t len) {
  return (test_rng){.bytes = bytes, .len = len};
}

test_rng rng_stream(uint64_t seed) { return (test_rng){.seed = seed}; }

test_rng rng_failing(void) { return (test_rng){.seed = 1, .fail_from = 1}; }

/* ---- RAM NOR flash -------------------------------------------------------------------- */

ramflash ramflash_new(uint32_t sector, uint32_t sectors, bool multiwrite) {
  ramflash f = {.size = sector * sectors, .sector = sector, .multiwrite = multiwrite};
  f.mem = malloc(f.size);
  if (f.mem == NULL) abort();
  memset(f.mem, 0xFF, f.size);
  f.unit = provkit_flash_unit();
  return f;
}

void ramflash_free(ramflash *f) {
  free(f->mem);
  f->mem = NULL;
}

void ramflash_heal(ramflash *f) { f->fail_read = f->fail_program = f->fail_erase = 0; }

static bool inside(ramflash *f, uint32_t offset, size_t len) {
  if ((size_t)offset > f->size || len > (size_t)f->size - offset) {
    f->violations++;
    fprintf(stderr, "ramflash: access %u+%zu outside %u bytes\n", offset, len, f->size);
    return false;
  }
  return true;
}

static int32_t ram_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len) {
  ramflash *f = ctx;
  f->reads++;
  if (f->fail_read && f->reads >= f->fail_read) return -1;
  if (!inside(f, offset, len)) return -1;
  memcpy(buf, f->mem + offset, len);
  return 0;
}

static int32_t ram_program(void *ctx, uint32_t offset, const uint8_t *data, size_t len) {
  ramflash *f = ctx;
  f->programs++;
  if (f->fail_program && f->programs >= f->fail_program) return -1;
  if (!inside(f, offset, len)) return -1;
  if (offset % f->unit != 0 || len % f->unit != 0) {
    f->violations++;
    fprintf(stderr, "ramflash: program %u+%zu not in units of %u\n", offset, len, f->unit);
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    uint8_t old = f->mem[offset + i];
    if ((old & data[i]) != data[i] || (!f->multiwrite && old != 0xFF && data[i] != 0xFF)) {
      f->violations++;
      fprintf(stderr, "ramflash: program at %zu: %02x over %02x\n", offset + i, data[i], old);
      return -1;
    }
  }
  for (size_t i = 0; i < len; i++) f->mem[offset + i] &= data[i];
  return 0;
}

static int32_t ram_erase(void *ctx, uint32_t offset, uint32_t len) {
  ramflash *f = ctx;
  f->erases++;
  if (f->fail_erase && f->erases >= f->fail_erase) return -1;
  if (!inside(f, offset, len)) return -1;
  if (offset % f->sector != 0 || len % f->sector != 0 || len == 0) {
    f->violations++;
    fprintf(stderr, "ramflash: erase %u+%u not whole sectors\n", offset, len);
    return -1;
  }
  memset(f->mem + offset, 0xFF, len);
  return 0;
}

provkit_flash_driver ramflash_driver(ramflash *f, uint32_t write_size) {
  return (provkit_flash_driver){
      .ctx = f,
      .read = ram_read,
      .program = ram_program,
      .erase = ram_erase,
      .capacity = f->size,
      .sector_size = f->sector,
      .write_size = write_size,
      .multiwrite = f->multiwrite,
  };
}

/* ---- shared set-up ------------------------------------------------------------------ */

bool mount_store(provkit_store *store, ramflash *f) {
  provkit_flash_driver drv = ramflash_driver(f, 4);
  return EXPECT_ST(PROVKIT_OK, provkit_store_mount_flash, store, &drv) == PROVKIT_OK;
}

bool device_new(device *d, const uint8_t scalar[32]) {
  d->flash = ramflash_new(4096, 4, false);
  d->store = h_state(sizeof *d->store);
  if (!mount_store(d->store, &d->flash)) return false;
  uint8_t *sc = h_dup(scalar, 32);
  uint8_t *pub = h_buf(PROVKIT_PUBLIC_KEY_LEN, 0);
  return EXPECT_ST(PROVKIT_OK, provkit_store_import_p256, d->store, IDENTITY_KEY, sc, 32, pub,
                   PROVKIT_PUBLIC_KEY_LEN) == PROVKIT_OK;
}

void device_free(device *d) {
  provkit_store_release(d->store);
  CHECK(provkit_store_release, h_all(d->store->opaque, sizeof d->store->opaque, 0));
  CHECK(provkit_store_mount_flash, d->flash.violations == 0);
  ramflash_free(&d->flash);
}

provkit_peer_policy vector_policy(void) {
  return (provkit_peer_policy){.root = HS_ROOT, .root_len = sizeof HS_ROOT, .now = HS_NOW};
}

bool run_handshake(provkit_store *ini_store, provkit_store *res_store, test_rng *res_rng,
                   provkit_session *si, provkit_session *sr, bool exact) {
  provkit_handshake *hi = h_state(sizeof *hi), *hr = h_state(sizeof *hr);
  test_rng ri = rng_replay(HS_INITIATOR_EPHEMERAL, sizeof HS_INITIATOR_EPHEMERAL);
  provkit_rng rngi = rng_of(&ri), rngr = rng_of(res_rng);
  provkit_peer_policy policy = vector_policy();
  uint8_t *cert_i = h_dup(HS_INITIATOR_CERT, sizeof HS_INITIATOR_CERT);
  uint8_t *cert_r = h_dup(HS_RESPONDER_CERT, sizeof HS_RESPONDER_CERT);
  uint8_t *m1 = h_buf(PROVKIT_MSG1_LEN, 0xAA);
  uint8_t *m2 = h_buf(PROVKIT_MAX_MSG2_LEN, 0xAA);
  uint8_t *m3 = h_buf(PROVKIT_MAX_MSG3_LEN, 0xAA);
  size_t n1 = 99, n2 = 99, n3 = 99;
  provkit_device_info peer_i, peer_r;
  memset(&peer_i, 0xCC, sizeof peer_i);
  memset(&peer_r, 0xCC, sizeof peer_r);

  if (EXPECT_ST(PROVKIT_OK, provkit_initiator_start, hi, IDENTITY_KEY, cert_i, 111,
                PROVKIT_CREDENTIAL_BY_VALUE, &rngi, m1, PROVKIT_MSG1_LEN, &n1) != PROVKIT_OK)
    return false;
  CHECK(provkit_initiator_start, n1 == PROVKIT_MSG1_LEN);
  if (exact) CHECK(provkit_initiator_start, memcmp(m1, HS_MESSAGE_1, sizeof HS_MESSAGE_1) == 0);
  if (EXPECT_ST(PROVKIT_OK, provkit_responder_respond, hr, res_store, IDENTITY_KEY, cert_r, 111,
                PROVKIT_CREDENTIAL_BY_VALUE, &rngr, m1, n1, m2, PROVKIT_MAX_MSG2_LEN,
                &n2) != PROVKIT_OK)
    return false;
  CHECK(provkit_responder_respond, n2 == sizeof HS_MESSAGE_2);
  if (exact)
    CHECK(provkit_responder_respond, memcmp(m2, HS_MESSAGE_2, sizeof HS_MESSAGE_2) == 0);
  if (EXPECT_ST(PROVKIT_OK, provkit_initiator_finish, hi, ini_store, &policy, NULL, 0, m2, n2, m3,
                PROVKIT_MAX_MSG3_LEN, &n3, si, &peer_i) != PROVKIT_OK)
    return false;
  CHECK(provkit_initiator_finish, n3 == sizeof HS_MESSAGE_3);
  if (exact)
    CHECK(provkit_initiator_finish, memcmp(m3, HS_MESSAGE_3, sizeof HS_MESSAGE_3) == 0);
  CHECK(provkit_initiator_finish, peer_i.serial == 2);
  CHECK(provkit_initiator_finish, h_all(hi->opaque, sizeof hi->opaque, 0));
  if (EXPECT_ST(PROVKIT_OK, provkit_responder_finish, hr, &policy, NULL, 0, m3, n3, sr,
                &peer_r) != PROVKIT_OK)
    return false;
  CHECK(provkit_responder_finish, peer_r.serial == 1);
  CHECK(provkit_responder_finish, h_all(hr->opaque, sizeof hr->opaque, 0));
  return true;
}

bool record_round_trip(provkit_session *from, provkit_session *to, const char *text) {
  size_t n = strlen(text);
  uint8_t *pt = h_dup(text, n);
  uint8_t *aad = h_dup("aad", 3);
  uint8_t *rec = h_buf(n + PROVKIT_RECORD_OVERHEAD, 0);
  uint8_t *back = h_buf(n, 0);
  size_t rec_len = 0, back_len = 0;
  if (EXPECT_ST(PROVKIT_OK, provkit_session_seal, from, pt, n, aad, 3, rec,
                n + PROVKIT_RECORD_OVERHEAD, &rec_len) != PROVKIT_OK)
    return false;
  CHECK(provkit_session_seal, rec_len == n + PROVKIT_RECORD_OVERHEAD);
  if (EXPECT_ST(PROVKIT_OK, provkit_session_open, to, rec, rec_len, aad, 3, back, n,
                &back_len) != PROVKIT_OK)
    return false;
  return CHECK(provkit_session_open, back_len == n && memcmp(back, text, n) == 0);
}
