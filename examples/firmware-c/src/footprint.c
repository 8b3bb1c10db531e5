/* The C footprint probe: examples/firmware/src/bin/footprint.rs through provkit.h. It links
 * exactly the device capabilities selected by the preprocessor (CAP_CERT, CAP_INITIATOR,
 * CAP_RESPONDER, CAP_DUKPT, CAP_SEAL; the NOR-flash key store is always in, as the
 * device's key store), with no output and halting fault handlers, so that `.text +
 * .rodata` measures the library and its primitives, not a test harness. Its inputs are
 * zeros in .bss (which take no flash: a constant array would sit in .rodata and count as
 * the library's), passed through an opaque barrier so nothing is constant-folded away.
 * scripts/footprint.py builds it against the library built for each provider and compares
 * it with the Rust probe.
 *
 * Linked, never run: the QEMU proof (main.c) is what checks behaviour. */
#include <string.h>

#include "provkit.h"
#include "toolchain.h"

#define IDENTITY 1u
/* The Rust probe's flash part (RamFlash<8192, 1024>). */
#define FLASH_SIZE 8192u
#define FLASH_SECTOR 1024u
#define WRITE_SIZE 4u

static uint8_t flash_bytes[FLASH_SIZE];
static uint8_t input_bytes[512] __attribute__((section(".bss.probe_input")));

/* `len` bytes of input, opaque to the compiler (black_box). */
static const uint8_t *input(size_t len)
{
    const uint8_t *p = input_bytes;
    __asm__ volatile("" : "+r"(p) : "r"(len) : "memory");
    return p;
}

/* A length opaque to the compiler. With link-time optimization across the two languages
 * (TOOLCHAIN=clang), a constant length would let the optimizer fold the library's length
 * checks, or prove a step fails, where the Rust probe's black_box(&INPUT[..len]) hides a
 * slice's length as well as its pointer. */
static size_t opaque_len(size_t len)
{
    __asm__ volatile("" : "+r"(len));
    return len;
}

/* `len` bytes of input and their length, both opaque. */
#define INPUT(len) input(len), opaque_len(len)

static uint64_t opaque_u64(uint64_t v)
{
    __asm__ volatile("" : "+r"(v));
    return v;
}

static void sink(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* The device's flash: on a real part, the memory-mapped NOR-flash driver. */
static int32_t flash_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (offset > FLASH_SIZE || len > FLASH_SIZE - offset) {
        return -1;
    }
    memcpy(buf, flash_bytes + offset, len);
    return 0;
}

static int32_t flash_program(void *ctx, uint32_t offset, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (offset > FLASH_SIZE || len > FLASH_SIZE - offset || offset % WRITE_SIZE) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        flash_bytes[offset + i] &= data[i];
    }
    return 0;
}

/* A byte loop, as the Rust probe's RamFlash erases (not a call to memset, which the Rust
 * probe does not link). */
KEEP_LOOPS static int32_t flash_erase(void *ctx, uint32_t offset, uint32_t len)
{
    (void)ctx;
    if (offset > FLASH_SIZE || len > FLASH_SIZE - offset) {
        return -1;
    }
    for (uint32_t i = 0; i < len; i++) {
        flash_bytes[offset + i] = 0xff;
    }
    return 0;
}

/* Stands in for the part's TRNG peripheral (a volatile register read on hardware), so that
 * the probe links what drawing randomness costs. PLACEHOLDER, NOT RANDOM (a linear
 * congruential step): the probe is only measured, never run for keys; a real device passes
 * its TRNG driver. */
static int32_t placeholder_trng(void *ctx, uint8_t *buf, size_t len)
{
    uint32_t *state = ctx;
    for (size_t i = 0; i < len; i++) {
        *state = *state * 747796405u + 1u;
        __asm__ volatile("" : "+r"(*state));
        buf[i] = (uint8_t)*state;
    }
    return 0;
}

static uint32_t trng_state;
static provkit_store store;

/* Key-store use every device makes: its identity key and a record (e.g. a pinned peer). */
__attribute__((noinline)) static bool flash_store(void)
{
    uint8_t buf[64];
    size_t len;
    return provkit_store_import_p256(&store, IDENTITY, INPUT(32), NULL, 0) == PROVKIT_OK
           && provkit_store_write_record(&store, 1, INPUT(64)) == PROVKIT_OK
           && provkit_store_read_record(&store, 1, buf, sizeof buf, &len) == PROVKIT_OK;
}

#ifdef CAP_CERT
/* Chain verification: root and intermediate (compact CA certificates, as a device holds
 * them), 111-byte device certificate. */
__attribute__((noinline)) static bool cert_verify(void)
{
    provkit_device_info info;
    return provkit_cert_verify_chain(INPUT(182), INPUT(187), INPUT(111),
                                     opaque_u64(1760000000), &info)
           == PROVKIT_OK;
}
#endif

