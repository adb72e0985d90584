using SharpBpf.Asm;
using System.Text.RegularExpressions;
using SharpBpf.Btf;
using SharpBpf.Core;
using SharpBpf.Elf;
using SharpBpf.Externs;
using SharpBpf.Internal;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf;

/// <summary>Options for <see cref="BpfCollection.Load"/>.</summary>
public sealed record class CollectionLoadOptions
{
    /// <summary>The default options.</summary>
    public static CollectionLoadOptions Default { get; } = new();

    /// <summary>Directory in bpffs for maps pinned by name (<see cref="PinningType.ByName"/>); default
    /// <c>/sys/fs/bpf</c>, as libbpf.</summary>
    public string PinPath { get; init; } = Pinning.BpfFs.DefaultPath;

    /// <summary>Options for each program load (verifier log level and size).</summary>
    public ProgramLoadOptions Programs { get; init; } = ProgramLoadOptions.Default;

    /// <summary>Existing maps to use instead of creating the spec's maps of the same name (the collection takes
    /// a duplicate fd; the caller keeps its own map).</summary>
    public IReadOnlyDictionary<string, BpfMap>? MapReplacements { get; init; }

    /// <summary>The target BTF for CO-RE relocations; null (the default) uses the running kernel's BTF
    /// (/sys/kernel/btf/vmlinux, read once per process). Set it to relocate for another kernel.</summary>
    public BtfSpec? KernelTypes { get; init; }
}

/// <summary>
/// Loading a collection failed at one map or program. Everything created before was disposed (and pins it made
/// removed). <see cref="Exception.InnerException"/> says why (<see cref="BpfVerifierException"/> with the verifier
/// log, <see cref="BpfException"/> with the errno ...).
/// </summary>
public sealed class CollectionLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CollectionLoadException(string kind, string name, string message, Exception? inner = null)
        : base($"{kind} '{name}': {message}", inner)
    {
        Kind = kind;
        Name = name;
    }

    /// <summary>"map", "program", "extern" or "collection".</summary>
    public string Kind { get; }

    /// <summary>The name of the failing map or program (its key in the spec).</summary>
    public string Name { get; }
}

/// <summary>
/// The live maps and programs of a loaded <see cref="CollectionSpec"/>. Disposing it disposes all of them (pins
/// stay: that is what pins are for).
/// </summary>
public sealed class BpfCollection : IDisposable
{
    private readonly Dictionary<string, BpfMap> _maps;
    private readonly Dictionary<string, BpfProgram> _programs;
    private readonly BtfHandle? _btf;

    private readonly Dictionary<string, string> _sections;

    private BpfCollection(Dictionary<string, BpfMap> maps, Dictionary<string, BpfProgram> programs, Dictionary<string, string> sections,
        BtfHandle? btf, List<string> warnings, Dictionary<string, IReadOnlyList<CoreRelocationResult>> coreRelocations)
    {
        _maps = maps;
        _programs = programs;
        _sections = sections;
        _btf = btf;
        Warnings = warnings;
        CoreRelocations = coreRelocations;
    }

    /// <summary>The CO-RE relocations applied to each loaded program (programs without any are absent).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<CoreRelocationResult>> CoreRelocations { get; }

    /// <summary>The object's BTF as loaded into the kernel (after DATASEC fix-ups and sanitizing), or null when the
    /// object has none or the kernel refused it (see <see cref="Warnings"/>).</summary>
    public BtfHandle? Btf => _btf;

    /// <summary>What was left out on the way, as libbpf warns: BTF the kernel refused, func/line info dropped,
    /// maps created without BTF.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The maps by spec name (global data maps by section name: ".rodata", ".bss" ...).</summary>
    public IReadOnlyDictionary<string, BpfMap> Maps => _maps;

    /// <summary>The loaded programs by name (programs with <see cref="ProgramSpec.AutoLoad"/> off are absent).</summary>
    public IReadOnlyDictionary<string, BpfProgram> Programs => _programs;

    /// <summary>The ELF section each loaded program came from ("tracepoint/sched/sched_process_exec" ...), by
    /// program name; empty for programs of a spec built in code.</summary>
    public IReadOnlyDictionary<string, string> SectionNames => _sections;

