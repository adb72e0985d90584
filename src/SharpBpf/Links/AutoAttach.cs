using System.Collections;
using SharpBpf.Elf;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// Attaching programs by their section name, as libbpf's auto-attach (<c>bpf_program__attach</c>, a skeleton's
/// <c>attach()</c>): <c>tracepoint/CATEGORY/NAME</c> and <c>tp/...</c> (<see cref="TracepointLink"/>),
/// <c>raw_tp/NAME</c> and <c>raw_tracepoint[.w]/NAME</c> (<see cref="RawTracepointLink"/>), <c>tp_btf/</c>,
/// <c>fentry/</c>, <c>fexit/</c>, <c>fmod_ret/</c>, <c>lsm/</c> (and their sleepable <c>.s</c> forms;
/// <see cref="TracingLink"/>), <c>iter/</c> (<see cref="IterLink"/>), <c>usdt/BINARY:PROVIDER:NAME</c> (<see cref="UsdtLink"/>, through the collection's spec map). Sections that do not say enough (xdp, tc,
/// socket filters, cgroup programs, <c>lsm_cgroup</c>, a bare <c>tracepoint</c>, <c>perf_event</c> ...) are skipped,
/// as libbpf skips them.
/// </summary>
public static class AutoAttach
{
    /// <summary>Attaches one program from what its section says; returns null (with a reason) when the section
    /// does not say enough to attach it.</summary>
    /// <param name="program">The loaded program.</param>
    /// <param name="target">The section's target part ("sched/sched_switch" in "tp/sched/sched_switch"), or null.</param>
    /// <param name="skipReason">Why the program was not attached, when the result is null.</param>
    private delegate BpfLink? Attacher(BpfProgram program, string? target, out string? skipReason);

    /// <summary>The attachers by section table entry (<see cref="ProgramSectionInfo.Prefix"/>). Extension point:
    /// a new link kind adds its section prefixes here (kprobe/kretprobe/ksyscall/uprobe/usdt/perf_event attachers
    /// come with their link classes).</summary>
    private static readonly Dictionary<string, Attacher> Attachers = new(StringComparer.Ordinal)
    {
        ["tracepoint+"] = AttachTracepoint,
        ["tp+"] = AttachTracepoint,
        ["raw_tracepoint+"] = AttachRawTracepoint,
        ["raw_tp+"] = AttachRawTracepoint,
        ["raw_tracepoint.w+"] = AttachRawTracepoint,
        ["raw_tp.w+"] = AttachRawTracepoint,
        ["tp_btf+"] = AttachTracing,
        ["fentry+"] = AttachTracing,
        ["fmod_ret+"] = AttachTracing,
        ["fexit+"] = AttachTracing,
        ["fentry.s+"] = AttachTracing,
        ["fmod_ret.s+"] = AttachTracing,
        ["fexit.s+"] = AttachTracing,
        ["lsm+"] = AttachTracing,
        ["lsm.s+"] = AttachTracing,
        ["iter+"] = AttachIterator,
        ["iter.s+"] = AttachIterator,
        ["kprobe+"] = (p, t, out r) => AttachKprobe(p, t, isReturn: false, out r),
        ["kretprobe+"] = (p, t, out r) => AttachKprobe(p, t, isReturn: true, out r),
        ["ksyscall+"] = (p, t, out r) => AttachSyscall(p, t, isReturn: false, out r),
        ["kretsyscall+"] = (p, t, out r) => AttachSyscall(p, t, isReturn: true, out r),
        ["uprobe+"] = (p, t, out r) => AttachUprobe(p, t, isReturn: false, out r),
        ["uprobe.s+"] = (p, t, out r) => AttachUprobe(p, t, isReturn: false, out r),
        ["uretprobe+"] = (p, t, out r) => AttachUprobe(p, t, isReturn: true, out r),
        ["uretprobe.s+"] = (p, t, out r) => AttachUprobe(p, t, isReturn: true, out r),
        ["uprobe.multi+"] = (p, t, out r) => AttachUprobeMulti(p, t, isReturn: false, out r),
        ["uprobe.multi.s+"] = (p, t, out r) => AttachUprobeMulti(p, t, isReturn: false, out r),
        ["uretprobe.multi+"] = (p, t, out r) => AttachUprobeMulti(p, t, isReturn: true, out r),
        ["uretprobe.multi.s+"] = (p, t, out r) => AttachUprobeMulti(p, t, isReturn: true, out r),
    };

