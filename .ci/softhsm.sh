#!/usr/bin/env bash
# Installs SoftHSM2 (the PKCS#11 module the provkit-pkcs11 tests and bench run against)
# if it is missing. Idempotent; needs root (apt-get). Called from .ci/run.
set -euo pipefail
module="${PROVKIT_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
if [ -e "$module" ] && command -v softhsm2-util >/dev/null; then
  echo "softhsm2: present ($module)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq softhsm2
if [ ! -e "$module" ]; then
  echo "softhsm2 installed but no PKCS#11 module at $module" >&2
  exit 1
fi
echo "softhsm2: installed ($module)"
