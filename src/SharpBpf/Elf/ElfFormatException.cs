namespace SharpBpf.Elf;

/// <summary>
/// A BPF ELF object is malformed or uses something the loader does not handle: truncated headers, a section or
/// symbol past the end of the file, a bad relocation, an unknown program section name, a map definition that does
/// not make sense. <see cref="Offset"/> is the file offset where the problem was found (-1 when it is not tied to
/// one place) and the message says what was expected and, where there is one, which section/symbol/map.
/// </summary>
public sealed class ElfFormatException : FormatException
{
    /// <summary>Creates the exception for a problem at file offset <paramref name="offset"/>.</summary>
    public ElfFormatException(long offset, string expected)
        : base(offset >= 0 ? $"invalid BPF ELF object at offset {offset}: {expected}" : $"invalid BPF ELF object: {expected}")
    {
        Offset = offset;
        Expected = expected;
    }

    /// <summary>File offset where the problem was detected, or -1.</summary>
    public long Offset { get; }

    /// <summary>What the reader expected to find.</summary>
    public string Expected { get; }
}
