using System.Buffers.Binary;
using System.CommandLine;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf tcplife</c>: one line per closed TCP session with its duration and bytes, like BCC's
/// tcplife, from the sock:inet_sock_set_state tracepoint.</summary>
internal static class TcpLife
{
    // struct life_event in Tools/bpf/tcplife.bpf.c
    private const int SaddrOff = 0, DaddrOff = 16, SpanOff = 32, RxOff = 40, TxOff = 48, PidOff = 56, SportOff = 60, DportOff = 62, FamilyOff = 64, CommOff = 72, CommLen = 16;

    public static Command Build()
    {
        var o = new ToolOptions();
        var cmd = o.Command("tcplife", "Trace TCP sessions: process, addresses, ports, bytes, duration (tracepoint sock:inet_sock_set_state)",
            "sharpbpf tcplife --duration 60", pid: true);
        ToolRunner.SetAction(cmd, (p, ct) => Run(p.GetValue(o.Pid), p.GetValue(o.Json), o.GetDuration(p), ct));
        return cmd;
    }

    private static int Run(uint pid, bool json, TimeSpan? duration, CancellationToken ct)
    {
        using var s = ToolSession.Load("tcplife", spec => spec.SetVariable("targ_pid", pid));
        s.AttachTracepoint("inet_sock_set_state", "sock", "inet_sock_set_state");
        var reader = s.RingBuffer();
        var ndjson = json ? new NdjsonWriter() : null;
        if (!json)
            Output.Writer.WriteLine($"{"PID",-7} {"COMM",-16} {"LADDR",-16} {"LPORT",5} {"RADDR",-16} {"RPORT",5} {"TX_KB",6} {"RX_KB",6} MS");
        ToolRunner.Started("Tracing TCP sessions");
        return ToolRunner.Stream(reader, r => Print(r.Data, ndjson), duration, ct);
    }

    private static void Print(ReadOnlySpan<byte> e, NdjsonWriter? json)
    {
        ulong spanUs = BinaryPrimitives.ReadUInt64LittleEndian(e[SpanOff..]);
        ulong rx = BinaryPrimitives.ReadUInt64LittleEndian(e[RxOff..]);
        ulong tx = BinaryPrimitives.ReadUInt64LittleEndian(e[TxOff..]);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(e[PidOff..]);
        ushort sport = BinaryPrimitives.ReadUInt16LittleEndian(e[SportOff..]);
        ushort dport = BinaryPrimitives.ReadUInt16LittleEndian(e[DportOff..]);
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(e[FamilyOff..]);
        var saddr = TcpConnect.Address(e.Slice(SaddrOff, 16), family);
        var daddr = TcpConnect.Address(e.Slice(DaddrOff, 16), family);
        string comm = ToolRunner.CString(e.Slice(CommOff, CommLen));
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteNumber("pid", pid);
            w.WriteString("comm", comm);
            w.WriteString("laddr", saddr.ToString());
            w.WriteNumber("lport", sport);
            w.WriteString("raddr", daddr.ToString());
            w.WriteNumber("rport", dport);
            w.WriteNumber("tx_bytes", tx);
            w.WriteNumber("rx_bytes", rx);
            w.WriteNumber("ms", spanUs / 1000.0);
            json.End();
            return;
        }
        Output.Writer.WriteLine($"{pid,-7} {comm,-16} {saddr,-16} {sport,5} {daddr,-16} {dport,5} {tx / 1024,6} {rx / 1024,6} {spanUs / 1000.0:F2}");
        Output.Writer.Flush();
    }
}
