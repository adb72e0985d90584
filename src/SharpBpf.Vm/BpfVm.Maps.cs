using System.Buffers.Binary;
using SharpBpf.Maps;

namespace SharpBpf.Vm;

public sealed unsafe partial class BpfVm
{
    /// <summary>Creates an emulated map (hash, array, their per-CPU and LRU variants, LPM trie, queue, stack, ring
    /// buffer, perf event array, program array) and writes <see cref="MapSpec.Contents"/> into it.</summary>
    /// <exception cref="NotSupportedException">The VM does not emulate the map type.</exception>
    /// <exception cref="ArgumentException">The spec is invalid for its type.</exception>
    public VmMap CreateMap(MapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(_disposed, this);
        VmMap map = spec.Type switch
        {
            MapType.Array or MapType.PerCpuArray => new ArrayVmMap(this, spec),
            MapType.Hash or MapType.PerCpuHash or MapType.LruHash or MapType.LruPerCpuHash => new HashVmMap(this, spec),
            MapType.LpmTrie => new LpmTrieVmMap(this, spec),
            MapType.Queue or MapType.Stack => new QueueStackVmMap(this, spec),
            MapType.RingBuf => new RingBufVmMap(this, spec),
            MapType.PerfEventArray => new PerfEventArrayVmMap(this, spec),
            MapType.ProgramArray => new ProgramArrayVmMap(this, spec),
            _ => throw new NotSupportedException($"map '{spec.Name}': the VM does not emulate {spec.Type} maps"),
        };
        AddMap(map);
        if (spec.Contents is { } contents && map is not ProgramArrayVmMap)
        {
            foreach (var e in contents)
            {
                if (e.MapName is not null || e.ProgramName is not null) continue;
                var value = e.Value;
                if (value.Length != map.HostValueSize)
                {
                    var v = new byte[map.HostValueSize];
                    value.AsSpan(0, Math.Min(value.Length, v.Length)).CopyTo(v);
                    value = v;
                }
                map.Update(e.Key, value);
            }
        }
        return map;
    }

    /// <summary>The legacy packet loads (LD_ABS/LD_IND): big-endian from packet data (input memory outside packet
    /// runs); false when out of bounds (the program then ends with 0, as in the kernel).</summary>
    internal bool LoadLegacy(VmOp op, int imm, ulong src, out ulong value)
    {
        int size = op is VmOp.LdAbsB or VmOp.LdIndB ? 1 : op is VmOp.LdAbsH or VmOp.LdIndH ? 2 : 4;
        long off = op is VmOp.LdIndB or VmOp.LdIndH or VmOp.LdIndW ? (int)((uint)src + (uint)imm) : imm;
        ReadOnlySpan<byte> data = _ctxLayout is not null ? PacketData : InputMemory;
        value = 0;
        if (off < 0 || off + size > data.Length) return false;
        var s = data.Slice((int)off, size);
        value = size switch { 1 => s[0], 2 => BinaryPrimitives.ReadUInt16BigEndian(s), _ => BinaryPrimitives.ReadUInt32BigEndian(s) };
        return true;
    }
}
