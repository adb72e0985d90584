using System.Globalization;

namespace SharpBpf.Asm.Conformance;

/// <summary>
/// One bpf_conformance test file (<c>*.data</c>): sections <c>-- asm</c> (the program), <c>-- mem</c> (input memory as
/// hex bytes), <c>-- raw</c> (expected encoding, one 64-bit word per line), <c>-- result</c> (expected r0); other
/// sections are informational and kept only by name.
/// </summary>
public sealed record class ConformanceTest
{
    /// <summary>File name without extension.</summary>
    public required string Name { get; init; }

    /// <summary>The program text of the <c>-- asm</c> section.</summary>
    public required string Asm { get; init; }

    /// <summary>Line of the file where the asm text starts (1-based), to map assembler errors back to the file.</summary>
    public int AsmFirstLine { get; init; }

    /// <summary>Input memory (empty when the file has no <c>-- mem</c>).</summary>
    public byte[] Memory { get; init; } = [];

    /// <summary>Expected encoding from <c>-- raw</c>, or null.</summary>
    public ulong[]? Raw { get; init; }

    /// <summary>Expected r0 from <c>-- result</c>, or null.</summary>
    public ulong? Result { get; init; }

    /// <summary>Assembles <see cref="Asm"/>; errors carry line numbers of the .data file.</summary>
    /// <exception cref="AssemblerException">The program does not assemble.</exception>
    public Instruction[] Assemble()
    {
        try
        {
            return Assembler.Assemble(Asm);
        }
        catch (AssemblerException e)
        {
            throw new AssemblerException(e.Line + AsmFirstLine - 1, e.Column, e.Problem);
        }
    }

    /// <summary>Reads and parses a test file.</summary>
    /// <exception cref="FormatException">The file is malformed (the message names file and line).</exception>
    public static ConformanceTest Load(string path) => Parse(File.ReadAllText(path), Path.GetFileNameWithoutExtension(path));

    /// <summary>Parses the text of a test file.</summary>
    /// <exception cref="FormatException">Missing <c>-- asm</c>, bad hex in <c>-- mem</c>/<c>-- raw</c>/<c>-- result</c>.</exception>
    public static ConformanceTest Parse(string text, string name)
    {
        var sections = new Dictionary<string, (List<string> Lines, int First)>(StringComparer.Ordinal);
        string? current = null;
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("--", StringComparison.Ordinal))
            {
                current = line[2..].Trim();
                sections[current] = ([], lineNo + 1);
                continue;
            }
            if (current is not null) sections[current].Lines.Add(line);
        }
        if (!sections.TryGetValue("asm", out var asm))
            throw new FormatException($"{name}: no '-- asm' section");

        byte[] memory = [];
        if (sections.TryGetValue("mem", out var mem))
            memory = ParseHexBytes(string.Join(' ', mem.Lines), $"{name}: -- mem (line {mem.First})");
        ulong[]? rawWords = null;
        if (sections.TryGetValue("raw", out var rawSec))
        {
            var words = new List<ulong>();
            for (int i = 0; i < rawSec.Lines.Count; i++)
            {
                string l = StripComment(rawSec.Lines[i]);
                if (l.Length == 0) continue;
                words.Add(ParseHexWord(l, $"{name}: -- raw line {rawSec.First + i}"));
            }
            rawWords = [.. words];
        }
        ulong? result = null;
        if (sections.TryGetValue("result", out var res))
        {
            string? l = res.Lines.Select(StripComment).FirstOrDefault(x => x.Length > 0);
            if (l is not null) result = ParseHexWord(l, $"{name}: -- result (line {res.First})");
        }
        return new ConformanceTest
        {
            Name = name, Asm = string.Join('\n', asm.Lines), AsmFirstLine = asm.First, Memory = memory, Raw = rawWords, Result = result,
        };
    }

    private static string StripComment(string l)
    {
        int hash = l.IndexOf('#');
        return (hash >= 0 ? l[..hash] : l).Trim();
    }

    private static ulong ParseHexWord(string s, string where)
    {
        var t = s.AsSpan().Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) t = t[2..];
        return ulong.TryParse(t, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong v)
            ? v
            : throw new FormatException($"{where}: '{s}' is not a hex number");
    }

    /// <summary>Parses hex bytes separated by whitespace ("01 02 ff"), as the plugin protocol and <c>-- mem</c> write them.</summary>
    /// <exception cref="FormatException">A token is not a one-byte hex number.</exception>
    public static byte[] ParseHexBytes(string text, string what = "hex bytes")
    {
        var parts = text.Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var bytes = new byte[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            var p = parts[i].AsSpan();
            if (p.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) p = p[2..];
            if (p.Length is 0 or > 2 || !byte.TryParse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
                throw new FormatException($"{what}: token {i + 1} '{parts[i]}' is not a hex byte");
        }
        return bytes;
    }
}
