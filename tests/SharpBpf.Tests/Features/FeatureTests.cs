using System.IO.Compression;
using System.Text;
using SharpBpf.Features;
using SharpBpf.Interop;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.FeatureProbes; // not ".Features": that would hide SharpBpf.Features for code in SharpBpf.Tests

using SharpBpf.Features;

[Collection(KernelCollection.Name)]
public class FeatureTests
{
    /// <summary>Program types whose absence is expected here, with the known-absent feature that explains it.</summary>
    private static readonly Dictionary<ProgramType, string> AbsentAs = new()
    {
        [ProgramType.Tracing] = "fentry-load",
        [ProgramType.Lsm] = "lsm-load",
        [ProgramType.Ext] = "ext-load",
    };

    public FeatureTests()
    {
        KernelTest.Require();
        EnsureTracefs();
    }

    /// <summary>tracepoint-attach needs tracefs; mount it (like bpffs) when the machine has not.</summary>
    private static unsafe void EnsureTracefs()
    {
        if (Directory.Exists("/sys/kernel/tracing/events") || Directory.Exists("/sys/kernel/debug/tracing/events")) return;
        byte[] fs = Encoding.UTF8.GetBytes("tracefs\0"), dst = Encoding.UTF8.GetBytes("/sys/kernel/tracing\0");
        fixed (byte* f = fs)
        fixed (byte* d = dst)
            Assert.Equal(0, Libc.mount(f, d, f, 0, null));
    }

