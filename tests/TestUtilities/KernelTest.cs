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

    [DllImport("libc")]
    private static extern uint geteuid();
}

/// <summary>Features known to be absent on the project's CI/developer machines (kernel 6.18 without
/// CONFIG_KPROBES; tracing program loads refused with EPERM under lockdown). Tests skip only on these.</summary>
public static class KnownAbsent
{
    public static readonly IReadOnlySet<string> Features = new HashSet<string>(StringComparer.Ordinal)
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
}
