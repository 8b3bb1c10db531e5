/* The AES DUKPT device against the X9.24-3 vectors and against a host written here in C
 * over OpenSSL (derivation per X9.24-3-2017: AES-128 initial key, working keys by usage),
 * so that the response MAC, request encryption and response decryption are checked by an
 * independent peer; every argument; state across remounts and power cuts. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>

#include "fixtures.h"
#include "harness.h"
#include "provkit_vectors.h"
#include "tests.h"

#define BASE 40u
#define AES128 PROVKIT_DUKPT_KEY_AES128

/* ---- the host side, over OpenSSL -------------------------------------------------- */

static bool aes_ecb(const uint8_t key[16], const uint8_t in[16], uint8_t out[16], bool enc) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, m = 0;
  bool ok = c && EVP_CipherInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL, enc ? 1 : 0) &&
            EVP_CIPHER_CTX_set_padding(c, 0) && EVP_CipherUpdate(c, out, &n, in, 16) &&
            EVP_CipherFinal_ex(c, out + n, &m) && n + m == 16;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

static bool aes_cbc(const uint8_t key[16], const uint8_t iv[16], uint8_t *buf, size_t len, bool enc) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n = 0, m = 0;
  uint8_t *out = h_buf(len, 0);
  bool ok = c && EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv, enc ? 1 : 0) &&
            EVP_CIPHER_CTX_set_padding(c, 0) && EVP_CipherUpdate(c, out, &n, buf, (int)len) &&
            EVP_CipherFinal_ex(c, out + n, &m) && (size_t)(n + m) == len;
  EVP_CIPHER_CTX_free(c);
  if (ok) memcpy(buf, out, len);
  return ok;
}

static bool aes_cmac(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t mac[16]) {
  EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
  EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
  OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
                    OSSL_PARAM_construct_end()};
  size_t n = 0;
  bool ok = c && EVP_MAC_init(c, key, 16, p) && EVP_MAC_update(c, msg, len) &&
            EVP_MAC_final(c, mac, &n, 16) && n == 16;
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(m);
  return ok;
}

/* 01 | 01 | usage | algorithm (AES-128: 0002) | bits (0080) | derivation id | counter. */
static void derivation_data(uint8_t dd[16], uint16_t usage, uint32_t counter) {
  const uint8_t head[8] = {0x01, 0x01, (uint8_t)(usage >> 8), (uint8_t)usage, 0x00, 0x02, 0x00, 0x80};
  memcpy(dd, head, 8);
  memcpy(dd + 8, DUKPT_IKID + 4, 4);
  dd[12] = (uint8_t)(counter >> 24);
  dd[13] = (uint8_t)(counter >> 16);
  dd[14] = (uint8_t)(counter >> 8);
  dd[15] = (uint8_t)counter;
}

/* The AES-128 working key of `usage` for transaction `counter`, from the initial key. */
static bool host_key(uint32_t counter, uint16_t usage, uint8_t key[16]) {
  uint8_t k[16], dd[16];
  memcpy(k, DUKPT_IK, 16);
  uint32_t prefix = 0;
  bool ok = true;
  for (int bit = 31; bit >= 0; bit--) {
    if (!(counter & (1u << bit))) continue;
    prefix |= 1u << bit;
    derivation_data(dd, 0x8000, prefix);
    ok &= aes_ecb(k, dd, k, true);
  }
  derivation_data(dd, usage, counter);
  ok &= aes_ecb(k, dd, key, true);
  return ok;
}

enum { PIN_KEY = 0x1000, MAC_GEN = 0x2000, MAC_VER = 0x2001, DATA_ENC = 0x3000, DATA_DEC = 0x3001 };

