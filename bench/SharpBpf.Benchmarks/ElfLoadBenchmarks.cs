using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SharpBpf.Elf;

namespace SharpBpf.Benchmarks;

/// <summary>
/// Open + load of the testdata objects, end to end: <see cref="ElfReader.ReadFile"/> → <see cref="BpfCollection.Load"/>
/// → Dispose against libbpf's <c>bpf_object__open_file</c> → <c>bpf_object__load</c> → <c>bpf_object__close</c>
/// (bench/native/elfbench.c), plus a parse-only pair (ReadFile against open_file + close). One operation is the
/// whole object set (in the "w/o outliers" pair, the set without <see cref="Outliers"/>). The set is every
/// testdata/*.bpf.o that both loaders load on the running kernel, decided in the setup by trying each once and
/// printed; objects that leave global state behind (pins) are left out.
/// </summary>
[Config(typeof(BenchConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class ElfLoadBenchmarks
{
    /// <summary>Loaded by both, but pins maps under /sys/fs/bpf and later loads reuse the pin instead of creating.</summary>
    private static readonly HashSet<string> Excluded = new(StringComparer.Ordinal) { "pinned_maps.bpf.o" };

    /// <summary>Objects whose open + load time is mostly not the loader's: map_in_map (~35 ms of kernel time on both
    /// sides, most of the whole set) and iterators (libbpf parses the kernel's vmlinux BTF again for every object that
    /// needs it; SharpBpf keeps it). The "w/o outliers" pair leaves them out to show the per-object loader overhead.</summary>
    private static readonly HashSet<string> Outliers = new(StringComparer.Ordinal) { "map_in_map.bpf.o", "iterators.bpf.o" };

    private static bool s_printed;
    private string[] _paths = [];
    private byte[][] _pathsZ = [];
    private string[] _small = [];
    private byte[][] _smallZ = [];

    [GlobalSetup]
    public void Setup()
    {
        string dir = Path.Combine(NativeLibraries.RepoRoot(), "testdata");
        var paths = new List<string>();
        var skipped = new List<string>();
        foreach (string path in Directory.GetFiles(dir, "*.bpf.o").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            if (Excluded.Contains(name)) { skipped.Add($"{name} (pins maps)"); continue; }
            int native = NativeOpenLoad(Z(path));
            string? managed = ManagedOpenLoad(path);
            if (native == 0 && managed is null) { paths.Add(path); continue; }
            var why = new List<string>();
            if (native != 0) why.Add($"libbpf {(native == -1 ? "EPERM" : native.ToString())}");
            if (managed is not null) why.Add($"SharpBpf {managed}");
            skipped.Add($"{name} ({string.Join("; ", why)})");
        }
        if (paths.Count == 0) throw new InvalidOperationException("no testdata object loads with both loaders (root needed)");
        _paths = [.. paths];
        _pathsZ = [.. paths.Select(Z)];
        _small = [.. paths.Where(p => !Outliers.Contains(Path.GetFileName(p)))];
        _smallZ = [.. _small.Select(Z)];
        if (s_printed) return;
        s_printed = true;
        Console.WriteLine($"// object set ({_paths.Length}): {string.Join(", ", _paths.Select(Path.GetFileName))}");
        Console.WriteLine($"// left out ({skipped.Count}): {string.Join(", ", skipped)}");
        Console.WriteLine($"// outliers (not in the \"w/o outliers\" pair): {string.Join(", ", Outliers.Order(StringComparer.Ordinal))}");
        PrintPerObject();
    }

    private static byte[] Z(string s) => System.Text.Encoding.UTF8.GetBytes(s + "\0");

    private static int NativeOpenLoad(byte[] pathZ)
    {
        fixed (byte* p = pathZ) return ElfNativePeer.OpenLoad(p);
    }

    private static int NativeOpen(byte[] pathZ)
    {
        fixed (byte* p = pathZ) return ElfNativePeer.Open(p);
    }

    private static string? ManagedOpenLoad(string path)
    {
        try
        {
            using var c = BpfCollection.Load(ElfReader.ReadFile(path));
            return null;
        }
        catch (Exception e)
        {
            string msg = e.Message.ReplaceLineEndings(" ");
            return $"{e.GetType().Name}: {(msg.Length > 100 ? msg[..100] + "..." : msg)}";
        }
    }

    /// <summary>Rough per-object open + load times (not the measurement; shows where the set's time goes).</summary>
    private void PrintPerObject()
    {
        const int Reps = 21;
        // Let tiered JIT promote the managed path first (30 calls + background compile), or the table shows tier 0.
        for (int pass = 0; pass < 40; pass++)
        {
            LibbpfOpenLoadSmall();
            SharpBpfOpenLoadSmall();
        }
        Thread.Sleep(500);
        var sb = new System.Text.StringBuilder("// per object open+load, median of 21 after 40 warm-up passes (libbpf / SharpBpf, us; rough, not the measurement):");
        for (int i = 0; i < _paths.Length; i++)
        {
            var n = new double[Reps];
            var m = new double[Reps];
            for (int r = 0; r < Reps; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                NativeOpenLoad(_pathsZ[i]);
                long t1 = Stopwatch.GetTimestamp();
                using (BpfCollection.Load(ElfReader.ReadFile(_paths[i]))) { }
                long t2 = Stopwatch.GetTimestamp();
                n[r] = Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds;
                m[r] = Stopwatch.GetElapsedTime(t1, t2).TotalMicroseconds;
            }
            Array.Sort(n);
            Array.Sort(m);
            sb.Append($"\n//   {Path.GetFileName(_paths[i]),-26} {n[Reps / 2],9:F0} / {m[Reps / 2],9:F0}  ({m[Reps / 2] / n[Reps / 2]:F2}x)");
        }
        Console.WriteLine(sb);
    }

    [BenchmarkCategory("open+load"), Benchmark(Baseline = true, Description = "libbpf open_file+load+close")]
    public int LibbpfOpenLoad()
    {
        int failed = 0;
        foreach (byte[] p in _pathsZ)
            if (NativeOpenLoad(p) != 0) failed++;
        return failed;
    }

    [BenchmarkCategory("open+load"), Benchmark(Description = "SharpBpf ReadFile+Load+Dispose")]
    public int SharpBpfOpenLoad()
    {
        int programs = 0;
        foreach (string p in _paths)
        {
            using var c = BpfCollection.Load(ElfReader.ReadFile(p));
            programs += c.Programs.Count;
        }
        return programs;
    }

    [BenchmarkCategory("open+load w/o outliers"), Benchmark(Baseline = true, Description = "libbpf open_file+load+close")]
    public int LibbpfOpenLoadSmall()
    {
        int failed = 0;
        foreach (byte[] p in _smallZ)
            if (NativeOpenLoad(p) != 0) failed++;
        return failed;
    }

    [BenchmarkCategory("open+load w/o outliers"), Benchmark(Description = "SharpBpf ReadFile+Load+Dispose")]
    public int SharpBpfOpenLoadSmall()
    {
        int programs = 0;
        foreach (string p in _small)
        {
            using var c = BpfCollection.Load(ElfReader.ReadFile(p));
            programs += c.Programs.Count;
        }
        return programs;
    }

    [BenchmarkCategory("parse"), Benchmark(Baseline = true, Description = "libbpf open_file+close")]
    public int LibbpfOpen()
    {
        int failed = 0;
        foreach (byte[] p in _pathsZ)
            if (NativeOpen(p) != 0) failed++;
        return failed;
    }

    [BenchmarkCategory("parse"), Benchmark(Description = "SharpBpf ElfReader.ReadFile")]
    public int SharpBpfOpen()
    {
        int programs = 0;
        foreach (string p in _paths) programs += ElfReader.ReadFile(p).Programs.Count;
        return programs;
    }
}
