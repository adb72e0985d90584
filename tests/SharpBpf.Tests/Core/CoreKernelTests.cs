using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using SharpBpf.Btf;
using SharpBpf.Core;
using SharpBpf.Programs;
using SharpBpf.Tests.Btf;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Core;

/// <summary>testdata/core.bpf.c and core_poison.bpf.c relocated against the running kernel's BTF, loaded and run
/// (raw_tp test runs execute in the calling thread); every value is checked against the kernel BTF walked here and
/// against what the values really are (this thread's pid, tgid, comm, child-subreaper bit).</summary>
[Collection(KernelCollection.Name)]
public partial class CoreKernelTests
{
    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    private const int PrSetChildSubreaper = 36;

    private static BtfSpec Kernel => BtfSpec.Kernel;

    /// <summary>Byte offset of a member path (direct members, through named members only) in kernel struct <paramref name="root"/>.</summary>
    private static (long BitOffset, BtfMember Member) KernelMember(string root, params string[] path)
    {
        BtfType t = Kernel.TypeByName<BtfStruct>(root);
        long bits = 0;
        BtfMember? m = null;
        foreach (var name in path)
        {
            var c = Assert.IsAssignableFrom<BtfComposite>(Kernel.Resolve(t));
            m = c.FindMember(name) ?? throw new KeyNotFoundException($"kernel {c} has no member {name}");
            bits += m.BitOffset;
            t = m.Type;
        }
        return (bits, m!);
    }