/* Decrypts an ISO 9564 format 4 PIN block: the PIN field (16 bytes). */
static bool host_pin_field(uint32_t counter, const uint8_t block[16], const char *pan, uint8_t field[16]) {
  uint8_t key[16], x[16], pan_field[16] = {0};
  size_t n = strlen(pan);
  /* PAN field: M = length - 12 (0 if shorter), the PAN left-padded with 0 to 12 digits,
   * then 0s. */
  uint8_t nib[32] = {0};
  size_t at = 0;
  nib[at++] = (uint8_t)(n > 12 ? n - 12 : 0);
  for (size_t i = n; i < 12; i++) nib[at++] = 0;
  for (size_t i = 0; i < n; i++) nib[at++] = (uint8_t)(pan[i] - '0');
  for (size_t i = 0; i < 16; i++) pan_field[i] = (uint8_t)(nib[2 * i] << 4 | nib[2 * i + 1]);
  if (!host_key(counter, PIN_KEY, key) || !aes_ecb(key, block, x, false)) return false;
  for (int i = 0; i < 16; i++) x[i] ^= pan_field[i];
  return aes_ecb(key, x, field, false);
}

/* ---- the tests ------------------------------------------------------------------------ */

static void check_ksn(const uint8_t ksn[12], uint32_t counter) {
  uint8_t want[12];
  memcpy(want, DUKPT_IKID, 8);
  want[8] = (uint8_t)(counter >> 24);
  want[9] = (uint8_t)(counter >> 16);
  want[10] = (uint8_t)(counter >> 8);
  want[11] = (uint8_t)counter;
  CHECK(provkit_dukpt_next_transaction, memcmp(ksn, want, 12) == 0);
}

static const dukpt_vector *vector_for(uint32_t counter) {
  for (size_t i = 0; i < DUKPT_VECTOR_COUNT; i++)
    if (DUKPT_VECTORS[i].counter == counter) return &DUKPT_VECTORS[i];
  return NULL;
}

