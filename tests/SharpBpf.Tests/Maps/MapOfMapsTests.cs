using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class MapOfMapsTests
{
    private static readonly MapSpec Inner = new() { Name = "inner", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4 };

    [Fact]
    public void ArrayOfMapsStoresInnerAndReturnsItsId()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var outer = ArrayOfMaps.Create("t_aom", 4, Inner);
        using var inner = ArrayMap<ulong>.Create("t_inner", 4);
        inner[1] = 77;
        Assert.False(outer.TryGetInnerMapId(0, out _));
        outer.Set(0, inner);
        Assert.True(outer.TryGetInnerMapId(0, out uint id));
        Assert.Equal(inner.Id, id);
        using (var reopened = new ArrayMap<ulong>(BpfMap.FromId(id)))
            Assert.Equal(77UL, reopened[1]);
        // an inner map of another shape is refused by the kernel
        using var wrong = HashMap<uint, uint>.Create("t_wrong", 4);
        Assert.Equal("EINVAL", Assert.Throws<BpfException>(() => outer.Set(1, wrong)).ErrnoName);
        Assert.True(outer.Clear(0));
        Assert.False(outer.TryGetInnerMapId(0, out _));
        Assert.Throws<ArgumentException>(() => new HashOfMaps<uint>(outer));
    }

    [Fact]
    public void HashOfMapsByKey()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var outer = HashOfMaps<ulong>.Create("t_hom", 8, Inner);
        using var a = ArrayMap<ulong>.Create("t_in_a", 4);
        using var b = ArrayMap<ulong>.Create("t_in_b", 4);
        outer.Set(100, a);
        outer.Set(200, b.Fd);
        Assert.True(outer.TryGetInnerMapId(100, out uint ida));
        Assert.True(outer.TryGetInnerMapId(200, out uint idb));
        Assert.Equal((a.Id, b.Id), (ida, idb));
        var keys = new List<ulong>();
        foreach (ulong k in outer.Keys) keys.Add(k);
        Assert.Equal([100UL, 200], keys.Order().ToList());
        Assert.True(outer.Delete(100));
        Assert.False(outer.TryGetInnerMapId(100, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => outer.Set(1, -1));
    }
}
