/* A "secure element" written in C over OpenSSL's libcrypto, behind provkit's key-store
 * vtable: P-256 keys (ECDSA on the digest as r || s, ECDH), records in a C array, and
 * fault injection. */
#ifndef PROVKIT_C_TESTS_SE_H
#define PROVKIT_C_TESTS_SE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provkit.h"

#define SE_KEYS 8
#define SE_RECORDS 64
#define SE_RECORD_MAX 64

typedef struct {
  struct {
    bool used;
    uint32_t id;
    EVP_PKEY *pkey;
    uint8_t pub[65];
  } keys[SE_KEYS];
  struct {
    bool used;
    uint32_t id;
    size_t len;
    uint8_t data[SE_RECORD_MAX];
  } records[SE_RECORDS];
  /* Fault injection: a callback returns its status instead of working when non-zero. */
  int32_t public_status, sign_status, ecdh_status, generate_status, delete_status;
  int32_t read_status, write_status, delete_record_status;
  bool bad_point;     /* public_key and generate write a point off the curve */
  bool bad_signature; /* sign writes a signature that does not verify */
  bool read_lies;     /* read_record claims more bytes than it was given room for */
  /* What provkit passed. */
  unsigned public_calls, sign_calls, ecdh_calls, generate_calls, read_calls, write_calls;
  size_t public_len, digest_len, signature_len, peer_len, shared_len;
  unsigned contract_breaches; /* a call with lengths other than the vtable documents */
} se;

/* An empty element. */
void se_init(se *e);
/* Frees its keys. */
void se_free(se *e);
/* Provisions P-256 key `id` from a scalar (the element's own means, not provkit's). */
bool se_provision(se *e, uint32_t id, const uint8_t scalar[32]);
/* The vtable over the element's callbacks (max_record_len SE_RECORD_MAX). */
provkit_keystore_vtable se_vtable(void);
/* ECDH of key `id` with `peer` (65 bytes), through the vtable's callback. */
int32_t se_ecdh_direct(se *e, uint32_t id, const uint8_t peer[65], uint8_t out[32]);
/* P-256 public key of `scalar` with OpenSSL (uncompressed). */
bool openssl_public_key(const uint8_t scalar[32], uint8_t pub[65]);
/* Verifies an r || s signature over a SHA-256 digest with OpenSSL. */
bool openssl_verify(const uint8_t pub[65], const uint8_t digest[32], const uint8_t sig[64]);

#endif
