namespace SharpBpf.Events;

/// <summary>How a <see cref="PerfEventReader"/> sets up its per-CPU perf buffers.</summary>
public sealed record class PerfEventReaderOptions
{
    /// <summary>Data pages per CPU buffer: a power of two (plus one metadata page each). Default 64.</summary>
    public int PagesPerCpu { get; init; } = 64;

    /// <summary>Wake a waiting reader after this many records on a CPU (<c>wakeup_events</c>; default 1: every
    /// record). Larger values batch wake-ups; records below the threshold are still read by the next
    /// <see cref="RecordReader.Consume"/> or by a poll that finds them without waiting.</summary>
    public uint WakeupEvents { get; init; } = 1;

    /// <summary>When non-zero, wake a waiting reader once this many bytes are in a CPU's buffer
    /// (<c>watermark</c> + <c>wakeup_watermark</c>) instead of counting records; then <see cref="WakeupEvents"/>
    /// must stay 1.</summary>
    public uint WakeupWatermarkBytes { get; init; }

    /// <summary>Overwritable (backward) buffers: the kernel overwrites the oldest records instead of dropping new
    /// ones, nothing counts as lost, and each read takes a snapshot of what is in the buffer (paused meanwhile),
    /// delivered oldest first. Linux 4.15.</summary>
    public bool Overwritable { get; init; }

    /// <summary>CPUs to open buffers on; null: every online CPU.</summary>
    public IReadOnlyList<int>? Cpus { get; init; }
}