    /// <summary>
    /// Attaches every program whose section name says where (as a libbpf skeleton's <c>attach()</c>): see
    /// <see cref="Links.AutoAttach"/>. Programs whose section lacks the information (xdp, tc, socket filters, a bare
    /// "tracepoint" ...) stay unattached and are listed in <see cref="Links.AttachedLinks.Skipped"/>.
    /// </summary>
    /// <returns>The links, by program name; dispose to detach them all.</returns>
    /// <exception cref="Links.AutoAttachException">A program failed to attach (named in the exception); the links
    /// made before were disposed.</exception>
    public Links.AttachedLinks AttachAll() => Links.AutoAttach.AttachAll(this);

    /// <summary>Reads <paramref name="path"/> with <see cref="ElfReader"/> and loads it.</summary>
    public static BpfCollection LoadFile(string path, CollectionLoadOptions? options = null) => Load(ElfReader.ReadFile(path), options);

    /// <summary>
    /// Creates the maps (or reuses maps pinned by name under <see cref="CollectionLoadOptions.PinPath"/>, or the
    /// given replacements), writes their initial contents (global data) and freezes .rodata, loads every program
    /// with <see cref="ProgramSpec.AutoLoad"/> on with its map references patched, fills program arrays and
    /// map-in-maps from their <c>values</c>, and pins new pinned-by-name maps. The spec is not modified.
    /// </summary>
    /// <exception cref="CollectionLoadException">A map or program failed; everything created was disposed.</exception>
    public static BpfCollection Load(CollectionSpec spec, CollectionLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= CollectionLoadOptions.Default;
        var maps = new Dictionary<string, BpfMap>(StringComparer.Ordinal);
        var programs = new Dictionary<string, BpfProgram>(StringComparer.Ordinal);
        var newPins = new List<string>();
        var created = new HashSet<string>(StringComparer.Ordinal);
        var warnings = new List<string>();
        var core = new CoreContext(options.KernelTypes);
        BtfHandle? btf = null;
        ResolvedExterns? externs = null;
        try
        {
            btf = LoadBtf(spec, warnings);
            externs = ResolveExterns(spec);
            foreach (var (name, prog) in spec.Programs)
            {
                if (!prog.AutoLoad) continue;
                foreach (var r in prog.MapReferences)
                    if (!spec.Maps.ContainsKey(r.MapName))
                        throw new CollectionLoadException("program", name, $"refers to map '{r.MapName}', which is not in the spec");
            }

            var structOps = PrepareStructOps(spec, options);

            // Maps: those holding other maps last, so that their 'values' can refer to the others.
            foreach (var (name, mapSpec) in spec.Maps.OrderBy(kv => kv.Value.Type is MapType.ArrayOfMaps or MapType.HashOfMaps ? 1 : 0))
            {
                var effective = mapSpec;
                if (structOps?.Maps.TryGetValue(name, out var st) == true)
                {
                    // the kernel wants a valid BTF fd next to btf_vmlinux_value_type_id, although it reads no type from it
                    int btfFd = mapSpec.BtfFd > 0 ? mapSpec.BtfFd
                        : btf?.Fd ?? throw new CollectionLoadException("map", name, "a struct_ops map needs the object's BTF loaded, which failed: " + string.Join("; ", warnings));
                    effective = mapSpec with { ValueSize = st.ValueType.Size, BtfVmlinuxValueTypeId = st.ValueType.Id, BtfFd = btfFd };
                }
                var (map, isNew) = CreateOrReuse(name, effective, options, btf, warnings);
                maps[name] = map;
                if (isNew) created.Add(name);
            }
            foreach (var (name, mapSpec) in spec.Maps)
            {
                if (!created.Contains(name)) continue;
                try
                {
                    if (mapSpec.Contents is { } contents)
                        foreach (var e in contents)
                            if (e.ProgramName is null && e.MapName is null) maps[name].Update(e.Key, e.Value);
                    if (name == ExternSpec.KconfigMapName && externs?.Kconfig is { } kconfig) maps[name].Update(new byte[4], kconfig);
                    if (mapSpec.Freeze) maps[name].Freeze();
                }
                catch (Exception e) when (e is BpfException or ArgumentException)
                {
                    throw new CollectionLoadException("map", name, "writing its initial contents failed: " + e.Message, e);
                }
            }

            foreach (var (name, prog) in spec.Programs)
            {
                if (!prog.AutoLoad) continue;
                var load = prog;
                if (prog.Type == ProgramType.StructOps)
                {
                    if (structOps?.Programs.TryGetValue(name, out var target) != true)
                    {
                        warnings.Add($"struct_ops program '{name}' is used by no struct_ops map: not loaded");
                        continue;
                    }
                    load = prog with { AttachBtfId = target.BtfId, ExpectedAttachType = (AttachType)target.Member };
                }
                programs[name] = LoadProgram(name, load, maps, options, spec, btf, warnings, core, externs);
            }

            if (structOps is not null)
                foreach (var (name, resolved) in structOps.Maps)
                {
                    var so = spec.Maps[name].StructOps!;
                    byte[] value;
                    try
                    {
                        value = StructOpsLayout.BuildValue(resolved, name, so, p => programs.TryGetValue(p, out var prog) ? prog.Fd
                            : throw new ArgumentException($"struct_ops map '{name}': its member refers to program '{p}', which is not loaded"));
                    }
                    catch (ArgumentException e)
                    {
                        throw new CollectionLoadException("map", name, e.Message, e);
                    }
                    maps[name] = new StructOpsMap(maps[name], so.TypeName, value);
                }

            // Program arrays and map-in-maps get their initial 'values' once everything exists.
            foreach (var (name, mapSpec) in spec.Maps)
            {
                if (!created.Contains(name) || mapSpec.Contents is not { } contents) continue;
                foreach (var e in contents)
                {
                    int fd;
                    if (e.ProgramName is { } p)
                    {
                        if (!programs.TryGetValue(p, out var target))
                        {
                            if (spec.Programs.TryGetValue(p, out var ps) && !ps.AutoLoad) continue; // turned off: slot stays empty
                            throw new CollectionLoadException("map", name, $"its values refer to program '{p}', which is not in the spec");
                        }
                        fd = target.Fd;
                    }
                    else if (e.MapName is { } m)
                    {
                        if (!maps.TryGetValue(m, out var target))
                            throw new CollectionLoadException("map", name, $"its values refer to map '{m}', which is not in the spec");
                        fd = target.Fd;
                    }
                    else continue;
                    try
                    {
                        maps[name].Update(e.Key, BitConverter.GetBytes(fd));
                    }
                    catch (Exception ex) when (ex is BpfException or ArgumentException)
                    {
                        throw new CollectionLoadException("map", name, $"setting its value for {e.ProgramName ?? e.MapName} failed: {ex.Message}", ex);
                    }
                }
            }

            foreach (var (name, mapSpec) in spec.Maps)
            {
                if (mapSpec.Pinning != PinningType.ByName || !created.Contains(name)) continue;
                string path = PinPathOf(options, mapSpec);
                try
                {
                    maps[name].Pin(path);
                }
                catch (BpfException e)
                {
                    throw new CollectionLoadException("map", name, $"pinning at {path} failed: {e.Message}", e);
                }
                newPins.Add(path);
            }
            var sections = programs.Keys.ToDictionary(n => n, n => spec.Programs[n].SectionName, StringComparer.Ordinal);
            return new BpfCollection(maps, programs, sections, btf, warnings, core.Results);
        }
        catch (Exception e)
        {
            btf?.Dispose();
            foreach (var p in programs.Values) p.Dispose();
            foreach (var m in maps.Values) m.Dispose();
            foreach (var path in newPins)
            {
                try { Pinning.BpfFs.Unpin(path); }
                catch (IOException) { }
            }
            if (e is CollectionLoadException) throw;
            if (e is BpfException or ArgumentException or BtfFormatException or IOException or NotSupportedByKernelException or KeyNotFoundException)
                throw new CollectionLoadException("collection", spec.Name, e.Message, e);
            throw;
        }
        finally
        {
            externs?.Dispose(); // module BTF fds: the loaded programs hold their own references
        }
    }

