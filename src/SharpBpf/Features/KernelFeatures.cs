using SharpBpf.Btf;
using SharpBpf.Interop;

namespace SharpBpf.Features;

using SharpBpf.Btf;
using MT = SharpBpf.Maps.MapType;
using PT = SharpBpf.Programs.ProgramType;
using AT = SharpBpf.Programs.AttachType;

/// <summary>
/// Feature probes: each one tries the real operation on the running kernel (load a tiny program, create a 1-entry map,
/// open a perf event, create a link) and releases everything it created. Results are cached for the process.
/// Probes need the privileges the feature itself needs (root / CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN); without them
/// the result is NotSupported with an EPERM reason.
/// </summary>
public static partial class KernelFeatures
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<PT, FeatureStatus> ProgramCache = [];
    private static readonly Dictionary<MT, FeatureStatus> MapCache = [];
    private static readonly Dictionary<(PT, int), FeatureStatus> HelperCache = [];
    private static readonly Dictionary<string, FeatureStatus> AttachCache = new(StringComparer.Ordinal);

    /// <summary>Whether programs of <paramref name="type"/> load (a two-instruction program, with the expected attach
    /// type or BTF attach target the type requires).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is Unspecified or not a defined value.</exception>
    public static FeatureStatus ProgramType(PT type)
    {
        if (type == PT.Unspecified || !Enum.IsDefined(type))
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a probeable program type");
        lock (Gate)
        {
            if (ProgramCache.TryGetValue(type, out var cached)) return cached;
            var status = ProbeProgramType(type);
            ProgramCache[type] = status;
            return status;
        }
    }

    private static FeatureStatus ProbeProgramType(PT type)
    {
        using var target = ProgramTarget.Create(type, out var setup, out var unavailable);
        if (unavailable is not null) return unavailable;
        using var fd = ProbeKit.TryLoadMinimal(setup, out int errno, out string log);
        return fd is not null
            ? FeatureStatus.Supported
            : ProbeKit.Failure($"BPF_PROG_LOAD of a {type} program{Describe(setup)}", errno, ProbeKit.LastLine(log));
    }

    private static string Describe(in ProgramSetup setup)
    {
        if (setup.AttachProgFd > 0) return $" (extending a function of an XDP program)";
        if (setup.AttachBtfId != 0)
            return $" ({(setup.ExpectedAttachType is { } a ? a + " " : "")}on kernel BTF {BtfSpec.Kernel.TypeById(setup.AttachBtfId)})";
        return setup.ExpectedAttachType is { } at ? $" (expected attach type {at})" : "";
    }

    /// <summary>Whether maps of <paramref name="type"/> can be created (one entry, or the minimum the type allows).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is Unspecified or not a defined value.</exception>
    public static FeatureStatus MapType(MT type)
    {
        if (type == MT.Unspecified || !Enum.IsDefined(type))
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a probeable map type");
        lock (Gate)
        {
            if (MapCache.TryGetValue(type, out var cached)) return cached;
            var status = MapProbes.Probe(type);
            MapCache[type] = status;
            return status;
        }
    }

    /// <summary>
    /// Whether programs of <paramref name="programType"/> may call helper <paramref name="helperId"/>
    /// (<c>enum bpf_func_id</c>, e.g. 1 = BPF_FUNC_map_lookup_elem). Loads <c>call helper; exit</c> and reads the
    /// verifier log: "invalid func" / "unknown func" / "program of this type cannot use helper" mean not supported;
    /// any other outcome (success or a complaint about the arguments) means the helper is available.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Unspecified/undefined program type or a negative helper id.</exception>
    public static FeatureStatus Helper(PT programType, int helperId)
    {
        if (programType == PT.Unspecified || !Enum.IsDefined(programType))
            throw new ArgumentOutOfRangeException(nameof(programType), programType, "not a probeable program type");
        ArgumentOutOfRangeException.ThrowIfNegative(helperId);
        lock (Gate)
        {
            if (HelperCache.TryGetValue((programType, helperId), out var cached)) return cached;
            var status = ProbeHelper(programType, helperId);
            HelperCache[(programType, helperId)] = status;
            return status;
        }
    }

    /// <summary>Like <see cref="Helper(PT, int)"/> with the helper's name ("map_lookup_elem" or
    /// "BPF_FUNC_map_lookup_elem") looked up in the kernel's <c>enum bpf_func_id</c>.</summary>
    public static FeatureStatus Helper(PT programType, string helperName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(helperName);
        string name = helperName.StartsWith("BPF_FUNC_", StringComparison.Ordinal) ? helperName["BPF_FUNC_".Length..] : helperName;
        foreach (var (id, n) in HelperIds())
            if (n == name) return Helper(programType, id);
        return FeatureStatus.NotSupported($"the kernel's enum bpf_func_id has no BPF_FUNC_{name}");
    }

    private static FeatureStatus ProbeHelper(PT programType, int helperId)
    {
        var typeStatus = ProgramCache.TryGetValue(programType, out var s) ? s : ProgramCache[programType] = ProbeProgramType(programType);
        if (!typeStatus.IsSupported)
            return typeStatus.State == FeatureState.Unknown
                ? typeStatus
                : FeatureStatus.NotSupported($"program type {programType} is not supported: {typeStatus.Reason}");
        using var target = ProgramTarget.Create(programType, out var setup, out var unavailable);
        if (unavailable is not null) return unavailable;
        Span<ulong> insns = [ProbeKit.Call(helperId), ProbeKit.Exit];
        using var fd = ProbeKit.TryLoad(setup, insns, out int errno, out string log, wantLog: true);
        if (fd is not null) return FeatureStatus.Supported;
        foreach (var marker in (ReadOnlySpan<string>)["invalid func ", "unknown func ", "program of this type cannot use helper "])
        {
            int at = log.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                int end = log.IndexOf('\n', at);
                return FeatureStatus.NotSupported($"verifier: {log[at..(end < 0 ? log.Length : end)]}");
            }
        }
        // The verifier knew the helper and complained about something else (arguments, return value): it is available.
        return errno is Errno.EINVAL or Errno.EACCES
            ? FeatureStatus.Supported
            : ProbeKit.Failure($"BPF_PROG_LOAD of a {programType} program calling helper {helperId}", errno, ProbeKit.LastLine(log));
    }

    private static IReadOnlyList<(int Id, string Name)>? _helperIds;

    /// <summary>The helpers of the running kernel, from <c>enum bpf_func_id</c> in its BTF (without BPF_FUNC_unspec
    /// and the __BPF_FUNC_MAX_ID sentinel), names without the BPF_FUNC_ prefix.</summary>
    public static IReadOnlyList<(int Id, string Name)> HelperIds()
    {
        var ids = Volatile.Read(ref _helperIds);
        if (ids is not null) return ids;
        var list = new List<(int, string)>();
        if (BtfSpec.Kernel.TryTypeByName("bpf_func_id", BtfKind.Enum, out var t) && t is BtfEnum e)
        {
            foreach (var v in e.Values)
                if (v.Name.StartsWith("BPF_FUNC_", StringComparison.Ordinal) && v.Value > 0)
                    list.Add(((int)v.Value, v.Name["BPF_FUNC_".Length..]));
        }
        ids = list.AsReadOnly();
        Volatile.Write(ref _helperIds, ids);
        return ids;
    }

    /// <summary>Probes everything: program types, map types, helpers per loadable program type, attach kinds.
    /// Takes a few seconds the first time (thousands of tiny loads); later calls use the cache.</summary>
    public static FeatureReport All()
    {
        var programs = Enum.GetValues<PT>().Where(t => t != PT.Unspecified)
            .Select(t => Row(t.ToString(), ProgramType(t))).ToList();
        var maps = Enum.GetValues<MT>().Where(t => t != MT.Unspecified)
            .Select(t => Row(t.ToString(), MapType(t))).ToList();
        var helpers = new List<HelperResults>();
        foreach (var t in Enum.GetValues<PT>())
        {
            if (t == PT.Unspecified || !ProgramType(t).IsSupported) continue;
            helpers.Add(new HelperResults(t.ToString(), HelperIds().Select(h => Row(h.Name, Helper(t, h.Id))).ToList()));
        }
        var attach = AttachKinds.Select(k => Row(k, Attach(k))).ToList();
        return new FeatureReport(programs, maps, helpers, attach);
    }

    /// <summary>Forgets every cached result, so tests can watch the probes themselves (fd leaks, cleanup).</summary>
    internal static void ResetCache()
    {
        lock (Gate)
        {
            ProgramCache.Clear();
            MapCache.Clear();
            HelperCache.Clear();
            AttachCache.Clear();
        }
    }

    private static FeatureResult Row(string name, FeatureStatus s) => new(name, s.State, s.Reason);

    /// <summary>Finds a kernel function's BTF id (for fentry/fexit/lsm targets).</summary>
    internal static uint KernelFuncId(string name) =>
        BtfSpec.Kernel.TryTypeByName(name, BtfKind.Func, out var t) ? t.Id : 0;

    /// <summary>Finds a kernel struct's BTF id.</summary>
    internal static uint KernelStructId(string name) =>
        BtfSpec.Kernel.TryTypeByName(name, BtfKind.Struct, out var t) ? t.Id : 0;
}

