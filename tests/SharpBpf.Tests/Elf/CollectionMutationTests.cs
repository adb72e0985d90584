using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using Xunit.Sdk;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// About a thousand mutated objects go through a full collection load: each either parses and loads, or fails
/// with a typed error (ElfFormatException/BtfFormatException at parse, CollectionLoadException at load), and
/// nothing stays behind: no fd, no pin, no map or program of the objects' names.
/// </summary>
[Collection(KernelCollection.Name)]
public class CollectionMutationTests(ITestOutputHelper output)
{
    private const int Mutants = 1000;

    [Fact]
    public void MutatedObjectsLoadOrFailCleanly()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var pins = new PinDirectory();
        var options = new CollectionLoadOptions { PinPath = pins.Path };
        var objects = TestData.Objects.Select(f => (Name: f, Bytes: TestData.Read(f), Regions: Regions(TestData.Read(f)))).ToArray();
        var names = new HashSet<string>(objects.SelectMany(o =>
        {
            var spec = ElfReader.Read(o.Bytes, ElfReader.ObjectNameFromPath(o.Name));
            return spec.Maps.Values.Select(m => m.Name).Concat(spec.Programs.Keys.Select(k => k.Length > 15 ? k[..15] : k));
        }));
        uint maxMap = BpfMap.EnumerateIds().DefaultIfEmpty().Max(), maxProg = BpfProgram.EnumerateIds().DefaultIfEmpty().Max();
        var rng = new Random(1125_2026);
        int parseErrors = 0, loadErrors = 0, loaded = 0, tooBig = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Mutants; i++)
        {
            var (name, original, regions) = objects[i % objects.Length];
            var bytes = (byte[])original.Clone();
            var (start, len) = regions[rng.Next(regions.Length)];
            int flips = rng.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                int at = start + rng.Next(len);
                if (rng.Next(2) == 0) bytes[at] ^= (byte)(1 << rng.Next(8));
                else bytes[at] = (byte)rng.Next(256);
            }
            CollectionSpec spec;
            try
            {
                spec = ElfReader.Read(bytes, "mutant");
            }
            catch (Exception e) when (e is ElfFormatException or BtfFormatException)
            {
                parseErrors++;
                continue;
            }
            // Keep the shared machine's memory safe: a mutated max_entries can ask for gigabytes.
            if (spec.Maps.Values.Any(m => (ulong)m.MaxEntries * Math.Max(1u, m.KeySize + m.ValueSize) > 64UL << 20
                                          || m.InnerMap is { } im && (ulong)im.MaxEntries * (im.KeySize + im.ValueSize) > 64UL << 20))
            {
                tooBig++;
                continue;
            }
            try
            {
                using var c = BpfCollection.Load(spec, options);
                loaded++;
                foreach (var pin in Directory.GetFiles(pins.Path)) File.Delete(pin); // a successful load pins on purpose
            }
            catch (CollectionLoadException)
            {
                loadErrors++;
                Assert.True(Directory.GetFiles(pins.Path).Length == 0, $"{name} mutant {i}: a failed load left a pin");
            }
            catch (Exception e)
            {
                throw new XunitException($"{name} mutant {i} (flips in [{start}, +{len})): {e.GetType().Name}: {e}");
            }
        }
        output.WriteLine($"{Mutants} mutants in {sw.Elapsed.TotalSeconds:F1} s: {parseErrors} parse errors, {loadErrors} load errors, {loaded} loaded, {tooBig} skipped (maps over 64 MiB)");
        Assert.True(loadErrors > 20, $"only {loadErrors} load failures: the mutations do not reach the kernel");
        Assert.True(loaded > 100, $"only {loaded} mutants loaded");
        // Programs drop their map references after an RCU grace period: give the kernel a moment to free them.
        List<string?> leftMaps = [], leftProgs = [];
        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(10); Thread.Sleep(100))
        {
            leftMaps = BpfMap.EnumerateIds().Where(id => id > maxMap).Select(NameOfMap).Where(n => n is not null && names.Contains(n)).ToList();
            leftProgs = BpfProgram.EnumerateIds().Where(id => id > maxProg).Select(NameOfProgram).Where(n => n is not null && names.Contains(n)).ToList();
            if (leftMaps.Count == 0 && leftProgs.Count == 0) break;
        }
        Assert.True(leftMaps.Count == 0, "maps left behind: " + string.Join(", ", leftMaps));
        Assert.True(leftProgs.Count == 0, "programs left behind: " + string.Join(", ", leftProgs));
    }

    private static (int, int)[] Regions(byte[] bytes)
    {
        var elf = ElfFile.Parse(bytes);
        return elf.Sections
            .Where(s => s.Size > 0 && s.Type != ElfSection.SHT_NOBITS && (s.IsExecutable || s.Type == ElfSection.SHT_REL && !s.Name.Contains("debug")
                        || s.Name is ".maps" or "maps" or ".BTF" || ElfReader.IsDataSection(s.Name)))
            .Select(s => (s.Offset, s.Size)).ToArray();
    }

    private static string? NameOfMap(uint id)
    {
        try { using var m = BpfMap.FromId(id); return m.Name; }
        catch (BpfException) { return null; }
    }

    private static string? NameOfProgram(uint id)
    {
        try { using var p = BpfProgram.FromId(id); return p.Name; }
        catch (BpfException) { return null; }
    }
}
