namespace SharpBpf.TestUtilities;

/// <summary>Locates the repository's testdata/ directory (our .bpf.c sources and the objects built from them).</summary>
public static class TestData
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("cannot find the repository root (SharpBpf.slnx) above " + AppContext.BaseDirectory);
    });

    /// <summary>The repository root (the directory holding SharpBpf.slnx).</summary>
    public static string RepositoryRoot => RootPath.Value;

    public static string Directory => Path.Combine(RootPath.Value, "testdata");

    public static string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>Every checked-in object, by file name.</summary>
    public static IReadOnlyList<string> Objects =>
        [.. System.IO.Directory.GetFiles(Directory, "*.bpf.o").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>The static linker's inputs in testdata/link/, as paths relative to testdata/ (e.g. <c>link/link_a.bpf.o</c>).</summary>
    public static IReadOnlyList<string> LinkObjects =>
        [.. System.IO.Directory.GetFiles(Path.Combine(Directory, "link"), "*.bpf.o").Select(f => "link/" + Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> ObjectNames()
    {
        var data = new TheoryData<string>();
        foreach (var o in Objects) data.Add(o);
        return data;
    }

    public static byte[] Read(string file) => File.ReadAllBytes(PathOf(file));

    public static CollectionSpec Spec(string file) => SharpBpf.Elf.ElfReader.ReadFile(PathOf(file));
}
