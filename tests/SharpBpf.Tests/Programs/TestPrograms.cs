using System.Buffers.Binary;
using SharpBpf.Asm;
using SharpBpf.Maps;
using SharpBpf.Programs;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Programs;

/// <summary>Test programs built from raw instructions, and crafted packets to feed them.</summary>
internal static class TestPrograms
{
    public const int XdpDrop = 1, XdpPass = 2;

    /// <summary>
    /// XDP: parses Ethernet/IPv4 (no options)/UDP; for UDP to <paramref name="port"/> either adds 1 to the u64 at
    /// <paramref name="counterIndex"/> of <paramref name="counters"/> (an Array map) and passes, or, without a
    /// map, drops. Everything else passes.
    /// </summary>
    public static Instruction[] XdpUdpPort(ushort port, BpfMap? counters = null, int counterIndex = 0)
    {
        var onMatch = counters is null
            ? Program(Mov64Imm(R0, XdpDrop), Exit())
            : Program(
                StMem(W, R10, -4, counterIndex),
                Mov64Reg(R2, R10),
                Add64Imm(R2, -4),
                LdMapFd(R1, counters.Fd),
                Call(MapLookupElem),
                JeqImm(R0, 0, 2),
                Mov64Imm(R1, 1),
                AtomicAdd64(R0, R1, 0),
                Mov64Imm(R0, XdpPass),
                Exit());
        var parse = Program(
            LdxMem(W, R2, R1, 0),          // r2 = ctx->data
            LdxMem(W, R3, R1, 4),          // r3 = ctx->data_end
            Mov64Reg(R4, R2),
            Add64Imm(R4, 14 + 20 + 8),
            JgtReg(R4, R3, 0),             // patched below: if too short goto pass
            LdxMem(H, R5, R2, 12),         // ethertype (network order)
            JneImm(R5, 0x0008, 0),         // != htons(ETH_P_IP)
            LdxMem(B, R5, R2, 14),
            JneImm(R5, 0x45, 0),           // IPv4 without options
            LdxMem(B, R5, R2, 23),
            JneImm(R5, 17, 0),             // != IPPROTO_UDP
            LdxMem(H, R5, R2, 36),         // UDP destination port (network order)
            JneImm(R5, BinaryPrimitives.ReverseEndianness(port), 0));
        // every conditional jump in the parser goes to the "pass" tail after onMatch
        for (int i = 0; i < parse.Length; i++)
        {
            var insn = parse[i];
            if ((insn.OpCode & 0x07) == 0x05 && (insn.OpCode & 0xf0) is 0x20 or 0x50)
                parse[i] = new Instruction(insn.OpCode, insn.Dst, insn.Src, (short)(parse.Length - i - 1 + onMatch.Length), insn.Imm);
        }
        return Program(parse, onMatch, Mov64Imm(R0, XdpPass), Exit());
    }

    public static BpfMap CounterMap(string name = "counters", uint entries = 4) =>
        BpfMap.Create(new MapSpec { Name = name, Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = entries });

    public static ulong ReadCounter(BpfMap map, int index)
    {
        Span<byte> value = stackalloc byte[8];
        map.Lookup(BitConverter.GetBytes(index), value);
        return BinaryPrimitives.ReadUInt64LittleEndian(value);
    }

    public static BpfProgram LoadXdp(Instruction[] insns, string name = "xdp_test") =>
        BpfProgram.Load(new ProgramSpec { Name = name, Type = ProgramType.Xdp, License = "GPL", Instructions = insns });

    /// <summary>An Ethernet/IPv4/UDP (protocol 17) or other-protocol frame.</summary>
    public static byte[] Frame(byte protocol, ushort dstPort, int payload = 16, ushort etherType = 0x0800)
    {
        var f = new byte[14 + 20 + 8 + payload];
        for (int i = 0; i < 6; i++) { f[i] = 0xff; f[6 + i] = (byte)(0x10 + i); }
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), etherType);
        var ip = f.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload));
        ip[8] = 64;
        ip[9] = protocol;
        ip[12] = 10; ip[15] = 1;   // 10.0.0.1
        ip[16] = 10; ip[19] = 2;   // 10.0.0.2
        var l4 = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(l4, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)(8 + payload));
        for (int i = 0; i < payload; i++) l4[8 + i] = (byte)i;
        return f;
    }
}
