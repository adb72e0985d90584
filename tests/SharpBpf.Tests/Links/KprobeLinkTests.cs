using System.Runtime.InteropServices;
using SharpBpf.Asm;
using SharpBpf.Interop;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingTestSupport;

namespace SharpBpf.Tests.Links;

/// <summary>Asserts on dispose that no tracefs probe event of this process (sharpbpf_PID_*) is left.</summary>
internal sealed class TracefsEventLeakCheck : IDisposable
{
    public static IEnumerable<string> OurEvents()
    {
        foreach (var file in new[] { "/sys/kernel/tracing/kprobe_events", "/sys/kernel/tracing/uprobe_events" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadAllLines(file))
                if (line.Contains($"sharpbpf_{Environment.ProcessId}_", StringComparison.Ordinal)) yield return line;
        }
    }

    public TracefsEventLeakCheck() => Assert.Empty(OurEvents());

    public void Dispose()
    {
        var left = OurEvents().ToList();
        Assert.True(left.Count == 0, $"tracefs probe events left behind: {string.Join("; ", left)}");
    }
}

[Collection(KernelCollection.Name)]
public class KprobeLinkTests
{
    private const int Calls = 40;

    /// <summary>Attaches, or skips on the known-absent kprobe list when the kernel has no kprobes.</summary>
    private static T OrSkip<T>(Func<T> attach)
    {
        try
        {
            return attach();
        }
        catch (NotSupportedByKernelException e)
        {
            KernelTest.RequireFeature("kprobe-attach", e.Message);
            throw;
        }
    }

