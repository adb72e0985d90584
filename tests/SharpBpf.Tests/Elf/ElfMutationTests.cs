using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Btf;
using SharpBpf.Elf;
using Xunit.Sdk;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// Mutated testdata objects (byte flips, field overwrites with edge values, truncations), weighted toward the parts
/// the reader interprets (headers, section table, symbols, relocations, map definitions, .BTF): the reader must give
/// a spec or <see cref="ElfFormatException"/>/<see cref="BtfFormatException"/>, never another exception.
/// </summary>
public class ElfMutationTests(ITestOutputHelper output)
{
    public const int Iterations = 100_000;

    private sealed record Target(string Name, byte[] Original, (int Start, int Length)[] Regions);

    private static Target Prepare(string file)
    {
        var bytes = TestData.Read(file);
        var elf = ElfFile.Parse(bytes);
        var regions = new List<(int, int)> { (0, 64) };
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        regions.Add(((int)shoff, elf.Sections.Length * 64));
        foreach (var s in elf.Sections)
        {
            if (s.Type == ElfSection.SHT_NOBITS || s.Size == 0) continue;
            bool interesting = s.Type is ElfSection.SHT_SYMTAB or ElfSection.SHT_REL or ElfSection.SHT_STRTAB
                || s.IsExecutable || s.Name is ".maps" or "maps" or ".BTF" or "license" or "version" || ElfReader.IsDataSection(s.Name);
            if (interesting) regions.Add((s.Offset, Math.Min(s.Size, 4096)));
        }
        return new Target(file, bytes, [.. regions]);
    }

    [Fact]
    public void HundredThousandMutatedObjectsGiveSpecsOrTypedErrors()
    {
        var targets = TestData.Objects.Select(Prepare).ToArray();
        var rng = new Random(5_2026_1125);
        int parsed = 0, elfErrors = 0, btfErrors = 0;
        var sw = Stopwatch.StartNew();
        for (int iter = 0; iter < Iterations; iter++)
        {
            var t = targets[iter % targets.Length];
            var buffer = (byte[])t.Original.Clone();
            int length = Mutate(buffer, t, rng, out string what);
            try
            {
                var spec = ElfReader.Read(buffer.AsMemory(0, length), "mutant");
                parsed++;
                foreach (var p in spec.Programs.Values)
                    foreach (var r in p.MapReferences)
                        if (!spec.Maps.ContainsKey(r.MapName) || r.Instruction < 0 || r.Instruction + 1 >= p.Instructions.Length)
                            throw new XunitException($"{t.Name} ({what}): program {p.Name} has a dangling map reference {r}");
            }
            catch (ElfFormatException) { elfErrors++; }
            catch (BtfFormatException) { btfErrors++; }
            catch (Exception e) when (e is not XunitException)
            {
                throw new XunitException($"{t.Name} mutated by {what} (iteration {iter}) threw {e.GetType().Name}: {e}");
            }
        }
        sw.Stop();
        output.WriteLine($"{Iterations} mutants of {targets.Length} objects in {sw.Elapsed.TotalSeconds:F1} s: {parsed} parsed, {elfErrors} ElfFormatException, {btfErrors} BtfFormatException");
        Assert.True(elfErrors > Iterations / 20, $"only {elfErrors} ELF errors: the mutations miss the structure");
        Assert.True(parsed > Iterations / 20, $"only {parsed} parsed: the mutations are too destructive to exercise later stages");
    }

    private static readonly ulong[] Edges = [0, 1, 7, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8, ulong.MaxValue];

    private static int Mutate(byte[] b, Target t, Random rng, out string what)
    {
        int pick = rng.Next(100);
        var (start, len) = t.Regions[rng.Next(t.Regions.Length)];
        int Pos(int width) => Math.Clamp(start + rng.Next(Math.Max(1, len)), 0, b.Length - width);
        if (pick < 5)
        {
            int cut = rng.Next(b.Length);
            what = $"truncation to {cut}";
            return cut;
        }
        if (pick < 45)
        {
            int n = rng.Next(1, 4);
            what = $"{n} byte flip(s) in [{start}, +{len})";
            for (int i = 0; i < n; i++) b[Pos(1)] ^= (byte)(1 << rng.Next(8));
            return b.Length;
        }
        if (pick < 75)
        {
            int at = Pos(4) & ~3;
            uint v = (uint)Edges[rng.Next(Edges.Length)];
            if (rng.Next(3) == 0) v = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) + (uint)rng.Next(-16, 17);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
            what = $"u32 at {at} = 0x{v:x}";
            return b.Length;
        }
        if (pick < 90)
        {
            int at = Math.Clamp(Pos(8) & ~7, 0, b.Length - 8);
            ulong v = Edges[rng.Next(Edges.Length)];
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);
            what = $"u64 at {at} = 0x{v:x}";
            return b.Length;
        }
        int p = Pos(1);
        b[p] = (byte)rng.Next(256);
        what = $"random byte at {p}";
        return b.Length;
    }
}
