/* Compact certificates: chain verification, device and CA parsing. */
#include <string.h>

#include "harness.h"
#include "provkit_vectors.h"
#include "tests.h"

/* Every input in a heap block of exactly its length. */
static void verify_chain(void) {
  uint8_t *root = h_dup(CHAIN_ROOT, sizeof CHAIN_ROOT);
  uint8_t *inter = h_dup(CHAIN_INTERMEDIATE, sizeof CHAIN_INTERMEDIATE);
  uint8_t *dev = h_dup(CHAIN_DEVICE, sizeof CHAIN_DEVICE);
  const size_t rl = sizeof CHAIN_ROOT, il = sizeof CHAIN_INTERMEDIATE, dl = sizeof CHAIN_DEVICE;
  provkit_device_info info, parsed;
  provkit_ca_info inter_info;

  /* The chain root -> intermediate -> device. */
  memset(&info, 0xCC, sizeof info);
  EXPECT_ST(PROVKIT_OK, provkit_cert_verify_chain, root, rl, inter, il, dev, dl, CHAIN_NOW, &info);
  CHECK(provkit_cert_verify_chain, info.serial == CHAIN_SERIAL);
  CHECK(provkit_cert_verify_chain, info.public_key[0] == 0x04);
  CHECK(provkit_cert_verify_chain, info.not_before <= CHAIN_NOW);
  const uint64_t not_before = info.not_before;
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, dev, dl, &parsed);
  CHECK(provkit_cert_verify_chain, memcmp(info.public_key, parsed.public_key, 65) == 0);
  EXPECT_ST(PROVKIT_OK, provkit_ca_parse, inter, il, &inter_info);
  CHECK(provkit_cert_verify_chain, memcmp(info.issuer_key_id, inter_info.short_key_id, 4) == 0);

  /* A device the root issued directly: the intermediate NULL with length 0. */
  uint8_t *hs_root = h_dup(HS_ROOT, sizeof HS_ROOT);
  uint8_t *hs_dev = h_dup(HS_RESPONDER_CERT, sizeof HS_RESPONDER_CERT);
  EXPECT_ST(PROVKIT_OK, provkit_cert_verify_chain, hs_root, sizeof HS_ROOT, NULL, 0, hs_dev, 111,
            HS_NOW, &info);
  CHECK(provkit_cert_verify_chain, info.serial == 2);
  /* ... and a non-NULL pointer with length 0 is no intermediate either. */
  EXPECT_ST(PROVKIT_OK, provkit_cert_verify_chain, hs_root, sizeof HS_ROOT, inter, 0, hs_dev, 111,
            HS_NOW, &info);

  /* Wrong chains. */
  EXPECT_ST(PROVKIT_ERR_CERT_ISSUER_MISMATCH, provkit_cert_verify_chain, root, rl, NULL, 0, dev,
            dl, CHAIN_NOW, &info);
  EXPECT_ERR(provkit_cert_verify_chain, hs_root, sizeof HS_ROOT, inter, il, dev, dl, CHAIN_NOW,
             &info);
  EXPECT_ERR(provkit_cert_verify_chain, root, rl, inter, il, hs_dev, 111, CHAIN_NOW, &info);
  /* The intermediate as root, the root as intermediate. */
  EXPECT_ERR(provkit_cert_verify_chain, inter, il, root, rl, dev, dl, CHAIN_NOW, &info);
  /* Time. */
  EXPECT_ST(PROVKIT_ERR_CERT_NOT_YET_VALID, provkit_cert_verify_chain, root, rl, inter, il, dev,
            dl, 0, &info);
  EXPECT_ST(PROVKIT_ERR_CERT_NOT_YET_VALID, provkit_cert_verify_chain, root, rl, inter, il, dev,
            dl, not_before - 1, &info);
  EXPECT_ERR(provkit_cert_verify_chain, root, rl, inter, il, dev, dl, UINT64_MAX, &info);

  /* A tampered device certificate: every byte flipped in turn is refused. */
  uint8_t *t = h_dup(CHAIN_DEVICE, dl);
  unsigned accepted = 0;
  for (size_t i = 0; i < dl; i++) {
    t[i] ^= 0x01;
    if (EXPECT_ERR(provkit_cert_verify_chain, root, rl, inter, il, t, dl, CHAIN_NOW, &info) ==
        PROVKIT_OK)
      accepted++;
    t[i] ^= 0x01;
  }
  CHECK(provkit_cert_verify_chain, accepted == 0);
  /* The signature's last byte: an opaque crypto failure. */
  t[dl - 1] ^= 0x80;
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_cert_verify_chain, root, rl, inter, il, t, dl, CHAIN_NOW,
            &info);
  t[dl - 1] ^= 0x80;
  /* The serial changed: the signature no longer covers it. */
  t[8] ^= 0x2a;
  EXPECT_ST(PROVKIT_ERR_CRYPTO, provkit_cert_verify_chain, root, rl, inter, il, t, dl, CHAIN_NOW,
            &info);
  t[8] ^= 0x2a;
  /* Tampered CA certificates. The root is the trust anchor (as provkit documents): only
   * its key, CA rights and name count, not its own signature, serial or validity; so a
   * changed root is refused or accepted, never more, and a changed root key is refused.
   * Every byte of the intermediate counts. */
  uint8_t *tr = h_dup(CHAIN_ROOT, rl), *ti = h_dup(CHAIN_INTERMEDIATE, il);
  for (size_t i = 0; i < rl; i++) {
    tr[i] ^= 0x10;
    provkit_status st = provkit_cert_verify_chain(tr, rl, inter, il, dev, dl, CHAIN_NOW, &info);
    if (st != PROVKIT_OK) h_check_error("provkit_cert_verify_chain", st, __FILE__, __LINE__);
    tr[i] ^= 0x10;
  }
  provkit_ca_info root_info;
  EXPECT_ST(PROVKIT_OK, provkit_ca_parse, root, rl, &root_info);
  size_t key_at = rl;
  for (size_t i = 0; i + 32 <= rl; i++)
    if (memcmp(root + i, root_info.public_key + 1, 32) == 0) key_at = i;
  CHECK(provkit_cert_verify_chain, key_at < rl);
  for (size_t i = key_at; i < key_at + 32 && i < rl; i++) {
    tr[i] ^= 0x01;
    EXPECT_ERR(provkit_cert_verify_chain, tr, rl, inter, il, dev, dl, CHAIN_NOW, &info);
    tr[i] ^= 0x01;
  }
  accepted = 0;
  for (size_t i = 0; i < il; i++) {
    ti[i] ^= 0x10;
    if (EXPECT_ERR(provkit_cert_verify_chain, root, rl, ti, il, dev, dl, CHAIN_NOW, &info) ==
        PROVKIT_OK)
      accepted++;
    ti[i] ^= 0x10;
  }
  CHECK(provkit_cert_verify_chain, accepted == 0);

  /* NULL pointers (with non-zero lengths). */
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_cert_verify_chain, NULL, rl, inter, il, dev, dl,
            CHAIN_NOW, &info);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_cert_verify_chain, root, rl, NULL, il, dev, dl,
            CHAIN_NOW, &info);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_cert_verify_chain, root, rl, inter, il, NULL, dl,
            CHAIN_NOW, &info);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_cert_verify_chain, root, rl, inter, il, dev, dl,
            CHAIN_NOW, NULL);
  /* An empty root or device certificate. */
  EXPECT_ERR(provkit_cert_verify_chain, NULL, 0, inter, il, dev, dl, CHAIN_NOW, &info);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_cert_verify_chain, root, rl, inter, il, NULL, 0,
            CHAIN_NOW, &info);
  /* The device certificate's fixed length, one byte off either way (exact blocks). */
  uint8_t *longer = h_buf(dl + 1, 0);
  memcpy(longer, CHAIN_DEVICE, dl);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_cert_verify_chain, root, rl, inter, il, longer,
            dl + 1, CHAIN_NOW, &info);
  for (size_t n = 0; n < dl; n++) {
    uint8_t *cut = h_dup(CHAIN_DEVICE, n);
    EXPECT_ST(n == 0 ? PROVKIT_ERR_INVALID_ARGUMENT : PROVKIT_ERR_INVALID_ARGUMENT,
              provkit_cert_verify_chain, root, rl, inter, il, cut, n, CHAIN_NOW, &info);
  }
  /* Truncated CA certificates, at every length, in exact blocks. */
  for (size_t n = 0; n < rl; n++) {
    uint8_t *cut = h_dup(CHAIN_ROOT, n);
    EXPECT_ERR(provkit_cert_verify_chain, cut, n, inter, il, dev, dl, CHAIN_NOW, &info);
  }
  for (size_t n = 1; n < il; n++) {
    uint8_t *cut = h_dup(CHAIN_INTERMEDIATE, n);
    EXPECT_ERR(provkit_cert_verify_chain, root, rl, cut, n, dev, dl, CHAIN_NOW, &info);
  }
  /* Garbage of every length up to 200 as root and intermediate. */
  uint64_t seed = 0x636572740a;
  for (size_t n = 1; n <= 200; n += 7) {
    uint8_t *g = h_buf(n, 0);
    h_rand_bytes(&seed, g, n);
    EXPECT_ERR(provkit_cert_verify_chain, g, n, inter, il, dev, dl, CHAIN_NOW, &info);
    EXPECT_ERR(provkit_cert_verify_chain, root, rl, g, n, dev, dl, CHAIN_NOW, &info);
  }
  for (int i = 0; i < 64; i++) {
    uint8_t *g = h_buf(dl, 0);
    h_rand_bytes(&seed, g, dl);
    EXPECT_ERR(provkit_cert_verify_chain, root, rl, inter, il, g, dl, CHAIN_NOW, &info);
  }
  /* A CA certificate followed by one more byte. */
  uint8_t *trail = h_buf(rl + 1, 0);
  memcpy(trail, CHAIN_ROOT, rl);
  EXPECT_ERR(provkit_cert_verify_chain, trail, rl + 1, inter, il, dev, dl, CHAIN_NOW, &info);
  h_free_all();
}

