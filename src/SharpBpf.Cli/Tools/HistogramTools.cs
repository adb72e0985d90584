using System.CommandLine;
using System.Runtime.InteropServices;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf biolatency</c> and <c>sharpbpf runqlat</c>: latency distributions summarised in the kernel
/// as log2 histograms (one array map, <c>hists</c>) and printed every interval or at the end, as BCC does.</summary>
internal static class HistogramTools
{
    private const int Slots = 27; // MAX_SLOTS in Tools/bpf/tools.h

    public static Command BuildBioLatency()
    {
        var o = new ToolOptions();
        var ms = new Option<bool>("--milliseconds", "-m") { Description = "Histogram in milliseconds (default microseconds)" };
        var interval = new Option<double?>("--interval", "-i") { Description = "Print (and reset) the histogram every this many seconds" };
        var cmd = o.Command("biolatency", "Summarise block I/O latency (issue to completion) as a histogram (raw tracepoints block_rq_issue/complete)",
            "sharpbpf biolatency --duration 10", pid: false);
        cmd.Options.Add(ms);
        cmd.Options.Add(interval);
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            bool milli = p.GetValue(ms);
            using var s = ToolSession.Load("biolatency", spec => spec.SetVariable("targ_ms", (byte)(milli ? 1 : 0)));
            s.AttachRawTracepoint("block_rq_issue", "block_rq_issue");
            s.AttachRawTracepoint("block_rq_complete", "block_rq_complete");
            ToolRunner.Started("Tracing block device I/O");
            return Run(s, milli ? "msecs" : "usecs", Interval(p.GetValue(interval)), p.GetValue(o.Json), o.GetDuration(p), ct);
        });
        return cmd;
    }

    public static Command BuildRunqLat()
    {
        var o = new ToolOptions();
        var ms = new Option<bool>("--milliseconds", "-m") { Description = "Histogram in milliseconds (default microseconds)" };
        var interval = new Option<double?>("--interval", "-i") { Description = "Print (and reset) the histogram every this many seconds" };
        var cmd = o.Command("runqlat", "Summarise scheduler run queue latency as a histogram (raw tracepoints sched_wakeup/sched_switch)",
            "sharpbpf runqlat --duration 5", pid: true);
        cmd.Options.Add(ms);
        cmd.Options.Add(interval);
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            bool milli = p.GetValue(ms);
            using var s = ToolSession.Load("runqlat", spec =>
            {
                spec.SetVariable("targ_ms", (byte)(milli ? 1 : 0));
                spec.SetVariable("targ_tgid", p.GetValue(o.Pid));
            });
            s.AttachRawTracepoint("sched_wakeup", "sched_wakeup");
            s.AttachRawTracepoint("sched_wakeup_new", "sched_wakeup_new");
            s.AttachRawTracepoint("sched_switch", "sched_switch");
            ToolRunner.Started("Tracing run queue latency");
            return Run(s, milli ? "msecs" : "usecs", Interval(p.GetValue(interval)), p.GetValue(o.Json), o.GetDuration(p), ct);
        });
        return cmd;
    }

    private static TimeSpan? Interval(double? seconds) => seconds switch
    {
        null => null,
        > 0 and < int.MaxValue / 1000.0 => TimeSpan.FromSeconds(seconds.Value),
        _ => throw new UsageException($"--interval must be a positive number of seconds, got {seconds}"),
    };

    /// <summary>Prints the histogram every interval (resetting it) or once at the end.</summary>
    private static int Run(ToolSession s, string unit, TimeSpan? interval, bool json, TimeSpan? duration, CancellationToken ct)
    {
        var map = s.Map("hists");
        long deadline = ToolRunner.Deadline(duration);
        var ndjson = json ? new NdjsonWriter() : null;
        while (ToolRunner.Wait(interval ?? TimeSpan.FromDays(1), deadline, ct))
            Print(map, unit, ndjson, reset: true);
        Print(map, unit, ndjson, reset: interval is not null);
        return Cli.ExitOk;
    }

    private static void Print(Maps.BpfMap map, string unit, NdjsonWriter? json, bool reset)
    {
        Span<byte> key = stackalloc byte[4];
        var value = new byte[Slots * 8];
        map.Lookup(key, value);
        if (reset) map.Update(key, new byte[value.Length]);
        var slots = MemoryMarshal.Cast<byte, ulong>(value);
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteString("time", DateTime.UtcNow.ToString("O"));
            Log2Histogram.WriteJson(w, slots, unit);
            json.End();
            return;
        }
        Output.Writer.WriteLine();
        Log2Histogram.Print(Output.Writer, slots, unit);
        Output.Writer.Flush();
    }
}
