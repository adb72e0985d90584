namespace SharpBpf.Btf;

/// <summary>
/// A BTF blob is malformed: truncated, bad magic, a section or record past the end, a string offset out of range,
/// an unknown kind, a type id that does not exist or a reference loop. <see cref="Offset"/> is the byte offset in
/// the blob where the problem was found (-1 when it is not tied to one place) and the message says what was expected.
/// </summary>
public sealed class BtfFormatException : FormatException
{
    /// <summary>Creates the exception for a problem at <paramref name="offset"/>.</summary>
    public BtfFormatException(long offset, string expected)
        : base(offset >= 0 ? $"invalid BTF at offset {offset}: {expected}" : $"invalid BTF: {expected}")
    {
        Offset = offset;
        Expected = expected;
    }

    /// <summary>Byte offset in the blob where the problem was detected, or -1.</summary>
    public long Offset { get; }

    /// <summary>What the parser expected to find.</summary>
    public string Expected { get; }
}
