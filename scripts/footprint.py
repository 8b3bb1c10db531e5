#!/usr/bin/env python3
"""Footprint report for provkit's device side: writes docs/footprint.md, checks budgets.

Builds examples/firmware's `footprint` probe (opt-level "z", LTO, codegen-units 1, panic
abort; see examples/firmware/Cargo.toml) once per capability set, measures .text+.rodata
(flash) and .data+.bss (static RAM) with llvm-size, attributes the full build's symbols to
crates with llvm-nm, and runs the QEMU proof (examples/firmware, `cargo run --release`)
for the peak stack measured by painting.

The C firmware (examples/firmware-c, issue #20): builds it with its Makefile for both
toolchains (arm-none-eabi-gcc; clang and ld.lld with LTO across C and Rust), each with the
C proof and the C footprint probe linked with libprovkit_c.a of each provider, compares
the C probe's flash with the Rust probe's, runs the C proof on QEMU for both providers and
toolchains for its stack and instructions, and opens its telemetry on the host
(open_telemetry.py).

usage: scripts/footprint.py [--check all|stack|none] [--no-write]
Exit status 1 when a checked budget is exceeded, or a QEMU proof (Rust or C) or the host's
opening of the C firmware's telemetry fails.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.path.join(ROOT, "examples", "firmware")
TARGET = "thumbv7em-none-eabihf"
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "..", "provkit-target")) + "-firmware"
FWC = os.path.join(ROOT, "examples", "firmware-c")
# The C firmware's build (its Makefile's OUT): the library of each provider, the programs.
FWC_OUT = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "..", "provkit-target")) + "-firmware-c"
LLVM = os.path.join(
    subprocess.check_output(["rustc", "--print", "sysroot"], text=True).strip(),
    "lib", "rustlib", "x86_64-unknown-linux-gnu", "bin")

KIB = 1024
# Instructions per step and provider (issue #21). The QEMU proof runs the device steps on
# both providers: RustCrypto on devices A and B, the Cortex-M4 assembly (provkit-cm4) on C
# and D, whose steps are prefixed "cm4: ". RustCrypto: no step slower than when they were
# first counted (chain 27.1 M, initiator 9.4 + 55.3 M, responder 38.8 + 26.2 M, telemetry
# seal 38.4 M, rounded up to the next 0.1 M). Assembly: the budgets.
# (name, step-name prefix, initiator, responder, chain, initiator side, responder side, seal)
PROVIDERS = [
    ("RustCrypto (`p256`, portable)", "", "A", "B",
     27_200_000, 64_800_000, 65_100_000, 38_500_000),
    ("Cortex-M4 assembly (`provkit-cm4`)", "cm4: ", "C", "D",
     2_000_000, 4_000_000, 4_000_000, 2_500_000),
]
# The full device side on the assembly provider (issue #21).
BUDGET_FULL_CM4 = 40 * KIB
# A key used through the flash store costs what the raw operation costs (issue #21).
BUDGET_STORE_RATIO = 1.05
BUDGET_FULL = 48 * KIB
BUDGET_PROTOCOL = 12 * KIB
BUDGET_STACK = 8 * KIB
# The C firmware (issue #20): the C probe costs at most 2 KiB of flash more than the Rust
# probe with the same capabilities, on each provider: enforced for the clang LTO build,
# reported for the gcc build, which is over it (docs/footprint.md, "The C firmware"); the C
# proof's deepest step stays within the same 8 KiB of stack (enforced for both).
BUDGET_C_OVER_RUST = 2 * KIB
BUDGET_C_STACK = 8 * KIB
# (the library's provider in examples/firmware-c's Makefile, index into PROVIDERS)
C_PROVIDERS = [("rustcrypto", 0), ("cm4", 1)]
# (the Makefile's TOOLCHAIN, name, output directory, flash budget enforced)
C_TOOLCHAINS = [
    ("gcc", "gcc", FWC_OUT, False),
    ("clang", "clang LTO", FWC_OUT + "-clang", True),
]

# (cargo feature, name, text that marks the capability's steps in the QEMU proof)
CAPS = [
    ("cap-cert", "certificate chain verify", "certificate chain"),
    ("cap-initiator", "handshake, initiator", ": initiator:"),
    ("cap-responder", "handshake, responder", ": responder:"),
    ("cap-dukpt", "DUKPT device (AES)", "DUKPT"),
    ("cap-seal", "HPKE telemetry seal", "telemetry: HPKE-sealed"),
]
STORE_STEPS = ("identity keys", "pinned peer")
# Crates that are "the RustCrypto primitives" (and Rust/cortex-m runtime), as opposed to
# provkit's protocol code.
P256 = {"p256", "primeorder", "crypto_bigint", "elliptic_curve", "ecdsa", "rfc6979", "ff", "group"}
# The Cortex-M4 assembly (P256-Cortex-M4's C and assembly, its tables, its Rust binding).
ASM = {"p256_cortex_m4_sys", "p256_basepoint_precomp", "p256_basepoint_precomp2",
       "one_montgomery", "p256_cortex_m4"}
# The aes-gcm crate and the generic layers under it (provkit::provider::block_gcm replaces
# them on the assembly provider).
AES_GCM = {"aes_gcm", "ctr", "cipher", "inout"}
RUNTIME = {"core", "compiler_builtins", "cortex_m", "cortex_m_rt", "__INTERRUPTS", "Reset"}
# Generic helpers whose inlined code belongs to whoever called them.
UTILITY = {"core", "alloc", "hybrid_array", "subtle", "ctutils", "cmov", "zeroize", "typenum",
           "generic_array"}
# The probe's own functions: after LTO they hold the library code inlined at its call
# sites (protocol and primitives alike).
PROBE = "footprint"
# In the C build: the C API's Rust side (crates/provkit-c/src), and the C probe's own code.
C_BOUNDARY = "provkit_c"
C_PROBE = "the C probe"
# provkit's source by layer (top-level module of the file the code was compiled from).
# The protocol budget is for the protocols themselves; the key store (which the issue lists
# beside them) and the primitive-level code provkit carries are reported on their own lines.
# `provider` (src/provider/: the RustCrypto provider's glue, the table-free verify, HKDF,
# AES-GCM on blocks) is primitive-level code: until issue #21's flash work it fell through
# to "protocol".
LAYERS = [
    ("protocol", "provkit protocol code: certificates, handshake, DUKPT, envelopes",
     {"cert", "handshake", "dukpt", "envelope", "error", "lib"}),
    ("store", "provkit key store: NOR-flash store, software key operations, secret containers",
     {"store", "secret"}),
    ("primitive", "provkit primitive-level code: the crypto provider (table-free ECDSA "
     "verify, HKDF, AES-GCM), P-256 encodings, AES by run-time key size, CMAC",
     {"ec", "block", "provider"}),
]
# No "testing" layer: the firmware builds provkit without `test-suite`; its TRNG stand-ins
# are its own (examples/firmware/src/rng.rs) and count as the probe's.


def layer_of(module):
    return next((key for key, _, mods in LAYERS if module in mods), "protocol")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def build(features, keep=None, linker_lto=False):
    """The probe's ELF with `features`; with `keep`, a copy under that name that the next
    build does not overwrite. With `linker_lto`, rustc hands LLVM bitcode to the linker
    (rust-lld), whose LTO pipeline optimises it: the pipeline the C firmware's clang build
    goes through (in its own target directory)."""
    target_dir = TARGET_DIR + ("-linker-lto" if linker_lto else "")
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    cmd = ["cargo", "build", "--release", "--bin", "footprint"]
    if features:
        cmd += ["--features", ",".join(features)]
    if linker_lto:
        # Added to .cargo/config.toml's rustflags (cargo concatenates the arrays).
        cmd += ["--config", 'target.thumbv7em-none-eabihf.rustflags=["-C", "linker-plugin-lto"]']
    subprocess.run(cmd, cwd=FW, env=env, check=True, capture_output=True)
    elf = os.path.join(target_dir, TARGET, "release", "footprint")
    if keep:
        kept = os.path.join(TARGET_DIR, TARGET, "release", f"footprint-{keep}")
        shutil.copyfile(elf, kept)
        return kept
    return elf


def sections(elf):
    sizes = {}
    for line in run([os.path.join(LLVM, "llvm-size"), "-A", elf]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    flash = sizes.get(".text", 0) + sizes.get(".rodata", 0)
    ram = sizes.get(".data", 0) + sizes.get(".bss", 0)
    return flash, ram


def symbols(elf):
    """(address, size, type, demangled name) of every sized .text/.rodata symbol. Weak
    definitions (`W`: compiler-builtins' memset and `__aeabi_mem*` when C links the library)
    count as code."""
    out = run([os.path.join(LLVM, "llvm-nm"), "--print-size", "--size-sort", elf])
    rows = [l.split(None, 3) for l in out.splitlines()]
    rows = [r for r in rows if len(r) == 4 and r[2] in "tTrRW" and int(r[1], 16) > 0]
    names = subprocess.run(["c++filt"], input="\n".join(r[3] for r in rows), text=True,
                           capture_output=True, check=True).stdout.splitlines()
    return [(int(r[0], 16), int(r[1], 16), "t" if r[2] == "W" else r[2].lower(), n)
            for r, n in zip(rows, names)]


def crate_of_symbol(name):
    m = re.match(r"<?(?:&(?:mut )?)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
    if m:
        return m.group(1)
    return "compiler_builtins" if name.startswith(("__aeabi", "mem", "__")) else name


def crate_of_path(path):
    """The crate a source file belongs to: provkit, the probe, a registry crate, or core."""
    path = os.path.normpath(path)
    if path.startswith(os.path.join(FW, "")):
        return PROBE
    if path.startswith(os.path.join(FWC, "")):
        return C_PROBE
    if path.startswith(os.path.join(ROOT, "crates", "provkit-c", "")):
        return C_BOUNDARY
    if path.startswith(os.path.join(ROOT, "src", "")):
        return "provkit"
    m = re.match(re.escape(os.path.join(ROOT, "crates", "")) + r"([A-Za-z0-9_-]+)/", path)
    if m:
        return m.group(1).replace("-", "_")
    m = re.search(r"/registry/src/[^/]+/([A-Za-z0-9_-]+?)-\d+\.\d+\.\d+[^/]*/", path)
    if m:
        return m.group(1).replace("-", "_")
    m = re.search(r"/library/(core|alloc|compiler-builtins|compiler_builtins)/", path)
    if m:
        return m.group(1).replace("-", "_")
    return None


def crates(elf, files_of=None):
    """Flash bytes per crate of the source code they were compiled from.

    Code is attributed instruction by instruction (every 2 bytes, Thumb's granule) to the
    innermost inlined frame in the DWARF line tables (binutils' addr2line) that is not a
    generic utility (core's slice and integer helpers, hybrid-array, subtle, zeroize, ...:
    those count for the code that called them). So a primitive inlined into a provkit
    function counts as the primitive's, and provkit code inlined into the probe counts as
    provkit's. Read-only data goes by symbol name. With `files_of` (a crate name and a
    Counter), that crate's bytes are also counted per source file.
    """
    agg = collections.Counter()
    sym_at = {}  # every code address (Thumb granule), with the symbol it lies in
    for addr, size, kind, name in symbols(elf):
        if kind == "t":
            sym_at.update((a, name) for a in range(addr & ~1, (addr & ~1) + size, 2))
        else:
            agg[crate_of_symbol(name)] += size
    out = subprocess.run(["addr2line", "-a", "-i", "-f", "-e", elf],
                         input="\n".join(hex(a) for a in sym_at), text=True,
                         capture_output=True, check=True).stdout.splitlines()
    # Per address: "0x...", then (function, file:line) pairs, innermost first.
    i = 0
    modules = collections.Counter()
    while i < len(out):
        addr = int(out[i], 16)
        i += 1
        frames = []
        while i + 1 < len(out) and not out[i].startswith("0x"):
            path = out[i + 1].rsplit(":", 1)[0]
            frames.append((crate_of_path(path), path))
            i += 2
        known = [(c, p) for c, p in frames if c]
        owner = next(((c, p) for c, p in known if c not in UTILITY), None)
        if owner is None:
            agg[known[0][0] if known else crate_of_symbol(sym_at.get(addr, "?"))] += 2
            continue
        agg[owner[0]] += 2
        if files_of is not None and owner[0] == files_of[0]:
            files_of[1][os.path.basename(owner[1])] += 2
        if owner[0] == "provkit":
            rel = os.path.relpath(owner[1], os.path.join(ROOT, "src"))
            modules[rel.split(os.sep)[0].removesuffix(".rs")] += 2
    return agg, modules


def qemu_proof():
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET_DIR)
    p = subprocess.run(["cargo", "run", "--release", "--bin", "provkit-firmware"], cwd=FW,
                       env=env, text=True, capture_output=True, timeout=900)
    steps = []
    for line in p.stdout.splitlines():
        m = re.match(r"\[( ok |FAIL)\] (.*) \(stack (\d+) B; (\d+) B from reset; "
                     r"(\d+) instructions\)", line)
        if m:
            steps.append((m.group(1).strip(), m.group(2), int(m.group(3)), int(m.group(4)),
                          int(m.group(5))))
    calibration = re.search(r"\[ ok \] calibration: ([\d.]+) instructions per SysTick tick",
                            p.stdout)
    summary = re.search(r"PROVKIT-FIRMWARE steps=(\d+) peak_stack=(\d+) peak_stack_from_reset=(\d+)",
                        p.stdout)
    store = [tuple(int(g) for g in m) for m in
             re.findall(r"P-256 instructions: sign raw (\d+) flash store (\d+); "
                        r"ECDH raw (\d+) flash store (\d+)", p.stdout)]
    dukpt = re.findall(r"DUKPT instructions \(([\w-]+)\): mount (\d+)-(\d+), "
                       r"transaction (\d+)-(\d+)", p.stdout)
    ok = p.returncode == 0 and "all steps passed" in p.stdout and calibration is not None
    return ok, steps, summary, calibration, (store, dukpt), p.stdout + p.stderr


def build_c():
    """Builds examples/firmware-c with its Makefile for each toolchain: each provider's
    libprovkit_c.a, the C proof and the C probe for every capability set. None, or the
    build's output when it failed."""
    for tc, _, out, _ in C_TOOLCHAINS:
        p = subprocess.run(["make", "--no-print-directory", f"TOOLCHAIN={tc}", f"OUT={out}",
                            "all", "footprint"], cwd=FWC, text=True, capture_output=True)
        if p.returncode != 0:
            return f"(TOOLCHAIN={tc})\n" + p.stdout + p.stderr
    return None


def c_out(toolchain):
    return next(out for tc, _, out, _ in C_TOOLCHAINS if tc == toolchain)


def c_probe(toolchain, provider, probe):
    return os.path.join(c_out(toolchain), provider, f"footprint-{probe}.elf")


def c_proof(toolchain, provider):
    """Runs the C proof of `provider` built with `toolchain` on QEMU and opens its telemetry
    on the host."""
    cmd = ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
           "-semihosting-config", "enable=on,target=native", "-icount", "shift=0",
           "-kernel", os.path.join(c_out(toolchain), provider, "proof.elf")]
    try:
        p = subprocess.run(cmd, text=True, capture_output=True, timeout=900)
        out, status = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, status = str(e.stdout or ""), -1
    steps = []
    for line in out.splitlines():
        m = re.match(r"\[( ok |FAIL)\] (.*) \(stack (\d+) B; (\d+) B from reset; "
                     r"(\d+) instructions\)", line)
        if m:
            steps.append((m.group(1).strip(), m.group(2), int(m.group(3)), int(m.group(4)),
                          int(m.group(5))))
    summary = re.search(r"PROVKIT-FIRMWARE-C provider=(\S+) steps=(\d+) peak_stack=(\d+) "
                        r"peak_stack_from_reset=(\d+)", out)
    dukpt = re.findall(r"DUKPT instructions \(([\w-]+)\): mount (\d+)-(\d+), "
                       r"transaction (\d+)-(\d+)", out)
    host = subprocess.run([sys.executable, os.path.join(FWC, "open_telemetry.py")], input=out,
                          text=True, capture_output=True)
    telemetry = re.search(r"^TELEMETRY ([0-9a-f]+)$", out, re.M)
    return {
        "ok": status == 0 and "all steps passed" in out and summary is not None,
        "steps": steps,
        "peak": int(summary.group(3)) if summary else None,
        "peak_reset": int(summary.group(4)) if summary else None,
        "dukpt": dukpt,
        "host_ok": host.returncode == 0,
        "host": (host.stdout + host.stderr).strip(),
        "telemetry": telemetry.group(1) if telemetry else None,
        "log": out,
    }


def status_names(elf):
    """Bytes of `.rodata` that hold provkit_status_name's strings (`PROVKIT_...` and NUL)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "rodata.bin")
        subprocess.run([os.path.join(LLVM, "llvm-objcopy"), "-O", "binary",
                        "--only-section=.rodata", elf, raw], check=True, capture_output=True)
        with open(raw, "rb") as f:
            data = f.read()
    return sum(len(m) for m in re.findall(rb"PROVKIT_[A-Z_]+\x00", data))


def kib(n):
    return f"{n / KIB:.1f} KiB"


def mi(n):
    return f"{n / 1e6:.2f} M"


def ms(instructions):
    """Estimated milliseconds at 64 MHz, 1.2 cycles per instruction."""
    return f"{instructions * 1.2 / 64e6 * 1e3:,.0f} ms"


def first_of(steps, *prefixes):
    """Instructions of the first step (the vector handshake's) whose name starts with each
    prefix, summed; 10**12 (over any budget) when a step is missing."""
    total = 0
    for prefix in prefixes:
        found = [i for _, n, _, _, i in steps if n.startswith(prefix)]
        if not found:
            return 10**12
        total += found[0]
    return total


def c_section(build_log, probes, rust_flash, rust_flash_linker_lto, c_flash, c_runs, c_parts,
              c_files, c_names, rust_names, rust_parts, rust_steps):
    """docs/footprint.md's section on the C firmware (examples/firmware-c)."""
    md = ["## The C firmware (`examples/firmware-c`)\n"]
    md.append("The same device steps from C (issue #20): `examples/firmware-c` is a C11 program "
              "that includes only `provkit.h` (its own startup, linker script and "
              "semihosting), linked against `libprovkit_c.a` for `thumbv7em-none-eabihf`, once "
              "per provider (`--no-default-features --features small-stack`, and "
              "`cm4,small-stack`), and with each of two toolchains "
              "(`examples/firmware-c/Makefile`, `TOOLCHAIN`):\n")
    md.append("- **gcc**: arm-none-eabi-gcc, `-mcpu=cortex-m4 -mthumb -mfloat-abi=hard "
              "-mfpu=fpv4-sp-d16 -Os -ffunction-sections -fdata-sections`, linked by it with "
              "`-nostartfiles -Wl,--gc-sections`. The library arrives as one object that "
              "rustc optimised alone: link-time optimisation stops at the language boundary.")
    md.append("- **clang LTO**: clang and ld.lld of the LLVM that rustc is built on (`rustc -vV`; "
              "Debian `clang-N`, `lld-N`), `-Oz -flto`, the library built with "
              "`-C linker-plugin-lto` (LLVM bitcode), and ld.lld optimising C and Rust as one "
              "program (newlib's `libc.a` and `libgcc.a` linked for what the C uses): what "
              "rustc's LTO does for a Rust firmware, across the boundary.\n")
    md.append("The library is built with the workspace's `firmware` profile (the Rust "
              "firmware's release profile) and the Rust firmware's size knobs, and with `cargo "
              "rustc --crate-type staticlib`: provkit-c's `crate-type` also lists `lib`, and "
              "cargo applies no LTO to a crate that also builds an rlib, so `cargo build` would "
              "give an archive of each dependency's separately optimised object (the full C "
              "probe on RustCrypto was 102 KiB that way, when this was written). The Rust "
              "probe (`examples/firmware/Cargo.lock`) and the library (`Cargo.lock`) link the "
              "same versions of every crate: this script stops when the two lock files "
              "disagree.\n")
    if build_log is not None:
        md.append("**The C build failed:**\n")
        md.append("```\n" + build_log[-3000:] + "\n```\n")
        return md
    names = {cprov: PROVIDERS[k][0] for cprov, k in C_PROVIDERS}
    cap_names = dict([("base", "runtime + NOR-flash key store (identity key, records)"),
                      ("full", "**full device side** (all of the above)")]
                     + [(f.removeprefix("cap-"), "+ " + n) for f, n, _ in CAPS])
    md.append("### Flash: the C probe beside the Rust probe\n")
    md.append("`examples/firmware-c/src/footprint.c` makes the calls of the Rust probe "
              "(`examples/firmware/src/bin/footprint.rs`) through `provkit.h`, per capability "
              "(`-DCAP_CERT`, ...; the NOR-flash store, over a C flash driver, always in), with "
              "inputs from zeros in `.bss` whose addresses and lengths pass through an opaque "
              "barrier (as the Rust probe's `black_box(&INPUT[..len])`: under link-time "
              "optimisation a constant length would let the optimiser fold the library's "
              "checks), and halting fault handlers; linked, never run. Flash is `.text + "
              ".rodata`, as above; each figure is the whole build (not what a capability adds). "
              "The Rust probe is built per capability on RustCrypto only. A figure can move by "
              "tens of bytes with the checkout's path alone: the Rust probe builds provkit as "
              "a path dependency from outside its workspace, whose cargo hash (in every "
              "symbol name) comes from that path and changes the optimiser's outlining "
              "(CI's clone measured the full Cortex-M4 Rust probe 76 B smaller than the "
              "checkout this was written from; the C builds the same).\n")
    md.append("| provider | build | Rust probe | C probe, gcc | C - Rust | C probe, clang LTO "
              "| C - Rust |")
    md.append("|---|---|---:|---:|---:|---:|---:|")
    for cprov, _ in C_PROVIDERS:
        for probe in probes:
            rust = rust_flash[cprov].get(probe)
            if rust is None:
                continue
            cells = []
            for tc, _, _, _ in C_TOOLCHAINS:
                c = c_flash[tc][cprov][probe]
                cells += [kib(c), f"{'+' if c >= rust else ''}{c - rust:,} B"]
            md.append(f"| {names[cprov]} | {cap_names[probe]} | {kib(rust)} | "
                      + " | ".join(cells) + " |")
    md.append("")
    md.append("A `provkit_store` dispatches record operations through a table of the kind "
              "set up (`crates/provkit-c/src/store.rs`, `Ops`), referenced only by the "
              "function that sets that kind up, and key operations by the kind (a `match`), "
              "linked only where a function that uses keys is: a C firmware links no P-256 "
              "signing unless it signs (a DUKPT terminal does not), and no C key-store glue "
              "unless it uses keys or sets one up. The full device side is what the budget "
              "compares.\n")
    md.append("**The budget (C at most 2 KiB above Rust) holds for the clang LTO build, and is "
              "enforced for it; the gcc build is over it, reported, not enforced.** The "
              "difference between the two C builds is the language boundary. With gcc, each "
              "exported function is compiled for every caller: it checks each pointer and "
              "length, refuses overlapping buffers, checks its opaque state, builds the peer "
              "policy from C structs and maps errors to status codes whatever the caller "
              "passes, where the Rust probe's calls, inlined into it, keep only what their "
              "arguments need (a policy without an intermediate has no intermediate to parse). "
              "Without any NULL, length or overlap check at all (an experiment, not a build) "
              "the gcc probe would be only 584 B smaller. With clang LTO, the optimiser sees "
              "the C callers and the library together, inlines the exported functions into "
              "them and prunes what their arguments rule out, as rustc does for the Rust "
              "probe; the checks on the opaque inputs stay. Part of the clang build's margin "
              "is not the boundary: ld.lld's LTO pipeline (LLVM's default at `-O2` over "
              "functions marked for minimum size) lays out some of the shared library and "
              "primitive code smaller than rustc's `opt-level = \"z\"` pipeline does. The "
              "Rust probe linked through that same pipeline (`-C linker-plugin-lto`, rust-lld's "
              "LTO) leaves that difference out (and is a floor: a C probe below it would have lost "
              "library code to the optimiser, and fails this script): "
              + ", ".join(f"{names[cprov]} {kib(rust_flash_linker_lto[cprov])}, the clang LTO "
                          f"C probe +{c_flash['clang'][cprov]['full'] - rust_flash_linker_lto[cprov]:,} B "
                          "above it" for cprov, _ in C_PROVIDERS)
              + ": the boundary's own cost, within the budget too, and enforced.\n")
    boundary = c_parts.get(C_BOUNDARY, 0)
    c_total = sum(c_parts.values())
    rust_total = sum(rust_parts.values())
    by_file = ", ".join(f"`{f}` {v}" for f, v in c_files.most_common())
    md.append("Where the full build's flash goes, RustCrypto, gcc build (attributed as in "
              "\"Where the full build's flash goes\"; bytes; the clang LTO build's line "
              "tables mix the two languages' inlined code too finely to attribute):\n")
    md.append("| part | Rust probe | C probe, gcc |")
    md.append("|---|---:|---:|")
    rows_ = [
        ("the C API's Rust side (`crates/provkit-c/src`: argument checks, opaque states, "
         "status codes, the store dispatch; inlined library calls count as the "
         "library's)", 0, boundary),
        ("provkit", rust_parts.get("provkit", 0), c_parts.get("provkit", 0)),
        ("the probe's own code (Rust: `footprint.rs`, into which LTO inlines its library "
         "calls' glue; C: `footprint.c` and its startup)",
         rust_parts.get(PROBE, 0), c_parts.get(C_PROBE, 0)),
    ]
    named = sum(r[1] for r in rows_), sum(r[2] for r in rows_)
    rows_.append(("everything else (primitives, runtime)", rust_total - named[0],
                  c_total - named[1]))
    rows_.append(("not in a sized symbol: merged strings and other anonymous read-only data, "
                  "weak runtime symbols (memset, ...), alignment",
                  rust_flash["rustcrypto"]["full"] - rust_total,
                  c_flash["gcc"]["rustcrypto"]["full"] - c_total))
    for part, rust, c in rows_:
        md.append(f"| {part} | {rust:,} | {c:,} |")
    md.append(f"| *`.text + .rodata`* | *{rust_flash['rustcrypto']['full']:,}* | "
              f"*{c_flash['gcc']['rustcrypto']['full']:,}* |")
    md.append("")
    md.append(f"The C API's Rust side by file (gcc build): {by_file}. The status names "
              f"(`provkit_status_name`'s table) take {c_names:,} B of the C probe's "
              f"`.rodata`: one static, which the linker drops unless the firmware calls "
              "`provkit_status_name`.\n")
    md.append("How the gcc build's difference came down, measured with `make sizes` at each "
              "step (RustCrypto, full C probe): moving shared steps out of line (policy "
              "parsing, certificate copy, the buffer-too-small mapping), a droppable "
              "status-name table and a store dispatch that links only the store kind set up, "
              "+8.8 KiB to +6.5 KiB; failures as a non-zero `i32` (`boundary.rs`, `Failure`: "
              "`Result<(), Failure>` is one word with 0 for `Ok`, so every `?` is a test "
              "against zero and the status goes back to C as it is), -238 B; the RNG "
              "callback's failure fill written without `memset`, -232 B; the C probe's reset "
              "handler and its RAM-flash erase as loops, as cortex-m-rt and `RamFlash` do in "
              "the Rust probe, -264 B; the handshake phase kept in the caller's state, "
              "-304 B; the slice checks (`bytes`, `bytes_mut`), the state lookups and the "
              "finishing calls' verification left to the optimiser to inline where it pays "
              "(they had been kept out of line), -184 B, and less stack in the deepest step "
              "(-592 B in the clang LTO build, where the callers' arguments are then visible "
              "to it); the peer policy parsed inline in each finishing call, +146 B with gcc "
              "and -242 B with clang LTO, which then links no intermediate or revocation-list "
              "parsing for a policy without them.\n")
    md.append("### Stack and instructions of the C proof\n")
    md.append("`examples/firmware-c/run.sh` (which CI runs through this script): the C proof "
              "on QEMU `mps2-an386`, `-icount shift=0`, once per provider and toolchain; each "
              "step paints the stack and counts instructions as the Rust proof does "
              "(`examples/firmware-c/src/stack.c`, `instructions.c`). Its devices' state "
              "(stores, handshake states, sessions) is in `.bss`, so \"from reset\" adds only "
              "the harness's frames. The Rust proof's figures for the same steps, on the same "
              "provider, beside them:\n")
    md.append("| | " + " | ".join(f"Rust, {names[p]} | "
                                   + " | ".join(f"C {tc_name}, {names[p]}"
                                                for _, tc_name, _, _ in C_TOOLCHAINS)
                                   for p, _ in C_PROVIDERS) + " |")
    md.append("|---|" + "---:|" * ((1 + len(C_TOOLCHAINS)) * len(C_PROVIDERS)))

    def rust_peak(k):
        pre, ini, res = PROVIDERS[k][1], PROVIDERS[k][2], PROVIDERS[k][3]
        used = [u for _, n, u, _, _ in rust_steps
                if n.startswith((pre + "certificate", f"{ini}: ", f"{res}: ", pre + "telemetry"))]
        return max(used) if used else None

    cells = {"stack": [], "chain": [], "ini": [], "res": [], "seal": []}
    for cprov, k in C_PROVIDERS:
        pre, ini, res = PROVIDERS[k][1], PROVIDERS[k][2], PROVIDERS[k][3]
        cells["stack"].append(rust_peak(k))
        cells["chain"].append(first_of(rust_steps, pre + "certificate chain verifies"))
        cells["ini"].append(first_of(rust_steps, f"{ini}: initiator: message 1",
                                     f"{ini}: initiator: verifies responder's chain"))
        cells["res"].append(first_of(rust_steps, f"{res}: responder: message 2",
                                     f"{res}: responder: verifies initiator's chain"))
        cells["seal"].append(first_of(rust_steps, pre + "telemetry: HPKE-sealed"))
        for tc, _, _, _ in C_TOOLCHAINS:
            steps_ = c_runs[tc][cprov]["steps"]
            cells["stack"].append(max((u for _, n, u, _, _ in steps_
                                       if n.startswith(("certificate", "A: ", "B: ",
                                                        "telemetry"))), default=None))
            cells["chain"].append(first_of(steps_, "certificate chain verifies"))
            cells["ini"].append(first_of(steps_, "A: initiator: message 1",
                                         "A: initiator: verifies responder's chain"))
            cells["res"].append(first_of(steps_, "B: responder: message 2",
                                         "B: responder: verifies initiator's chain"))
            cells["seal"].append(first_of(steps_, "telemetry: HPKE-sealed"))
    for key, label in [("stack", "deepest of the steps below, stack below the step entry"),
                       ("chain", "certificate chain verify, instructions"),
                       ("ini", "handshake, initiator side (message 1; verify message 2, "
                        "message 3), instructions"),
                       ("res", "handshake, responder side (message 2; verify message 3), "
                        "instructions"),
                       ("seal", "HPKE telemetry seal, signed, instructions")]:
        shown = [("n/a" if v is None or v >= 10**12 else
                  f"{v} B" if key == "stack" else mi(v)) for v in cells[key]]
        md.append(f"| {label} | " + " | ".join(shown) + " |")
    md.append("")
    md.append("The deepest C steps are the handshake's finishing calls: "
              "`provkit_initiator_finish` and `provkit_responder_finish` "
              "(`crates/provkit-c/src/handshake.rs`) hold the handshake phase they read out "
              "of the caller's state and the policy's parsed CA certificates while the peer's "
              "verification (`finish_initiator`, `finish_responder`) runs and stores the "
              "session straight into the caller's state.\n")
    for tc, tc_name, _, _ in C_TOOLCHAINS:
        for cprov, k in C_PROVIDERS:
            run_ = c_runs[tc][cprov]
            peak_ = "n/a" if run_["peak"] is None else f"{run_['peak']} B"
            md.append(f"C {tc_name}, {names[cprov]}: peak over the C proof's steps **{peak_}** "
                      f"below the step entry, {run_['peak_reset']} B from reset; "
                      f"{'all steps passed' if run_['ok'] else '**the proof FAILED**'}. "
                      + "; ".join(f"DUKPT ({mode}): mount {mi(int(m0))}-{mi(int(m1))}, "
                                  f"transaction {mi(int(t0))}-{mi(int(t1))}"
                                  for mode, m0, m1, t0, t1 in run_["dukpt"])
                      + ".\n")
    md.append("Every step of the C proof:\n")
    columns = [(tc, cprov) for tc, _, _, _ in C_TOOLCHAINS for cprov, _ in C_PROVIDERS]
    tc_names = {tc: tc_name for tc, tc_name, _, _ in C_TOOLCHAINS}
    md.append("| step | " + " | ".join(f"{tc_names[tc]}, {names[p]}: stack | instructions"
                                        for tc, p in columns) + " |")
    md.append("|---|" + "---:|---:|" * len(columns))
    runs = [c_runs[tc][p]["steps"] for tc, p in columns]
    for i, (status, name, _, _, _) in enumerate(runs[0]):
        cols = []
        for r in runs:
            if i < len(r) and r[i][1] == name:
                cols += [f"{r[i][2]} B{'' if r[i][0] == 'ok' else ' **FAILED**'}", f"{r[i][4]:,}"]
            else:
                cols += ["n/a", "n/a"]
        md.append(f"| {name} | " + " | ".join(cols) + " |")
    md.append("")
    md.append("### Telemetry opened on the host\n")
    md.append("The C proof seals a reading to a server's P-256 key (a test key, RFC 6979 A.2.5, "
              "its public half compiled into the firmware) and prints the message; "
              "`examples/firmware-c/open_telemetry.py` plays the server with pyhpke and "
              "pyca/cryptography, not provkit: it opens the message, checks the commitment "
              "and the recipient fingerprint, verifies the device's signature (low-S) with the "
              "key of the device's certificate, and refuses copies with a flipped byte.\n")
    for tc, cprov in columns:
        run_ = c_runs[tc][cprov]
        md.append(f"- {tc_names[tc]}, {names[cprov]}: {run_['host'] or 'no output'}")
    sealed = {c_runs[tc][p]["telemetry"] for tc, p in columns}
    same_ = len(sealed) == 1 and None not in sealed
    md.append(f"- The {len(columns)} runs' messages are "
              f"{'byte-identical' if same_ else '**different**'} (the same placeholder "
              "ephemeral key, RFC 6979 signatures; either provider, either compiler).")
    md.append("")
    return md


def lock_mismatches():
    """Crates whose version in examples/firmware's Cargo.lock (the Rust probe's) is not one
    the workspace's Cargo.lock (the C library's) holds: the two builds must link the same
    library code for their difference to be the C API's cost."""
    def versions(path):
        text = open(path, encoding="utf-8").read()
        found = collections.defaultdict(set)
        for name, version in re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text):
            found[name].add(version)
        return found
    workspace = versions(os.path.join(ROOT, "Cargo.lock"))
    firmware = versions(os.path.join(FW, "Cargo.lock"))
    return sorted(f"{name} {v} (workspace: {', '.join(sorted(workspace[name]))})"
                  for name, vs in firmware.items() if name in workspace
                  for v in vs - workspace[name])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", choices=["all", "stack", "none"], default="all")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    mismatched = lock_mismatches()
    if mismatched:
        sys.exit("examples/firmware/Cargo.lock and Cargo.lock disagree (the Rust and C "
                 "probes would link different library code): " + "; ".join(mismatched))

    base_flash, base_ram = sections(build([]))
    rows = []
    for feat, name, marker in CAPS:
        flash, ram = sections(build([feat]))
        rows.append((name, flash - base_flash, ram, marker))
    # Kept apart: the attribution below reads the RustCrypto build after the assembly
    # provider's builds have replaced the probe's ELF.
    full_elf = build([f for f, _, _ in CAPS], keep="full")
    full_flash, full_ram = sections(full_elf)
    cm4_base_flash, _ = sections(build(["provider-cm4"]))
    cm4_elf = build([f for f, _, _ in CAPS] + ["provider-cm4"], keep="full-cm4")
    cm4_full_flash, _ = sections(cm4_elf)
    per_crate, modules = crates(full_elf)
    cm4_crates, _ = crates(cm4_elf)
    p256 = sum(v for k, v in per_crate.items() if k in P256)
    layers = collections.Counter()
    for module, value in modules.items():
        layers[layer_of(module)] += value
    protocol = layers["protocol"]
    provkit_total = per_crate.get("provkit", 0)
    probe = per_crate.get(PROBE, 0)
    runtime = sum(v for k, v in per_crate.items() if k in RUNTIME)
    primitives = sum(per_crate.values()) - provkit_total - runtime - probe

    ok, steps, summary, calibration, (store, dukpt), log = qemu_proof()
    peak = int(summary.group(2)) if summary else None
    peak_reset = int(summary.group(3)) if summary else None

    instruction_checks = []
    per_provider = []
    store_checks = []
    for k, (pname, pre, ini, res, b_chain, b_ini, b_res, b_seal) in enumerate(PROVIDERS):
        chain = first_of(steps, pre + "certificate chain verifies")
        side_i = first_of(steps, f"{ini}: initiator: message 1",
                          f"{ini}: initiator: verifies responder's chain")
        side_r = first_of(steps, f"{res}: responder: message 2",
                          f"{res}: responder: verifies initiator's chain")
        seal = first_of(steps, pre + "telemetry: HPKE-sealed")
        instruction_checks += [
            (f"{pname}: certificate chain verify (root -> intermediate -> device)", chain,
             b_chain),
            (f"{pname}: handshake, initiator side (message 1; verify message 2, message 3)",
             side_i, b_ini),
            (f"{pname}: handshake, responder side (message 2; verify message 3)", side_r,
             b_res),
            (f"{pname}: HPKE telemetry seal, signed", seal, b_seal),
        ]
        raw_sign, store_sign, raw_ecdh, store_ecdh = (
            store[k] if k < len(store) else (1, 10**9, 1, 10**9))
        store_checks += [
            (f"{pname}: ECDSA sign through the flash store / the raw operation",
             store_sign / raw_sign, BUDGET_STORE_RATIO),
            (f"{pname}: ECDH through the flash store / the raw operation",
             store_ecdh / raw_ecdh, BUDGET_STORE_RATIO),
        ]
        per_provider.append((pname, chain, side_i, side_r, seal, raw_sign, store_sign,
                             raw_ecdh, store_ecdh))
    checks = [
        ("full device side, flash", full_flash, BUDGET_FULL, args.check == "all"),
        ("protocol code above the primitives (cert, handshake, dukpt, envelope)", protocol,
         BUDGET_PROTOCOL, args.check == "all"),
        ("peak stack (deepest library call)", peak or 10**9, BUDGET_STACK, args.check != "none"),
        ("full device side, flash, on the Cortex-M4 assembly provider", cm4_full_flash,
         BUDGET_FULL_CM4, args.check == "all"),
    ]

    # The C firmware (examples/firmware-c): the C probe per capability set and provider,
    # the C proof per provider, and where the C build's flash goes.
    c_probes = ["base"] + [f.removeprefix("cap-") for f, _, _ in CAPS] + ["full"]
    rust_flash = {  # the Rust probe's flash, as absolute figures (None: not built per capability)
        "rustcrypto": dict({"base": base_flash, "full": full_flash},
                           **{f.removeprefix("cap-"): base_flash + flash
                              for (f, _, _), (_, flash, _, _) in zip(CAPS, rows)}),
        "cm4": {"base": cm4_base_flash, "full": cm4_full_flash},
    }
    # The Rust probe through the clang build's LTO pipeline (ld.lld's), for the comparison
    # that leaves the pipelines' difference out.
    all_caps = [f for f, _, _ in CAPS]
    rust_flash_linker_lto = {
        "rustcrypto": sections(build(all_caps, linker_lto=True))[0],
        "cm4": sections(build(all_caps + ["provider-cm4"], linker_lto=True))[0],
    }
    c_build_log = build_c()
    # c_flash[toolchain][provider][probe], c_runs[toolchain][provider]
    c_flash, c_runs = {}, {}
    c_parts, c_files, c_names, rust_names = collections.Counter(), collections.Counter(), 0, 0
    if c_build_log is None:
        for tc, _, _, _ in C_TOOLCHAINS:
            c_flash[tc] = {cprov: {probe: sections(c_probe(tc, cprov, probe))[0]
                                   for probe in c_probes} for cprov, _ in C_PROVIDERS}
            c_runs[tc] = {cprov: c_proof(tc, cprov) for cprov, _ in C_PROVIDERS}
        c_parts, _ = crates(c_probe("gcc", "rustcrypto", "full"), (C_BOUNDARY, c_files))
        c_names = status_names(c_probe("gcc", "rustcrypto", "full"))
        rust_names = status_names(full_elf)

    c_checks = []
    for tc, tc_name, _, enforced in C_TOOLCHAINS:
        for cprov, k in C_PROVIDERS:
            over = (c_flash[tc][cprov]["full"] - rust_flash[cprov]["full"]) if c_flash else 10**9
            c_checks.append((f"C firmware (`provkit.h`, {tc_name}), full device side: flash "
                             f"above the Rust probe's, {PROVIDERS[k][0]}", over,
                             BUDGET_C_OVER_RUST, enforced and args.check == "all"))
            if tc == "clang":
                over = (c_flash[tc][cprov]["full"] - rust_flash_linker_lto[cprov]
                        if c_flash else 10**9)
                c_checks.append((f"C firmware (`provkit.h`, {tc_name}), full device side: "
                                 f"flash above the Rust probe's linked through the same "
                                 f"LTO pipeline (ld.lld's), {PROVIDERS[k][0]}", over,
                                 BUDGET_C_OVER_RUST, enforced and args.check == "all"))
    for tc, tc_name, _, _ in C_TOOLCHAINS:
        for cprov, k in C_PROVIDERS:
            run_ = c_runs.get(tc, {}).get(cprov)
            c_peak = run_["peak"] if run_ and run_["peak"] is not None else 10**9
            c_checks.append((f"C firmware ({tc_name}), peak stack (deepest library call), "
                             f"{PROVIDERS[k][0]}", c_peak, BUDGET_C_STACK, args.check != "none"))

    md = []
    md.append("# Footprint of the device side\n")
    md.append("Generated by `scripts/footprint.py` (do not edit by hand); CI runs it. Target "
              "`thumbv7em-none-eabihf` (Cortex-M4F), release profile of `examples/firmware`: "
              "opt-level \"z\", LTO, codegen-units 1, panic abort, with RustCrypto's size knobs "
              "`cpubits=\"32\"`, `sha2_backend_soft=\"compact\"`, `aes_backend_soft=\"compact\"` "
              "(`examples/firmware/.cargo/config.toml`) and provkit's `small-stack` feature.\n")
    md.append("Flash is `.text + .rodata` of the `footprint` probe (`examples/firmware/src/bin/"
              "footprint.rs`), which links only the selected capabilities, with no output and a "
              "halting panic handler. The NOR-flash key store is in every build (it is the "
              "device's key store), so each capability's figure is what it adds to that.\n")
    md.append("## Budgets\n")
    md.append("| what | measured | budget | status |")
    md.append("|---|---:|---:|---|")
    for name, value, budget, enforced in checks:
        status = "within" if value <= budget else "**over**"
        if not enforced:
            status += " (reported, not enforced in CI)"
        md.append(f"| {name} | {kib(value)} | {kib(budget)} | {status} |")
    for name, value, budget in store_checks:
        status = "within" if value <= budget else "**over**"
        if args.check != "all":
            status += " (reported, not enforced in CI)"
        md.append(f"| {name} | {value:.3f}x | {budget:.2f}x | {status} |")
    for name, value, budget in instruction_checks:
        status = "within" if value <= budget else "**over**"
        if args.check != "all":
            status += " (reported, not enforced in CI)"
        md.append(f"| {name}, instructions | {mi(value)} | {mi(budget)} | {status} |")
    for name, value, budget, enforced in c_checks:
        status = "within" if value <= budget else "**over**"
        if not enforced:
            status += " (reported, not enforced in CI)"
        shown = "build failed" if value >= 10**9 else (
            f"{'+' if 'flash' in name and value >= 0 else ''}{kib(value)}")
        md.append(f"| {name} | {shown} | {kib(budget)} | {status} |")
    md.append("")
    md.append(f"All of provkit's own code in the full build, protocols plus key store plus "
              f"primitive-level code: {kib(provkit_total)} "
              f"({', '.join(f'{key} {kib(layers[key])}' for key, _, _ in LAYERS if layers[key])}); "
              "see \"Where the full build's flash goes\" for what each part holds.\n")
    def stack_of(markers):
        used = [u for st, n, u, _, _ in steps if any(m in n for m in markers)]
        return f"{max(used)} B" if used else "n/a"

    md.append("## Flash and RAM per capability\n")
    md.append("| build | flash (.text+.rodata) | static RAM (.data+.bss) | peak stack |")
    md.append("|---|---:|---:|---:|")
    md.append(f"| runtime + NOR-flash key store (identity key, records) | {kib(base_flash)} | "
              f"{base_ram} B | {stack_of(STORE_STEPS)} |")
    for name, flash, ram, marker in rows:
        md.append(f"| + {name} | +{kib(flash)} | {ram} B | {stack_of([marker])} |")
    md.append(f"| **full device side** (all of the above) | **{kib(full_flash)}** | {full_ram} B "
              f"| {peak} B |")
    md.append("")
    md.append("Static RAM includes the probe's 8 KiB RAM-backed stand-in for the NOR flash "
              "(`RamFlash`), which a real part replaces with its memory-mapped flash; the "
              "library itself keeps no statics, so a capability's RAM is its stack (the "
              "deepest of its steps in the QEMU run below) plus the state the application "
              "holds between calls (a handshake state is 76-80 B, a session 208 B).\n")
    md.append("The NOR-flash store scrubs what it supersedes (no replaced or deleted key, "
              "record or DUKPT register stays on the flash, `docs/flash-format.md`): when "
              "that came in, the store module grew from 2,616 B to 4,066 B (+1.4 KiB, the "
              "scrub, both mount modes and program units of 1 to 32 bytes; `store` row "
              "below, measured with this script before and after), the DUKPT device from "
              "+5.7 to +6.2 KiB (registers emptied on open and every transaction), and the "
              "deepest store step's stack stayed at 3140 B; the pinned-peer step's rose from "
              "780 B to 1076 B, below every budget.\n")
    md.append("## Where the full build's flash goes\n")
    md.append("| part | bytes | share |")
    md.append("|---|---:|---:|")
    total = sum(per_crate.values())
    rows_ = [
        ("P-256 arithmetic (p256, primeorder, crypto-bigint, elliptic-curve, ecdsa, rfc6979)", p256),
        ("other primitives (AES, GCM, SHA-256, HMAC, HKDF, ...)", primitives - p256),
    ]
    rows_ += [(text, layers[key]) for key, text, _ in LAYERS if layers[key]]
    for name, value in rows_ + [
        ("the probe's own glue (inputs, result checks)", probe),
        ("runtime (core, compiler-builtins: memcpy, memset, ...; cortex-m-rt)", runtime),
    ]:
        md.append(f"| {name} | {value} | {100 * value / total:.0f} % |")
    md.append(f"| *all of provkit's own code (the provkit lines above)* | *{provkit_total}* | "
              f"*{100 * provkit_total / total:.0f} %* |")
    md.append("")
    md.append("Code is attributed instruction by instruction to the source it was compiled "
              "from, through the DWARF inline tables (binutils' `addr2line -i`): to the "
              "innermost inlined frame that is not a generic helper (core's slice and integer "
              "helpers, hybrid-array, subtle, zeroize count for their caller). So primitive "
              "code inlined into a provkit function counts as the primitive's, and provkit "
              "code inlined into the probe as provkit's; read-only data goes by symbol. "
              "The protocol budget is compared with the protocol line: the code of the four protocols "
              "(certificates, handshake, DUKPT, envelopes; plus the crate's error type). The key "
              "store is the device's storage engine, which the issue lists beside the protocols, "
              "and the primitive-level code replaces or wraps RustCrypto code (a table-free "
              "verify for the stack budget, one AES for all key sizes, HKDF on the one HMAC, "
              "the provider's glue); both are reported on their own lines and count in the "
              "full figure. "
              "These are the RustCrypto build's figures. Before issue #21's flash work this "
              "section read the assembly provider's build by mistake (the probe was rebuilt "
              "on it before the attribution ran) and counted `src/provider/` as protocol "
              "code: the protocol line then said 11.3 KiB; the RustCrypto build, counted as "
              "now, had 10.7 KiB of protocol code before that work and 10.6 KiB after. "
              "The Cortex-M4 assembly provider "
              "(`provkit-cm4`) replaces the whole P-256 share and the `aes-gcm` layers "
              "(\"Flash on the assembly provider\"); a secure element behind the key-store "
              "traits replaces signing and ECDH only.\n")
    md.append("provkit's share by module:\n")
    md.append("| module | layer | bytes |")
    md.append("|---|---|---:|")
    for module, value in modules.most_common():
        md.append(f"| `{module}` | {layer_of(module)} | {value} |")
    md.append("")
    md.append("Largest crates in the full build:\n")
    md.append("| crate | bytes |")
    md.append("|---|---:|")
    for crate, value in per_crate.most_common(14):
        md.append(f"| {crate} | {value} |")
    md.append("")
    md.append("## Instructions per step, counted in the QEMU run\n")
    md.append("QEMU runs with `-icount shift=0`: every instruction advances virtual time by "
              "1 ns, and SysTick (25 MHz core clock) ticks once per 40 instructions, so each "
              "step's SysTick count times 40 is its instruction count, exact to 40 "
              "(`examples/firmware/src/instructions.rs`). A calibration loop of a known "
              "instruction count runs first and fails the proof unless the ratio is 40 "
              f"within 0.1 % (this run: {calibration.group(1) if calibration else 'n/a'}). "
              "The time is an estimate at 64 MHz and 1.2 cycles per instruction (Cortex-M4 "
              "loads, branches and multiplies take more than one cycle; flash wait states "
              "are not modelled), not a measurement on silicon. Provider: RustCrypto "
              "(`p256`), opt-level \"z\", `small-stack`.\n")
    md.append("Per provider, from the same run (the handshake sides are the vector "
              "handshake's: certificates by value, the peer's certificate verified under the "
              "root; the chain step verifies root -> intermediate -> device, parsing both "
              "compact CA certificates):\n")
    md.append("| provider | chain verify | initiator side | responder side | telemetry seal "
              "| sign raw / via flash store | ECDH raw / via flash store |")
    md.append("|---|---:|---:|---:|---:|---:|---:|")
    for (pname, chain, side_i, side_r, seal, rs, ss, re_, se) in per_provider:
        md.append(f"| {pname} | {mi(chain)} ({ms(chain)}) | {mi(side_i)} ({ms(side_i)}) | "
                  f"{mi(side_r)} ({ms(side_r)}) | {mi(seal)} ({ms(seal)}) | "
                  f"{mi(rs)} / {mi(ss)} | {mi(re_)} / {mi(se)} |")
    md.append("")
    md.append("DUKPT (the AES-128 terminal, its registers in the NOR-flash store, remounted "
              "before each of 8 transactions as after a reset), RustCrypto AES:\n")
    md.append("| flash part | mount (8 KiB) | transaction (open, next key, PIN block, CMAC) |")
    md.append("|---|---:|---:|")
    for mode, m0, m1, t0, t1 in dukpt:
        kind = ("programs each word once: a superseded register's page is evacuated and "
                "erased" if mode == "single-write" else
                "programs a word twice: a superseded register is zeroed in place")
        md.append(f"| {mode} ({kind}) | {mi(int(m0))}-{mi(int(m1))} | "
                  f"{mi(int(t0))}-{mi(int(t1))} ({ms(int(t0))}-{ms(int(t1))}) |")
    md.append("")
    md.append("A transaction costs more than the 0.5-0.8 M in issue #21's table. The store now "
              "destroys every register a transaction replaces (issue #14: no secret outlives "
              "its replacement on the flash). On a single-write part, that means moving the "
              "page's live entries and erasing it, once per replaced register; keeping the "
              "registers in fewer entries would cut it. Not budgeted yet.\n")
    md.append("Every step:\n")
    md.append("| step | instructions | est. at 64 MHz |")
    md.append("|---|---:|---:|")
    for status, name, _, _, count in steps:
        md.append(f"| {name}{'' if status == 'ok' else ' **FAILED**'} | {count:,} | "
                  f"{ms(count)} |")
    md.append("")
    md.append("### Flash on the assembly provider\n")
    asm = sum(v for k, v in cm4_crates.items() if k in ASM)
    cm4_p256 = sum(v for k, v in cm4_crates.items() if k in P256)
    cm4_gcm = sum(v for k, v in cm4_crates.items() if k in AES_GCM)
    md.append(f"The same probe with every capability on `provkit-cm4` (feature `provider-cm4`): "
              f"runtime and store {kib(cm4_base_flash)}, full device side "
              f"**{kib(cm4_full_flash)}** against {kib(full_flash)} on RustCrypto; issue "
              f"#21's budget, {kib(BUDGET_FULL_CM4)}, is enforced (the budget table above). "
              f"The assembly, its tables and its Rust binding take {asm} bytes, and "
              f"`provkit-cm4`'s own code (the provider and its RFC 6979 nonces) "
              f"{cm4_crates.get('provkit_cm4', 0)} bytes. What a firmware on it does not "
              "link:\n")
    md.append(f"- `p256`'s arithmetic ({cm4_p256} bytes of the P-256 crates are linked): the "
              "assembly checks every point (`Cm4::p256_check_point`: `P256_check_range_p`, "
              "`P256_point_is_on_curve`; `EcPublicKey::from_uncompressed_on`), and an "
              "`EcPublicKey` holds its coordinates as bytes, so encoding or comparing keys "
              "takes no field arithmetic;")
    md.append("- a second HMAC: the RFC 6979 nonces (the `rfc6979` crate's candidates, "
              "computed on provkit's HMAC-SHA256) and HKDF-Expand run on the one "
              "HMAC-SHA256;")
    md.append(f"- the `aes-gcm` crate's layers ({cm4_gcm} bytes of `aes-gcm`, `ctr`, "
              "`cipher` and `inout` are linked): AES-GCM is `provider::block_gcm` on "
              "RustCrypto's AES block operation, the AES that DUKPT and CMAC use.\n")
    md.append("Issue #21 measured 45.5 KiB; those three changes brought it to 40.8, 40.4 "
              "and 39.4 KiB (this script, at each step). RustCrypto keeps `p256` and "
              "`aes-gcm` (servers need its pipelined counter mode) and shares the HKDF "
              "change (46.6 to 46.5 KiB).\n")
    md.append("Largest crates on the assembly provider:\n")
    md.append("| crate | bytes |")
    md.append("|---|---:|")
    for crate, value in cm4_crates.most_common(14):
        md.append(f"| {crate} | {value} |")
    md.append("")
    md.append("## Stack, painted in the QEMU run\n")
    md.append("`cd examples/firmware && cargo run --release` on QEMU `mps2-an386`: each step "
              "paints the free stack, runs, and reports the deepest point reached below its "
              "entry (what the library call needs) and from reset (plus this harness, which "
              "holds two devices' handshake state and sessions in one binary).\n")
    md.append("| step | stack | from reset |")
    md.append("|---|---:|---:|")
    for status, name, used, total_, _ in steps:
        md.append(f"| {name}{'' if status == 'ok' else ' **FAILED**'} | {used} B | {total_} B |")
    md.append("")
    if summary:
        md.append(f"Peak over device steps: **{peak} B** below the step entry, {peak_reset} B "
                  "from reset (the server step is not device code and is not counted).\n")

    md += c_section(c_build_log, c_probes, rust_flash, rust_flash_linker_lto, c_flash, c_runs,
                    c_parts, c_files, c_names, rust_names, per_crate, steps)

    text = "\n".join(md)
    if not args.no_write:
        with open(os.path.join(ROOT, "docs", "footprint.md"), "w") as f:
            f.write(text)
    print(text)
    failed = not ok
    if not ok:
        print(log[-4000:], file=sys.stderr)
        print("QEMU firmware proof FAILED", file=sys.stderr)
    for name, value, budget, enforced in checks:
        if enforced and value > budget:
            print(f"BUDGET EXCEEDED: {name}: {value} B > {budget} B", file=sys.stderr)
            failed = True
    for name, value, budget in store_checks:
        if args.check == "all" and value > budget:
            print(f"BUDGET EXCEEDED: {name}: {value:.3f}x > {budget}x", file=sys.stderr)
            failed = True
    for name, value, budget in instruction_checks:
        if args.check == "all" and value > budget:
            print(f"BUDGET EXCEEDED: {name}: {value:,} instructions > {budget:,}",
                  file=sys.stderr)
            failed = True
    if c_build_log is not None:
        print(c_build_log[-4000:], file=sys.stderr)
        print("C firmware build FAILED", file=sys.stderr)
        failed = True
    for tc, runs in c_runs.items():
        for cprov, run_ in runs.items():
            if not run_["ok"]:
                print(run_["log"][-4000:], file=sys.stderr)
                print(f"C firmware proof FAILED ({tc}, {cprov})", file=sys.stderr)
                failed = True
            if not run_["host_ok"]:
                print(run_["host"], file=sys.stderr)
                print(f"host could not open the C firmware's telemetry ({tc}, {cprov})",
                      file=sys.stderr)
                failed = True
    # The clang LTO C probe links the library code the Rust probe does through the same
    # pipeline, plus the boundary: smaller means the optimiser dropped library code, as it
    # does when it can see a probe's inputs (a constant length that makes a step fail).
    for cprov, _ in C_PROVIDERS:
        if c_flash and c_flash["clang"][cprov]["full"] < rust_flash_linker_lto[cprov]:
            print(f"the clang LTO C probe ({cprov}) is smaller than the Rust probe linked "
                  "through the same LTO pipeline: the optimiser dropped library code "
                  "(are the probe's inputs opaque?)", file=sys.stderr)
            failed = True
    sealed = {run_["telemetry"] for runs in c_runs.values() for run_ in runs.values()}
    if c_runs and len(sealed) != 1:
        print("the C firmware's runs sealed different telemetry", file=sys.stderr)
        failed = True
    for name, value, budget, enforced in c_checks:
        if enforced and value > budget:
            print(f"BUDGET EXCEEDED: {name}: {value} B > {budget} B", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
