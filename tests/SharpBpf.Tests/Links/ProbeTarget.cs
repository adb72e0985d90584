using System.Diagnostics;

namespace SharpBpf.Tests.Links;

/// <summary>
/// A small C program built once per test run with gcc (non-PIE, so file offsets differ from addresses and the
/// uprobe tests prove the translation): <c>target ARG CALLS [wait]</c> calls sb_target(ARG), sb_second(ARG), sb_guarded(0)
/// and getpid() CALLS times (after a line on stdin with "wait"), then prints the semaphore value and the sum.
/// </summary>
internal static class ProbeTarget
{
    public const string Source = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>

        /* A USDT-style semaphore: the kernel increments it while a uprobe with this reference counter is attached. */
        __attribute__((section(".probes"), used)) volatile unsigned short sb_semaphore;

        __attribute__((noinline, used)) long sb_target(long x) { __asm__ volatile("" ::: "memory"); return x * 3 + 1; }
        __attribute__((noinline, used)) long sb_second(long x) { __asm__ volatile("" ::: "memory"); return x - 1; }
        /* probed only with the semaphore: a uprobe on a site another test just probed without one can still exist
           in the kernel for a moment after its release, and the kernel refuses a different ref_ctr_offset on it */
        __attribute__((noinline, used)) long sb_guarded(long x) { __asm__ volatile("" ::: "memory"); return x; }

        int main(int argc, char **argv)
        {
            long arg = argc > 1 ? atol(argv[1]) : 7;
            int calls = argc > 2 ? atoi(argv[2]) : 1;
            if (argc > 3) {
                char buf[16];
                if (read(0, buf, sizeof buf) < 0) return 2;
            }
            long sum = 0;
            for (int i = 0; i < calls; i++) {
                sum += sb_target(arg);
                sum += sb_second(arg);
                sum += sb_guarded(0);
                getpid();
            }
            printf("%u %ld\n", (unsigned)sb_semaphore, sum);
            return 0;
        }
        """;

    private static readonly Lazy<string> Built = new(Build);

    /// <summary>The path of the built binary.</summary>
    public static string Path => Built.Value;

    private static string Build()
    {
        string dir = Directory.CreateTempSubdirectory("sharpbpf-probe-target-").FullName;
        string src = System.IO.Path.Combine(dir, "target.c"), bin = System.IO.Path.Combine(dir, "target");
        File.WriteAllText(src, Source);
        var psi = new ProcessStartInfo("gcc", ["-O1", "-g0", "-no-pie", "-o", bin, src]) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"gcc failed: {err}");
        return bin;
    }

    /// <summary>Runs the target to completion and returns (semaphore, sum) it printed.</summary>
    public static (int Semaphore, long Sum) Run(long arg, int calls)
    {
        using var p = Start(arg, calls, wait: false);
        return Finish(p);
    }

    /// <summary>Starts the target; with <paramref name="wait"/> it blocks until <see cref="Release"/>.</summary>
    public static Process Start(long arg, int calls, bool wait) => TargetProcess.Start(Path, wait, arg.ToString(), calls.ToString());

    public static void Release(Process p) => TargetProcess.Release(p);

    public static (int Semaphore, long Sum) Finish(Process p)
    {
        var parts = TargetProcess.Finish(p, "probe target");
        return (int.Parse(parts[0]), long.Parse(parts[1]));
    }
}
