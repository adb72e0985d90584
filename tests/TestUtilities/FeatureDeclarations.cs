using System.IO.Compression;

namespace SharpBpf.TestUtilities;

/// <summary>A kernel feature the tests depend on: the first kernel release with it, the config symbols it needs and
/// any further condition of the running machine.</summary>
/// <param name="Name">The feature: an attach kind of <c>KernelFeatures.Attach</c> or a behaviour tests assert.</param>
/// <param name="MinKernel">The first kernel (major.minor) with the feature.</param>
/// <param name="Config">Config symbols that must be <c>=y</c> or <c>=m</c>.</param>
/// <param name="Condition">A further check of the kernel or machine: the reason the feature is absent, or null.</param>
public sealed record FeatureDeclaration(string Name, Version MinKernel, string[] Config, Func<KernelFacts, string?>? Condition = null)
{
    /// <summary>Why the running kernel cannot have this feature, or null when its version, config and condition hold
    /// (then the feature must work: a test that finds it missing fails).</summary>
    public string? Missing(KernelFacts kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Version < MinKernel) return $"needs Linux {MinKernel}, running {kernel.Release}";
        var unset = Config.Where(c => !kernel.IsSet(c)).ToList();
        if (unset.Count > 0) return $"kernel config lacks {string.Join(", ", unset)}";
        return Condition?.Invoke(kernel);
    }
}

/// <summary>
/// The declarations the kernel matrix (eng/vmtest) judges against. With SHARPBPF_KERNEL_PROFILE set (the guest sets
/// "matrix"), <see cref="KnownAbsent.Features"/> is computed from them: a feature is known absent only when the running
/// kernel's version, config or machine rules it out, so where all hold, "not supported" is a failure. Without the
/// variable the hand-written list for the project's own machines stays authoritative.
/// </summary>
public static class FeatureDeclarations
{
    private static readonly string[] None = [];

    private static Version V(int major, int minor) => new(major, minor);

    /// <summary>Every declaration, attach kinds first, then behaviours the tests check.</summary>
    public static readonly IReadOnlyList<FeatureDeclaration> All =
    [
        new("kprobe-attach", V(4, 17), ["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"]),
        new("kprobe-multi-attach", V(5, 18), ["CONFIG_KPROBES", "CONFIG_FPROBE"]),
        new("uprobe-attach", V(4, 17), ["CONFIG_UPROBE_EVENTS"]),
        new("uprobe-multi-attach", V(6, 6), ["CONFIG_UPROBES"]),
        new("tracepoint-attach", V(4, 7), ["CONFIG_BPF_EVENTS"]),
        new("raw-tracepoint", V(4, 17), ["CONFIG_BPF_EVENTS"]),
        new("perf-event-link", V(5, 15), ["CONFIG_BPF_EVENTS"]),
        new("hardware-perf-events", V(4, 9), ["CONFIG_PERF_EVENTS"],
            _ => Directory.Exists("/sys/bus/event_source/devices/cpu") ? null : "no CPU PMU (virtual machine without perf passthrough)"),
        new("fentry-load", V(5, 5), ["CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"]),
        new("fexit-load", V(5, 5), ["CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"]),
        // The probe's target, bpf_modify_return_test, is fmod_ret-able through error injection or, since 6.3, its
        // fmodret id set.
        new("fmod_ret-load", V(5, 7), ["CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"],
            k => k.Version >= V(6, 3) || k.IsSet("CONFIG_FUNCTION_ERROR_INJECTION") ? null : "before 6.3 needs CONFIG_FUNCTION_ERROR_INJECTION"),
        new("lsm-load", V(5, 7), ["CONFIG_DEBUG_INFO_BTF", "CONFIG_BPF_LSM"], BpfLsmActive),
        // Known probe bug, kept visible: the Ext probe replaces its target's main program, which 6.12 refuses
        // ("Cannot replace static functions"); 6.1 accepts it. The probe needs a global subprogram target.
        new("ext-load", V(5, 6), ["CONFIG_DEBUG_INFO_BTF"],
            k => k.Version >= V(6, 12) ? "SharpBpf's Ext probe targets a main program, which this kernel refuses to replace (probe bug, docs/reliability.md)" : null),
        new("iter-load", V(5, 8), ["CONFIG_DEBUG_INFO_BTF"]),
        new("iter-map-elem-load", V(5, 9), ["CONFIG_DEBUG_INFO_BTF"]),
        new("xdp-generic", V(4, 12), None),
        new("tcx", V(6, 6), ["CONFIG_NET_XGRESS"]),
        new("cgroup-link", V(5, 7), ["CONFIG_CGROUP_BPF"]),
        new("netfilter-link", V(6, 4), ["CONFIG_NETFILTER_BPF_LINK"]),
        new("sockmap-link", V(6, 10), ["CONFIG_BPF_SYSCALL"]), // BPF_LINK_TYPE_SOCKMAP
        new("struct-ops-link", V(6, 4), ["CONFIG_BPF_JIT"]), // struct_ops maps created with BPF_F_LINK (.struct_ops.link)
        new("module-btf", V(5, 11), ["CONFIG_DEBUG_INFO_BTF_MODULES", "CONFIG_MODULES"],
            _ => Directory.Exists("/sys/kernel/btf") && Directory.GetFiles("/sys/kernel/btf").Length > 1 ? null : "no module is loaded"),
        // Behaviours (not attach kinds) that tests assert.
        new("perf-link-info", V(6, 6), None), // bpf_link_info.perf_event: kind and target of perf_event links
        new("perf-link-info-cookie", V(6, 7), None), // ... and their BPF cookie
        new("raw-tracepoint-cookie", V(6, 10), None), // BPF_RAW_TRACEPOINT_OPEN's cookie (EINVAL before)
        new("raw-tracepoint-cookie-info", V(6, 10), None, // ... reported in bpf_link_info, when the kernel's BTF has the field
            _ => KernelBtfHasMember("bpf_link_info", "raw_tracepoint", "cookie") ? null : "bpf_link_info.raw_tracepoint has no cookie"),
        new("verifier-log-rotating", V(6, 4), None), // a capped verifier log keeps its end (before: its start, ENOSPC)
        new("kfunc-cpumask", V(6, 3), ["CONFIG_DEBUG_INFO_BTF"]), // bpf_cpumask_create (6.3), bpf_rcu_read_lock (6.2): testdata/externs.bpf.c
        // Program and map types newer than the oldest matrix kernel (KernelTest.Has("program-type:X") is true for the rest).
        new("program-type:Netfilter", V(6, 4), ["CONFIG_NETFILTER_BPF_LINK"]),
        new("map-type:CgrpStorage", V(6, 2), ["CONFIG_CGROUPS"]),
        new("map-type:Arena", V(6, 9), ["CONFIG_MMU"]),
    ];