    private sealed record StructOpsPlan(Dictionary<string, StructOpsLayout.Resolved> Maps, Dictionary<string, (uint BtfId, int Member)> Programs);

    /// <summary>Resolves every struct_ops map's kernel types, and for each struct_ops program the struct it belongs to
    /// (attach_btf_id) and the member it implements (expected_attach_type); null when there are none.</summary>
    private static StructOpsPlan? PrepareStructOps(CollectionSpec spec, CollectionLoadOptions options)
    {
        if (!spec.Maps.Values.Any(m => m.StructOps is not null)) return null;
        var kernel = options.KernelTypes;
        try
        {
            kernel ??= BtfSpec.Kernel;
        }
        catch (Exception e) when (e is NotSupportedByKernelException or IOException or BtfFormatException)
        {
            throw new CollectionLoadException("collection", spec.Name, "struct_ops maps need the kernel's BTF: " + e.Message, e);
        }
        var plan = new StructOpsPlan(new(StringComparer.Ordinal), new(StringComparer.Ordinal));
        foreach (var (name, map) in spec.Maps)
        {
            if (map.StructOps is not { } so) continue;
            try
            {
                if (map.Type != MapType.StructOps) throw new ArgumentException($"map '{name}' has a struct_ops description but is a {map.Type} map");
                var resolved = StructOpsLayout.Resolve(kernel, name, so);
                plan.Maps[name] = resolved;
                foreach (var (member, program) in so.Functions)
                {
                    var target = (resolved.Kernel.Id, StructOpsLayout.MemberIndex(resolved, name, member));
                    if (plan.Programs.TryGetValue(program, out var other) && other != target)
                        throw new ArgumentException($"struct_ops program '{program}' implements two different members ({so.TypeName}.{member} and another)");
                    plan.Programs[program] = target;
                }
            }
            catch (ArgumentException e)
            {
                throw new CollectionLoadException("map", name, e.Message, e);
            }
        }
        return plan;
    }

