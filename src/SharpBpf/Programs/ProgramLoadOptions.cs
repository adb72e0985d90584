namespace SharpBpf.Programs;

/// <summary>Verifier log levels for BPF_PROG_LOAD (<c>log_level</c> bits).</summary>
[Flags]
public enum VerifierLogLevel : uint
{
    /// <summary>No log unless the load fails (then the load is retried with <see cref="Basic"/>).</summary>
    None = 0,
    /// <summary>Level 1: the instructions on the failing path and the error.</summary>
    Basic = 1,
    /// <summary>Level 2: every instruction with its register state (large).</summary>
    Verbose = 2,
    /// <summary>BPF_LOG_STATS: verification time, stack depth and instruction counts (Linux 5.2).</summary>
    Stats = 4,
}

/// <summary>Options for <see cref="BpfProgram.Load"/>.</summary>
public sealed record class ProgramLoadOptions
{
    /// <summary>The largest log buffer the loader uses: 16 MiB - 1 byte, the largest every kernel accepts.</summary>
    public const int MaxLogSizeLimit = (int)(uint.MaxValue >> 8);

    /// <summary>The smallest log buffer the kernel accepts.</summary>
    public const int MinLogSize = 128;

    /// <summary>The default options: no log on success, a log for the exception on failure.</summary>
    public static ProgramLoadOptions Default { get; } = new();

    /// <summary>Collect a verifier log at this level even when the load succeeds (see
    /// <see cref="BpfProgram.VerifierLog"/>). <see cref="VerifierLogLevel.None"/> loads without a log first and
    /// only on failure loads again with <see cref="VerifierLogLevel.Basic"/> to explain the failure.</summary>
    public VerifierLogLevel VerifierLog { get; init; }

    /// <summary>Initial log buffer size in bytes (default 64 KiB). The buffer grows when the kernel reports it
    /// too small (ENOSPC), to the size it says it needs (<c>log_true_size</c>, Linux 6.4) or else doubling.</summary>
    public int LogSize { get; init; } = 64 * 1024;

    /// <summary>The buffer never grows beyond this (default and at most <see cref="MaxLogSizeLimit"/>). A log
    /// that does not fit keeps its last part and is marked truncated.</summary>
    public int MaxLogSize { get; init; } = MaxLogSizeLimit;

    internal void Validate()
    {
        if ((VerifierLog & ~(VerifierLogLevel.Basic | VerifierLogLevel.Verbose | VerifierLogLevel.Stats)) != 0)
            throw new ArgumentOutOfRangeException(nameof(VerifierLog), VerifierLog, "unknown verifier log level bits");
        if (MaxLogSize is < MinLogSize or > MaxLogSizeLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxLogSize), MaxLogSize, $"must be between {MinLogSize} and {MaxLogSizeLimit} bytes");
        if (LogSize < MinLogSize || LogSize > MaxLogSize)
            throw new ArgumentOutOfRangeException(nameof(LogSize), LogSize, $"must be between {MinLogSize} and MaxLogSize ({MaxLogSize}) bytes");
    }
}