    /// <summary>Names of declared behaviours that are not attach kinds (feature probes cannot check them).</summary>
    public static IEnumerable<string> Behaviours => All.Select(d => d.Name).Where(n => !Features.KernelFeatures.AttachKinds.Contains(n));

    /// <summary>The declaration named <paramref name="name"/>.</summary>
    public static FeatureDeclaration Get(string name) =>
        Find(name) ?? throw new ArgumentException($"no feature declaration named '{name}'", nameof(name));

    /// <summary>The declaration named <paramref name="name"/>, or null.</summary>
    public static FeatureDeclaration? Find(string name) => All.FirstOrDefault(d => d.Name == name);

    /// <summary>The kernel profile from SHARPBPF_KERNEL_PROFILE (null on the project's own machines).</summary>
    public static string? Profile => Environment.GetEnvironmentVariable("SHARPBPF_KERNEL_PROFILE") is { Length: > 0 } p ? p : null;

    /// <summary>Features the running kernel cannot have according to the declarations, with the reason.</summary>
    public static IReadOnlyDictionary<string, string> Absent(KernelFacts kernel)
    {
        var absent = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var d in All)
            if (d.Missing(kernel) is { } why) absent[d.Name] = why;
        return absent;
    }

    private static readonly Lazy<Btf.BtfSpec> KernelBtf = new(Btf.BtfSpec.LoadKernel);

    /// <summary>Whether the running kernel's BTF struct <paramref name="type"/> has the member path
    /// <paramref name="path"/> (members of anonymous structs/unions are searched through).</summary>
    public static bool KernelBtfHasMember(string type, params string[] path)
    {
        var btf = KernelBtf.Value;
        if (!btf.TryTypeByName(type, Btf.BtfKind.Struct, out var t)) return false;
        var current = (Btf.BtfComposite)t;
        foreach (var name in path)
        {
            var member = FindMember(btf, current, name);
            if (member is null) return false;
            if (btf.Resolve(member.Type) is Btf.BtfComposite next) current = next;
            else return name == path[^1];
        }
        return true;
    }

    private static Btf.BtfMember? FindMember(Btf.BtfSpec btf, Btf.BtfComposite type, string name)
    {
        foreach (var m in type.Members)
        {
            if (m.Name == name) return m;
            if (m.Name.Length == 0 && btf.Resolve(m.Type) is Btf.BtfComposite anon && FindMember(btf, anon, name) is { } found) return found;
        }
        return null;
    }

    /// <summary>Whether the BPF LSM is in the active LSM list (securityfs, else lsm= on the command line, else
    /// CONFIG_LSM).</summary>
    private static string? BpfLsmActive(KernelFacts kernel)
    {
        string? list = null;
        if (File.Exists("/sys/kernel/security/lsm")) list = File.ReadAllText("/sys/kernel/security/lsm");
        else if (File.Exists("/proc/cmdline"))
            list = File.ReadAllText("/proc/cmdline").Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .LastOrDefault(a => a.StartsWith("lsm=", StringComparison.Ordinal))?[4..];
        list ??= kernel.ConfigValue("CONFIG_LSM")?.Trim('"');
        if (list is null) return "cannot tell the active LSMs";
        return list.Split(',').Any(l => l.Trim() == "bpf") ? null : $"'bpf' is not in the active LSM list ({list.Trim()})";
    }
}

