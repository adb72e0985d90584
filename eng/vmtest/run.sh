#!/usr/bin/env bash
# Kernel matrix: runs SharpBpf's kernel tests inside QEMU (TCG) on Debian's cloud kernels from apt.
#
#   eng/vmtest/run.sh [--kernel 6.1|6.12]... [--subset ci|full] [--timeout SECONDS] [-- EXTRA XUNIT ARGS]
#
# Default: both kernels, the "ci" subset (tracing, links, loader, CO-RE, programs, features). "--subset full" runs
# every test class that works without gcc/clang/bpftool in the guest. Per kernel it
#   1. downloads the newest linux-image-<series>*-cloud-amd64-unsigned with apt-get download (cached),
#   2. builds an initramfs: busybox, the self-contained published SharpBpf.Tests with its shared-library closure,
#      testdata fixtures, the kernel's config (/boot/config-RELEASE) and modules (veth, sch_ingress, cls_bpf ...),
#   3. boots it with qemu-system-x86_64 -accel tcg (KVM hangs on this machine), the guest's /init runs the tests
#      and sends the TRX report back over the second serial port,
#   4. writes $VMTEST_RESULTS/vm-<series>.trx (a single failed result when the guest produced none) and prints
#      "kernel RELEASE: N passed, N failed, N skipped (boot Xs, tests Ys)".
# Exit code: non-zero when any kernel had a failure or produced no results.
# Needs: apt (Debian bookworm sources), qemu-system-x86, busybox-static, cpio-capable busybox, xz, dotnet.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${VMTEST_WORK:-$root/artifacts/vmtest}
results=${VMTEST_RESULTS:-$work/results}
kernels=()
subset=ci
timeout_s=${VMTEST_TIMEOUT:-1200}
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernels+=("$2"); shift 2 ;;
    --subset) subset=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--kernel 6.1|6.12]... [--subset ci|full] [--timeout SECONDS] [-- XUNIT ARGS]" >&2; exit 2 ;;
  esac
done
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12)

# Test classes per subset: the kernel tests (classes in the kernel collection, found by kernel-classes.awk) plus the
# module BTF tests. "ci": tracing, links, loader, CO-RE, programs, features, externs; "full": every kernel test.
# Classes that shell out to tools the guest lacks (gcc-built uprobe/USDT targets, bpftool) stay out of both.
# The guest carries iproute2's ip (network namespace tests) but no gcc, clang or bpftool.
# KernelConformanceTests read the conformance suite beside the repository (../shared), which the image lacks.
# ObjectLinkerTests compare with bpftool gen object; BpfBuildTests and ExampleTests run dotnet build and clang.
exclude=' SharpBpf.Tests.Links.UprobeLinkTests SharpBpf.Tests.Links.UsdtLinkTests SharpBpf.Tests.Links.PinningTests
  SharpBpf.Tests.Elf.BpftoolCrossCheckTests SharpBpf.Tests.Asm.KernelConformanceTests SharpBpf.Tests.Elf.ObjectLinkerTests
  SharpBpf.Tests.Build.BpfBuildTests SharpBpf.Tests.Examples.ExampleTests '
# Left to the full run to keep the CI stage short: networking attach points (veth pairs in namespaces).
ci_exclude=' SharpBpf.Tests.Links.TcFilterTests SharpBpf.Tests.Links.TcxLinkTests SharpBpf.Tests.Links.XdpLinkTests
  SharpBpf.Tests.Links.NetNsLinkTests SharpBpf.Tests.Links.CgroupLinkTests SharpBpf.Tests.Links.XdpRedirectTests
  SharpBpf.Tests.Links.SockMapLinkTests SharpBpf.Tests.Links.StructOpsTests SharpBpf.Tests.Links.NetfilterLinkTests '
classes=$( { find "$root/tests/SharpBpf.Tests" -name '*.cs' -print0 | xargs -0 awk -f "$root/eng/vmtest/kernel-classes.awk";
  echo SharpBpf.Tests.Btf.SplitBtfTests; echo SharpBpf.Tests.Btf.ModuleBtfTests; } | sort -u)
filter=()
for c in $classes; do
  case " $(echo $exclude) " in *" $c "*) continue ;; esac
  if [ "$subset" = ci ]; then
    case " $(echo $ci_exclude) " in *" $c "*) continue ;; esac
    case "$c" in
      SharpBpf.Tests.Links.*|SharpBpf.Tests.Elf.*|SharpBpf.Tests.Core.*|SharpBpf.Tests.Programs.*|SharpBpf.Tests.FeatureProbes.*|SharpBpf.Tests.Externs.*|SharpBpf.Tests.Btf.*) ;;
      *) continue ;;
    esac
  elif [ "$subset" != full ]; then
    echo "unknown subset '$subset' (ci|full)" >&2; exit 2
  fi
  filter+=(-class "$c")
done

mkdir -p "$work/kernels" "$results"
log() { echo "vmtest: $*" >&2; }

