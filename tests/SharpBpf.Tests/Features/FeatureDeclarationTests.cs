using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.FeatureProbes;

using SharpBpf.Features;

/// <summary>The kernel matrix's feature declarations (tests/TestUtilities/FeatureDeclarations.cs): how they read a
/// kernel, and that they agree with the library's probes on the running kernel.</summary>
public class FeatureDeclarationTests
{
    // Excerpts of Debian's 6.1 and 6.12 cloud configs (the eng/vmtest kernels).
    private const string Cloud61 = """
        CONFIG_KPROBES=y
        CONFIG_KPROBE_EVENTS=y
        CONFIG_BPF_LSM=y
        CONFIG_DEBUG_INFO_BTF=y
        CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS=y
        # CONFIG_FUNCTION_ERROR_INJECTION is not set
        CONFIG_LSM="landlock,lockdown,yama,loadpin,safesetid,integrity,apparmor,selinux,smack,tomoyo,bpf"
        """;

    private const string Cloud612 = Cloud61 + "\nCONFIG_FPROBE=y\nCONFIG_NET_XGRESS=y\nCONFIG_UPROBES=y\n";

    [Theory]
    [InlineData("6.1.0-56-cloud-amd64", "6.1.0")]
    [InlineData("6.12.117+deb12-cloud-amd64", "6.12.117")]
    [InlineData("6.18.44-fc-v782", "6.18.44")]
    [InlineData("5.15", "5.15.0")]
    [InlineData("6.6-rc1", "6.6.0")]
    public void ReleasesParseToTheirVersion(string release, string version) =>
        Assert.Equal(Version.Parse(version), KernelFacts.ParseVersion(release));

    [Theory]
    [InlineData("")]
    [InlineData("linux")]
    [InlineData("6")]
    [InlineData("6-generic")]
    public void ReleasesWithoutMajorMinorAreAFormatException(string release) =>
        Assert.Contains(release, Assert.Throws<FormatException>(() => KernelFacts.ParseVersion(release)).Message);

    [Fact]
    public void VersionAndConfigDecideAbsence()
    {
        var k61 = new KernelFacts("6.1.0-56-cloud-amd64", Cloud61);
        var k612 = new KernelFacts("6.12.117+deb12-cloud-amd64", Cloud612);

        Assert.Null(FeatureDeclarations.Get("kprobe-attach").Missing(k61));
        Assert.Null(FeatureDeclarations.Get("fentry-load").Missing(k61));
        Assert.Equal("kernel config lacks CONFIG_FPROBE", FeatureDeclarations.Get("kprobe-multi-attach").Missing(k61));
        Assert.Null(FeatureDeclarations.Get("kprobe-multi-attach").Missing(k612));
        Assert.Equal("needs Linux 6.6, running 6.1.0-56-cloud-amd64", FeatureDeclarations.Get("tcx").Missing(k61));
        Assert.Null(FeatureDeclarations.Get("tcx").Missing(k612));
        // fmod_ret on bpf_modify_return_test: error injection before 6.3, the fmodret id set since.
        Assert.Equal("before 6.3 needs CONFIG_FUNCTION_ERROR_INJECTION", FeatureDeclarations.Get("fmod_ret-load").Missing(k61));
        Assert.Null(FeatureDeclarations.Get("fmod_ret-load").Missing(k612));

        var absent61 = FeatureDeclarations.Absent(k61);
        Assert.Contains("kprobe-multi-attach", absent61.Keys);
        Assert.Contains("uprobe-multi-attach", absent61.Keys);
        Assert.Contains("perf-link-info", absent61.Keys);
        Assert.DoesNotContain("kprobe-attach", absent61.Keys);
        Assert.DoesNotContain("perf-link-info", FeatureDeclarations.Absent(k612).Keys);
    }

    [Fact]
    public void WithoutAConfigOnlyTheVersionCounts()
    {
        var noConfig = new KernelFacts("5.4.0", null);
        Assert.False(noConfig.HasConfig);
        Assert.True(noConfig.IsSet("CONFIG_ANYTHING"));
        Assert.Null(FeatureDeclarations.Get("kprobe-attach").Missing(noConfig));
        Assert.Equal("needs Linux 5.5, running 5.4.0", FeatureDeclarations.Get("fentry-load").Missing(noConfig));
        Assert.False(new KernelFacts("6.1.0", "CONFIG_X=n\n").IsSet("CONFIG_X"));
    }

    [Fact]
    public void EveryAttachKindIsDeclaredAndUnknownNamesAreRejected()
    {
        foreach (var kind in KernelFeatures.AttachKinds) Assert.Equal(kind, FeatureDeclarations.Get(kind).Name);
        Assert.Equal(FeatureDeclarations.All.Count, FeatureDeclarations.All.Select(d => d.Name).Distinct().Count());
        Assert.Contains("no-such-feature", Assert.Throws<ArgumentException>(() => FeatureDeclarations.Get("no-such-feature")).Message);
        Assert.Throws<ArgumentException>(() => KernelTest.Has("no-such-feature"));
    }

    [Fact]
    public void TheMachineListStaysAuthoritativeWithoutAProfile()
    {
        if (FeatureDeclarations.Profile is not null)
            Assert.Equal(FeatureDeclarations.Absent(KernelFacts.Running).Keys.Order(), KnownAbsent.Features.Order());
        else
            Assert.Same(KnownAbsent.Machine, KnownAbsent.Features);
    }
}

/// <summary>The declarations against the running kernel's probes.</summary>
[Collection(KernelCollection.Name)]
public class FeatureDeclarationKernelTests
{
    /// <summary>A declaration that rules a feature out must not be stricter than the kernel: the probe must agree that
    /// the feature is missing. (The converse, a declared feature that the probe misses, fails in
    /// <see cref="FeatureTests.AttachKindsAreSupportedUnlessKnownAbsent"/> under the matrix profile.)</summary>
    [Fact]
    public void FeaturesDeclaredAbsentAreNotSupportedByTheKernel()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var problems = new List<string>();
        foreach (var (name, why) in FeatureDeclarations.Absent(KernelFacts.Running))
        {
            if (!KernelFeatures.AttachKinds.Contains(name)) continue; // a behaviour, not probe-able
            var status = KernelFeatures.Attach(name);
            if (status.IsSupported) problems.Add($"{name}: declared absent ({why}) but the probe says supported");
        }
        Assert.Empty(problems);
    }
}
