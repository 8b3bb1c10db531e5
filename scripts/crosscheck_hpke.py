#!/usr/bin/env python3
"""An independent check of provkit's HPKE formats, with pyhpke and pyca/cryptography.

`tests/data/telemetry/vectors.json` (four telemetry messages) and
`tests/data/shipment/vectors.json` (a three-record shipment file) give their private keys,
the ephemeral IKM and every intermediate value; `tests/telemetry_vectors.rs` and
`tests/shipment_vectors.rs` compute them with the RustCrypto crates and check them against
provkit. This script starts from the wire bytes (`message`, `file`) and the keys, and
with pyhpke (RFC 9180: DeriveKeyPair, Encap/Decap, the key schedule, Seal/Open, Export)
and cryptography (ECDH, ECDSA P-256 with RFC 6979 nonces, AES-CMAC):

- parses every header field and compares it with the JSON;
- derives the ephemeral key pair from the IKM, decapsulates `enc` with the recipient's
  private key and recomputes `dh`, the shared secret and the key schedule (key,
  base_nonce, exporter_secret) with pyhpke's labeled HKDF;
- opens every message and chunk with a pyhpke recipient context (`info`, the AAD of the
  message or of each chunk, sequence numbers in order), checks the commitment export,
  and re-seals every plaintext with a pyhpke sender context built from the same
  ephemeral key, which must give back the ciphertext byte for byte;
- verifies every ECDSA signature with cryptography over the spec's signed bytes, checks
  it is low-S, and re-signs deterministically (RFC 6979, then low-S), which must give the
  same signature;
- for the shipment, parses each record (serial order, key type, zero padding) and
  recomputes its KCV (AES-CMAC of a zero block, 5 bytes), the transcript hash and the
  trailer signature.

It exits non-zero, saying why, on the first difference.

Usage: python3 scripts/crosscheck_hpke.py [--telemetry PATH] [--shipment PATH]
(from the repository root; `.ci/run` runs it on the committed files)
"""

import argparse
import hashlib
import json
import pathlib
import struct
import sys

import pyhpke
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import algorithms
from pyhpke import AEADId, CipherSuite, KDFId, KEMId
from pyhpke.kdf import KDF

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class Mismatch(Exception):
    pass


def same(what: str, got, want) -> None:
    if isinstance(got, (bytes, bytearray)):
        got = bytes(got).hex()
    if isinstance(want, (bytes, bytearray)):
        want = bytes(want).hex()
    if got != want:
        raise Mismatch(f"{what}: computed {got!r}, the JSON says {want!r}")


def unhex(s: str) -> bytes:
    return bytes.fromhex(s)


def private_key(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def sec1(key) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def fingerprint(public: bytes) -> bytes:
    return hashlib.sha256(public).digest()[:8]


def check_signature(what: str, signer: ec.EllipticCurvePrivateKey, signed: bytes, digest_hex, sig: bytes) -> None:
    """ECDSA P-256 over SHA-256(signed), raw r || s, low-S, RFC 6979."""
    digest = hashlib.sha256(signed).digest()
    if digest_hex is not None:
        same(f"{what} digest", digest, digest_hex)
    if len(sig) != 64:
        raise Mismatch(f"{what}: {len(sig)} bytes, not r || s")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    try:
        signer.public_key().verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Mismatch(f"{what}: cryptography does not verify it") from None
    if s > N // 2:
        raise Mismatch(f"{what}: high S")
    der = signer.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()), deterministic_signing=True))
    r2, s2 = decode_dss_signature(der)
    s2 = min(s2, N - s2)
    same(f"{what} (RFC 6979, low-S, re-signed by cryptography)", r2.to_bytes(32, "big") + s2.to_bytes(32, "big"), sig)


