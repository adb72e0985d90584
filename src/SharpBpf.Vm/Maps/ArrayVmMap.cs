using System.Buffers.Binary;
using SharpBpf.Maps;

namespace SharpBpf.Vm;

/// <summary>BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY (and the global data sections, which are one-entry arrays).</summary>
public sealed unsafe class ArrayVmMap : VmMap
{
    private readonly byte* _storage;
    private readonly uint _stride;
    private readonly int _cpus;
    private readonly uint _region;

    internal ArrayVmMap(BpfVm vm, MapSpec spec) : base(vm, spec)
    {
        if (spec.KeySize != 4) throw new ArgumentException($"array map '{spec.Name}' needs 4-byte keys, got {spec.KeySize}", nameof(spec));
        if (spec.ValueSize == 0 || spec.MaxEntries == 0) throw new ArgumentException($"array map '{spec.Name}' needs a value size and max_entries", nameof(spec));
        _cpus = spec.Type == MapType.PerCpuArray ? vm.Options.CpuCount : 1;
        _stride = _cpus > 1 || spec.Type == MapType.PerCpuArray ? Round8(spec.ValueSize) : spec.ValueSize;
        ulong bytes = checked((ulong)_stride * spec.MaxEntries * (ulong)_cpus);
        if (bytes > int.MaxValue) throw new ArgumentException($"array map '{spec.Name}' needs {bytes} bytes: too large for the VM", nameof(spec));
        _storage = Alloc(bytes);
        bool progWritable = (spec.Flags & MapFlags.ReadOnlyProg) == 0;
        _region = vm.AddRegion(RegionKind.MapValues, _storage, bytes, progWritable, this);
    }

    /// <inheritdoc/>
    public override int HostValueSize => Type == MapType.PerCpuArray ? (int)(Round8(ValueSize) * (uint)_cpus) : (int)ValueSize;

    private ulong Address(uint index, int cpu) =>
        ((ulong)_region << Mem.RegionShift) + ((ulong)index * (ulong)_cpus + (ulong)cpu) * _stride;

    private byte* Pointer(uint index, int cpu) => _storage + ((ulong)index * (ulong)_cpus + (ulong)cpu) * _stride;

    internal override ulong ProgramLookup(ReadOnlySpan<byte> key) => ProgramLookupOnCpu(key, Type == MapType.PerCpuArray ? Vm.Options.Cpu : 0);

    internal override ulong ProgramLookupOnCpu(ReadOnlySpan<byte> key, int cpu)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        return index < MaxEntries && (uint)cpu < (uint)_cpus ? Address(index, cpu) : 0;
    }

    internal override long ProgramUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if ((flags & ~4UL) > 2) return -EINVAL;
        if (index >= MaxEntries) return -E2BIG;
        if ((flags & 3) == 1) return -EEXIST;
        value[..(int)ValueSize].CopyTo(new Span<byte>(Pointer(index, _cpus > 1 ? Vm.Options.Cpu : 0), (int)ValueSize));
        return 0;
    }

    internal override ulong? DirectValueAddress(uint offset) =>
        Type == MapType.Array && offset <= ValueSize ? Address(0, 0) + offset : null;

    /// <inheritdoc/>
    public override bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (index >= MaxEntries) return false;
        CopyOut(index, value);
        return true;
    }

    private void CopyOut(uint index, Span<byte> value)
    {
        if (Type != MapType.PerCpuArray)
        {
            new ReadOnlySpan<byte>(Pointer(index, 0), (int)ValueSize).CopyTo(value);
            return;
        }
        int r8 = (int)Round8(ValueSize);
        value.Clear();
        for (int c = 0; c < _cpus; c++) new ReadOnlySpan<byte>(Pointer(index, c), (int)ValueSize).CopyTo(value[(c * r8)..]);
    }

    /// <inheritdoc/>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (index >= MaxEntries) ThrowIfError(-E2BIG, "update");
        if (flags == UpdateFlags.NoExist) ThrowIfError(-EEXIST, "update");
        if (Type != MapType.PerCpuArray)
        {
            value.CopyTo(new Span<byte>(Pointer(index, 0), (int)ValueSize));
            return;
        }
        int r8 = (int)Round8(ValueSize);
        for (int c = 0; c < _cpus; c++) value.Slice(c * r8, (int)ValueSize).CopyTo(new Span<byte>(Pointer(index, c), (int)ValueSize));
    }

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        ThrowIfError(-EINVAL, "delete");
        return false;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<(byte[] Key, byte[] Value)> Entries()
    {
        var list = new List<(byte[], byte[])>((int)MaxEntries);
        for (uint i = 0; i < MaxEntries; i++)
        {
            var k = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(k, i);
            var v = new byte[HostValueSize];
            CopyOut(i, v);
            list.Add((k, v));
        }
        return list;
    }

    internal override void Release() => Free(_storage);
}