static void parse_device(void) {
  uint8_t *dev = h_dup(CHAIN_DEVICE, sizeof CHAIN_DEVICE);
  provkit_device_info info;
  memset(&info, 0xCC, sizeof info);
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, dev, 111, &info);
  CHECK(provkit_cert_parse, info.serial == CHAIN_SERIAL);
  CHECK(provkit_cert_parse, info.public_key[0] == 0x04);
  CHECK(provkit_cert_parse, info.key_agreement == false || info.key_agreement == true);
  uint8_t *hi = h_dup(HS_INITIATOR_CERT, 111), *hr = h_dup(HS_RESPONDER_CERT, 111);
  provkit_device_info a, b;
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, hi, 111, &a);
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, hr, 111, &b);
  CHECK(provkit_cert_parse, a.serial == 1 && b.serial == 2);
  CHECK(provkit_cert_parse, memcmp(a.issuer_key_id, b.issuer_key_id, 4) == 0);
  CHECK(provkit_cert_parse, memcmp(a.public_key, b.public_key, 65) != 0);

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_cert_parse, NULL, 111, &info);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_cert_parse, dev, 111, NULL);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_cert_parse, NULL, 0, &info);
  uint8_t *longer = h_buf(112, 0);
  memcpy(longer, CHAIN_DEVICE, 111);
  EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_cert_parse, longer, 112, &info);
  for (size_t n = 1; n < 111; n++) {
    uint8_t *cut = h_dup(CHAIN_DEVICE, n);
    EXPECT_ST(PROVKIT_ERR_INVALID_ARGUMENT, provkit_cert_parse, cut, n, &info);
  }
  /* Garbage: refused, or parsed (nothing is verified here), never more. */
  uint64_t seed = 0x70617273;
  unsigned parsed = 0;
  for (int i = 0; i < 200; i++) {
    uint8_t *g = h_buf(111, 0);
    h_rand_bytes(&seed, g, 111);
    if (i % 2) g[0] = CHAIN_DEVICE[0]; /* past the version byte */
    provkit_status st = provkit_cert_parse(g, 111, &info);
    if (st == PROVKIT_OK) {
      parsed++;
      CHECK(provkit_cert_parse, info.public_key[0] == 0x04);
    } else {
      h_check_error("provkit_cert_parse", st, __FILE__, __LINE__);
    }
  }
  /* Each byte flipped: parses or fails cleanly; a changed serial shows. */
  uint8_t *t = h_dup(CHAIN_DEVICE, 111);
  for (size_t i = 0; i < 111; i++) {
    t[i] ^= 0xFF;
    provkit_status st = provkit_cert_parse(t, 111, &info);
    if (st != PROVKIT_OK) h_check_error("provkit_cert_parse", st, __FILE__, __LINE__);
    t[i] ^= 0xFF;
  }
  (void)parsed;
  h_free_all();
}