/// <summary>The running kernel's release, version and config (/proc/config.gz, else /boot/config-RELEASE).</summary>
public sealed class KernelFacts
{
    private readonly Dictionary<string, string> _config;

    /// <summary>Facts from a release string and config text (for tests of the declarations themselves).</summary>
    public KernelFacts(string release, string? configText)
    {
        ArgumentNullException.ThrowIfNull(release);
        Release = release;
        Version = ParseVersion(release);
        _config = new Dictionary<string, string>(StringComparer.Ordinal);
        HasConfig = configText is not null;
        foreach (var line in (configText ?? "").Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (line.StartsWith("CONFIG_", StringComparison.Ordinal) && eq > 0) _config[line[..eq]] = line[(eq + 1)..].TrimEnd('\r');
        }
    }

    /// <summary>The kernel release (uname -r).</summary>
    public string Release { get; }

    /// <summary>major.minor.patch of the release.</summary>
    public Version Version { get; }

    /// <summary>Whether a config was found (without one every config symbol counts as set).</summary>
    public bool HasConfig { get; }

    /// <summary>Whether a symbol is <c>=y</c> or <c>=m</c> (true for every symbol when no config was found).</summary>
    public bool IsSet(string symbol) => !HasConfig || _config.TryGetValue(symbol, out var v) && v is "y" or "m";

    /// <summary>The raw value of a config symbol, or null.</summary>
    public string? ConfigValue(string symbol) => _config.GetValueOrDefault(symbol);

    private static readonly Lazy<KernelFacts> RunningFacts = new(() =>
    {
        string release = Uname();
        return new KernelFacts(release, ReadConfig(release));
    });

    /// <summary>The running kernel.</summary>
    public static KernelFacts Running => RunningFacts.Value;

    /// <summary>"6.12.117+deb12-cloud-amd64" → 6.12.117; "6.1.0-56-cloud-amd64" → 6.1.0.</summary>
    public static Version ParseVersion(string release)
    {
        ArgumentNullException.ThrowIfNull(release);
        var parts = new List<int>();
        foreach (var piece in release.Split('.'))
        {
            int n = 0;
            while (n < piece.Length && char.IsAsciiDigit(piece[n])) n++;
            if (n == 0) break;
            parts.Add(int.Parse(piece.AsSpan(0, n), System.Globalization.CultureInfo.InvariantCulture));
            if (n < piece.Length || parts.Count == 3) break;
        }
        if (parts.Count < 2) throw new FormatException($"kernel release '{release}' does not start with MAJOR.MINOR");
        return new Version(parts[0], parts[1], parts.Count > 2 ? parts[2] : 0);
    }

    private static string? ReadConfig(string release)
    {
        if (File.Exists("/proc/config.gz"))
        {
            using var gz = new GZipStream(File.OpenRead("/proc/config.gz"), CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            return reader.ReadToEnd();
        }
        string boot = "/boot/config-" + release;
        return File.Exists(boot) ? File.ReadAllText(boot) : null;
    }

    /// <summary>uname -r.</summary>
    private static string Uname() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
}
