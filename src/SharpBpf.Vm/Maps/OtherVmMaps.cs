using System.Buffers.Binary;
using SharpBpf.Maps;

namespace SharpBpf.Vm;

/// <summary>BPF_MAP_TYPE_LPM_TRIE: keys are <c>{ u32 prefixlen; u8 data[]; }</c>. Entries are kept by their
/// normalized prefix (bits past prefixlen cleared); a lookup (program or host, as in the kernel) finds the longest
/// stored prefix that matches the key's data.</summary>
public sealed class LpmTrieVmMap : HashVmMap
{
    private readonly int[] _perLength;
    private readonly byte[] _scratch;

    internal LpmTrieVmMap(BpfVm vm, MapSpec spec) : base(vm, spec)
    {
        if (spec.KeySize <= 4 || spec.KeySize > 4 + 256)
            throw new ArgumentException($"LPM trie '{spec.Name}' needs a key of 4 + 1..256 bytes, got {spec.KeySize}", nameof(spec));
        _perLength = new int[(spec.KeySize - 4) * 8 + 1];
        _scratch = new byte[spec.KeySize];
    }

    private int MaxPrefix => (int)(KeySize - 4) * 8;

    private bool Normalize(ReadOnlySpan<byte> key, uint prefix, Span<byte> into)
    {
        if (prefix > MaxPrefix) return false;
        key.CopyTo(into);
        BinaryPrimitives.WriteUInt32LittleEndian(into, prefix);
        var data = into[4..];
        int full = (int)prefix / 8, bits = (int)prefix % 8;
        if (full < data.Length)
        {
            data[full] &= (byte)(0xff << (8 - bits));
            data[(full + 1)..].Clear();
        }
        return true;
    }

    internal override ulong ProgramLookup(ReadOnlySpan<byte> key)
    {
        uint want = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(key), (uint)MaxPrefix);
        for (int len = (int)want; len >= 0; len--)
        {
            if (_perLength[len] == 0) continue;
            Normalize(key, (uint)len, _scratch);
            ulong a = LookupCore(_scratch, 0);
            if (a != 0) return a;
        }
        return 0;
    }

    internal override ulong ProgramLookupOnCpu(ReadOnlySpan<byte> key, int cpu) => cpu == 0 ? ProgramLookup(key) : 0;

    internal override long ProgramUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        uint prefix = BinaryPrimitives.ReadUInt32LittleEndian(key);
        Span<byte> k = stackalloc byte[(int)KeySize];
        if (!Normalize(key, prefix, k)) return -EINVAL;
        bool existed = Find(k) >= 0;
        long r = base.ProgramUpdate(k, value, flags);
        if (r == 0 && !existed) _perLength[prefix]++;
        return r;
    }

    internal override long ProgramDelete(ReadOnlySpan<byte> key)
    {
        uint prefix = BinaryPrimitives.ReadUInt32LittleEndian(key);
        Span<byte> k = stackalloc byte[(int)KeySize];
        if (!Normalize(key, prefix, k)) return -EINVAL;
        long r = base.ProgramDelete(k);
        if (r == 0) _perLength[prefix]--;
        return r;
    }

    /// <inheritdoc/>
    public override unsafe bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        ulong a = ProgramLookup(key);
        if (a == 0) return false;
        Vm.Read(a, (int)ValueSize).CopyTo(value);
        return true;
    }

    /// <inheritdoc/>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        ThrowIfError(ProgramUpdate(key, value, (ulong)flags), "update");
    }

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return ProgramDelete(key) == 0;
    }
}

/// <summary>BPF_MAP_TYPE_QUEUE (FIFO) and STACK (LIFO): no keys; push (with BPF_EXIST: overwrite the oldest when
/// full), pop and peek.</summary>
public sealed class QueueStackVmMap : VmMap
{
    private readonly byte[] _items;
    private int _head, _count; // queue: oldest at _head; stack: oldest at _head, newest at _head + _count - 1

    internal QueueStackVmMap(BpfVm vm, MapSpec spec) : base(vm, spec)
    {
        if (spec.KeySize != 0 || spec.ValueSize == 0 || spec.MaxEntries == 0)
            throw new ArgumentException($"{spec.Type} map '{spec.Name}' needs key size 0, a value size and max_entries", nameof(spec));
        _items = new byte[checked((int)(spec.ValueSize * spec.MaxEntries))];
    }

    /// <summary>Values held.</summary>
    public int Count => _count;

