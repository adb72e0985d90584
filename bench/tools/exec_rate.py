#!/usr/bin/env python3
"""execsnoop under the highest exec rate this machine reaches (issue 10): W workers exec /bin/true with a marker as
fast as they can for S seconds while `sharpbpf execsnoop --json` runs; reports execs/s, how many of the marked execs
the tool printed (none may be lost) and the tool's CPU use (utime+stime from /proc over the run).
Usage: bench/tools/exec_rate.py "PATH_TO_SHARPBPF" [WORKERS] [SECONDS]   (as root)
"""
import json, os, subprocess, sys, threading, time

def main():
    cmd = sys.argv[1].split()
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    marker = f"rate-{os.getpid()}"
    tool = subprocess.Popen(cmd + ["execsnoop", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while "Hit Ctrl+C" not in tool.stderr.readline():
        pass
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(l for l in tool.stdout if marker in l), daemon=True)
    reader.start()
    hz = os.sysconf("SC_CLK_TCK")
    def cpu():
        f = open(f"/proc/{tool.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / hz
    counts = [0] * workers
    def work(i):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            subprocess.run(["/bin/true", marker, str(i), str(counts[i])])
            counts[i] += 1
    c0, t0 = cpu(), time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads: t.start()
    for t in threads: t.join()
    elapsed = time.monotonic() - t0
    time.sleep(1.0)
    c1 = cpu()
    tool.terminate()
    tool.wait()
    reader.join(timeout=5)
    sent = sum(counts)
    lost_line = [l for l in tool.stderr.read().splitlines() if "lost" in l]
    print(f"{workers} workers: {sent} execs in {elapsed:.1f} s ({sent / elapsed:.0f}/s); execsnoop printed {len(seen)} of them "
          f"({sent - len(seen)} missing); tool CPU {(c1 - c0) / elapsed * 100:.1f}% of one CPU; {lost_line or 'no loss reported'}")

main()
