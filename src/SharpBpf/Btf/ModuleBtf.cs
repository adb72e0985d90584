using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>
/// Finding an attach target by name in kernel module BTF (<c>/sys/kernel/btf/MODULE</c>, Linux 5.11): split BTF
/// whose type ids continue after vmlinux's and whose string offsets past vmlinux's string section point into its
/// own. Only the type records are walked (no full parse): enough to resolve fentry/fexit/LSM/tp_btf targets that
/// live in modules.
/// </summary>
internal static class ModuleBtf
{
    public const string SysfsDirectory = "/sys/kernel/btf";

    private const int HeaderSize = 24;

    /// <summary>Searches every module's BTF (in name order) for a type <paramref name="name"/> of kind
    /// <paramref name="kind"/>; <paramref name="vmlinux"/> is the base the modules' BTF is split from.</summary>
    public static bool TryFind(BtfSpec vmlinux, string name, BtfKind kind, out string module, out uint typeId)
    {
        module = "";
        typeId = 0;
        if (!Directory.Exists(SysfsDirectory)) return false;
        foreach (var file in Directory.GetFiles(SysfsDirectory).Order(StringComparer.Ordinal))
        {
            string mod = Path.GetFileName(file);
            if (mod == "vmlinux") continue;
            byte[] blob;
            try
            {
                blob = File.ReadAllBytes(file);
            }
            catch (IOException)
            {
                continue; // module unloaded meanwhile
            }
            uint id = FindInSplit(blob, vmlinux, name, kind);
            if (id != 0)
            {
                module = mod;
                typeId = id;
                return true;
            }
        }
        return false;
    }

    /// <summary>The id of the first type named <paramref name="name"/> of kind <paramref name="kind"/> in split BTF
    /// <paramref name="split"/> on top of <paramref name="baseBtf"/>; 0 when there is none.</summary>
    /// <exception cref="BtfFormatException">The blob is malformed (offset in <paramref name="split"/>).</exception>
    public static uint FindInSplit(ReadOnlySpan<byte> split, BtfSpec baseBtf, string name, BtfKind kind)
    {
        var baseRaw = baseBtf.RawData.Span;
        var (baseStrAt, baseStrLen, _, _) = Sections(baseRaw, "base BTF");
        var (strAt, strLen, typesAt, typesLen) = Sections(split, "split BTF");
        var baseStrings = baseRaw.Slice(baseStrAt, baseStrLen);
        var strings = split.Slice(strAt, strLen);
        var types = split.Slice(typesAt, typesLen);
        byte[] wanted = Encoding.UTF8.GetBytes(name);
        uint id = baseBtf.MaxTypeId + 1;
        int pos = 0;
        while (pos < types.Length)
        {
            if (types.Length - pos < 12) throw new BtfFormatException(typesAt + pos, "a 12-byte type record");
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(types[pos..]);
            uint info = BinaryPrimitives.ReadUInt32LittleEndian(types[(pos + 4)..]);
            var k = (BtfKind)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffff);
            int extra = k switch
            {
                BtfKind.Int or BtfKind.Var or BtfKind.DeclTag => 4,
                BtfKind.Array => 12,
                BtfKind.Struct or BtfKind.Union or BtfKind.Datasec or BtfKind.Enum64 => vlen * 12,
                BtfKind.Enum or BtfKind.FuncProto => vlen * 8,
                BtfKind.Pointer or BtfKind.Fwd or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                    or BtfKind.Func or BtfKind.Float or BtfKind.TypeTag => 0,
                _ => throw new BtfFormatException(typesAt + pos + 4, $"a known type kind, got {(int)k}"),
            };
            if (k == kind && nameOff != 0 && NameIs(nameOff, baseStrings, strings, wanted, typesAt + pos)) return id;
            pos += 12 + extra;
            id++;
        }
        if (pos != types.Length) throw new BtfFormatException(typesAt + types.Length, "the type section to end at a record boundary");
        return 0;
    }

    private static bool NameIs(uint off, ReadOnlySpan<byte> baseStrings, ReadOnlySpan<byte> strings, byte[] wanted, long at)
    {
        ReadOnlySpan<byte> table = off < (uint)baseStrings.Length ? baseStrings : strings;
        long index = off < (uint)baseStrings.Length ? off : off - (long)baseStrings.Length;
        if (index >= table.Length) throw new BtfFormatException(at, $"a name offset inside the string sections, got {off}");
        var s = table[(int)index..];
        int end = s.IndexOf((byte)0);
        if (end < 0) throw new BtfFormatException(at, $"a NUL-terminated name at string offset {off}");
        return s[..end].SequenceEqual(wanted);
    }

    /// <summary>The string and type sections of a little-endian BTF blob (kernel BTF is in the host's order).</summary>
    private static (int StringsAt, int StringsLength, int TypesAt, int TypesLength) Sections(ReadOnlySpan<byte> blob, string what)
    {
        if (blob.Length < HeaderSize) throw new BtfFormatException(0, $"{what}: a {HeaderSize}-byte header, got {blob.Length} bytes");
        if (BinaryPrimitives.ReadUInt16LittleEndian(blob) != BtfSpec.Magic) throw new BtfFormatException(0, $"{what}: little-endian BTF magic");
        uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(blob[4..]);
        uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(blob[8..]), typeLen = BinaryPrimitives.ReadUInt32LittleEndian(blob[12..]);
        uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(blob[16..]), strLen = BinaryPrimitives.ReadUInt32LittleEndian(blob[20..]);
        if (hdrLen < HeaderSize || hdrLen > blob.Length) throw new BtfFormatException(4, $"{what}: a header length between {HeaderSize} and the blob size, got {hdrLen}");
        ulong dataLen = (ulong)blob.Length - hdrLen;
        if ((ulong)typeOff + typeLen > dataLen) throw new BtfFormatException(8, $"{what}: the type section inside the blob");
        if ((ulong)strOff + strLen > dataLen) throw new BtfFormatException(16, $"{what}: the string section inside the blob");
        int typesAt = (int)(hdrLen + typeOff);
        return ((int)(hdrLen + strOff), (int)strLen, typesAt, (int)typeLen);
    }
}