def key_schedule(what: str, suite_ids: tuple, shared_secret: bytes, info: bytes, v: dict, nk: int) -> None:
    """RFC 9180 5.1 base mode, with pyhpke's labeled HKDF, against the JSON."""
    kem_id, kdf_id, aead_id = suite_ids
    kdf = KDF(KDFId.HKDF_SHA256, b"HPKE" + struct.pack(">HHH", kem_id, kdf_id, aead_id))
    psk_id_hash = kdf.labeled_extract(b"", b"psk_id_hash", b"")
    info_hash = kdf.labeled_extract(b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = kdf.labeled_extract(shared_secret, b"secret", b"")
    if "key_schedule_context" in v:
        same(f"{what} key_schedule_context", context, v["key_schedule_context"])
    if "secret" in v:
        same(f"{what} secret", secret, v["secret"])
    same(f"{what} key", kdf.labeled_expand(secret, b"key", context, nk), v["key"])
    same(f"{what} base_nonce", kdf.labeled_expand(secret, b"base_nonce", context, 12), v["base_nonce"])
    same(f"{what} exporter_secret", kdf.labeled_expand(secret, b"exp", context, 32), v["exporter_secret"])


def kem_side(what: str, suite: CipherSuite, recipient: ec.EllipticCurvePrivateKey, ikm: bytes, enc: bytes, v: dict):
    """DeriveKeyPair(ikm), Decap, and the DH: returns (pyhpke recipient key, ephemeral pair)."""
    pair = suite.kem.derive_key_pair(ikm)
    # pyhpke 0.6.5's `to_private_bytes` pads an EC scalar to `key_size` (in bits) bytes:
    # read the scalar from the cryptography key underneath instead.
    scalar = pair.private_key.raw.private_numbers().private_value.to_bytes(32, "big")
    same(f"{what} ephemeral_private_scalar", scalar, v["ephemeral_private_scalar"])
    same(f"{what} enc (DeriveKeyPair(ikm))", pair.public_key.to_public_bytes(), enc)
    same(f"{what} enc", enc, v["enc"])
    skr = suite.kem.deserialize_private_key(recipient.private_numbers().private_value.to_bytes(32, "big"))
    ephemeral = private_key(scalar)
    dh = ephemeral.exchange(ec.ECDH(), recipient.public_key())
    same(f"{what} dh", dh, v["dh"])
    same(f"{what} dh (recipient side)", recipient.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), enc)), dh)
    same(f"{what} shared_secret", suite.kem.decap(enc, skr), v["shared_secret"])
    return skr, pair


def check_telemetry(path: pathlib.Path) -> int:
    doc = json.loads(path.read_text())
    for i, v in enumerate(doc["vectors"]):
        what = f"telemetry vector {i}"
        message = unhex(v["message"])
        header = message[:117]
        version, flags, aead_id, serial = struct.unpack(">BBHQ", header[:12])
        same(f"{what} version", version, 1)
        same(f"{what} signed flag", flags, int(v["signed"]))
        same(f"{what} aead_id", aead_id, v["aead_id"])
        same(f"{what} serial", serial, v["serial"])
        server = private_key(unhex(v["server_private_scalar"]))
        same(f"{what} server_public_key", sec1(server), v["server_public_key"])
        same(f"{what} recipient fingerprint", header[12:20], fingerprint(sec1(server)))
        same(f"{what} recipient_fingerprint", header[12:20], v["recipient_fingerprint"])
        enc = header[20:85]
        same(f"{what} header", header, v["header"])
        info = b"provkit telemetry v1" + header[:20]
        same(f"{what} info", info, v["info"])
        suite = CipherSuite.new(KEMId.DHKEM_P256_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId(aead_id))
        skr, pair = kem_side(what, suite, server, unhex(v["ephemeral_ikm"]), enc, v)
        key_schedule(what, (0x10, 1, aead_id), suite.kem.decap(enc, skr), info, v, 16 if aead_id == 1 else 32)
        ctx = suite.create_recipient_context(enc, skr, info)
        commitment = ctx.export(b"provkit telemetry v1 commit", 32)
        same(f"{what} commitment", commitment, header[85:117])
        same(f"{what} commitment", commitment, v["commitment"])
        try:
            plaintext = ctx.open(message[117:], aad=header)
        except pyhpke.OpenError:
            raise Mismatch(f"{what}: pyhpke does not open the message") from None
        same(f"{what} plaintext", plaintext, v["plaintext"])
        if flags & 1:
            payload, sig = plaintext[:-64], plaintext[-64:]
            device = private_key(unhex(v["device_private_scalar"]))
            same(f"{what} device_public_key", sec1(device), v["device_public_key"])
            same(f"{what} signature", sig, v["signature"])
            check_signature(
                f"{what} signature", device, b"provkit telemetry v1 signature" + header[:85] + payload,
                v["signature_digest"], sig,
            )
        else:
            payload = plaintext
        same(f"{what} payload", payload, v["payload"])
        # The sender side with the same ephemeral key gives back the message.
        enc2, sctx = suite.create_sender_context(suite.kem.deserialize_public_key(sec1(server)), info, eks=pair)
        same(f"{what} enc (sender)", enc2, enc)
        same(f"{what} commitment (sender)", sctx.export(b"provkit telemetry v1 commit", 32), commitment)
        same(f"{what} message (re-sealed by pyhpke)", header + sctx.seal(plaintext, aad=header), message)
    return len(doc["vectors"])


