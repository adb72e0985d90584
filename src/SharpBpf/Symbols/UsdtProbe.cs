using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Symbols;

/// <summary>
/// One USDT probe site from a binary's <c>.note.stapsdt</c> section (the notes <c>sys/sdt.h</c>'s
/// <c>STAP_PROBE</c>/<c>DTRACE_PROBE</c> macros emit): where it is, its semaphore and its argument spec.
/// </summary>
/// <param name="Provider">The provider ("sb" in <c>STAP_PROBE(sb, args)</c>).</param>
/// <param name="Name">The probe name.</param>
/// <param name="Address">The probe's virtual address, adjusted by <c>.stapsdt.base</c> when the binary was moved
/// after linking (prelink).</param>
/// <param name="FileOffset">The file offset a uprobe attaches at.</param>
/// <param name="SemaphoreAddress">The virtual address of the probe's semaphore (a <c>unsigned short</c> the kernel
/// increments while a probe is attached), 0 when the probe has none.</param>
/// <param name="SemaphoreFileOffset">The semaphore's file offset (the uprobe's <c>ref_ctr_offset</c>), 0 for none.</param>
/// <param name="ArgumentSpec">The raw argument spec, e.g. <c>-4@%edi 8@-8(%rbp) 4@$5</c>.</param>
public sealed record UsdtProbe(
    string Provider, string Name, ulong Address, ulong FileOffset, ulong SemaphoreAddress, ulong SemaphoreFileOffset, string ArgumentSpec)
{
    /// <summary>The probe's arguments parsed from <see cref="ArgumentSpec"/> (x86-64 syntax).</summary>
    /// <exception cref="UsdtArgumentException">The spec is malformed or uses an unsupported operand.</exception>
    public IReadOnlyList<UsdtArgument> ParseArguments() => UsdtArgument.ParseAll(ArgumentSpec, $"{Provider}:{Name}");

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Provider}:{Name} at 0x{Address:x} (file offset 0x{FileOffset:x}){(SemaphoreAddress != 0 ? $" semaphore 0x{SemaphoreAddress:x}" : "")} args '{ArgumentSpec}'";
}

/// <summary>Reads the USDT probes (<c>.note.stapsdt</c>) of an ELF64 executable or shared library.</summary>
public static class UsdtNotes
{
    private const uint NT_STAPSDT = 3;

    /// <summary>The USDT probes of the binary at <paramref name="path"/>, in note order (empty when it has none).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="BinaryFormatException">The binary or a note is malformed, or a probe or semaphore lies
    /// outside the binary's loadable segments.</exception>
    public static IReadOnlyList<UsdtProbe> Read(string path) => Read(ElfSymbolTable.Read(path));

    /// <summary>The USDT probes of an already read binary.</summary>
    /// <exception cref="BinaryFormatException">A note is malformed, or a probe or semaphore lies outside the binary's
    /// loadable segments.</exception>
    public static IReadOnlyList<UsdtProbe> Read(ElfSymbolTable binary)
    {
        ArgumentNullException.ThrowIfNull(binary);
        if (binary.FindSection(".note.stapsdt") is not ElfSection notes) return [];
        ulong? baseAddress = binary.FindSection(".stapsdt.base") is ElfSection b ? b.Address : null;
        var raw = ParseNotes(binary.ReadSection(notes), binary.Path, (long)notes.Offset);
        var probes = new List<UsdtProbe>(raw.Count);
        foreach (var n in raw)
        {
            // Prelink may move a binary after the notes were written: .stapsdt.base's address then differs from the
            // one the note recorded, by as much as everything else moved.
            ulong delta = baseAddress is ulong actual && n.Base != 0 ? actual - n.Base : 0;
            ulong pc = n.Pc + delta;
            string what = $"USDT probe {n.Provider}:{n.Name}";
            ulong offset = FileOffset(binary, pc, executable: true, what, n.NoteOffset);
            ulong sema = n.Semaphore == 0 ? 0 : n.Semaphore + delta;
            ulong semaOffset = sema == 0 ? 0 : FileOffset(binary, sema, executable: false, $"the semaphore of {what}", n.NoteOffset);
            probes.Add(new UsdtProbe(n.Provider, n.Name, pc, offset, sema, semaOffset, n.Args));
        }
        return probes;
    }