    private static string PinPathOf(CollectionLoadOptions options, MapSpec spec) => Path.Combine(options.PinPath, spec.Name);

    private static ResolvedExterns? ResolveExterns(CollectionSpec spec)
    {
        if (spec.Externs.Count == 0) return null;
        try
        {
            return ExternResolver.Resolve(spec);
        }
        catch (ExternException e)
        {
            throw new CollectionLoadException("extern", e.ExternName, e.Reason, e);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            throw new CollectionLoadException("collection", spec.Name, "resolving externs failed: " + e.Message, e);
        }
    }

    private static BtfHandle? LoadBtf(CollectionSpec spec, List<string> warnings)
    {
        if (spec.Btf is null) return null;
        try
        {
            var w = BtfWriter.From(spec.Btf);
            w.FixDatasecs(spec.SectionSizes, spec.VariableSymbols);
            w.MakeFunctionsStatic(spec.HiddenFunctions);
            if (spec.Externs.Count > 0)
                w.FixExterns(spec.Externs, spec.Maps.TryGetValue(ExternSpec.KconfigMapName, out var kconfig) ? kconfig.ValueSize : 0);
            w.Sanitize(Features.KernelFeatures.BtfSupport());
            return BtfHandle.Load(w.ToArray());
        }
        catch (Exception e) when (e is BpfException or BtfFormatException or NotSupportedByKernelException)
        {
            // libbpf goes on without BTF too: most programs and maps do not need it.
            warnings.Add($"the object's BTF was not loaded, continuing without it: {e.Message}");
            return null;
        }
    }

    private static (BpfMap Map, bool IsNew) CreateOrReuse(string name, MapSpec spec, CollectionLoadOptions options, BtfHandle? btf, List<string> warnings)
    {
        if (options.MapReplacements is { } replacements && replacements.TryGetValue(name, out var replacement))
        {
            Check(name, spec, replacement, "the replacement map");
            return (BpfMap.FromFd(replacement.Fd), false);
        }
        if (spec.Pinning == PinningType.ByName)
        {
            string path = PinPathOf(options, spec);
            if (File.Exists(path))
            {
                BpfMap pinned;
                try
                {
                    pinned = BpfMap.FromPinned(path);
                }
                catch (Exception e) when (e is BpfException or ArgumentException)
                {
                    throw new CollectionLoadException("map", name, $"opening the pinned map {path} failed: {e.Message}", e);
                }
                try
                {
                    Check(name, spec, pinned, $"the map pinned at {path}");
                }
                catch
                {
                    pinned.Dispose();
                    throw;
                }
                return (pinned, false);
            }
        }
        var create = spec.Copy();
        bool withBtf = btf is not null && create.BtfFd == 0 && (create.BtfKeyTypeId != 0 || create.BtfValueTypeId != 0)
            && !NoBtfMapTypes.Contains(create.Type);
        SetBtf(create, withBtf ? btf!.Fd : 0);
        if (create.InnerMap is { } inner) SetBtf(inner, withBtf && inner.BtfFd == 0 ? btf!.Fd : 0);
        if (create.Type == MapType.PerfEventArray && create.MaxEntries == 0)
            create.MaxEntries = (uint)Platform.PossibleCpus; // libbpf: one slot per possible CPU
        try
        {
            return (BpfMap.Create(create), true);
        }
        catch (Exception e) when (withBtf && e is BpfException)
        {
            // As libbpf: a map the kernel refuses with its BTF description is retried without one.
            warnings.Add($"map '{name}' was created without BTF: {e.Message}");
            ClearBtf(create);
            if (create.InnerMap is { } i && i.BtfFd == btf!.Fd) ClearBtf(i);
        }
        catch (Exception e) when (e is BpfException or ArgumentException)
        {
            throw new CollectionLoadException("map", name, e.Message, e);
        }
        try
        {
            return (BpfMap.Create(create), true);
        }
        catch (Exception e) when (e is BpfException or ArgumentException)
        {
            throw new CollectionLoadException("map", name, e.Message, e);
        }
    }

