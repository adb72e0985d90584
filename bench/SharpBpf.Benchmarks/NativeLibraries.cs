using System.Runtime.InteropServices;

namespace SharpBpf.Benchmarks;

/// <summary>Finds and loads the native peers built by bench/native/build.sh (bench/native/build/lib*.so).</summary>
internal static class NativeLibraries
{
    /// <summary>Loads bench/native/build/lib<paramref name="name"/>.so, with a clear error when it is not built.</summary>
    public static nint Load(string name)
    {
        string path = Path.Combine(RepoRoot(), "bench", "native", "build", $"lib{name}.so");
        if (!File.Exists(path))
            throw new FileNotFoundException($"native peer not built: run bench/native/build.sh (needs libbpf-dev); looked for {path}");
        return NativeLibrary.Load(path);
    }

    /// <summary>The repository root (the folder with SharpBpf.slnx) above the running benchmark.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
