using SharpBpf.Interop;

namespace SharpBpf.Programs;

/// <summary>Kinds of statistics <see cref="BpfStats.Enable"/> turns on (<c>enum bpf_stats_type</c>).</summary>
public enum BpfStatsType : uint
{
    /// <summary>BPF_STATS_RUN_TIME: per-program run count and run time.</summary>
    RunTime = 0,
}

/// <summary>
/// Turns on system-wide BPF statistics (BPF_ENABLE_STATS, Linux 5.8) for as long as this object lives:
/// <see cref="ProgramInfo.RunCount"/> and <see cref="ProgramInfo.RunTimeNs"/> grow only meanwhile.
/// Dispose turns them off again (unless another holder keeps them on).
/// </summary>
public sealed class BpfStats : IDisposable
{
    private readonly SafeBpfFd _fd;

    private BpfStats(SafeBpfFd fd, BpfStatsType type)
    {
        _fd = fd;
        Type = type;
    }

    /// <summary>The statistics kind enabled.</summary>
    public BpfStatsType Type { get; }

    /// <summary>Enables statistics of <paramref name="type"/>.</summary>
    /// <exception cref="BpfException">BPF_ENABLE_STATS failed (needs CAP_SYS_ADMIN).</exception>
    public static BpfStats Enable(BpfStatsType type = BpfStatsType.RunTime)
    {
        if (type != BpfStatsType.RunTime) throw new ArgumentOutOfRangeException(nameof(type), type, "unknown statistics type");
        var attr = new EnableStatsAttr { type = (uint)type };
        int fd = Bpf.TryCall(BpfCmd.BPF_ENABLE_STATS, ref attr);
        if (fd < 0) throw new BpfException("BPF_ENABLE_STATS", -fd, type.ToString());
        return new BpfStats(new SafeBpfFd(fd), type);
    }

    /// <summary>Stops holding the statistics on.</summary>
    public void Dispose() => _fd.Dispose();
}