    /// <summary>Attachers that also need the program's collection (its maps).</summary>
    private delegate BpfLink? CollectionAttacher(BpfCollection collection, string programName, BpfProgram program, string? target, out string? skipReason);

    /// <summary>The attachers needing the collection, by section table entry: USDT programs reach usdt.bpf.h's
    /// spec map through it.</summary>
    private static readonly Dictionary<string, CollectionAttacher> CollectionAttachers = new(StringComparer.Ordinal)
    {
        ["usdt+"] = AttachUsdt,
        ["usdt.s+"] = AttachUsdt,
    };

    /// <summary>The section table entries (<see cref="ProgramSections.Patterns"/>) whose programs can be
    /// auto-attached.</summary>
    public static IEnumerable<string> SupportedPrefixes => Attachers.Keys.Concat(CollectionAttachers.Keys);

    /// <summary>Attaches every program of <paramref name="collection"/> whose section says where, in program name
    /// order. On a failure the links already made are disposed and <see cref="AutoAttachException"/> names the
    /// program.</summary>
    public static AttachedLinks AttachAll(BpfCollection collection)
    {
        ArgumentNullException.ThrowIfNull(collection);
        var links = new List<KeyValuePair<string, BpfLink>>();
        var skipped = new List<KeyValuePair<string, string>>();
        try
        {
            foreach (var (name, program) in collection.Programs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                string section = collection.SectionNames.TryGetValue(name, out var s) ? s : "";
                var link = TryAttach(program, section, (collection, name), out string? reason);
                if (link is null) skipped.Add(new(name, reason ?? "not attachable from its section name"));
                else links.Add(new(name, link));
            }
            return new AttachedLinks(links, skipped);
        }
        catch
        {
            foreach (var (_, l) in links) l.Dispose();
            throw;
        }
    }

    /// <summary>Attaches <paramref name="program"/> from its section name <paramref name="sectionName"/>.</summary>
    /// <returns>The link, or null when the section does not say enough (<paramref name="skipReason"/> says why).</returns>
    /// <exception cref="AutoAttachException">Attaching failed.</exception>
    public static BpfLink? TryAttach(BpfProgram program, string sectionName, out string? skipReason) =>
        TryAttach(program, sectionName, null, out skipReason);

    /// <summary>Attaches program <paramref name="programName"/> of <paramref name="collection"/> from its section
    /// name (sections like <c>usdt/BINARY:PROVIDER:NAME</c> need the collection's maps).</summary>
    /// <returns>The link, or null when the section does not say enough (<paramref name="skipReason"/> says why).</returns>
    /// <exception cref="KeyNotFoundException">No such program.</exception>
    /// <exception cref="AutoAttachException">Attaching failed.</exception>
    public static BpfLink? TryAttach(BpfCollection collection, string programName, out string? skipReason)
    {
        ArgumentNullException.ThrowIfNull(collection);
        if (!collection.Programs.TryGetValue(programName, out var program))
            throw new KeyNotFoundException($"the collection has no program '{programName}'");
        string section = collection.SectionNames.TryGetValue(programName, out var s) ? s : "";
        return TryAttach(program, section, (collection, programName), out skipReason);
    }

