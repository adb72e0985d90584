namespace SharpBpf.Elf;

/// <summary>
/// <see cref="ObjectLinker"/> cannot link its inputs: an input is not a BPF ELF relocatable (the inner exception is
/// the <see cref="ElfFormatException"/> or <see cref="Btf.BtfFormatException"/>), two inputs define the same strong
/// symbol, an extern does not match its definition (map definitions, BTF types), a relocation or section cannot be
/// merged, or (strict mode) an extern stays unresolved. The message names the file(s) and the symbol or section.
/// </summary>
public sealed class ObjectLinkException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">The input the problem was found in (for a conflict: the later one).</param>
    /// <param name="message">What is wrong, naming the symbol or section.</param>
    /// <param name="symbol">The symbol concerned, if any.</param>
    /// <param name="section">The section concerned, if any.</param>
    /// <param name="otherFile">For a conflict, the earlier input that defines the symbol too.</param>
    /// <param name="inner">The parse error of a malformed input.</param>
    public ObjectLinkException(string file, string message, string? symbol = null, string? section = null, string? otherFile = null, Exception? inner = null)
        : base($"link: {file}: {message}", inner)
    {
        File = file;
        Symbol = symbol;
        Section = section;
        OtherFile = otherFile;
    }

    /// <summary>The input the problem was found in.</summary>
    public string File { get; }

    /// <summary>The symbol concerned, or null.</summary>
    public string? Symbol { get; }

    /// <summary>The section concerned, or null.</summary>
    public string? Section { get; }

    /// <summary>For a conflict between two inputs: the one that came first; otherwise null.</summary>
    public string? OtherFile { get; }
}
