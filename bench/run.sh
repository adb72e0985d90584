#!/usr/bin/env bash
# Builds the native libbpf peer and runs the benchmarks side by side in one process (needs root, libbpf-dev).
# Example: bench/run.sh --filter '*MapBenchmarks*'
set -euo pipefail
cd "$(dirname "$0")/.."
bench/native/build.sh
dotnet run -c Release --project bench/SharpBpf.Benchmarks -- "${@:---filter=*}"