    // The map types libbpf never describes with BTF (the kernel refuses or ignores BTF for them).
    private static readonly HashSet<MapType> NoBtfMapTypes =
    [
        MapType.PerfEventArray, MapType.CgroupArray, MapType.StackTrace, MapType.ArrayOfMaps, MapType.HashOfMaps,
        MapType.DevMap, MapType.DevMapHash, MapType.CpuMap, MapType.XskMap, MapType.SockMap, MapType.SockHash,
        MapType.Queue, MapType.Stack, MapType.RingBuf,
    ];

    private static void ClearBtf(MapSpec spec)
    {
        spec.BtfFd = 0;
        spec.BtfKeyTypeId = 0;
        spec.BtfValueTypeId = 0;
    }

    // Key/value type ids without a BTF fd would make the kernel look at fd 0: clear them together.
    private static void SetBtf(MapSpec spec, int fd)
    {
        if (fd > 0)
        {
            spec.BtfFd = fd;
            return;
        }
        if (spec.BtfFd > 0) return; // the caller's own BTF
        spec.BtfKeyTypeId = 0;
        spec.BtfValueTypeId = 0;
    }

    private static void Check(string name, MapSpec spec, BpfMap map, string what)
    {
        uint maxEntries = spec.Type == MapType.PerfEventArray && spec.MaxEntries == 0 ? map.MaxEntries : spec.MaxEntries;
        if (map.Type != spec.Type || map.KeySize != spec.KeySize || map.ValueSize != spec.ValueSize || map.MaxEntries != maxEntries)
            throw new CollectionLoadException("map", name,
                $"{what} ({map.Type}, key {map.KeySize}, value {map.ValueSize}, max_entries {map.MaxEntries}) does not match the spec ({spec})");
    }

