using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using SharpBpf.Btf;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// Writes map keys and values as JSON through their BTF types, the way <c>bpftool map dump</c> fills its
/// "formatted" section (bpftool's btf_dumper): structs and unions as objects with field names, enums by enumerator
/// name, arrays as arrays, arrays of <c>char</c> holding printable text as strings, bitfields as hex strings,
/// anonymous members under the empty name,
/// 128-bit integers as hex strings, pointers as numbers, global-data sections as <c>{".data": [{var: value}]}</c>.
/// Data shorter than a type (a corrupt BTF size) is a <see cref="BtfValueException"/>, never an index error.
/// </summary>
internal sealed class BtfValueFormatter(BtfSpec btf)
{
    private const int MaxDepth = 64;

    public BtfSpec Btf { get; } = btf;

    /// <summary>The JSON text of <paramref name="data"/> as type <paramref name="typeId"/>, indented or compact.</summary>
    public string Format(uint typeId, ReadOnlySpan<byte> data, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
            Write(w, typeId, data);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes one JSON value for <paramref name="data"/> as type <paramref name="typeId"/>.</summary>
    /// <exception cref="BtfValueException">The type is unknown, has no size, or does not fit the data.</exception>
    public void Write(Utf8JsonWriter w, uint typeId, ReadOnlySpan<byte> data)
    {
        if (!Btf.TryTypeById(typeId, out var type)) throw new BtfValueException($"BTF has no type id {typeId} (max {Btf.MaxTypeId})");
        Write(w, type, data, 0);
    }

    private void Write(Utf8JsonWriter w, BtfType type, ReadOnlySpan<byte> data, int depth)
    {
        if (depth > MaxDepth) throw new BtfValueException($"types nested deeper than {MaxDepth} levels at {type}");
        switch (type)
        {
            case BtfTypedef or BtfConst or BtfVolatile or BtfRestrict or BtfTypeTag:
                Write(w, ((BtfReference)type).Target, data, depth + 1);
                return;
            case BtfInt i:
                WriteInt(w, i, Slice(data, 0, i.Size, type));
                return;
            case BtfEnum e:
                WriteEnum(w, e, Slice(data, 0, e.Size, type));
                return;
            case BtfPointer:
                w.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(Slice(data, 0, 8, type)));
                return;
            case BtfFloat f:
                var fd = Slice(data, 0, f.Size, type);
                if (f.Size == 4) w.WriteNumberValue(BinaryPrimitives.ReadSingleLittleEndian(fd));
                else if (f.Size == 8) w.WriteNumberValue(BinaryPrimitives.ReadDoubleLittleEndian(fd));
                else w.WriteStringValue(HexNumber(fd));
                return;
            case BtfArray a:
                WriteArray(w, a, data, depth);
                return;
            case BtfComposite c:
                WriteComposite(w, c, data, depth);
                return;
            case BtfDatasec ds:
                w.WriteStartObject();
                w.WriteStartArray(ds.Name);
                foreach (var v in ds.Variables)
                {
                    var var = Btf.TypeById(v.TypeId);
                    w.WriteStartObject();
                    w.WritePropertyName(var.Name);
                    var target = var is BtfVar bv ? bv.Type : var;
                    Write(w, target, Slice(data, v.Offset, v.Size, var), depth + 1);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                return;
            case BtfVar vr:
                Write(w, vr.Type, data, depth + 1);
                return;
            default:
                throw new BtfValueException($"{type} has no value to print");
        }
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, uint offset, uint size, BtfType type)
    {
        if ((ulong)offset + size > (ulong)data.Length)
            throw new BtfValueException($"{type} needs bytes {offset}..{(ulong)offset + size} but the data has {data.Length}");
        return data.Slice((int)offset, (int)size);
    }

    private static void WriteInt(Utf8JsonWriter w, BtfInt i, ReadOnlySpan<byte> d)
    {
        if (i.Encoding.HasFlag(BtfIntEncoding.Bool))
        {
            w.WriteBooleanValue(d.IndexOfAnyExcept((byte)0) >= 0);
            return;
        }
        if (i.BitOffset != 0 || i.Bits != i.Size * 8)
        {
            WriteBits(w, d, i.BitOffset, i.Bits);
            return;
        }
        bool signed = i.Encoding.HasFlag(BtfIntEncoding.Signed);
        if (i.Encoding.HasFlag(BtfIntEncoding.Char) && i.Size == 1)
        {
            char c = (char)d[0];
            if (c >= 0x20 && c < 0x7f) w.WriteStringValue(c.ToString());
            else w.WriteNumberValue(d[0]);
            return;
        }
        switch (i.Size)
        {
            case 1: if (signed) w.WriteNumberValue((sbyte)d[0]); else w.WriteNumberValue(d[0]); return;
            case 2: if (signed) w.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(d)); else w.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(d)); return;
            case 4: if (signed) w.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(d)); else w.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(d)); return;
            case 8: if (signed) w.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(d)); else w.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(d)); return;
            default: w.WriteStringValue(HexNumber(d)); return; // __int128 and odd sizes, as bpftool
        }
    }

    /// <summary>A bitfield (or a legacy int with a bit offset) as bpftool prints it: a hex string.</summary>
    private static void WriteBits(Utf8JsonWriter w, ReadOnlySpan<byte> storage, int bitOffset, int bits)
    {
        var all = new BigInteger(storage, isUnsigned: true, isBigEndian: false);
        var value = (all >> bitOffset) & ((BigInteger.One << bits) - 1);
        w.WriteStringValue("0x" + value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(1, '0'));
    }

    private static string HexNumber(ReadOnlySpan<byte> littleEndian)
    {
        var v = new BigInteger(littleEndian, isUnsigned: true, isBigEndian: false);
        return "0x" + v.ToString("x", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(1, '0');
    }

    private static void WriteEnum(Utf8JsonWriter w, BtfEnum e, ReadOnlySpan<byte> d)
    {
        long raw = e.Size switch
        {
            1 => e.Signed ? (sbyte)d[0] : d[0],
            2 => e.Signed ? BinaryPrimitives.ReadInt16LittleEndian(d) : BinaryPrimitives.ReadUInt16LittleEndian(d),
            4 => e.Signed ? BinaryPrimitives.ReadInt32LittleEndian(d) : BinaryPrimitives.ReadUInt32LittleEndian(d),
            8 => BinaryPrimitives.ReadInt64LittleEndian(d),
            _ => throw new BtfValueException($"{e} has size {e.Size}, not 1, 2, 4 or 8"),
        };
        foreach (var v in e.Values)
        {
            bool match = e.Size == 8 || e.Signed ? v.Value == raw : (ulong)v.Value == (ulong)raw || (uint)v.Value == (ulong)raw;
            if (match)
            {
                w.WriteStringValue(v.Name);
                return;
            }
        }
        if (e.Signed) w.WriteNumberValue(raw);
        else w.WriteNumberValue((ulong)raw);
    }

    private void WriteArray(Utf8JsonWriter w, BtfArray a, ReadOnlySpan<byte> data, int depth)
    {
        var element = a.ElementType;
        long size = Btf.SizeOf(element);
        if (size <= 0) throw new BtfValueException($"{a}: element {element} has no size");
        var bytes = Slice(data, 0, checked((uint)(size * a.Count)), a);
        if (size == 1 && IsStringArray(element, bytes))
        {
            int end = bytes.IndexOf((byte)0);
            w.WriteStringValue(Encoding.Latin1.GetString(end < 0 ? bytes : bytes[..end]));
            return;
        }
        w.WriteStartArray();
        for (uint i = 0; i < a.Count; i++) Write(w, element, bytes.Slice((int)(i * size), (int)size), depth + 1);
        w.WriteEndArray();
    }

    /// <summary>bpftool's rule: the element (modifiers skipped, but not typedefs) is a 1-byte int that is a char
    /// (named <c>char</c> or BTF_INT_CHAR), and every byte up to the first NUL is printable.</summary>
    private static bool IsStringArray(BtfType element, ReadOnlySpan<byte> bytes)
    {
        var t = element;
        while (t is BtfConst or BtfVolatile or BtfRestrict or BtfTypeTag) t = ((BtfReference)t).Target;
        if (t is not BtfInt i || i.Size != 1) return false;
        if (!i.Encoding.HasFlag(BtfIntEncoding.Char) && i.Name != "char") return false;
        foreach (byte b in bytes)
        {
            if (b == 0) break;
            if (b < 0x20 || b >= 0x7f) return false;
        }
        return true;
    }

    /// <summary>An object with one property per member, in order. Like bpftool, anonymous members (an unnamed
    /// struct or union) appear under the empty name.</summary>
    private void WriteComposite(Utf8JsonWriter w, BtfComposite c, ReadOnlySpan<byte> data, int depth)
    {
        var bytes = Slice(data, 0, c.Size, c);
        w.WriteStartObject();
        foreach (var m in c.Members)
        {
            w.WritePropertyName(m.Name);
            uint byteOffset = m.BitOffset / 8;
            if (m.BitfieldSize != 0)
            {
                int bitsInByte = (int)(m.BitOffset % 8);
                WriteBits(w, Slice(bytes, byteOffset, (uint)((bitsInByte + m.BitfieldSize + 7) / 8), c), bitsInByte, m.BitfieldSize);
                continue;
            }
            Write(w, m.Type, Slice(bytes, byteOffset, checked((uint)Btf.SizeOf(m.Type)), c), depth + 1);
        }
        w.WriteEndObject();
    }
}

/// <summary>Map data that does not fit its BTF type (or a type that cannot be printed).</summary>
internal sealed class BtfValueException(string message) : InvalidOperationException(message);
