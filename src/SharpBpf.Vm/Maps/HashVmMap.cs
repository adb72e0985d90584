using System.Numerics;
using SharpBpf.Maps;

namespace SharpBpf.Vm;

/// <summary>BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH: preallocated slots (max_entries of them)
/// indexed by an open-addressing table; values never move while their entry exists. LRU maps evict the least
/// recently used entry (touched by lookups and updates) when full instead of failing with E2BIG.</summary>
public unsafe class HashVmMap : VmMap
{
    private readonly byte* _keys;
    private readonly byte* _values;
    private readonly uint _stride;
    private readonly int _cpus;
    private readonly uint _region;
    private readonly int[] _buckets; // slot + 1, 0 = empty (linear probing, backward-shift deletion)
    private readonly int _mask;
    private readonly int[] _free;
    private int _freeCount;
    private readonly bool _lru;
    private readonly int[] _prev, _next; // LRU list (most recent at _head) and the iteration order of live slots
    private int _head = -1, _tail = -1;
    private int _count;

    internal HashVmMap(BpfVm vm, MapSpec spec) : base(vm, spec)
    {
        if (spec.KeySize == 0 || spec.ValueSize == 0 || spec.MaxEntries == 0)
            throw new ArgumentException($"hash map '{spec.Name}' needs key size, value size and max_entries", nameof(spec));
        if (spec.MaxEntries > 1 << 22) throw new ArgumentException($"hash map '{spec.Name}': max_entries {spec.MaxEntries} is too large for the VM", nameof(spec));
        bool perCpu = spec.Type is MapType.PerCpuHash or MapType.LruPerCpuHash;
        _lru = spec.Type is MapType.LruHash or MapType.LruPerCpuHash;
        _cpus = perCpu ? vm.Options.CpuCount : 1;
        _stride = perCpu ? Round8(spec.ValueSize) : Round8(spec.ValueSize);
        ulong valueBytes = checked((ulong)_stride * spec.MaxEntries * (ulong)_cpus);
        _keys = Alloc((ulong)spec.KeySize * spec.MaxEntries);
        _values = Alloc(valueBytes);
        _region = vm.AddRegion(RegionKind.MapValues, _values, valueBytes, writable: true, this);
        int buckets = (int)BitOperations.RoundUpToPowerOf2(spec.MaxEntries * 2);
        _buckets = new int[buckets];
        _mask = buckets - 1;
        _free = new int[spec.MaxEntries];
        for (int i = 0; i < _free.Length; i++) _free[i] = _free.Length - 1 - i;
        _freeCount = _free.Length;
        _prev = new int[spec.MaxEntries];
        _next = new int[spec.MaxEntries];
    }

    /// <summary>Entries in the map.</summary>
    public int Count => _count;

    /// <inheritdoc/>
    public override int HostValueSize => _cpus > 1 || Type is MapType.PerCpuHash or MapType.LruPerCpuHash
        ? (int)(Round8(ValueSize) * (uint)_cpus) : (int)ValueSize;

    private bool IsPerCpu => Type is MapType.PerCpuHash or MapType.LruPerCpuHash;

    private Span<byte> KeyAt(int slot) => new(_keys + (long)slot * KeySize, (int)KeySize);

    private byte* ValueAt(int slot, int cpu) => _values + ((long)slot * _cpus + cpu) * _stride;

