using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SharpBpf.Links;
using SharpBpf.Maps;

namespace SharpBpf.Cli.Tools;

/// <summary><c>sharpbpf pktcount</c> (socket filter on a packet socket) and <c>sharpbpf xdpstats</c> (XDP on an
/// interface): packets and bytes per IP protocol, counted in a per-CPU array (<c>counts</c>, indexed by protocol
/// number) and printed every interval.</summary>
internal static class PacketCounters
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Counter // struct counter in Tools/bpf/pktcount.bpf.c and xdpstats.bpf.c
    {
        public ulong Packets;
        public ulong Bytes;
    }

    private const ushort EthPAll = 0x0003;

    public static Command BuildPktCount()
    {
        var o = new ToolOptions();
        var iface = new Option<string?>("--interface", "-i") { Description = "Count packets of this interface only (default: every interface)" };
        var interval = IntervalOption();
        var cmd = o.Command("pktcount", "Count packets and bytes per IP protocol with a socket filter on a packet socket",
            "sharpbpf pktcount -i eth0 --interval 1", pid: false);
        cmd.Options.Add(iface);
        cmd.Options.Add(interval);
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            string? name = p.GetValue(iface);
            int ifIndex = name is null ? 0 : IfIndex(name);
            using var s = ToolSession.Load("pktcount");
            var socket = s.Keep(new Socket(AddressFamily.Packet, SocketType.Raw, (ProtocolType)IPAddress.HostToNetworkOrder((short)EthPAll)));
            if (ifIndex != 0) socket.Bind(new LinkLayerEndPoint(ifIndex, EthPAll));
            s.Keep(SocketFilter.Attach(s.Program("pktcount"), socket));
            ToolRunner.Started($"Counting packets{(name is null ? "" : $" on {name}")}");
            return Run(s, GetInterval(p.GetValue(interval)), p.GetValue(o.Json), o.GetDuration(p), ct);
        });
        return cmd;
    }

    public static Command BuildXdpStats()
    {
        var o = new ToolOptions();
        var iface = new Option<string>("--interface", "-i") { Description = "Interface to attach to", Required = true };
        var mode = new Option<XdpAttachMode>("--mode") { Description = "XDP attach mode (default: native when the driver supports it, else generic)", DefaultValueFactory = _ => XdpAttachMode.Default };
        var interval = IntervalOption();
        var cmd = o.Command("xdpstats", "Count packets and bytes per IP protocol with an XDP program on an interface (passes every packet)",
            "sharpbpf xdpstats -i eth0 --mode generic", pid: false);
        cmd.Options.Add(iface);
        cmd.Options.Add(mode);
        cmd.Options.Add(interval);
        ToolRunner.SetAction(cmd, (p, ct) =>
        {
            string name = p.GetRequiredValue(iface);
            int ifIndex = IfIndex(name);
            using var s = ToolSession.Load("xdpstats");
            var link = s.Keep(XdpLink.Attach(s.Program("xdpstats"), ifIndex, p.GetValue(mode)));
            ToolRunner.Started($"Counting packets on {name} (XDP{(link.Mode is { } m ? $", {m}" : "")})");
            return Run(s, GetInterval(p.GetValue(interval)), p.GetValue(o.Json), o.GetDuration(p), ct);
        });
        return cmd;
    }

    private static Option<double> IntervalOption() =>
        new("--interval") { Description = "Print the counters every this many seconds (default 1)", DefaultValueFactory = _ => 1.0 };

    private static TimeSpan GetInterval(double seconds) =>
        seconds > 0 && seconds < int.MaxValue / 1000.0 ? TimeSpan.FromSeconds(seconds) : throw new UsageException($"--interval must be a positive number of seconds, got {seconds}");

    /// <summary>The interface's index from sysfs (works for interfaces without addresses too).</summary>
    private static int IfIndex(string name)
    {
        if (name.Length == 0 || name.Contains('/') || name is "." or "..") throw new UsageException($"'{name}' is not an interface name");
        string path = $"/sys/class/net/{name}/ifindex";
        if (!File.Exists(path)) throw new UsageException($"no network interface '{name}'");
        return int.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static int Run(ToolSession s, TimeSpan interval, bool json, TimeSpan? duration, CancellationToken ct)
    {
        var counts = new PerCpuArrayMap<Counter>(s.Map("counts"));
        var perCpu = new Counter[counts.CpuCount];
        long deadline = ToolRunner.Deadline(duration);
        var ndjson = json ? new NdjsonWriter() : null;
        bool more;
        do
        {
            more = ToolRunner.Wait(interval, deadline, ct);
            Print(counts, perCpu, ndjson);
        } while (more);
        return Cli.ExitOk;
    }

    private static void Print(PerCpuArrayMap<Counter> counts, Counter[] perCpu, NdjsonWriter? json)
    {
        var rows = new List<(uint Proto, ulong Packets, ulong Bytes)>();
        for (uint proto = 0; proto < counts.MaxEntries; proto++)
        {
            counts.Lookup(proto, perCpu);
            ulong packets = 0, bytes = 0;
            foreach (var c in perCpu)
            {
                packets += c.Packets;
                bytes += c.Bytes;
            }
            if (packets != 0) rows.Add((proto, packets, bytes));
        }
        if (json is not null)
        {
            var w = json.Begin();
            w.WriteString("time", DateTime.UtcNow.ToString("O"));
            w.WriteStartArray("protocols");
            foreach (var (proto, packets, bytes) in rows)
            {
                w.WriteStartObject();
                w.WriteNumber("proto", proto);
                w.WriteString("name", ProtocolName(proto));
                w.WriteNumber("packets", packets);
                w.WriteNumber("bytes", bytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            json.End();
            return;
        }
        var o = Output.Writer;
        o.WriteLine($"[{DateTime.Now:HH:mm:ss}]");
        o.WriteLine($"{"PROTO",-8} {"PACKETS",12} {"BYTES",14}");
        foreach (var (proto, packets, bytes) in rows) o.WriteLine($"{ProtocolName(proto),-8} {packets,12} {bytes,14}");
        o.WriteLine();
        o.Flush();
    }

    /// <summary>IANA protocol names; 0 also stands for "not IP" in xdpstats.</summary>
    public static string ProtocolName(uint proto) => proto switch
    {
        0 => "other",
        1 => "ICMP", 2 => "IGMP", 4 => "IPIP", 6 => "TCP", 17 => "UDP", 41 => "IPv6", 47 => "GRE", 50 => "ESP", 51 => "AH",
        58 => "ICMPv6", 89 => "OSPF", 103 => "PIM", 112 => "VRRP", 132 => "SCTP", 136 => "UDPLite", 143 => "ETHERNET",
        _ => proto.ToString(),
    };

    /// <summary>A <c>struct sockaddr_ll</c> for binding a packet socket to one interface.</summary>
    private sealed class LinkLayerEndPoint(int ifIndex, ushort protocol) : EndPoint
    {
        public override AddressFamily AddressFamily => AddressFamily.Packet;

        public override SocketAddress Serialize()
        {
            var a = new SocketAddress(AddressFamily.Packet, 20);
            ushort proto = (ushort)IPAddress.HostToNetworkOrder((short)protocol);
            a[2] = (byte)proto;
            a[3] = (byte)(proto >> 8);
            for (int i = 0; i < 4; i++) a[4 + i] = (byte)(ifIndex >> (8 * i));
            return a;
        }
    }
}