    [Fact]
    public void VfsReadLatencyWithKprobeAndKretprobe()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var tracefs = new TracefsEventLeakCheck();
        using var c = BpfCollection.LoadFile(TestData.PathOf("vfs_read_latency.bpf.o"));
        using var entry = OrSkip(() => KprobeLink.Attach(c.Programs["vfs_read_entry"], "vfs_read"));
        using var exit = KprobeLink.Attach(c.Programs["vfs_read_return"], "vfs_read", new KprobeOptions { Return = true });
        Assert.True(exit.IsReturnProbe);

        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "sharpbpf");
            for (int i = 0; i < Calls; i++)
                using (var f = File.OpenRead(file))
                    _ = f.Read(new byte[16]);
        }
        finally
        {
            File.Delete(file);
        }
        Span<byte> totals = stackalloc byte[16];
        Assert.True(c.Maps["latency"].TryLookup(BitConverter.GetBytes((uint)Environment.ProcessId), totals), "no latency entry for this process");
        ulong calls = BitConverter.ToUInt64(totals), ns = BitConverter.ToUInt64(totals[8..]);
        Assert.True(calls >= Calls, $"{calls} vfs_read calls recorded, expected at least {Calls}");
        Assert.True(ns > 0);
    }

    [Fact]
    public void SyscallKprobeCountsAndSeesTheCookie()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var tracefs = new TracefsEventLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_kp_count", 2);
        using var prog = Load(ProgramType.Kprobe, "sb_kp_getpid", counters);
        var link = OrSkip(() => KprobeLink.AttachSyscall(prog, "getpid", new KprobeOptions { Cookie = 77 }));
        Assert.Equal(KprobeLink.SyscallPrefix() + "getpid", link.Target);
        Assert.Null(link.TracefsEventName);
        try
        {
            var info = Assert.IsType<PerfEventLinkInfo>(link.GetInfo());
            if (KernelTest.Has("perf-link-info"))
            {
                Assert.Equal(PerfEventKind.Kprobe, info.Kind);
                Assert.Equal(link.Target, info.Name);
            }
            else
            {
                Assert.Equal(PerfEventKind.Unspecified, info.Kind); // the kernel reports no details before 6.6
            }
            if (KernelTest.Has("perf-link-info-cookie")) Assert.Equal(77ul, info.Cookie);
        }
        catch
        {
            link.Dispose();
            throw;
        }
        AssertCountsUntilDisposed(link, counters, 77, Calls);
    }

    [Fact]
    public void TracefsKretprobeWithMaxActiveIsRemovedOnDispose()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var tracefs = new TracefsEventLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_kp_legacy", 2);
        using var prog = Load(ProgramType.Kprobe, "sb_kp_legacy", counters);
        var link = OrSkip(() => KprobeLink.AttachSyscall(prog, "getpid", new KprobeOptions { Return = true, MaxActive = 8, Cookie = 3 }));
        Assert.NotNull(link.TracefsEventName);
        Assert.StartsWith($"sharpbpf_{Environment.ProcessId}_", link.TracefsEventName);
        Assert.Contains(TracefsEventLeakCheck.OurEvents(), l => l.StartsWith("r8:", StringComparison.Ordinal) && l.Contains(link.TracefsEventName!));
        AssertCountsUntilDisposed(link, counters, 3, Calls);
        Assert.Empty(TracefsEventLeakCheck.OurEvents());
    }

    [Fact]
    public void TracefsProbeOnAMissingFunctionLeavesNothing()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var tracefs = new TracefsEventLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_kp_missing", 2);
        using var prog = Load(ProgramType.Kprobe, "sb_kp_missing", counters);
        var e = Assert.ThrowsAny<Exception>(() => KprobeLink.Attach(prog, "sharpbpf_no_such_function", new KprobeOptions { UseTracefs = true }));
        if (e is NotSupportedByKernelException ns) KernelTest.RequireFeature("kprobe-attach", ns.Message);
        Assert.IsType<BpfException>(e);
        Assert.Contains("sharpbpf_no_such_function", e.Message);
    }

    [Fact]
    public void KprobeMultiSeesPerFunctionCookies()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_kpm_count", 2);
        var spec = new ProgramSpec
        {
            Name = "sb_kpm",
            Type = ProgramType.Kprobe,
            ExpectedAttachType = AttachType.TraceKprobeMulti,
            License = "GPL",
            Instructions = TracingTestSupport.CountingInstructions(counters),
        };
        using var prog = BpfProgram.Load(spec);
        string getpid = KprobeLink.SyscallPrefix() + "getpid";
        KprobeMultiLink link;
        try
        {
            link = KprobeMultiLink.Attach(prog, [getpid], cookies: [0xabc]);
        }
        catch (NotSupportedByKernelException e)
        {
            KernelTest.RequireFeature("kprobe-multi-attach", e.Message);
            throw;
        }
        try
        {
            var info = Assert.IsType<KprobeMultiLinkInfo>(link.GetInfo());
            Assert.Single(info.Addresses);
            Assert.Equal([0xabcul], info.Cookies);
            Assert.False(info.IsReturn);
        }
        catch
        {
            link.Dispose();
            throw;
        }
        AssertCountsUntilDisposed(link, counters, 0xabc, Calls);
    }

    [Fact]
    public void WithoutKprobesTheErrorSaysSoAndWithThemAMissingFunctionIsABpfException()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var tracefs = new TracefsEventLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_kp_none", 2);
        using var prog = Load(ProgramType.Kprobe, "sb_kp_none", counters);
        bool hasKprobes = PerfEvent.DynamicPmuType("kprobe") >= 0 || File.Exists("/sys/kernel/tracing/kprobe_events");
        if (!hasKprobes)
        {
            var e = Assert.Throws<NotSupportedByKernelException>(() => KprobeLink.Attach(prog, "vfs_read"));
            Assert.Contains("CONFIG_KPROBES", e.Message);
            Assert.Contains("kprobe", e.Feature);
            Assert.Throws<NotSupportedByKernelException>(() => KprobeLink.AttachSyscall(prog, "getpid", new KprobeOptions { Return = true }));
        }
        else
        {
            var e = Assert.Throws<BpfException>(() => KprobeLink.Attach(prog, "sharpbpf_no_such_function"));
            Assert.Contains("sharpbpf_no_such_function", e.Message);
        }
        // Bad input is rejected before touching the kernel.
        Assert.Throws<ArgumentException>(() => KprobeLink.Attach(prog, "vfs_read", new KprobeOptions { MaxActive = 4 }));
        Assert.Throws<ArgumentException>(() => KprobeLink.Attach(prog, "vfs read"));
        Assert.Throws<ArgumentException>(() => KprobeLink.Attach(prog, "vfs_read", new KprobeOptions { Return = true, Offset = 4 }));
        using var tp = Load(ProgramType.Tracepoint, "sb_kp_tp", counters);
        Assert.Contains("Kprobe program", Assert.Throws<ArgumentException>(() => KprobeLink.Attach(tp, "vfs_read")).Message);
        Assert.Throws<ArgumentException>(() => KprobeMultiLink.Attach(prog, []));
        Assert.Throws<ArgumentException>(() => KprobeMultiLink.Attach(prog, ["a", "b"], cookies: [1]));
    }
}

