using SharpBpf.Btf;
using SharpBpf.Links;

namespace SharpBpf.Maps;

/// <summary>
/// A struct_ops map of a loaded collection (Linux 5.6; links 6.4): one kernel struct (e.g. a TCP congestion control)
/// whose operations are BPF programs. Loading creates it and prepares the kernel value (fields copied, program fds
/// in the function slots); <see cref="Register"/> hands it to the kernel subsystem.
/// </summary>
public sealed class StructOpsMap : BpfMap
{
    private readonly byte[] _value;

    internal StructOpsMap(BpfMap map, string typeName, byte[] value)
        : base(map)
    {
        TypeName = typeName;
        _value = value;
    }

    /// <summary>The kernel struct implemented, e.g. <c>tcp_congestion_ops</c>.</summary>
    public string TypeName { get; }

    /// <summary>Whether the map was created with BPF_F_LINK (SEC(".struct_ops.link")): registered through a BPF link
    /// rather than by the map update itself.</summary>
    public bool UsesLink => (Flags & MapFlags.Link) != 0;

    /// <summary>The <c>bpf_struct_ops_TYPE</c> value written at <see cref="Register"/> (program fds in the function slots).</summary>
    public ReadOnlySpan<byte> KernelValue => _value;

    /// <summary>
    /// Registers the struct with its subsystem: BPF_MAP_UPDATE_ELEM with the prepared value, and for a
    /// <see cref="UsesLink"/> map BPF_LINK_CREATE (BPF_STRUCT_OPS) as well. Disposing the result unregisters
    /// (closes the link, or deletes the map's element). The collection's programs must still be loaded.
    /// </summary>
    /// <exception cref="BpfException">The kernel refused: EEXIST when a struct of that name is registered already,
    /// EBUSY when this map is registered, EINVAL for a value the subsystem rejects.</exception>
    public StructOpsLink Register() => StructOpsLink.Register(this, _value);
}

/// <summary>Turns a <see cref="StructOpsSpec"/> into the kernel's value layout (by kernel BTF).</summary>
internal static class StructOpsLayout
{
    /// <summary>The resolved kernel side of one struct_ops map.</summary>
    /// <param name="Kernel">The kernel struct (e.g. tcp_congestion_ops).</param>
    /// <param name="ValueType">bpf_struct_ops_TYPE.</param>
    /// <param name="DataOffset">Offset of its <c>data</c> member.</param>
    public sealed record Resolved(BtfStruct Kernel, BtfStruct ValueType, uint DataOffset);

    /// <exception cref="ArgumentException">The kernel lacks the struct or its struct_ops value type.</exception>
    public static Resolved Resolve(BtfSpec kernel, string mapName, StructOpsSpec spec)
    {
        if (!kernel.TryTypeByName(spec.TypeName, BtfKind.Struct, out var k) || k is not BtfStruct ks)
            throw new ArgumentException($"struct_ops map '{mapName}': the kernel has no struct {spec.TypeName}");
        string valueName = "bpf_struct_ops_" + spec.TypeName;
        if (!kernel.TryTypeByName(valueName, BtfKind.Struct, out var v) || v is not BtfStruct vs)
            throw new ArgumentException($"struct_ops map '{mapName}': the kernel has no struct {valueName}: {spec.TypeName} is not a struct_ops type of this kernel");
        var data = vs.Members.FirstOrDefault(m => m.Name == "data")
            ?? throw new ArgumentException($"struct_ops map '{mapName}': struct {valueName} has no 'data' member");
        return new Resolved(ks, vs, data.BitOffset / 8);
    }

