using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Maps;
using SharpBpf.Pinning;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>map dump|lookup|update|delete|create|pin</c>: entries printed through BTF types, checked against the
/// real bpftool's "formatted" JSON for the same maps.</summary>
[Collection(KernelCollection.Name)]
public class MapBtfCommandTests
{
    private static string S(uint v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A struct value with named fields set through the object's BTF (so the test does not hard-code the
    /// layout clang chose).</summary>
    private static byte[] CraftedValue(BtfSpec btf, int size)
    {
        var value = new byte[size];
        var s = btf.TypeByName<BtfStruct>("value");
        int Off(string name) => (int)(s.FindMember(name)!.BitOffset / 8);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(Off("count")), 5);
        Encoding.ASCII.GetBytes("bash").CopyTo(value, Off("comm"));
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(Off("color")), 7); // BLUE
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(Off("arr") + 4 * i), (uint)(i + 1));
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(Off("in")), 0xffff);
        value[Off("in") + 2] = 0xfe; // b = -2
        Encoding.ASCII.GetBytes("ABCD").CopyTo(value, Off("un"));
        value[s.FindMember("flag")!.BitOffset / 8] = 0b1101; // flag 1, level 6
        BinaryPrimitives.WriteInt32LittleEndian(value.AsSpan(Off("delta")), -5);
        value[Off("ok")] = 1;
        value[Off("ch")] = (byte)'x';
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(Off("ptr")), 0xffff888012345678);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(Off("other")), 42); // no enumerator
        value[Off("big")] = 0x11;
        value[Off("big") + 15] = 0x80;
        return value;
    }

    private static void AssertSameJson(JsonElement expected, JsonElement actual, string where)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{where}: {expected.ValueKind} expected, got {actual.ValueKind} ({actual})");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name), actual.EnumerateObject().Select(p => p.Name));
                foreach (var p in expected.EnumerateObject()) AssertSameJson(p.Value, actual.GetProperty(p.Name), $"{where}.{p.Name}");
                break;
            case JsonValueKind.Array:
                Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
                for (int i = 0; i < expected.GetArrayLength(); i++) AssertSameJson(expected[i], actual[i], $"{where}[{i}]");
                break;
            case JsonValueKind.Number:
                // bpftool 7.1 reads every enum as signed; the BTF of enum color says unsigned (kind_flag 0 with
                // 6.0+ semantics), and we honour it: 0xa0a3c155 is 2695104085, not -1599863211
                if (where.EndsWith(".other", StringComparison.Ordinal) && expected.TryGetInt32(out int signed) && signed < 0)
                {
                    Assert.Equal((uint)signed, actual.GetUInt32());
                    break;
                }
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{where}: {expected.GetRawText()} expected, got {actual.GetRawText()}");
                break;
            default:
                Assert.True(expected.ToString() == actual.ToString(), $"{where}: '{expected}' expected, got '{actual}'");
                break;
        }
    }

    private static void AssertDumpMatchesBpftool(BpfMap map, int minEntries)
    {
        var ours = CliRunner.Run("map", "dump", S(map.Id), "--json");
        Assert.True(ours.ExitCode == 0, ours.Stderr);
        using var o = JsonDocument.Parse(ours.Stdout);
        using var b = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("map", "dump", "id", S(map.Id), "-j"));
        Assert.True(b.RootElement.GetArrayLength() >= minEntries);
        // same entries in the same (kernel iteration) order, raw bytes and the formatted section alike
        AssertSameJson(b.RootElement, o.RootElement, $"map {map.Name}");
    }

    [Fact]
    public void DumpFormatsStructsEnumsArraysAndBitfieldsLikeBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        var map = coll.Maps["inspect_hash"];
        var btf = BtfSpec.Parse(BtfHandleSpec(map));
        map.Update([1, 0, 0, 0, 80, 0, 0, 0], CraftedValue(btf, (int)map.ValueSize));
        var random = new byte[map.ValueSize];
        new Random(7).NextBytes(random);
        map.Update([2, 0, 0, 0, 0x90, 0x1f, 0, 0], random);
        AssertDumpMatchesBpftool(map, 2);

        var text = CliRunner.Run("map", "dump", S(map.Id));
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains("key: {\"pid\":1,\"port\":80}  value: {\"count\":5,\"comm\":\"bash\",\"color\":\"BLUE\",\"arr\":[1,2,3],", text.Stdout);
        Assert.Contains("\"flag\":\"0x1\",\"level\":\"0x6\",\"delta\":-5,\"\":{\"anon_u\":0,\"anon_h\":0},\"ok\":true,\"ch\":120,", text.Stdout);
        Assert.Contains("\"other\":42,\"big\":\"0x80000000000000000000000000000011\"}", text.Stdout);
        Assert.Contains("Found 2 elements", text.Stdout);
    }

    /// <summary>The map's BTF as the kernel holds it.</summary>
    private static ReadOnlyMemory<byte> BtfHandleSpec(BpfMap map)
    {
        using var h = BtfHandle.FromId(map.GetInfo().BtfId);
        return h.ReadRaw();
    }

    [Fact]
    public void PerCpuAndGlobalDataMapsFormatLikeBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        var pcpu = coll.Maps["inspect_pcpu"];
        var v = new byte[pcpu.ValueBufferSize];
        for (int cpu = 0; cpu < v.Length / 8; cpu++) v[cpu * 8] = (byte)(3 + cpu);
        pcpu.Update([1, 0, 0, 0], v);
        AssertDumpMatchesBpftool(pcpu, 2);
        var rodata = coll.Maps.Values.Single(m => m.Name.EndsWith(".rodata", StringComparison.Ordinal));
        AssertDumpMatchesBpftool(rodata, 1);
        var text = CliRunner.Run("map", "dump", S(rodata.Id));
        Assert.Contains("value: {\".rodata\":[{\"printk_xdp.____fmt\":\"sharpbpf-marker %u\"}]}", text.Stdout);
    }

    [Fact]
    public void UpdateLookupDeleteTakeHexBytes()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        var map = coll.Maps["inspect_hash"];
        string id = S(map.Id);
        var value = new List<string> { "value" };
        value.AddRange(Enumerable.Repeat("00", (int)map.ValueSize));
        value[1] = "2a";
        var update = CliRunner.Run(["map", "update", id, "key", "03", "00", "00", "00", "0x16", "00", "00", "00", .. value, "noexist"]);
        Assert.True(update.ExitCode == 0, update.Stderr);
        var raw = new byte[map.ValueSize];
        Assert.True(map.TryLookup([3, 0, 0, 0, 0x16, 0, 0, 0], raw));
        Assert.Equal(0x2a, raw[0]);

        var again = CliRunner.Run(["map", "update", id, "key", "03", "00", "00", "00", "16", "00", "00", "00", .. value, "noexist"]);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already exists", again.Stderr);

        var lookup = CliRunner.Run("map", "lookup", id, "key", "hex", "03", "00", "00", "00", "16", "00", "00", "00", "--json");
        Assert.True(lookup.ExitCode == 0, lookup.Stderr);
        using (var doc = JsonDocument.Parse(lookup.Stdout))
        {
            var f = doc.RootElement.GetProperty("formatted");
            Assert.Equal(22, f.GetProperty("key").GetProperty("port").GetInt32());
            Assert.Equal(42, f.GetProperty("value").GetProperty("count").GetInt32());
            Assert.Equal("RED", f.GetProperty("value").GetProperty("color").GetString());
            Assert.Equal("", f.GetProperty("value").GetProperty("comm").GetString());
        }
        var lookupText = CliRunner.Run("map", "lookup", id, "key", "03", "00", "00", "00", "16", "00", "00", "00");
        Assert.StartsWith("key: {\"pid\":3,\"port\":22}  value: {\"count\":42,", lookupText.Stdout);

        var delete = CliRunner.Run("map", "delete", id, "key", "03", "00", "00", "00", "16", "00", "00", "00");
        Assert.True(delete.ExitCode == 0, delete.Stderr);
        Assert.False(map.TryLookup([3, 0, 0, 0, 0x16, 0, 0, 0], raw));
        var missing = CliRunner.Run("map", "lookup", id, "key", "03", "00", "00", "00", "16", "00", "00", "00");
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal($"sharpbpf: error: map {id}: key 03 00 00 00 16 00 00 00 not found\n", missing.Stderr);
    }

    [Theory]
    [InlineData(new[] { "key", "01", "zz", "00", "00" }, "key byte 2 'zz' is not a hex byte (00..ff)")]
    [InlineData(new[] { "key", "01", "00" }, "the map's key is 8 bytes, 2 given")]
    [InlineData(new[] { "01", "00" }, "unexpected word 1 '01': expected key")]
    [InlineData(new[] { "key" }, "missing 'key BYTES...' (e.g. key 01 00 00 00)")]
    [InlineData(new[] { "key", "100", "00" }, "key byte 1 '100' is not a hex byte (00..ff)")]
    public void BadKeysAreUsageErrors(string[] words, string message)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        var r = CliRunner.Run(["map", "lookup", S(coll.Maps["inspect_hash"].Id), .. words]);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"sharpbpf: error: {message}\n", r.Stderr);
    }

    [Fact]
    public void CreatePinsAMapThatUpdateAndDumpReachByPath()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string path = Path.Combine(BpfFs.DefaultPath, "sharpbpf-cli-create-" + Guid.NewGuid().ToString("N")[..10]);
        string pin2 = path + "-again";
        try
        {
            var create = CliRunner.Run("map", "create", path, "--type", "percpu_hash", "--key", "4", "--value", "4", "--entries", "8", "--name", "cli_created", "--json");
            Assert.True(create.ExitCode == 0, create.Stderr);
            uint id;
            using (var doc = JsonDocument.Parse(create.Stdout)) id = doc.RootElement.GetProperty("id").GetUInt32();
            using (var m = BpfMap.FromPinned(path))
            {
                Assert.Equal(id, m.Id);
                Assert.Equal(MapType.PerCpuHash, m.Type);
                Assert.Equal("cli_created", m.Name);
            }
            // one value for all CPUs
            var update = CliRunner.Run("map", "update", path, "key", "07", "00", "00", "00", "value", "09", "00", "00", "00");
            Assert.True(update.ExitCode == 0, update.Stderr);
            var dump = CliRunner.Run("map", "dump", S(id));
            Assert.Contains("key: 07 00 00 00", dump.Stdout);
            Assert.Contains("value (CPU 00): 09 00 00 00", dump.Stdout);
            Assert.Contains("value (CPU 01): 09 00 00 00", dump.Stdout);

            var pin = CliRunner.Run("map", "pin", S(id), pin2);
            Assert.True(pin.ExitCode == 0, pin.Stderr);
            using (var m = BpfMap.FromPinned(pin2)) Assert.Equal(id, m.Id);

            var badType = CliRunner.Run("map", "create", path + "x", "--type", "hashh", "--key", "4", "--value", "4", "--entries", "8");
            Assert.Equal(2, badType.ExitCode);
            Assert.StartsWith("sharpbpf: error: unknown map type 'hashh' (one of: hash, array,", badType.Stderr);
        }
        finally
        {
            if (File.Exists(path)) File.Delete(path);
            if (File.Exists(pin2)) File.Delete(pin2);
        }
    }
}
