#!/bin/sh
# Builds and runs the C firmware proof (issue #20) on QEMU mps2-an386 for both providers
# (RustCrypto and the Cortex-M4 assembly), then opens each run's telemetry on the host
# (open_telemetry.py). Exits non-zero on any failure: a build error, a failed step, a
# QEMU exit other than success, or telemetry the host cannot open.
#
#   examples/firmware-c/run.sh            (from anywhere; CARGO_TARGET_DIR is honoured)
#
# Needs arm-none-eabi-gcc (Debian gcc-arm-none-eabi, libnewlib-arm-none-eabi),
# qemu-system-arm, the thumbv7em-none-eabihf Rust target, and python3 with pyhpke and
# cryptography.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${CARGO_TARGET_DIR:-$root/target}/firmware-c
providers="rustcrypto cm4"

make -C "$here" --no-print-directory OUT="$out" all

status=0
for provider in $providers; do
    log="$out/$provider/proof.log"
    echo "== C firmware proof, provider $provider: $out/$provider/proof.elf"
    # -icount shift=0: one virtual nanosecond per instruction, so SysTick counts
    # instructions (src/instructions.c).
    if nice timeout 900 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel "$out/$provider/proof.elf" >"$log" 2>&1; then
        qemu=0
    else
        qemu=$?
    fi
    # The TELEMETRY line is long; the host check below reports on it.
    grep -v '^TELEMETRY ' "$log" || true
    if [ "$qemu" -ne 0 ] || ! grep -q '^all steps passed$' "$log"; then
        echo "[FAIL] C firmware proof, provider $provider (QEMU exit status $qemu)"
        status=1
        continue
    fi
    if ! python3 "$here/open_telemetry.py" "$log"; then
        status=1
    fi
done

# Both providers seal the same telemetry (same placeholder ephemeral, RFC 6979 signatures).
a=$(grep '^TELEMETRY ' "$out/rustcrypto/proof.log" 2>/dev/null || true)
b=$(grep '^TELEMETRY ' "$out/cm4/proof.log" 2>/dev/null || true)
if [ "$status" -eq 0 ]; then
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
        echo "[ ok ] both providers sealed byte-identical telemetry"
    else
        echo "[FAIL] the providers sealed different telemetry"
        status=1
    fi
fi

if [ "$status" -eq 0 ]; then
    echo "C firmware proof: all steps passed on both providers"
else
    echo "C firmware proof: FAILED"
fi
exit "$status"
