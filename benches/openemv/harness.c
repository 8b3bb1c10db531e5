/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * provkit's DUKPT bench reference: times openemv/dukpt (the vendored C sources beside
 * this file) deriving AES DUKPT working keys, for benches/dukpt.rs to compare with
 * provkit on the same KSNs in the same run. This file is provkit's own code; the
 * openemv sources it links are LGPL-2.1 (dukpt, pinblock) and MIT (crypto).
 *
 * Usage: harness <bdk-hex> <ikid-hex> <ksn-file> <passes>
 *   <ksn-file>: AES KSNs (8-byte initial key ID, 4-byte big-endian counter), 12 bytes
 *   each, back to back.
 *
 * Once, untimed: the initial key from the BDK and IKID (dukpt_aes_derive_ik), every KSN
 * checked (dukpt_aes_ksn_is_valid), the working-key step below checked against
 * openemv's own PIN block encryption, and a warm-up pass over the first KSNs.
 *
 * Timed, per KSN, what provkit's InitialKey::working_key does (initial key + KSN ->
 * AES-128 PIN working key):
 *   1. dukpt_aes_derive_txn_key(ik, ksn): the transaction key;
 *   2. the PIN working key from it: one crypto_aes_encrypt (openemv/crypto) of the
 *      derivation data that dukpt_aes.c builds for it (key usage 1000, AES-128).
 *      openemv/dukpt derives this key only inside dukpt_aes_encrypt_pinblock and its
 *      other working-key functions and does not return it, so the harness does that
 *      one step, with openemv's AES call, as dukpt_aes_encrypt_pinblock does;
 *   3. the key XORed into the checksum; both keys cleansed (crypto_cleanse), as
 *      openemv cleanses its working keys.
 * A pass is one loop over all KSNs, timed with clock_gettime(CLOCK_MONOTONIC); the
 * figure is the median pass of <passes>.
 *
 * Output, one line on stdout:
 *   openemv-dukpt keys=<n> passes=<p> median_ns=<ns per pass> keys_per_s=<n/s> xor=<hex>
 * where xor is the XOR of all n working keys (equal across passes, checked).
 * Exit status 0 on success, 1 on any error (message on stderr).
 */

#define _POSIX_C_SOURCE 200809L

#include "crypto_aes.h"
#include "crypto_mem.h"
#include "dukpt_aes.h"
#include "pinblock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KSN_LEN DUKPT_AES_KSN_LEN
#define WK_LEN DUKPT_AES_KEY_LEN(AES128)
#define MAX_KEY_LEN DUKPT_AES_KEY_LEN(AES256)
#define WARM_UP_KSNS 10000

static uint8_t ik[MAX_KEY_LEN];
static size_t ik_len;

static int fail(const char* msg)
{
	fprintf(stderr, "harness: %s\n", msg);
	return 1;
}

static int parse_hex(const char* s, uint8_t* out, size_t max, size_t* len)
{
	size_t n = strlen(s);
	if (n % 2 != 0 || n / 2 > max) {
		return -1;
	}
	for (size_t i = 0; i < n / 2; ++i) {
		unsigned int b;
		if (sscanf(s + 2 * i, "%2x", &b) != 1) {
			return -1;
		}
		out[i] = (uint8_t)b;
	}
	*len = n / 2;
	return 0;
}

/*
 * The AES-128 PIN working key from a transaction key, as dukpt_aes.c derives it in
 * dukpt_aes_encrypt_pinblock (dukpt_aes_create_derivation_data with
 * DUKPT_AES_KEY_USAGE_PIN_ENCRYPTION and DUKPT_AES_KEY_TYPE_AES128, then one block of
 * dukpt_aes_derive_key): version 01, block counter 01, key usage 1000, algorithm 0002
 * (AES-128), length 0080, then the rightmost half of the initial key ID and the
 * counter (the KSN's last 8 bytes).
 */
static int derive_pin_key(const uint8_t* txn_key, const uint8_t* ksn, uint8_t* pin_key)
{
	uint8_t dd[16] = { 0x01, 0x01, 0x10, 0x00, 0x00, 0x02, 0x00, 0x80 };
	memcpy(dd + 8, ksn + DUKPT_AES_BDK_ID_LEN, 8);
	return crypto_aes_encrypt(txn_key, ik_len, NULL, dd, sizeof(dd), pin_key);
}

/* One working key, steps 1-3 above. */
static int working_key_xor(const uint8_t* ksn, uint8_t* acc)
{
	uint8_t txn_key[MAX_KEY_LEN];
	uint8_t pin_key[WK_LEN];
	int r;

	r = dukpt_aes_derive_txn_key(ik, ik_len, ksn, txn_key);
	if (r == 0) {
		r = derive_pin_key(txn_key, ksn, pin_key);
	}
	if (r == 0) {
		for (size_t j = 0; j < WK_LEN; ++j) {
			acc[j] ^= pin_key[j];
		}
	}
	crypto_cleanse(txn_key, sizeof(txn_key));
	crypto_cleanse(pin_key, sizeof(pin_key));
	return r;
}

