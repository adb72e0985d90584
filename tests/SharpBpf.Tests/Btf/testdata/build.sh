#!/usr/bin/env bash
# Rebuilds the checked-in test objects from their sources (byte-reproducible: relative paths, fixed prefix map).
set -euo pipefail
cd "$(dirname "$0")"
for src in *.bpf.c; do
	clang-14 -target bpf -O2 -g -I/usr/include/x86_64-linux-gnu -fdebug-prefix-map="$(pwd)"=. -c "$src" -o "${src%.c}.o"
done
