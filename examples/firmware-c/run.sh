#!/bin/sh
# Builds and runs the C firmware proof (issue #20) on QEMU mps2-an386 for both providers
# (RustCrypto and the Cortex-M4 assembly) and both toolchains (arm-none-eabi-gcc; clang
# and ld.lld with link-time optimisation across C and Rust: see the Makefile), then opens
# each run's telemetry on the host (open_telemetry.py). Exits non-zero on any failure: a
# build error, a failed step, a QEMU exit other than success, telemetry the host cannot
# open, or runs that sealed different telemetry.
#
#   examples/firmware-c/run.sh            (from anywhere; CARGO_TARGET_DIR is honoured)
#   TOOLCHAINS=gcc examples/firmware-c/run.sh    (one toolchain)
#
# Needs arm-none-eabi-gcc (Debian gcc-arm-none-eabi, libnewlib-arm-none-eabi), clang-N and
# lld-N for rustc's LLVM N (`rustc -vV`), qemu-system-arm, the thumbv7em-none-eabihf Rust
# target, and python3 with pyhpke and cryptography.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
providers="rustcrypto cm4"
toolchains=${TOOLCHAINS:-gcc clang}

status=0
first=""
for toolchain in $toolchains; do
    case $toolchain in
        gcc) out=$target/firmware-c ;;
        clang) out=$target/firmware-c-clang ;;
        *) echo "unknown toolchain $toolchain (gcc or clang)"; exit 2 ;;
    esac
    make -C "$here" --no-print-directory TOOLCHAIN="$toolchain" OUT="$out" all

    for provider in $providers; do
        log="$out/$provider/proof.log"
        echo "== C firmware proof, $toolchain, provider $provider: $out/$provider/proof.elf"
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
            echo "[FAIL] C firmware proof, $toolchain, provider $provider (QEMU exit status $qemu)"
            status=1
            continue
        fi
        if ! python3 "$here/open_telemetry.py" "$log"; then
            status=1
            continue
        fi
        # Every run seals the same telemetry (same placeholder ephemeral, RFC 6979
        # signatures), whatever the provider or the compiler.
        sealed=$(grep '^TELEMETRY ' "$log")
        if [ -z "$first" ]; then
            first=$sealed
        elif [ "$sealed" != "$first" ]; then
            echo "[FAIL] $toolchain, provider $provider sealed different telemetry from the first run"
            status=1
        fi
    done
done

if [ "$status" -eq 0 ]; then
    echo "[ ok ] every run sealed byte-identical telemetry"
    echo "C firmware proof: all steps passed on both providers ($toolchains)"
else
    echo "C firmware proof: FAILED"
fi
exit "$status"
