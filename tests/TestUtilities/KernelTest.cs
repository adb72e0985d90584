using System.Runtime.InteropServices;

namespace SharpBpf.TestUtilities;

/// <summary>
/// Kernel tests go into this one non-parallel collection: they share the kernel and check for fd leaks
/// process-wide.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "kernel";
}

/// <summary>Gatekeeping for tests that need the real kernel.</summary>
public static class KernelTest
{
    /// <summary>Set by .ci/run: a kernel test that cannot run fails instead of skipping.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("SHARPBPF_REQUIRE_KERNEL") == "1";

    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "not Linux";
        if (geteuid() != 0) return "not running as root (kernel tests need CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON)";
        if (!File.Exists("/sys/kernel/btf/vmlinux")) return "no /sys/kernel/btf/vmlinux";
        return null;
    });

    /// <summary>Call first in every kernel test: skips (or, under CI, fails) when this process cannot use bpf().
    /// Mounts bpffs when missing.</summary>
    public static void Require()
    {
        string? why = Unavailable.Value;
        if (why is null)
        {
            Pinning.BpfFs.EnsureMounted();
            return;
        }
        if (Required) Assert.Fail($"SHARPBPF_REQUIRE_KERNEL=1 but kernel tests cannot run: {why}");
        Assert.Skip($"kernel tests cannot run: {why}");
    }

    /// <summary>
    /// Skips a test whose feature the kernel lacks, but only when that feature is on the list of features known
    /// to be absent in this environment (<see cref="KnownAbsent"/>). Any other absence is a failure.
    /// </summary>
    public static void RequireFeature(string feature, string? absentReason)
    {
        if (absentReason is null) return;
        if (KnownAbsent.Features.Contains(feature))
            Assert.Skip($"feature '{feature}' is not available on this kernel (known absent here): {absentReason}");
        Assert.Fail($"feature '{feature}' is missing ({absentReason}) and is not on the known-absent list");
    }

    /// <summary>Skips a test of a declared feature (<see cref="FeatureDeclarations"/>) that is known absent here: under
    /// a kernel profile, because the kernel's version or config rules it out. Otherwise the test runs and fails when the
    /// feature does not work.</summary>
    public static void RequireDeclared(string feature)
    {
        var declaration = FeatureDeclarations.Get(feature);
        if (!KnownAbsent.Features.Contains(feature)) return;
        string why = FeatureDeclarations.Profile is null ? "on this machine's known-absent list" : declaration.Missing(KernelFacts.Running) ?? "known absent";
        Assert.Skip($"feature '{feature}' is not available on this kernel ({why})");
    }

    /// <summary>Whether a declared feature is available (not known absent) in this run. "program-type:X" and
    /// "map-type:X" need no declaration: undeclared types are taken as present on every kernel.</summary>
    public static bool Has(string feature)
    {
        if (FeatureDeclarations.Find(feature) is null)
        {
            if (feature.StartsWith("program-type:", StringComparison.Ordinal) || feature.StartsWith("map-type:", StringComparison.Ordinal)) return true;
            _ = FeatureDeclarations.Get(feature); // throws: a typo must not pass as "present"
        }
        return !KnownAbsent.Features.Contains(feature);
    }

    [DllImport("libc")]
    private static extern uint geteuid();
}

/// <summary>Features known to be absent, so tests skip only on these. On the project's CI/developer machines (kernel
/// 6.18 without CONFIG_KPROBES; tracing program loads refused with EPERM under lockdown) the hand-written
/// <see cref="Machine"/> list; under a kernel profile (SHARPBPF_KERNEL_PROFILE, set by the eng/vmtest guest) the
/// features whose <see cref="FeatureDeclarations"/> the running kernel does not meet.</summary>
public static class KnownAbsent
{
    /// <summary>The known-absent features of this run.</summary>
    public static IReadOnlySet<string> Features => Computed.Value;

    /// <summary>The project's own machines.</summary>
    public static readonly IReadOnlySet<string> Machine = new HashSet<string>(StringComparer.Ordinal)
    {
        "kprobe-attach",
        "kprobe-multi-attach",
        "fentry-load",
        "fexit-load",
        "fmod_ret-load",
        "lsm-load",
        "ext-load",
        "iter-map-elem-load", // iter/bpf_map_elem programs: EPERM with an empty verifier log on this machine
        "hardware-perf-events",
        "module-btf", // the kernel is built without loadable modules: /sys/kernel/btf has only vmlinux
    };

    private static readonly Lazy<IReadOnlySet<string>> Computed = new(() => FeatureDeclarations.Profile is null
        ? Machine
        : new HashSet<string>(FeatureDeclarations.Absent(KernelFacts.Running).Keys, StringComparer.Ordinal));
}
