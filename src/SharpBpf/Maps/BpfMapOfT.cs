using System.Collections;
using System.Runtime.CompilerServices;
using SharpBpf.Interop;

namespace SharpBpf.Maps;

/// <summary>
/// Base of the typed maps whose keys and values are unmanaged structs with the map's exact key and value
/// sizes. Lookups, updates, deletes, walks and batches allocate nothing. Sizes are checked once, when the
/// wrapper is built, never again per call.
/// </summary>
/// <typeparam name="TKey">Key struct (sizeof must equal the map's key size).</typeparam>
/// <typeparam name="TValue">Value struct (sizeof must equal the map's value size).</typeparam>
public abstract unsafe class BpfMap<TKey, TValue> : BpfMap, IEnumerable<KeyValuePair<TKey, TValue>>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> after checking its type and sizes.</summary>
    /// <exception cref="ArgumentException">Type not one of <paramref name="types"/>, or key/value sizes differ from
    /// sizeof(<typeparamref name="TKey"/>)/sizeof(<typeparamref name="TValue"/>).</exception>
    private protected BpfMap(BpfMap map, params ReadOnlySpan<MapType> types)
        : base(MapChecks.Check(map, (uint)sizeof(TKey), (uint)sizeof(TValue), typeof(TKey), typeof(TValue), types))
    {
    }

    /// <summary>Looks up <paramref name="key"/>; false (and <c>default</c>) when absent.</summary>
    public bool TryLookup(in TKey key, out TValue value, LookupFlags flags = LookupFlags.None)
    {
        Unsafe.SkipInit(out value);
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            int r = RawLookup(k, v, (ulong)flags);
            if (r == 0) return true;
            *v = default;
            if (r == -Errno.ENOENT) return false;
            ThrowFailed("BPF_MAP_LOOKUP_ELEM", r);
            return false;
        }
    }

    /// <summary>The value of <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent.</exception>
    public TValue Lookup(in TKey key, LookupFlags flags = LookupFlags.None)
    {
        if (!TryLookup(key, out var value, flags)) ThrowKeyNotFound();
        return value;
    }

    /// <summary>Creates or updates <paramref name="key"/> (BPF_MAP_UPDATE_ELEM). <see cref="UpdateFlags.Lock"/>
    /// takes the bpf_spin_lock in the value (map BTF needed).</summary>
    /// <exception cref="BpfException">EEXIST (NoExist), ENOENT (Exist), E2BIG (full) and other kernel errors.</exception>
    public void Update(in TKey key, in TValue value, UpdateFlags flags = UpdateFlags.Any)
    {
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            int r = RawUpdate(k, v, (ulong)flags);
            if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
        }
    }

    /// <summary>Adds <paramref name="key"/> only if absent (BPF_NOEXIST); false when it exists.</summary>
    public bool TryAdd(in TKey key, in TValue value)
    {
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            int r = RawUpdate(k, v, (ulong)UpdateFlags.NoExist);
            if (r == -Errno.EEXIST) return false;
            if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
            return true;
        }
    }

    /// <summary>Deletes <paramref name="key"/>; false when absent.</summary>
    public bool Delete(in TKey key) => DeleteCore(key);

    /// <summary>Looks up and deletes <paramref name="key"/> in one step (hash maps: Linux 5.14).</summary>
    public bool TryLookupAndDelete(in TKey key, out TValue value)
    {
        Unsafe.SkipInit(out value);
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            int r = RawLookupAndDelete(k, v, 0);
            if (r == 0) return true;
            *v = default;
            if (r == -Errno.ENOENT) return false;
            ThrowFailed("BPF_MAP_LOOKUP_AND_DELETE_ELEM", r);
            return false;
        }
    }

    /// <summary>The keys, walked with GET_NEXT_KEY (see <see cref="BpfMap.EnumerateKeyBytes"/> for the rules).</summary>
    public MapKeys<TKey> Keys => new(this);

    /// <summary>Walks key/value pairs; a key deleted between the walk and its lookup is skipped.</summary>
    public MapEntryEnumerator<TKey, TValue> GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Next elements of a batch walk (see <see cref="BpfMap.LookupBatch(ref MapBatchCursor, Span{byte}, Span{byte}, LookupFlags)"/>):
    /// fills up to keys.Length pairs; returns how many, 0 when the walk is over.</summary>
    public int LookupBatch(ref MapBatchCursor cursor, Span<TKey> keys, Span<TValue> values, LookupFlags flags = LookupFlags.None)
    {
        uint n = MapChecks.BatchCount(keys.Length, values.Length, 1);
        fixed (TKey* k = keys)
        fixed (TValue* v = values)
            return BatchWalk(BpfCmd.BPF_MAP_LOOKUP_BATCH, ref cursor, k, v, n, (ulong)flags);
    }

    /// <summary>Like <see cref="LookupBatch(ref MapBatchCursor, Span{TKey}, Span{TValue}, LookupFlags)"/>, deleting what it returns (hash maps).</summary>
    public int LookupAndDeleteBatch(ref MapBatchCursor cursor, Span<TKey> keys, Span<TValue> values, LookupFlags flags = LookupFlags.None)
    {
        uint n = MapChecks.BatchCount(keys.Length, values.Length, 1);
        fixed (TKey* k = keys)
        fixed (TValue* v = values)
            return BatchWalk(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, ref cursor, k, v, n, (ulong)flags);
    }

    /// <summary>Writes keys[i] = values[i] for all i in one syscall (only <see cref="UpdateFlags.Lock"/> is allowed).</summary>
    /// <exception cref="MapBatchException">The kernel stopped after <see cref="MapBatchException.Processed"/> elements.</exception>
    public void UpdateBatch(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values, UpdateFlags flags = UpdateFlags.Any)
    {
        uint n = MapChecks.BatchCount(keys.Length, values.Length, 1);
        CheckBatchUpdateFlags(flags);
        fixed (TKey* k = keys)
        fixed (TValue* v = values)
            BatchApply(BpfCmd.BPF_MAP_UPDATE_BATCH, k, v, n, (ulong)flags);
    }

    /// <summary>Deletes all <paramref name="keys"/> in one syscall.</summary>
    /// <exception cref="MapBatchException">A key was absent (ENOENT); the keys before it were deleted.</exception>
    public void DeleteBatch(ReadOnlySpan<TKey> keys) => DeleteBatchCore(keys);
}