    private static BpfProgram LoadProgram(string name, ProgramSpec spec, Dictionary<string, BpfMap> maps, CollectionLoadOptions options,
        CollectionSpec collection, BtfHandle? btf, List<string> warnings, CoreContext core, ResolvedExterns? externs)
    {
        var load = spec with { Instructions = (Instruction[])spec.Instructions.Clone() };
        var relocations = core.Apply(name, spec, collection, load.Instructions);
        if (btf is not null && load.BtfFd == 0 && collection.BtfExt is { } ext && spec.Functions.Count > 0)
        {
            var placements = spec.Functions.Select(f => new BtfFunctionPlacement(f.SectionName, f.SectionOffset, f.Start, f.Length)).ToArray();
            if (placements.All(p => ext.Sections.ContainsKey(p.SectionName)) && placements.Sum(p => p.Length) == spec.Instructions.Length)
            {
                var btfInfo = ext.ForProgram(placements);
                load.BtfFd = btf.Fd;
                load.FuncInfos = btfInfo.FuncInfos;
                load.LineInfos = btfInfo.LineInfos;
                if (btfInfo.Warning is not null) warnings.Add($"program '{name}': {btfInfo.Warning}");
            }
            else warnings.Add($"program '{name}': no .BTF.ext info for all its functions (or its instructions were replaced): loaded without func/line info");
        }
        else if (btf is not null && load.BtfFd == 0) load.BtfFd = btf.Fd;
        var insns = load.Instructions;
        foreach (var r in spec.MapReferences)
        {
            if ((uint)r.Instruction + 1 >= (uint)insns.Length || insns[r.Instruction].OpCode != 0x18)
                throw new CollectionLoadException("program", name, $"map reference to '{r.MapName}' at instruction {r.Instruction}, which is not a 64-bit load");
            var old = insns[r.Instruction];
            insns[r.Instruction] = new Instruction(old.OpCode, old.Dst, (byte)r.Kind, old.Offset, maps[r.MapName].Fd);
            if (r.Kind == MapReferenceKind.Value)
            {
                var next = insns[r.Instruction + 1];
                insns[r.Instruction + 1] = new Instruction(next.OpCode, next.Dst, next.Src, next.Offset, (int)r.Offset);
            }
        }
        if (spec.ExternReferences.Count > 0)
        {
            if (externs is null) throw new CollectionLoadException("program", name, "refers to externs, but the spec has none");
            var fdArray = ExternResolver.Patch(insns, spec.ExternReferences, collection, externs, name);
            if (fdArray.Length > 0)
            {
                if (load.FdArray.Length > 0)
                    throw new CollectionLoadException("program", name, "calls module kfuncs and has its own fd_array; only one of them is supported");
                load.FdArray = fdArray;
            }
        }
        BtfHandle? moduleBtf = null;
        if (ProgramSections.TryClassify(spec.SectionName, out var info) && info.TargetKind != AttachTargetKind.None && spec.AttachBtfId == 0)
        {
            (load.AttachBtfId, moduleBtf) = ResolveAttachTarget(name, spec, info.TargetKind);
            if (moduleBtf is not null) load.AttachBtfObjFd = moduleBtf.Fd;
        }
        try
        {
            return BpfProgram.Load(load, options.Programs);
        }
        catch (BpfVerifierException e) when (PoisonedRelocationHit(e, relocations) is { } hit)
        {
            var reached = new CoreRelocationException(name, hit.Kind, hit.TypePath, hit.AccessString,
                $"instruction {hit.Instruction} was poisoned ({hit.PoisonReason}) and the verifier reached it", hit, e);
            throw new CollectionLoadException("program", name, reached.Message, reached);
        }
        catch (Exception e) when (e is BpfException or ArgumentException)
        {
            throw new CollectionLoadException("program", name, e.Message, e);
        }
        finally
        {
            moduleBtf?.Dispose(); // the kernel holds its own reference once the program is loaded
        }
    }

    // "12: (85) call unknown#195896080": the verifier reached a poisoned instruction.
    private static readonly Regex PoisonLine = new(@"^\s*(\d+): \(85\) call unknown#" + CoreRelocator.PoisonHelperId, RegexOptions.CultureInvariant);

    private static CoreRelocationResult? PoisonedRelocationHit(BpfVerifierException e, IReadOnlyList<CoreRelocationResult> relocations)
    {
        if (!relocations.Any(r => r.Poisoned) || !e.Log.Contains("unknown#" + CoreRelocator.PoisonHelperId, StringComparison.Ordinal))
            return null;
        for (int i = e.Lines.Count - 1; i >= 0; i--)
        {
            var m = PoisonLine.Match(e.Lines[i]);
            if (!m.Success || !int.TryParse(m.Groups[1].ValueSpan, out int at)) continue;
            foreach (var r in relocations)
                if (r.Poisoned && (r.Instruction == at || r.Instruction + 1 == at)) return r;
        }
        return relocations.First(r => r.Poisoned); // a log without instruction lines: name the first poisoned one
    }

    /// <summary>The CO-RE state of one collection load: the target BTF (resolved on first need), the candidate
    /// cache shared by all programs, and the results.</summary>
    private sealed class CoreContext(BtfSpec? target)
    {
        private BtfSpec? _target = target;
        private CoreRelocator.CandidateCache? _cache;

        public Dictionary<string, IReadOnlyList<CoreRelocationResult>> Results { get; } = new(StringComparer.Ordinal);

