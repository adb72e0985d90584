#!/usr/bin/env bash
# Rebuilds every testdata/*.bpf.c into the checked-in *.bpf.o with clang-14. The build is byte-reproducible:
# it runs from this directory with relative source paths and maps the directory to "." in debug info, so the
# objects depend only on the sources, clang-14 and the system headers. CI (ElfObjectReproducibilityTests) rebuilds
# into a temporary directory and compares bytes.
# Programs that need kernel types include testdata/vmlinux.h: our own `sharpbpf btf dump --kernel --format c`
# of the kernel whose BTF sha256 is in vmlinux.h.btf-sha256 (checked in, so objects do not depend on the build host).
# link/ holds inputs of the static linker tests (ObjectLinkerTests): only the linked pair loads, so they stay out of
# the every-object tests that glob testdata/*.bpf.o.
# Usage: testdata/build.sh [OUTDIR]   (default: testdata itself)
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-.}"
mkdir -p "$out" "$out/link"
CLANG="${CLANG:-clang-14}"
for src in *.bpf.c link/*.bpf.c; do
  obj="$out/${src%.c}.o"
  "$CLANG" -target bpf -O2 -g -Wall -Werror \
    -fdebug-prefix-map="$PWD"=. -fno-ident \
    -I/usr/include/x86_64-linux-gnu -D__TARGET_ARCH_x86 \
    -c "$src" -o "$obj"
done