public unsafe partial class BpfMap
{
    private protected bool DeleteCore<TKey>(in TKey key) where TKey : unmanaged
    {
        fixed (TKey* k = &key)
        {
            int r = RawDelete(k);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            ThrowFailed("BPF_MAP_DELETE_ELEM", r);
            return false;
        }
    }

    private protected void DeleteBatchCore<TKey>(ReadOnlySpan<TKey> keys) where TKey : unmanaged
    {
        if (keys.IsEmpty) throw new ArgumentException("the batch is empty", nameof(keys));
        fixed (TKey* k = keys)
            BatchApply(BpfCmd.BPF_MAP_DELETE_BATCH, k, null, (uint)keys.Length, 0);
    }
}

/// <summary>Size and type checks shared by the typed wrappers.</summary>
internal static class MapChecks
{
    public static BpfMap Check(BpfMap map, uint keySize, uint valueSize, Type keyType, Type valueType, ReadOnlySpan<MapType> types)
    {
        ArgumentNullException.ThrowIfNull(map);
        ObjectDisposedException.ThrowIf(map.IsDisposed, map);
        if (!types.Contains(map.Type))
            throw new ArgumentException($"map '{map.Name}' is a {map.Type} map; expected {string.Join(" or ", types.ToArray())}", nameof(map));
        if (map.KeySize != keySize)
            throw new ArgumentException($"map '{map.Name}' has {map.KeySize}-byte keys but {keyType.Name} has {keySize} bytes", nameof(map));
        if (map.ValueSize != valueSize)
            throw new ArgumentException($"map '{map.Name}' has {map.ValueSize}-byte values but {valueType.Name} has {valueSize} bytes", nameof(map));
        return map;
    }