/// <summary>The attach target a probe program of some type needs: nothing for most types, a kernel BTF function for
/// tracing/LSM, a struct_ops member, or a target program with BTF for EXT. Disposing releases the target.</summary>
internal sealed class ProgramTarget : IDisposable
{
    private SafeBpfFd? _btf, _targetProg;

    public static ProgramTarget Create(PT type, out ProgramSetup setup, out FeatureStatus? unavailable)
    {
        var target = new ProgramTarget();
        unavailable = null;
        setup = new ProgramSetup(type);
        switch (type)
        {
            case PT.CgroupSockAddr:
                setup = setup with { ExpectedAttachType = AT.CgroupInet4Connect };
                break;
            case PT.CgroupSockopt:
                setup = setup with { ExpectedAttachType = AT.CgroupGetsockopt };
                break;
            case PT.SkLookup:
                setup = setup with { ExpectedAttachType = AT.SkLookup };
                break;
            case PT.Netfilter:
                setup = setup with { ExpectedAttachType = AT.Netfilter };
                break;
            case PT.Syscall:
                setup = setup with { Flags = ProbeKit.BPF_F_SLEEPABLE };
                break;
            case PT.Tracing:
                setup = KernelFunc(setup, AT.TraceFentry, "bpf_fentry_test1", ref unavailable);
                break;
            case PT.Lsm:
                setup = KernelFunc(setup, AT.LsmMac, "bpf_lsm_file_open", ref unavailable);
                break;
            case PT.StructOps:
            {
                // Member 0 of struct tcp_congestion_ops is u32 (*ssthresh)(struct sock *).
                uint id = KernelFeatures.KernelStructId("tcp_congestion_ops");
                if (id == 0) unavailable = FeatureStatus.NotSupported("the kernel BTF has no struct tcp_congestion_ops to implement");
                setup = setup with { AttachBtfId = id }; // expected_attach_type 0: the member index
                break;
            }
            case PT.Ext:
                unavailable = target.CreateExtTarget(ref setup);
                break;
        }
        return target;
    }

