using System.Runtime.InteropServices;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Elf;

/// <summary>Every testdata object loads as a collection; programs whose type can run here are run and their
/// results checked.</summary>
[Collection(KernelCollection.Name)]
public class CollectionLoadTests
{
    /// <summary>Programs this machine cannot load, with the known-absent feature that explains it.</summary>
    internal static readonly Dictionary<string, string> KnownUnloadable = new()
    {
        ["fentry_unlink"] = "fentry-load",
        ["fexit_unlink"] = "fexit-load",
        ["lsm_file_open"] = "lsm-load",
        ["lsm_exec"] = "lsm-load",
        ["dump_counts"] = "iter-map-elem-load",
    };

    /// <summary>Objects that need a declared feature as a whole (a strong kfunc extern, a newer program type).</summary>
    private static readonly Dictionary<string, string> ObjectNeeds = new()
    {
        ["externs.bpf.o"] = "kfunc-cpumask",
        ["netfilter.bpf.o"] = "program-type:Netfilter",
        ["net_netfilter.bpf.o"] = "program-type:Netfilter",
        ["net_struct_ops.bpf.o"] = "struct-ops-link",
    };

    /// <summary>Programs that need the object's BTF loaded with them (bpf_spin_lock values, callbacks need
    /// func_info); collection loading does not pass BTF yet.</summary>
    private static readonly HashSet<string> NeedBtf = [];

