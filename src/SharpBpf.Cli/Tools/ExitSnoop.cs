using System.Buffers.Binary;
using System.CommandLine;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf exitsnoop</c>: process exits with age and exit code or signal, like libbpf-tools' exitsnoop.</summary>
internal static class ExitSnoop
{
    // struct exit_event in Tools/bpf/exitsnoop.bpf.c
    private const int StartOff = 0, ExitOff = 8, PidOff = 16, TidOff = 20, PpidOff = 24, SigOff = 28, CodeOff = 32, CommOff = 36, CommLen = 16;

    public static Command Build()
    {
        var o = new ToolOptions();
        var failed = new Option<bool>("--failed", "-x") { Description = "Trace only exits with a non-zero code or a signal" };
        var threads = new Option<bool>("--threads", "-T") { Description = "Trace every thread's exit, not only processes'" };
        var cmd = o.Command("exitsnoop", "Trace process exits: age, exit code or signal (tracepoint sched:sched_process_exit)",
            "sharpbpf exitsnoop -x --duration 30", pid: true);
        cmd.Options.Add(failed);
        cmd.Options.Add(threads);
        ToolRunner.SetAction(cmd, (p, ct) => Run(p.GetValue(o.Pid), p.GetValue(failed), p.GetValue(threads), p.GetValue(o.Json), o.GetDuration(p), ct));
        return cmd;
    }

    private static int Run(uint pid, bool failed, bool threads, bool json, TimeSpan? duration, CancellationToken ct)
    {
        using var s = ToolSession.Load("exitsnoop", spec =>
        {
            spec.SetVariable("targ_pid", pid);
            spec.SetVariable("trace_failed_only", (byte)(failed ? 1 : 0));
            spec.SetVariable("trace_by_process", (byte)(threads ? 0 : 1));
        });
        s.AttachTracepoint("sched_process_exit", "sched", "sched_process_exit");
        var reader = s.RingBuffer();
        var ndjson = json ? new NdjsonWriter() : null;
        if (!json) Output.Writer.WriteLine($"{"PCOMM",-16} {"PID",-7} {"PPID",-7} {"TID",-7} {"AGE(s)",-8} EXIT_CODE");
        ToolRunner.Started("Tracing process exits");
        return ToolRunner.Stream(reader, r => Print(r.Data, ndjson), duration, ct);
    }

    private static void Print(ReadOnlySpan<byte> e, NdjsonWriter? json)
    {
        ulong start = BinaryPrimitives.ReadUInt64LittleEndian(e[StartOff..]);
        ulong exit = BinaryPrimitives.ReadUInt64LittleEndian(e[ExitOff..]);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(e[PidOff..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(e[TidOff..]);
        uint ppid = BinaryPrimitives.ReadUInt32LittleEndian(e[PpidOff..]);
        uint sig = BinaryPrimitives.ReadUInt32LittleEndian(e[SigOff..]);
        int code = BinaryPrimitives.ReadInt32LittleEndian(e[CodeOff..]);
        string comm = ToolRunner.CString(e.Slice(CommOff, CommLen));
        double age = exit > start ? (exit - start) / 1e9 : 0;
        int signal = (int)(sig & 0x7f);
        bool core = (sig & 0x80) != 0;
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteString("comm", comm);
            w.WriteNumber("pid", pid);
            w.WriteNumber("ppid", ppid);
            w.WriteNumber("tid", tid);
            w.WriteNumber("age_s", Math.Round(age, 3));
            w.WriteNumber("exit_code", code);
            w.WriteNumber("signal", signal);
            w.WriteBoolean("core_dumped", core);
            json.End();
            return;
        }
        string how = signal != 0 ? $"signal {signal} ({SignalName(signal)}){(core ? ", core dumped" : "")}" : $"{code}";
        Output.Writer.WriteLine($"{comm,-16} {pid,-7} {ppid,-7} {tid,-7} {age,-8:F2} {how}");
        Output.Writer.Flush();
    }

    private static string SignalName(int sig) => sig switch
    {
        1 => "HUP", 2 => "INT", 3 => "QUIT", 4 => "ILL", 5 => "TRAP", 6 => "ABRT", 7 => "BUS", 8 => "FPE", 9 => "KILL",
        10 => "USR1", 11 => "SEGV", 12 => "USR2", 13 => "PIPE", 14 => "ALRM", 15 => "TERM", 17 => "CHLD", 24 => "XCPU",
        25 => "XFSZ", 31 => "SYS",
        _ => $"SIG{sig}",
    };
}
