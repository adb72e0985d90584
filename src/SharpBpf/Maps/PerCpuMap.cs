using System.Buffers;
using System.Runtime.CompilerServices;
using SharpBpf.Internal;
using SharpBpf.Interop;

namespace SharpBpf.Maps;

/// <summary>
/// Base of the typed per-CPU maps: each key has one <typeparamref name="TValue"/> per possible CPU. Lookups fill
/// a <see cref="Span{T}"/> of <see cref="CpuCount"/> values; updates take as many. The kernel lays the values out
/// round_up(value size, 8) bytes apart: when sizeof(<typeparamref name="TValue"/>) is a multiple of 8 the span is
/// handed to the kernel as it is, otherwise values are packed through a stack (or pooled) buffer, still without
/// allocating.
/// </summary>
public abstract unsafe class PerCpuMap<TKey, TValue> : BpfMap
    where TKey : unmanaged
    where TValue : unmanaged
{
    private const int StackLimit = 1024;
    private static readonly int Stride = (sizeof(TValue) + 7) & ~7;
    private static readonly bool Packed = Stride == sizeof(TValue);

    /// <summary>Takes over <paramref name="map"/> after checking its type and sizes.</summary>
    private protected PerCpuMap(BpfMap map, params ReadOnlySpan<MapType> types)
        : base(MapChecks.Check(map, (uint)sizeof(TKey), (uint)sizeof(TValue), typeof(TKey), typeof(TValue), types))
    {
    }

    /// <summary>Number of values per key: the possible CPUs of this machine.</summary>
    public int CpuCount => Platform.PossibleCpus;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckCpuSpan(int length, string name)
    {
        if (length != CpuCount) ThrowCpuSpan(length, name);
    }

    private void ThrowCpuSpan(int length, string name) =>
        throw new ArgumentException($"per-CPU map '{Name}' needs exactly {CpuCount} values (one per possible CPU), got {length}", name);

    /// <summary>Reads the per-CPU values of <paramref name="key"/> into <paramref name="values"/> (length <see cref="CpuCount"/>).</summary>
    public bool TryLookup(in TKey key, Span<TValue> values)
    {
        CheckCpuSpan(values.Length, nameof(values));
        int r;
        fixed (TKey* k = &key)
        {
            if (Packed)
            {
                fixed (TValue* v = values) r = RawLookup(k, v, 0);
            }
            else
            {
                int bytes = Stride * values.Length;
                byte[]? pooled = null;
                Span<byte> buf = bytes <= StackLimit ? stackalloc byte[bytes] : (pooled = ArrayPool<byte>.Shared.Rent(bytes));
                fixed (byte* b = buf) r = RawLookup(k, b, 0);
                if (r == 0) Unpack(buf, values);
                if (pooled is not null) ArrayPool<byte>.Shared.Return(pooled);
            }
        }
        if (r == 0) return true;
        if (r == -Errno.ENOENT) return false;
        ThrowFailed("BPF_MAP_LOOKUP_ELEM", r);
        return false;
    }

    /// <summary>Like <see cref="TryLookup"/>; throws <see cref="KeyNotFoundException"/> when absent.</summary>
    public void Lookup(in TKey key, Span<TValue> values)
    {
        if (!TryLookup(key, values)) ThrowKeyNotFound();
    }

    /// <summary>Writes one value per CPU for <paramref name="key"/>.</summary>
    public void Update(in TKey key, ReadOnlySpan<TValue> values, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckCpuSpan(values.Length, nameof(values));
        int r;
        fixed (TKey* k = &key)
        {
            if (Packed)
            {
                fixed (TValue* v = values) r = RawUpdate(k, v, (ulong)flags);
            }
            else
            {
                int bytes = Stride * values.Length;
                byte[]? pooled = null;
                Span<byte> buf = bytes <= StackLimit ? stackalloc byte[bytes] : (pooled = ArrayPool<byte>.Shared.Rent(bytes));
                Pack(values, buf);
                fixed (byte* b = buf) r = RawUpdate(k, b, (ulong)flags);
                if (pooled is not null) ArrayPool<byte>.Shared.Return(pooled);
            }
        }
        if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
    }

    /// <summary>Writes the same value on every CPU.</summary>
    public void UpdateAll(in TKey key, in TValue value, UpdateFlags flags = UpdateFlags.Any)
    {
        int n = CpuCount;
        TValue[]? pooled = null;
        Span<TValue> all = n * sizeof(TValue) <= StackLimit ? stackalloc TValue[n] : (pooled = ArrayPool<TValue>.Shared.Rent(n)).AsSpan(0, n);
        all.Fill(value);
        Update(key, all, flags);
        if (pooled is not null) ArrayPool<TValue>.Shared.Return(pooled);
    }

    /// <summary>Deletes <paramref name="key"/>; false when absent.</summary>
    public bool Delete(in TKey key) => DeleteCore(key);

    /// <summary>The keys (GET_NEXT_KEY walk).</summary>
    public MapKeys<TKey> Keys => new(this);

    /// <summary>Next elements of a batch walk: keys.Length keys and keys.Length × <see cref="CpuCount"/> values
    /// (values of key i at [i × CpuCount, (i+1) × CpuCount)). Returns how many keys, 0 at the end.</summary>
    public int LookupBatch(ref MapBatchCursor cursor, Span<TKey> keys, Span<TValue> values) =>
        Walk(BpfCmd.BPF_MAP_LOOKUP_BATCH, ref cursor, keys, values);

    /// <summary>Like <see cref="LookupBatch"/>, deleting what it returns (per-CPU hash maps).</summary>
    public int LookupAndDeleteBatch(ref MapBatchCursor cursor, Span<TKey> keys, Span<TValue> values) =>
        Walk(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, ref cursor, keys, values);

    private int Walk(BpfCmd cmd, ref MapBatchCursor cursor, Span<TKey> keys, Span<TValue> values)
    {
        uint n = MapChecks.BatchCount(keys.Length, values.Length, CpuCount);
        fixed (TKey* k = keys)
        {
            if (Packed)
            {
                fixed (TValue* v = values) return BatchWalk(cmd, ref cursor, k, v, n, 0);
            }
            byte[] pooled = ArrayPool<byte>.Shared.Rent(Stride * values.Length);
            try
            {
                int got;
                fixed (byte* b = pooled) got = BatchWalk(cmd, ref cursor, k, b, n, 0);
                Unpack(pooled.AsSpan(0, Stride * got * CpuCount), values[..(got * CpuCount)]);
                return got;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(pooled);
            }
        }
    }

    /// <summary>Writes keys.Length keys with keys.Length × <see cref="CpuCount"/> values in one syscall.</summary>
    public void UpdateBatch(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values)
    {
        uint n = MapChecks.BatchCount(keys.Length, values.Length, CpuCount);
        fixed (TKey* k = keys)
        {
            if (Packed)
            {
                fixed (TValue* v = values) BatchApply(BpfCmd.BPF_MAP_UPDATE_BATCH, k, v, n, 0);
                return;
            }
            byte[] pooled = ArrayPool<byte>.Shared.Rent(Stride * values.Length);
            try
            {
                Pack(values, pooled);
                fixed (byte* b = pooled) BatchApply(BpfCmd.BPF_MAP_UPDATE_BATCH, k, b, n, 0);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(pooled);
            }
        }
    }

    /// <summary>Deletes all <paramref name="keys"/> in one syscall.</summary>
    public void DeleteBatch(ReadOnlySpan<TKey> keys) => DeleteBatchCore(keys);

    private static void Unpack(ReadOnlySpan<byte> from, Span<TValue> to)
    {
        for (int i = 0; i < to.Length; i++)
            to[i] = Unsafe.ReadUnaligned<TValue>(ref Unsafe.AsRef(in from[i * Stride]));
    }

    private static void Pack(ReadOnlySpan<TValue> from, Span<byte> to)
    {
        for (int i = 0; i < from.Length; i++)
        {
            Unsafe.WriteUnaligned(ref to[i * Stride], from[i]);
            to.Slice(i * Stride + sizeof(TValue), Stride - sizeof(TValue)).Clear();
        }
    }
}
