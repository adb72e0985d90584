using System.Buffers;
using SharpBpf.Interop;

namespace SharpBpf.Maps;

public unsafe partial class BpfMap
{
    /// <summary>
    /// Walks the keys with BPF_MAP_GET_NEXT_KEY: <c>foreach (ReadOnlySpan&lt;byte&gt; key in map.EnumerateKeyBytes())</c>.
    /// Safe against deletion during the walk, including deleting the current key: a hash map then restarts from its
    /// first key, which only yields keys not yet deleted. A walk that sees more than <see cref="MaxEntries"/> keys
    /// (a map churned concurrently) stops with <see cref="MapIterationAbortedException"/>.
    /// </summary>
    public KeyByteEnumerator EnumerateKeyBytes() => new(this);

    /// <summary>Advances a key walk: <paramref name="current"/> is ignored when <paramref name="started"/> is false.
    /// Returns false at the end; throws when the walk saw more keys than the map can hold.</summary>
    internal bool NextKey(void* current, void* next, bool started, ref uint seen)
    {
        int r = RawNextKey(started ? current : null, next);
        if (r == -Errno.ENOENT) return false;
        if (r < 0) ThrowFailed("BPF_MAP_GET_NEXT_KEY", r);
        if (++seen > MaxEntries) throw new MapIterationAbortedException(this);
        return true;
    }

    /// <summary>Key walk over byte spans (see <see cref="EnumerateKeyBytes"/>). Rents one buffer; dispose it
    /// (foreach does).</summary>
    public ref struct KeyByteEnumerator
    {
        private readonly BpfMap _map;
        private byte[]? _buffer;
        private bool _started;
        private uint _seen;

        internal KeyByteEnumerator(BpfMap map)
        {
            ObjectDisposedException.ThrowIf(map.IsDisposed, map);
            if (map.KeySize == 0) throw new NotSupportedException($"map '{map.Name}' ({map.Type}) has no keys to enumerate");
            _map = map;
            _buffer = ArrayPool<byte>.Shared.Rent(2 * (int)map.KeySize);
        }

        /// <summary>The current key (valid until the next MoveNext).</summary>
        public readonly ReadOnlySpan<byte> Current => _buffer.AsSpan(0, (int)_map.KeySize);

        /// <summary>Returns this enumerator (for foreach).</summary>
        public readonly KeyByteEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next key.</summary>
        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(_buffer is null, typeof(KeyByteEnumerator));
            int n = (int)_map.KeySize;
            fixed (byte* b = _buffer)
            {
                if (!_map.NextKey(b, b + n, _started, ref _seen)) return false;
                Buffer.MemoryCopy(b + n, b, n, n);
            }
            _started = true;
            return true;
        }

        /// <summary>Returns the rented buffer.</summary>
        public void Dispose()
        {
            if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}

/// <summary>A key walk saw more keys than the map's max_entries: the map was changing too fast to walk it
/// (cilium calls this ErrIterationAborted). Retry, or use a batch lookup.</summary>
public sealed class MapIterationAbortedException : InvalidOperationException
{
    internal MapIterationAbortedException(BpfMap map)
        : base($"walk of map '{map.Name}' ({map.Type}) aborted: more than max_entries ({map.MaxEntries}) keys returned, the map is being modified concurrently")
    {
    }
}
