using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Asm;

/// <summary>
/// Writes a program as a minimal ELF64 relocatable BPF object (little endian, <c>EM_BPF</c>): the instructions in
/// one executable section (<c>.text</c> or a program section such as <c>xdp</c>), a <c>license</c> section, and a
/// symbol table with a global function symbol for the program and <c>_license</c>. Tools such as
/// <c>llvm-objdump -d</c> and ELF loaders read it like a clang-built object.
/// </summary>
public static class ObjectWriter
{
    private const int EhSize = 64, ShEntSize = 64, SymSize = 24;
    private const ushort EmBpf = 247;

    /// <summary>Builds the object file bytes.</summary>
    /// <param name="code">The program.</param>
    /// <param name="section">Section name (<c>.text</c>, <c>xdp</c>, <c>socket</c>, <c>tc</c>, ...).</param>
    /// <param name="programName">Name of the function symbol.</param>
    /// <param name="license">Contents of the <c>license</c> section (NUL-terminated in the file).</param>
    /// <exception cref="ArgumentException">Empty program or names, or the program holds map fds or other
    /// load-time references (an object names maps through relocations, which this writer does not emit).</exception>
    public static byte[] ToBytes(ReadOnlySpan<Instruction> code, string section = ".text", string programName = "prog", string license = "GPL")
    {
        ArgumentException.ThrowIfNullOrEmpty(section);
        ArgumentException.ThrowIfNullOrEmpty(programName);
        ArgumentNullException.ThrowIfNull(license);
        if (code.IsEmpty) throw new ArgumentException("the program is empty", nameof(code));
        if (section.Contains('\0') || programName.Contains('\0') || license.Contains('\0'))
            throw new ArgumentException("names and license must not contain NUL");
        for (int i = 0; i < code.Length; i++)
        {
            if (code[i].IsLoadImm64 && code[i].Src is PseudoSource.MapFd or PseudoSource.MapValue or PseudoSource.MapIndex or PseudoSource.MapIndexValue)
                throw new ArgumentException($"instruction {i} loads a map (pseudo source {code[i].Src}): objects reference maps by relocation, which this writer does not emit", nameof(code));
            if (code[i].IsLoadImm64) i++;
        }

        // .strtab holds both section and symbol names.
        var strtab = new MemoryStream();
        strtab.WriteByte(0);
        int Name(string s)
        {
            int off = (int)strtab.Length;
            strtab.Write(Encoding.UTF8.GetBytes(s));
            strtab.WriteByte(0);
            return off;
        }
        int nStrtab = Name(".strtab"), nText = Name(section), nLicense = Name("license"), nSymtab = Name(".symtab");
        int nProg = Name(programName), nLicSym = Name("_license");

        byte[] text = Instruction.Encode(code);
        byte[] lic = [.. Encoding.UTF8.GetBytes(license), 0];
        var symtab = new byte[3 * SymSize];
        WriteSym(symtab.AsSpan(SymSize), nProg, 0x12 /* GLOBAL FUNC */, 2, (ulong)text.Length);
        WriteSym(symtab.AsSpan(2 * SymSize), nLicSym, 0x11 /* GLOBAL OBJECT */, 3, (ulong)lic.Length);
        byte[] strBytes = strtab.ToArray();

        int strOff = EhSize;
        int textOff = Align(strOff + strBytes.Length, 8);
        int licOff = textOff + text.Length;
        int symOff = Align(licOff + lic.Length, 8);
        int shOff = Align(symOff + symtab.Length, 8);
        const int shNum = 5;
        var file = new byte[shOff + shNum * ShEntSize];
        var f = file.AsSpan();

        // ELF header
        f[0] = 0x7f; f[1] = (byte)'E'; f[2] = (byte)'L'; f[3] = (byte)'F';
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // ELFDATA2LSB
        f[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(f[16..], 1); // ET_REL
        BinaryPrimitives.WriteUInt16LittleEndian(f[18..], EmBpf);
        BinaryPrimitives.WriteUInt32LittleEndian(f[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(f[40..], (ulong)shOff);
        BinaryPrimitives.WriteUInt16LittleEndian(f[52..], EhSize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[58..], ShEntSize);
        BinaryPrimitives.WriteUInt16LittleEndian(f[60..], shNum);
        BinaryPrimitives.WriteUInt16LittleEndian(f[62..], 1); // e_shstrndx = .strtab

        strBytes.CopyTo(f[strOff..]);
        text.CopyTo(f[textOff..]);
        lic.CopyTo(f[licOff..]);
        symtab.CopyTo(f[symOff..]);

        // section headers: null, .strtab, program, license, .symtab
        WriteSh(f[(shOff + 1 * ShEntSize)..], nStrtab, 3 /* STRTAB */, 0, strOff, strBytes.Length, 0, 0, 1, 0);
        WriteSh(f[(shOff + 2 * ShEntSize)..], nText, 1 /* PROGBITS */, 0x6 /* ALLOC|EXECINSTR */, textOff, text.Length, 0, 0, 8, 0);
        WriteSh(f[(shOff + 3 * ShEntSize)..], nLicense, 1, 0x3 /* WRITE|ALLOC */, licOff, lic.Length, 0, 0, 1, 0);
        WriteSh(f[(shOff + 4 * ShEntSize)..], nSymtab, 2 /* SYMTAB */, 0, symOff, symtab.Length, 1 /* link: .strtab */, 1 /* first global */, 8, SymSize);
        return file;
    }

    /// <summary>Writes the object to <paramref name="path"/> (see <see cref="ToBytes"/>).</summary>
    public static void Write(string path, ReadOnlySpan<Instruction> code, string section = ".text", string programName = "prog", string license = "GPL") =>
        File.WriteAllBytes(path, ToBytes(code, section, programName, license));

    private static int Align(int v, int a) => (v + a - 1) / a * a;

    private static void WriteSym(Span<byte> s, int name, byte info, ushort shndx, ulong size)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)name);
        s[4] = info;
        s[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], shndx);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], size);
    }

    private static void WriteSh(Span<byte> s, int name, uint type, ulong flags, int offset, int size, uint link, uint info, ulong align, ulong entSize)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)name);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], type);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], 0); // sh_addr
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], (ulong)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)size);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], link);
        BinaryPrimitives.WriteUInt32LittleEndian(s[44..], info);
        BinaryPrimitives.WriteUInt64LittleEndian(s[48..], align);
        BinaryPrimitives.WriteUInt64LittleEndian(s[56..], entSize);
    }
}
