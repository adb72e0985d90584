using System.CommandLine;
using System.Runtime.InteropServices;
using SharpBpf.Maps;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf syscount</c>: system call counts (and total time) per syscall or per process, like BCC's
/// syscount, from the raw_syscalls tracepoints.</summary>
internal static class SysCount
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Data // struct data_t in Tools/bpf/syscount.bpf.c
    {
        public ulong Count;
        public ulong TotalNs;
        public Comm16 Comm;
    }

    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct Comm16
    {
        private byte _first;
    }

    public static Command Build()
    {
        var o = new ToolOptions();
        var process = new Option<bool>("--process", "-P") { Description = "Count per process instead of per syscall" };
        var latency = new Option<bool>("--latency", "-L") { Description = "Show the total time spent in the calls" };
        var failed = new Option<bool>("--failures", "-x") { Description = "Count only failed calls" };
        var top = new Option<int>("--top", "-T") { Description = "Print only this many rows (default 10)", DefaultValueFactory = _ => 10 };
        var interval = new Option<double?>("--interval", "-i") { Description = "Print (and reset) the counts every this many seconds" };
        var cmd = o.Command("syscount", "Count system calls per syscall or per process, with total latency (tracepoints raw_syscalls:sys_enter/sys_exit)",
            "sharpbpf syscount -p 1234 -L --duration 5", pid: true);
        foreach (var opt in new Option[] { process, latency, failed, top, interval }) cmd.Options.Add(opt);
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            int n = p.GetValue(top);
            if (n <= 0) throw new UsageException($"--top must be positive, got {n}");
            double? iv = p.GetValue(interval);
            if (iv is <= 0) throw new UsageException($"--interval must be a positive number of seconds, got {iv}");
            bool byProcess = p.GetValue(process);
            using var s = ToolSession.Load("syscount", spec =>
            {
                spec.SetVariable("targ_pid", p.GetValue(o.Pid));
                spec.SetVariable("by_process", (byte)(byProcess ? 1 : 0));
                spec.SetVariable("filter_failed", (byte)(p.GetValue(failed) ? 1 : 0));
            });
            s.AttachTracepoint("sys_enter", "raw_syscalls", "sys_enter");
            s.AttachTracepoint("sys_exit", "raw_syscalls", "sys_exit");
            var data = new HashMap<uint, Data>(s.Map("data"));
            ToolRunner.Started("Tracing syscalls");
            long deadline = ToolRunner.Deadline(o.GetDuration(p));
            var json = p.GetValue(o.Json) ? new NdjsonWriter() : null;
            bool lat = p.GetValue(latency);
            TimeSpan? every = iv is { } v ? TimeSpan.FromSeconds(v) : null;
            while (ToolRunner.Wait(every ?? TimeSpan.FromDays(1), deadline, ct))
                Print(data, byProcess, lat, n, json, reset: true);
            Print(data, byProcess, lat, n, json, reset: false);
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static void Print(HashMap<uint, Data> map, bool byProcess, bool latency, int top, NdjsonWriter? json, bool reset)
    {
        var rows = new List<(uint Key, Data Value)>();
        foreach (var kv in map) rows.Add((kv.Key, kv.Value));
        if (reset)
            foreach (var r in rows) map.Delete(r.Key);
        rows.Sort((a, b) => b.Value.Count.CompareTo(a.Value.Count));
        if (rows.Count > top) rows.RemoveRange(top, rows.Count - top);
        string Name(uint key, Data d) => byProcess ? ToolRunner.CString(d.Comm) : SyscallNames.Name((int)key);
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteString("time", DateTime.UtcNow.ToString("O"));
            w.WriteStartArray(byProcess ? "processes" : "syscalls");
            foreach (var (key, d) in rows)
            {
                w.WriteStartObject();
                if (byProcess) w.WriteNumber("pid", key);
                else w.WriteNumber("nr", key);
                w.WriteString(byProcess ? "comm" : "syscall", Name(key, d));
                w.WriteNumber("count", d.Count);
                if (latency) w.WriteNumber("total_us", d.TotalNs / 1000.0);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            json.End();
            return;
        }
        var o = Output.Writer;
        o.WriteLine($"[{DateTime.Now:HH:mm:ss}]");
        string head = byProcess ? $"{"PID",-7} {"COMM",-16}" : $"{"SYSCALL",-24}";
        o.WriteLine($"{head} {"COUNT",10}{(latency ? $" {"TIME (us)",14}" : "")}");
        foreach (var (key, d) in rows)
        {
            string label = byProcess ? $"{key,-7} {Name(key, d),-16}" : $"{Name(key, d),-24}";
            o.WriteLine($"{label} {d.Count,10}{(latency ? $" {d.TotalNs / 1000.0,14:F1}" : "")}");
        }
        o.WriteLine();
        o.Flush();
    }
}
