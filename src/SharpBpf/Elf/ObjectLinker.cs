using System.Buffers.Binary;
using System.Text;
using SharpBpf.Btf;

namespace SharpBpf.Elf;

/// <summary>One input of <see cref="ObjectLinker.Link"/>: a BPF ELF relocatable and the name errors call it by.</summary>
/// <param name="Name">File name (or any label) used in error messages.</param>
/// <param name="Data">The object's bytes (not copied; do not change them during the call).</param>
public readonly record struct ObjectLinkInput(string Name, ReadOnlyMemory<byte> Data);

/// <summary>Options of <see cref="ObjectLinker"/>.</summary>
public sealed record ObjectLinkOptions
{
    /// <summary>The defaults: unresolved externs are allowed (the output is a library for a later link).</summary>
    public static ObjectLinkOptions Default { get; } = new();

    /// <summary>Fail when an extern other than a <c>__kconfig</c>/<c>__ksym</c> one (which the loader resolves
    /// against the kernel) has no definition in any input.</summary>
    public bool Strict { get; init; }
}

/// <summary>
/// Static linker for BPF ELF objects, like libbpf's <c>bpf_linker</c> (<c>bpftool gen object OUT IN...</c>): merges
/// same-named sections (code appended at 8-byte alignment, .data/.rodata/.bss and their variants, .rodata.str*,
/// <c>.maps</c>, legacy <c>maps</c>; identical <c>license</c>/<c>version</c> kept once), resolves global symbols
/// across inputs (an extern by a definition, weak by strong; two strong definitions are an error; static symbols stay
/// per input), rewrites relocations for the new section offsets and symbol indexes, and merges .BTF (types of every
/// input appended, one VAR/FUNC per global, DATASECs rebuilt with the merged offsets) and .BTF.ext (func, line and
/// CO-RE records moved to the merged instruction offsets). DWARF sections are dropped, as libbpf does.
/// <para>The merged BTF is deduplicated structurally (identical types from different inputs kept once); unlike
/// libbpf's <c>btf__dedup</c>, forward declarations are not resolved to their structs. Pure: no syscalls, the same
/// inputs give the same bytes.</para>
/// </summary>
public static class ObjectLinker
{
    /// <summary>Links the objects into one relocatable object and returns its bytes.</summary>
    /// <exception cref="ObjectLinkException">An input is malformed, or the inputs conflict (see the exception).</exception>
    public static byte[] Link(IReadOnlyList<ObjectLinkInput> inputs, ObjectLinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException("at least one input object", nameof(inputs));
        var linker = new Linker(options ?? ObjectLinkOptions.Default);
        foreach (var input in inputs)
        {
            ArgumentNullException.ThrowIfNull(input.Name, nameof(inputs));
            linker.Add(input);
        }
        return linker.Finish();
    }