    [Theory]
    [MemberData(nameof(TestData.ObjectNames), MemberType = typeof(TestData))]
    public void EveryObjectLoads(string file)
    {
        KernelTest.Require();
        if (ObjectNeeds.TryGetValue(file, out var needed)) KernelTest.RequireDeclared(needed);
        using var leak = new FdLeakCheck();
        using var pins = new PinDirectory();
        var options = new CollectionLoadOptions { PinPath = pins.Path };
        var spec = TestData.Spec(file);
        // Typed __ksym variables need data symbols in kallsyms (see ExternLoadTests.TypedPerCpuKsymReadsTheRunqueue).
        if (spec.Programs.TryGetValue("read_percpu_ksym", out var percpu) && !Externs.ExternLoadTests.HasKallsymsData) percpu.AutoLoad = false;
        if (spec.Programs.TryGetValue("unchecked_read", out var rejected))
        {
            var v = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec, options));
            Assert.Equal(("program", "unchecked_read"), (v.Kind, v.Name));
            Assert.Contains("invalid access to packet", Assert.IsType<BpfVerifierException>(v.InnerException).Log);
            rejected.AutoLoad = false;
        }
        if (spec.Programs.TryGetValue("core_unguarded", out var poisoned))
        {
            // Reads a field the kernel lacks without a guard: its poisoned instruction is reached (CoreKernelTests).
            var v = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec, options));
            Assert.Equal(("program", "core_unguarded"), (v.Kind, v.Name));
            Assert.IsType<SharpBpf.Core.CoreRelocationException>(v.InnerException);
            poisoned.AutoLoad = false;
        }
        foreach (var (name, p) in spec.Programs)
        {
            if (!NeedBtf.Contains(name)) continue;
            var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec, options));
            Assert.Equal(name, e.Name);
            Assert.Contains("btf", e.Message, StringComparison.OrdinalIgnoreCase);
            p.AutoLoad = false;
        }
        var skipped = new List<string>();
        foreach (var (name, p) in spec.Programs)
        {
            if (!KnownUnloadable.TryGetValue(name, out var feature) || !KnownAbsent.Features.Contains(feature)) continue;
            // Prove the refusal is the known one, then load the rest of the object without it.
            var alone = spec.Copy();
            foreach (var other in alone.Programs.Values) other.AutoLoad = other.Name == name;
            var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(alone, options));
            Assert.Equal(("program", name), (e.Kind, e.Name));
            Assert.True(e.InnerException is BpfException { ErrnoName: "EPERM" or "EINVAL" or "ENOTSUPP" or "ESRCH" }, e.ToString());
            p.AutoLoad = false;
            skipped.Add(name);
        }
        using (var coll = BpfCollection.Load(spec, options))
        {
            Assert.Equal(spec.Programs.Values.Where(p => p.AutoLoad).Select(p => p.Name).Order(), coll.Programs.Keys.Order());
            Assert.Equal(spec.Maps.Keys.Order(), coll.Maps.Keys.Order());
            foreach (var (name, prog) in coll.Programs)
            {
                Assert.Equal(spec.Programs[name].Type, prog.Type);
                Assert.Equal(name.Length > 15 ? name[..15] : name, prog.Name);
            }
        }
        if (skipped.Count > 0 && spec.Programs.Values.All(p => !p.AutoLoad))
            KernelTest.RequireFeature(KnownUnloadable[skipped[0]], $"{string.Join(", ", skipped)} cannot load on this kernel");
    }

    private static uint Run(BpfCollection c, string prog, byte[] data) => c.Programs[prog].TestRun(data).ReturnValue;

    // Syscall programs take no ctx_out: the kernel writes the context back into the ctx_in buffer.
    private static uint RunSyscall(BpfCollection c, string prog, Span<byte> ctx = default) =>
        c.Programs[prog].TestRun(new TestRunOptions { Context = ctx }).ReturnValue;

    private static ulong U64(BpfMap map, uint key)
    {
        Span<byte> v = stackalloc byte[(int)map.ValueSize];
        map.Lookup(BitConverter.GetBytes(key), v);
        return map.ValueSize >= 8 ? BitConverter.ToUInt64(v) : BitConverter.ToUInt32(v);
    }

    [Fact]
    public void XdpProgramsRun()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using (var c = BpfCollection.LoadFile(TestData.PathOf("xdp_pass.bpf.o")))
            Assert.Equal(2u, Run(c, "xdp_pass", Frames.Udp4(53)));
        using (var c = BpfCollection.LoadFile(TestData.PathOf("xdp_port_drop.bpf.o")))
        {
            Assert.Equal(1u, Run(c, "xdp_port_drop", Frames.Udp4(9)));      // XDP_DROP
            Assert.Equal(2u, Run(c, "xdp_port_drop", Frames.Udp4(53)));     // XDP_PASS
            Assert.Equal(2u, Run(c, "xdp_port_drop", Frames.Ipv6()));
            Assert.Equal(1ul, U64(c.Maps["verdicts"], 1));
            Assert.Equal(2ul, U64(c.Maps["verdicts"], 2));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("multi_prog.bpf.o")))
        {
            Assert.Equal(2u, Run(c, "multi_first", Frames.Udp4(1)));
            Assert.Equal(1u, Run(c, "multi_second", Frames.Udp4(1)));
            Assert.Equal(1ul, U64(c.Maps["hits"], 0));
            Assert.Equal(1ul, U64(c.Maps["hits"], 1));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("xdp_variants.bpf.o")))
        {
            Assert.Equal(2u, Run(c, "xdp_frags_prog", Frames.Udp4(1)));
            Assert.Equal(2u, Run(c, "xdp_redirect_prog", Frames.Udp4(1))); // empty devmap slot: the default action
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("subprograms.bpf.o")))
        {
            Assert.Equal(2u, Run(c, "sub_xdp", Frames.Udp4(1)));
            Assert.Equal(86u * 86 + 1, Run(c, "sub_socket", Frames.Udp4(1, 100))); // skb->len excludes the Ethernet header
        }
    }

    [Fact]
    public void SkbProgramsRun()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using (var c = BpfCollection.LoadFile(TestData.PathOf("legacy_maps.bpf.o")))
        {
            // skb programs see the frame after the 14-byte Ethernet header is pulled
            Assert.Equal(66u, Run(c, "legacy_count", Frames.Udp4(1, 80)));
            Assert.Equal(66u, Run(c, "legacy_count", Frames.Udp4(1, 80)));
            Assert.Equal(2ul, U64(c.Maps["packets"], 0));
            Assert.Equal(2ul, U64(c.Maps["lengths"], 66));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("socket_filter.bpf.o")))
        {
            Assert.Equal(64u, Run(c, "socket_trim", Frames.Udp4(1, 250)));
            Assert.Equal(36u, Run(c, "socket_trim", Frames.Udp4(1, 50)));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("tc_classifier.bpf.o")))
        {
            Assert.Equal(0u, Run(c, "tc_classify", Frames.Udp4(1)));   // TC_ACT_OK
            Assert.Equal(2u, Run(c, "tc_classify", Frames.Ipv6()));    // TC_ACT_SHOT
            Assert.Equal(2u, Run(c, "tcx_ingress", Frames.Udp4(1, 1200)));
            Assert.Equal(0u, Run(c, "classifier_legacy", Frames.Udp4(1)));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("cgroup_skb.bpf.o")))
        {
            Assert.Equal(1u, Run(c, "cgroup_ingress", Frames.Udp4(1, 70)));
            Assert.Equal(56ul, U64(c.Maps[".bss"], 0) & 0xffff_ffff); // ingress_bytes: the first 8 bytes of .bss
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("custom_sections.bpf.o")))
        {
            Assert.Equal(52u, Run(c, "custom_sections", Frames.Udp4(1)));
            Assert.Equal(52ul, U64(c.Maps[".data.counters"], 0));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("tail_calls.bpf.o")))
            Assert.Equal(42u, Run(c, "tail_entry", Frames.Udp4(1)));
    }

    [Fact]
    public void GlobalDataConstantsSetBeforeLoadAndRodataFrozen()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("global_data.bpf.o");
        spec.SetVariable("multiplier", 5u);
        using var c = BpfCollection.Load(spec);
        Assert.Equal(2u, Run(c, "global_data", Frames.Udp4(1, 64)));
        var data = c.Maps[".data"];
        Span<byte> value = stackalloc byte[(int)data.ValueSize];
        data.Lookup(new byte[4], value);
        var v = spec.Variables["last_result"];
        Assert.Equal(64ul * 5 + 100, BitConverter.ToUInt64(value[(int)v.Offset..]));
        var h = spec.Variables["history"];
        Assert.Equal(64u, BitConverter.ToUInt32(value[((int)h.Offset + 4)..])); // history[calls & 3] with calls == 1
        Assert.Equal(1ul, U64(c.Maps[".bss"], 0));
        var rodata = c.Maps[".rodata"];
        Assert.Equal(MapFlags.Mmapable | MapFlags.ReadOnlyProg, rodata.Flags);
        var e = Assert.Throws<BpfException>(() => rodata.Update(new byte[4], new byte[rodata.ValueSize]));
        Assert.Equal("EPERM", e.ErrnoName); // frozen
    }

    [Fact]
    public void SyscallProgramsRun()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using (var c = BpfCollection.LoadFile(TestData.PathOf("syscall_args.bpf.o")))
        {
            var ctx = new byte[16];
            BitConverter.TryWriteBytes(ctx.AsSpan(0), 6u);
            BitConverter.TryWriteBytes(ctx.AsSpan(4), 7u);
            Assert.Equal(13u, RunSyscall(c, "syscall_args", ctx));
            Assert.Equal(42ul, BitConverter.ToUInt64(ctx, 8));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("map_in_map.bpf.o")))
        {
            Assert.Equal(77u, RunSyscall(c, "map_in_map"));  // wrote 77 through outer_array[1] = inner_b, read via outer_hash[3]
            Assert.Equal(77ul, U64(c.Maps["inner_b"], 0));
            Assert.Equal(0ul, U64(c.Maps["inner_a"], 0));
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("callbacks.bpf.o")))
        {
            c.Maps["numbers"].Update(BitConverter.GetBytes(3u), BitConverter.GetBytes(1000ul));
            Assert.Equal(1045u, RunSyscall(c, "callbacks")); // 0+1+...+9 from bpf_loop, + the map values
        }
        using (var c = BpfCollection.LoadFile(TestData.PathOf("strings.bpf.o")))
            Assert.Equal(131u, RunSyscall(c, "strings_prog"));
        var attrs = TestData.Spec("map_attrs.bpf.o");
        attrs.Maps["stacks"].MaxEntries = 1024; // the run-time resize libbpf-tools do
        using (var c = BpfCollection.Load(attrs))
        {
            Assert.Equal(1024u, c.Maps["stacks"].MaxEntries);
            Assert.Equal(15u, Run(c, "map_attrs", Frames.Udp4(1)));
            c.Maps["routes"].Update([32, 0, 0, 0, 127, 0, 0, 1], BitConverter.GetBytes(1u));
            Assert.Equal(116u, Run(c, "map_attrs", Frames.Udp4(1))); // FIFO head is now the 6 left by the first run
        }
    }

    [Fact]
    public void RawTracepointRunsWithArguments()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = BpfCollection.LoadFile(TestData.PathOf("tracepoints.bpf.o"));
        var args = new byte[16];
        BitConverter.TryWriteBytes(args.AsSpan(8), 257ul);
        Assert.Equal(257u, c.Programs["raw_tp_sys_enter"].TestRun(new TestRunOptions { Context = args }).ReturnValue);
    }

    [Fact]
    public void PinnedByNameMapIsReusedBySecondLoad()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = Path.Combine(Pinning.BpfFs.DefaultPath, "sharpbpf-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        try
        {
            var options = new CollectionLoadOptions { PinPath = dir };
            using var first = BpfCollection.LoadFile(TestData.PathOf("pinned_maps.bpf.o"), options);
            Assert.True(File.Exists(Path.Combine(dir, "shared_counts")));
            Assert.False(File.Exists(Path.Combine(dir, "private_counts")));
            using var second = BpfCollection.LoadFile(TestData.PathOf("pinned_maps.bpf.o"), options);
            Assert.Equal(first.Maps["shared_counts"].Id, second.Maps["shared_counts"].Id);
            Assert.NotEqual(first.Maps["private_counts"].Id, second.Maps["private_counts"].Id);
            RunSyscall(first, "pinned_maps");
            RunSyscall(second, "pinned_maps");
            Assert.Equal(2ul, U64(first.Maps["shared_counts"], 1));

            // An incompatible pin is refused, naming the map.
            var changed = TestData.Spec("pinned_maps.bpf.o");
            changed.Maps["shared_counts"].MaxEntries = 99;
            var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(changed, options));
            Assert.Equal(("map", "shared_counts"), (e.Kind, e.Name));
        }
        finally
        {
            foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void FailingProgramRollsBackEverything()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = Path.Combine(Pinning.BpfFs.DefaultPath, "sharpbpf-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        try
        {
            var spec = TestData.Spec("pinned_maps.bpf.o");
            var bad = spec.Programs["pinned_maps"];
            bad.Instructions = [.. bad.Instructions[..^1]]; // drop the final exit: the verifier refuses
            uint before = BpfMap.EnumerateIds().DefaultIfEmpty(0u).Max(); // a fresh kernel may have no map yet
            var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec, new CollectionLoadOptions { PinPath = dir }));
            Assert.Equal(("program", "pinned_maps"), (e.Kind, e.Name));
            Assert.IsType<BpfVerifierException>(e.InnerException);
            Assert.Contains("pinned_maps", e.Message);
            Assert.Empty(Directory.GetFiles(dir));
            // The maps created on the way are gone (ids above 'before' no longer exist).
            Assert.DoesNotContain(BpfMap.EnumerateIds(), id => id > before && MapName(id) is "shared_counts" or "private_counts");
        }
        finally
        {
            foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
            Directory.Delete(dir);
        }
    }

    private static string? MapName(uint id)
    {
        try
        {
            using var m = BpfMap.FromId(id);
            return m.Name;
        }
        catch (BpfException)
        {
            return null;
        }
    }

    [Fact]
    public void FailingMapIsNamedAndEarlierMapsDisposed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("map_attrs.bpf.o");
        spec.Maps["stacks"].ValueSize = 3; // stack trace values must be multiples of 8
        var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Equal(("map", "stacks"), (e.Kind, e.Name));
        Assert.IsType<BpfException>(e.InnerException);
    }

    [Fact]
    public void AutoLoadOffAndMapReplacement()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("tail_calls.bpf.o");
        spec.Programs["tail_third"].AutoLoad = false;
        using (var c = BpfCollection.Load(spec))
        {
            Assert.False(c.Programs.ContainsKey("tail_third"));
            Assert.Equal(2u, Run(c, "tail_entry", Frames.Udp4(1))); // slot 2 stays empty: tail_second falls through
        }
        using var mine = BpfMap.Create(new MapSpec { Name = "verdicts", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        var options = new CollectionLoadOptions { MapReplacements = new Dictionary<string, BpfMap> { ["verdicts"] = mine } };
        using (var c = BpfCollection.LoadFile(TestData.PathOf("xdp_port_drop.bpf.o"), options))
        {
            Assert.Equal(mine.Id, c.Maps["verdicts"].Id);
            Run(c, "xdp_port_drop", Frames.Udp4(9));
        }
        Assert.Equal(1ul, U64(mine, 1));
    }

    [Fact]
    public void RetargetedTracingProgramResolvesTheNewFunction()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("tracing_btf.bpf.o");
        foreach (var p in spec.Programs.Values) p.AutoLoad = p.Name == "fentry_unlink";
        spec.Programs["fentry_unlink"].AttachTo = "no_such_kernel_function_xyz";
        var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Contains("no_such_kernel_function_xyz", e.Message);
        Assert.Equal("fentry_unlink", e.Name);
        spec.Programs["fentry_unlink"].AttachTo = "vfs_read";
        if (KernelTest.Has("fentry-load"))
        {
            using var c = BpfCollection.Load(spec);
            Assert.Equal(ProgramType.Tracing, c.Programs["fentry_unlink"].Type);
            return;
        }
        e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        // Resolution succeeded: the refusal now comes from the kernel (EPERM here), not from a missing target.
        Assert.IsAssignableFrom<BpfException>(e.InnerException);
    }
}

