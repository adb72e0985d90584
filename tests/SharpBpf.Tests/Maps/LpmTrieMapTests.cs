using System.Net;
using System.Runtime.InteropServices;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class LpmTrieMapTests
{
    [StructLayout(LayoutKind.Sequential, Size = 3)]
    private struct Three
    {
        public byte A, B, C;
    }

    /// <summary>An IPv4 address as the 4 bytes the kernel compares (network order).</summary>
    private static uint Ip(string s) => BitConverter.ToUInt32(IPAddress.Parse(s).GetAddressBytes());

    [Fact]
    public unsafe void KeyLayoutMatchesTheKernel()
    {
        Assert.Equal(8, sizeof(LpmKey<uint>));
        Assert.Equal(12, sizeof(LpmKey<ulong>));
        Assert.Equal(7, sizeof(LpmKey<Three>));
        var k = new LpmKey<ulong>(24, 0x1122334455667788);
        Assert.Equal(4, (int)((byte*)&k.Data - (byte*)&k));
    }

    [Fact]
    public void LongestPrefixWins()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var trie = LpmTrieMap<uint, int>.Create("t_lpm", 16);
        Assert.Equal(MapFlags.NoPrealloc, trie.Flags & MapFlags.NoPrealloc);
        trie.Update(new LpmKey<uint>(8, Ip("10.0.0.0")), 8);
        trie.Update(new LpmKey<uint>(16, Ip("10.1.0.0")), 16);
        Assert.True(trie.TryMatch(Ip("10.1.2.3"), out int v));
        Assert.Equal(16, v);
        Assert.True(trie.TryMatch(Ip("10.2.0.1"), out v));
        Assert.Equal(8, v);
        Assert.True(trie.TryMatch(Ip("10.1.255.255"), out v));
        Assert.Equal(16, v);
        Assert.False(trie.TryMatch(Ip("11.0.0.1"), out _));
        Assert.Equal(8, trie.Lookup(new LpmKey<uint>(12, Ip("10.16.0.0")))); // /12 within 10/8 only
        var keys = new List<uint>();
        foreach (var key in trie.Keys) keys.Add(key.PrefixLength);
        Assert.Equal([8u, 16], keys.Order().ToList());
        Assert.True(trie.Delete(new LpmKey<uint>(16, Ip("10.1.0.0"))));
        Assert.True(trie.TryMatch(Ip("10.1.2.3"), out v));
        Assert.Equal(8, v);
    }

    [Fact]
    public void LpmBatchUsesKeySizedCursor()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var trie = LpmTrieMap<ulong, int>.Create("t_lpm_batch", 64);
        for (int i = 0; i < 20; i++) trie.Update(new LpmKey<ulong>(64, (ulong)i << 56), i);
        var cursor = new MapBatchCursor();
        var k = new LpmKey<ulong>[6];
        var v = new int[6];
        int total = 0, got;
        while ((got = trie.LookupBatch(ref cursor, k, v)) > 0) total += got;
        Assert.Equal(20, total);
    }
}
