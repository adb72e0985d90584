using System.Buffers.Binary;
using System.CommandLine;
using System.Net;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf tcpconnect</c>: active TCP connections (connect()), like BCC's tcpconnect: from kprobes on
/// tcp_v4_connect/tcp_v6_connect where the kernel has kprobes, else from the sock:inet_sock_set_state tracepoint.</summary>
internal static class TcpConnect
{
    // struct connect_event in Tools/bpf/tcpconnect.bpf.c (its sport is 0 at SYN_SENT: the port is bound later)
    private const int SaddrOff = 0, DaddrOff = 16, PidOff = 40, UidOff = 44, DportOff = 50, FamilyOff = 52, CommOff = 56, CommLen = 16;
    internal const int AfInet = 2;

    public static Command Build()
    {
        var o = new ToolOptions();
        var port = new Option<ushort>("--port", "-P") { Description = "Trace connections to this destination port only" };
        var variant = ToolSession.VariantOption();
        var cmd = o.Command("tcpconnect", "Trace active TCP connections: process, addresses, port (kprobes on tcp_v4/v6_connect, or tracepoint sock:inet_sock_set_state)",
            "sharpbpf tcpconnect -P 443", pid: true);
        cmd.Options.Add(port);
        cmd.Options.Add(variant);
        ToolRunner.SetAction(cmd, (p, ct) => Run(p.GetValue(o.Pid), p.GetValue(port), p.GetValue(variant), p.GetValue(o.Json), o.GetDuration(p), ct));
        return cmd;
    }

    internal static readonly string[] KprobePrograms =
        ["kprobe_tcp_v4_connect", "kretprobe_tcp_v4_connect", "kprobe_tcp_v6_connect", "kretprobe_tcp_v6_connect"];

    private static int Run(uint pid, ushort port, ProbeVariant requested, bool json, TimeSpan? duration, CancellationToken ct)
    {
        bool kprobes = ToolSession.ChooseVariant("tcpconnect", requested) == ProbeVariant.Kprobe;
        using var s = ToolSession.Load("tcpconnect", spec =>
        {
            spec.SetVariable("targ_pid", pid);
            spec.SetVariable("targ_dport", port);
            // only the chosen variant is loaded
            if (kprobes) spec.Programs.Remove("inet_sock_set_state");
            else foreach (string name in KprobePrograms) spec.Programs.Remove(name);
        });
        if (kprobes)
        {
            foreach (string version in new[] { "v4", "v6" })
            {
                s.AttachKprobe($"kprobe_tcp_{version}_connect", $"tcp_{version}_connect");
                s.AttachKprobe($"kretprobe_tcp_{version}_connect", $"tcp_{version}_connect", isReturn: true);
            }
        }
        else
        {
            s.AttachTracepoint("inet_sock_set_state", "sock", "inet_sock_set_state");
        }
        var reader = s.RingBuffer();
        var ndjson = json ? new NdjsonWriter() : null;
        if (!json) Output.Writer.WriteLine($"{"PID",-7} {"COMM",-16} {"IP",-2} {"SADDR",-16} {"DADDR",-16} {"DPORT",5}");
        ToolRunner.Started(kprobes ? "Tracing connect() (kprobes)" : "Tracing connect() (tracepoint)");
        return ToolRunner.Stream(reader, r => Print(r.Data, ndjson), duration, ct);
    }

    internal static IPAddress Address(ReadOnlySpan<byte> field, ushort family) =>
        new(family == AfInet ? field[..4] : field[..16]);

    private static void Print(ReadOnlySpan<byte> e, NdjsonWriter? json)
    {
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(e[PidOff..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(e[UidOff..]);
        ushort dport = BinaryPrimitives.ReadUInt16LittleEndian(e[DportOff..]);
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(e[FamilyOff..]);
        var saddr = Address(e.Slice(SaddrOff, 16), family);
        var daddr = Address(e.Slice(DaddrOff, 16), family);
        string comm = ToolRunner.CString(e.Slice(CommOff, CommLen));
        int ip = family == AfInet ? 4 : 6;
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteNumber("pid", pid);
            w.WriteNumber("uid", uid);
            w.WriteString("comm", comm);
            w.WriteNumber("ip", ip);
            w.WriteString("saddr", saddr.ToString());
            w.WriteString("daddr", daddr.ToString());
            w.WriteNumber("dport", dport);
            json.End();
            return;
        }
        Output.Writer.WriteLine($"{pid,-7} {comm,-16} {ip,-2} {saddr,-16} {daddr,-16} {dport,5}");
        Output.Writer.Flush();
    }
}