    private static ProgramSetup KernelFunc(ProgramSetup setup, AT attach, string func, ref FeatureStatus? unavailable)
    {
        uint id = KernelFeatures.KernelFuncId(func);
        if (id == 0) unavailable = FeatureStatus.NotSupported($"the kernel BTF has no function {func} to attach to");
        return setup with { ExpectedAttachType = attach, AttachBtfId = id };
    }

    /// <summary>EXT programs replace a function of another program: load an XDP program with BTF (func
    /// "probe_target") and point the EXT program at it, with its own BTF func "probe_ext".</summary>
    private FeatureStatus? CreateExtTarget(ref ProgramSetup setup)
    {
        _btf = ProbeKit.TryLoadProbeBtf(out int errno);
        if (_btf is null) return ProbeKit.Failure("BPF_BTF_LOAD of the probe BTF", errno);
        var xdp = new ProgramSetup(PT.Xdp, ProgBtfFd: _btf.Fd, FuncInfoTypeId: 3);
        _targetProg = ProbeKit.TryLoadMinimal(xdp, out errno, out string log, retval: 2);
        if (_targetProg is null) return ProbeKit.Failure("BPF_PROG_LOAD of the XDP program to extend", errno, ProbeKit.LastLine(log));
        setup = setup with { AttachProgFd = _targetProg.Fd, AttachBtfId = 3, ProgBtfFd = _btf.Fd, FuncInfoTypeId = 4 };
        return null;
    }

    public void Dispose()
    {
        _targetProg?.Dispose();
        _btf?.Dispose();
    }
}
