using System.CommandLine;

namespace SharpBpf.Cli.Tools;

/// <summary>The ready tools, each a top-level verb (<c>sharpbpf execsnoop</c>), each backed by a CO-RE BPF program
/// in Tools/bpf built by clang-14 and embedded in this assembly.</summary>
internal static class ToolCommands
{
    public static IEnumerable<Command> Build() =>
    [
        ExecSnoop.Build(),
        ExitSnoop.Build(),
        OpenSnoop.Build(),
        TcpConnect.Build(),
        TcpLife.Build(),
        HistogramTools.BuildBioLatency(),
        HistogramTools.BuildRunqLat(),
        SysCount.Build(),
        PacketCounters.BuildPktCount(),
        PacketCounters.BuildXdpStats(),
        BashReadline.Build(),
    ];
}
