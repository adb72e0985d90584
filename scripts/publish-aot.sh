#!/usr/bin/env bash
# Publishes `sharpbpf` as a Native AOT single binary (no .NET runtime needed on the target) into OUTDIR
# (default artifacts/aot) and checks it: the binary must trace an exec it did not start itself.
# Usage: scripts/publish-aot.sh [OUTDIR]     (as root, for the check)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/aot}"
dotnet publish src/SharpBpf.Cli -r linux-x64 -c Release -p:PublishAot=true -warnaserror -o "$out" >/dev/null
bin="$out/SharpBpf.Cli"
ls -l "$bin"
marker="aot-check-$$"
log=$(mktemp)
"$bin" execsnoop --duration 3 >"$log" 2>&1 &
pid=$!
for _ in $(seq 40); do grep -q "Hit Ctrl+C" "$log" && break; sleep 0.1; done
/bin/true "$marker"
wait "$pid"
if grep -q "/bin/true $marker" "$log"; then
  echo "native AOT sharpbpf traced the exec: OK"
  rm -f "$log"
else
  echo "native AOT sharpbpf did not print the exec; its output:"
  cat "$log"
  rm -f "$log"
  exit 1
fi
