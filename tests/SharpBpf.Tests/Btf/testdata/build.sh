#!/usr/bin/env bash
# Rebuilds the checked-in test objects from their sources (byte-reproducible: relative paths, fixed prefix map).
set -euo pipefail
cd "$(dirname "$0")"
for src in *.bpf.c; do
	clang-14 -target bpf -O2 -g -I/usr/include/x86_64-linux-gnu -fdebug-prefix-map="$(pwd)"=. -c "$src" -o "${src%.c}.o"
done
# libbpf-globals.txt: how libbpf (bpftool) loads globals.bpf.o's BTF, for the DATASEC fix-up cross-check
if [ "${1:-}" = "--libbpf" ]; then
	pin=/sys/fs/bpf/sharpbpf-globals-$$
	bpftool prog load globals.bpf.o "$pin"
	id=$(bpftool prog show pinned "$pin" -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["btf_id"])')
	bpftool btf dump id "$id" > libbpf-globals.txt
	rm -f "$pin"
fi
