using System.Diagnostics;

namespace SharpBpf.Tests.Links;

/// <summary>
/// A small C program with USDT probes (sys/sdt.h from systemtap-sdt-dev), built once per test run with gcc
/// (non-PIE, so file offsets differ from addresses): <c>usdt_target CALLS [wait]</c> fires sb:args (10 arguments:
/// constants, registers and memory operands of 1/2/4/8 bytes, signed and unsigned), sb:stack (frame-relative memory
/// operands) and the semaphore-guarded sb:guarded CALLS times (after a line on stdin with "wait"), then prints the
/// guard semaphore's value and how many guarded probes fired.
/// </summary>
internal static class UsdtTarget
{
    // Probes without semaphores (sdt.h emits a semaphore reference for every probe of a unit with _SDT_HAS_SEMAPHORES).
    private const string Probes = """
        #include <sys/sdt.h>
        struct rec { long long q; int i; short s; signed char c; unsigned char u; };
        __attribute__((noinline)) void fire_args(struct rec *r, long long reg64, int reg32, unsigned char reg8)
        {
            STAP_PROBE10(sb, args, -5, 1234567890123LL, r->q, r->i, r->s, r->c, r->u, reg64, reg32, reg8);
        }
        __attribute__((noinline, optimize("O0"))) void fire_stack(int a, long long b)
        {
            volatile short s = (short)-a;
            volatile unsigned int u = 0xfffffff0u;
            DTRACE_PROBE4(sb, stack, a, b, s, u);
        }
        """;

    private const string Guarded = """
        #define _SDT_HAS_SEMAPHORES 1
        #include <sys/sdt.h>
        __attribute__((section(".probes"), used)) volatile unsigned short sb_guarded_semaphore;
        __attribute__((noinline)) int fire_guarded(int x)
        {
            if (sb_guarded_semaphore) { STAP_PROBE2(sb, guarded, x, 42); return 1; }
            return 0;
        }
        """;

    private const string Main = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        struct rec { long long q; int i; short s; signed char c; unsigned char u; };
        void fire_args(struct rec *r, long long reg64, int reg32, unsigned char reg8);
        void fire_stack(int a, long long b);
        int fire_guarded(int x);
        extern volatile unsigned short sb_guarded_semaphore;
        int main(int argc, char **argv)
        {
            int calls = argc > 1 ? atoi(argv[1]) : 1;
            if (argc > 2) {
                char buf[16];
                if (read(0, buf, sizeof buf) < 0) return 2;
            }
            struct rec r = { -1234567890123LL, -100000, -300, -7, 200 };
            int fired = 0;
            for (int i = 0; i < calls; i++) {
                fire_args(&r, -42, -77, 250);
                fire_stack(5, -9000000000LL);
                fired += fire_guarded(i + 1);
            }
            printf("%u %d\n", (unsigned)sb_guarded_semaphore, fired);
            return 0;
        }
        """;

    /// <summary>The values sb:args carries, in order.</summary>
    public static readonly long[] ArgsValues = [-5, 1234567890123, -1234567890123, -100000, -300, -7, 200, -42, -77, 250];

    /// <summary>The values sb:stack carries, in order.</summary>
    public static readonly long[] StackValues = [5, -9000000000, -5, 0xfffffff0];

    private static readonly Lazy<string> Built = new(Build);
    private static readonly Lazy<string> BuiltLibrary = new(BuildLibrary);

    /// <summary>A shared library (-fPIC -shared) with the sb:args and sb:stack probes.</summary>
    public static string LibraryPath => BuiltLibrary.Value;

    private static string BuildLibrary()
    {
        string dir = Directory.CreateTempSubdirectory("sharpbpf-usdt-lib-").FullName;
        string src = System.IO.Path.Combine(dir, "probes.c"), lib = System.IO.Path.Combine(dir, "libsbusdt.so");
        File.WriteAllText(src, Probes);
        Gcc(["-O1", "-g0", "-fPIC", "-shared", "-o", lib, src]);
        return lib;
    }

    private static void Gcc(string[] args)
    {
        var psi = new ProcessStartInfo("gcc", args) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"gcc failed (USDT tests need sys/sdt.h: apt-get install systemtap-sdt-dev): {err}");
    }

    /// <summary>The path of the built binary.</summary>
    public static string Path => Built.Value;

    private static string Build()
    {
        string dir = Directory.CreateTempSubdirectory("sharpbpf-usdt-target-").FullName;
        var sources = new List<string>();
        foreach (var (name, text) in new[] { ("probes.c", Probes), ("guarded.c", Guarded), ("main.c", Main) })
        {
            string src = System.IO.Path.Combine(dir, name);
            File.WriteAllText(src, text);
            sources.Add(src);
        }
        string bin = System.IO.Path.Combine(dir, "usdt_target");
        Gcc(["-O1", "-g0", "-no-pie", "-o", bin, .. sources]);
        return bin;
    }

    /// <summary>Runs the target to completion and returns (semaphore, guarded probes fired) it printed.</summary>
    public static (int Semaphore, int Fired) Run(int calls)
    {
        using var p = Start(calls, wait: false);
        return Finish(p);
    }

    /// <summary>Starts the target; with <paramref name="wait"/> it blocks until <see cref="Release"/>.</summary>
    public static Process Start(int calls, bool wait) => TargetProcess.Start(Path, wait, calls.ToString());

    public static void Release(Process p) => TargetProcess.Release(p);

    public static (int Semaphore, int Fired) Finish(Process p)
    {
        var parts = TargetProcess.Finish(p, "USDT target");
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }
}