def kcv(key: bytes) -> bytes:
    c = cmac.CMAC(algorithms.AES(key))
    c.update(bytes(16))
    return c.finalize()[:5]


def check_shipment(path: pathlib.Path) -> int:
    v = json.loads(path.read_text())
    what = "shipment"
    inputs, hv, h = v["inputs"], v["hpke"], v["header"]
    file = unhex(v["file"])
    same(f"{what} file_length", len(file), v["file_length"])
    header = file[:226]
    same(f"{what} header bytes", header, h["bytes"])
    magic, version, kem_id, kdf_id, aead_id = struct.unpack(">4sBHHH", header[:11])
    same(f"{what} magic", magic, h["magic"])
    same(f"{what} version", version, h["version"])
    same(f"{what} suite", (kem_id, kdf_id, aead_id), (0x10, 1, 2))
    for name, value in [("kem_id", kem_id), ("kdf_id", kdf_id), ("aead_id", aead_id)]:
        same(f"{what} {name}", value.to_bytes(2, "big"), h[name])
    manufacturer = private_key(unhex(inputs["manufacturer_private_scalar"]))
    authority = private_key(unhex(inputs["authority_private_scalar"]))
    same(f"{what} manufacturer_public_key", sec1(manufacturer), inputs["manufacturer_public_key"])
    same(f"{what} authority_public_key", sec1(authority), inputs["authority_public_key"])
    count, per_chunk = struct.unpack(">IH", header[59:65])
    fields = {
        "manufacturer_id": header[11:27],
        "manufacturer_key_fingerprint": header[27:35],
        "recipient_key_fingerprint": header[35:43],
        "batch_id": header[43:59],
        "record_count": count,
        "records_per_chunk": per_chunk,
        "enc": header[65:130],
        "commitment": header[130:162],
        "signature": header[162:226],
    }
    for name, value in fields.items():
        same(f"{what} header {name}", value, h[name])
    same(f"{what} manufacturer fingerprint", header[27:35], fingerprint(sec1(manufacturer)))
    same(f"{what} recipient fingerprint", header[35:43], fingerprint(sec1(authority)))
    for name in ("manufacturer_id", "batch_id", "record_count", "records_per_chunk"):
        same(f"{what} input {name}", fields[name], inputs[name])
    if count < 1 or not 1 <= per_chunk <= 4096:
        raise Mismatch(f"{what}: record count {count} or records per chunk {per_chunk} out of range")
    chunks = -(-count // per_chunk)
    same(f"{what} file length from the header", 226 + 56 * count + 16 * chunks + 64, len(file))

    # The header signature, before anything is decrypted.
    check_signature(
        f"{what} header signature", manufacturer, b"provkit shipment v1 header" + header[:162],
        v["header_signature"]["digest"], header[162:226],
    )
    same(f"{what} header signature label", b"provkit shipment v1 header", v["header_signature"]["label"])
    same(f"{what} header signature", header[162:226], v["header_signature"]["signature"])

    suite = CipherSuite.new(KEMId.DHKEM_P256_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
    same(f"{what} HPKE mode (base)", 0, hv["mode"])
    same(f"{what} suite_id", b"HPKE" + header[5:11], hv["suite_id"])
    info = b"provkit shipment v1" + header[:65]
    same(f"{what} info", info, hv["info"])
    enc = header[65:130]
    skr, pair = kem_side(what, suite, authority, unhex(inputs["ephemeral_ikm"]), enc, hv)
    same(f"{what} kem_context", enc + sec1(authority), hv["kem_context"])
    key_schedule(what, (kem_id, kdf_id, aead_id), suite.kem.decap(enc, skr), info, hv, 32)
    ctx = suite.create_recipient_context(enc, skr, info)
    same(f"{what} exporter_context", b"provkit shipment v1 commit", hv["exporter_context"])
    commitment = ctx.export(b"provkit shipment v1 commit", hv["export_length"])
    same(f"{what} commitment (pyhpke export)", commitment, header[130:162])
    same(f"{what} commitment", commitment, hv["commitment"])
    enc2, sctx = suite.create_sender_context(suite.kem.deserialize_public_key(sec1(authority)), info, eks=pair)
    same(f"{what} enc (sender)", enc2, enc)

    transcript = hashlib.sha256(b"provkit shipment v1 transcript" + header)
    at, last_serial, records = 226, -1, []
    base_nonce = unhex(hv["base_nonce"])
    same(f"{what} chunk count", len(v["chunks"]), chunks)
    for i, cv in enumerate(v["chunks"]):
        n = min(per_chunk, count - i * per_chunk)
        final = int(i == chunks - 1)
        chunk = file[at : at + 56 * n + 16]
        at += len(chunk)
        aad = struct.pack(">IBH", i, final, n)
        same(f"{what} chunk {i} index", cv["index"], i)
        same(f"{what} chunk {i} sequence number", cv["sequence_number"], i)
        same(f"{what} chunk {i} final", cv["final"], bool(final))
        same(f"{what} chunk {i} records", cv["records"], n)
        same(f"{what} chunk {i} aad", aad, cv["aad"])
        same(f"{what} chunk {i} nonce", bytes(a ^ b for a, b in zip(base_nonce, i.to_bytes(12, "big"))), cv["nonce"])
        same(f"{what} chunk {i} bytes", chunk, cv["chunk"])
        same(f"{what} chunk {i} tag", chunk[-16:], cv["tag"])
        try:
            plaintext = ctx.open(chunk, aad=aad)
        except pyhpke.OpenError:
            raise Mismatch(f"{what}: pyhpke does not open chunk {i}") from None
        same(f"{what} chunk {i} plaintext", plaintext, cv["plaintext"])
        same(f"{what} chunk {i} (re-sealed by pyhpke)", sctx.seal(plaintext, aad=aad), chunk)
        transcript.update(chunk)
        for j in range(n):
            r = plaintext[56 * j : 56 * j + 56]
            serial, key_id, usage, key_type, check = struct.unpack(">QQ2sB5s", r[:24])
            if key_type not in (1, 2, 3):
                raise Mismatch(f"{what} record {len(records)}: key type {key_type}")
            key = r[24 : 24 + 8 + 8 * key_type]
            if any(r[24 + len(key) :]):
                raise Mismatch(f"{what} record {len(records)}: key padding is not zero")
            if serial <= last_serial:
                raise Mismatch(f"{what} record {len(records)}: serial {serial} not above {last_serial}")
            last_serial = serial
            same(f"{what} record {len(records)} KCV", kcv(key), check)
            records.append({
                "serial": serial, "key_id": key_id, "usage": usage.decode("ascii"),
                "key_type": key_type, "key": key.hex(), "kcv": check.hex(), "plaintext": r.hex(),
            })
    same(f"{what} records", records, v["records"])
    same(f"{what} trailer position", at, len(file) - 64)
    same(f"{what} transcript_hash", transcript.digest(), v["trailer"]["transcript_hash"])
    same(f"{what} trailer label", b"provkit shipment v1 transcript", v["trailer"]["label"])
    trailer = file[at:]
    same(f"{what} trailer signature", trailer, v["trailer"]["signature"])
    check_signature(f"{what} trailer signature", manufacturer, b"provkit shipment v1 transcript" + file[:at], None, trailer)
    return len(records)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--telemetry", type=pathlib.Path, default=DATA / "telemetry" / "vectors.json")
    p.add_argument("--shipment", type=pathlib.Path, default=DATA / "shipment" / "vectors.json")
    args = p.parse_args()
    try:
        messages = check_telemetry(args.telemetry)
        records = check_shipment(args.shipment)
    except Mismatch as e:
        sys.exit(f"MISMATCH: {e}")
    print(
        f"pyhpke {pyhpke.__version__}, cryptography {__import__('cryptography').__version__}: "
        f"{messages} telemetry messages and a shipment of {records} records open, re-seal byte for "
        f"byte and verify; every intermediate value matches"
    )


if __name__ == "__main__":
    main()
