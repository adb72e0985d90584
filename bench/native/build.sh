#!/usr/bin/env bash
# Builds the native peer (needs libbpf-dev: apt-get install libbpf-dev).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
cc -O2 -g -shared -fPIC -Wall -Werror -o build/libmapbench.so mapbench.c -lbpf
echo "built $(pwd)/build/libmapbench.so"
cc -O2 -g -shared -fPIC -Wall -Werror -o build/libeventbench.so eventbench.c -lbpf
echo "built $(pwd)/build/libeventbench.so"
