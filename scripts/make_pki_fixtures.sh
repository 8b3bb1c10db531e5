#!/usr/bin/env bash
# Makes the foreign PKI of tests/data/pki/ with OpenSSL, as an existing corporate PKI
# would look: tests/pki.rs checks provkit's chain validation (provkit::cert::pki) against
# it, and signs a provkit intermediate with the foreign root's key. Throwaway test keys.
# Run from the repository root.
set -euo pipefail
d=tests/data/pki
mkdir -p "$d"
cd "$d"
days=7300
cat > ext.cnf <<'CNF'
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
certificatePolicies = 1.3.6.1.4.1.55555.1.1
crlDistributionPoints = URI:http://pki.example.com/root.crl
[int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.example.com/root.crt
[v1int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:gateway-7.example.com
CNF
key() { openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$1" -out "$2"; }
key P-256 root.key
key P-256 int.key
key P-256 leaf.key
key P-384 p384_root.key
openssl req -new -x509 -config ext.cnf -key root.key -sha256 -days $days -set_serial 0x5a01 \
  -subj "/C=DE/ST=Berlin/L=Berlin/O=Example Devices GmbH/OU=Corporate PKI/CN=Example Corporate Root CA 2026" \
  -extensions root -out root.pem
openssl req -new -config /dev/null -key int.key \
  -subj "/C=DE/O=Example Devices GmbH/OU=Corporate PKI/CN=Example Issuing CA (SHA-384)" -out int.csr
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -sha384 -days $days -set_serial 0x5a02 \
  -extensions int -extfile ext.cnf -out int384.pem
openssl req -new -config /dev/null -key leaf.key -subj "/O=Example Devices GmbH/CN=gateway-7" -out leaf.csr
openssl x509 -req -in leaf.csr -CA int384.pem -CAkey int.key -sha256 -days $days -set_serial 0x5a03 \
  -extensions leaf -extfile ext.cnf -out leaf.pem
openssl req -new -x509 -config ext.cnf -key p384_root.key -sha384 -days $days -set_serial 0x5a04 \
  -subj "/O=Example Devices GmbH/CN=Example P-384 Root" -extensions root -out p384_root.pem
openssl x509 -req -in int.csr -CA p384_root.pem -CAkey p384_root.key -sha384 -days $days \
  -set_serial 0x5a05 -extensions int -extfile ext.cnf -out p384_int.pem
cat leaf.pem int384.pem > bundle.pem
# A version 1 root (no extensions, as legacy roots are) and a CA it signs.
key P-256 v1_root.key
openssl req -new -config /dev/null -key v1_root.key -subj "/O=Example Legacy/CN=Example V1 Root" \
  -out v1_root.csr
openssl x509 -req -in v1_root.csr -signkey v1_root.key -sha256 -days $days -set_serial 0x5a06 \
  -out v1_root.pem
openssl x509 -req -in int.csr -CA v1_root.pem -CAkey v1_root.key -sha256 -days $days \
  -set_serial 0x5a07 -extensions v1int -extfile ext.cnf -out v1_int.pem
openssl verify -CAfile root.pem -untrusted int384.pem leaf.pem
openssl verify -CAfile p384_root.pem p384_int.pem
openssl verify -CAfile v1_root.pem v1_int.pem
rm ext.cnf int.csr leaf.csr int.key leaf.key p384_root.key v1_root.csr v1_root.key
