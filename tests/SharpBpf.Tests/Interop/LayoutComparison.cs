using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Btf;

namespace SharpBpf.Tests.InteropLayout; // not ".Interop": that would hide SharpBpf.Interop for code in SharpBpf.Tests

using SharpBpf.Btf;

/// <summary>A kernel struct member after flattening: byte offset and size in the outermost struct.</summary>
internal readonly record struct FlatField(string Name, long Offset, long Size);

/// <summary>Compares a C# interop struct with a kernel struct/union from BTF, field by field.</summary>
internal static class LayoutComparison
{
    /// <summary>
    /// Flattens a BTF struct/union: members of anonymous struct/union members are lifted without prefix, members of
    /// named nested struct/union members are added as "name_member" (and the named member itself stays too).
    /// Bitfields are reported as their containing 4-byte unit.
    /// </summary>
    public static Dictionary<string, List<FlatField>> Flatten(BtfSpec btf, BtfComposite type)
    {
        var result = new Dictionary<string, List<FlatField>>(StringComparer.Ordinal);
        Flatten(btf, type, "", 0, result);
        return result;
    }

    private static void Flatten(BtfSpec btf, BtfComposite type, string prefix, long baseBits, Dictionary<string, List<FlatField>> into)
    {
        foreach (var m in type.Members)
        {
            long bits = baseBits + m.BitOffset;
            var resolved = btf.Resolve(m.Type);
            if (m.Name.Length == 0)
            {
                if (resolved is BtfComposite anon) Flatten(btf, anon, prefix, bits, into);
                continue;
            }
            string name = prefix + m.Name;
            FlatField field = m.BitfieldSize != 0
                ? new FlatField(name, bits / 32 * 4, 4)
                : new FlatField(name, bits / 8, btf.SizeOf(m.Type));
            if (!into.TryGetValue(name, out var list)) into[name] = list = [];
            list.Add(field);
            if (resolved is BtfComposite nested) Flatten(btf, nested, name + "_", bits, into);
        }
    }

    /// <summary>Every mismatch between <paramref name="csharp"/> and <paramref name="kernel"/>, empty when they agree.</summary>
    public static List<string> Compare(Type csharp, BtfSpec btf, BtfComposite kernel)
    {
        var problems = new List<string>();
        var flat = Flatten(btf, kernel);
        int size = SizeOf(csharp);
        if (size != kernel.Size)
            problems.Add($"{csharp.Name}: size {size}, kernel {kernel} is {kernel.Size} bytes");
        foreach (var f in csharp.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            long offset = Marshal.OffsetOf(csharp, f.Name).ToInt64();
            long fieldSize = FieldSize(f);
            if (!flat.TryGetValue(f.Name, out var candidates))
            {
                problems.Add($"{csharp.Name}.{f.Name}: no such member in {kernel}");
                continue;
            }
            if (!candidates.Any(c => c.Offset == offset && c.Size == fieldSize))
                problems.Add($"{csharp.Name}.{f.Name}: offset {offset} size {fieldSize}, kernel has " +
                             string.Join(" or ", candidates.Select(c => $"offset {c.Offset} size {c.Size}")));
        }
        return problems;
    }

    private static long FieldSize(FieldInfo f)
    {
        var fixedBuffer = f.GetCustomAttribute<FixedBufferAttribute>();
        if (fixedBuffer is not null) return (long)SizeOf(fixedBuffer.ElementType) * fixedBuffer.Length;
        return SizeOf(f.FieldType);
    }

    private static int SizeOf(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;
}