    private static BpfLink? TryAttach(BpfProgram program, string sectionName, (BpfCollection Collection, string Name)? owner, out string? skipReason)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(sectionName);
        if (sectionName.Length == 0 || !ProgramSections.TryClassify(sectionName, out var info))
        {
            skipReason = sectionName.Length == 0 ? "no section name" : $"section '{sectionName}' is not a known program section";
            return null;
        }
        CollectionAttacher? withCollection = null;
        if (!Attachers.TryGetValue(info.Prefix, out var attacher) && !CollectionAttachers.TryGetValue(info.Prefix, out withCollection))
        {
            skipReason = $"section '{sectionName}' does not say where to attach ({info.Type} programs are attached explicitly)";
            return null;
        }
        try
        {
            BpfLink? link;
            if (attacher is not null) link = attacher(program, info.AttachTo, out skipReason);
            else if (owner is (BpfCollection c, string n)) link = withCollection!(c, n, program, info.AttachTo, out skipReason);
            else
            {
                link = null;
                skipReason = "needs the program's collection (AutoAttach.TryAttach(collection, programName) or AttachAll)";
            }
            if (link is null) skipReason = $"section '{sectionName}': {skipReason}";
            return link;
        }
        catch (Exception e) when (e is BpfException or ArgumentException or IOException or NotSupportedByKernelException
                                      or Symbols.SymbolResolutionException or Symbols.BinaryFormatException
                                      or Symbols.UsdtArgumentException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AutoAttachException(program.Name, sectionName, e);
        }
    }

    private static BpfLink? AttachTracepoint(BpfProgram program, string? target, out string? skipReason)
    {
        int slash = target?.IndexOf('/') ?? -1;
        if (target is null || slash <= 0 || slash == target.Length - 1)
        {
            skipReason = "no CATEGORY/NAME tracepoint in the section name";
            return null;
        }
        skipReason = null;
        return TracepointLink.Attach(program, target[..slash], target[(slash + 1)..]);
    }

    private static BpfLink? AttachRawTracepoint(BpfProgram program, string? target, out string? skipReason)
    {
        if (target is null)
        {
            skipReason = "no tracepoint name in the section name";
            return null;
        }
        skipReason = null;
        return RawTracepointLink.Attach(program, target);
    }

    private static BpfLink? AttachTracing(BpfProgram program, string? target, out string? skipReason)
    {
        skipReason = null;
        return TracingLink.Attach(program);
    }

    private static BpfLink? AttachIterator(BpfProgram program, string? target, out string? skipReason)
    {
        if (target is "bpf_map_elem" or "bpf_sk_storage_map" or "sockmap")
        {
            skipReason = $"the {target} iterator needs a map (IterLink.Attach with IterOptions.Map)";
            return null;
        }
        skipReason = null;
        return IterLink.Attach(program);
    }

    /// <summary><c>FUNC[+OFFSET]</c> (decimal or 0x hex offset).</summary>
    private static bool TrySplitOffset(string target, out string name, out ulong offset)
    {
        int plus = target.LastIndexOf('+');
        offset = 0;
        name = plus < 0 ? target : target[..plus];
        if (plus < 0) return name.Length > 0;
        string off = target[(plus + 1)..];
        bool ok = off.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(off.AsSpan(2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out offset)
            : ulong.TryParse(off, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset);
        return ok && name.Length > 0;
    }

    private static BpfLink? AttachKprobe(BpfProgram program, string? target, bool isReturn, out string? skipReason)
    {
        if (target is null || !TrySplitOffset(target, out string function, out ulong offset))
        {
            skipReason = "no FUNCTION[+OFFSET] in the section name";
            return null;
        }
        skipReason = null;
        return KprobeLink.Attach(program, function, new KprobeOptions { Return = isReturn, Offset = offset });
    }

    private static BpfLink? AttachSyscall(BpfProgram program, string? target, bool isReturn, out string? skipReason)
    {
        if (string.IsNullOrEmpty(target))
        {
            skipReason = "no syscall name in the section name";
            return null;
        }
        skipReason = null;
        return KprobeLink.AttachSyscall(program, target, new KprobeOptions { Return = isReturn });
    }

    /// <summary><c>BINARY:FUNCTION[+OFFSET]</c> as libbpf reads it: the binary is everything before the first ':'.</summary>
    private static bool TrySplitBinary(string? target, out string binary, out string rest)
    {
        int colon = target?.IndexOf(':') ?? -1;
        binary = colon > 0 ? target![..colon] : "";
        rest = colon > 0 ? target![(colon + 1)..] : "";
        return colon > 0 && rest.Length > 0;
    }

    private static BpfLink? AttachUprobe(BpfProgram program, string? target, bool isReturn, out string? skipReason)
    {
        if (!TrySplitBinary(target, out string binary, out string rest) || !TrySplitOffset(rest, out string function, out ulong offset))
        {
            skipReason = "no BINARY:FUNCTION[+OFFSET] in the section name (attach it with UprobeLink.Attach)";
            return null;
        }
        skipReason = null;
        return UprobeLink.Attach(program, binary, function, new UprobeOptions { Return = isReturn, Offset = offset });
    }

    /// <summary><c>BINARY:PROVIDER:NAME</c> as libbpf reads it (the binary may not contain ':').</summary>
    private static BpfLink? AttachUsdt(BpfCollection collection, string programName, BpfProgram program, string? target, out string? skipReason)
    {
        var parts = target?.Split(':') ?? [];
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            skipReason = "no BINARY:PROVIDER:NAME in the section name (attach it with UsdtLink.Attach)";
            return null;
        }
        skipReason = null;
        return UsdtLink.Attach(program, UsdtLink.SpecMapOf(collection, programName), parts[0], parts[1], parts[2]);
    }

    private static BpfLink? AttachUprobeMulti(BpfProgram program, string? target, bool isReturn, out string? skipReason)
    {
        if (!TrySplitBinary(target, out string binary, out string pattern))
        {
            skipReason = "no BINARY:PATTERN in the section name (attach it with UprobeMultiLink.Attach)";
            return null;
        }
        skipReason = null;
        string path = Symbols.BinaryLocator.Resolve(binary);
        var table = Symbols.ElfSymbolTable.Read(path);
        var glob = new System.Text.RegularExpressions.Regex(
            "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        var names = table.Symbols.Where(s => s.Kind == Symbols.SymbolKind.Function && glob.IsMatch(s.Name)).Select(s => s.Name).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
            throw new ArgumentException($"no function of {path} matches '{pattern}'");
        return UprobeMultiLink.Attach(program, path, names, isReturn: isReturn);
    }
}

