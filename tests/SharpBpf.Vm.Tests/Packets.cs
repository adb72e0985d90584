using System.Buffers.Binary;

namespace SharpBpf.Vm.Tests;

/// <summary>Builds test frames: Ethernet + IPv4/IPv6 + UDP/TCP with a payload.</summary>
internal static class Packets
{
    public static byte[] Udp4(ushort dstPort, int payload = 18, byte ihl = 5, ushort etherType = 0x0800, byte protocol = 17, ushort srcPort = 1234)
    {
        var p = new byte[14 + 20 + 8 + payload];
        for (int i = 0; i < 12; i++) p[i] = (byte)(i + 1);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(12), etherType);
        p[14] = (byte)(0x40 | ihl);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(16), (ushort)(20 + 8 + payload));
        p[22] = 64;
        p[23] = protocol;
        p[26] = 10; p[29] = 1; p[30] = 10; p[33] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(34), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(36), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(38), (ushort)(8 + payload));
        for (int i = 0; i < payload; i++) p[42 + i] = (byte)(i * 7);
        return p;
    }
}
