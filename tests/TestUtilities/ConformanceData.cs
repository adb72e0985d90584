using SharpBpf.Asm.Conformance;

namespace SharpBpf.TestUtilities;

/// <summary>Finds the bpf_conformance test files: $SHARPBPF_CONFORMANCE_DIR, else ../shared/conformance relative to
/// the repository root (the directory holding SharpBpf.slnx).</summary>
public static class ConformanceData
{
    public static readonly Lazy<string> Directory = new(Locate);

    private static string Locate()
    {
        string? env = Environment.GetEnvironmentVariable("SHARPBPF_CONFORMANCE_DIR");
        if (!string.IsNullOrEmpty(env))
            return System.IO.Directory.Exists(env) ? env : throw new DirectoryNotFoundException($"SHARPBPF_CONFORMANCE_DIR={env} does not exist");
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (!File.Exists(Path.Combine(d.FullName, "SharpBpf.slnx"))) continue;
            string dir = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "conformance"));
            return System.IO.Directory.Exists(dir) ? dir : throw new DirectoryNotFoundException(
                $"conformance data not found at {dir} (set SHARPBPF_CONFORMANCE_DIR)");
        }
        throw new DirectoryNotFoundException("repository root (SharpBpf.slnx) not found above " + AppContext.BaseDirectory);
    }

    public static IEnumerable<string> Files() =>
        System.IO.Directory.GetFiles(Directory.Value, "*.data").Order(StringComparer.Ordinal);

    public static IEnumerable<ConformanceTest> Tests() => Files().Select(ConformanceTest.Load);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var f in Files()) data.Add(Path.GetFileNameWithoutExtension(f));
        return data;
    }

    public static ConformanceTest Load(string name) => ConformanceTest.Load(Path.Combine(Directory.Value, name + ".data"));
}