    private static Dictionary<string, ulong> Results(BpfCollection c, CollectionSpec spec)
    {
        var layout = spec.Btf!.TypeByName<BtfStruct>("core_results");
        var bss = c.Maps[".bss"];
        var value = new byte[bss.ValueSize];
        bss.Lookup(new byte[4], value);
        var results = new Dictionary<string, ulong>();
        foreach (var m in layout.Members)
            results[m.Name] = BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan((int)(m.BitOffset / 8)));
        return results;
    }

    [Fact]
    public void FieldRelocationsReadTheRealValues()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("core.bpf.o");
        using var c = BpfCollection.Load(spec);
        var prog = c.Programs["core_fields"];

        Assert.Equal(0, prctl(PrSetChildSubreaper, 0, 0, 0, 0));
        int tid = gettid();
        prog.TestRun(new TestRunOptions());
        var r = Results(c, spec);
        Assert.Equal(1ul, r["runs"]);
        Assert.Equal((ulong)tid, r["pid"]);
        Assert.Equal((ulong)Environment.ProcessId, r["tgid"]);
        Assert.Equal((ulong)Environment.ProcessId, r["sub_tgid_fields"]);
        string comm = File.ReadAllText($"/proc/self/task/{tid}/comm");
        Assert.Equal((ulong)comm[0], r["comm0"]);

        var (pidBits, pid) = KernelMember("task_struct", "pid");
        Assert.Equal((ulong)(pidBits / 8), r["pid_offset"]);
        Assert.Equal((ulong)Kernel.SizeOf(pid.Type), r["pid_size"]);
        Assert.Equal(4ul, r["pid_size"]);
        Assert.Equal(1ul, r["pid_exists"]);
        Assert.Equal(1ul, r["pid_signed"]);
        var (commBits, commMember) = KernelMember("task_struct", "comm");
        Assert.Equal((ulong)(commBits / 8), r["comm_offset"]);
        Assert.Equal((ulong)Kernel.SizeOf(commMember.Type), r["comm_size"]);
        var (prevBits, _) = KernelMember("task_struct", "children", "prev");
        Assert.Equal((ulong)(prevBits / 8), r["children_offset"]);

        // The flavor's field the kernel lacks: reported absent, and its guarded (poisoned) read never ran.
        Assert.Equal(0ul, r["missing_exists"]);
        Assert.Equal(12345ul, r["missing_value"]);

        // flags through a u64 flavor: the 8-byte load was shrunk to the kernel's 4 bytes, so both agree.
        Assert.NotEqual(0ul, r["flags"]);
        Assert.Equal(r["flags"], r["flags_old"]);

        // Bitfield shifts as computed from the kernel's signal_struct, and the bit itself, before and after prctl.
        var (bitOff, bit) = KernelMember("signal_struct", "is_child_subreaper");
        long storage = Kernel.SizeOf(bit.Type);
        long byteOff = bitOff / 8 / storage * storage;
        Assert.Equal((ulong)(64 - (bitOff + bit.BitfieldSize - byteOff * 8)), r["subreaper_lshift"]);
        Assert.Equal((ulong)(64 - bit.BitfieldSize), r["subreaper_rshift"]);
        Assert.Equal(0ul, r["subreaper"]);
        Assert.Equal(0ul, r["subreaper_probed"]);
        try
        {
            Assert.Equal(0, prctl(PrSetChildSubreaper, 1, 0, 0, 0));
            prog.TestRun(new TestRunOptions());
            r = Results(c, spec);
            Assert.Equal(1ul, r["subreaper"]);
            Assert.Equal(1ul, r["subreaper_probed"]);
        }
        finally
        {
            prctl(PrSetChildSubreaper, 0, 0, 0, 0);
        }

        // The results the collection reports: the shrunk load, and the subprogram relocated in both programs.
        var rel = c.CoreRelocations["core_fields"];
        var flagsOld = Assert.Single(rel, x => x.TypePath == "struct task_struct___old.flags" && x.Kind == BtfCoreRelocationKind.FieldByteOffset);
        Assert.Equal((8, 4), (flagsOld.OldSize, flagsOld.NewSize));
        Assert.Equal((ulong)(KernelMember("task_struct", "flags").BitOffset / 8), flagsOld.NewValue);
        var poisoned = Assert.Single(rel, x => x.Poisoned);
        Assert.Equal("struct task_struct___old.sharpbpf_no_such_field", poisoned.TypePath);
        ulong tgidOffset = (ulong)(KernelMember("task_struct", "tgid").BitOffset / 8);
        Assert.Contains(rel, x => x.TypePath == "struct task_struct.tgid" && x.NewValue == tgidOffset);
        Assert.Equal(2, rel.Count(x => x.TypePath == "struct task_struct.tgid" && x.Kind == BtfCoreRelocationKind.FieldByteOffset));
        Assert.Contains(c.CoreRelocations["core_types"], x => x.TypePath == "struct task_struct.tgid" && x.NewValue == tgidOffset);
    }

    [Fact]
    public void TypeAndEnumRelocationsMatchKernelBtf()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("core.bpf.o");
        using var c = BpfCollection.Load(spec);
        c.Programs["core_types"].TestRun(new TestRunOptions());
        var r = Results(c, spec);
        var task = Kernel.TypeByName<BtfStruct>("task_struct");
        Assert.Equal((ulong)spec.Btf!.TypeByName<BtfStruct>("task_struct").Id, r["local_type_id"]);
        Assert.Equal((ulong)task.Id, r["target_type_id"]);
        Assert.Equal(1ul, r["type_exists"]);
        Assert.Equal(0ul, r["missing_type_exists"]);
        Assert.Equal((ulong)task.Size, r["type_size"]);
        Assert.Equal((ulong)Environment.ProcessId, r["sub_tgid_types"]);

        var pidType = (BtfEnum)Kernel.TypeByName("pid_type", BtfKind.Enum);
        Assert.True(pidType.TryGetValue("PIDTYPE_SID", out long sid));
        Assert.Equal((ulong)sid, r["sid_value"]);
        Assert.Equal(1ul, r["tgid_exists"]);
        Assert.Equal(0ul, r["missing_enum_exists"]);
        // A local 32-bit enum flavor relocated against the kernel's 64-bit enum: the full 64-bit values arrive.
        var callchain = (BtfEnum)Kernel.TypeByName("perf_callchain_context", BtfKind.Enum64);
        Assert.True(callchain.TryGetValue("PERF_CONTEXT_USER", out long user));
        Assert.True(callchain.TryGetValue("PERF_CONTEXT_MAX", out long max));
        Assert.Equal(unchecked((ulong)user), r["user_value"]);
        Assert.Equal(unchecked((ulong)max), r["max_value"]);
        Assert.True(r["user_value"] > uint.MaxValue);

        // TYPE_EXISTS is structural only: both list_head flavors exist.
        Assert.Equal(1ul, r["matches_good"]);
        Assert.Equal(1ul, r["matches_bad"]);
    }

    [Fact]
    public void TypeMatchesTellsShapesApart()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // clang-14 cannot emit TYPE_MATCHES: turn the two TYPE_EXISTS records of the list_head flavors into it.
        var bytes = TestData.Read("core.bpf.o");
        var original = TestData.Spec("core.bpf.o");
        foreach (var name in new[] { "list_head___good", "list_head___bad" })
        {
            uint id = original.Btf!.TypeByName<BtfStruct>(name).Id;
            var records = original.BtfExt!.Sections["raw_tp"].CoreRelocations.Where(x => x.TypeId == id).ToList();
            var record = Assert.Single(records);
            Assert.Equal(BtfCoreRelocationKind.TypeExists, record.Kind);
            int patched = 0;
            for (int at = 0; at + 16 <= bytes.Length; at += 4)
            {
                var s = bytes.AsSpan(at);
                if (BinaryPrimitives.ReadUInt32LittleEndian(s) == record.InstructionOffset && BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) == id
                    && BinaryPrimitives.ReadUInt32LittleEndian(s[8..]) == record.AccessStringOffset && BinaryPrimitives.ReadUInt32LittleEndian(s[12..]) == 8)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 12), (uint)BtfCoreRelocationKind.TypeMatches);
                    patched++;
                }
            }
            Assert.Equal(1, patched);
        }
        var spec = SharpBpf.Elf.ElfReader.Read(bytes, "core");
        using var c = BpfCollection.Load(spec);
        c.Programs["core_types"].TestRun(new TestRunOptions());
        var r = Results(c, spec);
        Assert.Equal(1ul, r["matches_good"]);
        Assert.Equal(0ul, r["matches_bad"]);
        Assert.Equal(2, c.CoreRelocations["core_types"].Count(x => x.Kind == BtfCoreRelocationKind.TypeMatches));
    }

    [Fact]
    public void ReachablePoisonedInstructionNamesTheRelocation()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("core_poison.bpf.o");
        var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Equal(("program", "core_unguarded"), (e.Kind, e.Name));
        var core = Assert.IsType<CoreRelocationException>(e.InnerException);
        Assert.Equal("core_unguarded", core.ProgramName);
        Assert.Equal(BtfCoreRelocationKind.FieldByteOffset, core.Kind);
        Assert.Equal("struct task_struct.sharpbpf_no_such_field", core.TypePath);
        Assert.Equal("0:1", core.AccessString);
        Assert.Contains("struct task_struct.sharpbpf_no_such_field", e.Message);
        Assert.Contains("byte_off", e.Message);
        Assert.Contains("core_unguarded", e.Message);
        Assert.True(core.Result!.Poisoned);
        Assert.Contains("unknown#195896080", Assert.IsType<BpfVerifierException>(core.InnerException).Log);

        // Only the reachable use fails: the other program of the object loads and reads the real pid.
        spec.Programs["core_unguarded"].AutoLoad = false;
        using var c = BpfCollection.Load(spec);
        int tid = gettid();
        c.Programs["core_ok"].TestRun(new TestRunOptions());
        var value = new byte[c.Maps[".bss"].ValueSize];
        c.Maps[".bss"].Lookup(new byte[4], value);
        Assert.Equal((ulong)tid, BitConverter.ToUInt64(value));
    }

    [Fact]
    public void KernelTypesOptionReplacesTheKernelBtf()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("core_poison.bpf.o");
        spec.Programs["core_unguarded"].AutoLoad = false;
        // A target BTF without task_struct: core_ok's pid read cannot be relocated and is reached.
        var tiny = new BtfBlobBuilder();
        tiny.Add(BtfKind.Int, "int", 0, 4, false, 0x01000020);
        var target = BtfSpec.Parse(tiny.Build());
        var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec, new CollectionLoadOptions { KernelTypes = target }));
        var core = Assert.IsType<CoreRelocationException>(e.InnerException);
        Assert.Equal(("core_ok", "struct task_struct.pid"), (core.ProgramName, core.TypePath));
    }

    [Fact]
    public void LibbpfPatchesEveryInstructionAlike()
    {
        KernelTest.Require();
        if (!File.Exists("/usr/sbin/bpftool") && !File.Exists("/usr/bin/bpftool"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("bpftool is missing in CI (.ci/run installs it)");
            Assert.Skip("bpftool is not installed");
        }
        string dir = Path.Combine(Pinning.BpfFs.DefaultPath, "sharpbpf-core-" + Guid.NewGuid().ToString("N")[..12]);
        string log;
        try
        {
            (int rc, log) = BpftoolCrossCheckTests.Bpftool($"-d prog loadall {TestData.PathOf("core.bpf.o")} {dir}");
            Assert.True(rc == 0, log);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
                Directory.Delete(dir);
            }
        }
        var spec = TestData.Spec("core.bpf.o");
        var ours = CoreRelocator.Relocate(spec, Kernel);
        var patched = new Regex(@"prog '(\w+)': relo #\d+: (?:patched insn #(\d+) \([A-Z0-9/]+\) (?:imm64|imm|off) (\d+) -> (\d+)|substituting insn #(\d+) w/ invalid insn|patched insn #(\d+) \(LDX/ST/STX\) mem_sz (\d+) -> (\d+))");
        int compared = 0;
        foreach (Match m in patched.Matches(log))
        {
            string prog = m.Groups[1].Value;
            if (prog == "sub_tgid")
            {
                // libbpf relocates the subprogram once before appending it; we relocate each copy.
                var copies = ours.Values.SelectMany(l => l).Where(r => r.TypePath == "struct task_struct.tgid" && r.Kind == BtfCoreRelocationKind.FieldByteOffset).ToList();
                Assert.NotEmpty(copies);
                Assert.All(copies, r => Assert.Equal(ulong.Parse(m.Groups[4].Value), r.NewValue));
            }
            else if (m.Groups[2].Success)
            {
                var r = Assert.Single(ours[prog], x => x.Instruction == int.Parse(m.Groups[2].Value));
                Assert.Equal((ulong.Parse(m.Groups[3].Value), ulong.Parse(m.Groups[4].Value)), (r.OldValue, r.NewValue));
            }
            else if (m.Groups[5].Success)
                Assert.True(Assert.Single(ours[prog], x => x.Instruction == int.Parse(m.Groups[5].Value)).Poisoned);
            else
            {
                var r = Assert.Single(ours[prog], x => x.Instruction == int.Parse(m.Groups[6].Value));
                Assert.Equal((int.Parse(m.Groups[7].Value), int.Parse(m.Groups[8].Value)), (r.OldSize, r.NewSize));
            }
            compared++;
        }
        // Every relocation of the two programs (subprogram copies counted once by libbpf) was compared.
        Assert.Equal(ours.Values.Sum(l => l.Count) - 1 + 1 /* mem_sz line */, compared);
    }
}
