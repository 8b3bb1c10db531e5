/* provkit's device side from C, on an emulated Cortex-M4 (QEMU mps2-an386): the C
 * counterpart of examples/firmware/src/main.rs, through provkit.h alone.
 *
 * Every step checks its result and prints `[ ok ]` or `[FAIL]` with the stack it used
 * (painted) and the instructions it ran (SysTick under -icount shift=0); the program exits
 * with success (semihosting) only if all of them passed, and with failure at the first
 * that did not. The library is built for one provider (RustCrypto or the Cortex-M4
 * assembly): `make` builds this program once for each (see the Makefile and run.sh). */
#include <string.h>

#include "board.h"
#include "provkit.h"
#include "provkit_vectors.h"
#include "ramflash.h"
#include "rng.h"
#include "telemetry_server.h"

#define IDENTITY 1u
/* The budget for the deepest stack of any step, below its entry. */
#define STACK_BUDGET (8u * 1024u)
/* The Rust proof's flash parts (RamFlash<8192, 1024>): 8 KiB in sectors of 1 KiB. */
#define FLASH_SIZE 8192u
#define FLASH_SECTOR 1024u
/* Where a pinned peer's certificate is kept. */
#define PINNED_RECORD 1u
/* Where the terminal's 33 DUKPT records start, and where the size-refusal check writes a
 * foreign device header. */
#define DUKPT_BASE 0x100u
#define DUKPT_OTHER_BASE 0x200u
/* The last counter of DUKPT_VECTORS, which the step names state. */
#define DUKPT_LAST_COUNTER 8u

/* The flash images live in .bss (as memory-mapped flash would), never on the stack; the
 * driver erases them to 0xFF first. Devices A and B, the DUKPT terminal on a part that
 * programs each word once, and one on a part that may program a word again. */
static uint8_t flash_a_bytes[FLASH_SIZE], flash_b_bytes[FLASH_SIZE];
static uint8_t flash_t_bytes[FLASH_SIZE], flash_tm_bytes[FLASH_SIZE];
static ramflash flash_a = {flash_a_bytes, FLASH_SIZE, FLASH_SECTOR, false};
static ramflash flash_b = {flash_b_bytes, FLASH_SIZE, FLASH_SECTOR, false};
static ramflash flash_t = {flash_t_bytes, FLASH_SIZE, FLASH_SECTOR, false};
static ramflash flash_tm = {flash_tm_bytes, FLASH_SIZE, FLASH_SECTOR, true};
static provkit_flash_driver driver_a, driver_b, driver_t, driver_tm;
static provkit_store store_a, store_b, terminal, terminal_multiwrite;

/* ---- steps ------------------------------------------------------------------------- */

typedef bool (*step_fn)(void *ctx);

static struct {
    uint32_t passed;
    size_t peak;       /* deepest device step, below its entry */
    size_t peak_total; /* deepest device step, from reset */
} steps;

/* The status of the last provkit call a step checked, named when the step fails. */
static provkit_status last_status;

static bool ok(provkit_status status)
{
    last_status = status;
    return status == PROVKIT_OK;
}

static bool is(provkit_status status, provkit_status want)
{
    last_status = status;
    return status == want;
}

/* Runs `fn` between a stack paint and its reading, counting its instructions. `counts`:
 * a device step (its stack counts against the budget). */
static void measure(const char *device, const char *what, step_fn fn, void *ctx, bool counts)
{
    last_status = PROVKIT_OK;
    uintptr_t entry = stack_paint();
    uint64_t mark = instructions_now();
    bool passed = fn(ctx);
    uint64_t executed = instructions_since(mark);
    size_t used, total;
    stack_peak(entry, &used, &total);
    if (counts) {
        steps.peak = used > steps.peak ? used : steps.peak;
        steps.peak_total = total > steps.peak_total ? total : steps.peak_total;
    }
    out_str(passed ? "[ ok ] " : "[FAIL] ");
    if (*device) {
        out_str(device);
        out_str(": ");
    }
    out_str(what);
    out_str(" (stack ");
    out_u64(used);
    out_str(" B; ");
    out_u64(total);
    out_str(" B from reset; ");
    out_u64(executed);
    out_str(" instructions)");
    out_end();
    if (!passed) {
        out_str("       last status: ");
        out_str(provkit_status_name(last_status));
        out_end();
        sh_exit(false);
    }
    steps.passed++;
}