    public static uint BatchCount(int keys, int values, int valuesPerKey)
    {
        if (keys == 0) throw new ArgumentException("the batch is empty", nameof(keys));
        if ((long)values != (long)keys * valuesPerKey)
            throw new ArgumentException(valuesPerKey == 1
                ? $"{keys} keys need {keys} values, got {values}"
                : $"{keys} keys need {(long)keys * valuesPerKey} per-CPU values ({valuesPerKey} CPUs each), got {values}", nameof(values));
        return (uint)keys;
    }

    /// <summary>Creates a map for a typed wrapper; the wrapper takes over its fd.</summary>
    public static BpfMap Create(string name, MapType type, uint keySize, uint valueSize, uint maxEntries, MapFlags flags, ulong mapExtra = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (maxEntries == 0) throw new ArgumentOutOfRangeException(nameof(maxEntries), $"a {type} map needs max_entries > 0");
        return BpfMap.Create(new MapSpec { Name = name, Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, Flags = flags, MapExtra = mapExtra });
    }
}

/// <summary>The keys of a map as an allocation-free foreach source.</summary>
public readonly struct MapKeys<TKey> where TKey : unmanaged
{
    private readonly BpfMap _map;

    internal MapKeys(BpfMap map) => _map = map;

    /// <summary>Starts a walk.</summary>
    public Enumerator GetEnumerator() => new(_map);

    /// <summary>Walks keys with GET_NEXT_KEY; deleting the current key is allowed.</summary>
    public unsafe struct Enumerator
    {
        private readonly BpfMap _map;
        private TKey _current;
        private bool _started;
        private uint _seen;

        internal Enumerator(BpfMap map)
        {
            ObjectDisposedException.ThrowIf(map.IsDisposed, map);
            _map = map;
        }

        /// <summary>The current key.</summary>
        public readonly TKey Current => _current;

        /// <summary>Moves to the next key; false at the end.</summary>
        public bool MoveNext()
        {
            TKey cur = _current, next;
            if (!_map.NextKey(&cur, &next, _started, ref _seen)) return false;
            _current = next;
            _started = true;
            return true;
        }
    }
}

/// <summary>Walks the key/value pairs of a <see cref="BpfMap{TKey, TValue}"/> without allocating.</summary>
public unsafe struct MapEntryEnumerator<TKey, TValue> : IEnumerator<KeyValuePair<TKey, TValue>>
    where TKey : unmanaged
    where TValue : unmanaged
{
    private readonly BpfMap _map;
    private TKey _key;
    private TValue _value;
    private bool _started;
    private uint _seen;

    internal MapEntryEnumerator(BpfMap map)
    {
        ObjectDisposedException.ThrowIf(map.IsDisposed, map);
        _map = map;
    }

    /// <summary>The current pair.</summary>
    public readonly KeyValuePair<TKey, TValue> Current => new(_key, _value);

    readonly object IEnumerator.Current => Current;

    /// <summary>Moves to the next pair whose value can still be read.</summary>
    public bool MoveNext()
    {
        TKey cur = _key, next;
        TValue value;
        while (_map.NextKey(&cur, &next, _started, ref _seen))
        {
            _started = true;
            cur = next;
            int r = _map.RawLookup(&next, &value, 0);
            if (r == -Errno.ENOENT) continue; // deleted under us (or an empty fd slot): the next step may restart
            if (r < 0) _map.ThrowFailed("BPF_MAP_LOOKUP_ELEM", r);
            _key = next;
            _value = value;
            return true;
        }
        return false;
    }

    /// <summary>Starts over.</summary>
    public void Reset()
    {
        _started = false;
        _seen = 0;
    }

    /// <summary>Nothing to release.</summary>
    public readonly void Dispose()
    {
    }
}