    private static ulong FileOffset(ElfSymbolTable binary, ulong address, bool executable, string what, long noteOffset)
    {
        if (binary.LoadSegments.Count == 0) return address; // a relocatable object: addresses are offsets
        foreach (var seg in binary.LoadSegments)
            if ((!executable || seg.IsExecutable) && address >= seg.VirtualAddress && address - seg.VirtualAddress < seg.FileSize)
                return address - seg.VirtualAddress + seg.FileOffset;
        throw new BinaryFormatException(binary.Path, noteOffset,
            $"{what} at 0x{address:x} inside a file-backed {(executable ? "executable " : "")}PT_LOAD segment");
    }

    /// <summary>One stapsdt note as written: addresses before any adjustment.</summary>
    internal readonly record struct RawNote(string Provider, string Name, ulong Pc, ulong Base, ulong Semaphore, string Args, long NoteOffset);

    /// <summary>Parses the contents of a <c>.note.stapsdt</c> section (notes of other owners or types are skipped).</summary>
    /// <param name="data">The section's bytes.</param>
    /// <param name="path">The binary, for errors.</param>
    /// <param name="sectionOffset">The section's file offset, for errors.</param>
    /// <exception cref="BinaryFormatException">A note header, name or descriptor runs past the section, or a
    /// stapsdt descriptor lacks its addresses or NUL-terminated strings.</exception>
    internal static List<RawNote> ParseNotes(ReadOnlySpan<byte> data, string path, long sectionOffset)
    {
        var notes = new List<RawNote>();
        int pos = 0;
        while (pos < data.Length)
        {
            long at = sectionOffset + pos;
            if (data.Length - pos < 12) throw new BinaryFormatException(path, at, $"a 12-byte note header, {data.Length - pos} bytes left in .note.stapsdt");
            uint namesz = BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
            uint descsz = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 8)..]);
            long nameStart = pos + 12, descStart = nameStart + Align4(namesz), end = descStart + Align4(descsz);
            if (descStart > data.Length || end > data.Length)
                throw new BinaryFormatException(path, at, $"a note of {namesz}+{descsz} bytes inside .note.stapsdt ({data.Length - pos} bytes left)");
            var name = data.Slice((int)nameStart, (int)namesz);
            var desc = data.Slice((int)descStart, (int)descsz);
            pos = (int)end;
            if (type != NT_STAPSDT || !name.SequenceEqual("stapsdt\0"u8)) continue;
            if (desc.Length < 24) throw new BinaryFormatException(path, at, $"a stapsdt descriptor with 3 addresses (24 bytes), got {desc.Length}");
            ulong pc = BinaryPrimitives.ReadUInt64LittleEndian(desc);
            ulong baseAddr = BinaryPrimitives.ReadUInt64LittleEndian(desc[8..]);
            ulong sema = BinaryPrimitives.ReadUInt64LittleEndian(desc[16..]);
            var rest = desc[24..];
            string provider = NextString(ref rest, path, at, "provider");
            string probe = NextString(ref rest, path, at, "probe name");
            string args = NextString(ref rest, path, at, $"argument spec of {provider}:{probe}");
            if (provider.Length == 0 || probe.Length == 0)
                throw new BinaryFormatException(path, at, "a stapsdt note with a provider and a probe name");
            notes.Add(new RawNote(provider, probe, pc, baseAddr, sema, args, at));
        }
        return notes;
    }

    private static long Align4(uint n) => ((long)n + 3) & ~3L;

    private static string NextString(ref ReadOnlySpan<byte> rest, string path, long at, string what)
    {
        int nul = rest.IndexOf((byte)0);
        if (nul < 0) throw new BinaryFormatException(path, at, $"a NUL-terminated {what} in the stapsdt descriptor");
        string s = Encoding.UTF8.GetString(rest[..nul]);
        rest = rest[(nul + 1)..];
        return s;
    }
}
