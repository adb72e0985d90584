using Microsoft.Build.Framework;
using Task = Microsoft.Build.Utilities.Task;

namespace SharpBpf.Build;

/// <summary>
/// Finds the clang that compiles BPF sources: <see cref="Requested"/> when set (a path or a name on PATH), else the
/// first of <c>clang</c>, <c>clang-30</c> … <c>clang-14</c> on PATH (Debian installs versioned names only).
/// </summary>
public sealed class FindClang : Task
{
    /// <summary>The user's choice (the BpfClang property); empty to search.</summary>
    public string? Requested { get; set; }

    /// <summary>The full path of the clang found.</summary>
    [Output]
    public string? Path { get; private set; }

    /// <inheritdoc/>
    public override bool Execute()
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries) ?? [];
        IEnumerable<string> names = string.IsNullOrWhiteSpace(Requested)
            ? ["clang", .. Enumerable.Range(14, 17).Reverse().Select(v => $"clang-{v}")]
            : [Requested!];
        foreach (string name in names)
        {
            if (name.Contains('/'))
            {
                if (File.Exists(name)) return Found(System.IO.Path.GetFullPath(name));
                continue;
            }
            foreach (string dir in path)
            {
                string candidate = System.IO.Path.Combine(dir, name);
                if (File.Exists(candidate)) return Found(candidate);
            }
        }
        Log.LogError(null, "SBPF001", null, null, 0, 0, 0, 0,
            string.IsNullOrWhiteSpace(Requested)
                ? "clang was not found on PATH (looked for clang and clang-30 ... clang-14): install clang or set the BpfClang property"
                : $"BpfClang '{Requested}' was not found (neither a file nor a name on PATH)");
        return false;
    }

    private bool Found(string clang)
    {
        Path = clang;
        Log.LogMessage(MessageImportance.Low, $"SharpBpf: clang is {clang}");
        return true;
    }
}
