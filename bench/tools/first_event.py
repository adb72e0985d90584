#!/usr/bin/env python3
"""Time from starting `sharpbpf execsnoop` to the first event it prints (issue 10's < 150 ms goal).

Starts the tool, and from the same moment execs /bin/true with a marker every 2 ms until the tool prints a line
with the marker. Reports, over N runs, the time until the tool said it was attached (stderr) and until the first
marker event appeared on stdout. Usage: bench/tools/first_event.py PATH_TO_SHARPBPF [N]   (as root)
"""
import os, selectors, statistics, subprocess, sys, time

def once(cmd):
    marker = f"fe-{os.getpid()}-{time.monotonic_ns()}"
    t0 = time.monotonic()
    p = subprocess.Popen(cmd + ["execsnoop"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    for f in (p.stdout, p.stderr):
        os.set_blocking(f.fileno(), False)
        sel.register(f, selectors.EVENT_READ)
    attached = first = None
    buf = {p.stdout: b"", p.stderr: b""}
    while first is None and time.monotonic() - t0 < 10:
        subprocess.run(["/bin/true", marker])
        for key, _ in sel.select(timeout=0.002):
            chunk = key.fileobj.read() or b""
            buf[key.fileobj] += chunk
        if attached is None and b"Hit Ctrl+C" in buf[p.stderr]:
            attached = time.monotonic() - t0
        if marker.encode() in buf[p.stdout]:
            first = time.monotonic() - t0
    p.terminate()
    p.wait()
    return attached, first

def main():
    cmd = sys.argv[1].split()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    once(cmd)  # warm the page cache
    runs = [once(cmd) for _ in range(n)]
    att = [a * 1000 for a, _ in runs if a]
    fst = [f * 1000 for _, f in runs if f]
    print(f"{cmd[0]}: attached after median {statistics.median(att):.0f} ms (min {min(att):.0f}, max {max(att):.0f}); "
          f"first event printed after median {statistics.median(fst):.0f} ms (min {min(fst):.0f}, max {max(fst):.0f}); {n} runs")

main()