static void parse_ca(void) {
  provkit_ca_info root, inter, hs;
  provkit_device_info dev, hsdev;
  uint8_t *r = h_dup(CHAIN_ROOT, sizeof CHAIN_ROOT);
  uint8_t *i = h_dup(CHAIN_INTERMEDIATE, sizeof CHAIN_INTERMEDIATE);
  uint8_t *h = h_dup(HS_ROOT, sizeof HS_ROOT);
  memset(&root, 0xCC, sizeof root);
  EXPECT_ST(PROVKIT_OK, provkit_ca_parse, r, sizeof CHAIN_ROOT, &root);
  EXPECT_ST(PROVKIT_OK, provkit_ca_parse, i, sizeof CHAIN_INTERMEDIATE, &inter);
  EXPECT_ST(PROVKIT_OK, provkit_ca_parse, h, sizeof HS_ROOT, &hs);
  CHECK(provkit_ca_parse, root.public_key[0] == 0x04 && inter.public_key[0] == 0x04);
  CHECK(provkit_ca_parse, memcmp(root.short_key_id, inter.short_key_id, 4) != 0);
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, CHAIN_DEVICE, 111, &dev);
  EXPECT_ST(PROVKIT_OK, provkit_cert_parse, HS_INITIATOR_CERT, 111, &hsdev);
  CHECK(provkit_ca_parse, memcmp(dev.issuer_key_id, inter.short_key_id, 4) == 0);
  CHECK(provkit_ca_parse, memcmp(hsdev.issuer_key_id, hs.short_key_id, 4) == 0);

  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_ca_parse, NULL, sizeof CHAIN_ROOT, &root);
  EXPECT_ST(PROVKIT_ERR_NULL_POINTER, provkit_ca_parse, r, sizeof CHAIN_ROOT, NULL);
  EXPECT_ERR(provkit_ca_parse, NULL, 0, &root);
  /* Truncated at every length, in exact blocks. */
  for (size_t n = 0; n < sizeof CHAIN_INTERMEDIATE; n++) {
    uint8_t *cut = h_dup(CHAIN_INTERMEDIATE, n);
    EXPECT_ERR(provkit_ca_parse, cut, n, &inter);
  }
  /* One byte more. */
  uint8_t *trail = h_buf(sizeof HS_ROOT + 1, 0);
  memcpy(trail, HS_ROOT, sizeof HS_ROOT);
  EXPECT_ERR(provkit_ca_parse, trail, sizeof HS_ROOT + 1, &hs);
  /* A device certificate is no CA certificate. */
  EXPECT_ERR(provkit_ca_parse, CHAIN_DEVICE, 111, &hs);
  /* Garbage, and each byte flipped. */
  uint64_t seed = 0x6361;
  for (size_t n = 1; n < 260; n += 3) {
    uint8_t *g = h_buf(n, 0);
    h_rand_bytes(&seed, g, n);
    provkit_status st = provkit_ca_parse(g, n, &hs);
    if (st != PROVKIT_OK) h_check_error("provkit_ca_parse", st, __FILE__, __LINE__);
  }
  uint8_t *t = h_dup(CHAIN_ROOT, sizeof CHAIN_ROOT);
  for (size_t k = 0; k < sizeof CHAIN_ROOT; k++) {
    t[k] ^= 0xFF;
    provkit_status st = provkit_ca_parse(t, sizeof CHAIN_ROOT, &hs);
    if (st != PROVKIT_OK) h_check_error("provkit_ca_parse", st, __FILE__, __LINE__);
    t[k] ^= 0xFF;
  }
  h_free_all();
}

void test_cert(void) {
  verify_chain();
  parse_device();
  parse_ca();
}