/// <summary>The pieces of probe creation that need no kprobe support: names, lines, PMU config.</summary>
public class ProbeEncodingTests
{
    [Fact]
    public void LegacyEventNamesAreUniqueSanitizedAndShort()
    {
        string a = TracefsProbeEvent.UniqueName("vfs_read"), b = TracefsProbeEvent.UniqueName("vfs_read");
        Assert.NotEqual(a, b);
        Assert.Matches($"^sharpbpf_{Environment.ProcessId}_[0-9]+_vfs_read$", a);
        Assert.EndsWith("_do_sys_open_0x10", TracefsProbeEvent.UniqueName("do_sys_open+0x10"));
        Assert.Matches("^[A-Za-z0-9_]+$", TracefsProbeEvent.UniqueName("a.b-c:d/e f"));
        Assert.Equal(63, TracefsProbeEvent.UniqueName(new string('x', 200)).Length);
    }

    [Fact]
    public void LegacyProbeLines()
    {
        Assert.Equal("p:sharpbpf/ev vfs_read", TracefsProbeEvent.ProbeLine(false, 0, "ev", "vfs_read"));
        Assert.Equal("r:sharpbpf/ev vfs_read", TracefsProbeEvent.ProbeLine(true, 0, "ev", "vfs_read"));
        Assert.Equal("r16:sharpbpf/ev vfs_read", TracefsProbeEvent.ProbeLine(true, 16, "ev", "vfs_read"));
        Assert.Throws<ArgumentException>(() => TracefsProbeEvent.ProbeLine(false, 16, "ev", "vfs_read"));
        Assert.Equal("vfs_read", TracefsProbeEvent.KprobeTarget("vfs_read", 0));
        Assert.Equal("vfs_read+0x1f", TracefsProbeEvent.KprobeTarget("vfs_read", 0x1f));
        Assert.Equal("0xffffffff81000000", TracefsProbeEvent.KprobeTarget(null, 0xffffffff81000000));
    }

    [Fact]
    public void PmuFormatAndConfig()
    {
        Assert.Equal((0, 0), ProbePmu.ParseFormat("config:0\n"));
        Assert.Equal((32, 63), ProbePmu.ParseFormat("config:32-63\n"));
        Assert.Null(ProbePmu.ParseFormat("config1:0-63"));
        Assert.Null(ProbePmu.ParseFormat("config:64"));
        Assert.Null(ProbePmu.ParseFormat("config:9-3"));
        Assert.Null(ProbePmu.ParseFormat("garbage"));
        Assert.Equal(0ul, ProbePmu.Config(false, 0, 0, 32));
        Assert.Equal(1ul, ProbePmu.Config(true, 0, 0, 32));
        Assert.Equal((0x1234ul << 32) | 1, ProbePmu.Config(true, 0, 0x1234, 32));
        // The running kernel's uprobe PMU (always present here) describes exactly this layout.
        if (ProbePmu.Type("uprobe") >= 0)
        {
            Assert.Equal(0, ProbePmu.FormatBit("uprobe", "retprobe"));
            Assert.Equal((32, 63), ProbePmu.FormatRange("uprobe", "ref_ctr_offset"));
        }
        Assert.Equal(-1, ProbePmu.FormatBit("sharpbpf_no_pmu", "retprobe"));
    }

    [Fact]
    public void KprobePmuAttributes()
    {
        var named = KprobeLink.PmuAttr(9, isReturn: true, retprobeBit: 0, offset: 0x10, address: 0);
        Assert.Equal(9u, named.type);
        Assert.Equal(1ul, named.config);
        Assert.Equal(0x10ul, named.probe_offset);
        var byAddress = KprobeLink.PmuAttr(9, isReturn: false, retprobeBit: 0, offset: 0, address: 0xffffffff81000010);
        Assert.Equal(0ul, byAddress.config);
        Assert.Equal(0ul, byAddress.kprobe_func);
        Assert.Equal(0xffffffff81000010, byAddress.kprobe_addr);
    }

    [Fact]
    public void SyscallPrefixFromKallsyms()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["ffffffff81000000 T _stext", "ffffffff81234560 T __x64_sys_bpf", "ffffffffc0001000 t helper\t[mod]"]);
            Assert.Equal("__x64_sys_", KprobeLink.FindSyscallPrefix(file, Architecture.X64));
            File.WriteAllLines(file, ["ffffffff81000000 T _stext", "ffffffff81234560 T sys_bpf"]);
            Assert.Equal("sys_", KprobeLink.FindSyscallPrefix(file, Architecture.X64));
            File.WriteAllLines(file, ["ffff800008000000 T __arm64_sys_bpf"]);
            Assert.Equal("__arm64_sys_", KprobeLink.FindSyscallPrefix(file, Architecture.Arm64));
            Assert.Equal("sys_", KprobeLink.FindSyscallPrefix(file, Architecture.X86));
        }
        finally
        {
            File.Delete(file);
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
            Assert.Equal("__x64_sys_", KprobeLink.SyscallPrefix());
    }
}
