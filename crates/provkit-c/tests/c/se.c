/* The OpenSSL "secure element" (see se.h). OpenSSL 3 EVP interfaces only. */
#include "se.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <string.h>

static EVP_PKEY *pkey_from(const uint8_t pub[65], const BIGNUM *priv) {
  OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  OSSL_PARAM *params = NULL;
  EVP_PKEY *pkey = NULL;
  if (b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
      OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, 65) &&
      (priv == NULL || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, priv)) &&
      (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) > 0) {
    if (EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
      pkey = NULL;
  }
  OSSL_PARAM_free(params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_BLD_free(b);
  return pkey;
}

bool openssl_public_key(const uint8_t scalar[32], uint8_t pub[65]) {
  EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM *d = BN_bin2bn(scalar, 32, NULL);
  EC_POINT *q = g ? EC_POINT_new(g) : NULL;
  bool ok = g && d && q && EC_POINT_mul(g, q, d, NULL, NULL, NULL) &&
            EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, 65, NULL) == 65;
  EC_POINT_free(q);
  BN_free(d);
  EC_GROUP_free(g);
  return ok;
}

bool openssl_verify(const uint8_t pub[65], const uint8_t digest[32], const uint8_t sig[64]) {
  EVP_PKEY *pkey = pkey_from(pub, NULL);
  ECDSA_SIG *s = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
  unsigned char *der = NULL;
  int der_len = -1;
  bool ok = false;
  if (pkey && s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
    r = ss = NULL; /* owned by s */
    der_len = i2d_ECDSA_SIG(s, &der);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
    ok = der_len > 0 && c && EVP_PKEY_verify_init(c) > 0 &&
         EVP_PKEY_verify(c, der, (size_t)der_len, digest, 32) == 1;
    EVP_PKEY_CTX_free(c);
  }
  OPENSSL_free(der);
  BN_free(r);
  BN_free(ss);
  ECDSA_SIG_free(s);
  EVP_PKEY_free(pkey);
  return ok;
}

void se_init(se *e) { memset(e, 0, sizeof *e); }

void se_free(se *e) {
  for (int i = 0; i < SE_KEYS; i++) EVP_PKEY_free(e->keys[i].pkey);
  memset(e, 0, sizeof *e);
}

static int find_key(se *e, uint32_t id) {
  for (int i = 0; i < SE_KEYS; i++)
    if (e->keys[i].used && e->keys[i].id == id) return i;
  return -1;
}

static int free_key(se *e) {
  for (int i = 0; i < SE_KEYS; i++)
    if (!e->keys[i].used) return i;
  return -1;
}

bool se_provision(se *e, uint32_t id, const uint8_t scalar[32]) {
  int i = free_key(e);
  if (i < 0 || find_key(e, id) >= 0) return false;
  BIGNUM *d = BN_bin2bn(scalar, 32, NULL);
  bool ok = d && openssl_public_key(scalar, e->keys[i].pub) &&
            (e->keys[i].pkey = pkey_from(e->keys[i].pub, d)) != NULL;
  BN_free(d);
  if (ok) {
    e->keys[i].used = true;
    e->keys[i].id = id;
  }
  return ok;
}

static void write_public(se *e, int i, uint8_t *out) {
  memcpy(out, e->keys[i].pub, 65);
  if (e->bad_point) out[64] ^= 0x01; /* y off by one bit: not on the curve */
}

static int32_t cb_public_key(void *ctx, uint32_t key_id, uint8_t *out, size_t len) {
  se *e = ctx;
  e->public_calls++;
  e->public_len = len;
  if (len != 65) e->contract_breaches++;
  if (e->public_status) return e->public_status;
  int i = find_key(e, key_id);
  if (i < 0) return PROVKIT_ERR_STORE_NOT_FOUND;
  write_public(e, i, out);
  return PROVKIT_OK;
}

static int32_t cb_sign(void *ctx, uint32_t key_id, const uint8_t *digest, size_t digest_len,
                       uint8_t *sig, size_t sig_len) {
  se *e = ctx;
  e->sign_calls++;
  e->digest_len = digest_len;
  e->signature_len = sig_len;
  if (digest_len != 32 || sig_len != 64) e->contract_breaches++;
  if (e->sign_status) return e->sign_status;
  int i = find_key(e, key_id);
  if (i < 0) return PROVKIT_ERR_STORE_NOT_FOUND;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(e->keys[i].pkey, NULL);
  unsigned char der[80];
  size_t der_len = sizeof der;
  ECDSA_SIG *s = NULL;
  const unsigned char *p = der;
  const BIGNUM *r = NULL, *ss = NULL;
  /* No message digest set: the input is signed as the digest it is. */
  bool ok = c && EVP_PKEY_sign_init(c) > 0 && EVP_PKEY_sign(c, der, &der_len, digest, 32) > 0 &&
            (s = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) != NULL;
  if (ok) {
    ECDSA_SIG_get0(s, &r, &ss);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(ss, sig + 32, 32) == 32;
  }
  ECDSA_SIG_free(s);
  EVP_PKEY_CTX_free(c);
  if (!ok) return PROVKIT_ERR_STORE_BACKEND;
  if (e->bad_signature) sig[40] ^= 0x55;
  return PROVKIT_OK;
}