/// <summary>The links made by <see cref="AutoAttach.AttachAll"/>, by program name; disposing detaches them all.</summary>
public sealed class AttachedLinks : IReadOnlyDictionary<string, BpfLink>, IDisposable
{
    private readonly List<KeyValuePair<string, BpfLink>> _links;
    private readonly Dictionary<string, BpfLink> _byName;

    internal AttachedLinks(List<KeyValuePair<string, BpfLink>> links, List<KeyValuePair<string, string>> skipped)
    {
        _links = links;
        _byName = new Dictionary<string, BpfLink>(links, StringComparer.Ordinal);
        Skipped = skipped;
    }

    /// <summary>Programs left unattached, with the reason (their section does not say where).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Skipped { get; }

    /// <inheritdoc/>
    public BpfLink this[string key] => _byName[key];

    /// <inheritdoc/>
    public IEnumerable<string> Keys => _links.Select(kv => kv.Key);

    /// <inheritdoc/>
    public IEnumerable<BpfLink> Values => _links.Select(kv => kv.Value);

    /// <inheritdoc/>
    public int Count => _links.Count;

    /// <inheritdoc/>
    public bool ContainsKey(string key) => _byName.ContainsKey(key);

    /// <inheritdoc/>
    public bool TryGetValue(string key, out BpfLink value) => _byName.TryGetValue(key, out value!);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, BpfLink>> GetEnumerator() => _links.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Detaches every link (in reverse order of attaching).</summary>
    public void Dispose()
    {
        for (int i = _links.Count - 1; i >= 0; i--) _links[i].Value.Dispose();
    }
}

/// <summary>Auto-attaching a program failed; <see cref="Exception.InnerException"/> says why.</summary>
public sealed class AutoAttachException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AutoAttachException(string programName, string sectionName, Exception inner)
        : base($"attaching program '{programName}' (section '{sectionName}') failed: {inner.Message}", inner)
    {
        ProgramName = programName;
        SectionName = sectionName;
    }

    /// <summary>The program that failed.</summary>
    public string ProgramName { get; }

    /// <summary>Its section name.</summary>
    public string SectionName { get; }
}