namespace SharpBpf.Symbols;

/// <summary>
/// A symbol could not be resolved to one place in a user-space binary: it is missing, is not a function, or
/// names several different functions. <see cref="Symbol"/> and <see cref="Binary"/> say which.
/// </summary>
public class SymbolResolutionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SymbolResolutionException(string symbol, string binary, string message)
        : base(message)
    {
        Symbol = symbol;
        Binary = binary;
    }

    /// <summary>The symbol as asked for (may carry a version, e.g. <c>malloc@@GLIBC_2.2.5</c>).</summary>
    public string Symbol { get; }

    /// <summary>The binary searched.</summary>
    public string Binary { get; }
}

/// <summary>No function with the asked name (and version) is defined in the binary's .symtab or .dynsym.</summary>
public sealed class SymbolNotFoundException : SymbolResolutionException
{
    /// <summary>Creates the exception.</summary>
    public SymbolNotFoundException(string symbol, string binary, string? detail = null)
        : base(symbol, binary, $"no function '{symbol}' defined in {binary}{(detail is null ? "" : $" ({detail})")}")
    {
    }
}

/// <summary>
/// A user-space binary (executable or shared library) is not an ELF file this resolver reads (ELF64 little-endian),
/// or one of its headers or tables lies outside the file. <see cref="Offset"/> is where the problem was found.
/// </summary>
public sealed class BinaryFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public BinaryFormatException(string path, long offset, string expected)
        : base($"{path}: invalid ELF binary at offset {offset}: {expected}")
    {
        Path = path;
        Offset = offset;
        Expected = expected;
    }

    /// <summary>The binary.</summary>
    public string Path { get; }

    /// <summary>File offset of the problem.</summary>
    public long Offset { get; }

    /// <summary>What was expected there.</summary>
    public string Expected { get; }
}

/// <summary>A library or executable name could not be found on the search path, in ld.so.cache or in a process's
/// memory maps. <see cref="Name"/> is the name asked for and the message lists where it was looked for.</summary>
public sealed class LibraryNotFoundException : FileNotFoundException
{
    /// <summary>Creates the exception.</summary>
    public LibraryNotFoundException(string name, string searched)
        : base($"binary '{name}' not found ({searched})", name)
    {
        Name = name;
    }

    /// <summary>The name asked for.</summary>
    public string Name { get; }
}