static void vectors_and_host(void) {
  ramflash f = ramflash_new(4096, 4, false);
  provkit_store *s = h_state(sizeof *s);
  mount_store(s, &f);
  uint8_t *ik = h_dup(DUKPT_IK, 16), *ikid = h_dup(DUKPT_IKID, 8);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, BASE, ikid, 8, ik, 16);
  provkit_dukpt_transaction *txn = h_state(sizeof *txn);
  uint8_t *ksn = h_buf(12, 0);
  uint8_t *pin = h_dup(DUKPT_PIN, strlen(DUKPT_PIN)), *pan = h_dup(DUKPT_PAN, strlen(DUKPT_PAN));
  uint8_t *msg = h_dup(DUKPT_MESSAGE, strlen(DUKPT_MESSAGE));
  const size_t pin_len = strlen(DUKPT_PIN), pan_len = strlen(DUKPT_PAN), msg_len = strlen(DUKPT_MESSAGE);
  uint8_t *block = h_buf(16, 0), *mac = h_buf(16, 0);
  unsigned matched = 0;
  for (uint32_t counter = 1; counter <= 12; counter++) {
    if (counter == 5) {
      /* The registers live in the store: release it, mount again, go on. */
      provkit_store_release(s);
      mount_store(s, &f);
    }
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
    check_ksn(ksn, counter);
    /* PIN block with the vector's fill, replayed. */
    test_rng r = rng_replay(DUKPT_FILL, sizeof DUKPT_FILL);
    provkit_rng rng = rng_of(&r);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, pin_len, pan, pan_len, &rng, block, 16);
    CHECK(provkit_dukpt_encrypt_pin_block, r.drawn == 8);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, AES128, msg, msg_len, mac, 16);
    const dukpt_vector *v = vector_for(counter);
    if (v) {
      matched++;
      CHECK(provkit_dukpt_encrypt_pin_block, memcmp(block, v->pin_block, 16) == 0);
      CHECK(provkit_dukpt_request_cmac, memcmp(mac, v->mac, 16) == 0);
    }
    /* The host in C agrees: the same CMAC, and the PIN block opens to the PIN. */
    uint8_t key[16], want[16], field[16];
    CHECK(provkit_dukpt_request_cmac, host_key(counter, MAC_GEN, key) && aes_cmac(key, msg, msg_len, want) && memcmp(mac, want, 16) == 0);
    static const uint8_t pin_field[8] = {0x44, 0x12, 0x34, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
    CHECK(provkit_dukpt_encrypt_pin_block, host_pin_field(counter, block, DUKPT_PAN, field) &&
                                               memcmp(field, pin_field, 8) == 0 && memcmp(field + 8, DUKPT_FILL, 8) == 0);
    /* A random fill: still the PIN. */
    test_rng rs = rng_stream(counter);
    provkit_rng rngs = rng_of(&rs);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, pin_len, pan, pan_len, &rngs, block, 16);
    CHECK(provkit_dukpt_encrypt_pin_block, host_pin_field(counter, block, DUKPT_PAN, field) && memcmp(field, pin_field, 8) == 0);
    /* The host's response MAC verifies; full and truncated (to 4..16 bytes). */
    static const char response[] = "response message from the host";
    uint8_t *resp = h_dup(response, sizeof response - 1);
    uint8_t host_mac[16];
    CHECK(provkit_dukpt_verify_response_cmac, host_key(counter, MAC_VER, key) && aes_cmac(key, resp, sizeof response - 1, host_mac));
    uint8_t *hm = h_dup(host_mac, 16);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_verify_response_cmac, txn, AES128, resp, sizeof response - 1, hm, 16);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_verify_response_cmac, txn, AES128, resp, sizeof response - 1, hm, 8);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_verify_response_cmac, txn, AES128, resp, sizeof response - 1, hm, 4);
    /* The request MAC is not a response MAC (another key). */
    EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_dukpt_verify_response_cmac, txn, AES128, msg, msg_len, mac, 16);
    /* Request data: the device encrypts, the host decrypts; the host encrypts a
     * response, the device decrypts it. */
    uint8_t *iv = h_buf(16, (uint8_t)counter);
    uint8_t *data = h_dup("request data, two AES blocks...", 32);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_request, txn, AES128, iv, 16, data, 32);
    CHECK(provkit_dukpt_encrypt_request, memcmp(data, "request data", 12) != 0);
    CHECK(provkit_dukpt_encrypt_request, host_key(counter, DATA_ENC, key) && aes_cbc(key, iv, data, 32, false) &&
                                             memcmp(data, "request data, two AES blocks...", 32) == 0);
    uint8_t *reply = h_dup("the host's response, 3 blocks of data, padded with 0s.", 48);
    CHECK(provkit_dukpt_decrypt_response, host_key(counter, DATA_DEC, key) && aes_cbc(key, iv, reply, 48, true));
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_decrypt_response, txn, AES128, iv, 16, reply, 48);
    CHECK(provkit_dukpt_decrypt_response, memcmp(reply, "the host's response, 3 blocks of data, padded with 0s.", 48) == 0);
    /* Empty data is a whole number of blocks. */
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_request, txn, AES128, iv, 16, NULL, 0);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_decrypt_response, txn, AES128, iv, 16, NULL, 0);
  }
  CHECK(provkit_dukpt_request_cmac, matched == DUKPT_VECTOR_COUNT);
  /* The empty message's CMAC. */
  uint8_t key[16], want[16];
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, AES128, NULL, 0, mac, 16);
  CHECK(provkit_dukpt_request_cmac, host_key(12, MAC_GEN, key) && aes_cmac(key, NULL, 0, want) && memcmp(mac, want, 16) == 0);
  /* Loading the key again starts over at counter 1. */
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, BASE, ikid, 8, ik, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
  check_ksn(ksn, 1);
  /* Two devices side by side in one store. */
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, BASE + PROVKIT_DUKPT_RECORDS, ikid, 8, ik, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE + PROVKIT_DUKPT_RECORDS, txn, ksn, 12);
  check_ksn(ksn, 1);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
  check_ksn(ksn, 2);
  provkit_dukpt_transaction_reset(txn);
  CHECK(provkit_dukpt_transaction_reset, h_all(txn->opaque, sizeof txn->opaque, 0));
  provkit_store_release(s);
  CHECK(provkit_store_mount_flash, f.violations == 0);
  ramflash_free(&f);
  h_free_all();
}