[Collection(KernelCollection.Name)]
public class CollectionBtfTests
{
    [Fact]
    public void ObjectBtfIsLoadedAndPassedWithMapsAndPrograms()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = BpfCollection.LoadFile(TestData.PathOf("subprograms.bpf.o"));
        Assert.NotNull(c.Btf);
        Assert.Empty(c.Warnings);
        uint btfId = c.Btf.GetInfo().Id;
        Assert.All(c.Programs.Values, p => Assert.Equal(btfId, p.GetInfo().BtfId));
        // A global function is verified on its own, which needs func_info: the load proves it was passed.
        Assert.Equal(2u, c.Programs["sub_xdp"].TestRun(Frames.Udp4(1)).ReturnValue);

        using var spin = BpfCollection.LoadFile(TestData.PathOf("spin_lock.bpf.o"));
        Assert.Empty(spin.Warnings);
        Assert.Equal(0u, spin.Programs["spin_lock_prog"].TestRun(Frames.Udp4(1)).ReturnValue);
        Span<byte> value = stackalloc byte[16];
        spin.Maps["counter"].Lookup(new byte[4], value);
        Assert.Equal(1ul, BitConverter.ToUInt64(value[8..]));
    }

    [Fact]
    public void ProgramWithoutFunctionPlacementsLoadsWithoutLineInfo()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("xdp_pass.bpf.o");
        var p = spec.Programs["xdp_pass"];
        p.Functions = []; // as if the user had replaced the instructions: no placement to map .BTF.ext records to
        using var c = BpfCollection.Load(spec);
        Assert.Equal(2u, c.Programs["xdp_pass"].TestRun(Frames.Udp4(1)).ReturnValue);
    }
}

/// <summary>A fresh bpffs directory for pins, emptied and removed on dispose.</summary>
internal sealed class PinDirectory : IDisposable
{
    public PinDirectory()
    {
        Path = System.IO.Path.Combine(Pinning.BpfFs.DefaultPath, "sharpbpf-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        foreach (var f in Directory.GetFiles(Path)) File.Delete(f);
        Directory.Delete(Path);
    }
}
