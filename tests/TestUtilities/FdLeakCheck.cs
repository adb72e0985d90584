namespace SharpBpf.TestUtilities;

/// <summary>
/// Snapshot of this process's BPF and perf fds (<c>anon_inode:bpf-map</c>, <c>bpf-prog</c>, <c>bpf_link</c>,
/// <c>[perf_event]</c> ...). Dispose asserts that no new such fd is still open: use
/// <c>using var _ = new FdLeakCheck();</c> at the top of every kernel test.
/// </summary>
public sealed class FdLeakCheck : IDisposable
{
    private readonly Dictionary<int, string> _before;

    public FdLeakCheck() => _before = Snapshot();

    /// <summary>Open fds whose target names a bpf object or perf event, by fd number.</summary>
    public static Dictionary<int, string> Snapshot()
    {
        var result = new Dictionary<int, string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string target;
            try
            {
                target = new FileInfo(entry).LinkTarget ?? "";
            }
            catch (IOException)
            {
                continue; // fd closed while we looked
            }
            if (IsTracked(target) && int.TryParse(Path.GetFileName(entry), out int fd)) result[fd] = target;
        }
        return result;
    }

    public static bool IsTracked(string target) =>
        target.StartsWith("anon_inode:bpf", StringComparison.Ordinal)
        || target.Contains("perf_event", StringComparison.Ordinal);

    public void Dispose()
    {
        var after = Snapshot();
        var leaked = after.Where(kv => !_before.TryGetValue(kv.Key, out var t) || t != kv.Value)
                          .Select(kv => $"fd {kv.Key} -> {kv.Value}").ToList();
        if (leaked.Count > 0)
            Assert.Fail($"test leaked {leaked.Count} BPF/perf fd(s): {string.Join(", ", leaked)}");
    }
}