static void load_and_next_arguments(void) {
  ramflash f = ramflash_new(4096, 4, true);
  provkit_store *s = h_state(sizeof *s), *none = h_state(sizeof *none);
  mount_store(s, &f);
  uint8_t *ik = h_dup(DUKPT_IK, 16), *ikid = h_dup(DUKPT_IKID, 8);
  provkit_dukpt_transaction *txn = h_state(sizeof *txn);
  uint8_t *ksn = h_buf(12, 0);

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_load_initial_key, NULL, BASE, ikid, 8, ik, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_load_initial_key, s, BASE, NULL, 8, ik, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_load_initial_key, s, BASE, ikid, 8, NULL, 16);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_load_initial_key, none, BASE, ikid, 8, ik, 16);
  uint8_t *ikid7 = h_dup(DUKPT_IKID, 7), *ikid9 = h_buf(9, 0);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_load_initial_key, s, BASE, ikid7, 7, ik, 16);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_load_initial_key, s, BASE, ikid9, 9, ik, 16);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_load_initial_key, s, BASE, NULL, 0, ik, 16);
  static const size_t bad_ik[] = {0, 1, 8, 15, 17, 23, 25, 31, 33, 48};
  for (size_t i = 0; i < sizeof bad_ik / sizeof bad_ik[0]; i++) {
    uint8_t *k = h_buf(bad_ik[i], 0x12);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_load_initial_key, s, BASE, ikid, 8, k, bad_ik[i]);
  }
  /* Nothing was loaded by any of those. */
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
  /* AES-192 and AES-256 initial keys (this host build has them). */
  uint8_t *k24 = h_buf(24, 0x24), *k32 = h_buf(32, 0x32);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, 200, ikid, 8, k24, 24);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, 300, ikid, 8, k32, 32);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, 300, txn, ksn, 12);
  uint8_t mac[16];
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, PROVKIT_DUKPT_KEY_AES256, (const uint8_t *)"m", 1, mac, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, AES128, (const uint8_t *)"m", 1, mac, 16);
  /* Record ids past the end of the id space. */
  EXPECT_ERR(provkit_dukpt_load_initial_key, s, UINT32_MAX - 10, ikid, 8, ik, 16);
  EXPECT_ERR(provkit_dukpt_load_initial_key, s, UINT32_MAX, ikid, 8, ik, 16);
  EXPECT_ERR(provkit_dukpt_next_transaction, s, UINT32_MAX - 3, txn, ksn, 12);

  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, BASE, ikid, 8, ik, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_next_transaction, NULL, BASE, txn, ksn, 12);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_next_transaction, s, BASE, NULL, ksn, 12);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_next_transaction, s, BASE, txn, NULL, 12);
  EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_next_transaction, none, BASE, txn, ksn, 12);
  uint8_t *ksn11 = h_buf(11, 0xAA);
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_dukpt_next_transaction, s, BASE, txn, ksn11, 11);
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_dukpt_next_transaction, s, BASE, txn, NULL, 0);
  CHECK(provkit_dukpt_next_transaction, h_all(ksn11, 11, 0xAA));
  EXPECT_ST(PROVKIT_ERR_STORE_NOT_FOUND, provkit_dukpt_next_transaction, s, BASE + 1000, txn, ksn, 12);
  /* A base inside another device's records: its registers are no device header. */
  EXPECT_ST(PROVKIT_ERR_STORE_CORRUPT, provkit_dukpt_next_transaction, s, BASE + 1, txn, ksn, 12);
  /* None of the refusals used a counter. */
  uint8_t *ksn16 = h_buf(16, 0xAA);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn16, 16);
  check_ksn(ksn16, 1);
  CHECK(provkit_dukpt_next_transaction, h_all(ksn16 + 12, 4, 0xAA));
  /* A transaction state is replaced by the next transaction. */
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
  check_ksn(ksn, 2);
  uint8_t key[16], want[16];
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, AES128, (const uint8_t *)"m", 1, mac, 16);
  CHECK(provkit_dukpt_request_cmac, host_key(2, MAC_GEN, key) && aes_cmac(key, (const uint8_t *)"m", 1, want) && memcmp(mac, want, 16) == 0);

  /* Power cuts: the n-th program of next_transaction fails; after remounting, the next
   * counter is always past every counter handed out (a counter is never used twice). */
  uint32_t highest = 2;
  for (unsigned n = 1; n <= 12; n++) {
    f.fail_program = f.programs + n;
    provkit_status st = provkit_dukpt_next_transaction(s, BASE, txn, ksn, 12);
    if (st == PROVKIT_OK) {
      uint32_t c = (uint32_t)ksn[8] << 24 | (uint32_t)ksn[9] << 16 | (uint32_t)ksn[10] << 8 | ksn[11];
      CHECK(provkit_dukpt_next_transaction, c > highest);
      highest = c;
    } else {
      h_check_status("provkit_dukpt_next_transaction", st, PROVKIT_ERR_STORE_BACKEND, __FILE__, __LINE__);
    }
    ramflash_heal(&f);
    mount_store(s, &f);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
    uint32_t c = (uint32_t)ksn[8] << 24 | (uint32_t)ksn[9] << 16 | (uint32_t)ksn[10] << 8 | ksn[11];
    CHECK(provkit_dukpt_next_transaction, c > highest);
    highest = c;
  }
  /* A read failure: refused, nothing used. */
  f.fail_read = f.reads + 1;
  EXPECT_ST(PROVKIT_ERR_STORE_BACKEND, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
  ramflash_heal(&f);
  provkit_dukpt_transaction_reset(txn);
  provkit_store_release(s);
  CHECK(provkit_store_mount_flash, f.violations == 0);
  ramflash_free(&f);
  h_free_all();
}

