using System.Buffers.Binary;
using System.CommandLine;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf opensnoop</c>: open()/openat() calls with the path and the result, like BCC's opensnoop.</summary>
internal static class OpenSnoop
{
    // struct open_event in Tools/bpf/opensnoop.bpf.c
    private const int PidOff = 8, UidOff = 12, RetOff = 16, FlagsOff = 20, CommOff = 24, NameOff = 40, CommLen = 16, NameLen = 255;

    public static Command Build()
    {
        var o = new ToolOptions();
        var uid = new Option<uint?>("--uid", "-u") { Description = "Trace this user id only" };
        var failed = new Option<bool>("--failed", "-x") { Description = "Show only failed opens" };
        var name = new Option<string?>("--name", "-n") { Description = "Show only processes whose name contains this" };
        var cmd = o.Command("opensnoop", "Trace open() and openat(): process, fd or error, path (tracepoints syscalls:sys_*_open*)",
            "sharpbpf opensnoop -p 1234 --duration 5", pid: true);
        cmd.Options.Add(uid);
        cmd.Options.Add(failed);
        cmd.Options.Add(name);
        ToolRunner.SetAction(cmd, (p, ct) => Run(p.GetValue(o.Pid), p.GetValue(uid), p.GetValue(failed), p.GetValue(name), p.GetValue(o.Json), o.GetDuration(p), ct));
        return cmd;
    }

    private static int Run(uint pid, uint? uid, bool failed, string? name, bool json, TimeSpan? duration, CancellationToken ct)
    {
        using var s = ToolSession.Load("opensnoop", spec =>
        {
            spec.SetVariable("targ_pid", pid);
            if (uid is { } u) spec.SetVariable("targ_uid", u);
            spec.SetVariable("targ_failed", (byte)(failed ? 1 : 0));
        });
        s.AttachTracepoint("tracepoint__syscalls__sys_enter_openat", "syscalls", "sys_enter_openat");
        s.AttachTracepoint("tracepoint__syscalls__sys_exit_openat", "syscalls", "sys_exit_openat");
        // x86-64 still has open(2); architectures without it have no such tracepoint (tracefs is mounted by now)
        if (Directory.Exists("/sys/kernel/tracing/events/syscalls/sys_enter_open"))
        {
            s.AttachTracepoint("tracepoint__syscalls__sys_enter_open", "syscalls", "sys_enter_open");
            s.AttachTracepoint("tracepoint__syscalls__sys_exit_open", "syscalls", "sys_exit_open");
        }
        var reader = s.RingBuffer();
        var ndjson = json ? new NdjsonWriter() : null;
        if (!json) Output.Writer.WriteLine($"{"PID",-7} {"COMM",-16} {"FD",3} {"ERR",3} PATH");
        ToolRunner.Started("Tracing open()");
        return ToolRunner.Stream(reader, r => Print(r.Data, ndjson, name), duration, ct);
    }

    private static void Print(ReadOnlySpan<byte> e, NdjsonWriter? json, string? nameFilter)
    {
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(e[PidOff..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(e[UidOff..]);
        int ret = BinaryPrimitives.ReadInt32LittleEndian(e[RetOff..]);
        int flags = BinaryPrimitives.ReadInt32LittleEndian(e[FlagsOff..]);
        string comm = ToolRunner.CString(e.Slice(CommOff, CommLen));
        if (nameFilter is not null && !comm.Contains(nameFilter, StringComparison.Ordinal)) return;
        string path = ToolRunner.CString(e.Slice(NameOff, Math.Min(NameLen, e.Length - NameOff)));
        int fd = ret >= 0 ? ret : -1, err = ret >= 0 ? 0 : -ret;
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteNumber("pid", pid);
            w.WriteNumber("uid", uid);
            w.WriteString("comm", comm);
            w.WriteNumber("fd", fd);
            w.WriteNumber("err", err);
            w.WriteNumber("flags", flags);
            w.WriteString("path", path);
            json.End();
            return;
        }
        Output.Writer.WriteLine($"{pid,-7} {comm,-16} {fd,3} {err,3} {path}");
        Output.Writer.Flush();
    }
}
