using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Tests.Elf;

public class ElfReaderTests
{
    [Theory]
    [MemberData(nameof(TestData.ObjectNames), MemberType = typeof(TestData))]
    public void EveryTestdataObjectParsesDeterministically(string file)
    {
        var a = TestData.Spec(file);
        var b = ElfReader.Read(TestData.Read(file), ElfReader.ObjectNameFromPath(file));
        Assert.NotEmpty(a.Programs);
        Assert.Equal(a.Maps.Keys, b.Maps.Keys);
        Assert.Equal(a.Programs.Keys, b.Programs.Keys);
        foreach (var (name, p) in a.Programs)
        {
            Assert.Equal(p.Instructions, b.Programs[name].Instructions);
            Assert.Equal(p.MapReferences, b.Programs[name].MapReferences);
            Assert.NotEqual("", p.License);
            Assert.All(p.MapReferences, r => Assert.True(a.Maps.ContainsKey(r.MapName), $"{name} refers to unknown map {r.MapName}"));
        }
        foreach (var (name, m) in a.Maps) Assert.Equal(m.ToString(), b.Maps[name].ToString());
    }

    [Fact]
    public void ProgramSectionsGiveTypesAttachTypesFlagsAndTargets()
    {
        var spec = TestData.Spec("kprobes.bpf.o");
        Assert.Equal(ProgramType.Kprobe, spec.Programs["kprobe_unlink"].Type);
        Assert.Equal("do_unlinkat", spec.Programs["kprobe_unlink"].AttachTo);
        Assert.Equal("kprobe/do_unlinkat", spec.Programs["kprobe_unlink"].SectionName);
        Assert.Equal("openat", spec.Programs["ksyscall_openat"].AttachTo);
        Assert.Equal("/proc/self/exe:main", spec.Programs["uprobe_main"].AttachTo);
        Assert.Equal(ProgramFlags.Sleepable, spec.Programs["uretprobe_sleepable"].Flags);

        var xdp = TestData.Spec("xdp_variants.bpf.o");
        Assert.Equal(ProgramFlags.XdpHasFrags, xdp.Programs["xdp_frags_prog"].Flags);
        Assert.Equal(AttachType.XdpDevmap, xdp.Programs["xdp_devmap_prog"].ExpectedAttachType);
        Assert.Equal(AttachType.XdpCpumap, xdp.Programs["xdp_cpumap_prog"].ExpectedAttachType);
        Assert.Equal(AttachType.Xdp, xdp.Programs["xdp_redirect_prog"].ExpectedAttachType);

        var tracing = TestData.Spec("tracing_btf.bpf.o");
        Assert.Equal(ProgramType.Tracing, tracing.Programs["fentry_unlink"].Type);
        Assert.Equal(AttachType.TraceFentry, tracing.Programs["fentry_unlink"].ExpectedAttachType);
        Assert.Equal(AttachType.TraceFexit, tracing.Programs["fexit_unlink"].ExpectedAttachType);
        Assert.Equal(AttachType.TraceRawTp, tracing.Programs["tp_btf_switch"].ExpectedAttachType);
        Assert.Equal("sched_switch", tracing.Programs["tp_btf_switch"].AttachTo);

        var sock = TestData.Spec("cgroup_sock.bpf.o");
        Assert.Equal((ProgramType.CgroupSockAddr, AttachType.CgroupInet4Connect), (sock.Programs["connect4"].Type, sock.Programs["connect4"].ExpectedAttachType!.Value));
        Assert.Equal(ProgramType.CgroupSysctl, sock.Programs["sysctl_filter"].Type);
        Assert.Equal(ProgramType.CgroupDevice, sock.Programs["device_filter"].Type);
        Assert.Equal(ProgramType.Syscall, TestData.Spec("syscall_args.bpf.o").Programs["syscall_args"].Type);
        Assert.Equal(ProgramFlags.Sleepable, TestData.Spec("syscall_args.bpf.o").Programs["syscall_args"].Flags);
    }

