using System.Globalization;

namespace SharpBpf.Externs;

/// <summary>Kernel symbol addresses from /proc/kallsyms, for typeless <c>__ksym</c> externs (addresses read as 0
/// unless the caller may see them: root, or kernel.kptr_restrict=0).</summary>
public static class KernelSymbols
{
    /// <summary>The addresses of the requested symbols found in /proc/kallsyms (the others are absent).</summary>
    /// <exception cref="ExternException">A symbol appears twice with different addresses (ambiguous, as libbpf says).</exception>
    public static Dictionary<string, ulong> Lookup(IEnumerable<string> names)
    {
        using var reader = new StreamReader("/proc/kallsyms");
        return Lookup(reader, names);
    }

    /// <summary>Like <see cref="Lookup(IEnumerable{string})"/> over kallsyms-format text ("ADDRESS TYPE NAME [module]").</summary>
    /// <exception cref="FormatException">A line is not "ADDRESS TYPE NAME".</exception>
    /// <exception cref="ExternException">A symbol appears twice with different addresses.</exception>
    public static Dictionary<string, ulong> Lookup(TextReader reader, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(names);
        var wanted = new HashSet<string>(names, StringComparer.Ordinal);
        var found = new Dictionary<string, ulong>(StringComparer.Ordinal);
        if (wanted.Count == 0) return found;
        var lookup = wanted.GetAlternateLookup<ReadOnlySpan<char>>();
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            var span = line.AsSpan();
            int s1 = span.IndexOf(' ');
            int s2 = s1 < 0 ? -1 : span[(s1 + 1)..].IndexOf(' ');
            if (s1 <= 0 || s2 < 0) throw new FormatException($"kallsyms line {lineNo}: 'ADDRESS TYPE NAME', got '{line}'");
            var name = span[(s1 + s2 + 2)..];
            int end = name.IndexOfAny('\t', ' ');
            if (end >= 0) name = name[..end];
            if (!lookup.TryGetValue(name, out var key)) continue;
            if (!ulong.TryParse(span[..s1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong addr))
                throw new FormatException($"kallsyms line {lineNo}: a hex address, got '{span[..s1]}'");
            if (found.TryGetValue(key, out ulong prev) && prev != addr)
                throw new ExternException(key, $"resolution is ambiguous: 0x{prev:x} or 0x{addr:x} in kallsyms");
            found[key] = addr;
        }
        return found;
    }
}
