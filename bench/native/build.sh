#!/usr/bin/env bash
# Builds the native peers (need libbpf-dev: apt-get install libbpf-dev).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
for peer in mapbench btfbench eventbench elfbench; do
  cc -O2 -g -shared -fPIC -Wall -Werror -o "build/lib$peer.so" "$peer.c" -lbpf
  echo "built $(pwd)/build/lib$peer.so"
done
# the VM peer is plain C (no libbpf): the same compute kernels as testdata/vm_compute.bpf.c
gcc -O2 -g -shared -fPIC -Wall -Werror -o build/libvmbench.so vmbench.c
echo "built $(pwd)/build/libvmbench.so"
