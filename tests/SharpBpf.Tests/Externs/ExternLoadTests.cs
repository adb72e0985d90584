using System.Text;
using SharpBpf.Btf;
using SharpBpf.Externs;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Externs;

/// <summary>testdata/externs.bpf.c loads against the running kernel: kconfig values, virtual LINUX_* values, weak
/// and strong __ksym variables (typeless from kallsyms, typed from kernel BTF) and kfuncs, each checked by running
/// the program and reading what it stored.</summary>
[Collection(KernelCollection.Name)]
public class ExternLoadTests
{
    private static byte[] Bss(BpfCollection c, string mapName)
    {
        var map = c.Maps[mapName];
        var value = new byte[map.ValueSize];
        map.Lookup(new byte[4], value);
        return value;
    }

    private static ulong Var(BpfCollection c, CollectionSpec spec, string name)
    {
        var v = spec.Variables[name];
        return BitConverter.ToUInt64(Bss(c, v.MapName).AsSpan((int)v.Offset, 8));
    }

    private static void Run(BpfCollection c, string prog) =>
        Assert.Equal(0u, c.Programs[prog].TestRun(new TestRunOptions()).ReturnValue);

    [Fact]
    public void KconfigExternsReadTheKernelConfig()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("kfunc-cpumask"); // externs.bpf.o calls kfuncs of 6.2/6.3
        using var leak = new FdLeakCheck();
        var spec = Spec();
        using var c = BpfCollection.Load(spec);
        Run(c, "read_kconfig");
        // The kernel took the object's BTF with its extern VARs/FUNCs rewritten, and the .kconfig map with it.
        Assert.Empty(c.Warnings);
        Assert.NotNull(c.Btf);
        Assert.NotEqual(0u, c.Maps[".kconfig"].GetInfo().BtfValueTypeId);
        var config = KernelConfig.Load();
        var v = spec.Variables["kconfig_out"];
        var bytes = Bss(c, v.MapName).AsMemory((int)v.Offset, (int)v.Size);
        ulong U(int i) => BitConverter.ToUInt64(bytes.Span[(i * 8)..]);
        Assert.True(config.TryGetValue("CONFIG_BPF_SYSCALL", out var syscall));
        Assert.Equal(syscall == "y" ? 1ul : 0ul, U(0));
        Assert.True(config.TryGetValue("CONFIG_BPF_JIT", out var jit));
        Assert.Equal(jit switch { "y" => 1ul, "m" => 2ul, _ => 0ul }, U(1));
        Assert.True(config.TryGetValue("CONFIG_HZ", out var hz));
        Assert.Equal(ulong.Parse(hz), U(2));
        Assert.True(config.TryGetValue("CONFIG_NR_CPUS", out var cpus));
        Assert.Equal(ulong.Parse(cpus), U(3));
        Assert.Equal(0ul, U(4)); // weak and absent
        Assert.Equal(KernelConfig.LinuxKernelVersion(), U(5));
        // Debian's release (6.1.0-56-cloud-amd64) does not carry the upstream patch level: its version string does.
        string kernelVersion = File.ReadAllText("/proc/sys/kernel/version");
        int debian = kernelVersion.IndexOf("Debian ", StringComparison.Ordinal);
        var upstream = KernelFacts.ParseVersion(debian >= 0 ? kernelVersion[(debian + 7)..] : KernelConfig.KernelRelease());
        Assert.Equal(((uint)upstream.Major << 16) | ((uint)upstream.Minor << 8) | Math.Min((uint)upstream.Build, 255u), (uint)U(5));
        Assert.Equal(BtfSpec.LoadKernel().TryTypeByName("__x64_sys_bpf", BtfKind.Func, out _) ? 1ul : 0ul, U(6));
        Assert.Equal(1ul, U(7)); // bpf_get_attach_cookie exists since 5.15
        Assert.True(config.TryGetValue("CONFIG_DEFAULT_HOSTNAME", out var host));
        string expectedHost = host.Trim('"');
        Assert.Equal(expectedHost, Encoding.ASCII.GetString(bytes.Span.Slice(64, 16)).TrimEnd('\0'));
        Assert.True(config.TryGetValue("CONFIG_LOCALVERSION", out var local));
        string expectedLocal = local.Trim('"');
        Assert.Equal(expectedLocal[..Math.Min(3, expectedLocal.Length)], Encoding.ASCII.GetString(bytes.Span.Slice(80, 4)).TrimEnd('\0'));
        // The map holding them is read-only for programs and frozen.
        Assert.True(c.Maps[".kconfig"].GetInfo().Flags.HasFlag(SharpBpf.Maps.MapFlags.ReadOnlyProg));
    }

    [Fact]
    public void KsymExternsResolveAgainstKallsymsAndKernelBtf()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("kfunc-cpumask"); // externs.bpf.o calls kfuncs of 6.2/6.3
        using var leak = new FdLeakCheck();
        var spec = Spec();
        using var c = BpfCollection.Load(spec);
        Run(c, "read_ksyms");
        var kallsyms = KernelSymbols.Lookup(["_stext"]);
        Assert.True(kallsyms.TryGetValue("_stext", out ulong expected));
        Assert.NotEqual(0ul, expected);
        Assert.Equal(expected, Var(c, spec, "typeless_addr"));
        Assert.Equal(0ul, Var(c, spec, "missing_addr")); // weak typed ksym the kernel lacks
    }

    /// <summary>externs.bpf.o without the program that needs kernel data symbols in kallsyms when they are absent.</summary>
    private static CollectionSpec Spec()
    {
        var spec = TestData.Spec("externs.bpf.o");
        if (!HasKallsymsData) spec.Programs["read_percpu_ksym"].AutoLoad = false;
        return spec;
    }

    // CONFIG_KALLSYMS_ALL: data symbols (like runqueues) are in kallsyms; the kernel resolves a typed __ksym
    // variable's address there (BPF_PSEUDO_BTF_ID), so without them typed variables cannot load.
    internal static bool HasKallsymsData => KernelSymbols.Lookup(["runqueues"]).ContainsKey("runqueues");

    [Fact]
    public void TypedPerCpuKsymReadsTheRunqueue()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("kfunc-cpumask"); // externs.bpf.o calls kfuncs of 6.2/6.3
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("externs.bpf.o");
        foreach (var p in spec.Programs.Values) p.AutoLoad = p.Name == "read_percpu_ksym";
        Assert.True(BtfSpec.LoadKernel().TryTypeByName("runqueues", BtfKind.Var, out var kernelVar));
        if (!HasKallsymsData)
        {
            // This kernel (CONFIG_KALLSYMS_ALL off) cannot load typed variables at all. Our part is still checked:
            // BPF_PSEUDO_BTF_ID with the kernel's VAR id, which the kernel accepted as BTF and then failed to find the
            // address of, naming the symbol it looked up.
            var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
            Assert.Equal(("program", "read_percpu_ksym"), (e.Kind, e.Name));
            Assert.Contains("kernel symbol 'runqueues'", Assert.IsType<BpfVerifierException>(e.InnerException).Message);
            var insn = spec.Programs["read_percpu_ksym"].ExternReferences.Single(r => r.ExternName == "runqueues");
            Assert.Equal(0x18, spec.Programs["read_percpu_ksym"].Instructions[insn.Instruction].OpCode);
            return;
        }
        using var c = BpfCollection.Load(spec);
        Run(c, "read_percpu_ksym");
        Assert.Equal(1ul, Var(c, spec, "rq_nonnull"));
        Assert.Equal(0ul, Var(c, spec, "rq_cpu")); // CPU 0's runqueue says it belongs to CPU 0
        Assert.NotEqual(0u, kernelVar.Id);
    }

    [Fact]
    public void KfuncsAreCalledAndAMissingWeakOneIsDeadCode()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("kfunc-cpumask"); // externs.bpf.o calls kfuncs of 6.2/6.3
        using var leak = new FdLeakCheck();
        var spec = Spec();
        using var c = BpfCollection.Load(spec);
        Run(c, "call_kfuncs");
        // bpf_cpumask_set_cpu(0), (1) then bpf_cpumask_weight: cpu 1 exists only with two or more CPUs (a 1-vCPU guest).
        Assert.Equal((ulong)Math.Min(2, Environment.ProcessorCount), Var(c, spec, "weight"));
        Assert.Equal(0ul, Var(c, spec, "weak_kfunc_present"));
        Assert.Equal(1ul, Var(c, spec, "kfunc_present")); // ld_imm64 with the kfunc's kernel BTF id
        var call = spec.Programs["call_kfuncs"];
        Assert.Contains(call.ExternReferences, r => r.ExternName == "bpf_cpumask_create");
    }
}