    /// <summary>Index of function member <paramref name="member"/> in the kernel struct (the program's expected attach type).</summary>
    public static int MemberIndex(Resolved r, string mapName, string member)
    {
        var members = r.Kernel.Members;
        for (int i = 0; i < members.Count; i++)
        {
            if (members[i].Name != member) continue;
            if (r.Kernel.Owner.Resolve(members[i].Type) is not BtfPointer)
                throw new ArgumentException($"struct_ops map '{mapName}': {r.Kernel.Name}.{member} is not a function pointer in the kernel");
            return i;
        }
        throw new ArgumentException($"struct_ops map '{mapName}': the kernel's struct {r.Kernel.Name} has no member '{member}'");
    }

    /// <summary>The value to write: fields of <see cref="StructOpsSpec.Data"/> copied by name into the kernel layout,
    /// program fds (as u64) in the function slots.</summary>
    public static byte[] BuildValue(Resolved r, string mapName, StructOpsSpec spec, Func<string, int> programFd)
    {
        var kernel = r.Kernel.Owner;
        var value = new byte[r.ValueType.Size];
        var dst = value.AsSpan((int)r.DataOffset);
        if (spec.LocalType is not { } local)
        {
            if (spec.Data.Length != r.Kernel.Size)
                throw new ArgumentException($"struct_ops map '{mapName}': {r.Kernel.Size} bytes of {spec.TypeName}, got {spec.Data.Length}");
            spec.Data.CopyTo(dst);
            foreach (var m in r.Kernel.Members)
                if (kernel.Resolve(m.Type) is BtfPointer) dst.Slice((int)(m.BitOffset / 8), 8).Clear();
        }
        else
        {
            if (spec.Data.Length != local.Size)
                throw new ArgumentException($"struct_ops map '{mapName}': {local.Size} bytes of the object's {spec.TypeName}, got {spec.Data.Length}");
            foreach (var lm in local.Members)
            {
                if (spec.Functions.ContainsKey(lm.Name)) continue;
                var bytes = LocalBytes(spec, local, lm);
                bool set = bytes.ContainsAnyExcept((byte)0);
                var km = r.Kernel.Members.FirstOrDefault(m => m.Name == lm.Name && lm.Name.Length > 0);
                if (!set) continue;
                if (km is null)
                    throw new ArgumentException($"struct_ops map '{mapName}': member '{lm.Name}' is set, but the kernel's struct {spec.TypeName} has no such member");
                if (lm.BitfieldSize != 0 || km.BitfieldSize != 0)
                    throw new ArgumentException($"struct_ops map '{mapName}': member '{lm.Name}' is a bitfield; only whole-byte members can be set");
                if (kernel.Resolve(km.Type) is BtfPointer)
                    throw new ArgumentException($"struct_ops map '{mapName}': pointer member '{lm.Name}' can only point at a struct_ops program");
                long size = kernel.SizeOf(km.Type);
                if (size != bytes.Length)
                    throw new ArgumentException($"struct_ops map '{mapName}': member '{lm.Name}' has {bytes.Length} bytes in the object but {size} in the kernel");
                bytes.CopyTo(dst.Slice((int)(km.BitOffset / 8)));
            }
        }
        foreach (var (member, program) in spec.Functions)
        {
            int index = MemberIndex(r, mapName, member);
            BitConverter.TryWriteBytes(dst.Slice((int)(r.Kernel.Members[index].BitOffset / 8), 8), (ulong)(uint)programFd(program));
        }
        return value;
    }

    private static ReadOnlySpan<byte> LocalBytes(StructOpsSpec spec, BtfStruct local, BtfMember m)
    {
        if (m.BitfieldSize != 0)
        {
            // the bytes the bitfield touches
            int first = (int)(m.BitOffset / 8), last = (int)((m.BitOffset + m.BitfieldSize - 1) / 8);
            return spec.Data.AsSpan(first, last - first + 1);
        }
        long size = local.Owner.SizeOf(m.Type);
        int offset = (int)(m.BitOffset / 8);
        if (offset + size > spec.Data.Length)
            throw new ArgumentException($"struct_ops member '{m.Name}' lies outside the struct's {spec.Data.Length} bytes");
        return spec.Data.AsSpan(offset, (int)size);
    }
}
