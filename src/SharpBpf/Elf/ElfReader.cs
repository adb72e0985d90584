using System.Buffers.Binary;
using System.Text;
using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Elf;

/// <summary>
/// Reads a BPF ELF object built by clang (libbpf conventions) into a <see cref="CollectionSpec"/>: program sections
/// classified by <see cref="ProgramSections"/>, maps from the BTF <c>.maps</c> section and the legacy <c>maps</c>
/// section, global data (.data, .rodata, .bss and their <c>.name</c> variants) as array maps, subprograms and
/// callbacks linked into each program, license and version. No syscalls: the same bytes always give an equal spec.
/// Bad input raises <see cref="ElfFormatException"/> (or <see cref="BtfFormatException"/> for a bad .BTF section).
/// </summary>
public static class ElfReader
{
    /// <summary>Size of libbpf's legacy <c>struct bpf_map_def</c> (type, key_size, value_size, max_entries, map_flags).</summary>
    public const int LegacyMapDefSize = 20;

    /// <summary>Reads the object file at <paramref name="path"/>.</summary>
    /// <exception cref="ElfFormatException">The object is malformed or uses something unsupported.</exception>
    /// <exception cref="BtfFormatException">Its .BTF section is malformed.</exception>
    public static CollectionSpec ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(File.ReadAllBytes(path), ObjectNameFromPath(path));
    }

    /// <summary>Reads an object from memory (the bytes are not copied; do not change them while the spec lives).</summary>
    /// <param name="data">The ELF file.</param>
    /// <param name="objectName">The object name (libbpf: the file name up to its first '.'), used as the prefix of
    /// global data map names.</param>
    /// <exception cref="ElfFormatException">The object is malformed or uses something unsupported.</exception>
    /// <exception cref="BtfFormatException">Its .BTF section is malformed.</exception>
    public static CollectionSpec Read(ReadOnlyMemory<byte> data, string objectName = "")
    {
        ArgumentNullException.ThrowIfNull(objectName);
        return new Reader(ElfFile.Parse(data), objectName).Run();
    }

    /// <summary>libbpf's object name: the file name without directories, up to its first '.'.</summary>
    public static string ObjectNameFromPath(string path)
    {
        string file = Path.GetFileName(path);
        int dot = file.IndexOf('.');
        return dot < 0 ? file : file[..dot];
    }

    /// <summary>Whether a section name is a global data section libbpf turns into a map.</summary>
    public static bool IsDataSection(string name) =>
        name is ".data" or ".rodata" or ".bss"
        || name.StartsWith(".data.", StringComparison.Ordinal)
        || name.StartsWith(".rodata.", StringComparison.Ordinal)
        || name.StartsWith(".bss.", StringComparison.Ordinal);

    private sealed class Function(string name, ElfSection section, int start, int length, bool isGlobal)
    {
        public string Name { get; } = name;
        public ElfSection Section { get; } = section;
        public int Start { get; } = start;
        public int Length { get; } = length;
        public bool IsGlobal { get; } = isGlobal;
    }

    private sealed class Reader(ElfFile elf, string objectName)
    {
        private readonly Dictionary<(int Section, ulong Offset), string> _mapBySymbol = [];
        private readonly Dictionary<int, List<Function>> _functions = [];
        private readonly Dictionary<int, Dictionary<int, ElfRelocation>> _relocations = [];
        private readonly Dictionary<int, ProgramSectionInfo> _programSections = [];
        private readonly HashSet<int> _dataSections = [];
        private readonly HashSet<int> _mapSections = [];
        private readonly CollectionSpec _spec = new();
        private string _license = "";
        private uint _version;
        private BtfSpec? _btf;
        private ReadOnlyMemory<byte> _btfExt;
        private bool _hasBtfExt;
        private List<ExternReference> _externRefs = [];

        public CollectionSpec Run()
        {
            ElfSection? legacyMaps = null, btfMaps = null;
            var relSections = new List<ElfSection>();
            var dataSections = new List<ElfSection>();
            var structOps = new List<ElfSection>();
            foreach (var sec in elf.Sections)
            {
                if (sec.Index == 0) continue;
                if (sec.Type == ElfSection.SHT_REL) { relSections.Add(sec); continue; }
                switch (sec.Name)
                {
                    case "license":
                    {
                        var bytes = elf.SectionData(sec);
                        int end = bytes.IndexOf((byte)0);
                        _license = Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
                        continue;
                    }
                    case "version":
                        if (sec.Size != 4) throw new ElfFormatException(sec.HeaderOffset + 32, $"section 'version': 4 bytes, got {sec.Size}");
                        _version = ElfFile.U32(elf.SectionData(sec), 0);
                        continue;
                    case "maps":
                        legacyMaps = sec;
                        continue;
                    case ".maps":
                        btfMaps = sec;
                        continue;
                    case ".BTF":
                        _btf = BtfSpec.Parse(elf.SectionMemory(sec));
                        continue;
                    case ".BTF.ext":
                        _btfExt = elf.SectionMemory(sec);
                        _hasBtfExt = true;
                        continue;
                    case ".struct_ops" or ".struct_ops.link":
                        structOps.Add(sec);
                        continue;
                }
                if (sec.IsExecutable)
                {
                    if (sec.Name != ".text")
                    {
                        if (!ProgramSections.TryClassify(sec.Name, out var info))
                            throw new ElfFormatException(sec.HeaderOffset,
                                $"section '{sec.Name}': a program section name from libbpf's SEC() table (see ProgramSections), got an unknown name");
                        _programSections[sec.Index] = info;
                    }
                    if (sec.Size % Instruction.Size != 0)
                        throw new ElfFormatException(sec.HeaderOffset + 32, $"section '{sec.Name}': a size that is a multiple of 8 (whole instructions), got {sec.Size}");
                    continue;
                }
                if ((sec.Flags & ElfSection.SHF_ALLOC) != 0 && sec.Type is ElfSection.SHT_PROGBITS or ElfSection.SHT_NOBITS && IsDataSection(sec.Name))
                    dataSections.Add(sec);
            }

            CollectFunctions();
            foreach (var rel in relSections)
            {
                if (rel.Info >= elf.Sections.Length)
                    throw new ElfFormatException(rel.HeaderOffset + 44, $"section '{rel.Name}': a target section index below {elf.Sections.Length}, got {rel.Info}");
                var target = elf.Sections[rel.Info];
                if (!target.IsExecutable) continue; // .rel.BTF, .rel.debug_*, .rel.maps (read with the maps)
                var byInsn = new Dictionary<int, ElfRelocation>();
                foreach (var r in elf.Relocations(rel))
                {
                    if (r.Offset % Instruction.Size != 0 || r.Offset >= (ulong)target.Size)
                        throw new ElfFormatException(r.FileOffset, $"section '{rel.Name}': a relocation on an instruction of '{target.Name}' ({target.Size} bytes), got offset {r.Offset}");
                    if (!byInsn.TryAdd((int)(r.Offset / Instruction.Size), r))
                        throw new ElfFormatException(r.FileOffset, $"section '{rel.Name}': one relocation per instruction, got a second one at offset {r.Offset}");
                }
                if (!_relocations.TryAdd(target.Index, byInsn))
                    throw new ElfFormatException(rel.HeaderOffset, $"one relocation section for '{target.Name}', got a second one '{rel.Name}'");
            }

            if (legacyMaps is { } lm) ReadLegacyMaps(lm);
            if (btfMaps is { } bm) ReadBtfMaps(bm, relSections);
            foreach (var sec in dataSections) ReadDataSection(sec);
            CollectExterns();
            foreach (var (index, info) in _programSections) LinkPrograms(elf.Sections[index], info);
            foreach (var sec in structOps) ReadStructOps(sec, relSections);
            return new CollectionSpec
            {
                Maps = _spec.Maps,
                Programs = _spec.Programs,
                Variables = _spec.Variables,
                Externs = _spec.Externs,
                Btf = _btf,
                BtfExt = _hasBtfExt && _btf is not null ? BtfExt.Parse(_btfExt, _btf) : null,
                SectionSizes = SectionSizes(),
                VariableSymbols = VariableSymbols(),
                HiddenFunctions = HiddenFunctions(),
                License = _license,
                KernelVersion = _version,
                Name = objectName,
            };
        }

        private Dictionary<string, uint> SectionSizes()
        {
            var sizes = new Dictionary<string, uint>(StringComparer.Ordinal);
            foreach (var sec in elf.Sections)
                if (sec.Index != 0) sizes.TryAdd(sec.Name, (uint)sec.Size);
            return sizes;
        }

        private Dictionary<string, BtfVariableSymbol> VariableSymbols()
        {
            var symbols = new Dictionary<string, BtfVariableSymbol>(StringComparer.Ordinal);
            foreach (var sym in elf.Symbols)
            {
                if (sym.Type != ElfSymbol.STT_OBJECT || sym.Name.Length == 0 || !sym.IsGlobal) continue;
                symbols.TryAdd(sym.Name, new BtfVariableSymbol((uint)sym.Value, Hidden: (sym.Other & 3) == 2)); // STV_HIDDEN
            }
            return symbols;
        }

        /// <summary>Global functions with hidden or internal visibility (e.g. usdt.bpf.h's <c>__weak __hidden</c>
        /// helpers): libbpf marks their BTF FUNCs static so the verifier checks them with their caller's argument
        /// types (a global function is verified alone, with only its prototype known).</summary>
        private HashSet<string> HiddenFunctions()
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sym in elf.Symbols)
                if (sym.Type == ElfSymbol.STT_FUNC && sym.IsGlobal && sym.SectionIndex != ElfSymbol.SHN_UNDEF && (sym.Other & 3) is 1 or 2)
                    names.Add(sym.Name);
            return names;
        }

        private void CollectFunctions()
        {
            foreach (var sym in elf.Symbols)
            {
                if (sym.Type != ElfSymbol.STT_FUNC || sym.SectionIndex == ElfSymbol.SHN_UNDEF || sym.SectionIndex >= ElfSymbol.SHN_LORESERVE) continue;
                var sec = elf.Sections[sym.SectionIndex];
                if (!sec.IsExecutable)
                    throw new ElfFormatException(sym.FileOffset, $"function '{sym.Name}': to be defined in an executable section, got '{sec.Name}'");
                if (sym.Value % Instruction.Size != 0 || sym.Value >= (ulong)sec.Size || sym.Size % Instruction.Size != 0 || sym.Size > (ulong)sec.Size - sym.Value)
                    throw new ElfFormatException(sym.FileOffset,
                        $"function '{sym.Name}': whole instructions inside section '{sec.Name}' ({sec.Size} bytes), got [{sym.Value}, +{sym.Size})");
                if (sym.Name.Length == 0) throw new ElfFormatException(sym.FileOffset, $"a named function in '{sec.Name}'");
                if (!_functions.TryGetValue(sec.Index, out var list)) _functions[sec.Index] = list = [];
                list.Add(new Function(sym.Name, sec, (int)(sym.Value / Instruction.Size), (int)(sym.Size / Instruction.Size), sym.IsGlobal));
            }
            foreach (var (index, list) in _functions)
            {
                list.Sort((a, b) => a.Start.CompareTo(b.Start));
                var sec = elf.Sections[index];
                for (int i = 0; i < list.Count; i++)
                {
                    var f = list[i];
                    int next = i + 1 < list.Count ? list[i + 1].Start : sec.Size / Instruction.Size;
                    if (i + 1 < list.Count && next == f.Start)
                        throw new ElfFormatException(sec.HeaderOffset, $"section '{sec.Name}': functions at distinct offsets, '{f.Name}' and '{list[i + 1].Name}' share instruction {f.Start}");
                    if (f.Length == 0) list[i] = f = new Function(f.Name, sec, f.Start, next - f.Start, f.IsGlobal);
                    if (f.Start + f.Length > next)
                        throw new ElfFormatException(sec.HeaderOffset, $"section '{sec.Name}': functions that do not overlap, '{f.Name}' runs into '{list[i + 1].Name}'");
                }
            }
        }

        private Function FunctionAt(ElfSection sec, long insn, long where)
        {
            if (_functions.TryGetValue(sec.Index, out var list))
                foreach (var f in list)
                    if (insn >= f.Start && insn < f.Start + f.Length) return f;
            throw new ElfFormatException(where, $"a function at instruction {insn} of section '{sec.Name}', found none");
        }

        private void ReadLegacyMaps(ElfSection sec)
        {
            var syms = elf.Symbols.Where(s => s.SectionIndex == sec.Index && s.Type is ElfSymbol.STT_OBJECT or ElfSymbol.STT_NOTYPE && s.Name.Length > 0)
                .OrderBy(s => s.Value).ToList();
            if (syms.Count == 0)
            {
                if (sec.Size == 0) return;
                throw new ElfFormatException(sec.HeaderOffset, "section 'maps': one symbol per legacy map definition, found none");
            }
            if (sec.Type == ElfSection.SHT_NOBITS || sec.Size % syms.Count != 0)
                throw new ElfFormatException(sec.HeaderOffset + 32, $"section 'maps': {syms.Count} map definitions of equal size, got {sec.Size} bytes");
            int defSize = sec.Size / syms.Count;
            if (defSize < 16)
                throw new ElfFormatException(sec.HeaderOffset + 32, $"section 'maps': definitions of at least 16 bytes (type, key_size, value_size, max_entries), got {defSize}");
            var data = elf.SectionData(sec);
            foreach (var sym in syms)
            {
                if (sym.Value % (ulong)defSize != 0 || sym.Value >= (ulong)sec.Size)
                    throw new ElfFormatException(sym.FileOffset, $"legacy map '{sym.Name}': a definition at a multiple of {defSize} inside 'maps', got offset {sym.Value}");
                var def = data.Slice((int)sym.Value, defSize);
                if (defSize > LegacyMapDefSize && def[LegacyMapDefSize..].ContainsAnyExcept((byte)0))
                    throw new ElfFormatException(sec.Offset + (long)sym.Value + LegacyMapDefSize,
                        $"legacy map '{sym.Name}': zero bytes after the {LegacyMapDefSize}-byte struct bpf_map_def (fields this loader does not know)");
                var map = new MapSpec
                {
                    Name = sym.Name,
                    Type = (MapType)ElfFile.U32(def, 0),
                    KeySize = ElfFile.U32(def, 4),
                    ValueSize = ElfFile.U32(def, 8),
                    MaxEntries = ElfFile.U32(def, 12),
                    Flags = defSize >= LegacyMapDefSize ? (MapFlags)ElfFile.U32(def, 16) : MapFlags.None,
                };
                AddMap(sym.Name, map, sym.FileOffset);
                _mapBySymbol[(sec.Index, sym.Value)] = sym.Name;
            }
            _mapSections.Add(sec.Index);
        }

        private void AddMap(string name, MapSpec map, long where)
        {
            if (!_spec.Maps.TryAdd(name, map)) throw new ElfFormatException(where, $"map names to be unique, '{name}' is defined twice");
        }

        private sealed record BtfMapDef(MapSpec Spec, int ValuesOffset, bool HasValues);

        private void ReadBtfMaps(ElfSection sec, List<ElfSection> relSections)
        {
            var btf = _btf ?? throw new ElfFormatException(sec.HeaderOffset, "a .BTF section describing the BTF maps in '.maps', found none");
            if (!btf.TryTypeByName(".maps", BtfKind.Datasec, out var t) || t is not BtfDatasec datasec)
                throw new ElfFormatException(sec.HeaderOffset, "a DATASEC '.maps' in .BTF describing the maps, found none");
            var layouts = new List<(string Name, ulong Offset, ulong Size, BtfMapDef Def)>();
            foreach (var vsi in datasec.Variables)
            {
                if (btf.TypeById(vsi.TypeId) is not BtfVar v)
                    throw new ElfFormatException(sec.HeaderOffset, $"DATASEC '.maps' entries to be VARs, got {btf.TypeById(vsi.TypeId)}");
                var symbol = elf.Symbols.FirstOrDefault(s => s.SectionIndex == sec.Index && s.Name == v.Name && s.Type != ElfSymbol.STT_SECTION);
                if (symbol.Name is null)
                    throw new ElfFormatException(sec.HeaderOffset, $"BTF map '{v.Name}': a symbol in '.maps', found none");
                if (btf.Resolve(v.Type) is not BtfStruct def)
                    throw new ElfFormatException(symbol.FileOffset, $"BTF map '{v.Name}': a struct definition, got {btf.Resolve(v.Type)}");
                var parsed = ParseMapDef(btf, v.Name, def, 0, symbol.FileOffset);
                // The symbol also covers the initialised part of a flexible 'values' array, the struct does not.
                ulong size = Math.Max(def.Size, symbol.Size);
                if (symbol.Value > (ulong)sec.Size || size > (ulong)sec.Size - symbol.Value)
                    throw new ElfFormatException(symbol.FileOffset, $"BTF map '{v.Name}': a definition inside '.maps' ({sec.Size} bytes), got [{symbol.Value}, +{size})");
                parsed.Spec.Name = v.Name;
                AddMap(v.Name, parsed.Spec, symbol.FileOffset);
                _mapBySymbol[(sec.Index, symbol.Value)] = v.Name;
                layouts.Add((v.Name, symbol.Value, size, parsed));
            }
            _mapSections.Add(sec.Index);

            // Initial 'values' of program arrays and map-in-maps: pointers relocated against programs or maps.
            foreach (var rel in relSections)
            {
                if (rel.Info != (uint)sec.Index) continue;
                foreach (var r in elf.Relocations(rel))
                {
                    var owner = layouts.FirstOrDefault(l => r.Offset >= l.Offset && r.Offset < l.Offset + l.Size);
                    if (owner.Name is null)
                        throw new ElfFormatException(r.FileOffset, $"'.rel.maps': a relocation inside a map definition, got offset {r.Offset}");
                    ulong valuesStart = owner.Offset + (ulong)owner.Def.ValuesOffset;
                    if (!owner.Def.HasValues || r.Offset < valuesStart || (r.Offset - valuesStart) % 8 != 0)
                        throw new ElfFormatException(r.FileOffset, $"BTF map '{owner.Name}': relocations only in its 'values' array, got offset {r.Offset - owner.Offset}");
                    uint slot = (uint)((r.Offset - valuesStart) / 8);
                    var sym = elf.Symbols[r.SymbolIndex];
                    var entry = new MapEntry { Key = BitConverter.GetBytes(slot) };
                    var map = owner.Def.Spec;
                    if (map.Type == MapType.ProgramArray)
                    {
                        if (sym.Type != ElfSymbol.STT_FUNC || sym.SectionIndex == ElfSymbol.SHN_UNDEF || !_programSections.ContainsKey(sym.SectionIndex))
                            throw new ElfFormatException(r.FileOffset, $"BTF map '{owner.Name}': values that are programs, got symbol '{sym.Name}'");
                        entry.ProgramName = sym.Name;
                    }
                    else if (map.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
                    {
                        if (!_mapBySymbol.TryGetValue((sym.SectionIndex, sym.Value), out var inner) || sym.SectionIndex != sec.Index)
                            throw new ElfFormatException(r.FileOffset, $"BTF map '{owner.Name}': values that are maps of '.maps', got symbol '{sym.Name}'");
                        entry.MapName = inner;
                    }
                    else throw new ElfFormatException(r.FileOffset, $"BTF map '{owner.Name}': 'values' only in program arrays and map-in-maps, got {map.Type}");
                    (map.Contents ??= []).Add(entry);
                }
            }
        }

        /// <summary>SEC(".struct_ops") / SEC(".struct_ops.link"): one struct_ops map per variable (DATASEC of the
        /// section name in .BTF), its bytes, and the programs its function pointers are relocated against.</summary>
        private void ReadStructOps(ElfSection sec, List<ElfSection> relSections)
        {
            var btf = _btf ?? throw new ElfFormatException(sec.HeaderOffset, $"a .BTF section describing the struct_ops variables in '{sec.Name}', found none");
            if (!btf.TryTypeByName(sec.Name, BtfKind.Datasec, out var t) || t is not BtfDatasec datasec)
                throw new ElfFormatException(sec.HeaderOffset, $"a DATASEC '{sec.Name}' in .BTF describing the struct_ops variables, found none");
            if (sec.Type == ElfSection.SHT_NOBITS)
                throw new ElfFormatException(sec.HeaderOffset, $"section '{sec.Name}': initialised data (struct_ops values), got SHT_NOBITS");
            var data = elf.SectionData(sec);
            var vars = new List<(ulong Offset, ulong Size, BtfStruct Type, MapSpec Map, long Where)>();
            foreach (var vsi in datasec.Variables)
            {
                if (btf.TypeById(vsi.TypeId) is not BtfVar v)
                    throw new ElfFormatException(sec.HeaderOffset, $"DATASEC '{sec.Name}' entries to be VARs, got {btf.TypeById(vsi.TypeId)}");
                var symbol = elf.Symbols.FirstOrDefault(s => s.SectionIndex == sec.Index && s.Name == v.Name && s.Type != ElfSymbol.STT_SECTION);
                if (symbol.Name is null)
                    throw new ElfFormatException(sec.HeaderOffset, $"struct_ops variable '{v.Name}': a symbol in '{sec.Name}', found none");
                if (btf.Resolve(v.Type) is not BtfStruct type || type.Name.Length == 0)
                    throw new ElfFormatException(symbol.FileOffset, $"struct_ops variable '{v.Name}': a named struct (the kernel struct it implements), got {btf.Resolve(v.Type)}");
                if (symbol.Value > (ulong)data.Length || type.Size > (ulong)data.Length - symbol.Value)
                    throw new ElfFormatException(symbol.FileOffset,
                        $"struct_ops variable '{v.Name}': {type.Size} bytes inside '{sec.Name}' ({data.Length} bytes), got offset {symbol.Value}");
                var map = new MapSpec
                {
                    Name = v.Name,
                    Type = MapType.StructOps,
                    KeySize = 4,
                    MaxEntries = 1,
                    Flags = sec.Name == ".struct_ops.link" ? MapFlags.Link : MapFlags.None,
                    StructOps = new StructOpsSpec
                    {
                        TypeName = type.Name,
                        LocalType = type,
                        Data = data.Slice((int)symbol.Value, (int)type.Size).ToArray(),
                    },
                };
                AddMap(v.Name, map, symbol.FileOffset);
                vars.Add((symbol.Value, type.Size, type, map, symbol.FileOffset));
            }

            foreach (var rel in relSections)
            {
                if (rel.Info != (uint)sec.Index) continue;
                foreach (var r in elf.Relocations(rel))
                {
                    var owner = vars.FirstOrDefault(x => r.Offset >= x.Offset && r.Offset < x.Offset + x.Size);
                    if (owner.Map is null)
                        throw new ElfFormatException(r.FileOffset, $"'{rel.Name}': a relocation inside a struct_ops variable, got offset {r.Offset}");
                    ulong at = r.Offset - owner.Offset;
                    var member = owner.Type.Members.FirstOrDefault(m => m.BitfieldSize == 0 && m.BitOffset == at * 8);
                    if (member is null || btf.Resolve(member.Type) is not BtfPointer)
                        throw new ElfFormatException(r.FileOffset,
                            $"struct_ops variable '{owner.Map.Name}': relocations on function pointer members of {owner.Type.Name}, got one at byte {at}");
                    var sym = elf.Symbols[r.SymbolIndex];
                    if (sym.Type != ElfSymbol.STT_FUNC || sym.SectionIndex == ElfSymbol.SHN_UNDEF || !_programSections.TryGetValue(sym.SectionIndex, out var info)
                        || !_spec.Programs.TryGetValue(sym.Name, out var prog))
                        throw new ElfFormatException(r.FileOffset, $"struct_ops variable '{owner.Map.Name}': member '{member.Name}' pointing at a program, got symbol '{sym.Name}'");
                    if (info.Type != ProgramType.StructOps)
                        throw new ElfFormatException(r.FileOffset,
                            $"struct_ops variable '{owner.Map.Name}': member '{member.Name}' pointing at a struct_ops program, got '{sym.Name}' of type {info.Type}");
                    owner.Map.StructOps!.Functions[member.Name] = prog.Name;
                }
            }
        }

        private BtfMapDef ParseMapDef(BtfSpec btf, string name, BtfStruct def, int depth, long where)
        {
            var spec = new MapSpec { Name = name };
            int valuesOffset = 0;
            bool hasValues = false;
            uint? keySize = null, valueSize = null;
            BtfType? innerDef = null;
            foreach (var m in def.Members)
            {
                switch (m.Name)
                {
                    case "type": spec.Type = (MapType)UIntField(btf, name, m, where); break;
                    case "max_entries": spec.MaxEntries = UIntField(btf, name, m, where); break;
                    case "map_flags": spec.Flags = (MapFlags)UIntField(btf, name, m, where); break;
                    case "numa_node": spec.NumaNode = UIntField(btf, name, m, where); break;
                    case "key_size": keySize = UIntField(btf, name, m, where); break;
                    case "value_size": valueSize = UIntField(btf, name, m, where); break;
                    case "map_extra": spec.MapExtra = ULongField(btf, name, m, where); break;
                    case "pinning":
                        uint pin = UIntField(btf, name, m, where);
                        if (pin > 1) throw new ElfFormatException(where, $"BTF map '{name}': pinning 0 (none) or 1 (by name), got {pin}");
                        spec.Pinning = (PinningType)pin;
                        break;
                    case "key" or "value":
                    {
                        if (btf.TypeById(m.TypeId) is not BtfPointer p)
                            throw new ElfFormatException(where, $"BTF map '{name}': '{m.Name}' to be a pointer to the {m.Name} type (__type), got {m.Type}");
                        long size = SizeOf(btf, p.Target, name, m.Name, where);
                        if (m.Name == "key") { spec.KeySize = (uint)size; spec.BtfKeyTypeId = p.TypeId; }
                        else { spec.ValueSize = (uint)size; spec.BtfValueTypeId = p.TypeId; }
                        break;
                    }
                    case "values":
                    {
                        if (btf.Resolve(m.Type) is not BtfArray { Count: 0 } arr || btf.Resolve(arr.ElementType) is not BtfPointer ptr)
                            throw new ElfFormatException(where, $"BTF map '{name}': 'values' to be an array of pointers (__array), got {m.Type}");
                        if (m.BitOffset % 64 != 0)
                            throw new ElfFormatException(where, $"BTF map '{name}': an 8-byte aligned 'values' member, got bit offset {m.BitOffset}");
                        valuesOffset = (int)(m.BitOffset / 8);
                        hasValues = true;
                        innerDef = btf.Resolve(ptr.Target);
                        break;
                    }
                    default:
                        throw new ElfFormatException(where, $"BTF map '{name}': a known map attribute (type, key, value, key_size, value_size, max_entries, map_flags, numa_node, map_extra, pinning, values), got '{m.Name}'");
                }
            }
            if (keySize is { } ks)
            {
                if (spec.BtfKeyTypeId != 0 && ks != spec.KeySize)
                    throw new ElfFormatException(where, $"BTF map '{name}': key_size {ks} to match the key type's size {spec.KeySize}");
                spec.KeySize = ks;
            }
            if (valueSize is { } vs)
            {
                if (spec.BtfValueTypeId != 0 && vs != spec.ValueSize)
                    throw new ElfFormatException(where, $"BTF map '{name}': value_size {vs} to match the value type's size {spec.ValueSize}");
                spec.ValueSize = vs;
            }
            if (hasValues)
            {
                if (spec.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
                {
                    if (depth > 0) throw new ElfFormatException(where, $"BTF map '{name}': one level of map-in-map, got an inner map with 'values'");
                    if (innerDef is not BtfStruct inner)
                        throw new ElfFormatException(where, $"BTF map '{name}': 'values' pointing to an inner map definition struct, got {innerDef}");
                    var innerSpec = ParseMapDef(btf, name + ".inner", inner, depth + 1, where).Spec;
                    spec.InnerMap = innerSpec;
                    if (spec.ValueSize == 0) spec.ValueSize = 4;
                    if (spec.KeySize == 0 && spec.Type == MapType.ArrayOfMaps) spec.KeySize = 4;
                }
                else if (spec.Type == MapType.ProgramArray)
                {
                    if (innerDef is not BtfFuncProto)
                        throw new ElfFormatException(where, $"BTF map '{name}': a program array's 'values' to be function pointers, got {innerDef}");
                }
                else throw new ElfFormatException(where, $"BTF map '{name}': 'values' only in program arrays and map-in-maps, got {spec.Type}");
            }
            return new BtfMapDef(spec, valuesOffset, hasValues);
        }

        private static long SizeOf(BtfSpec btf, BtfType type, string map, string what, long where)
        {
            long size;
            try { size = btf.SizeOf(type); }
            catch (ArgumentException) { throw new ElfFormatException(where, $"BTF map '{map}': a {what} type with a size, got {type}"); }
            if (size > uint.MaxValue) throw new ElfFormatException(where, $"BTF map '{map}': a {what} size below 4 GiB, got {size}");
            return size;
        }

        // __uint(name, val) is 'int (*name)[val]': the value is the array's element count.
        private static uint UIntField(BtfSpec btf, string map, BtfMember m, long where)
        {
            if (btf.TypeById(m.TypeId) is BtfPointer p && btf.Resolve(p.Target) is BtfArray a) return a.Count;
            throw new ElfFormatException(where, $"BTF map '{map}': '{m.Name}' declared with __uint (a pointer to an array), got {m.Type}");
        }

        // __ulong(name, val) is an anonymous enum with one value; __uint also works for 32-bit values.
        private static ulong ULongField(BtfSpec btf, string map, BtfMember m, long where)
        {
            if (btf.Resolve(m.Type) is BtfEnum { Values: [var only] }) return only.UnsignedValue;
            return UIntField(btf, map, m, where);
        }

        private void ReadDataSection(ElfSection sec)
        {
            if (sec.Size == 0) return;
            bool rodata = sec.Name.StartsWith(".rodata", StringComparison.Ordinal);
            var map = new MapSpec
            {
                Name = KernelMapName(sec.Name),
                Type = MapType.Array,
                KeySize = 4,
                ValueSize = (uint)sec.Size,
                MaxEntries = 1,
                Flags = MapFlags.Mmapable | (rodata ? MapFlags.ReadOnlyProg : MapFlags.None),
                Freeze = rodata,
            };
            // The kernel accepts a keyless BTF description of a global data map: its DATASEC as the value type.
            if (_btf is not null && _btf.TryTypeByName(sec.Name, BtfKind.Datasec, out var datasec)) map.BtfValueTypeId = datasec.Id;
            if (sec.Type != ElfSection.SHT_NOBITS)
                map.Contents = [new MapEntry { Key = new byte[4], Value = elf.SectionData(sec).ToArray() }];
            AddMap(sec.Name, map, sec.HeaderOffset);
            _dataSections.Add(sec.Index);
            foreach (var sym in elf.Symbols)
            {
                if (sym.SectionIndex != sec.Index || sym.Type != ElfSymbol.STT_OBJECT || sym.Name.Length == 0) continue;
                if (sym.Value > (ulong)sec.Size || sym.Size > (ulong)sec.Size - sym.Value)
                    throw new ElfFormatException(sym.FileOffset, $"variable '{sym.Name}': inside section '{sec.Name}' ({sec.Size} bytes), got [{sym.Value}, +{sym.Size})");
                _spec.Variables.TryAdd(sym.Name, new VariableSpec(sym.Name, sec.Name, (uint)sym.Value, (uint)sym.Size, rodata));
            }
        }

        // libbpf's internal map names: up to 8 characters of the object name, then the section name, 15 in all;
        // custom sections (.data.foo) keep just their section name.
        private string KernelMapName(string section)
        {
            string name = section is ".data" or ".rodata" or ".bss" || section.StartsWith(".rodata.str", StringComparison.Ordinal)
                ? objectName[..Math.Min(8, objectName.Length)] + section
                : section;
            return name.Length > 15 ? name[..15] : name;
        }

        // libbpf's bpf_object__collect_externs: every undefined global symbol is an extern described in .BTF by a VAR
        // (or, for kfuncs, a FUNC) listed in DATASEC .kconfig or .ksyms. Kconfig values are laid out in one
        // read-only map, by descending alignment then name, as libbpf does.
        private void CollectExterns()
        {
            var undefined = elf.Symbols.Where(s => s.SectionIndex == ElfSymbol.SHN_UNDEF && s.Name.Length > 0 && s.IsGlobal && s.Type != ElfSymbol.STT_SECTION).ToList();
            if (undefined.Count == 0) return;
            var described = new Dictionary<string, (string Section, BtfType Type)>(StringComparer.Ordinal);
            if (_btf is not null)
                foreach (var t in _btf.Types)
                {
                    if (t is not BtfDatasec { Name: ".kconfig" or ".ksyms" } ds) continue;
                    foreach (var vsi in ds.Variables)
                    {
                        var v = _btf.TypeById(vsi.TypeId);
                        if (v is BtfVar or BtfFunc) described.TryAdd(v.Name, (ds.Name, v));
                    }
                }
            var kconfig = new List<ExternSpec>();
            foreach (var sym in undefined)
            {
                if (!described.TryGetValue(sym.Name, out var d))
                {
                    // A call to an undefined function without BTF: an extern BPF function (static linking) is
                    // reported where it is called; anything else needs BTF to be resolved.
                    if (_btf is not null && _btf.TryTypeByName(sym.Name, BtfKind.Func, out _)) continue;
                    throw new ElfFormatException(sym.FileOffset, $"extern '{sym.Name}': a VAR or FUNC in DATASEC .kconfig or .ksyms of .BTF (declared __kconfig or __ksym), found none");
                }
                bool weak = sym.Bind == ElfSymbol.STB_WEAK;
                if (d.Type is BtfFunc f)
                {
                    if (d.Section != ".ksyms")
                        throw new ElfFormatException(sym.FileOffset, $"extern function '{sym.Name}': declared __ksym (section .ksyms), got {d.Section}");
                    if (_btf!.TypeById(f.ProtoTypeId) is not BtfFuncProto)
                        throw new ElfFormatException(sym.FileOffset, $"kfunc '{sym.Name}': a FUNC_PROTO as its type, got {_btf.TypeById(f.ProtoTypeId)}");
                    _spec.Externs[sym.Name] = new ExternSpec(sym.Name, ExternKind.Kfunc, weak, f.Id);
                    continue;
                }
                var v = (BtfVar)d.Type;
                if (d.Section == ".ksyms")
                {
                    _spec.Externs[sym.Name] = new ExternSpec(sym.Name, ExternKind.Ksym, weak, v.Id);
                    continue;
                }
                var (kind, size, align, signed) = KconfigTypeOf(_btf!, _btf!.TypeById(v.Type.Id), sym);
                kconfig.Add(new ExternSpec(sym.Name, ExternKind.Kconfig, weak, v.Id, 0, size, kind, signed) with { Offset = align });
            }
            if (kconfig.Count == 0) return;
            uint offset = 0;
            foreach (var k in kconfig.OrderByDescending(k => k.Offset).ThenBy(k => k.Name, StringComparer.Ordinal))
            {
                uint align = k.Offset;
                offset = (offset + align - 1) / align * align;
                _spec.Externs[k.Name] = k with { Offset = offset };
                if (k.Size > (1u << 20) - offset)
                    throw new ElfFormatException(-1, $"kconfig extern '{k.Name}': kconfig values of at most 1 MiB in all, got {k.Size} bytes at offset {offset}");
                offset += k.Size;
            }
            var map = new MapSpec
            {
                Name = (objectName[..Math.Min(8, objectName.Length)] + ExternSpec.KconfigMapName) is var n && n.Length > 15 ? n[..15] : n,
                Type = MapType.Array,
                KeySize = 4,
                ValueSize = (offset + 7) / 8 * 8,
                MaxEntries = 1,
                Flags = MapFlags.Mmapable | MapFlags.ReadOnlyProg,
                Freeze = true,
            };
            if (_btf!.TryTypeByName(ExternSpec.KconfigMapName, BtfKind.Datasec, out var datasec)) map.BtfValueTypeId = datasec.Id;
            AddMap(ExternSpec.KconfigMapName, map, -1);
        }

        // libbpf's find_kcfg_type: bool, char, 1/2/4/8-byte integers, enum libbpf_tristate and char arrays.
        private static (KconfigType Kind, uint Size, uint Align, bool Signed) KconfigTypeOf(BtfSpec btf, BtfType type, ElfSymbol sym)
        {
            var t = btf.Resolve(type);
            switch (t)
            {
                case BtfInt i when i.Encoding.HasFlag(BtfIntEncoding.Bool):
                    if (i.Size == 1) return (KconfigType.Bool, 1, 1, false);
                    break;
                case BtfInt i when i.Size == 1:
                    return (KconfigType.Char, 1, 1, i.Encoding.HasFlag(BtfIntEncoding.Signed));
                case BtfInt i when i.Size is 2 or 4 or 8 && i.BitOffset == 0:
                    return (KconfigType.Int, i.Size, i.Size, i.Encoding.HasFlag(BtfIntEncoding.Signed));
                case BtfEnum e when e.Name == "libbpf_tristate" && e.Size is 4 or 8:
                    return (KconfigType.Tristate, e.Size, e.Size, false);
                case BtfArray a when a.Count > 0 && btf.Resolve(a.ElementType) is BtfInt { Size: 1 } c && !c.Encoding.HasFlag(BtfIntEncoding.Bool):
                    return (KconfigType.CharArray, a.Count, 1, false);
            }
            throw new ElfFormatException(sym.FileOffset, $"kconfig extern '{sym.Name}': bool, char, a 1/2/4/8-byte integer, enum libbpf_tristate or a char array, got {t}");
        }

        private void LinkPrograms(ElfSection sec, ProgramSectionInfo info)
        {
            if (!_functions.TryGetValue(sec.Index, out var funcs) || funcs.Count == 0)
            {
                if (sec.Size == 0) return;
                throw new ElfFormatException(sec.HeaderOffset, $"section '{sec.Name}': a function symbol for its code, found none");
            }
            foreach (var f in funcs)
            {
                if (!f.IsGlobal)
                    throw new ElfFormatException(sec.HeaderOffset, $"section '{sec.Name}': program '{f.Name}' is static; programs must be global functions");
                var prog = Link(f);
                prog.Type = info.Type;
                prog.ExpectedAttachType = info.ExpectedAttachType;
                prog.Flags = info.Flags;
                prog.AttachTo = info.AttachTo;
                prog.SectionName = sec.Name;
                prog.License = _license;
                prog.KernelVersion = _version;
                if (!_spec.Programs.TryAdd(f.Name, prog))
                    throw new ElfFormatException(sec.HeaderOffset, $"program names to be unique, '{f.Name}' is defined twice");
            }
        }

        private ProgramSpec Link(Function main)
        {
            var units = new List<Function> { main };
            var position = new Dictionary<Function, int> { [main] = 0 };
            var insns = new List<Instruction>(main.Length);
            var refs = new List<MapReference>();
            var fixups = new List<(int At, Function Target, int Delta)>();
            var linked = new List<LinkedFunction>();
            _externRefs = [];
            int total = main.Length;

            int Place(Function f)
            {
                if (position.TryGetValue(f, out int at)) return at;
                position[f] = total;
                total += f.Length;
                units.Add(f);
                return position[f];
            }

            for (int u = 0; u < units.Count; u++)
            {
                var f = units[u];
                int start = position[f];
                linked.Add(new LinkedFunction(f.Name, f.Section.Name, f.Start, start, f.Length));
                var code = elf.SectionData(f.Section).Slice(f.Start * Instruction.Size, f.Length * Instruction.Size);
                for (int i = 0; i < f.Length; i++) insns.Add(Instruction.Decode(code[(i * Instruction.Size)..]));
                _relocations.TryGetValue(f.Section.Index, out var rels);
                for (int i = 0; i < f.Length; i++)
                {
                    int abs = f.Start + i, at = start + i;
                    var insn = insns[at];
                    ElfRelocation rel = default;
                    bool hasRel = rels is not null && rels.TryGetValue(abs, out rel);
                    long where = f.Section.Offset + (long)abs * Instruction.Size;
                    if (insn.OpCode == 0x18) // lddw: two slots
                    {
                        if (i + 1 >= f.Length)
                            throw new ElfFormatException(where, $"program '{main.Name}': a second half for the 64-bit load at the end of function '{f.Name}'");
                        if (hasRel) RelocateLoad(main, f, at, abs, insn, rel, insns, refs, fixups, Place, where);
                        if (rels is not null && rels.TryGetValue(abs + 1, out var stray))
                            throw new ElfFormatException(stray.FileOffset, $"program '{main.Name}': no relocation on the second half of a 64-bit load");
                        i++;
                        continue;
                    }
                    if (insn.OpCode == 0x85 && insn.Src == 1) // bpf-to-bpf call
                    {
                        ElfSection targetSec = f.Section;
                        long target = (long)abs + insn.Imm + 1;
                        if (hasRel && elf.Symbols[rel.SymbolIndex] is { SectionIndex: ElfSymbol.SHN_UNDEF } ext
                            && _spec.Externs.TryGetValue(ext.Name, out var kfunc) && kfunc.Kind == ExternKind.Kfunc)
                        {
                            _externRefs.Add(new ExternReference(at, ext.Name));
                            continue;
                        }
                        if (hasRel)
                        {
                            var sym = elf.Symbols[rel.SymbolIndex];
                            if (sym.SectionIndex == ElfSymbol.SHN_UNDEF || sym.SectionIndex >= ElfSymbol.SHN_LORESERVE || !elf.Sections[sym.SectionIndex].IsExecutable)
                                throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a call to a function of this object, got symbol '{sym.Name}' (extern BPF functions need static linking)");
                            targetSec = elf.Sections[sym.SectionIndex];
                            target = (long)(sym.Value / Instruction.Size) + insn.Imm + 1;
                        }
                        var callee = FunctionAt(targetSec, target, where);
                        Place(callee);
                        fixups.Add((at, callee, (int)(target - callee.Start)));
                        continue;
                    }
                    if (hasRel)
                    {
                        var sym = elf.Symbols[rel.SymbolIndex];
                        throw new ElfFormatException(rel.FileOffset, insn.OpCode == 0x85
                            ? $"program '{main.Name}': a relocated call to be a bpf-to-bpf call, got a call of '{sym.Name}' (kfuncs are calls with src_reg 1 to a __ksym extern)"
                            : $"program '{main.Name}': relocations only on 64-bit loads and calls, got opcode 0x{insn.OpCode:x2} (symbol '{sym.Name}')");
                    }
                }
                if (total > 1_000_000)
                    throw new ElfFormatException(-1, $"program '{main.Name}': at most 1,000,000 instructions after linking subprograms, got {total}");
            }

            foreach (var (at, target, delta) in fixups)
            {
                var old = insns[at];
                int imm = position[target] + delta - at - 1;
                insns[at] = new Instruction(old.OpCode, old.Dst, old.Src, old.Offset, imm);
            }
            return new ProgramSpec
            {
                Name = main.Name,
                Instructions = [.. insns],
                MapReferences = refs,
                Functions = linked,
                ExternReferences = _externRefs,
            };
        }

        private void RelocateLoad(Function main, Function f, int at, int abs, Instruction insn, ElfRelocation rel, List<Instruction> insns,
            List<MapReference> refs, List<(int, Function, int)> fixups, Func<Function, int> place, long where)
        {
            var sym = elf.Symbols[rel.SymbolIndex];
            if (sym.SectionIndex == ElfSymbol.SHN_UNDEF)
            {
                if (!_spec.Externs.TryGetValue(sym.Name, out var ext))
                    throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a reference to something defined in this object or a __kconfig/__ksym extern, got extern '{sym.Name}' without BTF in .kconfig or .ksyms");
                if (insn.Imm != 0 || insns[at + 1].Imm != 0)
                    throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a 64-bit load of extern '{sym.Name}' without an addend, got {insn.Imm}");
                if (ext.Kind == ExternKind.Kconfig)
                {
                    insns[at] = new Instruction(insn.OpCode, insn.Dst, 2, insn.Offset, 0);
                    insns[at + 1] = new Instruction(insns[at + 1].OpCode, insns[at + 1].Dst, insns[at + 1].Src, insns[at + 1].Offset, (int)ext.Offset);
                    refs.Add(new MapReference(at, ExternSpec.KconfigMapName, MapReferenceKind.Value, ext.Offset));
                }
                else _externRefs.Add(new ExternReference(at, sym.Name));
                return;
            }
            if (sym.SectionIndex >= ElfSymbol.SHN_LORESERVE)
                throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a symbol in a regular section, got '{sym.Name}' with special section index 0x{sym.SectionIndex:x}");
            var symSec = elf.Sections[sym.SectionIndex];
            var second = insns[at + 1];
            if (_mapSections.Contains(symSec.Index))
            {
                ulong offset = sym.Value + (ulong)(uint)insn.Imm;
                if (!_mapBySymbol.TryGetValue((symSec.Index, offset), out var mapName))
                    throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a map definition at offset {offset} of '{symSec.Name}', found none");
                insns[at] = new Instruction(insn.OpCode, insn.Dst, 1, insn.Offset, 0);
                refs.Add(new MapReference(at, mapName, MapReferenceKind.Map, 0));
            }
            else if (_dataSections.Contains(symSec.Index))
            {
                long offset = (long)sym.Value + insn.Imm;
                if (offset < 0 || offset > symSec.Size)
                    throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': an address inside '{symSec.Name}' ({symSec.Size} bytes), got offset {offset}");
                insns[at] = new Instruction(insn.OpCode, insn.Dst, 2, insn.Offset, 0);
                insns[at + 1] = new Instruction(second.OpCode, second.Dst, second.Src, second.Offset, (int)offset);
                refs.Add(new MapReference(at, symSec.Name, MapReferenceKind.Value, (uint)offset));
            }
            else if (symSec.IsExecutable)
            {
                // The address of a function (callback for bpf_loop, bpf_for_each_map_elem, timers ...).
                long bytes = (long)sym.Value + insn.Imm;
                if (bytes < 0 || bytes % Instruction.Size != 0)
                    throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a function address on an instruction boundary of '{symSec.Name}', got byte {bytes}");
                long target = bytes / Instruction.Size;
                var callee = FunctionAt(symSec, target, where);
                place(callee);
                insns[at] = new Instruction(insn.OpCode, insn.Dst, 4, insn.Offset, 0);
                fixups.Add((at, callee, (int)(target - callee.Start)));
            }
            else if (symSec.Name is ".kconfig" or ".ksyms" || symSec.Name.StartsWith(".addr_space", StringComparison.Ordinal))
                throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': section '{symSec.Name}' (symbol '{sym.Name}') is not supported yet");
            else
                throw new ElfFormatException(rel.FileOffset, $"program '{main.Name}': a 64-bit load of a map, global variable or function, got symbol '{sym.Name}' in section '{symSec.Name}'");
        }
    }
}
