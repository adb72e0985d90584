using System.Text.Json;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class MapCommandTests
{
    [Fact]
    public void ListShowAndDumpSeeAMapTheTestCreated()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "cli_dump", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 8 });
        map.Update([1, 0, 0, 0], [0xaa, 0, 0, 0]);
        map.Update([2, 0, 0, 0], [0xbb, 0, 0, 0]);

        var list = CliRunner.Run("map", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        using (var doc = JsonDocument.Parse(list.Stdout))
        {
            var mine = doc.RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetUInt32() == map.Id);
            Assert.Equal("hash", mine.GetProperty("type").GetString());
            Assert.Equal("cli_dump", mine.GetProperty("name").GetString());
            Assert.Equal(8u, mine.GetProperty("max_entries").GetUInt32());
        }

        var table = CliRunner.Run("map", "list");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("cli_dump", table.Stdout);

        var show = CliRunner.Run("map", "show", map.Id.ToString());
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("cli_dump", show.Stdout);

        var dump = CliRunner.Run("map", "dump", map.Id.ToString());
        Assert.Equal(0, dump.ExitCode);
        Assert.Contains("key: 01 00 00 00  value: aa 00 00 00", dump.Stdout);
        Assert.Contains("key: 02 00 00 00  value: bb 00 00 00", dump.Stdout);
        Assert.Contains("Found 2 elements", dump.Stdout);

        var dumpJson = CliRunner.Run("map", "dump", map.Id.ToString(), "--json");
        using var d = JsonDocument.Parse(dumpJson.Stdout);
        Assert.Equal(2, d.RootElement.GetArrayLength());
    }

    [Fact]
    public void DumpOfPerCpuMapShowsEveryCpu()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "cli_pcpu", Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        var value = new byte[map.ValueBufferSize];
        for (int cpu = 0; cpu < value.Length / 8; cpu++) value[cpu * 8] = (byte)(0x10 + cpu);
        map.Update([0, 0, 0, 0], value);
        var dump = CliRunner.Run("map", "dump", map.Id.ToString());
        Assert.Equal(0, dump.ExitCode);
        Assert.Contains("value (CPU 00): 10 00 00 00", dump.Stdout);
        Assert.Contains("value (CPU 01): 11 00 00 00", dump.Stdout);
    }
}