static void transaction_arguments(void) {
  ramflash f = ramflash_new(4096, 4, false);
  provkit_store *s = h_state(sizeof *s);
  mount_store(s, &f);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_load_initial_key, s, BASE, DUKPT_IKID, 8, DUKPT_IK, 16);
  provkit_dukpt_transaction *txn = h_state(sizeof *txn), *zero = h_state(sizeof *zero);
  uint8_t ksn[12];
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, txn, ksn, 12);
  test_rng r = rng_stream(3);
  provkit_rng rng = rng_of(&r);
  uint8_t *pin = h_dup("1234", 4), *pan = h_dup(DUKPT_PAN, 16), *msg = h_dup("message", 7);
  uint8_t *block = h_buf(16, 0xAA), *mac = h_buf(16, 0xAA), *iv = h_buf(16, 0), *buf = h_buf(32, 0);

  /* Zero-initialized and reset transactions hold nothing. */
  provkit_dukpt_transaction *gone = h_state(sizeof *gone);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_next_transaction, s, BASE, gone, ksn, 12);
  provkit_dukpt_transaction_reset(gone);
  CHECK(provkit_dukpt_transaction_reset, h_all(gone->opaque, sizeof gone->opaque, 0));
  provkit_dukpt_transaction_reset(gone);
  provkit_dukpt_transaction_reset(NULL);
  provkit_dukpt_transaction *empties[2] = {zero, gone};
  for (int i = 0; i < 2; i++) {
    provkit_dukpt_transaction *e = empties[i];
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_encrypt_pin_block, e, AES128, pin, 4, pan, 16, &rng, block, 16);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_request_cmac, e, AES128, msg, 7, mac, 16);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_verify_response_cmac, e, AES128, msg, 7, mac, 16);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_encrypt_request, e, AES128, iv, 16, buf, 32);
    EXPECT_ST(PROVKIT_ERR_WRONG_STATE, provkit_dukpt_decrypt_response, e, AES128, iv, 16, buf, 32);
  }
  CHECK(provkit_dukpt_encrypt_pin_block, h_all(block, 16, 0xAA) && h_all(mac, 16, 0xAA) && h_all(buf, 32, 0));

  /* Key types: unknown codes; stronger than the AES-128 initial key; TDES. */
  static const uint32_t unknown[] = {5, 6, 99, UINT32_MAX};
  for (size_t i = 0; i < 4; i++) {
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_encrypt_pin_block, txn, unknown[i], pin, 4, pan, 16, &rng, block, 16);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_request_cmac, txn, unknown[i], msg, 7, mac, 16);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_verify_response_cmac, txn, unknown[i], msg, 7, mac, 16);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_encrypt_request, txn, unknown[i], iv, 16, buf, 32);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_decrypt_response, txn, unknown[i], iv, 16, buf, 32);
  }
  static const uint32_t strong[] = {PROVKIT_DUKPT_KEY_AES192, PROVKIT_DUKPT_KEY_AES256};
  for (size_t i = 0; i < 2; i++) {
    EXPECT_ST(PROVKIT_ERR_DUKPT_KEY_TOO_STRONG, provkit_dukpt_encrypt_pin_block, txn, strong[i], pin, 4, pan, 16, &rng, block, 16);
    EXPECT_ST(PROVKIT_ERR_DUKPT_KEY_TOO_STRONG, provkit_dukpt_request_cmac, txn, strong[i], msg, 7, mac, 16);
    EXPECT_ST(PROVKIT_ERR_DUKPT_KEY_TOO_STRONG, provkit_dukpt_verify_response_cmac, txn, strong[i], msg, 7, mac, 16);
    EXPECT_ST(PROVKIT_ERR_DUKPT_KEY_TOO_STRONG, provkit_dukpt_encrypt_request, txn, strong[i], iv, 16, buf, 32);
    EXPECT_ST(PROVKIT_ERR_DUKPT_KEY_TOO_STRONG, provkit_dukpt_decrypt_response, txn, strong[i], iv, 16, buf, 32);
  }
  static const uint32_t tdes[] = {PROVKIT_DUKPT_KEY_TDES2, PROVKIT_DUKPT_KEY_TDES3};
  for (size_t i = 0; i < 2; i++) {
    EXPECT_ERR(provkit_dukpt_encrypt_pin_block, txn, tdes[i], pin, 4, pan, 16, &rng, block, 16);
    EXPECT_ERR(provkit_dukpt_request_cmac, txn, tdes[i], msg, 7, mac, 16);
    EXPECT_ERR(provkit_dukpt_verify_response_cmac, txn, tdes[i], msg, 7, mac, 16);
    EXPECT_ERR(provkit_dukpt_encrypt_request, txn, tdes[i], iv, 8, buf, 32);
    EXPECT_ERR(provkit_dukpt_decrypt_response, txn, tdes[i], iv, 8, buf, 32);
  }
  CHECK(provkit_dukpt_encrypt_pin_block, h_all(block, 16, 0xAA) && h_all(mac, 16, 0xAA) && h_all(buf, 32, 0));

  /* encrypt_pin_block. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_encrypt_pin_block, NULL, AES128, pin, 4, pan, 16, &rng, block, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_encrypt_pin_block, txn, AES128, NULL, 4, pan, 16, &rng, block, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, NULL, 16, &rng, block, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, pan, 16, NULL, block, 16);
  provkit_rng no_fill = {.fill = NULL, .ctx = &r};
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, pan, 16, &no_fill, block, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, pan, 16, &rng, NULL, 16);
  uint8_t *b15 = h_buf(15, 0xAA);
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, pan, 16, &rng, b15, 15);
  CHECK(provkit_dukpt_encrypt_pin_block, h_all(b15, 15, 0xAA));
  static const char *bad_pins[] = {"", "123", "1234567890123", "12a4", "12 4", "1234\n"};
  for (size_t i = 0; i < sizeof bad_pins / sizeof bad_pins[0]; i++) {
    size_t n = strlen(bad_pins[i]);
    uint8_t *p = h_dup(bad_pins[i], n);
    EXPECT_ST(PROVKIT_ERR_DUKPT_INVALID_PIN, provkit_dukpt_encrypt_pin_block, txn, AES128, p, n, pan, 16, &rng, block, 16);
  }
  EXPECT_ST(PROVKIT_ERR_DUKPT_INVALID_PIN, provkit_dukpt_encrypt_pin_block, txn, AES128, NULL, 0, pan, 16, &rng, block, 16);
  static const char *bad_pans[] = {"", "12345678901234567890", "4111x11111111111", "-1"};
  for (size_t i = 0; i < sizeof bad_pans / sizeof bad_pans[0]; i++) {
    size_t n = strlen(bad_pans[i]);
    uint8_t *p = h_dup(bad_pans[i], n);
    EXPECT_ST(PROVKIT_ERR_DUKPT_INVALID_PAN, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, p, n, &rng, block, 16);
  }
  CHECK(provkit_dukpt_encrypt_pin_block, h_all(block, 16, 0xAA));
  /* The shortest and longest PIN and PAN. */
  static const char *good[][2] = {{"0000", "1"}, {"123456789012", "1234567890123456789"}, {"9876", "123456789012"}};
  for (size_t i = 0; i < 3; i++) {
    size_t pl = strlen(good[i][0]), al = strlen(good[i][1]);
    uint8_t *p = h_dup(good[i][0], pl), *a = h_dup(good[i][1], al);
    EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_pin_block, txn, AES128, p, pl, a, al, &rng, block, 16);
    uint8_t field[16];
    CHECK(provkit_dukpt_encrypt_pin_block, host_pin_field(1, block, good[i][1], field) && field[0] == (0x40 | pl));
  }
  /* A failing RNG: RNG_FAILED, nothing written. */
  test_rng bad = rng_failing();
  provkit_rng rb = rng_of(&bad);
  memset(block, 0xAA, 16);
  EXPECT_ST(PROVKIT_ERR_RNG_FAILED, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, pan, 16, &rb, block, 16);
  CHECK(provkit_dukpt_encrypt_pin_block, h_all(block, 16, 0xAA) && bad.calls == 1);
  /* The block written over the PIN or the PAN. */
  uint8_t *both = h_buf(64, 0);
  memcpy(both, "1234", 4);
  memcpy(both + 32, DUKPT_PAN, 16);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_encrypt_pin_block, txn, AES128, both, 4, pan, 16, &rng, both + 2, 16);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_encrypt_pin_block, txn, AES128, pin, 4, both + 32, 16, &rng, both + 20, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_pin_block, txn, AES128, both, 4, both + 32, 16, &rng, both + 4, 16);

  /* request_cmac. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_request_cmac, NULL, AES128, msg, 7, mac, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_request_cmac, txn, AES128, NULL, 7, mac, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_request_cmac, txn, AES128, msg, 7, NULL, 16);
  uint8_t *m15 = h_buf(15, 0xAA);
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_dukpt_request_cmac, txn, AES128, msg, 7, m15, 15);
  CHECK(provkit_dukpt_request_cmac, h_all(m15, 15, 0xAA));
  uint8_t *m20 = h_buf(20, 0xAA);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, AES128, msg, 7, m20, 20);
  CHECK(provkit_dukpt_request_cmac, h_all(m20 + 16, 4, 0xAA));
  memcpy(both, "message", 7);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_dukpt_request_cmac, txn, AES128, both, 7, both + 3, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_request_cmac, txn, AES128, both, 7, both + 7, 16);
  CHECK(provkit_dukpt_request_cmac, memcmp(both + 7, m20, 16) == 0);

  /* verify_response_cmac: NULLs; a MAC of another length; a wrong MAC. */
  uint8_t key[16], good_mac[16];
  CHECK(provkit_dukpt_verify_response_cmac, host_key(1, MAC_VER, key) && aes_cmac(key, msg, 7, good_mac));
  uint8_t *gm = h_dup(good_mac, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 7, gm, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_verify_response_cmac, NULL, AES128, msg, 7, gm, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_verify_response_cmac, txn, AES128, NULL, 7, gm, 16);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 7, NULL, 16);
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 7, gm, 3);
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 7, NULL, 0);
  uint8_t *g17 = h_buf(17, 0);
  memcpy(g17, good_mac, 16);
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 7, g17, 17);
  for (size_t i = 0; i < 16; i++) {
    gm[i] ^= 0x01;
    EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 7, gm, 16);
    gm[i] ^= 0x01;
  }
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_dukpt_verify_response_cmac, txn, AES128, msg, 6, gm, 16);

  /* encrypt_request / decrypt_response: NULLs, lengths, overlap. */
  typedef provkit_status (*cbc_fn)(provkit_dukpt_transaction *, uint32_t, const uint8_t *, size_t, uint8_t *, size_t);
  static const cbc_fn fns[2] = {provkit_dukpt_encrypt_request, provkit_dukpt_decrypt_response};
  static const char *names[2] = {"provkit_dukpt_encrypt_request", "provkit_dukpt_decrypt_response"};
  for (int k = 0; k < 2; k++) {
    const char *fn = names[k];
    h_check_status(fn, fns[k](NULL, AES128, iv, 16, buf, 32), PROVKIT_ERR_NULL_POINTER, __FILE__, __LINE__);
    h_check_status(fn, fns[k](txn, AES128, NULL, 16, buf, 32), PROVKIT_ERR_NULL_POINTER, __FILE__, __LINE__);
    h_check_status(fn, fns[k](txn, AES128, iv, 16, NULL, 32), PROVKIT_ERR_NULL_POINTER, __FILE__, __LINE__);
    static const size_t bad_iv[] = {0, 8, 15, 17, 32};
    for (size_t i = 0; i < 5; i++) {
      uint8_t *v = h_buf(bad_iv[i], 0);
      h_check_status(fn, fns[k](txn, AES128, v, bad_iv[i], buf, 32), PROVKIT_ERR_INVALID_ARGUMENT, __FILE__, __LINE__);
    }
    static const size_t bad_len[] = {1, 15, 17, 31, 33};
    for (size_t i = 0; i < 5; i++) {
      uint8_t *d = h_buf(bad_len[i], 0x11);
      h_check_status(fn, fns[k](txn, AES128, iv, 16, d, bad_len[i]), PROVKIT_ERR_DECODE_INVALID_LENGTH, __FILE__, __LINE__);
      CHECK(provkit_dukpt_encrypt_request, h_all(d, bad_len[i], 0x11));
    }
    /* The IV inside the buffer. */
    uint8_t *b = h_buf(64, 0x22);
    h_check_status(fn, fns[k](txn, AES128, b + 16, 16, b, 32), PROVKIT_ERR_INVALID_ARGUMENT, __FILE__, __LINE__);
    h_check_status(fn, fns[k](txn, AES128, b, 16, b + 8, 32), PROVKIT_ERR_INVALID_ARGUMENT, __FILE__, __LINE__);
    CHECK(provkit_dukpt_encrypt_request, h_all(b, 64, 0x22));
    h_check_status(fn, fns[k](txn, AES128, b, 16, b + 16, 48), PROVKIT_OK, __FILE__, __LINE__);
  }
  /* Encrypting then decrypting on the device is no round trip: two different keys. */
  uint8_t *data = h_dup("0123456789abcdef", 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_encrypt_request, txn, AES128, iv, 16, data, 16);
  EXPECT_ST(PROVKIT_OK, provkit_dukpt_decrypt_response, txn, AES128, iv, 16, data, 16);
  CHECK(provkit_dukpt_decrypt_response, memcmp(data, "0123456789abcdef", 16) != 0);

  provkit_dukpt_transaction_reset(txn);
  provkit_store_release(s);
  CHECK(provkit_store_mount_flash, f.violations == 0);
  ramflash_free(&f);
  h_free_all();
}

void test_dukpt(void) {
  vectors_and_host();
  load_and_next_arguments();
  transaction_arguments();
}
