/* Status names, the build's provider and flash unit, AES key check values. */
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <string.h>

#include "harness.h"
#include "provkit_statuses.h"
#include "tests.h"

static void status_names(void) {
  /* Every code of the header, by its own name. */
#define STATUS(s) {s, #s},
  static const struct {
    int32_t code;
    const char *name;
  } all[] = {PROVKIT_STATUSES(STATUS)};
  /* 54 codes today (run.sh takes them from the header). */
  CHECK(provkit_status_name, sizeof all / sizeof all[0] >= 54);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *name = provkit_status_name(all[i].code);
    CHECK(provkit_status_name, name != NULL && strcmp(name, all[i].name) == 0);
  }
  /* Values that are no code. */
  static const int32_t unknown[] = {-1, 10, 11, 99, 108, 198, 200 - 1, 209, 298, 307,
                                    407, 507, 598, 601, 1000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    bool is_code = false;
    for (size_t j = 0; j < sizeof all / sizeof all[0]; j++) is_code |= all[j].code == unknown[i];
    if (is_code) continue;
    const char *name = provkit_status_name(unknown[i]);
    CHECK(provkit_status_name, name != NULL && strcmp(name, "PROVKIT_UNKNOWN_STATUS") == 0);
  }
  /* Static strings: the same pointer every time. */
  CHECK(provkit_status_name, provkit_status_name(PROVKIT_ERR_CRYPTO) ==
                                 provkit_status_name(PROVKIT_ERR_CRYPTO));
}

static void build_info(void) {
  const char *p = provkit_provider_name();
  CHECK(provkit_provider_name, p != NULL && strcmp(p, "rustcrypto") == 0);
  CHECK(provkit_provider_name, p == provkit_provider_name());
  uint32_t unit = provkit_flash_unit();
  CHECK(provkit_flash_unit, unit == 4);
  CHECK(provkit_flash_unit, unit == provkit_flash_unit());
}

/* AES-CMAC of a zero block under `key` with OpenSSL: the KCV is its first 5 bytes. */
static bool openssl_kcv(const uint8_t *key, size_t key_len, uint8_t out[5]) {
  const char *cipher = key_len == 16 ? "AES-128-CBC" : key_len == 24 ? "AES-192-CBC" : "AES-256-CBC";
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
  EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0),
                         OSSL_PARAM_construct_end()};
  static const uint8_t zero[16];
  uint8_t full[16];
  size_t n = 0;
  bool ok = ctx && EVP_MAC_init(ctx, key, key_len, params) && EVP_MAC_update(ctx, zero, 16) &&
            EVP_MAC_final(ctx, full, &n, sizeof full) && n == 16;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (ok) memcpy(out, full, 5);
  return ok;
}

static void kcv(void) {
  /* provkit's own doc vector (src/envelope/kcv.rs): the FIPS-197 / SP 800-38B key. */
  static const uint8_t key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                                  0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
  static const uint8_t want[5] = {0x7a, 0xd3, 0x86, 0xc3, 0x76};
  uint8_t *k = h_dup(key, 16);
  uint8_t *out = h_buf(PROVKIT_KCV_LEN, 0);
  EXPECT_ST(PROVKIT_OK, provkit_kcv_aes, k, 16, out, PROVKIT_KCV_LEN);
  CHECK(provkit_kcv_aes, memcmp(out, want, 5) == 0);

  /* Every AES size against OpenSSL's CMAC. */
  uint64_t seed = 0x6b6376;
  static const size_t sizes[] = {16, 24, 32};
  for (size_t i = 0; i < 3; i++) {
    uint8_t *key_n = h_buf(sizes[i], 0);
    h_rand_bytes(&seed, key_n, sizes[i]);
    uint8_t ref[5];
    CHECK(provkit_kcv_aes, openssl_kcv(key_n, sizes[i], ref));
    EXPECT_ST(PROVKIT_OK, provkit_kcv_aes, key_n, sizes[i], out, PROVKIT_KCV_LEN);
    CHECK(provkit_kcv_aes, memcmp(out, ref, 5) == 0);
  }

  /* A longer output buffer: 5 bytes written, the rest untouched. */
  uint8_t *big = h_buf(8, 0xA5);
  EXPECT_ST(PROVKIT_OK, provkit_kcv_aes, k, 16, big, 8);
  CHECK(provkit_kcv_aes, memcmp(big, want, 5) == 0 && h_all(big + 5, 3, 0xA5));

  /* NULL pointers. */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_kcv_aes, NULL, 16, out, PROVKIT_KCV_LEN);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_kcv_aes, k, 16, NULL, PROVKIT_KCV_LEN);
  /* One byte short, in a block of exactly that length; nothing written. */
  uint8_t *short_out = h_buf(PROVKIT_KCV_LEN - 1, 0xA5);
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_kcv_aes, k, 16, short_out, PROVKIT_KCV_LEN - 1);
  CHECK(provkit_kcv_aes, h_all(short_out, PROVKIT_KCV_LEN - 1, 0xA5));
  EXPECT_ST(PROVKIT_ERR_BUFFER_TOO_SMALL, provkit_kcv_aes, k, 16, NULL, 0);
  /* Wrong key lengths (each in a block of exactly that length). */
  static const size_t bad[] = {0, 1, 15, 17, 23, 25, 31, 33, 64};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t *kb = h_buf(bad[i], 0x11);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_kcv_aes, kb, bad[i], out, PROVKIT_KCV_LEN);
  }
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_kcv_aes, NULL, 0, out, PROVKIT_KCV_LEN);
  /* The output inside the key, or overlapping its end. */
  uint8_t *both = h_buf(24, 0);
  memcpy(both, key, 16);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_kcv_aes, both, 16, both + 4, PROVKIT_KCV_LEN);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_kcv_aes, both, 16, both + 12, PROVKIT_KCV_LEN);
  CHECK(provkit_kcv_aes, memcmp(both, key, 16) == 0);
  /* Adjacent is not overlapping. */
  EXPECT_ST(PROVKIT_OK, provkit_kcv_aes, both, 16, both + 16, PROVKIT_KCV_LEN);
  CHECK(provkit_kcv_aes, memcmp(both + 16, want, 5) == 0);
}

void test_misc(void) {
  status_names();
  build_info();
  kcv();
}
