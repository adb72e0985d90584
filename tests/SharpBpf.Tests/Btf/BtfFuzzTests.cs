using System.Buffers.Binary;
using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

using SharpBpf.Btf;

/// <summary>Truncations and byte flips of the real kernel blob must give a parsed BTF or a
/// <see cref="BtfFormatException"/>, never any other exception.</summary>
public class BtfFuzzTests
{
    [Fact]
    public void TruncatedKernelBlobAlwaysGivesFormatException()
    {
        var blob = KernelBtfBlob.Copy();
        var offsets = Enumerable.Range(0, 64).Concat(Enumerable.Range(1, 300).Select(i => (int)((long)blob.Length * i / 301)));
        foreach (int length in offsets)
            Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(blob.AsMemory(0, length)));
    }

    [Fact]
    public void TypeSectionCutAtManyOffsetsGivesFormatExceptionOrConsistentTypes()
    {
        var blob = KernelBtfBlob.Copy();
        uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(12));
        int errors = 0, parsed = 0;
        var rng = new Random(4242);
        for (int i = 0; i < 200; i++)
        {
            uint cut = i < 40 ? (uint)i * 4 : (uint)rng.Next(0, (int)typeLen);
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), cut);
            try
            {
                var btf = BtfSpec.Parse(blob);
                parsed++;
                Exercise(btf, 1, Math.Min(btf.MaxTypeId, 2000u));
            }
            catch (BtfFormatException)
            {
                errors++;
            }
        }
        Assert.True(errors > 100, $"only {errors} of 200 cuts rejected");
        Assert.True(parsed > 0, "no cut parsed"); // cuts at 0 (no types) and tiny prefixes of base types are valid
    }

    [Fact]
    public void RandomByteFlipsGiveFormatExceptionOrConsistentTypes()
    {
        var blob = KernelBtfBlob.Copy();
        int hdr = 24;
        uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(12));
        int window = (int)Math.Min(typeLen, 64 * 1024u);
        var rng = new Random(20261125);
        int errors = 0, parsed = 0;
        for (int iter = 0; iter < 300; iter++)
        {
            int flips = rng.Next(1, 5);
            var saved = new List<(int At, byte Value)>();
            for (int f = 0; f < flips; f++)
            {
                // Mostly inside the first 64 KiB of types, sometimes the header or the string section.
                int at = rng.Next(10) switch
                {
                    0 => rng.Next(0, hdr),
                    1 => rng.Next(hdr + (int)typeLen, blob.Length),
                    _ => hdr + rng.Next(0, window),
                };
                saved.Add((at, blob[at]));
                blob[at] ^= (byte)(1 << rng.Next(8));
                if (rng.Next(4) == 0) blob[at] = (byte)rng.Next(256);
            }
            try
            {
                var btf = BtfSpec.Parse(blob);
                parsed++;
                Exercise(btf, 1, Math.Min(btf.MaxTypeId, 3000u));
                if (iter % 25 == 0) _ = btf.TypesByName("task_struct");
            }
            catch (BtfFormatException)
            {
                errors++;
            }
            for (int s = saved.Count - 1; s >= 0; s--) blob[saved[s].At] = saved[s].Value;
        }
        Assert.True(errors > 0 && parsed > 0, $"errors {errors}, parsed {parsed}: the fuzz loop must see both outcomes");
    }

    [Fact]
    public void ByteFlipsOfASmallBlobWithEveryKindGiveFormatExceptionOrConsistentTypes()
    {
        var b = new BtfBlobBuilder();
        uint i = b.Add(BtfKind.Int, "int", 0, 4, false, (1u << 24) | 32);
        uint p = b.Add(BtfKind.Pointer, "", 0, i);
        uint a = b.Add(BtfKind.Array, "", 0, 0, false, p, i, 4);
        uint s = b.Add(BtfKind.Struct, "s", 2, 40, true, b.Str("a"), a, 0, b.Str("bits"), i, (5u << 24) | 256);
        b.Add(BtfKind.Union, "u", 1, 8, false, b.Str("x"), s, 0);
        b.Add(BtfKind.Enum, "e", 1, 4, false, b.Str("A"), 1);
        b.Add(BtfKind.Fwd, "f", 0, 0);
        uint td = b.Add(BtfKind.Typedef, "td", 0, s);
        uint c = b.Add(BtfKind.Const, "", 0, td);
        b.Add(BtfKind.Volatile, "", 0, c);
        b.Add(BtfKind.Restrict, "", 0, p);
        uint proto = b.Add(BtfKind.FuncProto, "", 1, i, false, b.Str("arg"), c);
        b.Add(BtfKind.Func, "fn", 1, proto);
        uint v = b.Add(BtfKind.Var, "v", 0, a, false, 1);
        b.Add(BtfKind.Datasec, ".data", 1, 32, false, v, 0, 32);
        b.Add(BtfKind.Float, "float", 0, 4);
        b.Add(BtfKind.DeclTag, "tag", 0, s, false, unchecked((uint)-1));
        b.Add(BtfKind.TypeTag, "user", 0, i);
        b.Add(BtfKind.Enum64, "e64", 1, 8, true, b.Str("M"), 0, 0x8000_0000);
        var blob = b.Build();
        Assert.Equal(19u, BtfSpec.Parse(blob).MaxTypeId);

        var rng = new Random(7);
        int errors = 0, parsed = 0;
        for (int iter = 0; iter < 5000; iter++)
        {
            var copy = (byte[])blob.Clone();
            for (int f = rng.Next(1, 4); f > 0; f--) copy[rng.Next(copy.Length)] ^= (byte)(1 << rng.Next(8));
            try
            {
                var btf = BtfSpec.Parse(copy);
                parsed++;
                Exercise(btf, 1, btf.MaxTypeId);
                foreach (var t in btf.Types) _ = btf.TypesByName(t.Name);
            }
            catch (BtfFormatException)
            {
                errors++;
            }
        }
        Assert.True(errors > 0 && parsed > 0, $"errors {errors}, parsed {parsed}: the fuzz loop must see both outcomes");
    }

    /// <summary>Touches every API on types [first, last]; only BtfFormatException (loops) or ArgumentException
    /// (size of a sizeless type) may come out.</summary>
    internal static void Exercise(BtfSpec btf, uint first, uint last)
    {
        for (uint id = first; id <= last; id++)
        {
            var t = btf.TypeById(id);
            _ = t.ToString();
            try
            {
                _ = btf.Resolve(t);
            }
            catch (BtfFormatException) { }
            try
            {
                _ = btf.SizeOf(t);
            }
            catch (BtfFormatException) { }
            catch (ArgumentException) { }
            switch (t)
            {
                case BtfComposite c:
                    foreach (var m in c.Members) _ = m.Type;
                    break;
                case BtfReference r:
                    _ = r.Target;
                    break;
                case BtfArray a:
                    _ = a.ElementType;
                    break;
                case BtfFunc f:
                    _ = f.Proto;
                    break;
                case BtfFuncProto p:
                    foreach (var prm in p.Parameters) _ = btf.TypeById(prm.TypeId);
                    break;
                case BtfDatasec d:
                    foreach (var v in d.Variables) _ = btf.TypeById(v.TypeId);
                    break;
            }
        }
    }
}
