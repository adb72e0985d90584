using System.Buffers.Binary;

namespace SharpBpf.Tests.Elf;

/// <summary>Minimal Ethernet frames for test runs.</summary>
internal static class Frames
{
    /// <summary>Ethernet + IPv4 (ihl 5) + UDP to <paramref name="port"/>, padded to <paramref name="length"/> bytes.</summary>
    public static byte[] Udp4(ushort port, int length = 64)
    {
        var f = new byte[Math.Max(length, 42)];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        f[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)(f.Length - 14));
        f[22] = 64;
        f[23] = 17; // UDP
        f[26] = 127; f[29] = 1; f[30] = 127; f[33] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(34), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(36), port);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(38), (ushort)(f.Length - 34));
        return f;
    }

    /// <summary>An Ethernet frame with EtherType IPv6 and zero payload.</summary>
    public static byte[] Ipv6(int length = 64)
    {
        var f = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x86DD);
        f[14] = 0x60;
        return f;
    }
}