#if defined(CAP_INITIATOR) || defined(CAP_RESPONDER)
/* Peers must chain to the root; nothing revoked. */
static provkit_peer_policy policy(void)
{
    provkit_peer_policy p = {
        .root = input(182),
        .root_len = opaque_len(182),
        .intermediate = NULL,
        .intermediate_len = 0,
        .now = opaque_u64(1760000000),
        .revoked = NULL,
        .revoked_len = 0,
    };
    return p;
}

static provkit_handshake hs;
static provkit_session session;

static bool records(void)
{
    uint8_t rec[96], out[96];
    size_t n, m;
    if (provkit_session_seal(&session, INPUT(32), NULL, 0, rec, sizeof rec, &n) != PROVKIT_OK) {
        return false;
    }
    sink(rec);
    return provkit_session_open(&session, rec, n, NULL, 0, out, sizeof out, &m) == PROVKIT_OK;
}
#endif

#ifdef CAP_INITIATOR
/* Both initiator messages, the responder's verification, and a record each way. */
__attribute__((noinline)) static bool initiator(const provkit_rng *rng)
{
    provkit_peer_policy p = policy();
    uint8_t m1[40], m3[200];
    size_t n1, n3;
    return provkit_initiator_start(&hs, IDENTITY, INPUT(111), PROVKIT_CREDENTIAL_BY_VALUE,
                                   rng, m1, sizeof m1, &n1)
               == PROVKIT_OK
           && provkit_initiator_finish(&hs, &store, &p, NULL, 0, INPUT(230), m3, sizeof m3,
                                       &n3, &session, NULL)
                  == PROVKIT_OK
           && records();
}
#endif

#ifdef CAP_RESPONDER
/* The responder's message, the initiator's verification, and a record each way. */
__attribute__((noinline)) static bool responder(const provkit_rng *rng)
{
    provkit_peer_policy p = policy();
    uint8_t m2[232];
    size_t n2;
    return provkit_responder_respond(&hs, &store, IDENTITY, INPUT(111),
                                     PROVKIT_CREDENTIAL_BY_VALUE, rng, INPUT(40), m2,
                                     sizeof m2, &n2)
               == PROVKIT_OK
           && provkit_responder_finish(&hs, &p, NULL, 0, INPUT(190), &session, NULL)
                  == PROVKIT_OK
           && records();
}
#endif

#ifdef CAP_DUKPT
/* A transaction: next key from the flash registers, PIN block (its fill from the TRNG)
 * and request CMAC. */
__attribute__((noinline)) static bool dukpt(const provkit_rng *rng)
{
    static provkit_dukpt_transaction txn;
    uint8_t ksn[PROVKIT_DUKPT_KSN_LEN], pin[16], mac[16];
    bool done = provkit_dukpt_next_transaction(&store, 0x100, &txn, ksn, sizeof ksn) == PROVKIT_OK
                && provkit_dukpt_encrypt_pin_block(&txn, PROVKIT_DUKPT_KEY_AES128, INPUT(4),
                                                   INPUT(16), rng, pin, sizeof pin)
                       == PROVKIT_OK
                && provkit_dukpt_request_cmac(&txn, PROVKIT_DUKPT_KEY_AES128, INPUT(64), mac,
                                              sizeof mac)
                       == PROVKIT_OK;
    sink(pin);
    sink(mac);
    return done;
}
#endif

#ifdef CAP_SEAL
/* Telemetry sealed (HPKE, P-256 + HKDF-SHA256 + AES-128-GCM) to the server, signed. */
__attribute__((noinline)) static bool seal(const provkit_rng *rng)
{
    uint8_t out[256];
    size_t n;
    bool done = provkit_telemetry_seal(&store, IDENTITY, INPUT(65), 42, INPUT(32), rng,
                                       out, sizeof out, &n)
                == PROVKIT_OK;
    sink(out);
    return done;
}
#endif

int main(void)
{
    provkit_flash_driver driver = {
        .ctx = NULL,
        .read = flash_read,
        .program = flash_program,
        .erase = flash_erase,
        .capacity = FLASH_SIZE,
        .sector_size = FLASH_SECTOR,
        .write_size = WRITE_SIZE,
        .multiwrite = false,
    };
    trng_state = (uint32_t)opaque_u64(1);
    provkit_rng rng = {.fill = placeholder_trng, .ctx = &trng_state};
    uint32_t passed = 0;
    if (provkit_store_mount_flash(&store, &driver) == PROVKIT_OK) {
        passed += flash_store();
#ifdef CAP_CERT
        passed += cert_verify();
#endif
#ifdef CAP_INITIATOR
        passed += initiator(&rng);
#endif
#ifdef CAP_RESPONDER
        passed += responder(&rng);
#endif
#ifdef CAP_DUKPT
        passed += dukpt(&rng);
#endif
#ifdef CAP_SEAL
        passed += seal(&rng);
#endif
    }
    sink(&passed);
    sink(&rng);
    return 0;
}