    private Span<byte> Item(int logical) => _items.AsSpan((int)(((_head + logical) % MaxEntries) * ValueSize), (int)ValueSize);

    internal override long Push(ReadOnlySpan<byte> value, ulong flags)
    {
        if (flags > 2) return -EINVAL;
        if (_count == MaxEntries)
        {
            if (flags != 2) return -E2BIG;
            _head = (int)((_head + 1) % MaxEntries); // drop the oldest
            _count--;
        }
        value[..(int)ValueSize].CopyTo(Item(_count));
        _count++;
        return 0;
    }

    internal override long Pop(Span<byte> value, bool remove)
    {
        if (_count == 0) return -ENOENT;
        bool fifo = Type == MapType.Queue;
        Item(fifo ? 0 : _count - 1).CopyTo(value);
        if (remove)
        {
            if (fifo) _head = (int)((_head + 1) % MaxEntries);
            _count--;
        }
        return 0;
    }

    /// <summary>Adds a value (<paramref name="overwrite"/>: drop the oldest when full, BPF_EXIST).</summary>
    public void Push(ReadOnlySpan<byte> value, bool overwrite = false)
    {
        CheckHostValue(value.Length);
        ThrowIfError(Push(value, overwrite ? 2UL : 0UL), "push");
    }

    /// <summary>Removes the next value (queue: oldest, stack: newest) into <paramref name="value"/>; false when empty.</summary>
    public bool TryPop(Span<byte> value)
    {
        CheckHostValue(value.Length);
        return Pop(value, true) == 0;
    }

    /// <summary>Like <see cref="TryPop"/> without removing.</summary>
    public bool TryPeek(Span<byte> value)
    {
        CheckHostValue(value.Length);
        return Pop(value, false) == 0;
    }

    /// <inheritdoc/>
    public override bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        return TryPeek(value);
    }

    /// <inheritdoc/>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckKey(key);
        Push(value, flags == UpdateFlags.Exist);
    }

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key)
    {
        ThrowIfError(-EINVAL, "delete");
        return false;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<(byte[] Key, byte[] Value)> Entries()
    {
        var list = new List<(byte[], byte[])>();
        for (int i = 0; i < _count; i++) list.Add(([], Item(Type == MapType.Queue ? i : _count - 1 - i).ToArray()));
        return list;
    }
}

/// <summary>BPF_MAP_TYPE_PROG_ARRAY: slots holding VM programs for <c>bpf_tail_call</c>.</summary>
public sealed class ProgramArrayVmMap : VmMap
{
    private readonly VmProgram?[] _programs;

    internal ProgramArrayVmMap(BpfVm vm, MapSpec spec) : base(vm, spec)
    {
        if (spec.KeySize != 4 || spec.ValueSize != 4 || spec.MaxEntries == 0)
            throw new ArgumentException($"program array '{spec.Name}' needs 4-byte keys and values and max_entries", nameof(spec));
        _programs = new VmProgram?[spec.MaxEntries];
    }

    /// <summary>Puts <paramref name="program"/> (of this VM; null clears) into slot <paramref name="index"/>.</summary>
    public void Set(uint index, VmProgram? program)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxEntries);
        if (program is not null && program.Vm != Vm) throw new ArgumentException("the program belongs to another VM", nameof(program));
        _programs[index] = program;
    }

    /// <summary>The program in slot <paramref name="index"/>, or null.</summary>
    public VmProgram? Get(uint index) => index < MaxEntries ? _programs[index] : null;

    /// <inheritdoc/>
    public override bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        uint i = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (Get(i) is null) return false;
        BinaryPrimitives.WriteUInt32LittleEndian(value, i);
        return true;
    }

    /// <summary>Not supported: programs go in with <see cref="Set"/> (there are no program fds in the VM).</summary>
    /// <exception cref="VmMapException">Always (EINVAL).</exception>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any) =>
        ThrowIfError(-EINVAL, "update (use Set(index, program))");

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        uint i = BinaryPrimitives.ReadUInt32LittleEndian(key);
        if (Get(i) is null) return false;
        _programs[i] = null;
        return true;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<(byte[] Key, byte[] Value)> Entries()
    {
        var list = new List<(byte[], byte[])>();
        for (uint i = 0; i < MaxEntries; i++)
        {
            if (_programs[i] is null) continue;
            var k = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(k, i);
            list.Add((k, (byte[])k.Clone()));
        }
        return list;
    }
}
