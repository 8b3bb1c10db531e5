#!/usr/bin/env python3
"""An independent X.509 check of provkit's certificates, with pyca/cryptography.

`tests/data/cert/` holds a root, an intermediate and a device certificate that provkit
made (the device's is the expansion of `device.compact`; `tests/cert.rs` checks both
against provkit). This script parses each with cryptography's X.509 loader, checks that
its DER encoder gives back the same bytes, that each signature verifies with its
issuer's key, the extensions provkit's profile promises, and that cryptography's own
path validation accepts the device certificate for client authentication under the
root (the Web PKI's extension rules, except that a device names itself by its subject's
serialNumber rather than a subjectAltName). It exits non-zero, saying why, on the first difference.

Usage: python3 scripts/crosscheck_x509.py   (from the repository root; `.ci/run` runs it)
"""

import datetime
import pathlib
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "cert"


def load(name: str) -> x509.Certificate:
    der = (DATA / f"{name}.der").read_bytes()
    cert = x509.load_der_x509_certificate(der)
    again = cert.public_bytes(serialization.Encoding.DER)
    if again != der:
        sys.exit(f"{name}.der: cryptography re-encodes it differently")
    if not isinstance(cert.public_key(), ec.EllipticCurvePublicKey) or cert.public_key().curve.name != "secp256r1":
        sys.exit(f"{name}.der: not a P-256 key")
    if not isinstance(cert.signature_hash_algorithm, hashes.SHA256):
        sys.exit(f"{name}.der: not ECDSA with SHA-256")
    return cert


def main() -> None:
    root, intermediate, device = load("root"), load("intermediate"), load("device")
    for cert, issuer, name in [
        (root, root, "root"),
        (intermediate, root, "intermediate"),
        (device, intermediate, "device"),
    ]:
        try:
            cert.verify_directly_issued_by(issuer)
        except Exception as e:  # cryptography raises ValueError, TypeError or InvalidSignature
            sys.exit(f"{name}.der: not issued by its issuer according to cryptography: {e!r}")
    for cert, name, is_ca in [(root, "root", True), (intermediate, "intermediate", True), (device, "device", False)]:
        try:
            ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False  # an end entity may leave it out (RFC 5280 4.2.1.9), as provkit's devices do
        if ca != is_ca:
            sys.exit(f"{name}.der: basicConstraints cA is {ca}")
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if is_ca != ku.key_cert_sign or not (is_ca or ku.digital_signature):
            sys.exit(f"{name}.der: keyUsage {ku}")
    eku = device.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        sys.exit("device.der: no clientAuth")
    # Path validation at a time inside every validity period.
    at = max(c.not_valid_before_utc for c in (root, intermediate, device)) + datetime.timedelta(days=1)
    # The Web PKI's defaults, except that a device names itself by its subject's
    # serialNumber, not a subjectAltName (which RFC 5280 does not require).
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(at)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )
    try:
        chain = verifier.verify(device, [intermediate]).chain
    except Exception as e:
        sys.exit(f"device.der: cryptography's client path validation refuses it: {e!r}")
    print(
        f"cryptography {__import__('cryptography').__version__}: root, intermediate and device "
        f"parse, re-encode byte for byte and verify; client path of {len(chain)} certificates "
        f"valid at {at.isoformat()}"
    )


if __name__ == "__main__":
    main()