# --- kernels -------------------------------------------------------------------------------------------------
# Modules the tests use; their dependencies (modinfo depends) are added and loaded first.
modules=(veth dummy sch_ingress cls_bpf act_bpf)

package_for() {
  local pattern
  case "$1" in
    6.1) pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
    6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb[0-9]+-cloud-amd64-unsigned$' ;;
    *) echo "unknown kernel series '$1' (6.1|6.12)" >&2; return 1 ;;
  esac
  apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -1
}

# fetch_kernel SERIES -> prints the directory holding vmlinuz, config, release and modules/
fetch_kernel() {
  local pkg dir tmp
  pkg=$(package_for "$1")
  if [ -z "$pkg" ]; then
    log "no package for kernel $1 (run apt-get update?)"
    return 1
  fi
  dir="$work/kernels/$pkg"
  if [ ! -f "$dir/vmlinuz" ]; then
    log "downloading $pkg"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) || { log "apt-get download $pkg failed"; rm -rf "$tmp"; return 1; }
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    mkdir -p "$dir/modules"
    local config release
    config=$(ls "$tmp"/x/boot/config-*)
    release=${config##*/config-}
    cp "$config" "$dir/config"
    cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz"
    echo "$release" > "$dir/release"
    local moddir
    moddir=$(ls -d "$tmp"/x/lib/modules/"$release" "$tmp"/x/usr/lib/modules/"$release" 2>/dev/null | head -1)
    # Resolve the module closure, dependencies first; decompress .ko.xz (busybox insmod loads plain .ko).
    local order=() seen=" "
    add_module() {
      local name=$1 file deps d
      case "$seen" in *" $name "*) return 0 ;; esac
      seen="$seen$name "
      file=$(find "$moddir/kernel" -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" | head -1)
      if [ -z "$file" ]; then
        grep -q "/$name.ko" "$moddir/modules.builtin" 2>/dev/null || log "module $name not found in $pkg (skipped)"
        return 0
      fi
      deps=$(modinfo -F depends "$file" | tr ',' ' ')
      for d in $deps; do add_module "$d"; done
      case "$file" in
        *.xz) xz -dc "$file" > "$dir/modules/$name.ko" ;;
        *.zst) zstd -qdc "$file" > "$dir/modules/$name.ko" ;;
        *) cp "$file" "$dir/modules/$name.ko" ;;
      esac
      order+=("$name.ko")
    }
    for m in "${modules[@]}"; do add_module "$m"; done
    printf '%s\n' "${order[@]}" > "$dir/modules/order"
    rm -rf "$tmp"
  fi
  echo "$dir"
}

