using System.Buffers.Binary;
using System.Text;
using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

/// <summary>Writes small BTF blobs by hand (for the malformed-input and kind tests). With a base (split BTF), ids
/// start at <c>firstId</c> and string offsets at <c>stringBase</c> (the base's string section size); the split
/// string section then has no leading empty string of its own.</summary>
internal sealed class BtfBlobBuilder(uint firstId = 1, uint stringBase = 0)
{
    private readonly List<byte> _strings = stringBase == 0 ? [0] : [];
    private readonly Dictionary<string, uint> _stringOffsets = new() { [""] = 0 };
    private readonly List<uint> _types = [];

    public bool BigEndian { get; init; }

    public uint Str(string s)
    {
        if (_stringOffsets.TryGetValue(s, out uint off)) return off;
        off = stringBase + (uint)_strings.Count;
        _strings.AddRange(Encoding.UTF8.GetBytes(s));
        _strings.Add(0);
        _stringOffsets[s] = off;
        return off;
    }

    /// <summary>Appends a type record; returns its id.</summary>
    public uint Add(BtfKind kind, string name, int vlen, uint sizeOrType, bool kindFlag = false, params uint[] extra) =>
        AddRaw(Str(name), ((uint)kind << 24) | (uint)vlen | (kindFlag ? 0x8000_0000u : 0), sizeOrType, extra);

    public uint AddRaw(uint nameOff, uint info, uint sizeOrType, params uint[] extra)
    {
        _types.Add(nameOff);
        _types.Add(info);
        _types.Add(sizeOrType);
        _types.AddRange(extra);
        return firstId - 1 + ++_count;
    }

    private uint _count;

    public byte[] Build()
    {
        int typeLen = _types.Count * 4;
        var blob = new byte[24 + typeLen + _strings.Count];
        void W16(int at, ushort v) { if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(blob.AsSpan(at), v); else BinaryPrimitives.WriteUInt16LittleEndian(blob.AsSpan(at), v); }
        void W32(int at, uint v) { if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(at), v); else BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at), v); }
        W16(0, SharpBpf.Btf.BtfSpec.Magic);
        blob[2] = 1;
        W32(4, 24);
        W32(8, 0);
        W32(12, (uint)typeLen);
        W32(16, (uint)typeLen);
        W32(20, (uint)_strings.Count);
        for (int i = 0; i < _types.Count; i++) W32(24 + 4 * i, _types[i]);
        _strings.CopyTo(blob, 24 + typeLen);
        return blob;
    }
}
