using System.CommandLine;
using System.Text;
using System.Text.Json;
using SharpBpf.Events;

namespace SharpBpf.Cli.Tools;

/// <summary>Options every ready tool has: <c>--duration</c> and <c>--json</c> (and <c>-p</c> where a PID filter
/// makes sense).</summary>
internal sealed class ToolOptions
{
    public Option<double?> Duration { get; } = new("--duration", "-d") { Description = "Stop after this many seconds (default: until Ctrl+C or SIGTERM)" };
    public Option<bool> Json { get; } = new("--json", "-j") { Description = "Print one JSON object per line (NDJSON) instead of columns" };
    public Option<uint> Pid { get; } = new("--pid", "-p") { Description = "Trace this process only" };

    public Command Command(string name, string description, string example, bool pid)
    {
        var cmd = new Command(name, $"{description}\n\nExample:\n  {example}") { Duration, Json };
        if (pid) cmd.Options.Add(Pid);
        return cmd;
    }

    public TimeSpan? GetDuration(ParseResult p)
    {
        double? seconds = p.GetValue(Duration);
        if (seconds is null) return null;
        if (seconds <= 0 || double.IsNaN(seconds.Value) || seconds > int.MaxValue / 1000.0)
            throw new UsageException($"--duration must be a positive number of seconds, got {seconds}");
        return TimeSpan.FromSeconds(seconds.Value);
    }
}

/// <summary>Runs tools until their duration ends or the user stops them, and writes their output.</summary>
internal static class ToolRunner
{
    /// <summary>Registers <paramref name="run"/> as the action of <paramref name="cmd"/>: it gets a token that is
    /// cancelled on SIGINT (Ctrl+C), SIGTERM or SIGHUP, so the tool returns normally and its session detaches
    /// everything, instead of the process dying with its links half-described.</summary>
    public static void SetAction(Command cmd, Func<ParseResult, CancellationToken, int> run) =>
        cmd.SetAction(p =>
        {
            using var stop = new Commands.StopSignals();
            return run(p, stop.Token);
        });

    /// <summary>Tells the user the tool is running (stderr, so stdout stays data only; tests wait for it).</summary>
    public static void Started(string what) =>
        Console.Error.WriteLine($"{what}... Hit Ctrl+C to end.");

    /// <summary>Delivers ring buffer records to <paramref name="handler"/> until the duration ends or
    /// <paramref name="ct"/> is cancelled; then reports records the programs could not hand over.</summary>
    public static int Stream(RingBufferReader reader, RecordHandler handler, TimeSpan? duration, CancellationToken ct)
    {
        long deadline = duration is { } d ? Environment.TickCount64 + (long)d.TotalMilliseconds : long.MaxValue;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0) break;
                reader.Poll(handler, (int)Math.Min(left, 250), ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        ReportLost(reader.LostRecords);
        return Cli.ExitOk;
    }

    /// <summary>Sleeps until the next interval, the duration's end or cancellation; false when the tool must stop.</summary>
    public static bool Wait(TimeSpan interval, long deadline, CancellationToken ct)
    {
        long left = deadline - Environment.TickCount64;
        if (left <= 0) return false;
        return !ct.WaitHandle.WaitOne((int)Math.Min(left, (long)interval.TotalMilliseconds)) && Environment.TickCount64 < deadline;
    }

    public static long Deadline(TimeSpan? duration) =>
        duration is { } d ? Environment.TickCount64 + (long)d.TotalMilliseconds : long.MaxValue;

    public static void ReportLost(long lost)
    {
        if (lost > 0) Console.Error.WriteLine($"{lost} events lost (ring buffer full)");
    }

    /// <summary>A NUL-terminated C string field.</summary>
    public static string CString(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }
}

/// <summary>Writes one JSON object per line to the tool's output (NDJSON).</summary>
internal sealed class NdjsonWriter
{
    private readonly MemoryStream _buffer = new();
    private readonly Utf8JsonWriter _json;

    public NdjsonWriter()
    {
        // relaxed escaping: the output is a terminal or a pipe, not HTML, so paths keep their '+' and '<'
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public Utf8JsonWriter Begin()
    {
        _buffer.SetLength(0);
        _json.Reset(_buffer);
        _json.WriteStartObject();
        return _json;
    }

    public void End()
    {
        _json.WriteEndObject();
        _json.Flush();
        Output.Writer.WriteLine(Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
        Output.Writer.Flush();
    }
}