    /// <summary>Whether the kernel config says an option is built in (null when /proc/config.gz is unavailable).</summary>
    private static bool? KernelConfig(string option)
    {
        if (!File.Exists("/proc/config.gz")) return null;
        using var gz = new GZipStream(File.OpenRead("/proc/config.gz"), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        while (reader.ReadLine() is { } line)
            if (line == option + "=y" || line == option + "=m") return true;
        return false;
    }

    [Fact]
    public void EveryProgramTypeTheKernelHasIsSupported()
    {
        using var leak = new FdLeakCheck();
        var problems = new List<string>();
        foreach (var type in Enum.GetValues<ProgramType>().Where(t => t != ProgramType.Unspecified))
        {
            var status = KernelFeatures.ProgramType(type);
            Assert.NotEqual(FeatureState.Unknown, status.State);
            if (AbsentAs.TryGetValue(type, out var feature) && KnownAbsent.Features.Contains(feature))
            {
                if (status.IsSupported) continue; // allowed on a machine that has it
                if (FeatureDeclarations.Profile is not null) continue; // the declaration explains the absence
                Assert.Contains("EPERM", status.Reason);
                Assert.Contains("BPF_PROG_LOAD", status.Reason);
            }
            else if (type == ProgramType.LircMode2 && KernelConfig("CONFIG_BPF_LIRC_MODE2") != true)
            {
                // Only built with CONFIG_BPF_LIRC_MODE2 (needs RC_CORE): the kernel does not have this type.
                if (KernelConfig("CONFIG_BPF_LIRC_MODE2") == false) Assert.Equal(FeatureState.NotSupported, status.State);
            }
            else if (!status.IsSupported && KernelTest.Has($"program-type:{type}"))
            {
                problems.Add($"{type}: {status}");
            }
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void EveryMapTypeIsSupported()
    {
        using var leak = new FdLeakCheck();
        var problems = Enum.GetValues<MapType>().Where(t => t != MapType.Unspecified)
            .Select(t => (Type: t, Status: KernelFeatures.MapType(t)))
            .Where(r => !r.Status.IsSupported && KernelTest.Has($"map-type:{r.Type}"))
            .Select(r => $"{r.Type}: {r.Status}").ToList();
        Assert.Empty(problems);
    }

    [Fact]
    public void HelperProbes()
    {
        using var leak = new FdLeakCheck();
        Assert.Contains((1, "map_lookup_elem"), KernelFeatures.HelperIds());
        Assert.Equal(FeatureState.Supported, KernelFeatures.Helper(ProgramType.Xdp, 1).State);
        Assert.True(KernelFeatures.Helper(ProgramType.Xdp, "map_lookup_elem").IsSupported);
        Assert.True(KernelFeatures.Helper(ProgramType.Xdp, "BPF_FUNC_map_lookup_elem").IsSupported);
        // GPL-only helper: the probe's license is GPL.
        Assert.True(KernelFeatures.Helper(ProgramType.Kprobe, "probe_read_kernel").IsSupported);

        int pastEnd = KernelFeatures.HelperIds().Max(h => h.Id) + 1;
        var unknown = KernelFeatures.Helper(ProgramType.Xdp, pastEnd);
        Assert.Equal(FeatureState.NotSupported, unknown.State);
        Assert.Contains($"invalid func unknown#{pastEnd}", unknown.Reason);

        var wrongType = KernelFeatures.Helper(ProgramType.SocketFilter, "sys_bpf");
        Assert.Equal(FeatureState.NotSupported, wrongType.State);
        // 6.1 says "unknown func bpf_sys_bpf#166", later kernels "cannot use helper bpf_sys_bpf".
        Assert.Matches("cannot use helper bpf_sys_bpf|unknown func bpf_sys_bpf#", wrongType.Reason);

        Assert.Equal(FeatureState.NotSupported, KernelFeatures.Helper(ProgramType.Xdp, "no_such_helper").State);
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelFeatures.Helper(ProgramType.Xdp, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelFeatures.Helper(ProgramType.Unspecified, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelFeatures.ProgramType((ProgramType)9999));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelFeatures.MapType(MapType.Unspecified));

        var btf = SharpBpf.Btf.BtfSpec.Kernel;
        var funcIds = btf.TypeByName<SharpBpf.Btf.BtfEnum>("bpf_func_id");
        funcIds.TryGetValue("__BPF_FUNC_MAX_ID", out long max);
        Assert.Equal(max - 1, KernelFeatures.HelperIds().Count);
    }

    [Fact]
    public void AttachKindsAreSupportedUnlessKnownAbsent()
    {
        using var leak = new FdLeakCheck();
        var problems = new List<string>();
        foreach (var kind in KernelFeatures.AttachKinds)
        {
            var status = KernelFeatures.Attach(kind);
            if (KnownAbsent.Features.Contains(kind))
            {
                if (status.State == FeatureState.Unknown) problems.Add($"{kind}: known absent but the probe could not decide: {status}");
                else if (!status.IsSupported && string.IsNullOrWhiteSpace(status.Reason)) problems.Add($"{kind}: no reason");
            }
            else if (!status.IsSupported)
            {
                problems.Add($"{kind}: {status}");
            }
        }
        Assert.Empty(problems);
        foreach (var name in KnownAbsent.Features) Assert.Contains(name, KernelFeatures.AttachKinds.Concat(FeatureDeclarations.Behaviours));
        Assert.Throws<ArgumentException>(() => KernelFeatures.Attach("no-such-kind"));
    }

    [Fact]
    public void KprobeAttachIsNotSupportedHereWithAClearReason()
    {
        using var leak = new FdLeakCheck();
        var status = KernelFeatures.Attach("kprobe-attach");
        if (File.Exists("/sys/bus/event_source/devices/kprobe/type"))
        {
            Assert.True(status.IsSupported, status.ToString());
            return;
        }
        Assert.Equal(FeatureState.NotSupported, status.State);
        Assert.Contains("/sys/bus/event_source/devices/kprobe/type is missing", status.Reason);
        Assert.Contains("CONFIG_KPROBES", status.Reason);
    }

    [Fact]
    public void FentryLsmExtAreNotSupportedWithEpermHere()
    {
        using var leak = new FdLeakCheck();
        foreach (var kind in new[] { "fentry-load", "fexit-load", "fmod_ret-load", "lsm-load", "ext-load" })
        {
            var status = KernelFeatures.Attach(kind);
            if (status.IsSupported) continue; // a kernel that allows them
            Assert.Equal(FeatureState.NotSupported, status.State);
            // Under a kernel profile a declaration may explain the absence (e.g. fmod_ret without error injection).
            if (FeatureDeclarations.Profile is not null && FeatureDeclarations.Get(kind).Missing(KernelFacts.Running) is not null) continue;
            Assert.Contains("EPERM", status.Reason);
        }
    }

    [Fact]
    public void ResultsAreCached()
    {
        using var leak = new FdLeakCheck();
        Assert.Same(KernelFeatures.MapType(MapType.Hash), KernelFeatures.MapType(MapType.Hash));
        Assert.Same(KernelFeatures.ProgramType(ProgramType.Xdp), KernelFeatures.ProgramType(ProgramType.Xdp));
        Assert.Same(KernelFeatures.Attach("raw-tracepoint"), KernelFeatures.Attach("raw-tracepoint"));
    }

    [Fact]
    public void AllReportsEverythingAndProbesLeaveNothingBehind()
    {
        KernelFeatures.ResetCache(); // make every probe really run under the leak check
        string? cgroupRoot = AttachProbes.Cgroup2Mount();
        FeatureReport report;
        using (new FdLeakCheck()) report = KernelFeatures.All();

        Assert.Equal(Enum.GetValues<ProgramType>().Length - 1, report.ProgramTypes.Count);
        Assert.Equal(Enum.GetValues<MapType>().Length - 1, report.MapTypes.Count);
        Assert.Equal(KernelFeatures.AttachKinds, report.AttachKinds.Select(r => r.Name));
        Assert.Contains(report.ProgramTypes, r => r.Name == "Xdp" && r.Status == FeatureState.Supported && r.Reason is null);
        Assert.Contains(report.AttachKinds, r => r.Name == "kprobe-attach");
        var xdp = Assert.Single(report.Helpers, h => h.ProgramType == "Xdp");
        Assert.Equal(KernelFeatures.HelperIds().Count, xdp.Helpers.Count);
        Assert.Contains(xdp.Helpers, r => r.Name == "map_lookup_elem" && r.Status == FeatureState.Supported);
        Assert.Contains(xdp.Helpers, r => r.Name == "sys_bpf" && r.Status == FeatureState.NotSupported);
        Assert.DoesNotContain(report.Helpers, h => h.ProgramType == "Tracing" && !KernelFeatures.ProgramType(ProgramType.Tracing).IsSupported);
        Assert.DoesNotContain(report.Helpers.SelectMany(h => h.Helpers), r => r.Status == FeatureState.Unknown);

        if (cgroupRoot is not null)
            Assert.Empty(Directory.GetDirectories(cgroupRoot, "sharpbpf-probe-*"));
    }
}
