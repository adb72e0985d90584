using System.Runtime.CompilerServices;

namespace SharpBpf.Maps;

/// <summary>
/// Position of a batch walk over a map (the opaque <c>in_batch</c>/<c>out_batch</c> token of
/// BPF_MAP_LOOKUP_BATCH and BPF_MAP_LOOKUP_AND_DELETE_BATCH). Start with <c>default</c>; pass it by
/// <c>ref</c> to successive calls until they return 0 (or <see cref="IsDone"/> is true).
/// </summary>
/// <remarks>
/// The kernel's token is a bucket index (u32) for hash maps and the last key visited for array-like maps
/// (array, LPM trie), so it needs max(key size, 4) bytes. Up to 64 bytes are kept inline; longer keys use one
/// heap buffer per walk. A cursor belongs to one map; using it with another throws <see cref="ArgumentException"/>.
/// </remarks>
public struct MapBatchCursor
{
    internal const int InlineSize = 64;

    internal TokenBuffer Inline;
    internal byte[]? Large;
    internal uint MapId;
    internal bool Started;

    /// <summary>True once the kernel reported the end of the map (ENOENT); further calls return 0.</summary>
    public bool IsDone { get; internal set; }

    /// <summary>Starts the walk again from the beginning.</summary>
    public void Reset() => this = default;

    [InlineArray(InlineSize)]
    internal struct TokenBuffer
    {
        private byte _element0;
    }
}