static void run(const char *what, step_fn fn, void *ctx)
{
    measure("", what, fn, ctx, true);
}

static void named(const char *device, const char *what, step_fn fn, void *ctx)
{
    measure(device, what, fn, ctx, true);
}

static bool same(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* A compact certificate's serial (docs/cert-format.md: bytes 1..9, big-endian). */
static uint64_t cert_serial(const uint8_t *cert)
{
    uint64_t serial = 0;
    for (int i = 1; i < 9; i++) {
        serial = serial << 8 | cert[i];
    }
    return serial;
}

/* ---- certificates and keys --------------------------------------------------------- */

static bool verify_chain(void *ctx)
{
    (void)ctx;
    provkit_device_info info;
    return ok(provkit_cert_verify_chain(CHAIN_ROOT, sizeof CHAIN_ROOT, CHAIN_INTERMEDIATE,
                                        sizeof CHAIN_INTERMEDIATE, CHAIN_DEVICE,
                                        sizeof CHAIN_DEVICE, CHAIN_NOW, &info))
           && info.serial == CHAIN_SERIAL;
}

static bool reject_tampered(void *ctx)
{
    (void)ctx;
    uint8_t tampered[PROVKIT_COMPACT_CERT_LEN];
    memcpy(tampered, CHAIN_DEVICE, sizeof tampered);
    tampered[100] ^= 1;
    provkit_device_info info;
    provkit_status status = provkit_cert_verify_chain(
        CHAIN_ROOT, sizeof CHAIN_ROOT, CHAIN_INTERMEDIATE, sizeof CHAIN_INTERMEDIATE, tampered,
        sizeof tampered, CHAIN_NOW, &info);
    return is(status, PROVKIT_ERR_CRYPTO);
}

/* Imports the vector's identity scalar into `store`; its public key must be the one
 * `cert` certifies. */
static bool import_identity(provkit_store *store, const uint8_t *scalar, const uint8_t *cert)
{
    uint8_t public_key[PROVKIT_PUBLIC_KEY_LEN];
    provkit_device_info info;
    return ok(provkit_store_import_p256(store, IDENTITY, scalar, PROVKIT_SCALAR_LEN, public_key,
                                       sizeof public_key))
           && ok(provkit_cert_parse(cert, PROVKIT_COMPACT_CERT_LEN, &info))
           && same(public_key, sizeof public_key, info.public_key, sizeof info.public_key);
}

static bool store_identities(void *ctx)
{
    (void)ctx;
    return import_identity(&store_a, HS_INITIATOR_SCALAR, HS_INITIATOR_CERT)
           && import_identity(&store_b, HS_RESPONDER_SCALAR, HS_RESPONDER_CERT);
}

/* The peer certificate is kept as a record; the store is released and mounted again on
 * the same flash (a reset), and the record and the identity key are still there. */
static bool pin_and_remount(void *ctx)
{
    (void)ctx;
    if (!ok(provkit_store_write_record(&store_a, PINNED_RECORD, HS_RESPONDER_CERT,
                                       sizeof HS_RESPONDER_CERT))) {
        return false;
    }
    provkit_store_release(&store_a);
    if (!ok(provkit_store_mount_flash(&store_a, &driver_a))) {
        return false;
    }
    uint8_t buf[PROVKIT_COMPACT_CERT_LEN + 8];
    size_t len = 0;
    uint8_t public_key[PROVKIT_PUBLIC_KEY_LEN];
    provkit_device_info info;
    return ok(provkit_store_read_record(&store_a, PINNED_RECORD, buf, sizeof buf, &len))
           && same(buf, len, HS_RESPONDER_CERT, sizeof HS_RESPONDER_CERT)
           && ok(provkit_store_public_key(&store_a, IDENTITY, public_key, sizeof public_key))
           && ok(provkit_cert_parse(HS_INITIATOR_CERT, sizeof HS_INITIATOR_CERT, &info))
           && same(public_key, sizeof public_key, info.public_key, sizeof info.public_key);
}

/* ---- the handshake ----------------------------------------------------------------- */

/* Two devices' handshake: the states between messages are held here, by the application,
 * as on two real devices; each step's stack is only what that message needs. */
typedef struct {
    provkit_store *initiator_store;
    provkit_store *responder_store;
    const uint8_t *initiator_cert;
    const uint8_t *responder_cert;
    provkit_rng initiator_rng;
    provkit_rng responder_rng;
    /* Each message must equal the committed host transcript. */
    bool check_vector;
    provkit_handshake initiator;
    provkit_handshake responder;
    provkit_session initiator_session;
    provkit_session responder_session;
    uint8_t m1[PROVKIT_MSG1_LEN];
    uint8_t m2[PROVKIT_MAX_MSG2_LEN];
    uint8_t m3[PROVKIT_MAX_MSG3_LEN];
    size_t n1, n2, n3;
} pairing;

static pairing pair;

/* Peers must chain to the vector's root at the vector's time; nothing revoked. */
static const provkit_peer_policy policy = {
    .root = HS_ROOT,
    .root_len = sizeof HS_ROOT,
    .intermediate = NULL,
    .intermediate_len = 0,
    .now = HS_NOW,
    .revoked = NULL,
    .revoked_len = 0,
};

static bool initiator_start(void *ctx)
{
    pairing *p = ctx;
    return ok(provkit_initiator_start(&p->initiator, IDENTITY, p->initiator_cert,
                                      PROVKIT_COMPACT_CERT_LEN, PROVKIT_CREDENTIAL_BY_VALUE,
                                      &p->initiator_rng, p->m1, sizeof p->m1, &p->n1))
           && (!p->check_vector || same(p->m1, p->n1, HS_MESSAGE_1, sizeof HS_MESSAGE_1));
}

static bool responder_respond(void *ctx)
{
    pairing *p = ctx;
    return ok(provkit_responder_respond(&p->responder, p->responder_store, IDENTITY,
                                        p->responder_cert, PROVKIT_COMPACT_CERT_LEN,
                                        PROVKIT_CREDENTIAL_BY_VALUE, &p->responder_rng, p->m1,
                                        p->n1, p->m2, sizeof p->m2, &p->n2))
           && (!p->check_vector || same(p->m2, p->n2, HS_MESSAGE_2, sizeof HS_MESSAGE_2));
}

static bool initiator_finish(void *ctx)
{
    pairing *p = ctx;
    provkit_device_info peer;
    return ok(provkit_initiator_finish(&p->initiator, p->initiator_store, &policy, NULL, 0,
                                       p->m2, p->n2, p->m3, sizeof p->m3, &p->n3,
                                       &p->initiator_session, &peer))
           && peer.serial == cert_serial(p->responder_cert)
           && (!p->check_vector || same(p->m3, p->n3, HS_MESSAGE_3, sizeof HS_MESSAGE_3));
}

static bool responder_finish(void *ctx)
{
    pairing *p = ctx;
    provkit_device_info peer;
    return ok(provkit_responder_finish(&p->responder, &policy, NULL, 0, p->m3, p->n3,
                                       &p->responder_session, &peer))
           && peer.serial == cert_serial(p->initiator_cert);
}

/* One handshake, a step per message. */
static void handshake(const char *initiator, const char *responder)
{
    named(initiator, "initiator: message 1", initiator_start, &pair);
    named(responder, "responder: message 2 (signed, certificate by value)", responder_respond,
          &pair);
    named(initiator, "initiator: verifies responder's chain and signature; message 3",
          initiator_finish, &pair);
    named(responder, "responder: verifies initiator's chain and signature", responder_finish,
          &pair);
}

/* Records both ways, three each; a replayed and a forged record are refused. */
static bool records(provkit_session *a, provkit_session *b)
{
    uint8_t rec[64], out[64], plain[16];
    size_t n, m;
    for (uint8_t i = 0; i < 3; i++) {
        memset(plain, i, sizeof plain);
        if (!ok(provkit_session_seal(a, plain, sizeof plain, (const uint8_t *)"fw", 2, rec,
                                     sizeof rec, &n))
            || n != sizeof plain + PROVKIT_RECORD_OVERHEAD
            || !ok(provkit_session_open(b, rec, n, (const uint8_t *)"fw", 2, out, sizeof out, &m))
            || !same(out, m, plain, sizeof plain)
            || !ok(provkit_session_seal(b, (const uint8_t *)"ack", 3, (const uint8_t *)"fw", 2,
                                        rec, sizeof rec, &n))
            || !ok(provkit_session_open(a, rec, n, (const uint8_t *)"fw", 2, out, sizeof out, &m))
            || !same(out, m, (const uint8_t *)"ack", 3)) {
            return false;
        }
    }
    if (!ok(provkit_session_seal(a, (const uint8_t *)"once", 4, NULL, 0, rec, sizeof rec, &n))
        || !ok(provkit_session_open(b, rec, n, NULL, 0, out, sizeof out, &m))
        || !is(provkit_session_open(b, rec, n, NULL, 0, out, sizeof out, &m),
               PROVKIT_ERR_HANDSHAKE_REPLAY)) {
        return false;
    }
    if (!ok(provkit_session_seal(a, (const uint8_t *)"forged", 6, NULL, 0, rec, sizeof rec, &n))) {
        return false;
    }
    rec[n - 1] ^= 1;
    return is(provkit_session_open(b, rec, n, NULL, 0, out, sizeof out, &m), PROVKIT_ERR_CRYPTO);
}

static bool records_and_exporter(void *ctx)
{
    pairing *p = ctx;
    uint8_t exported_i[32], exported_r[32];
    const uint8_t *label = (const uint8_t *)HS_EXPORT_LABEL;
    const uint8_t *context = (const uint8_t *)HS_EXPORT_CONTEXT;
    return records(&p->initiator_session, &p->responder_session)
           && ok(provkit_session_export(&p->initiator_session, label, strlen(HS_EXPORT_LABEL),
                                        context, strlen(HS_EXPORT_CONTEXT), exported_i,
                                        sizeof exported_i))
           && ok(provkit_session_export(&p->responder_session, label, strlen(HS_EXPORT_LABEL),
                                        context, strlen(HS_EXPORT_CONTEXT), exported_r,
                                        sizeof exported_r))
           && same(exported_i, sizeof exported_i, HS_EXPORTED, sizeof HS_EXPORTED)
           && same(exported_r, sizeof exported_r, HS_EXPORTED, sizeof HS_EXPORTED);
}

/* Records both ways; then both sides rekey at the same point of the stream, and records
 * flow again under the new keys. */
static bool records_and_rekey(void *ctx)
{
    pairing *p = ctx;
    return records(&p->initiator_session, &p->responder_session)
           && ok(provkit_session_rekey(&p->initiator_session))
           && ok(provkit_session_rekey(&p->responder_session))
           && records(&p->responder_session, &p->initiator_session);
}

static void end_pairing(void)
{
    provkit_session_reset(&pair.initiator_session);
    provkit_session_reset(&pair.responder_session);
}

/* Device A initiates, B responds, with the host vector's fixed randomness: every message
 * must be byte-identical to tests/data/handshake/transcripts.json, and the exporter too. */
static void pair_with_vector(void)
{
    static vector_replay replay_i, replay_r;
    pair.initiator_store = &store_a;
    pair.responder_store = &store_b;
    pair.initiator_cert = HS_INITIATOR_CERT;
    pair.responder_cert = HS_RESPONDER_CERT;
    pair.initiator_rng =
        vector_replay_rng(&replay_i, HS_INITIATOR_EPHEMERAL, sizeof HS_INITIATOR_EPHEMERAL);
    pair.responder_rng =
        vector_replay_rng(&replay_r, HS_RESPONDER_EPHEMERAL, sizeof HS_RESPONDER_EPHEMERAL);
    pair.check_vector = true;
    handshake("A", "B");
    run("records both ways; replay refused; exporter equals the host's", records_and_exporter,
        &pair);
    end_pairing();
}

/* The roles swapped: B initiates, A responds, with fresh randomness. QEMU has no TRNG: the
 * placeholder stands in (NOT RANDOM; a real device passes its TRNG driver). */
static void pair_fresh(void)
{
    static placeholder_not_random drbg_a, drbg_b;
    pair.initiator_store = &store_b;
    pair.responder_store = &store_a;
    pair.initiator_cert = HS_RESPONDER_CERT;
    pair.responder_cert = HS_INITIATOR_CERT;
    pair.initiator_rng = placeholder_not_random_rng(&drbg_b, 2);
    pair.responder_rng = placeholder_not_random_rng(&drbg_a, 1);
    pair.check_vector = false;
    handshake("B", "A");
    run("records both ways; replay refused; both sides rekey, records flow again",
        records_and_rekey, &pair);
    end_pairing();
}

/* A TRNG failure is reported, and nothing made from it is kept: no message, an empty
 * state. */
static bool rng_failure_reported(void *ctx)
{
    (void)ctx;
    static provkit_handshake hs;
    static provkit_session session;
    provkit_rng rng = failing_rng();
    uint8_t m1[PROVKIT_MSG1_LEN], m3[PROVKIT_MAX_MSG3_LEN];
    size_t n1 = 1, n3;
    static const uint8_t zeros[PROVKIT_MSG1_LEN];
    return is(provkit_initiator_start(&hs, IDENTITY, HS_INITIATOR_CERT, PROVKIT_COMPACT_CERT_LEN,
                                      PROVKIT_CREDENTIAL_BY_VALUE, &rng, m1, sizeof m1, &n1),
              PROVKIT_ERR_RNG_FAILED)
           && n1 == 0 && same(m1, sizeof m1, zeros, sizeof zeros)
           && is(provkit_initiator_finish(&hs, &store_a, &policy, NULL, 0, HS_MESSAGE_2,
                                          sizeof HS_MESSAGE_2, m3, sizeof m3, &n3, &session,
                                          NULL),
                 PROVKIT_ERR_WRONG_STATE);
}

/* A handshake state copied elsewhere in memory while in progress is refused, and the
 * copy discarded. */
static bool moved_state_refused(void *ctx)
{
    (void)ctx;
    static provkit_handshake hs, moved;
    static provkit_session session;
    static placeholder_not_random drbg;
    provkit_rng rng = placeholder_not_random_rng(&drbg, 6);
    uint8_t m1[PROVKIT_MSG1_LEN], m3[PROVKIT_MAX_MSG3_LEN];
    size_t n1, n3;
    if (!ok(provkit_initiator_start(&hs, IDENTITY, HS_INITIATOR_CERT, PROVKIT_COMPACT_CERT_LEN,
                                    PROVKIT_CREDENTIAL_BY_VALUE, &rng, m1, sizeof m1, &n1))) {
        return false;
    }
    memcpy(&moved, &hs, sizeof hs);
    bool refused = is(provkit_initiator_finish(&moved, &store_a, &policy, NULL, 0, HS_MESSAGE_2,
                                               sizeof HS_MESSAGE_2, m3, sizeof m3, &n3,
                                               &session, NULL),
                      PROVKIT_ERR_STATE_MOVED);
    provkit_handshake_reset(&hs);
    return refused;
}

/* ---- DUKPT ------------------------------------------------------------------------- */

typedef struct {
    provkit_store *store;
    const provkit_flash_driver *driver;
    const char *mode;
} terminal_ctx;

/* Key injection: the initial key of the X9.24-3 AES-128 test BDK. */
static bool dukpt_inject(void *ctx)
{
    const terminal_ctx *t = ctx;
    return ok(provkit_dukpt_load_initial_key(t->store, DUKPT_BASE, DUKPT_IKID, sizeof DUKPT_IKID,
                                             DUKPT_IK, sizeof DUKPT_IK));
}

/* One transaction: 1 if it agrees with the vectors (or there is none for its counter),
 * 0 if not. */
static bool dukpt_transaction(provkit_store *store, uint32_t counter)
{
    provkit_dukpt_transaction txn = {0};
    uint8_t ksn[PROVKIT_DUKPT_KSN_LEN], pin_block[16], mac[16];
    vector_replay fill;
    provkit_rng rng = vector_replay_rng(&fill, DUKPT_FILL, sizeof DUKPT_FILL);
    const uint8_t counter_be[4] = {(uint8_t)(counter >> 24), (uint8_t)(counter >> 16),
                                   (uint8_t)(counter >> 8), (uint8_t)counter};
    bool done =
        ok(provkit_dukpt_next_transaction(store, DUKPT_BASE, &txn, ksn, sizeof ksn))
        && same(ksn, 8, DUKPT_IKID, sizeof DUKPT_IKID) && same(ksn + 8, 4, counter_be, 4)
        && ok(provkit_dukpt_encrypt_pin_block(
            &txn, PROVKIT_DUKPT_KEY_AES128, (const uint8_t *)DUKPT_PIN, strlen(DUKPT_PIN),
            (const uint8_t *)DUKPT_PAN, strlen(DUKPT_PAN), &rng, pin_block, sizeof pin_block))
        && ok(provkit_dukpt_request_cmac(&txn, PROVKIT_DUKPT_KEY_AES128,
                                         (const uint8_t *)DUKPT_MESSAGE, strlen(DUKPT_MESSAGE),
                                         mac, sizeof mac));
    provkit_dukpt_transaction_reset(&txn);
    if (!done) {
        return false;
    }
    for (size_t i = 0; i < DUKPT_VECTOR_COUNT; i++) {
        if (DUKPT_VECTORS[i].counter == counter) {
            return same(pin_block, 16, DUKPT_VECTORS[i].pin_block, 16)
                   && same(mac, 16, DUKPT_VECTORS[i].mac, 16);
        }
    }
    return true;
}

/* Counters 1 to the vectors' last, the store released and mounted again before each, as
 * after a reset: the registers live in flash. Prints the instructions of each mount and
 * transaction. */
static bool dukpt_transactions(void *ctx)
{
    const terminal_ctx *t = ctx;
    uint32_t last = 0;
    for (size_t i = 0; i < DUKPT_VECTOR_COUNT; i++) {
        last = DUKPT_VECTORS[i].counter > last ? DUKPT_VECTORS[i].counter : last;
    }
    if (last != DUKPT_LAST_COUNTER) {
        out_str("       the X9.24-3 vectors now end at another counter: update the step names");
        out_end();
        return false;
    }
    uint64_t mount_min = UINT64_MAX, mount_max = 0, txn_min = UINT64_MAX, txn_max = 0;
    for (uint32_t counter = 1; counter <= last; counter++) {
        uint64_t mark = instructions_now();
        provkit_store_release(t->store);
        if (!ok(provkit_store_mount_flash(t->store, t->driver))) {
            return false;
        }
        uint64_t mount = instructions_since(mark);
        mark = instructions_now();
        bool agrees = dukpt_transaction(t->store, counter);
        uint64_t txn = instructions_since(mark);
        if (!agrees) {
            return false;
        }
        mount_min = mount < mount_min ? mount : mount_min;
        mount_max = mount > mount_max ? mount : mount_max;
        txn_min = txn < txn_min ? txn : txn_min;
        txn_max = txn > txn_max ? txn : txn_max;
    }
    out_str("       DUKPT instructions (");
    out_str(t->mode);
    out_str("): mount ");
    out_u64(mount_min);
    out_str("-");
    out_u64(mount_max);
    out_str(", transaction ");
    out_u64(txn_min);
    out_str("-");
    out_u64(txn_max);
    out_end();
    return true;
}

/* The library is built without AES-192 and AES-256 (the device uses AES-128 only): such
 * initial keys are refused with PROVKIT_ERR_UNSUPPORTED, at injection and when a stored
 * device header says AES-256. */
static bool dukpt_refuses_unbuilt_sizes(void *ctx)
{
    const terminal_ctx *t = ctx;
    static const uint8_t key[32] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
    /* A complete device header (docs/dukpt.md) for an AES-256 initial key, counter 1. */
    uint8_t header[18] = {0x44, 0x01, 0x04, 0x00, 0, 0, 0, 1};
    memcpy(header + 8, DUKPT_IKID, sizeof DUKPT_IKID);
    provkit_dukpt_transaction txn = {0};
    uint8_t ksn[PROVKIT_DUKPT_KSN_LEN];
    return is(provkit_dukpt_load_initial_key(t->store, DUKPT_OTHER_BASE, DUKPT_IKID,
                                             sizeof DUKPT_IKID, key, 24),
              PROVKIT_ERR_UNSUPPORTED)
           && is(provkit_dukpt_load_initial_key(t->store, DUKPT_OTHER_BASE, DUKPT_IKID,
                                                sizeof DUKPT_IKID, key, 32),
                 PROVKIT_ERR_UNSUPPORTED)
           && ok(provkit_store_write_record(t->store, DUKPT_OTHER_BASE, header, sizeof header))
           && is(provkit_dukpt_next_transaction(t->store, DUKPT_OTHER_BASE, &txn, ksn, sizeof ksn),
                 PROVKIT_ERR_UNSUPPORTED);
}

/* ---- telemetry --------------------------------------------------------------------- */

static uint8_t telemetry[256];
static size_t telemetry_len;

/* The device seals a reading to the server's public key (provisioned with the firmware),
 * signed by its identity key in flash; the HPKE ephemeral key from the placeholder (NOT
 * RANDOM). The host opens it (open_telemetry.py). */
static bool telemetry_seal(void *ctx)
{
    (void)ctx;
    static placeholder_not_random drbg;
    provkit_rng rng = placeholder_not_random_rng(&drbg, 5);
    return ok(provkit_telemetry_seal(&store_a, IDENTITY, TELEMETRY_SERVER_PUBLIC,
                                     sizeof TELEMETRY_SERVER_PUBLIC, TELEMETRY_SERIAL,
                                     TELEMETRY_READING, sizeof TELEMETRY_READING, &rng,
                                     telemetry, sizeof telemetry, &telemetry_len))
           && telemetry_len == provkit_telemetry_len(sizeof TELEMETRY_READING);
}

/* ---- main -------------------------------------------------------------------------- */

static void mount(provkit_store *store, provkit_flash_driver *driver, ramflash *flash,
                  const char *what)
{
    *driver = ramflash_driver(flash);
    if (!ok(provkit_store_mount_flash(store, driver))) {
        fail(what);
    }
}

int main(void)
{
    out_str("provkit C firmware proof on Cortex-M4 (mps2-an386), provider ");
    out_str(provkit_provider_name());
    out_end();
    instructions_start();
    uint64_t milli;
    bool calibrated = instructions_calibrate(&milli);
    out_str(calibrated ? "[ ok ] " : "[FAIL] ");
    out_str("calibration: ");
    out_u64(milli / 1000);
    out_str(".");
    out_u64(milli % 1000 / 100);
    out_u64(milli % 100 / 10);
    out_u64(milli % 10);
    out_str(" instructions per SysTick tick (QEMU -icount shift=0, 25 MHz: 40.000)");
    out_end();
    if (!calibrated) {
        fail("instruction counting is off: run QEMU with -icount shift=0");
    }
    if (provkit_flash_unit() != 4) {
        fail("the library's flash program unit is not 4 bytes");
    }
    mount(&store_a, &driver_a, &flash_a, "mount flash A");
    mount(&store_b, &driver_b, &flash_b, "mount flash B");
    mount(&terminal, &driver_t, &flash_t, "mount flash T");
    mount(&terminal_multiwrite, &driver_tm, &flash_tm, "mount flash TM");

    run("certificate chain verifies (root -> intermediate -> 111-byte device cert)",
        verify_chain, NULL);
    run("tampered device certificate is rejected", reject_tampered, NULL);
    run("identity keys stored in the NOR-flash key store", store_identities, NULL);

    pair_with_vector();
    pair_fresh();
    run("a failing RNG is reported (PROVKIT_ERR_RNG_FAILED), nothing kept",
        rng_failure_reported, NULL);
    run("a handshake state moved in memory is refused (PROVKIT_ERR_STATE_MOVED)",
        moved_state_refused, NULL);
    run("pinned peer persists across a remount of the flash store", pin_and_remount, NULL);

    terminal_ctx single = {&terminal, &driver_t, "single-write"};
    terminal_ctx multi = {&terminal_multiwrite, &driver_tm, "multiwrite"};
    run("DUKPT: X9.24-3 initial key injected into the terminal's flash store", dukpt_inject,
        &single);
    run("DUKPT: transactions 1-8, store remounted before each; PIN blocks and CMACs equal "
        "X9.24-3",
        dukpt_transactions, &single);
    run("DUKPT: AES-192/256 keys refused (Unsupported) in this AES-128-only build",
        dukpt_refuses_unbuilt_sizes, &single);
    run("DUKPT: X9.24-3 initial key injected into a multiwrite flash store", dukpt_inject,
        &multi);
    run("DUKPT: transactions 1-8 on multiwrite flash, remounted before each; equal to X9.24-3",
        dukpt_transactions, &multi);

    run("telemetry: HPKE-sealed to the server, signed by the identity key in flash",
        telemetry_seal, NULL);
    /* For the host, which holds the server's private key (open_telemetry.py). */
    out_str("TELEMETRY ");
    out_hex(telemetry, telemetry_len);
    out_end();

    out_str("PROVKIT-FIRMWARE-C provider=");
    out_str(provkit_provider_name());
    out_str(" steps=");
    out_u64(steps.passed);
    out_str(" peak_stack=");
    out_u64(steps.peak);
    out_str(" peak_stack_from_reset=");
    out_u64(steps.peak_total);
    out_end();
    if (steps.peak > STACK_BUDGET) {
        fail("peak stack above the 8 KiB budget");
    }
    out_str("all steps passed");
    out_end();
    return 0;
}
