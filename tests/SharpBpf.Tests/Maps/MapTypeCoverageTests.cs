using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

/// <summary>Map types without a typed wrapper are still created through the byte-level <see cref="BpfMap"/>.</summary>
[Collection(KernelCollection.Name)]
public class MapTypeCoverageTests
{
    public static TheoryData<MapType, uint, uint, uint, MapFlags> Specs()
    {
        uint pages = (uint)Environment.SystemPageSize;
        return new()
        {
            { MapType.XskMap, 4, 4, 4, MapFlags.None },
            { MapType.CgroupArray, 4, 4, 4, MapFlags.None },
            { MapType.ReuseportSockArray, 4, 8, 4, MapFlags.None },
            { MapType.CgroupStorage, 16, 8, 0, MapFlags.None },
            { MapType.PerCpuCgroupStorage, 8, 8, 0, MapFlags.None },
            { MapType.UserRingBuf, 0, 0, pages * 2, MapFlags.None },
            { MapType.Arena, 0, 0, 4, MapFlags.Mmapable },
        };
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void CreatesMapType(MapType type, uint keySize, uint valueSize, uint maxEntries, MapFlags flags)
    {
        KernelTest.Require();
        if (FeatureDeclarations.Find($"map-type:{type}") is not null) KernelTest.RequireDeclared($"map-type:{type}");
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "t_cover", Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, Flags = flags });
        var info = map.GetInfo();
        Assert.Equal(type, info.Type);
        Assert.Equal(keySize, info.KeySize);
        Assert.Equal(valueSize, info.ValueSize);
    }
}
