using System.Collections;
using SharpBpf.Elf;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// Attaching programs by their section name, as libbpf's auto-attach (<c>bpf_program__attach</c>, a skeleton's
/// <c>attach()</c>): <c>tracepoint/CATEGORY/NAME</c> and <c>tp/...</c> (<see cref="TracepointLink"/>),
/// <c>raw_tp/NAME</c> and <c>raw_tracepoint[.w]/NAME</c> (<see cref="RawTracepointLink"/>), <c>tp_btf/</c>,
/// <c>fentry/</c>, <c>fexit/</c>, <c>fmod_ret/</c>, <c>lsm/</c> (and their sleepable <c>.s</c> forms;
/// <see cref="TracingLink"/>), <c>iter/</c> (<see cref="IterLink"/>). Sections that do not say enough (xdp, tc,
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
    };

    /// <summary>The section table entries (<see cref="ProgramSections.Patterns"/>) whose programs can be
    /// auto-attached.</summary>
    public static IEnumerable<string> SupportedPrefixes => Attachers.Keys;

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
                var link = TryAttach(program, section, out string? reason);
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
    public static BpfLink? TryAttach(BpfProgram program, string sectionName, out string? skipReason)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(sectionName);
        if (sectionName.Length == 0 || !ProgramSections.TryClassify(sectionName, out var info))
        {
            skipReason = sectionName.Length == 0 ? "no section name" : $"section '{sectionName}' is not a known program section";
            return null;
        }
        if (!Attachers.TryGetValue(info.Prefix, out var attacher))
        {
            skipReason = $"section '{sectionName}' does not say where to attach ({info.Type} programs are attached explicitly)";
            return null;
        }
        try
        {
            var link = attacher(program, info.AttachTo, out skipReason);
            if (link is null) skipReason = $"section '{sectionName}': {skipReason}";
            return link;
        }
        catch (Exception e) when (e is BpfException or ArgumentException or IOException or NotSupportedByKernelException)
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