static int32_t cb_ecdh(void *ctx, uint32_t key_id, const uint8_t *peer, size_t peer_len,
                       uint8_t *shared, size_t shared_len) {
  se *e = ctx;
  e->ecdh_calls++;
  e->peer_len = peer_len;
  e->shared_len = shared_len;
  if (peer_len != 65 || shared_len != 32) e->contract_breaches++;
  if (e->ecdh_status) return e->ecdh_status;
  int i = find_key(e, key_id);
  if (i < 0) return PROVKIT_ERR_STORE_NOT_FOUND;
  EVP_PKEY *pk = pkey_from(peer, NULL);
  EVP_PKEY_CTX *c = pk ? EVP_PKEY_CTX_new(e->keys[i].pkey, NULL) : NULL;
  size_t n = 32;
  bool ok = c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, pk) > 0 &&
            EVP_PKEY_derive(c, shared, &n) > 0 && n == 32;
  EVP_PKEY_CTX_free(c);
  EVP_PKEY_free(pk);
  return ok ? PROVKIT_OK : PROVKIT_ERR_STORE_BACKEND;
}

static int32_t cb_generate(void *ctx, uint32_t key_id, uint8_t *out, size_t len) {
  se *e = ctx;
  e->generate_calls++;
  if (len != 65) e->contract_breaches++;
  if (e->generate_status) return e->generate_status;
  if (find_key(e, key_id) >= 0) return PROVKIT_ERR_STORE_ALREADY_EXISTS;
  int i = free_key(e);
  if (i < 0) return PROVKIT_ERR_STORE_FULL;
  EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  size_t n = 0;
  if (!pkey || !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, e->keys[i].pub, 65, &n) ||
      n != 65 || e->keys[i].pub[0] != 0x04) {
    EVP_PKEY_free(pkey);
    return PROVKIT_ERR_STORE_BACKEND;
  }
  e->keys[i].pkey = pkey;
  e->keys[i].used = true;
  e->keys[i].id = key_id;
  write_public(e, i, out);
  return PROVKIT_OK;
}

static int32_t cb_delete_key(void *ctx, uint32_t key_id) {
  se *e = ctx;
  if (e->delete_status) return e->delete_status;
  int i = find_key(e, key_id);
  if (i < 0) return PROVKIT_ERR_STORE_NOT_FOUND;
  EVP_PKEY_free(e->keys[i].pkey);
  memset(&e->keys[i], 0, sizeof e->keys[i]);
  return PROVKIT_OK;
}

static int find_record(se *e, uint32_t id) {
  for (int i = 0; i < SE_RECORDS; i++)
    if (e->records[i].used && e->records[i].id == id) return i;
  return -1;
}

static int32_t cb_read(void *ctx, uint32_t id, uint8_t *out, size_t capacity, size_t *len_out) {
  se *e = ctx;
  e->read_calls++;
  if (len_out == NULL || (out == NULL && capacity != 0)) {
    e->contract_breaches++;
    return PROVKIT_ERR_STORE_BACKEND;
  }
  if (e->read_status) return e->read_status;
  int i = find_record(e, id);
  if (i < 0) return PROVKIT_ERR_STORE_NOT_FOUND;
  if (e->read_lies) {
    *len_out = capacity + 1;
    return PROVKIT_OK;
  }
  *len_out = e->records[i].len;
  if (e->records[i].len > capacity) return PROVKIT_ERR_BUFFER_TOO_SMALL;
  memcpy(out, e->records[i].data, e->records[i].len);
  return PROVKIT_OK;
}

static int32_t cb_write(void *ctx, uint32_t id, const uint8_t *data, size_t len) {
  se *e = ctx;
  e->write_calls++;
  if (len > SE_RECORD_MAX || (data == NULL && len != 0)) {
    e->contract_breaches++;
    return PROVKIT_ERR_STORE_RECORD_TOO_LARGE;
  }
  if (e->write_status) return e->write_status;
  int i = find_record(e, id);
  for (int k = 0; i < 0 && k < SE_RECORDS; k++)
    if (!e->records[k].used) i = k;
  if (i < 0) return PROVKIT_ERR_STORE_FULL;
  e->records[i].used = true;
  e->records[i].id = id;
  e->records[i].len = len;
  if (len) memcpy(e->records[i].data, data, len);
  return PROVKIT_OK;
}

static int32_t cb_delete_record(void *ctx, uint32_t id) {
  se *e = ctx;
  if (e->delete_record_status) return e->delete_record_status;
  int i = find_record(e, id);
  if (i < 0) return PROVKIT_ERR_STORE_NOT_FOUND;
  memset(&e->records[i], 0, sizeof e->records[i]);
  return PROVKIT_OK;
}

provkit_keystore_vtable se_vtable(void) {
  return (provkit_keystore_vtable){
      .public_key = cb_public_key,
      .sign_digest = cb_sign,
      .ecdh = cb_ecdh,
      .generate_p256 = cb_generate,
      .delete_key = cb_delete_key,
      .read_record = cb_read,
      .write_record = cb_write,
      .delete_record = cb_delete_record,
      .max_record_len = SE_RECORD_MAX,
  };
}

int32_t se_ecdh_direct(se *e, uint32_t id, const uint8_t peer[65], uint8_t out[32]) {
  return cb_ecdh(e, id, peer, 65, out, 32);
}