/* One pass over n KSNs; returns its time in ns, or a negative value on error. */
static double pass(const uint8_t* ksns, size_t n, uint8_t* acc)
{
	struct timespec t0;
	struct timespec t1;

	memset(acc, 0, WK_LEN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; ++i) {
		if (working_key_xor(ksns + i * KSN_LEN, acc) != 0) {
			return -1.0;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
}

/*
 * The working-key step checked against openemv's own use of it: a format 4 PIN block
 * (the X9.24-3 supplement's PIN field and PAN) encrypted by dukpt_aes_encrypt_pinblock
 * decrypts, under the harness's PIN key, to that PIN field.
 */
static int check_pin_key(const uint8_t* ksn)
{
	static const uint8_t pinfield[DUKPT_AES_PINBLOCK_LEN] = {
		0x44, 0x12, 0x34, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
		0x2F, 0x69, 0xAD, 0xDE, 0x2E, 0x9E, 0x7A, 0xCE,
	};
	static const uint8_t pan[] = { 0x41, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11 };
	uint8_t txn_key[MAX_KEY_LEN];
	uint8_t pin_key[WK_LEN];
	uint8_t panfield[DUKPT_AES_PINBLOCK_LEN];
	uint8_t block[DUKPT_AES_PINBLOCK_LEN];

	if (dukpt_aes_derive_txn_key(ik, ik_len, ksn, txn_key) != 0 ||
		derive_pin_key(txn_key, ksn, pin_key) != 0 ||
		dukpt_aes_encrypt_pinblock(txn_key, ik_len, ksn, DUKPT_AES_KEY_TYPE_AES128,
			pinfield, pan, sizeof(pan), block) != 0 ||
		pinblock_encode_iso9564_format4_panfield(pan, sizeof(pan), panfield) != 0 ||
		crypto_aes_decrypt(pin_key, sizeof(pin_key), NULL, block, sizeof(block), block) != 0
	) {
		return -1;
	}
	crypto_xor(block, panfield, sizeof(block));
	if (crypto_aes_decrypt(pin_key, sizeof(pin_key), NULL, block, sizeof(block), block) != 0) {
		return -1;
	}
	return memcmp(block, pinfield, sizeof(block)) == 0 ? 0 : 1;
}

static int cmp_double(const void* a, const void* b)
{
	double x = *(const double*)a;
	double y = *(const double*)b;
	return (x > y) - (x < y);
}

int main(int argc, char** argv)
{
	uint8_t bdk[MAX_KEY_LEN];
	uint8_t ikid[DUKPT_AES_IK_ID_LEN];
	size_t bdk_len;
	size_t ikid_len;
	uint8_t acc[WK_LEN];
	uint8_t first[WK_LEN];
	unsigned int passes;
	double* ns;
	uint8_t* ksns;
	long size;
	size_t n;
	FILE* f;

	if (argc != 5) {
		return fail("usage: harness <bdk-hex> <ikid-hex> <ksn-file> <passes>");
	}
	if (parse_hex(argv[1], bdk, sizeof(bdk), &bdk_len) != 0) {
		return fail("bad BDK");
	}
	if (parse_hex(argv[2], ikid, sizeof(ikid), &ikid_len) != 0 || ikid_len != sizeof(ikid)) {
		return fail("bad IKID");
	}
	passes = (unsigned int)strtoul(argv[4], NULL, 10);
	if (passes == 0 || passes > 1000) {
		return fail("bad pass count");
	}

	f = fopen(argv[3], "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || size % KSN_LEN != 0 ||
		fseek(f, 0, SEEK_SET) != 0
	) {
		return fail("cannot read the KSN file, or its size is not a multiple of 12");
	}
	n = (size_t)size / KSN_LEN;
	ksns = malloc((size_t)size);
	ns = malloc(passes * sizeof(double));
	if (!ksns || !ns || fread(ksns, 1, (size_t)size, f) != (size_t)size) {
		return fail("cannot read the KSN file");
	}
	fclose(f);

	// Untimed: the initial key, as provkit's bench holds an InitialKey.
	if (dukpt_aes_derive_ik(bdk, bdk_len, ikid, ik) != 0) {
		return fail("dukpt_aes_derive_ik failed");
	}
	ik_len = bdk_len;
	for (size_t i = 0; i < n; ++i) {
		if (memcmp(ksns + i * KSN_LEN, ikid, sizeof(ikid)) != 0 ||
			!dukpt_aes_ksn_is_valid(ksns + i * KSN_LEN)
		) {
			return fail("a KSN is invalid or not under the IKID");
		}
	}
	for (size_t i = 0; i < n; i += (n + 7) / 8) {
		if (check_pin_key(ksns + i * KSN_LEN) != 0) {
			return fail("PIN key check against dukpt_aes_encrypt_pinblock failed");
		}
	}
	if (pass(ksns, n < WARM_UP_KSNS ? n : WARM_UP_KSNS, acc) < 0) {
		return fail("derivation failed");
	}

	for (unsigned int p = 0; p < passes; ++p) {
		ns[p] = pass(ksns, n, acc);
		if (ns[p] < 0) {
			return fail("derivation failed");
		}
		if (p == 0) {
			memcpy(first, acc, sizeof(acc));
		} else if (memcmp(first, acc, sizeof(acc)) != 0) {
			return fail("checksum differs between passes");
		}
	}
	qsort(ns, passes, sizeof(double), cmp_double);

	printf("openemv-dukpt keys=%zu passes=%u median_ns=%.0f keys_per_s=%.0f xor=",
		n, passes, ns[passes / 2], (double)n * 1e9 / ns[passes / 2]);
	for (size_t j = 0; j < sizeof(acc); ++j) {
		printf("%02X", acc[j]);
	}
	printf("\n");

	crypto_cleanse(ik, sizeof(ik));
	free(ns);
	free(ksns);
	return 0;
}