    private static int Hash(ReadOnlySpan<byte> key)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in key) h = (h ^ b) * 1099511628211UL;
        return (int)(h ^ (h >> 29));
    }

    private protected int Find(ReadOnlySpan<byte> key)
    {
        int i = Hash(key) & _mask;
        while (true)
        {
            int s = _buckets[i] - 1;
            if (s < 0) return -1;
            if (KeyAt(s).SequenceEqual(key)) return s;
            i = (i + 1) & _mask;
        }
    }

    private void Unlink(int slot)
    {
        int p = _prev[slot], n = _next[slot];
        if (p >= 0) _next[p] = n; else _head = n;
        if (n >= 0) _prev[n] = p; else _tail = p;
    }

    private void LinkFront(int slot)
    {
        _prev[slot] = -1;
        _next[slot] = _head;
        if (_head >= 0) _prev[_head] = slot;
        _head = slot;
        if (_tail < 0) _tail = slot;
    }

    private void LinkBack(int slot)
    {
        _next[slot] = -1;
        _prev[slot] = _tail;
        if (_tail >= 0) _next[_tail] = slot;
        _tail = slot;
        if (_head < 0) _head = slot;
    }

    private void Touch(int slot)
    {
        if (!_lru || _head == slot) return;
        Unlink(slot);
        LinkFront(slot);
    }

    private void RemoveSlot(int slot)
    {
        // backward-shift deletion keeps probe chains intact without tombstones
        int i = Hash(KeyAt(slot)) & _mask;
        while (_buckets[i] - 1 != slot) i = (i + 1) & _mask;
        int j = i;
        while (true)
        {
            _buckets[i] = 0;
            while (true)
            {
                j = (j + 1) & _mask;
                int s = _buckets[j] - 1;
                if (s < 0) goto done;
                int home = Hash(KeyAt(s)) & _mask;
                bool between = i <= j ? i < home && home <= j : i < home || home <= j;
                if (!between) break;
            }
            _buckets[i] = _buckets[j];
            i = j;
        }
    done:
        Unlink(slot);
        _free[_freeCount++] = slot;
        _count--;
    }

    private int Insert(ReadOnlySpan<byte> key)
    {
        if (_freeCount == 0)
        {
            if (!_lru) return -1;
            RemoveSlot(_tail);
        }
        int slot = _free[--_freeCount];
        key.CopyTo(KeyAt(slot));
        int i = Hash(key) & _mask;
        while (_buckets[i] != 0) i = (i + 1) & _mask;
        _buckets[i] = slot + 1;
        if (_lru) LinkFront(slot); else LinkBack(slot);
        _count++;
        new Span<byte>(ValueAt(slot, 0), (int)(_stride * (uint)_cpus)).Clear();
        return slot;
    }

    internal override ulong ProgramLookup(ReadOnlySpan<byte> key) => LookupCore(key, IsPerCpu ? Vm.Options.Cpu : 0);

    internal override ulong ProgramLookupOnCpu(ReadOnlySpan<byte> key, int cpu) => LookupCore(key, cpu);

    private protected ulong LookupCore(ReadOnlySpan<byte> key, int cpu)
    {
        int slot = Find(key);
        if (slot < 0 || (uint)cpu >= (uint)_cpus) return 0;
        Touch(slot);
        return ((ulong)_region << Mem.RegionShift) + (ulong)(((long)slot * _cpus + cpu) * _stride);
    }

    private long UpdateCore(ReadOnlySpan<byte> key, ulong flags, out int slot)
    {
        slot = -1;
        if ((flags & ~4UL) > 2) return -EINVAL;
        slot = Find(key);
        ulong mode = flags & 3;
        if (slot >= 0)
        {
            if (mode == 1) return -EEXIST;
            Touch(slot);
            return 0;
        }
        if (mode == 2) return -ENOENT;
        slot = Insert(key);
        return slot < 0 ? -E2BIG : 0;
    }

    internal override long ProgramUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        long r = UpdateCore(key, flags, out int slot);
        if (r < 0) return r;
        int cpu = IsPerCpu ? Vm.Options.Cpu : 0;
        value[..(int)ValueSize].CopyTo(new Span<byte>(ValueAt(slot, cpu), (int)ValueSize));
        return 0;
    }

    internal override long ProgramDelete(ReadOnlySpan<byte> key)
    {
        int slot = Find(key);
        if (slot < 0) return -ENOENT;
        RemoveSlot(slot);
        return 0;
    }

    /// <inheritdoc/>
    public override bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        int slot = Find(key);
        if (slot < 0) return false;
        CopyOut(slot, value);
        return true;
    }

    private void CopyOut(int slot, Span<byte> value)
    {
        if (!IsPerCpu)
        {
            new ReadOnlySpan<byte>(ValueAt(slot, 0), (int)ValueSize).CopyTo(value);
            return;
        }
        int r8 = (int)Round8(ValueSize);
        value.Clear();
        for (int c = 0; c < _cpus; c++) new ReadOnlySpan<byte>(ValueAt(slot, c), (int)ValueSize).CopyTo(value[(c * r8)..]);
    }

    /// <inheritdoc/>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckKey(key);
        CheckHostValue(value.Length);
        ThrowIfError(UpdateCore(key, (ulong)flags, out int slot), "update");
        if (!IsPerCpu)
        {
            value.CopyTo(new Span<byte>(ValueAt(slot, 0), (int)ValueSize));
            return;
        }
        int r8 = (int)Round8(ValueSize);
        for (int c = 0; c < _cpus; c++) value.Slice(c * r8, (int)ValueSize).CopyTo(new Span<byte>(ValueAt(slot, c), (int)ValueSize));
    }

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return ProgramDelete(key) == 0;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<(byte[] Key, byte[] Value)> Entries()
    {
        var list = new List<(byte[], byte[])>(_count);
        for (int s = _head; s >= 0; s = _next[s])
        {
            var v = new byte[HostValueSize];
            CopyOut(s, v);
            list.Add((KeyAt(s).ToArray(), v));
        }
        return list;
    }

    internal override void Release()
    {
        Free(_keys);
        Free(_values);
    }
}
