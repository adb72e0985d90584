using SharpBpf.Interop;

namespace SharpBpf.Maps;

public unsafe partial class BpfMap
{
    /// <summary>Bytes of the batch cursor token: hash maps use a u32 bucket index, array-like maps the last key.</summary>
    internal int BatchTokenSize => Math.Max((int)KeySize, 4);

    /// <summary>
    /// Copies the next elements of a walk into <paramref name="keys"/> (n × <see cref="KeySize"/> bytes) and
    /// <paramref name="values"/> (n × <see cref="ValueBufferSize"/> bytes) with BPF_MAP_LOOKUP_BATCH (Linux 5.6).
    /// </summary>
    /// <returns>The number of elements copied; 0 once the walk is over. Hash maps return whole buckets, so a
    /// non-final batch may hold fewer than n elements: loop until 0.</returns>
    /// <exception cref="ArgumentException">Buffer lengths are not whole elements, or differ in count.</exception>
    /// <exception cref="MapBatchException">ENOSPC: a hash bucket holds more elements than the batch has room
    /// for; the cursor did not move, retry with larger buffers. Any other kernel error.</exception>
    public int LookupBatch(ref MapBatchCursor cursor, Span<byte> keys, Span<byte> values, LookupFlags flags = LookupFlags.None)
    {
        uint count = CheckBatch(keys.Length, values.Length);
        fixed (byte* k = keys)
        fixed (byte* v = values)
            return BatchWalk(BpfCmd.BPF_MAP_LOOKUP_BATCH, ref cursor, k, v, count, (ulong)flags);
    }

    /// <summary>Like <see cref="LookupBatch"/>, but deletes the returned elements (BPF_MAP_LOOKUP_AND_DELETE_BATCH,
    /// hash maps, Linux 5.6).</summary>
    public int LookupAndDeleteBatch(ref MapBatchCursor cursor, Span<byte> keys, Span<byte> values, LookupFlags flags = LookupFlags.None)
    {
        uint count = CheckBatch(keys.Length, values.Length);
        fixed (byte* k = keys)
        fixed (byte* v = values)
            return BatchWalk(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, ref cursor, k, v, count, (ulong)flags);
    }

    /// <summary>Creates or updates n elements at once (BPF_MAP_UPDATE_BATCH, Linux 5.6). The kernel accepts only
    /// <see cref="UpdateFlags.Lock"/> (or nothing) for batches.</summary>
    /// <exception cref="MapBatchException">The kernel stopped; <see cref="MapBatchException.Processed"/> elements were written.</exception>
    public void UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, UpdateFlags flags = UpdateFlags.Any)
    {
        uint count = CheckBatch(keys.Length, values.Length);
        CheckBatchUpdateFlags(flags);
        fixed (byte* k = keys)
        fixed (byte* v = values)
            BatchApply(BpfCmd.BPF_MAP_UPDATE_BATCH, k, v, count, (ulong)flags);
    }

    /// <summary>Deletes n keys at once (BPF_MAP_DELETE_BATCH, Linux 5.6).</summary>
    /// <exception cref="MapBatchException">A key was absent (ENOENT) or another error; the keys before it were deleted
    /// (<see cref="MapBatchException.Processed"/>).</exception>
    public void DeleteBatch(ReadOnlySpan<byte> keys)
    {
        uint count = CheckBatchKeys(keys.Length);
        fixed (byte* k = keys)
            BatchApply(BpfCmd.BPF_MAP_DELETE_BATCH, k, null, count, 0);
    }

    internal static void CheckBatchUpdateFlags(UpdateFlags flags)
    {
        if ((flags & ~UpdateFlags.Lock) != 0)
            throw new ArgumentException($"batch updates accept only UpdateFlags.Lock (the kernel rejects {flags & ~UpdateFlags.Lock})", nameof(flags));
    }

    private uint CheckBatchKeys(int keysLength)
    {
        if (KeySize == 0)
            throw new NotSupportedException($"map '{Name}' ({Type}) has no keys: batch operations need keyed maps");
        if (keysLength == 0 || keysLength % (int)KeySize != 0)
            throw new ArgumentException($"map '{Name}' has {KeySize}-byte keys: the key buffer must hold a positive whole number of keys, got {keysLength} bytes", "keys");
        return (uint)(keysLength / (int)KeySize);
    }

    private uint CheckBatch(int keysLength, int valuesLength)
    {
        uint count = CheckBatchKeys(keysLength);
        if ((long)valuesLength != (long)count * ValueBufferSize)
            throw new ArgumentException(
                $"map '{Name}': {count} keys need {(long)count * ValueBufferSize} value bytes ({ValueBufferSize} per element), got {valuesLength}", "values");
        return count;
    }

    /// <summary>One LOOKUP(_AND_DELETE)_BATCH step; the caller checked the buffers.</summary>
    internal int BatchWalk(BpfCmd cmd, ref MapBatchCursor cursor, void* keys, void* values, uint count, ulong elemFlags)
    {
        if (cursor.IsDone) return 0;
        if (cursor.Started && cursor.MapId != Id)
            throw new ArgumentException($"the batch cursor belongs to map id {cursor.MapId}, not to '{Name}' (id {Id}); Reset() it first", nameof(cursor));
        int tokenSize = BatchTokenSize;
        if (tokenSize > MapBatchCursor.InlineSize && (cursor.Large is null || cursor.Large.Length < tokenSize))
            cursor.Large = new byte[tokenSize];
        fixed (byte* inline = &cursor.Inline[0])
        fixed (byte* large = cursor.Large)
        {
            byte* token = tokenSize > MapBatchCursor.InlineSize ? large : inline;
            var attr = new MapBatchAttr
            {
                in_batch = cursor.Started ? (ulong)token : 0,
                out_batch = (ulong)token,
                keys = (ulong)keys,
                values = (ulong)values,
                count = count,
                map_fd = (uint)Fd,
                elem_flags = elemFlags,
            };
            int r = Bpf.TryCall(cmd, ref attr);
            if (r == 0 || r == -Errno.ENOENT)
            {
                cursor.Started = true;
                cursor.MapId = Id;
                cursor.IsDone = r != 0;
                return (int)attr.count;
            }
            if (r == -Errno.ENOSPC)
                throw new MapBatchException(cmd.ToString(), Errno.ENOSPC, 0,
                    $"map '{Name}': a hash bucket holds more elements than the batch of {count} has room for; the cursor did not move, retry with larger buffers");
            throw new MapBatchException(cmd.ToString(), -r, (int)attr.count, $"map '{Name}' ({Type})");
        }
    }

    /// <summary>One UPDATE/DELETE_BATCH call; throws with the processed count on failure.</summary>
    internal void BatchApply(BpfCmd cmd, void* keys, void* values, uint count, ulong elemFlags)
    {
        var attr = new MapBatchAttr { keys = (ulong)keys, values = (ulong)values, count = count, map_fd = (uint)Fd, elem_flags = elemFlags };
        int r = Bpf.TryCall(cmd, ref attr);
        if (r < 0)
            throw new MapBatchException(cmd.ToString(), -r, (int)attr.count,
                $"map '{Name}' ({Type}): stopped after {attr.count} of {count} elements");
    }
}

/// <summary>A batch map operation failed; <see cref="Processed"/> elements were handled before it stopped.</summary>
public sealed class MapBatchException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public MapBatchException(string operation, int errno, int processed, string? detail = null)
        : base(operation, errno, detail) => Processed = processed;

    /// <summary>Elements the kernel handled before the error.</summary>
    public int Processed { get; }
}