# --- the test app and the base image ---------------------------------------------------------------------------
publish="$work/publish"
base="$work/base.cpio"
build_base() {
  log "publishing tests/SharpBpf.Tests (self-contained, linux-x64)"
  rm -rf "$publish"
  dotnet publish "$root/tests/SharpBpf.Tests" -c Release -r linux-x64 --self-contained -o "$publish" -nologo -v q \
    -p:TreatWarningsAsErrors=true >&2
  local img="$work/base-root"
  rm -rf "$img"
  mkdir -p "$img"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,boot,etc,repo/tests/SharpBpf.Tests/Btf,modules}
  cp "$(command -v busybox)" "$img/bin/busybox"
  file "$img/bin/busybox" | grep -q 'statically linked' || { log "busybox is not static (apt install busybox-static)"; return 1; }
  cp -a "$publish" "$img/repo/app"
  touch "$img/repo/SharpBpf.slnx"
  cp -a "$root/testdata" "$img/repo/testdata"
  cp -a "$root/tests/SharpBpf.Tests/Btf/testdata" "$img/repo/tests/SharpBpf.Tests/Btf/testdata"
  # Shared-library closure of the host executable and every native library it ships (glibc, libstdc++, libgcc_s,
  # the loader). ldd lists it transitively.
  local libs
  # OpenSSL is dlopen'ed by System.Security.Cryptography.Native (the runner hashes test ids): add it explicitly.
  local dlopened
  dlopened=$(ldconfig -p | awk '/libssl\.so\.3 |libcrypto\.so\.3 /{print $NF}' | sort -u)
  libs=$( { ldd "$publish/SharpBpf.Tests"; for so in "$publish"/*.so $dlopened; do ldd "$so"; done; echo "$dlopened" | sed 's/^/dlopen => /;s/$/ (0)/'; } 2>/dev/null \
    | awk '/=> \//{print $3} /^\s*\/[^ ]+ \(/{print $1}' | sort -u)
  for lib in $libs; do
    mkdir -p "$img$(dirname "$lib")"
    cp -L "$lib" "$img$lib"
  done
  # x86_64 programs ask for /lib64/ld-linux-x86-64.so.2.
  if [ ! -e "$img/lib64/ld-linux-x86-64.so.2" ]; then
    mkdir -p "$img/lib64"
    cp -L /lib64/ld-linux-x86-64.so.2 "$img/lib64/"
  fi
  # iproute2's ip and tc (busybox's have no netns, clsact or bpf filters) and bash (the cgroup tests' child) in a
  # directory ahead of busybox's applets on PATH, with their libraries.
  mkdir -p "$img/usr/local/sbin"
  for tool in ip tc bash; do
    cp -L "$(command -v "$tool")" "$img/usr/local/sbin/$tool"
    for lib in $(ldd "$(command -v "$tool")" | awk '/=> \//{print $3}'); do
      mkdir -p "$img$(dirname "$lib")"
      cp -L "$lib" "$img$lib"
    done
  done
  # The library search (uprobe targets such as "c" for libc) reads the loader cache.
  cp /etc/ld.so.cache "$img/etc/ld.so.cache"
  echo "root:x:0:0:root:/tmp:/bin/sh" > "$img/etc/passwd"
  echo "root:x:0:" > "$img/etc/group"
  (cd "$img" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) > "$base"
  log "base image: $(du -h "$base" | cut -f1)"
}

# Rebuild the base image only when the published test app or the fixtures changed (or it does not exist yet).
if [ ! -f "$base" ] || [ -n "$(find "$root/src" "$root/tests/SharpBpf.Tests" "$root/tests/TestUtilities" "$root/testdata" \
      -newer "$base" -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.o' -o -name '*.c' \) -print -quit)" ]; then
  build_base
fi

# --- per kernel -------------------------------------------------------------------------------------------------
count() { { grep -o "<UnitTestResult [^>]*outcome=\"$2\"" "$1" || true; } | wc -l; } # no match is 0, not an error

failed_trx() { # failed_trx FILE NAME MESSAGE: a one-result TRX so the summed counts show the failure
  cat > "$1" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010" name="vmtest">
  <Results>
    <UnitTestResult testName="$2" outcome="Failed"><Output><ErrorInfo><Message>$3</Message></ErrorInfo></Output></UnitTestResult>
  </Results>
</TestRun>
EOF
}

status=0
for series in "${kernels[@]}"; do
  kdir=$(fetch_kernel "$series") || { status=1; failed_trx "$results/vm-$series.trx" "vmtest $series" "kernel download failed"; continue; }
  release=$(cat "$kdir/release")
  run="$work/run-$series"
  rm -rf "$run"
  mkdir -p "$run/root/boot" "$run/root/modules"
  cp "$kdir/config" "$run/root/boot/config-$release"
  cp "$kdir"/modules/* "$run/root/modules/"
  cp "$root/eng/vmtest/init" "$run/root/init"
  {
    echo "export SHARPBPF_REQUIRE_KERNEL=1 SHARPBPF_KERNEL_PROFILE=matrix"
    echo "export DOTNET_gcServer=0 DOTNET_GCgen0size=0x4000000 DOTNET_TieredPGO=0 DOTNET_TieredCompilation=1"
    echo "export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1"
    printf 'VMTEST_ARGS="-noLogo -noColor -reporter verbose -result-trx /tmp/results/guest.trx'
    for a in "${filter[@]}" "${extra[@]}"; do printf " %s" "$a"; done
    printf '"\n'
  } > "$run/root/vmtest.env"
  (cd "$run/root" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) > "$run/kernel.cpio"
  cat "$base" "$run/kernel.cpio" > "$run/initrd"

  log "booting $release under TCG (timeout ${timeout_s}s)"
  t0=$(date +%s)
  set +e
  timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m 2G -smp "${VMTEST_SMP:-1}" -nodefaults -display none -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$run/initrd" \
    -append "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=4 ${VMTEST_APPEND:-}" \
    -serial stdio -serial "file:$run/data.b64" < /dev/null 2>&1 | tee "$run/console.log" | sed -u "s/^/[$series] /"
  rc=${PIPESTATUS[0]}
  set -e
  t1=$(date +%s)
  trx="$results/vm-$series.trx"
  if sed -n '/===VMTEST-TRX-BEGIN===/,/===VMTEST-TRX-END===/p' "$run/data.b64" | tr -d '\r' | grep -v '^===' \
      | base64 -d 2>/dev/null | gunzip > "$trx" 2>/dev/null && [ -s "$trx" ]; then
    :
  else
    status=1
    why="no test results from the guest (qemu exit $rc"
    [ "$rc" = 124 ] && why="$why, timed out"
    grep -q 'Kernel panic' "$run/console.log" && why="$why, kernel panic: see $run/console.log"
    why="$why)"
    failed_trx "$trx" "vmtest $release" "$why"
  fi
  p=$(count "$trx" Passed); f=$(count "$trx" Failed); s=$(count "$trx" NotExecuted)
  boot=$(grep -o 'booted in [0-9.]*s' "$run/console.log" | head -1 | grep -o '[0-9.]*' || echo '?')
  [ "$f" -eq 0 ] && [ $((p + f)) -gt 0 ] || status=1
  echo "kernel $release: $p passed, $f failed, $s skipped (boot ${boot}s, wall $((t1 - t0))s)"
done
exit $status