        public IReadOnlyList<CoreRelocationResult> Apply(string name, ProgramSpec spec, CollectionSpec collection, Instruction[] insns)
        {
            if (collection.BtfExt is not { } ext || collection.Btf is null) return [];
            IReadOnlyList<(int, BtfCoreRelocation)> sites;
            try
            {
                sites = CoreRelocator.RelocationsOf(spec, ext);
            }
            catch (ArgumentException e)
            {
                throw new CollectionLoadException("program", name, "its CO-RE relocations cannot be placed: " + e.Message, e);
            }
            if (sites.Count == 0) return [];
            if (_target is null)
            {
                try
                {
                    _target = BtfSpec.Kernel;
                }
                catch (Exception e) when (e is NotSupportedByKernelException or IOException or BtfFormatException)
                {
                    throw new CollectionLoadException("program", name, $"CO-RE relocations need the kernel's BTF (or CollectionLoadOptions.KernelTypes): {e.Message}", e);
                }
            }
            _cache ??= new CoreRelocator.CandidateCache(_target);
            try
            {
                var results = CoreRelocator.Apply(name, spec, collection, _target, insns, _cache);
                Results[name] = results;
                return results;
            }
            catch (CoreRelocationException e)
            {
                throw new CollectionLoadException("program", name, e.Message, e);
            }
        }
    }

    /// <summary>The attach target's BTF id in vmlinux or, failing that, in a module's BTF (then with that module's
    /// BTF object, whose fd goes into <c>attach_btf_obj_fd</c>).</summary>
    private static (uint Id, BtfHandle? Module) ResolveAttachTarget(string name, ProgramSpec spec, AttachTargetKind kind)
    {
        if (string.IsNullOrEmpty(spec.AttachTo))
            throw new CollectionLoadException("program", name, $"section '{spec.SectionName}' needs an attach target (set ProgramSpec.AttachTo)");
        if (kind == AttachTargetKind.ProgramFunction)
            throw new CollectionLoadException("program", name, "freplace programs need a target program, which collection loading does not support yet");
        var (typeName, btfKind) = kind switch
        {
            AttachTargetKind.BtfTracepoint => ("btf_trace_" + spec.AttachTo, BtfKind.Typedef),
            AttachTargetKind.LsmHook => ("bpf_lsm_" + spec.AttachTo, BtfKind.Func),
            AttachTargetKind.Iterator => ("bpf_iter_" + spec.AttachTo, BtfKind.Func),
            _ => (spec.AttachTo, BtfKind.Func),
        };
        BtfSpec kernel;
        try
        {
            kernel = BtfSpec.Kernel;
        }
        catch (Exception e) when (e is NotSupportedByKernelException or IOException or BtfFormatException)
        {
            throw new CollectionLoadException("program", name, $"resolving attach target '{spec.AttachTo}' needs kernel BTF: {e.Message}", e);
        }
        if (kernel.TryTypeByName(typeName, btfKind, out var target)) return (target.Id, null);
        string module;
        uint moduleTypeId;
        try
        {
            if (!ModuleBtf.TryFind(kernel, typeName, btfKind, out module, out moduleTypeId))
                throw new CollectionLoadException("program", name, $"neither the kernel's nor a module's BTF has a {btfKind} '{typeName}' to attach to (target '{spec.AttachTo}')");
        }
        catch (BtfFormatException e)
        {
            throw new CollectionLoadException("program", name, $"resolving attach target '{spec.AttachTo}' in module BTF: {e.Message}", e);
        }
        return (moduleTypeId, OpenModuleBtf(name, module));
    }

    /// <summary>The loaded BTF object of kernel module <paramref name="module"/> (by walking the BTF ids).</summary>
    private static BtfHandle OpenModuleBtf(string program, string module)
    {
        foreach (uint id in BtfHandle.EnumerateIds())
        {
            BtfHandle handle;
            try
            {
                handle = BtfHandle.FromId(id);
            }
            catch (BpfException e) when (e.Errno == Interop.Errno.ENOENT)
            {
                continue; // freed meanwhile
            }
            var info = handle.GetInfo();
            if (info.IsKernel && info.Name == module) return handle;
            handle.Dispose();
        }
        throw new CollectionLoadException("program", program, $"the attach target is in module {module}, whose BTF object was not found (module unloaded?)");
    }

    /// <summary>Disposes every map and program of the collection.</summary>
    public void Dispose()
    {
        foreach (var p in _programs.Values) p.Dispose();
        foreach (var m in _maps.Values) m.Dispose();
        _btf?.Dispose();
    }
}
