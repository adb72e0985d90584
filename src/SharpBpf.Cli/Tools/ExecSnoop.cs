using System.Buffers.Binary;
using System.CommandLine;
using System.Text;
using SharpBpf.Events;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf execsnoop</c>: every exec() with its arguments, like BCC's / libbpf-tools' execsnoop.</summary>
internal static class ExecSnoop
{
    // struct exec_event in Tools/bpf/execsnoop.bpf.c
    private const int PidOff = 0, PpidOff = 4, UidOff = 8, RetOff = 12, ArgsCountOff = 16, ArgsSizeOff = 20, CommOff = 24, ArgsOff = 40, CommLen = 16;

    public static Command Build()
    {
        var o = new ToolOptions();
        var uid = new Option<uint?>("--uid", "-u") { Description = "Trace this user id only" };
        var fails = new Option<bool>("--fails", "-x") { Description = "Include failed exec()s" };
        var time = new Option<bool>("--time", "-t") { Description = "Print a timestamp column" };
        var cmd = o.Command("execsnoop", "Trace new processes: every exec() with its arguments (tracepoints syscalls:sys_enter/sys_exit_execve)",
            "sharpbpf execsnoop --duration 10 -x", pid: false);
        cmd.Options.Add(uid);
        cmd.Options.Add(fails);
        cmd.Options.Add(time);
        ToolRunner.SetAction(cmd, (p, ct) => Run(p.GetValue(uid), p.GetValue(fails), p.GetValue(time), p.GetValue(o.Json), o.GetDuration(p), ct));
        return cmd;
    }

    private static int Run(uint? uid, bool fails, bool time, bool json, TimeSpan? duration, CancellationToken ct)
    {
        using var s = ToolSession.Load("execsnoop", spec =>
        {
            if (uid is { } u) spec.SetVariable("targ_uid", u);
            spec.SetVariable("ignore_failed", (byte)(fails ? 0 : 1));
        });
        s.AttachTracepoint("tracepoint__syscalls__sys_enter_execve", "syscalls", "sys_enter_execve");
        s.AttachTracepoint("tracepoint__syscalls__sys_exit_execve", "syscalls", "sys_exit_execve");
        var reader = s.RingBuffer();
        var ndjson = json ? new NdjsonWriter() : null;
        if (!json) Output.Writer.WriteLine($"{(time ? "TIME     " : "")}{"PCOMM",-16} {"PID",-7} {"PPID",-7} {"RET",3} ARGS");
        ToolRunner.Started("Tracing exec()");
        return ToolRunner.Stream(reader, r => Print(r.Data, ndjson, time), duration, ct);
    }

    private static void Print(ReadOnlySpan<byte> e, NdjsonWriter? json, bool time)
    {
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(e[PidOff..]);
        uint ppid = BinaryPrimitives.ReadUInt32LittleEndian(e[PpidOff..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(e[UidOff..]);
        int ret = BinaryPrimitives.ReadInt32LittleEndian(e[RetOff..]);
        int argc = BinaryPrimitives.ReadInt32LittleEndian(e[ArgsCountOff..]);
        int size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(e[ArgsSizeOff..]), (uint)(e.Length - ArgsOff));
        string comm = ToolRunner.CString(e.Slice(CommOff, CommLen));
        var args = new List<string>();
        var area = e.Slice(ArgsOff, size);
        while (!area.IsEmpty)
        {
            int end = area.IndexOf((byte)0);
            var arg = end < 0 ? area : area[..end];
            args.Add(Encoding.UTF8.GetString(arg));
            area = end < 0 ? default : area[(end + 1)..];
        }
        bool truncated = argc > args.Count;
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteString("time", DateTime.UtcNow.ToString("O"));
            w.WriteString("comm", comm);
            w.WriteNumber("pid", pid);
            w.WriteNumber("ppid", ppid);
            w.WriteNumber("uid", uid);
            w.WriteNumber("ret", ret);
            w.WriteStartArray("args");
            foreach (var a in args) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteBoolean("truncated", truncated);
            json.End();
            return;
        }
        string line = string.Join(' ', args) + (truncated ? " ..." : "");
        Output.Writer.WriteLine($"{(time ? DateTime.Now.ToString("HH:mm:ss ") : "")}{comm,-16} {pid,-7} {ppid,-7} {ret,3} {line}");
        Output.Writer.Flush();
    }
}
