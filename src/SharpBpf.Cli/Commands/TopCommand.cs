using System.CommandLine;
using SharpBpf.Cli.Tools;
using SharpBpf.Programs;
using Spectre.Console;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf top</c>: a live per-program view like Netflix's bpftop. Turns on BPF_ENABLE_STATS while it runs
/// (the kernel counts run time and runs of every program, whoever loaded it) and shows, per interval, runs per
/// second, average run time and the share of all CPUs' time spent in each program.
/// </summary>
internal static class TopCommand
{
    internal enum SortKey { Cpu, Runs, Avg, Runtime, Id, Name }

    internal readonly record struct Sample(uint Id, string Name, ProgramType Type, ulong RunCount, ulong RunTimeNs);

    internal readonly record struct Row(uint Id, string Name, ProgramType Type, double RunsPerSecond, double AvgNs, double CpuPercent, ulong TotalRuns, ulong TotalRunTimeNs);

    public static Command Build()
    {
        var interval = new Option<double>("--interval", "-i") { Description = "Refresh every this many seconds (default 1)", DefaultValueFactory = _ => 1.0 };
        var sort = new Option<SortKey>("--sort", "-s") { Description = "Sort by cpu (default), runs (per second), avg (run time), runtime (total since start), id or name", DefaultValueFactory = _ => SortKey.Cpu };
        var iterations = new Option<int?>("--iterations", "-n") { Description = "Stop after this many refreshes (default: until Ctrl+C)" };
        var limit = new Option<int>("--limit") { Description = "Show at most this many programs (default 30)", DefaultValueFactory = _ => 30 };
        var all = new Option<bool>("--all", "-a") { Description = "Also show programs that did not run in the interval" };
        var json = Common.JsonOption();
        json.Description = "Print one JSON object per refresh (NDJSON)";
        var cmd = new Command("top", "Live per-program statistics: runs/s, average run time, CPU % (BPF_ENABLE_STATS, like bpftop)\n\nExample:\n  sharpbpf top --sort runs -n 5")
        {
            interval, sort, iterations, limit, all, json,
        };
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            double seconds = p.GetValue(interval);
            if (!(seconds > 0 && seconds < int.MaxValue / 1000.0)) throw new UsageException($"--interval must be a positive number of seconds, got {seconds}");
            int? n = p.GetValue(iterations);
            if (n is <= 0) throw new UsageException($"--iterations must be positive, got {n}");
            int max = p.GetValue(limit);
            if (max <= 0) throw new UsageException($"--limit must be positive, got {max}");
            return Run(TimeSpan.FromSeconds(seconds), p.GetValue(sort), n, max, p.GetValue(all), p.GetValue(json), ct);
        });
        return cmd;
    }

    private static int Run(TimeSpan interval, SortKey sort, int? iterations, int limit, bool all, bool json, CancellationToken ct)
    {
        using var stats = BpfStats.Enable();
        var ndjson = json ? new NdjsonWriter() : null;
        var previous = TakeSamples();
        long previousTime = Environment.TickCount64;
        bool live = !json && !Console.IsOutputRedirected && ReferenceEquals(Output.Writer, Console.Out);
        for (int i = 0; iterations is null || i < iterations; i++)
        {
            if (ct.WaitHandle.WaitOne(interval)) break;
            var current = TakeSamples();
            long now = Environment.TickCount64;
            var rows = Compute(previous, current, (now - previousTime) / 1000.0, Environment.ProcessorCount, sort, all);
            if (rows.Count > limit) rows.RemoveRange(limit, rows.Count - limit);
            previous = current;
            previousTime = now;
            if (ndjson is not null) WriteJson(ndjson, rows);
            else Print(rows, live);
        }
        return Cli.ExitOk;
    }

    private static readonly Dictionary<uint, string> FullNames = [];

    /// <summary>Run count and run time of every loaded program (programs freed meanwhile are skipped).</summary>
    internal static Dictionary<uint, Sample> TakeSamples()
    {
        var samples = new Dictionary<uint, Sample>();
        foreach (var (info, name) in Common.ReadAll(BpfProgram.EnumerateIds(), BpfProgram.FromId, p =>
                 {
                     var info = p.GetInfo();
                     // the kernel keeps 15 characters of a name: the full one comes from the program's BTF, once per id
                     if (!FullNames.TryGetValue(info.Id, out string? name)) FullNames[info.Id] = name = p.GetFullName(info.Name);
                     return (info, name);
                 }))
            samples[info.Id] = new Sample(info.Id, name, info.Type, info.RunCount, info.RunTimeNs);
        foreach (uint gone in FullNames.Keys.Where(id => !samples.ContainsKey(id)).ToList()) FullNames.Remove(gone);
        return samples;
    }

    /// <summary>Per-program rates between two samples <paramref name="seconds"/> apart; CPU % is of all
    /// <paramref name="cpus"/> CPUs' time, as bpftop reports it.</summary>
    internal static List<Row> Compute(Dictionary<uint, Sample> before, Dictionary<uint, Sample> after, double seconds, int cpus, SortKey sort, bool all)
    {
        var rows = new List<Row>();
        foreach (var (id, s) in after)
        {
            // a program loaded during the interval counts from zero
            var b = before.TryGetValue(id, out var old) ? old : s with { RunCount = 0, RunTimeNs = 0 };
            ulong runs = s.RunCount >= b.RunCount ? s.RunCount - b.RunCount : 0;
            ulong time = s.RunTimeNs >= b.RunTimeNs ? s.RunTimeNs - b.RunTimeNs : 0;
            if (runs == 0 && !all) continue;
            rows.Add(new Row(id, s.Name, s.Type, runs / seconds, runs == 0 ? 0 : (double)time / runs,
                time / (seconds * 1e9 * cpus) * 100, s.RunCount, s.RunTimeNs));
        }
        Comparison<Row> order = sort switch
        {
            SortKey.Runs => (x, y) => y.RunsPerSecond.CompareTo(x.RunsPerSecond),
            SortKey.Avg => (x, y) => y.AvgNs.CompareTo(x.AvgNs),
            SortKey.Runtime => (x, y) => y.TotalRunTimeNs.CompareTo(x.TotalRunTimeNs),
            SortKey.Id => (x, y) => x.Id.CompareTo(y.Id),
            SortKey.Name => (x, y) => string.CompareOrdinal(x.Name, y.Name),
            _ => (x, y) => y.CpuPercent.CompareTo(x.CpuPercent),
        };
        rows.Sort((x, y) => order(x, y) is var c && c != 0 ? c : x.Id.CompareTo(y.Id));
        return rows;
    }

    private static void WriteJson(NdjsonWriter ndjson, List<Row> rows)
    {
        var w = ndjson.Begin();
        w.WriteString("time", DateTime.UtcNow.ToString("O"));
        w.WriteStartArray("programs");
        foreach (var r in rows)
        {
            w.WriteStartObject();
            w.WriteNumber("id", r.Id);
            w.WriteString("name", r.Name);
            w.WriteString("type", ProgCommands.TypeName(r.Type));
            w.WriteNumber("runs_per_second", Math.Round(r.RunsPerSecond, 1));
            w.WriteNumber("avg_runtime_ns", Math.Round(r.AvgNs, 1));
            w.WriteNumber("cpu_percent", Math.Round(r.CpuPercent, 4));
            w.WriteNumber("total_runs", r.TotalRuns);
            w.WriteNumber("total_runtime_ns", r.TotalRunTimeNs);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        ndjson.End();
    }

    private static void Print(List<Row> rows, bool live)
    {
        var table = new Table().AddColumns("ID", "TYPE", "NAME", "RUNS/S", "AVG RUNTIME (ns)", "CPU %", "TOTAL RUNS", "TOTAL RUNTIME (ms)");
        foreach (var r in rows)
            table.AddRow(r.Id.ToString(), ProgCommands.TypeName(r.Type), Markup.Escape(r.Name), r.RunsPerSecond.ToString("F1"),
                r.AvgNs.ToString("F0"), r.CpuPercent.ToString("F3"), r.TotalRuns.ToString(), (r.TotalRunTimeNs / 1e6).ToString("F1"));
        if (live) Output.Console.Clear();
        Output.Writer.WriteLine($"sharpbpf top - {DateTime.Now:HH:mm:ss}, {rows.Count} program(s) ran");
        Output.Console.Write(table);
        Output.Writer.Flush();
    }
}