    [Theory]
    [InlineData("socket", ProgramType.SocketFilter, null, null)]
    [InlineData("kprobe", ProgramType.Kprobe, null, null)]
    [InlineData("kprobe/vfs_read", ProgramType.Kprobe, null, "vfs_read")]
    [InlineData("kprobe.multi/vfs_*", ProgramType.Kprobe, AttachType.TraceKprobeMulti, "vfs_*")]
    [InlineData("usdt/libc:probe", ProgramType.Kprobe, null, "libc:probe")]
    [InlineData("tp/syscalls/sys_enter_openat", ProgramType.Tracepoint, null, "syscalls/sys_enter_openat")]
    [InlineData("raw_tp.w/x", ProgramType.RawTracepointWritable, null, "x")]
    [InlineData("fmod_ret.s/f", ProgramType.Tracing, AttachType.ModifyReturn, "f")]
    [InlineData("lsm_cgroup/socket_bind", ProgramType.Lsm, AttachType.LsmCgroup, "socket_bind")]
    [InlineData("iter.s/task", ProgramType.Tracing, AttachType.TraceIter, "task")]
    [InlineData("tcx/egress", ProgramType.SchedCls, AttachType.TcxEgress, null)]
    [InlineData("tc/ingress", ProgramType.SchedCls, AttachType.TcxIngress, null)]
    [InlineData("action", ProgramType.SchedAct, null, null)]
    [InlineData("sk_skb/verdict", ProgramType.SkSkb, AttachType.SkSkbVerdict, null)]
    [InlineData("sk_msg", ProgramType.SkMsg, AttachType.SkMsgVerdict, null)]
    [InlineData("cgroup/recvmsg_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixRecvmsg, null)]
    [InlineData("cgroup/setsockopt", ProgramType.CgroupSockopt, AttachType.CgroupSetsockopt, null)]
    [InlineData("struct_ops/dctcp_init", ProgramType.StructOps, null, "dctcp_init")]
    [InlineData("struct_ops.s/x", ProgramType.StructOps, null, "x")]
    [InlineData("perf_event", ProgramType.PerfEvent, null, null)]
    [InlineData("sk_lookup", ProgramType.SkLookup, AttachType.SkLookup, null)]
    [InlineData("netfilter", ProgramType.Netfilter, AttachType.Netfilter, null)]
    [InlineData("freplace/handler", ProgramType.Ext, null, "handler")]
    [InlineData("sk_reuseport/migrate", ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate, null)]
    [InlineData("lwt_seg6local", ProgramType.LwtSeg6local, null, null)]
    public void SectionTableMatchesLibbpf(string section, ProgramType type, AttachType? attach, string? target)
    {
        Assert.True(ProgramSections.TryClassify(section, out var info));
        Assert.Equal(type, info.Type);
        Assert.Equal(attach, info.ExpectedAttachType);
        Assert.Equal(target, info.AttachTo);
    }

    [Theory]
    [InlineData("xdp/foo")]        // exact-only entries take no target
    [InlineData("kprobefoo")]      // '+' entries need a '/' separator
    [InlineData("socket1")]
    [InlineData("")]
    [InlineData("tracepoint_x")]
    public void SectionTableRejectsNamesLibbpfRejects(string section) =>
        Assert.False(ProgramSections.TryClassify(section, out _));

    [Fact]
    public void LegacyMapsAndVersionSection()
    {
        var spec = TestData.Spec("legacy_maps.bpf.o");
        Assert.Equal(0x060100u, spec.KernelVersion);
        Assert.Equal("GPL", spec.License);
        var packets = spec.Maps["packets"];
        Assert.Equal((MapType.Array, 4u, 8u, 1u, MapFlags.None), (packets.Type, packets.KeySize, packets.ValueSize, packets.MaxEntries, packets.Flags));
        var lengths = spec.Maps["lengths"];
        Assert.Equal((MapType.Hash, 64u, MapFlags.NoPrealloc), (lengths.Type, lengths.MaxEntries, lengths.Flags));
        var prog = spec.Programs["legacy_count"];
        Assert.Equal(0x060100u, prog.KernelVersion);
        Assert.Contains(prog.MapReferences, r => r.MapName == "packets" && r.Kind == MapReferenceKind.Map);
        Assert.Contains(prog.MapReferences, r => r.MapName == "lengths");
        foreach (var r in prog.MapReferences)
            Assert.Equal((byte)0x18, prog.Instructions[r.Instruction].OpCode);
    }

    [Fact]
    public void BtfMapAttributes()
    {
        var maps = TestData.Spec("map_attrs.bpf.o").Maps;
        Assert.Equal((MapType.LpmTrie, 8u, 4u, 64u, MapFlags.NoPrealloc), (maps["routes"].Type, maps["routes"].KeySize, maps["routes"].ValueSize, maps["routes"].MaxEntries, maps["routes"].Flags));
        Assert.Equal((MapType.LruHash, MapFlags.NumaNode, 0u), (maps["recent"].Type, maps["recent"].Flags, maps["recent"].NumaNode));
        Assert.Equal((MapType.BloomFilter, 0u, 4u, 3ul), (maps["seen"].Type, maps["seen"].KeySize, maps["seen"].ValueSize, maps["seen"].MapExtra));
        Assert.Equal((MapType.Queue, MapType.Stack), (maps["fifo"].Type, maps["lifo"].Type));
        Assert.Equal((MapType.StackTrace, 4u, 127u * 8, 1u), (maps["stacks"].Type, maps["stacks"].KeySize, maps["stacks"].ValueSize, maps["stacks"].MaxEntries));
        Assert.NotEqual(0u, maps["routes"].BtfKeyTypeId);
        Assert.NotEqual(0u, maps["routes"].BtfValueTypeId);
        Assert.Equal(PinningType.ByName, TestData.Spec("pinned_maps.bpf.o").Maps["shared_counts"].Pinning);
        Assert.Equal(PinningType.None, TestData.Spec("pinned_maps.bpf.o").Maps["private_counts"].Pinning);
    }

    [Fact]
    public void ProgramArrayValuesNameThePrograms()
    {
        var spec = TestData.Spec("tail_calls.bpf.o");
        var table = spec.Maps["jump_table"];
        Assert.Equal((MapType.ProgramArray, 4u, 4u, 4u), (table.Type, table.KeySize, table.ValueSize, table.MaxEntries));
        Assert.NotNull(table.Contents);
        var entries = table.Contents.Select(e => (BitConverter.ToUInt32(e.Key), e.ProgramName)).OrderBy(e => e.Item1).ToList();
        Assert.Equal([(1u, "tail_second"), (2u, "tail_third")], entries);
    }

    [Fact]
    public void MapInMapInnerDefinitionAndValues()
    {
        var spec = TestData.Spec("map_in_map.bpf.o");
        var outer = spec.Maps["outer_array"];
        Assert.Equal((MapType.ArrayOfMaps, 4u, 4u, 2u), (outer.Type, outer.KeySize, outer.ValueSize, outer.MaxEntries));
        Assert.NotNull(outer.InnerMap);
        Assert.Equal((MapType.Array, 4u, 4u, 1u), (outer.InnerMap.Type, outer.InnerMap.KeySize, outer.InnerMap.ValueSize, outer.InnerMap.MaxEntries));
        Assert.Equal([(0u, "inner_a"), (1u, "inner_b")], outer.Contents!.Select(e => (BitConverter.ToUInt32(e.Key), e.MapName)).OrderBy(e => e.Item1).ToList());
        var hash = spec.Maps["outer_hash"];
        Assert.Equal(MapType.HashOfMaps, hash.Type);
        Assert.Equal([(3u, "inner_b")], hash.Contents!.Select(e => (BitConverter.ToUInt32(e.Key), e.MapName)).ToList());
    }

    [Fact]
    public void GlobalDataBecomesArrayMapsWithVariables()
    {
        var spec = TestData.Spec("global_data.bpf.o");
        var rodata = spec.Maps[".rodata"];
        Assert.Equal("global_d.rodata", rodata.Name);
        Assert.Equal((MapType.Array, 4u, 1u), (rodata.Type, rodata.KeySize, rodata.MaxEntries));
        Assert.True(rodata.Freeze);
        Assert.Equal(MapFlags.Mmapable | MapFlags.ReadOnlyProg, rodata.Flags);
        Assert.Equal(MapFlags.Mmapable, spec.Maps[".data"].Flags);
        Assert.False(spec.Maps[".data"].Freeze);
        Assert.Null(spec.Maps[".bss"].Contents);
        Assert.Equal(8u, spec.Maps[".bss"].ValueSize);

        Assert.Equal(3u, BitConverter.ToUInt32(spec.GetVariable("multiplier")));
        Assert.Equal(100ul, BitConverter.ToUInt64(spec.GetVariable("offset_value")));
        Assert.Equal(7ul, BitConverter.ToUInt64(spec.GetVariable("last_result")));
        Assert.True(spec.Variables["multiplier"].IsConstant);
        Assert.Equal(".bss", spec.Variables["calls"].MapName);

        spec.SetVariable("multiplier", 5u);
        Assert.Equal(5u, BitConverter.ToUInt32(spec.GetVariable("multiplier")));
        spec.SetVariable("calls", 9ul);
        Assert.Equal(9ul, BitConverter.ToUInt64(spec.GetVariable("calls")));
        Assert.Throws<ArgumentException>(() => spec.SetVariable("multiplier", 5ul));
        Assert.Throws<KeyNotFoundException>(() => spec.SetVariable("nope", 5u));

        var prog = spec.Programs["global_data"];
        Assert.Contains(prog.MapReferences, r => r.MapName == ".rodata" && r.Kind == MapReferenceKind.Value);
        foreach (var r in prog.MapReferences.Where(r => r.Kind == MapReferenceKind.Value))
        {
            Assert.Equal(2, prog.Instructions[r.Instruction].Src);
            Assert.Equal((int)r.Offset, prog.Instructions[r.Instruction + 1].Imm);
        }
        var custom = TestData.Spec("custom_sections.bpf.o");
        Assert.Contains(".rodata.limits", custom.Maps.Keys);
        Assert.Contains(".data.counters", custom.Maps.Keys);
        Assert.Contains(".bss.scratch", custom.Maps.Keys);
        Assert.Equal(42u, BitConverter.ToUInt32(custom.GetVariable("custom_const")));
    }

    [Fact]
    public void CopyIsDeep()
    {
        var spec = TestData.Spec("global_data.bpf.o");
        var copy = spec.Copy();
        copy.SetVariable("multiplier", 11u);
        copy.Maps[".data"].MaxEntries = 9;
        copy.Programs["global_data"].AutoLoad = false;
        Assert.Equal(3u, BitConverter.ToUInt32(spec.GetVariable("multiplier")));
        Assert.Equal(1u, spec.Maps[".data"].MaxEntries);
        Assert.True(spec.Programs["global_data"].AutoLoad);
    }

    [Fact]
    public void SubprogramsAreAppendedAndCallsRelocated()
    {
        var spec = TestData.Spec("subprograms.bpf.o");
        foreach (var name in new[] { "sub_xdp", "sub_socket" })
        {
            var p = spec.Programs[name];
            Assert.Equal(name, p.Functions[0].Name);
            var starts = p.Functions.ToDictionary(f => f.Start, f => f.Name);
            for (int i = 0; i < p.Instructions.Length; i++)
            {
                var insn = p.Instructions[i];
                if (insn.OpCode == 0x85 && insn.Src == 1)
                    Assert.True(starts.ContainsKey(i + insn.Imm + 1), $"{name}: call at {i} lands on {i + insn.Imm + 1}, not a function start");
            }
            Assert.Equal(p.Instructions.Length, p.Functions.Sum(f => f.Length));
        }
        Assert.Equal(["square", "sum_of_squares", "twice"], spec.Programs["sub_xdp"].Functions.Skip(1).Select(f => f.Name).Order().ToArray());
        Assert.Equal(["square", "sum_of_squares"], spec.Programs["sub_socket"].Functions.Skip(1).Select(f => f.Name).Order().ToArray());
    }

    [Fact]
    public void CallbacksBecomePseudoFuncLoads()
    {
        var p = TestData.Spec("callbacks.bpf.o").Programs["callbacks"];
        var starts = p.Functions.ToDictionary(f => f.Start, f => f.Name);
        var loads = Enumerable.Range(0, p.Instructions.Length).Where(i => p.Instructions[i] is { OpCode: 0x18, Src: 4 }).ToList();
        Assert.Equal(2, loads.Count);
        Assert.Equal(["add_index", "sum_values"], loads.Select(i => starts[i + p.Instructions[i].Imm + 1]).Order().ToArray());
    }

    [Fact]
    public void SeveralProgramsInOneSection()
    {
        var spec = TestData.Spec("multi_prog.bpf.o");
        Assert.Equal(["multi_first", "multi_second"], spec.Programs.Keys.Order().ToArray());
        Assert.All(spec.Programs.Values, p => Assert.Equal("xdp", p.SectionName));
        Assert.All(spec.Programs.Values, p => Assert.Contains(p.Functions, f => f.Name == "bump"));
    }
}
