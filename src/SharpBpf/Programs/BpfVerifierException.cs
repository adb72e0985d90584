using System.Text;

namespace SharpBpf.Programs;

/// <summary>
/// BPF_PROG_LOAD failed and the kernel explained why in its verifier log. <see cref="Exception.Message"/> is the
/// verifier's last error line (e.g. <c>R2 !read_ok</c>); <see cref="Log"/> is the full text and
/// <see cref="ToString"/> shows its last lines.
/// </summary>
public sealed class BpfVerifierException : BpfException
{
    /// <summary>How many log lines <see cref="ToString"/> shows.</summary>
    public const int TailLines = 20;

    private readonly string _errorLine;

    /// <summary>Creates the exception for program <paramref name="programName"/> failing with
    /// <paramref name="errno"/> and verifier log <paramref name="log"/>.</summary>
    public BpfVerifierException(string programName, int errno, string log, bool truncated = false)
        : this(programName, errno, log, truncated, keptStart: false)
    {
    }

    /// <summary>Creates the exception; <paramref name="keptStart"/>: the truncated log holds its start (kernels before
    /// 6.4 fill a fixed buffer from the start), so the error line is not in it.</summary>
    public BpfVerifierException(string programName, int errno, string log, bool truncated, bool keptStart)
        : base("BPF_PROG_LOAD", errno, $"program '{programName}'")
    {
        ProgramName = programName;
        Log = log;
        Truncated = truncated;
        TruncatedKeptStart = truncated && keptStart;
        Lines = SplitLines(log);
        _errorLine = TruncatedKeptStart
            ? $"the verifier's error is past the end of its truncated log ({log.Length} bytes: this kernel, before 6.4, keeps the log's start; raise ProgramLoadOptions.MaxLogSize)"
            : FindErrorLine(Lines) ?? base.Message;
    }

    /// <summary>The program's name.</summary>
    public string ProgramName { get; }

    /// <summary>The full verifier log text.</summary>
    public string Log { get; }

    /// <summary>The log's lines (without the trailing empty line).</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>Whether the log did not fit the largest buffer: then <see cref="Log"/> holds its last part (or, with
    /// <see cref="TruncatedKeptStart"/>, its first part).</summary>
    public bool Truncated { get; }

    /// <summary>Whether the truncated <see cref="Log"/> is the log's start: kernels before 6.4 fill a fixed buffer
    /// from the start and stop, so the error line is lost and <see cref="Exception.Message"/> says so.</summary>
    public bool TruncatedKeptStart { get; }

    /// <summary>The verifier's last error line: the last non-empty line that is not part of the closing
    /// statistics (<c>processed N insns ...</c>, <c>verification time ...</c>, <c>stack depth ...</c>).</summary>
    public override string Message => _errorLine;

    /// <summary>The bpf() failure itself: command, errno and program name.</summary>
    public string Failure => base.Message;

    internal static string[] SplitLines(string log)
    {
        var lines = log.Split('\n');
        int n = lines.Length;
        while (n > 0 && lines[n - 1].Length == 0) n--;
        return n == lines.Length ? lines : lines[..n];
    }

    internal static bool IsSummaryLine(string line) =>
        (line.StartsWith("processed ", StringComparison.Ordinal) && line.Contains(" insns", StringComparison.Ordinal))
        || line.StartsWith("verification time ", StringComparison.Ordinal)
        || line.StartsWith("stack depth ", StringComparison.Ordinal);

    internal static string? FindErrorLine(IReadOnlyList<string> lines)
    {
        for (int i = lines.Count - 1; i >= 0; i--)
        {
            string line = lines[i].Trim();
            if (line.Length != 0 && !IsSummaryLine(line)) return line;
        }
        return null;
    }

    /// <summary>The failure, then the last <see cref="TailLines"/> lines of the log preceded by
    /// "(N lines omitted)" when there are more, then the stack trace.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(GetType().FullName).Append(": ").Append(Failure).Append(": ").Append(_errorLine).Append('\n');
        int omitted = Math.Max(0, Lines.Count - TailLines);
        sb.Append("verifier log");
        if (Truncated) sb.Append(TruncatedKeptStart ? " (truncated: only its start fitted the buffer)" : " (truncated: only its end fitted the buffer)");
        sb.Append(":\n");
        if (omitted > 0) sb.Append("  (").Append(omitted).Append(" lines omitted)\n");
        for (int i = omitted; i < Lines.Count; i++) sb.Append("  ").Append(Lines[i]).Append('\n');
        if (StackTrace is { } trace) sb.Append(trace);
        return sb.ToString().TrimEnd('\n');
    }
}