    /// <summary>Links the object files <paramref name="inputs"/> into <paramref name="output"/>. The output is written
    /// only when linking succeeds (to a temporary file renamed into place), so a failure leaves no partial file.</summary>
    /// <exception cref="ObjectLinkException">An input cannot be read or is malformed, or the inputs conflict.</exception>
    public static void LinkFiles(IReadOnlyList<string> inputs, string output, ObjectLinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentException.ThrowIfNullOrEmpty(output);
        var list = new List<ObjectLinkInput>(inputs.Count);
        foreach (var path in inputs)
        {
            ArgumentException.ThrowIfNullOrEmpty(path, nameof(inputs));
            byte[] data;
            try
            {
                data = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ObjectLinkException(path, $"cannot read the input: {e.Message}", inner: e);
            }
            list.Add(new ObjectLinkInput(path, data));
        }
        byte[] bytes = Link(list, options);
        string full = Path.GetFullPath(output);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private const uint SHT_LLVM_ADDRSIG = 0x6fff4c03, SHF_INFO_LINK = 0x40;
    private const uint R_BPF_64_64 = 1, R_BPF_64_ABS64 = 2, R_BPF_64_ABS32 = 3, R_BPF_64_32 = 10;
    private const ushort SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2;

    private sealed class OutSection(string name, uint type, ulong flags, ulong align, ulong entSize, bool ephemeral)
    {
        public string Name { get; } = name;
        public uint Type { get; } = type;
        public ulong Flags { get; } = flags;
        public ulong Align { get; set; } = align == 0 ? 1 : align;
        public ulong EntSize { get; } = entSize;
        public bool Ephemeral { get; } = ephemeral;
        public byte[] Data = [];
        public int Size;
        public string FirstFile = "";
        public readonly List<(ulong Offset, OutSymbol Symbol, uint Type)> Relocations = [];
        public uint RelocationFlags = SHF_INFO_LINK;
        public OutSymbol? SectionSymbol;
        public bool HasBtf;
        public readonly List<(uint Type, uint Offset, uint Size)> StaticVars = [];
        public readonly List<(uint Offset, uint Type)> Funcs = [];
        public readonly List<(uint Offset, string File, string Line, uint LineColumn)> Lines = [];
        public readonly List<(uint Offset, uint Type, string Access, uint Kind)> Cores = [];
        public int Index, RelIndex;

        public bool IsExecutable => Type == ElfSection.SHT_PROGBITS && (Flags & ElfSection.SHF_EXECINSTR) != 0;
    }

    private sealed class OutSymbol(string name, byte type, byte bind, byte other)
    {
        public string Name { get; } = name;
        public byte Type = type;
        public byte Bind = bind;
        public byte Other = other;
        public OutSection? Section;
        public ushort Special;
        public ulong Value, Size;
        public bool IsExtern, IsWeak;
        public string File = "";
        public string DeclaredIn = "";
        public uint BtfId;
        public Input? Definer;
        public (BtfSpec Spec, uint Id) Btf;
        public Input? PendingUnderlying;
        public uint PendingUnderlyingId;
        public string? ExternSection;
        public bool InDatasec;
        public uint VarSize;
        public int Index;
    }

    private sealed class Input(string name, ElfFile elf)
    {
        public string Name { get; } = name;
        public ElfFile Elf { get; } = elf;
        public BtfSpec? Btf;
        public BtfExt? Ext;
        public readonly Dictionary<int, (OutSection Section, int Offset)> Sections = [];
        public readonly HashSet<int> Skipped = [];
        public OutSymbol?[] Symbols = [];
        public uint[] TypeMap = [];
        public Dictionary<string, (string? Section, uint Id)>? GlobalBtf;

        public int SectionIndex(string name)
        {
            foreach (var s in Elf.Sections)
                if (s.Index != 0 && s.Name == name && s.Type is ElfSection.SHT_PROGBITS or ElfSection.SHT_NOBITS) return s.Index;
            return -1;
        }
    }

    /// <summary>A BTF type of the merged output, with the type ids already in output numbering and member names as
    /// strings (offsets are assigned when the blob is written).</summary>
    private sealed class MType(BtfKind kind, string name, uint sizeOrType, int vlen = 0, bool kflag = false, uint[]? extra = null, string[]? names = null, int stride = 0)
    {
        public BtfKind Kind = kind;
        public string Name = name;
        public uint SizeOrType = sizeOrType;
        public int Vlen = vlen;
        public bool KFlag = kflag;
        public uint[] Extra = extra ?? [];
        public string[]? Names = names;
        public int Stride = stride;
    }

    private sealed class Linker(ObjectLinkOptions options)
    {
        private readonly List<OutSection> _sections = [];
        private readonly Dictionary<string, OutSection> _byName = new(StringComparer.Ordinal);
        private readonly List<OutSymbol> _symbols = [];
        private readonly Dictionary<string, OutSymbol> _globals = new(StringComparer.Ordinal);
        private readonly List<MType?> _types = [];
        private bool _anyExt;

        public void Add(ObjectLinkInput source)
        {
            string file = source.Name;
            ElfFile elf;
            try
            {
                elf = ElfFile.Parse(source.Data);
            }
            catch (ElfFormatException e)
            {
                throw new ObjectLinkException(file, $"not a BPF ELF relocatable object: {e.Message}", inner: e);
            }
            var input = new Input(file, elf);
            ReadBtf(input);
            AppendSections(input);
            AppendSymbols(input);
            AppendRelocations(input);
            AppendBtf(input);
            AppendBtfExt(input);
        }

        private static bool IsDwarf(string name) => name.StartsWith(".debug_", StringComparison.Ordinal);

        private static void ReadBtf(Input input)
        {
            foreach (var sec in input.Elf.Sections)
            {
                if (sec.Name == ".BTF" && sec.Type == ElfSection.SHT_PROGBITS)
                {
                    try
                    {
                        input.Btf = BtfSpec.Parse(input.Elf.SectionMemory(sec));
                    }
                    catch (BtfFormatException e)
                    {
                        throw new ObjectLinkException(input.Name, $"malformed .BTF: {e.Message}", section: ".BTF", inner: e);
                    }
                }
            }
            foreach (var sec in input.Elf.Sections)
            {
                if (sec.Name != ".BTF.ext" || sec.Type != ElfSection.SHT_PROGBITS) continue;
                if (input.Btf is null) throw new ObjectLinkException(input.Name, "a .BTF.ext section without .BTF", section: ".BTF.ext");
                try
                {
                    input.Ext = BtfExt.Parse(input.Elf.SectionMemory(sec), input.Btf);
                }
                catch (BtfFormatException e)
                {
                    throw new ObjectLinkException(input.Name, $"malformed .BTF.ext: {e.Message}", section: ".BTF.ext", inner: e);
                }
            }
            if (input.Btf is not { } btf) return;
            // Globals' VAR/FUNC records: the one listed in a DATASEC wins over a free-floating one (libbpf's rule).
            var map = new Dictionary<string, (string? Section, uint Id)>(StringComparer.Ordinal);
            foreach (var t in btf.Types)
            {
                if (IsNonStatic(t) && t.Name.Length > 0) map.TryAdd(t.Name, (null, t.Id));
            }
            foreach (var t in btf.Types)
            {
                if (t is not BtfDatasec d) continue;
                foreach (var v in d.Variables)
                {
                    if (!btf.TryTypeById(v.TypeId, out var vt) || !IsNonStatic(vt) || vt.Name.Length == 0) continue;
                    if (map.TryGetValue(vt.Name, out var prev) && prev.Section is not null && prev.Id != vt.Id)
                        throw new ObjectLinkException(input.Name, $"global '{vt.Name}' has two BTF descriptions (types {prev.Id} and {vt.Id})", symbol: vt.Name, section: ".BTF");
                    map[vt.Name] = (d.Name, vt.Id);
                }
            }
            input.GlobalBtf = map;
        }

        private static bool IsNonStatic(BtfType t) =>
            t is BtfVar { Linkage: not BtfVarLinkage.Static } || t is BtfFunc { Linkage: not BtfFuncLinkage.Static };

        private void AppendSections(Input input)
        {
            foreach (var sec in input.Elf.Sections)
            {
                if (sec.Index == 0) continue;
                if (sec.Name.Length == 0) throw new ObjectLinkException(input.Name, $"section {sec.Index} has no name");
                bool skip = sec.Type is ElfSection.SHT_STRTAB or ElfSection.SHT_SYMTAB or SHT_LLVM_ADDRSIG
                    || IsDwarf(sec.Name) || sec.Name is ".BTF" or ".BTF.ext"
                    || (sec.Type == ElfSection.SHT_PROGBITS && sec.Size == 0 && sec.Name == ".text");
                if (skip || sec.Type == ElfSection.SHT_REL)
                {
                    if (skip) input.Skipped.Add(sec.Index);
                    continue;
                }
                if (sec.Type is not (ElfSection.SHT_PROGBITS or ElfSection.SHT_NOBITS))
                    throw new ObjectLinkException(input.Name, $"section '{sec.Name}' has type {sec.Type}, which a BPF object does not use (SHT_RELA or other)", section: sec.Name);
                ulong align = ElfFile.U64(input.Elf.Data.Span, (int)sec.HeaderOffset + 48); // sh_addralign
                if (align > 1 && (align & (align - 1)) != 0)
                    throw new ObjectLinkException(input.Name, $"section '{sec.Name}' has alignment {align}, not a power of two", section: sec.Name);
                if (align > 4096) throw new ObjectLinkException(input.Name, $"section '{sec.Name}' has alignment {align}, above 4096", section: sec.Name);
                if (sec.IsExecutable && sec.Size % 8 != 0)
                    throw new ObjectLinkException(input.Name, $"code section '{sec.Name}' is {sec.Size} bytes, not whole instructions", section: sec.Name);

                if (!_byName.TryGetValue(sec.Name, out var dst))
                {
                    dst = new OutSection(sec.Name, sec.Type, sec.Flags, align, sec.EntSize, ephemeral: false) { FirstFile = input.Name };
                    _byName[sec.Name] = dst;
                    _sections.Add(dst);
                }
                else if (dst.Ephemeral)
                {
                    // A section first seen only through externs (e.g. .maps of an object declaring extern maps only).
                    var real = new OutSection(sec.Name, sec.Type, sec.Flags, align, sec.EntSize, ephemeral: false) { FirstFile = input.Name, HasBtf = dst.HasBtf };
                    real.StaticVars.AddRange(dst.StaticVars);
                    _sections[_sections.IndexOf(dst)] = real;
                    _byName[sec.Name] = real;
                    foreach (var s in _symbols)
                        if (s.Section == dst) s.Section = real;
                    dst = real;
                }
                else
                {
                    if (dst.Type != sec.Type || dst.Flags != sec.Flags || dst.EntSize != sec.EntSize)
                        throw new ObjectLinkException(input.Name,
                            $"section '{sec.Name}' (type {sec.Type}, flags 0x{sec.Flags:x}, entsize {sec.EntSize}) is incompatible with the same section in {dst.FirstFile} (type {dst.Type}, flags 0x{dst.Flags:x}, entsize {dst.EntSize})",
                            section: sec.Name, otherFile: dst.FirstFile);
                    if (sec.Name is "license" or "version")
                    {
                        if (!input.Elf.SectionData(sec).SequenceEqual(dst.Data.AsSpan(0, dst.Size)))
                            throw new ObjectLinkException(input.Name, $"section '{sec.Name}' differs from the one in {dst.FirstFile}; it must be identical in every input",
                                section: sec.Name, otherFile: dst.FirstFile);
                        input.Skipped.Add(sec.Index);
                        continue;
                    }
                }
                dst.Align = Math.Max(dst.Align, align == 0 ? 1 : align);
                ulong aligned = ((ulong)dst.Size + dst.Align - 1) / dst.Align * dst.Align;
                if (aligned + (ulong)sec.Size > int.MaxValue / 2)
                    throw new ObjectLinkException(input.Name, $"section '{sec.Name}' would grow past 1 GiB ({aligned} + {sec.Size} bytes)", section: sec.Name);
                int offset = (int)aligned, end = offset + sec.Size;
                if (sec.Type != ElfSection.SHT_NOBITS)
                {
                    if (dst.Data.Length < end) Array.Resize(ref dst.Data, Math.Max(end, dst.Data.Length * 2));
                    input.Elf.SectionData(sec).CopyTo(dst.Data.AsSpan(offset));
                }
                dst.Size = end;
                input.Sections[sec.Index] = (dst, offset);
            }
        }

        private OutSymbol NewSymbol(string name, byte type, byte bind, byte other)
        {
            var s = new OutSymbol(name, type, bind, other);
            _symbols.Add(s);
            return s;
        }

        private void AppendSymbols(Input input)
        {
            var syms = input.Elf.Symbols;
            input.Symbols = new OutSymbol?[syms.Length];
            for (int i = 1; i < syms.Length; i++)
            {
                var sym = syms[i];
                int vis = sym.Other & 3;
                if (sym.Bind is not (ElfSymbol.STB_LOCAL or ElfSymbol.STB_GLOBAL or ElfSymbol.STB_WEAK))
                    throw new ObjectLinkException(input.Name, $"symbol '{sym.Name}' has binding {sym.Bind} (only local, global and weak are supported)", symbol: sym.Name);
                if (vis is not (0 or 2))
                    throw new ObjectLinkException(input.Name, $"symbol '{sym.Name}' has visibility {vis} (only default and hidden are supported)", symbol: sym.Name);
                bool isExtern = sym.SectionIndex == ElfSymbol.SHN_UNDEF;
                if (isExtern && (sym.Bind == ElfSymbol.STB_LOCAL || sym.Value != 0 || sym.Size != 0))
                    throw new ObjectLinkException(input.Name, $"extern symbol '{sym.Name}' is local or has a value or size", symbol: sym.Name);
                if (sym.SectionIndex == SHN_COMMON)
                    throw new ObjectLinkException(input.Name, $"symbol '{sym.Name}' is a COMMON symbol; BPF objects have none (build with -fno-common)", symbol: sym.Name);

                OutSection? dst = null;
                int srcOffset = 0;
                if (!isExtern && sym.SectionIndex < ElfSymbol.SHN_LORESERVE)
                {
                    if (input.Skipped.Contains(sym.SectionIndex)) continue;
                    if (!input.Sections.TryGetValue(sym.SectionIndex, out var placed))
                        throw new ObjectLinkException(input.Name, $"symbol '{sym.Name}' is in section {sym.SectionIndex} ('{input.Elf.Sections[sym.SectionIndex].Name}'), which holds no code or data", symbol: sym.Name);
                    (dst, srcOffset) = placed;
                    if (sym.Type == ElfSymbol.STT_SECTION)
                    {
                        if (sym.Value != 0) throw new ObjectLinkException(input.Name, $"section symbol of '{dst.Name}' has value {sym.Value}", symbol: sym.Name, section: dst.Name);
                        input.Symbols[i] = dst.SectionSymbol ??= NewSymbol("", ElfSymbol.STT_SECTION, ElfSymbol.STB_LOCAL, 0);
                        dst.SectionSymbol.Section = dst;
                        continue;
                    }
                }

                if (sym.Bind == ElfSymbol.STB_LOCAL)
                {
                    var local = NewSymbol(sym.Name, sym.Type, sym.Bind, sym.Other);
                    local.Section = dst;
                    local.Special = dst is null ? sym.SectionIndex : (ushort)0;
                    local.Value = (ulong)srcOffset + sym.Value;
                    local.Size = sym.Size;
                    local.File = input.Name;
                    input.Symbols[i] = local;
                    continue;
                }

                (string? btfSection, uint btfId) = (null, 0);
                if (input.GlobalBtf is not null && input.GlobalBtf.TryGetValue(sym.Name, out var f)) (btfSection, btfId) = f;
                if (isExtern && input.Btf is not null && btfId == 0)
                    throw new ObjectLinkException(input.Name, $"extern '{sym.Name}' has no BTF VAR or FUNC describing it", symbol: sym.Name);

                if (_globals.TryGetValue(sym.Name, out var gs))
                {
                    input.Symbols[i] = gs;
                    bool weak = sym.Bind == ElfSymbol.STB_WEAK;
                    if (!isExtern && !gs.IsExtern && !gs.IsWeak && !weak)
                        throw new ObjectLinkException(input.Name,
                            $"duplicate symbol '{sym.Name}': defined in {gs.File} and in {input.Name} (neither definition is weak)",
                            symbol: sym.Name, otherFile: gs.File);
                    if (btfId != 0 && gs.Btf.Spec is not null)
                        CheckMatch(input, sym.Name, gs, input.Btf!, btfId, btfSection);
                    if (sym.Bind == ElfSymbol.STB_GLOBAL)
                    {
                        gs.Bind = ElfSymbol.STB_GLOBAL;
                        gs.IsWeak = false;
                    }
                    if (vis > (gs.Other & 3)) gs.Other = (byte)((gs.Other & ~3) | vis);
                    if (gs.Btf.Spec is null && btfId != 0) gs.Btf = (input.Btf!, btfId);
                    if (isExtern)
                    {
                        gs.ExternSection ??= btfSection;
                        continue;
                    }
                    if (!gs.IsExtern && weak) continue; // a weak definition loses to the one we have
                    gs.Type = sym.Type;
                    gs.Section = dst;
                    gs.Special = dst is null ? sym.SectionIndex : (ushort)0;
                    gs.Value = (ulong)srcOffset + sym.Value;
                    gs.Size = sym.Size;
                    gs.IsExtern = false;
                    gs.File = input.Name;
                    gs.Definer = input;
                    if (btfId != 0)
                    {
                        gs.Btf = (input.Btf!, btfId);
                        gs.PendingUnderlying = input;
                        gs.PendingUnderlyingId = btfId;
                    }
                    continue;
                }

                var g = NewSymbol(sym.Name, sym.Type, sym.Bind, sym.Other);
                g.Section = dst;
                g.Special = dst is null && !isExtern ? sym.SectionIndex : (ushort)0;
                g.Value = (ulong)srcOffset + sym.Value;
                g.Size = sym.Size;
                g.IsExtern = isExtern;
                g.IsWeak = sym.Bind == ElfSymbol.STB_WEAK;
                g.File = g.DeclaredIn = input.Name;
                g.Definer = isExtern ? null : input;
                g.ExternSection = isExtern ? btfSection : null;
                if (btfId != 0) g.Btf = (input.Btf!, btfId);
                _globals[sym.Name] = g;
                input.Symbols[i] = g;
            }
        }

        private void CheckMatch(Input input, string name, OutSymbol gs, BtfSpec spec, uint id, string? btfSection)
        {
            var (prevSpec, prevId) = gs.Btf;
            var a = prevSpec.TypeById(prevId);
            var b = spec.TypeById(id);
            if (a.Kind != b.Kind)
                throw Conflict(input, name, gs, $"one is a {a.Kind}, the other a {b.Kind}");
            bool isMap = btfSection == ".maps" || gs.ExternSection == ".maps" || gs.Section?.Name == ".maps";
            string? why;
            if (isMap && a is BtfVar va && b is BtfVar vb)
            {
                if ((va.Linkage == BtfVarLinkage.Static) != (vb.Linkage == BtfVarLinkage.Static)) throw Conflict(input, name, gs, "static and non-static linkage");
                why = MapDefsDiffer(prevSpec, prevSpec.TypeById(va.TypeId), spec, spec.TypeById(vb.TypeId));
            }
            else why = TypesDiffer(prevSpec, prevId, spec, id, exact: true, 0);
            if (why is not null) throw Conflict(input, name, gs, why);
        }

        private static ObjectLinkException Conflict(Input input, string name, OutSymbol gs, string why) =>
            new(input.Name, $"conflicting definitions of '{name}' in {gs.DeclaredIn} and {input.Name}: {why}", symbol: name, otherFile: gs.DeclaredIn);

        private static BtfType SkipMods(BtfSpec spec, uint id)
        {
            for (int guard = 0; guard < 64; guard++)
            {
                if (!spec.TryTypeById(id, out var t)) return t;
                if (t is BtfTypedef or BtfConst or BtfVolatile or BtfRestrict or BtfTypeTag) id = ((BtfReference)t).TypeId;
                else return t;
            }
            return spec.TypeById(0);
        }

        /// <summary>libbpf's rules for a global declared in two objects: same kinds and names, same sizes for
        /// ints/enums/floats, pointers compared by shape only (a FWD matches its struct), arrays by element, structs
        /// member by member when <paramref name="exact"/>, prototypes by parameter and return types. Returns why
        /// they differ, or null.</summary>
        private static string? TypesDiffer(BtfSpec s1, uint id1, BtfSpec s2, uint id2, bool exact, int depth)
        {
            if (depth > 32) return null;
            var t1 = SkipMods(s1, id1);
            var t2 = SkipMods(s2, id2);
            if (!exact && (t1 is BtfFwd) != (t2 is BtfFwd))
            {
                if (t1.Name != t2.Name) return $"forward declaration '{t1.Name}' against '{t2.Name}'";
                var (fwd, other) = t1 is BtfFwd f1 ? (f1, t2) : ((BtfFwd)t2, t1);
                return (fwd.IsUnion ? other is BtfUnion : other is BtfStruct) ? null : $"forward declaration of '{fwd.Name}' against a {other.Kind}";
            }
            if (t1.Kind != t2.Kind) return $"{t1.Kind} '{t1.Name}' against {t2.Kind} '{t2.Name}'";
            if (t1.Kind is BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Fwd or BtfKind.Func or BtfKind.Var && t1.Name != t2.Name)
                return $"{t1.Kind} names '{t1.Name}' and '{t2.Name}'";
            switch (t1)
            {
                case BtfVoid or BtfFwd:
                    return null;
                case BtfInt i1:
                    return i1.Size == ((BtfInt)t2).Size ? null : $"int '{t1.Name}' of {i1.Size} and {((BtfInt)t2).Size} bytes";
                case BtfFloat f1:
                    return f1.Size == ((BtfFloat)t2).Size ? null : $"float '{t1.Name}' of {f1.Size} and {((BtfFloat)t2).Size} bytes";
                case BtfEnum e1:
                    return e1.Size == ((BtfEnum)t2).Size ? null : $"enum '{t1.Name}' of {e1.Size} and {((BtfEnum)t2).Size} bytes";
                case BtfPointer p1:
                    return TypesDiffer(s1, p1.TypeId, s2, ((BtfPointer)t2).TypeId, exact: false, depth + 1);
                case BtfArray a1:
                    return TypesDiffer(s1, a1.ElementTypeId, s2, ((BtfArray)t2).ElementTypeId, exact, depth + 1);
                case BtfFunc fn1:
                {
                    var fn2 = (BtfFunc)t2;
                    if ((fn1.Linkage == BtfFuncLinkage.Static) != (fn2.Linkage == BtfFuncLinkage.Static)) return "static and non-static function linkage";
                    return TypesDiffer(s1, fn1.ProtoTypeId, s2, fn2.ProtoTypeId, exact, depth + 1);
                }
                case BtfVar v1:
                {
                    var v2 = (BtfVar)t2;
                    if ((v1.Linkage == BtfVarLinkage.Static) != (v2.Linkage == BtfVarLinkage.Static)) return "static and non-static variable linkage";
                    return TypesDiffer(s1, v1.TypeId, s2, v2.TypeId, exact, depth + 1);
                }
                case BtfComposite c1:
                {
                    if (!exact) return null;
                    var c2 = (BtfComposite)t2;
                    if (c1.Members.Count != c2.Members.Count) return $"{c1.Kind} '{c1.Name}' with {c1.Members.Count} and {c2.Members.Count} members";
                    for (int k = 0; k < c1.Members.Count; k++)
                    {
                        var (m1, m2) = (c1.Members[k], c2.Members[k]);
                        if (m1.Name != m2.Name) return $"member {k} of '{c1.Name}' named '{m1.Name}' and '{m2.Name}'";
                        if (m1.BitOffset != m2.BitOffset || m1.BitfieldSize != m2.BitfieldSize) return $"member '{m1.Name}' of '{c1.Name}' at different offsets";
                        if (TypesDiffer(s1, m1.TypeId, s2, m2.TypeId, exact, depth + 1) is { } why) return why;
                    }
                    return null;
                }
                case BtfFuncProto fp1:
                {
                    var fp2 = (BtfFuncProto)t2;
                    if (fp1.Parameters.Count != fp2.Parameters.Count) return $"{fp1.Parameters.Count} and {fp2.Parameters.Count} parameters";
                    for (int k = 0; k < fp1.Parameters.Count; k++)
                        if (TypesDiffer(s1, fp1.Parameters[k].TypeId, s2, fp2.Parameters[k].TypeId, exact, depth + 1) is { } why) return $"parameter {k}: {why}";
                    return TypesDiffer(s1, fp1.ReturnTypeId, s2, fp2.ReturnTypeId, exact, depth + 1) is { } r ? $"return type: {r}" : null;
                }
                default:
                    return $"unsupported BTF kind {t1.Kind}";
            }
        }

        /// <summary>Two BTF map definitions (the structs of <c>__uint</c>/<c>__type</c>/<c>__array</c> members) describe
        /// the same map: same attributes, same numbers, key and value types matching exactly. Returns why not, or null.</summary>
        private static string? MapDefsDiffer(BtfSpec s1, BtfType def1, BtfSpec s2, BtfType def2)
        {
            if (SkipMods(s1, def1.Id) is not BtfStruct a || SkipMods(s2, def2.Id) is not BtfStruct b) return "a map definition that is not a struct";
            var mb = b.Members.ToDictionary(m => m.Name, StringComparer.Ordinal);
            if (a.Members.Count != b.Members.Count || a.Members.Any(m => !mb.ContainsKey(m.Name)))
                return $"map attributes ({string.Join(", ", a.Members.Select(m => m.Name))}) against ({string.Join(", ", b.Members.Select(m => m.Name))})";
            foreach (var m1 in a.Members)
            {
                var m2 = mb[m1.Name];
                var p1 = SkipMods(s1, m1.TypeId);
                var p2 = SkipMods(s2, m2.TypeId);
                if (m1.Name is "key" or "value")
                {
                    if (p1 is not BtfPointer k1 || p2 is not BtfPointer k2) return $"map '{m1.Name}' not declared with __type";
                    if (TypesDiffer(s1, k1.TypeId, s2, k2.TypeId, exact: true, 0) is { } why) return $"map {m1.Name} type: {why}";
                    continue;
                }
                if (m1.Name == "values")
                {
                    if (TypesDiffer(s1, m1.TypeId, s2, m2.TypeId, exact: false, 0) is { } why) return $"map values: {why}";
                    if (SkipMods(s1, m1.TypeId) is BtfArray v1 && SkipMods(s2, m2.TypeId) is BtfArray v2
                        && SkipMods(s1, v1.ElementTypeId) is BtfPointer e1 && SkipMods(s2, v2.ElementTypeId) is BtfPointer e2
                        && SkipMods(s1, e1.TypeId) is BtfStruct i1 && SkipMods(s2, e2.TypeId) is BtfStruct i2
                        && MapDefsDiffer(s1, i1, s2, i2) is { } inner)
                        return $"inner map: {inner}";
                    continue;
                }
                // __uint(name, N) is a pointer to an array of N ints.
                if (p1 is BtfPointer q1 && p2 is BtfPointer q2 && SkipMods(s1, q1.TypeId) is BtfArray n1 && SkipMods(s2, q2.TypeId) is BtfArray n2)
                {
                    if (n1.Count != n2.Count) return $"map {m1.Name} {n1.Count} against {n2.Count}";
                    continue;
                }
                if (TypesDiffer(s1, m1.TypeId, s2, m2.TypeId, exact: true, 0) is { } other) return $"map {m1.Name}: {other}";
            }
            return null;
        }

        private void AppendRelocations(Input input)
        {
            var elf = input.Elf;
            foreach (var rel in elf.Sections)
            {
                if (rel.Type != ElfSection.SHT_REL) continue;
                if (rel.Info == 0 || rel.Info >= elf.Sections.Length)
                    throw new ObjectLinkException(input.Name, $"relocation section '{rel.Name}' points to section {rel.Info}", section: rel.Name);
                var target = elf.Sections[rel.Info];
                if (input.Skipped.Contains(target.Index) || IsDwarf(target.Name)) continue;
                if (!input.Sections.TryGetValue(target.Index, out var placed))
                    throw new ObjectLinkException(input.Name, $"relocation section '{rel.Name}' relocates '{target.Name}', which holds no code or data", section: rel.Name);
                var (dst, baseOffset) = placed;
                ElfRelocation[] entries;
                try
                {
                    entries = elf.Relocations(rel);
                }
                catch (ElfFormatException e)
                {
                    throw new ObjectLinkException(input.Name, e.Message, section: rel.Name, inner: e);
                }
                if (dst.Relocations.Count == 0) dst.RelocationFlags = (uint)rel.Flags;
                foreach (var r in entries)
                {
                    var srcSym = elf.Symbols[r.SymbolIndex];
                    if (r.Type is not (R_BPF_64_64 or R_BPF_64_32 or R_BPF_64_ABS64 or R_BPF_64_ABS32))
                        throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} of '{target.Name}' has type {r.Type} (BPF objects use 1, 2, 3 and 10)", symbol: srcSym.Name, section: rel.Name);
                    if (r.SymbolIndex == 0)
                        throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} of '{target.Name}' has no symbol", section: rel.Name);
                    int width = r.Type == R_BPF_64_ABS32 ? 4 : 8;
                    if (r.Offset > (ulong)target.Size || (ulong)target.Size - r.Offset < (ulong)width)
                        throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} is outside '{target.Name}' ({target.Size} bytes)", symbol: srcSym.Name, section: rel.Name);
                    if (target.IsExecutable && r.Offset % 8 != 0)
                        throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} of code section '{target.Name}' is not on an instruction", symbol: srcSym.Name, section: rel.Name);
                    var sym = input.Symbols[r.SymbolIndex]
                        ?? throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} of '{target.Name}' refers to symbol '{srcSym.Name}' of a dropped section", symbol: srcSym.Name, section: rel.Name);
                    int at = baseOffset + (int)r.Offset;
                    if (srcSym.Type == ElfSymbol.STT_SECTION)
                    {
                        // The addend is in place: shift it by where the referenced section's piece now starts.
                        if (!input.Sections.TryGetValue(srcSym.SectionIndex, out var symPlaced) || target.Type == ElfSection.SHT_NOBITS)
                            throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} of '{target.Name}' is against section symbol {r.SymbolIndex}, which names no code or data section (or relocates .bss)",
                                symbol: srcSym.Name, section: rel.Name);
                        int symSecOffset = symPlaced.Offset;
                        var data = dst.Data.AsSpan(at);
                        if (target.IsExecutable)
                        {
                            int delta = data[0] == 0x85 ? symSecOffset / 8 : symSecOffset;
                            BinaryPrimitives.WriteInt32LittleEndian(data[4..], BinaryPrimitives.ReadInt32LittleEndian(data[4..]) + delta);
                        }
                        else if (r.Type == R_BPF_64_ABS64 && input.Elf.Sections[srcSym.SectionIndex].IsExecutable)
                            BinaryPrimitives.WriteUInt64LittleEndian(data, BinaryPrimitives.ReadUInt64LittleEndian(data) + (ulong)symSecOffset);
                        else if (symSecOffset != 0)
                            throw new ObjectLinkException(input.Name, $"relocation at {r.Offset} of data section '{target.Name}' against section '{dst.Name}' (only code may relocate against sections)",
                                symbol: srcSym.Name, section: rel.Name);
                    }
                    dst.Relocations.Add(((ulong)at, sym, r.Type));
                }
            }
        }

        private uint MapType(Input input, uint id, string where)
        {
            if (id == 0) return 0;
            if (id >= (uint)input.TypeMap.Length)
                throw new ObjectLinkException(input.Name, $"{where} refers to BTF type {id}, above the highest id {input.TypeMap.Length - 1}", section: ".BTF");
            return input.TypeMap[id];
        }

        private void AppendBtf(Input input)
        {
            if (input.Btf is not { } btf) return;
            uint max = btf.MaxTypeId;
            input.TypeMap = new uint[max + 1];
            var appended = new List<BtfType>();
            for (uint i = 1; i <= max; i++)
            {
                var t = btf.TypeById(i);
                if (t is BtfDatasec) continue;
                if (IsNonStatic(t))
                {
                    // One VAR/FUNC per global: the first input's record, retargeted when a definition arrives.
                    if (!_globals.TryGetValue(t.Name, out var gs)) continue; // no symbol (e.g. the deduplicated license)
                    if (gs.BtfId != 0)
                    {
                        input.TypeMap[i] = gs.BtfId;
                        continue;
                    }
                    _types.Add(null);
                    gs.BtfId = input.TypeMap[i] = (uint)_types.Count;
                    appended.Add(t);
                    continue;
                }
                _types.Add(null);
                input.TypeMap[i] = (uint)_types.Count;
                appended.Add(t);
            }
            foreach (var t in appended) _types[(int)input.TypeMap[t.Id] - 1] = Convert(input, t);
            foreach (var gs in _globals.Values)
            {
                if (gs.PendingUnderlying != input || gs.BtfId == 0) continue;
                gs.PendingUnderlying = null;
                var rec = _types[(int)gs.BtfId - 1]!;
                switch (btf.TypeById(gs.PendingUnderlyingId))
                {
                    case BtfVar v when rec.Kind == BtfKind.Var:
                        rec.SizeOrType = MapType(input, v.TypeId, $"VAR '{v.Name}'");
                        rec.Extra[0] = (uint)v.Linkage;
                        break;
                    case BtfFunc fn when rec.Kind == BtfKind.Func:
                        // As libbpf: the declaration's prototype gets the definition's parameter names, so that
                        // deduplication sees the two prototypes as one.
                        if (rec.SizeOrType != 0 && _types[(int)rec.SizeOrType - 1] is { Kind: BtfKind.FuncProto, Names: { } names }
                            && btf.TypeById(fn.ProtoTypeId) is BtfFuncProto proto && proto.Parameters.Count == names.Length)
                        {
                            for (int k = 0; k < names.Length; k++)
                                if (names[k].Length == 0) names[k] = proto.Parameters[k].Name;
                        }
                        rec.SizeOrType = MapType(input, fn.ProtoTypeId, $"FUNC '{fn.Name}'");
                        rec.Vlen = (int)fn.Linkage;
                        break;
                }
            }

            foreach (var t in btf.Types)
            {
                if (t is not BtfDatasec d) continue;
                int secIndex = input.SectionIndex(d.Name);
                OutSection? dst = null;
                uint baseOffset = 0;
                if (secIndex >= 0)
                {
                    if (input.Skipped.Contains(secIndex)) continue;
                    if (!input.Sections.TryGetValue(secIndex, out var placed)) continue;
                    (dst, baseOffset) = (placed.Section, (uint)placed.Offset);
                }
                else if (d.Name != ".extern")
                {
                    // No ELF section: externs only (.kconfig, .ksyms, or a .maps of extern maps).
                    if (!_byName.TryGetValue(d.Name, out dst))
                    {
                        dst = new OutSection(d.Name, ElfSection.SHT_PROGBITS, 0, 1, 0, ephemeral: true) { FirstFile = input.Name };
                        _byName[d.Name] = dst;
                        _sections.Add(dst);
                    }
                }
                if (dst is not null) dst.HasBtf = true;
                foreach (var v in d.Variables)
                {
                    if (!btf.TryTypeById(v.TypeId, out var vt))
                        throw new ObjectLinkException(input.Name, $"DATASEC '{d.Name}' lists BTF type {v.TypeId}, which does not exist", section: d.Name);
                    if (IsNonStatic(vt))
                    {
                        if (!_globals.TryGetValue(vt.Name, out var gs)) continue;
                        if (d.Name == ".extern") continue;
                        gs.InDatasec = true;
                        if (gs.IsExtern) gs.ExternSection ??= d.Name;
                        if (gs.VarSize == 0 || gs.Definer == input) gs.VarSize = v.Size;
                        continue;
                    }
                    uint mapped = MapType(input, v.TypeId, $"DATASEC '{d.Name}'");
                    if (dst is null || mapped == 0) continue;
                    dst.StaticVars.Add((mapped, baseOffset + v.Offset, v.Size));
                }
            }
        }

        private MType Convert(Input input, BtfType type)
        {
            string where = $"BTF type {type.Id} ({type.Kind} '{type.Name}')";
            uint M(uint id) => MapType(input, id, where);
            switch (type)
            {
                case BtfInt i:
                    return new MType(BtfKind.Int, i.Name, i.Size, extra: [((uint)i.Encoding << 24) | ((uint)i.BitOffset << 16) | (uint)i.Bits]);
                case BtfReference r:
                    return new MType(r.Kind, r.Name, M(r.TypeId));
                case BtfArray a:
                    return new MType(BtfKind.Array, a.Name, 0, extra: [M(a.ElementTypeId), M(a.IndexTypeId), a.Count]);
                case BtfComposite c:
                {
                    bool bitfields = c.Members.Any(m => m.BitfieldSize != 0);
                    var extra = new uint[c.Members.Count * 3];
                    var names = new string[c.Members.Count];
                    for (int k = 0; k < c.Members.Count; k++)
                    {
                        var m = c.Members[k];
                        names[k] = m.Name;
                        extra[3 * k + 1] = M(m.TypeId);
                        extra[3 * k + 2] = bitfields ? ((uint)m.BitfieldSize << 24) | m.BitOffset : m.BitOffset;
                    }
                    return new MType(c.Kind, c.Name, c.Size, c.Members.Count, bitfields, extra, names, 3);
                }
                case BtfEnum e:
                {
                    bool is64 = e.Kind == BtfKind.Enum64;
                    int stride = is64 ? 3 : 2;
                    var extra = new uint[e.Values.Count * stride];
                    var names = new string[e.Values.Count];
                    for (int k = 0; k < e.Values.Count; k++)
                    {
                        names[k] = e.Values[k].Name;
                        extra[stride * k + 1] = (uint)e.Values[k].UnsignedValue;
                        if (is64) extra[stride * k + 2] = (uint)(e.Values[k].UnsignedValue >> 32);
                    }
                    return new MType(e.Kind, e.Name, e.Size, e.Values.Count, e.Signed, extra, names, stride);
                }
                case BtfFwd f:
                    return new MType(BtfKind.Fwd, f.Name, 0, kflag: f.IsUnion);
                case BtfFunc fn:
                    return new MType(BtfKind.Func, fn.Name, M(fn.ProtoTypeId), (int)fn.Linkage);
                case BtfFuncProto fp:
                {
                    var extra = new uint[fp.Parameters.Count * 2];
                    var names = new string[fp.Parameters.Count];
                    for (int k = 0; k < fp.Parameters.Count; k++)
                    {
                        names[k] = fp.Parameters[k].Name;
                        extra[2 * k + 1] = M(fp.Parameters[k].TypeId);
                    }
                    return new MType(BtfKind.FuncProto, "", M(fp.ReturnTypeId), fp.Parameters.Count, false, extra, names, 2);
                }
                case BtfVar v:
                    return new MType(BtfKind.Var, v.Name, M(v.TypeId), extra: [(uint)v.Linkage]);
                case BtfFloat fl:
                    return new MType(BtfKind.Float, fl.Name, fl.Size);
                case BtfDeclTag dt:
                    return new MType(BtfKind.DeclTag, dt.Name, M(dt.TypeId), extra: [(uint)dt.ComponentIndex]);
                default:
                    throw new ObjectLinkException(input.Name, $"{where} has a kind the linker cannot copy", section: ".BTF");
            }
        }

        private void AppendBtfExt(Input input)
        {
            if (input.Ext is not { } ext) return;
            _anyExt = true;
            foreach (var (name, section) in ext.Sections)
            {
                int index = input.SectionIndex(name);
                if (index < 0 || !input.Sections.TryGetValue(index, out var placed))
                    throw new ObjectLinkException(input.Name, $".BTF.ext has records for section '{name}', which the object does not have", section: name);
                var (dst, offset) = placed;
                uint off = (uint)offset;
                foreach (var f in section.FuncInfos)
                {
                    uint id = MapType(input, f.TypeId, $".BTF.ext func_info of '{name}'");
                    if (id == 0) throw new ObjectLinkException(input.Name, $".BTF.ext func_info at {f.InstructionOffset} of '{name}' names a function without a symbol", section: name);
                    dst.Funcs.Add((f.InstructionOffset + off, id));
                }
                foreach (var l in section.LineInfos) dst.Lines.Add((l.InstructionOffset + off, l.FileName, l.Line, l.LineColumn));
                foreach (var c in section.CoreRelocations)
                    dst.Cores.Add((c.InstructionOffset + off, MapType(input, c.TypeId, $".BTF.ext core_relo of '{name}'"), c.AccessString, (uint)c.Kind));
            }
        }

        public byte[] Finish()
        {
            if (options.Strict)
            {
                foreach (var gs in _globals.Values)
                {
                    if (gs.IsExtern && gs.ExternSection is not (".kconfig" or ".ksyms"))
                        throw new ObjectLinkException(gs.DeclaredIn, $"unresolved extern '{gs.Name}': no input defines it", symbol: gs.Name);
                }
            }
            byte[]? btf = null, btfExt = null;
            if (_types.Count > 0 || _sections.Any(s => s.HasBtf)) (btf, btfExt) = BuildBtf();
            return WriteElf(btf, btfExt);
        }

        /// <summary>The positions of type ids inside a merged type: in <see cref="MType.SizeOrType"/> (by kind) and in
        /// <see cref="MType.Extra"/>.</summary>
        private static bool SizeOrTypeIsId(BtfKind kind) => kind is BtfKind.Pointer or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const
            or BtfKind.Restrict or BtfKind.TypeTag or BtfKind.Func or BtfKind.Var or BtfKind.FuncProto or BtfKind.DeclTag;

        private static bool ExtraIsId(MType t, int k) => t.Kind switch
        {
            BtfKind.Array => k < 2,
            BtfKind.Struct or BtfKind.Union => k % 3 == 1,
            BtfKind.FuncProto => k % 2 == 1,
            _ => false,
        };

        /// <summary>
        /// Merges structurally identical types (the copies each input brings of <c>int</c>, <c>__u64</c>, a shared
        /// struct, a prototype ...): the coarsest partition in which types of one class have the same kind, name, sizes,
        /// member names and offsets, and refer to types of the same classes (partition refinement, so cycles through
        /// pointers are handled). Each class keeps its first type. VARs are never merged (each is one variable).
        /// Unlike <c>btf__dedup</c> a FWD is not resolved to its struct.
        /// </summary>
        private void Deduplicate()
        {
            int n = _types.Count;
            var cls = new int[n + 1]; // class of each id; 0 = void
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var sb = new StringBuilder();
            for (int id = 1; id <= n; id++)
            {
                var t = _types[id - 1]!;
                sb.Clear().Append((int)t.Kind).Append('|').Append(t.Name).Append('|').Append(t.Vlen).Append('|').Append(t.KFlag);
                if (t.Kind == BtfKind.Var) sb.Append("|#").Append(id);
                if (!SizeOrTypeIsId(t.Kind)) sb.Append('|').Append(t.SizeOrType);
                for (int k = 0; k < t.Extra.Length; k++) sb.Append('|').Append(ExtraIsId(t, k) ? "*" : t.Extra[k].ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (t.Names is not null) foreach (var m in t.Names) sb.Append('|').Append(m);
                string key = sb.ToString();
                if (!index.TryGetValue(key, out int c)) index[key] = c = index.Count + 1;
                cls[id] = c;
            }
            int classes = index.Count;
            while (true)
            {
                var refined = new int[n + 1];
                var next = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int id = 1; id <= n; id++)
                {
                    var t = _types[id - 1]!;
                    sb.Clear().Append(cls[id]);
                    if (SizeOrTypeIsId(t.Kind)) sb.Append(',').Append(cls[t.SizeOrType]);
                    for (int k = 0; k < t.Extra.Length; k++) if (ExtraIsId(t, k)) sb.Append(',').Append(cls[t.Extra[k]]);
                    string key = sb.ToString();
                    if (!next.TryGetValue(key, out int c)) next[key] = c = next.Count + 1;
                    refined[id] = c;
                }
                cls = refined;
                if (next.Count == classes) break;
                classes = next.Count;
            }
            var remap = new uint[n + 1];
            var first = new Dictionary<int, uint>();
            var kept = new List<MType?>();
            for (int id = 1; id <= n; id++)
            {
                if (first.TryGetValue(cls[id], out uint rep))
                {
                    remap[id] = rep;
                    continue;
                }
                kept.Add(_types[id - 1]);
                first[cls[id]] = remap[id] = (uint)kept.Count;
            }
            foreach (var t in kept)
            {
                if (SizeOrTypeIsId(t!.Kind)) t.SizeOrType = remap[t.SizeOrType];
                for (int k = 0; k < t.Extra.Length; k++) if (ExtraIsId(t, k)) t.Extra[k] = remap[t.Extra[k]];
            }
            _types.Clear();
            _types.AddRange(kept);
            foreach (var gs in _symbols) gs.BtfId = remap[gs.BtfId];
            foreach (var sec in _sections)
            {
                for (int k = 0; k < sec.StaticVars.Count; k++) sec.StaticVars[k] = sec.StaticVars[k] with { Type = remap[sec.StaticVars[k].Type] };
                for (int k = 0; k < sec.Funcs.Count; k++) sec.Funcs[k] = sec.Funcs[k] with { Type = remap[sec.Funcs[k].Type] };
                for (int k = 0; k < sec.Cores.Count; k++) sec.Cores[k] = sec.Cores[k] with { Type = remap[sec.Cores[k].Type] };
            }
        }

        private (byte[] Btf, byte[]? Ext) BuildBtf()
        {
            Deduplicate();
            var w = new BtfWriter();
            for (int i = 0; i < _types.Count; i++)
            {
                var t = _types[i]!;
                var extra = (uint[])t.Extra.Clone();
                if (t.Names is not null)
                    for (int k = 0; k < t.Names.Length; k++) extra[t.Stride * k] = w.AddString(t.Names[k]);
                w.AddType(t.Kind, t.Name, t.SizeOrType, t.Vlen, t.KFlag, extra);
            }
            foreach (var sec in _sections)
            {
                if (!sec.HasBtf) continue;
                var vars = new List<(uint Type, uint Offset, uint Size)>(sec.StaticVars);
                foreach (var gs in _symbols)
                {
                    if (!gs.InDatasec || gs.BtfId == 0 || gs.Bind == ElfSymbol.STB_LOCAL) continue;
                    bool here = gs.IsExtern ? gs.ExternSection == sec.Name : gs.Section == sec;
                    if (!here) continue;
                    bool isFunc = _types[(int)gs.BtfId - 1]!.Kind == BtfKind.Func;
                    vars.Add((gs.BtfId, gs.IsExtern ? 0 : (uint)gs.Value, isFunc ? 0 : gs.VarSize != 0 ? gs.VarSize : (uint)gs.Size));
                }
                var sorted = vars.OrderBy(v => v.Offset).ToArray(); // stable: equal offsets (externs) keep their order
                var extra = new uint[sorted.Length * 3];
                for (int k = 0; k < sorted.Length; k++) (extra[3 * k], extra[3 * k + 1], extra[3 * k + 2]) = sorted[k];
                w.AddType(BtfKind.Datasec, sec.Name, sec.Ephemeral ? 0 : (uint)sec.Size, sorted.Length, false, extra);
            }
            byte[]? ext = _anyExt ? BuildExt(w) : null;
            return (w.ToArray(), ext);
        }

        private byte[] BuildExt(BtfWriter w)
        {
            var funcs = new MemoryStream();
            var lines = new MemoryStream();
            var cores = new MemoryStream();
            void U32(MemoryStream s, uint v)
            {
                Span<byte> b = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(b, v);
                s.Write(b);
            }
            foreach (var sec in _sections)
            {
                if (sec.Funcs.Count > 0)
                {
                    if (funcs.Length == 0) U32(funcs, BtfExt.FuncInfoSize);
                    U32(funcs, w.AddString(sec.Name));
                    U32(funcs, (uint)sec.Funcs.Count);
                    foreach (var (off, type) in sec.Funcs) { U32(funcs, off); U32(funcs, type); }
                }
                if (sec.Lines.Count > 0)
                {
                    if (lines.Length == 0) U32(lines, BtfExt.LineInfoSize);
                    U32(lines, w.AddString(sec.Name));
                    U32(lines, (uint)sec.Lines.Count);
                    foreach (var (off, file, line, col) in sec.Lines) { U32(lines, off); U32(lines, w.AddString(file)); U32(lines, w.AddString(line)); U32(lines, col); }
                }
                if (sec.Cores.Count > 0)
                {
                    if (cores.Length == 0) U32(cores, BtfExt.CoreReloSize);
                    U32(cores, w.AddString(sec.Name));
                    U32(cores, (uint)sec.Cores.Count);
                    foreach (var (off, type, access, kind) in sec.Cores) { U32(cores, off); U32(cores, type); U32(cores, w.AddString(access)); U32(cores, kind); }
                }
            }
            const int hdr = 32;
            var blob = new byte[hdr + funcs.Length + lines.Length + cores.Length];
            var s = blob.AsSpan();
            BinaryPrimitives.WriteUInt16LittleEndian(s, BtfSpec.Magic);
            s[2] = 1;
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], hdr);
            BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)funcs.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)funcs.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)lines.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)(funcs.Length + lines.Length));
            BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)cores.Length);
            funcs.ToArray().CopyTo(s[hdr..]);
            lines.ToArray().CopyTo(s[(hdr + (int)funcs.Length)..]);
            cores.ToArray().CopyTo(s[(hdr + (int)(funcs.Length + lines.Length))..]);
            return blob;
        }

        private byte[] WriteElf(byte[]? btf, byte[]? btfExt)
        {
            const int EhSize = 64, ShEntSize = 64, SymSize = 24, RelSize = 16;
            var strtab = new MemoryStream();
            strtab.WriteByte(0);
            var strings = new Dictionary<string, uint>(StringComparer.Ordinal) { [""] = 0 };
            uint Str(string s)
            {
                if (strings.TryGetValue(s, out uint o)) return o;
                o = (uint)strtab.Length;
                strtab.Write(Encoding.UTF8.GetBytes(s));
                strtab.WriteByte(0);
                strings[s] = o;
                return o;
            }

            // Section table: null, .strtab, .symtab, code and data, relocations, .BTF, .BTF.ext.
            var content = _sections.Where(s => !s.Ephemeral).ToList();
            int next = 3;
            foreach (var s in content) s.Index = next++;
            foreach (var s in content) if (s.Relocations.Count > 0) s.RelIndex = next++;
            int btfIndex = btf is null ? 0 : next++;
            int extIndex = btfExt is null ? 0 : next++;
            int shnum = next;

            // Symbols: locals first (ELF requires it; sh_info is the first global), each group in input order.
            var ordered = new List<OutSymbol>(_symbols.Count);
            ordered.AddRange(_symbols.Where(s => s.Bind == ElfSymbol.STB_LOCAL));
            int firstGlobal = ordered.Count + 1;
            ordered.AddRange(_symbols.Where(s => s.Bind != ElfSymbol.STB_LOCAL));
            var symtab = new byte[(ordered.Count + 1) * SymSize];
            for (int i = 0; i < ordered.Count; i++)
            {
                var sym = ordered[i];
                sym.Index = i + 1;
                var e = symtab.AsSpan((i + 1) * SymSize, SymSize);
                BinaryPrimitives.WriteUInt32LittleEndian(e, sym.Type == ElfSymbol.STT_SECTION ? 0 : Str(sym.Name));
                e[4] = (byte)((sym.Bind << 4) | sym.Type);
                e[5] = sym.Other;
                ushort shndx = sym.IsExtern ? (ushort)0 : sym.Section is { Ephemeral: false } sec ? (ushort)sec.Index : sym.Special;
                BinaryPrimitives.WriteUInt16LittleEndian(e[6..], shndx);
                BinaryPrimitives.WriteUInt64LittleEndian(e[8..], sym.IsExtern || sym.Type == ElfSymbol.STT_SECTION ? 0 : sym.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(e[16..], sym.IsExtern ? 0 : sym.Size);
            }

            var headers = new (uint Name, uint Type, ulong Flags, long Offset, long Size, uint Link, uint Info, ulong Align, ulong EntSize)[shnum];
            var blobs = new List<(int Index, byte[] Data, int Length)>();
            uint nStrtab = Str(".strtab"), nSymtab = Str(".symtab");
            foreach (var s in content)
            {
                headers[s.Index] = (Str(s.Name), s.Type, s.Flags, 0, s.Size, 0, 0, s.Align, s.EntSize);
                if (s.Type != ElfSection.SHT_NOBITS) blobs.Add((s.Index, s.Data, s.Size));
            }
            foreach (var s in content)
            {
                if (s.Relocations.Count == 0) continue;
                var rel = new byte[s.Relocations.Count * RelSize];
                for (int k = 0; k < s.Relocations.Count; k++)
                {
                    var (off, sym, type) = s.Relocations[k];
                    BinaryPrimitives.WriteUInt64LittleEndian(rel.AsSpan(k * RelSize), off);
                    BinaryPrimitives.WriteUInt64LittleEndian(rel.AsSpan(k * RelSize + 8), ((ulong)(uint)sym.Index << 32) | type);
                }
                headers[s.RelIndex] = (Str(".rel" + s.Name), ElfSection.SHT_REL, s.RelocationFlags, 0, rel.Length, 2, (uint)s.Index, 8, RelSize);
                blobs.Add((s.RelIndex, rel, rel.Length));
            }
            if (btf is not null)
            {
                headers[btfIndex] = (Str(".BTF"), ElfSection.SHT_PROGBITS, 0, 0, btf.Length, 0, 0, 4, 0);
                blobs.Add((btfIndex, btf, btf.Length));
            }
            if (btfExt is not null)
            {
                headers[extIndex] = (Str(".BTF.ext"), ElfSection.SHT_PROGBITS, 0, 0, btfExt.Length, 0, 0, 4, 0);
                blobs.Add((extIndex, btfExt, btfExt.Length));
            }
            headers[2] = (nSymtab, ElfSection.SHT_SYMTAB, 0, 0, symtab.Length, 1, (uint)firstGlobal, 8, SymSize);
            blobs.Add((2, symtab, symtab.Length));
            byte[] strBytes = strtab.ToArray(); // complete: every name was added above
            headers[1] = (nStrtab, ElfSection.SHT_STRTAB, 0, 0, strBytes.Length, 0, 0, 1, 0);
            blobs.Add((1, strBytes, strBytes.Length));
            blobs.Sort((a, b) => a.Index.CompareTo(b.Index));

            long pos = EhSize;
            foreach (var (index, _, length) in blobs)
            {
                ulong align = Math.Max(headers[index].Align, 1);
                pos = (long)(((ulong)pos + align - 1) / align * align);
                headers[index].Offset = pos;
                pos += length;
            }
            long shoff = (pos + 7) / 8 * 8;
            foreach (var s in content.Where(s => s.Type == ElfSection.SHT_NOBITS)) headers[s.Index].Offset = shoff;
            long total = shoff + (long)shnum * ShEntSize;
            if (total > int.MaxValue) throw new ObjectLinkException(content.FirstOrDefault()?.FirstFile ?? "", "the linked object would exceed 2 GiB");
            var file = new byte[total];
            var f = file.AsSpan();
            f[0] = 0x7f; f[1] = (byte)'E'; f[2] = (byte)'L'; f[3] = (byte)'F';
            f[4] = 2; f[5] = 1; f[6] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(f[16..], 1); // ET_REL
            BinaryPrimitives.WriteUInt16LittleEndian(f[18..], ElfFile.EM_BPF);
            BinaryPrimitives.WriteUInt32LittleEndian(f[20..], 1);
            BinaryPrimitives.WriteUInt64LittleEndian(f[40..], (ulong)shoff);
            BinaryPrimitives.WriteUInt16LittleEndian(f[52..], EhSize);
            BinaryPrimitives.WriteUInt16LittleEndian(f[58..], ShEntSize);
            BinaryPrimitives.WriteUInt16LittleEndian(f[60..], (ushort)shnum);
            BinaryPrimitives.WriteUInt16LittleEndian(f[62..], 1);
            foreach (var (index, data, length) in blobs) data.AsSpan(0, length).CopyTo(f[(int)headers[index].Offset..]);
            for (int i = 1; i < shnum; i++)
            {
                var h = headers[i];
                var e = f.Slice((int)shoff + i * ShEntSize, ShEntSize);
                BinaryPrimitives.WriteUInt32LittleEndian(e, h.Name);
                BinaryPrimitives.WriteUInt32LittleEndian(e[4..], h.Type);
                BinaryPrimitives.WriteUInt64LittleEndian(e[8..], h.Flags);
                BinaryPrimitives.WriteUInt64LittleEndian(e[24..], (ulong)h.Offset);
                BinaryPrimitives.WriteUInt64LittleEndian(e[32..], (ulong)h.Size);
                BinaryPrimitives.WriteUInt32LittleEndian(e[40..], h.Link);
                BinaryPrimitives.WriteUInt32LittleEndian(e[44..], h.Info);
                BinaryPrimitives.WriteUInt64LittleEndian(e[48..], h.Align);
                BinaryPrimitives.WriteUInt64LittleEndian(e[56..], h.EntSize);
            }
            return file;
        }
    }
}
