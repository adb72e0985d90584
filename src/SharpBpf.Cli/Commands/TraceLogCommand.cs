using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using SharpBpf.Cli.Tools;
using SharpBpf.Events;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf tracelog</c>, like <c>bpftool prog tracelog</c>: streams the kernel's trace_pipe, where
/// <c>bpf_printk</c>/<c>bpf_trace_printk</c> output lands, until Ctrl+C/SIGTERM or <c>--duration</c>. Mounts tracefs
/// when it is not mounted. trace_pipe is a consuming reader: what this command reads, no other reader sees.
/// </summary>
internal static partial class TraceLogCommand
{
    public static Command Build()
    {
        var duration = new Option<double?>("--duration", "-d") { Description = "Stop after this many seconds (default: until Ctrl+C)" };
        var json = new Option<bool>("--json", "-j") { Description = "One JSON object per line (task, pid, cpu, flags, timestamp, event, message)" };
        var cmd = new Command("tracelog", "Print bpf_printk output (the kernel's trace_pipe) until Ctrl+C\n\nExample: sharpbpf tracelog --duration 10")
            { duration, json };
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            double? d = p.GetValue(duration);
            if (d is <= 0) throw new UsageException($"--duration must be positive, got {d.Value.ToString(CultureInfo.InvariantCulture)}");
            return Run(d is { } s ? TimeSpan.FromSeconds(s) : null, p.GetValue(json), ct);
        });
        return cmd;
    }

    private static int Run(TimeSpan? duration, bool json, CancellationToken ct)
    {
        using var reader = TracePipeReader.Open();
        using var wake = ct.Register(reader.Wake);
        ToolRunner.Started($"Reading {reader.Path} (bpf_printk output)");
        long deadline = duration is { } d ? Environment.TickCount64 + (long)d.TotalMilliseconds : long.MaxValue;
        var ndjson = json ? new NdjsonWriter() : null;
        while (!ct.IsCancellationRequested)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0) break;
            if (reader.TryReadLine(out string? line, (int)Math.Min(left, 1000)))
            {
                Print(line, ndjson);
                Output.Writer.Flush();
            }
        }
        return 0;
    }

    // "            bash-1234    [001] d..31 12345.678901: bpf_trace_printk: hello"  (optionally "( 1234)" tgid column)
    [GeneratedRegex(@"^\s*(?<task>.*?)-(?<pid>\d+)\s+(?:\(\s*(?<tgid>[\d-]+)\)\s+)?\[(?<cpu>\d+)\]\s+(?:(?<flags>[^\s\d][^\s]*)\s+)?(?<ts>\d+\.\d+):\s+(?<event>[^:]+):\s?(?<msg>.*)$")]
    private static partial Regex TraceLine();

    private static void Print(string line, NdjsonWriter? ndjson)
    {
        if (ndjson is null)
        {
            Output.Writer.WriteLine(line);
            return;
        }
        var m = TraceLine().Match(line);
        var w = ndjson!.Begin();
        {
            if (m.Success)
            {
                w.WriteString("task", m.Groups["task"].Value);
                w.WriteNumber("pid", int.Parse(m.Groups["pid"].Value, CultureInfo.InvariantCulture));
                w.WriteNumber("cpu", int.Parse(m.Groups["cpu"].Value, CultureInfo.InvariantCulture));
                if (m.Groups["flags"].Success) w.WriteString("flags", m.Groups["flags"].Value);
                w.WriteNumber("timestamp", double.Parse(m.Groups["ts"].Value, CultureInfo.InvariantCulture));
                w.WriteString("event", m.Groups["event"].Value);
                w.WriteString("message", m.Groups["msg"].Value);
            }
            else
            {
                w.WriteString("message", line); // e.g. "CPU:1 [LOST 12 EVENTS]"
            }
        }
        ndjson.End();
    }
}
