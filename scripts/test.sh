#!/usr/bin/env bash
# Runs every test project (kernel tests need root: CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON) and prints the summary line
# "N passed, N failed, N skipped" summed over the TRX reports. Exit code: non-zero when a test failed or none ran.
set -uo pipefail
cd "$(dirname "$0")/.."
results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
status=0
for project in tests/*.Tests/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  dotnet test --project "$project" --report-trx --report-trx-filename "$name.trx" \
    --results-directory "$results" "$@" || status=1
done
# The <ResultSummary outcome=...> and <UnitTestResult outcome=...> share the attribute name: count results only.
passed=0; failed=0; skipped=0
# SHARPBPF_EXTRA_RESULTS names another directory of TRX reports to count too (.ci/run: the kernel matrix, eng/vmtest).
for trx in "$results"/*.trx ${SHARPBPF_EXTRA_RESULTS:+"$SHARPBPF_EXTRA_RESULTS"/*.trx}; do
  [ -f "$trx" ] || continue
  p=$(grep -o '<UnitTestResult [^>]*outcome="Passed"' "$trx" | wc -l)
  f=$(grep -o '<UnitTestResult [^>]*outcome="Failed"' "$trx" | wc -l)
  s=$(grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" | wc -l)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
if [ $((passed + failed)) -eq 0 ]; then status=1; fi
if [ "$failed" -gt 0 ]; then status=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
