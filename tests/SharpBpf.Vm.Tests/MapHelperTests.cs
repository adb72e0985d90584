using System.Buffers.Binary;
using SharpBpf.Asm;
using SharpBpf.Events;
using SharpBpf.Maps;

namespace SharpBpf.Vm.Tests;

/// <summary>Emulated maps (host API and program helpers) and the deterministic helpers.</summary>
public class MapHelperTests
{
    public static TheoryData<VmEngine> Engines() => [VmEngine.Interpreter, VmEngine.Jit];

    private static byte[] U32(uint v) => BitConverter.GetBytes(v);
    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);

    [Fact]
    public void HashMapHostSemantics()
    {
        using var vm = new BpfVm();
        var m = (HashVmMap)vm.CreateMap(new MapSpec { Name = "h", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 3 });
        m.Update(U32(1), U64(10));
        m.Update(U32(2), U64(20));
        m.Update(U32(3), U64(30));
        Assert.Equal(7, Assert.Throws<VmMapException>(() => m.Update(U32(4), U64(40))).Errno); // E2BIG
        Assert.Equal(17, Assert.Throws<VmMapException>(() => m.Update(U32(1), U64(1), UpdateFlags.NoExist)).Errno);
        Assert.True(m.Delete(U32(2)));
        Assert.False(m.Delete(U32(2)));
        Assert.Equal(2, Assert.Throws<VmMapException>(() => m.Update(U32(2), U64(1), UpdateFlags.Exist)).Errno);
        m.Update(U32(4), U64(40));
        var v = new byte[8];
        Assert.True(m.TryLookup(U32(4), v));
        Assert.Equal(40UL, BitConverter.ToUInt64(v));
        Assert.False(m.TryLookup(U32(2), v));
        Assert.Equal([1u, 3u, 4u], m.Entries().Select(e => BitConverter.ToUInt32(e.Key)).Order());
    }

    [Fact]
    public void HashMapSurvivesChurn()
    {
        using var vm = new BpfVm();
        var m = vm.CreateMap(new MapSpec { Name = "h", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 64 });
        var model = new Dictionary<uint, uint>();
        var rng = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            uint k = (uint)rng.Next(100);
            if (rng.Next(3) == 0) Assert.Equal(model.Remove(k), m.Delete(U32(k)));
            else if (model.Count < 64 || model.ContainsKey(k)) { m.Update(U32(k), U32((uint)i)); model[k] = (uint)i; }
            var v = new byte[4];
            uint probe = (uint)rng.Next(100);
            Assert.Equal(model.TryGetValue(probe, out uint want), m.TryLookup(U32(probe), v));
            if (model.ContainsKey(probe)) Assert.Equal(want, BitConverter.ToUInt32(v));
        }
    }

    [Fact]
    public void LruEvictsTheLeastRecentlyUsed()
    {
        using var vm = new BpfVm();
        var m = vm.CreateMap(new MapSpec { Name = "lru", Type = MapType.LruHash, KeySize = 4, ValueSize = 4, MaxEntries = 2 });
        m.Update(U32(1), U32(1));
        m.Update(U32(2), U32(2));
        m.Update(U32(1), U32(11)); // touches 1: 2 is now the oldest
        m.Update(U32(3), U32(3));
        var v = new byte[4];
        Assert.False(m.TryLookup(U32(2), v));
        Assert.True(m.TryLookup(U32(1), v));
        Assert.True(m.TryLookup(U32(3), v));
    }

    [Fact]
    public void LpmTrieFindsTheLongestPrefix()
    {
        using var vm = new BpfVm();
        var m = vm.CreateMap(new MapSpec { Name = "lpm", Type = MapType.LpmTrie, KeySize = 8, ValueSize = 4, MaxEntries = 16, Flags = MapFlags.NoPrealloc });
        byte[] Key(uint prefix, byte a, byte b, byte c, byte d) => [.. U32(prefix), a, b, c, d];
        m.Update(Key(8, 10, 0, 0, 0), U32(8));
        m.Update(Key(24, 10, 1, 2, 99), U32(24)); // bits past the prefix do not matter
        m.Update(Key(0, 0, 0, 0, 0), U32(0));
        var v = new byte[4];
        Assert.True(m.TryLookup(Key(32, 10, 1, 2, 3), v));
        Assert.Equal(24u, BitConverter.ToUInt32(v));
        Assert.True(m.TryLookup(Key(32, 10, 9, 9, 9), v));
        Assert.Equal(8u, BitConverter.ToUInt32(v));
        Assert.True(m.TryLookup(Key(32, 192, 168, 0, 1), v));
        Assert.Equal(0u, BitConverter.ToUInt32(v));
        Assert.True(m.Delete(Key(24, 10, 1, 2, 0)));
        Assert.True(m.TryLookup(Key(32, 10, 1, 2, 3), v));
        Assert.Equal(8u, BitConverter.ToUInt32(v));
        Assert.Equal(22, Assert.Throws<VmMapException>(() => m.Update(Key(33, 0, 0, 0, 0), U32(1))).Errno);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void QueueAndStackThroughHelpers(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var q = (QueueStackVmMap)vm.CreateMap(new MapSpec { Name = "q", Type = MapType.Queue, ValueSize = 8, MaxEntries = 2 });
        var s = (QueueStackVmMap)vm.CreateMap(new MapSpec { Name = "s", Type = MapType.Stack, ValueSize = 8, MaxEntries = 2 });
        // push r6 into map; returns the helper's result
        VmProgram Push(VmMap map, ulong flags) => vm.Load(new InstructionBuilder()
            .Mov64(Register.R6, Register.R1)
            .Load(MemorySize.DWord, Register.R6, Register.R1, 0)
            .Store(MemorySize.DWord, Register.R10, -8, Register.R6)
            .LoadMapFd(Register.R1, map.Fd).Mov64(Register.R2, Register.R10).Add64(Register.R2, -8).Mov64(Register.R3, (int)flags)
            .Call(87).Exit().Build());
        VmProgram Pop(VmMap map) => vm.Load(new InstructionBuilder()
            .LoadMapFd(Register.R1, map.Fd).Mov64(Register.R2, Register.R10).Add64(Register.R2, -8)
            .Call(88).Jump(JumpOp.Jeq, Register.R0, 0, 2).Mov64(Register.R0, 999).Exit()
            .Load(MemorySize.DWord, Register.R0, Register.R10, -8).Exit().Build());
        foreach (var map in new[] { q, s })
        {
            Assert.Equal(0UL, Push(map, 0).Run(U64(1)));
            Assert.Equal(0UL, Push(map, 0).Run(U64(2)));
            Assert.Equal(unchecked((ulong)-7), Push(map, 0).Run(U64(3))); // full: -E2BIG
            Assert.Equal(0UL, Push(map, 2).Run(U64(3)));                   // BPF_EXIST drops the oldest (1)
        }
        Assert.Equal(2UL, Pop(q).Run([]));
        Assert.Equal(3UL, Pop(q).Run([]));
        Assert.Equal(999UL, Pop(q).Run([]));
        Assert.Equal(3UL, Pop(s).Run([]));
        Assert.Equal(2UL, Pop(s).Run([]));
        Assert.Equal(0, s.Count);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void RingBufferRecordsReachTheRecordSource(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var rb = (RingBufVmMap)vm.CreateMap(new MapSpec { Name = "rb", Type = MapType.RingBuf, MaxEntries = 4096 });
        // output the 8 input bytes; then reserve 16, write r1's first word, submit; reserve 8 and discard
        var prog = vm.Load(new InstructionBuilder()
            .Mov64(Register.R6, Register.R1)
            .LoadMapFd(Register.R1, rb.Fd).Mov64(Register.R2, Register.R6).Mov64(Register.R3, 8).Mov64(Register.R4, 0).Call(130)
            .LoadMapFd(Register.R1, rb.Fd).Mov64(Register.R2, 16).Mov64(Register.R3, 0).Call(131)
            .Jump(JumpOp.Jeq, Register.R0, 0, 5)
            .Load(MemorySize.DWord, Register.R7, Register.R6, 0)
            .Store(MemorySize.DWord, Register.R0, 8, Register.R7)
            .Mov64(Register.R1, Register.R0).Mov64(Register.R2, 0).Call(132)
            .LoadMapFd(Register.R1, rb.Fd).Mov64(Register.R2, 8).Mov64(Register.R3, 0).Call(131)
            .Jump(JumpOp.Jeq, Register.R0, 0, 3)
            .Mov64(Register.R1, Register.R0).Mov64(Register.R2, 0).Call(133)
            .Mov64(Register.R0, 0).Exit().Build());
        using IRecordSource reader = rb.CreateReader();
        for (ulong i = 0; i < 3; i++) prog.Run(U64(0x1111 * (i + 1)));
        var got = new List<byte[]>();
        Assert.Equal(6, reader.Consume(r => got.Add(r.Data.ToArray())));
        Assert.Equal(U64(0x1111), got[0]);
        Assert.Equal(16, got[1].Length);
        Assert.Equal(0x1111UL, BitConverter.ToUInt64(got[1], 8));
        Assert.Equal(U64(0x3333), got[4]);
        Assert.Equal(0, reader.Consume(_ => { }));
        // full: reservations fail and are counted; records survive wrap-around in order
        for (int i = 0; i < 200; i++) prog.Run(U64((ulong)i));
        Assert.True(reader.LostRecords > 0);
        var record = new SharpBpf.Events.Record();
        int n = 0;
        while (reader.ReadInto(ref record, TimeSpan.Zero, TestContext.Current.CancellationToken)) n++;
        Assert.True(n > 100);
        for (int i = 0; i < 500; i++)
        {
            prog.Run(U64((ulong)i));
            Assert.Equal(2, reader.Consume(r => Assert.True(r.Data.Length is 8 or 16)));
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void PerfEventOutputReachesTheRecordSourceWithCpu(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine, CpuCount = 4, Cpu = 2 });
        var perf = (PerfEventArrayVmMap)vm.CreateMap(new MapSpec { Name = "events", Type = MapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = 4 });
        var prog = vm.Load(new InstructionBuilder()
            .Mov64(Register.R4, Register.R1).Mov64(Register.R5, Register.R2)
            .LoadMapFd(Register.R2, perf.Fd).LoadImm64(Register.R3, 0xffffffffL).Call(25).Exit().Build());
        using var reader = perf.CreateReader();
        Assert.Equal(0UL, prog.Run([1, 2, 3, 4, 5]));
        var rec = new SharpBpf.Events.Record();
        Assert.True(reader.ReadInto(ref rec, TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
        Assert.Equal(2, rec.Cpu);
        Assert.Equal(12, rec.Length); // raw size padded like the kernel: 5 + 4 rounded up to 16, minus 4
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0 }, rec.Data.ToArray());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void DeterministicHelpers(VmEngine engine)
    {
        var options = new VmOptions { Engine = engine, PidTgid = 0x0000_0007_0000_0009, KtimeStartNs = 500, KtimeStepNs = 10, PrandomSeed = 42 };
        using var vm = new BpfVm(options);
        Assert.Equal(0x0000_0007_0000_0009UL, vm.Load(new InstructionBuilder().Call(14).Exit().Build()).Run([]));
        var time = vm.Load(new InstructionBuilder().Call(5).Mov64(Register.R6, Register.R0).Call(5).Alu64(AluOp.Sub, Register.R0, Register.R6).Exit().Build());
        Assert.Equal(10UL, time.Run([]));
        var rnd = vm.Load(new InstructionBuilder().Call(7).Exit().Build());
        ulong a = rnd.Run([]), b = rnd.Run([]);
        Assert.NotEqual(a, b);
        using var again = new BpfVm(options);
        var rnd2 = again.Load(new InstructionBuilder().Call(7).Exit().Build());
        Assert.Equal(a, rnd2.Run([]));
        Assert.Equal(b, rnd2.Run([]));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void TracePrintkAndProbeRead(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        ulong at = vm.SetProbeMemory("kernel-string\0"u8);
        // fmt "v=%d s=%s\n" on the stack, arg 1 = -5, arg 2 = a probe_read_str copy of the probe memory
        byte[] fmt = "v=%d s=%s\n\0\0\0\0\0\0"u8.ToArray();
        var b = new InstructionBuilder();
        for (int i = 0; i < 16; i += 8) b.LoadImm64(Register.R1, BinaryPrimitives.ReadInt64LittleEndian(fmt.AsSpan(i))).Store(MemorySize.DWord, Register.R10, (short)(-48 + i), Register.R1);
        b.Mov64(Register.R1, Register.R10).Add64(Register.R1, -32).Mov64(Register.R2, 32).LoadImm64(Register.R3, (long)at).Call(45)
         .Mov64(Register.R6, Register.R0)
         .Mov64(Register.R1, Register.R10).Add64(Register.R1, -48).Mov64(Register.R2, 11).Mov64(Register.R3, -5)
         .Mov64(Register.R4, Register.R10).Add64(Register.R4, -32).Call(6)
         .Mov64(Register.R0, Register.R6).Exit();
        Assert.Equal(14UL, vm.Load(b.Build()).Run([]));
        Assert.Equal(["v=-5 s=kernel-string"], vm.TraceLog);
        // probe_read of an unmapped address: -EFAULT and a zeroed destination, not a fault
        var bad = vm.Load(new InstructionBuilder().Mov64(Register.R1, Register.R10).Add64(Register.R1, -8).Mov64(Register.R2, 8).Mov64(Register.R3, 64).Call(4).Exit().Build());
        Assert.Equal(unchecked((ulong)-14), bad.Run([]));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void LddwMapValueAndFdArrayForms(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var data = vm.CreateMap(new MapSpec { Name = ".data", Type = MapType.Array, KeySize = 4, ValueSize = 16, MaxEntries = 1 });
        data.Update(U32(0), [.. U64(5), .. U64(7)]);
        // src 2: map fd + offset 8 -> value address; src 6: fd_array[1] + offset 0; src 5: fd_array[1] as a map
        var insns = new[]
        {
            new Instruction(0x18, 1, 2, 0, data.Fd), new Instruction(0, 0, 0, 0, 8),
            new Instruction(0x79, 0, 1, 0, 0),
            new Instruction(0x18, 2, 6, 0, 1), new Instruction(0, 0, 0, 0, 0),
            new Instruction(0x79, 3, 2, 0, 0),
            new Instruction(0x0f, 0, 3, 0, 0),
            new Instruction(0x7b, 2, 0, 0, 0),
            new Instruction(0x18, 1, 5, 0, 1), new Instruction(0, 0, 0, 0, 0),
            new Instruction(0x95, 0, 0, 0, 0),
        };
        var prog = vm.Load(new SharpBpf.Programs.ProgramSpec { Name = "p", Instructions = insns, FdArray = [0, data.Fd] });
        Assert.Equal(12UL, prog.Run([]));
        var v = new byte[16];
        Assert.True(data.TryLookup(U32(0), v));
        Assert.Equal(12UL, BitConverter.ToUInt64(v));
        Assert.Contains("fd_array index 3", Assert.Throws<VmProgramException>(() => vm.Load(new SharpBpf.Programs.ProgramSpec
        {
            Name = "bad", Instructions = [new Instruction(0x18, 1, 5, 0, 3), new Instruction(0, 0, 0, 0, 0), new Instruction(0x95, 0, 0, 0, 0)],
        })).Message);
    }

    [Fact]
    public void RunsDoNotAllocate()
    {
        foreach (var engine in new[] { VmEngine.Interpreter, VmEngine.Jit })
        {
            using var vm = new BpfVm(new VmOptions { Engine = engine });
            var m = vm.CreateMap(new MapSpec { Name = "h", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16 });
            var prog = vm.Load(new InstructionBuilder()
                .Load(MemorySize.Word, Register.R2, Register.R1, 0).Store(MemorySize.Word, Register.R10, -4, Register.R2)
                .Store(MemorySize.DWord, Register.R10, -16, Register.R2)
                .LoadMapFd(Register.R1, m.Fd).Mov64(Register.R2, Register.R10).Add64(Register.R2, -4)
                .Mov64(Register.R3, Register.R10).Add64(Register.R3, -16).Mov64(Register.R4, 0).Call(2)
                .LoadMapFd(Register.R1, m.Fd).Mov64(Register.R2, Register.R10).Add64(Register.R2, -4).Call(1)
                .Exit().Build());
            var rb = (RingBufVmMap)vm.CreateMap(new MapSpec { Name = "rb", Type = MapType.RingBuf, MaxEntries = 1 << 16 });
            var events = vm.Load(new InstructionBuilder()
                .Mov64(Register.R6, Register.R1)
                .LoadMapFd(Register.R1, rb.Fd).Mov64(Register.R2, 16).Mov64(Register.R3, 0).Call(131)
                .Jump(JumpOp.Jeq, Register.R0, 0, 5)
                .Load(MemorySize.Word, Register.R7, Register.R6, 0)
                .Store(MemorySize.DWord, Register.R0, 0, Register.R7)
                .Mov64(Register.R1, Register.R0).Mov64(Register.R2, 0).Call(132)
                .Mov64(Register.R0, 0).Exit().Build());
            using var reader = rb.CreateReader();
            var handler = new CountingHandler();
            var packet = new byte[64];
            var ctxProg = vm.Load(new InstructionBuilder().Mov64(Register.R0, 2).Exit().Build(), Programs.ProgramType.Xdp);
            var keys = Enumerable.Range(0, 8).Select(i => U32((uint)i)).ToArray();
            for (int i = 0; i < 100; i++) { prog.Run(keys[i & 7]); ctxProg.RunPacket(packet); events.Run(keys[i & 7]); reader.Consume(ref handler); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) { prog.Run(keys[i & 7]); ctxProg.RunPacket(packet); events.Run(keys[i & 7]); reader.Consume(ref handler); }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(1100, handler.Count);
        }
    }

    private struct CountingHandler : IRecordHandler
    {
        public int Count;

        public void Handle(EventRecord record)
        {
            if (record.Data.Length == 16) Count++;
        }
    }
}
