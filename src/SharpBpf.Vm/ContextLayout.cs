using System.Buffers.Binary;
using SharpBpf.Programs;

namespace SharpBpf.Vm;

/// <summary>How the VM presents the context of a program type: its size, which 32-bit fields the kernel turns into
/// packet pointers (the VM does the same on load), which bytes a program may write.</summary>
internal sealed class ContextLayout
{
    public required string Name { get; init; }
    public required int Size { get; init; }
    public int DataOffset { get; init; } = -1;
    public int DataEndOffset { get; init; } = -1;
    public int DataMetaOffset { get; init; } = -1;
    /// <summary>Whether the packet starts at the Ethernet header (XDP, tc); socket filters see the network header.</summary>
    public bool L2 { get; init; } = true;
    public bool IsSkb { get; init; }
    public required bool[] Writable { get; init; }

    public static readonly ContextLayout Xdp = new()
    {
        Name = "xdp_md", Size = 24, DataOffset = 0, DataEndOffset = 4, DataMetaOffset = 8, Writable = new bool[24],
    };

    // struct __sk_buff (192 bytes): len 0, pkt_type 4, mark 8, queue_mapping 12, protocol 16, vlan_present 20,
    // vlan_tci 24, vlan_proto 28, priority 32, ingress_ifindex 36, ifindex 40, tc_index 44, cb[5] 48, hash 68,
    // tc_classid 72, data 76, data_end 80, napi_id 84, ..., data_meta 140, flow_keys 144, tstamp 152, wire_len 160,
    // gso_segs 164, sk 168, gso_size 176, tstamp_type 180, hwtstamp 184.
    public static readonly ContextLayout SkbTc = new()
    {
        Name = "__sk_buff", Size = 192, DataOffset = 76, DataEndOffset = 80, DataMetaOffset = 140, IsSkb = true,
        Writable = Mask(192, (8, 4), (12, 4), (32, 4), (44, 4), (48, 20), (72, 4), (152, 8)),
    };

    public static readonly ContextLayout SkbSocket = new()
    {
        Name = "__sk_buff", Size = 192, DataOffset = 76, DataEndOffset = 80, IsSkb = true, L2 = false,
        Writable = Mask(192, (48, 20)),
    };

    public static readonly ContextLayout SkbCgroup = new()
    {
        Name = "__sk_buff", Size = 192, DataOffset = 76, DataEndOffset = 80, IsSkb = true, L2 = false,
        Writable = Mask(192, (8, 4), (32, 4), (48, 20), (152, 8)),
    };

    /// <summary>The layout for a program type, or null when the context is plain memory given by the caller.</summary>
    public static ContextLayout? For(ProgramType type) => type switch
    {
        ProgramType.Xdp => Xdp,
        ProgramType.SchedCls or ProgramType.SchedAct or ProgramType.LwtIn or ProgramType.LwtOut or ProgramType.LwtXmit => SkbTc,
        ProgramType.SocketFilter => SkbSocket,
        ProgramType.CgroupSkb => SkbCgroup,
        _ => null,
    };

    private static bool[] Mask(int size, params (int Offset, int Length)[] ranges)
    {
        var m = new bool[size];
        foreach (var (o, l) in ranges) Array.Fill(m, true, o, l);
        return m;
    }

    /// <summary>Writes the initial non-pointer fields (the pointer fields are computed on load).</summary>
    public void Initialize(Span<byte> ctx, ReadOnlySpan<byte> frame, int dataLength, uint ifIndex)
    {
        ctx.Clear();
        if (this == Xdp)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ctx[12..], ifIndex); // ingress_ifindex
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(ctx, (uint)dataLength); // len
        if (frame.Length >= 14) ctx[16] = frame[12];
        if (frame.Length >= 14) ctx[17] = frame[13]; // protocol, network byte order as in the frame
        BinaryPrimitives.WriteUInt32LittleEndian(ctx[36..], ifIndex); // ingress_ifindex
        BinaryPrimitives.WriteUInt32LittleEndian(ctx[40..], ifIndex); // ifindex
        BinaryPrimitives.WriteUInt32LittleEndian(ctx[160..], (uint)frame.Length); // wire_len
        BinaryPrimitives.WriteUInt32LittleEndian(ctx[164..], 1); // gso_segs
    }
}
