#!/usr/bin/env bash
# Makes the certification requests of tests/data/csr/ with `openssl req`, as a device
# vendor's tooling would: tests/csr.rs checks what provkit's CA does with each.
# Run from the repository root; the keys are throwaway test keys, committed beside the
# requests so that a test can check the request's key against them.
set -euo pipefail
d=tests/data/csr
mkdir -p "$d"
cd "$d"
openssl ecparam -name prime256v1 -genkey -noout -out device.key
openssl ecparam -name secp384r1 -genkey -noout -out p384.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
req() { openssl req -new -config /dev/null -sha256 "$@"; }
# The device profile, as PEM and as DER.
req -key device.key -subj /serialNumber=0102030405060708 -out openssl_device.csr
openssl req -in openssl_device.csr -outform DER -out openssl_device.der
# Usages the profile knows, requested as extensions (and a key id, which is ignored).
req -key device.key -subj /serialNumber=0102030405060708 \
  -addext "keyUsage=critical,digitalSignature,keyAgreement" \
  -addext "extendedKeyUsage=clientAuth,serverAuth" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "subjectKeyIdentifier=hash" -out openssl_usages.csr
# SHA-384 signature, lower-case serial digits.
openssl req -new -config /dev/null -sha384 -key device.key -subj /serialNumber=00000000000000ff \
  -out openssl_sha384.csr
# Outside the profile, one reason each.
req -key device.key -subj "/CN=device 1" -out openssl_common_name.csr
req -key device.key -subj /serialNumber=0102030405060708 \
  -addext "subjectAltName=DNS:device.example" -out openssl_san.csr
req -key device.key -subj /serialNumber=0102030405060708 \
  -addext "basicConstraints=critical,CA:TRUE" -out openssl_ca.csr
req -key device.key -subj /serialNumber=0102030405060708 \
  -addext "keyUsage=digitalSignature,keyEncipherment" -out openssl_key_encipherment.csr
req -key p384.key -subj /serialNumber=0102030405060708 -out openssl_p384.csr
req -key rsa.key -subj /serialNumber=0102030405060708 -out openssl_rsa.csr
printf '[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nserialNumber=0102030405060708\n[attrs]\nchallengePassword=secret1234\n' > challenge.cnf
openssl req -new -config challenge.cnf -key device.key -sha256 -out openssl_challenge.csr
rm challenge.cnf
openssl pkey -in device.key -pubout -out device.pub.pem
rm p384.key rsa.key
