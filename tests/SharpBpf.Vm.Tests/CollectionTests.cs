using System.Buffers.Binary;
using SharpBpf.Elf;

namespace SharpBpf.Vm.Tests;

/// <summary>testdata objects (ElfReader output, with map and global-data relocations) loaded into the VM and run.</summary>
public class CollectionTests
{
    public static TheoryData<VmEngine> Engines() => [VmEngine.Interpreter, VmEngine.Jit];

    private static (BpfVm Vm, VmCollection Coll) Open(string file, VmEngine engine, params string[] programs)
    {
        var vm = new BpfVm(new VmOptions { Engine = engine });
        var spec = ElfReader.ReadFile(TestData.PathOf(file));
        return (vm, VmCollection.Load(vm, spec, programs.Length == 0 ? null : programs.Contains));
    }

    private static byte[] Value(VmMap map, uint key)
    {
        var v = new byte[map.HostValueSize];
        Assert.True(map.TryLookup(BitConverter.GetBytes(key), v));
        return v;
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void GlobalDataSectionsAreMapsTheProgramUpdates(VmEngine engine)
    {
        var (vm, c) = Open("global_data.bpf.o", engine);
        using var _ = vm;
        var prog = c.Programs["global_data"];
        Assert.Equal(2UL, prog.RunPacket(new byte[100]));
        Assert.Equal(2UL, prog.RunPacket(new byte[60]));
        var bss = c.Maps.Single(m => m.Key.EndsWith(".bss", StringComparison.Ordinal)).Value;
        var data = c.Maps.Single(m => m.Key.EndsWith(".data", StringComparison.Ordinal)).Value;
        Assert.Equal(2UL, BinaryPrimitives.ReadUInt64LittleEndian(Value(bss, 0)));
        var d = Value(data, 0);
        Assert.Equal(60UL * 3 + 100, BinaryPrimitives.ReadUInt64LittleEndian(d)); // last_result
        Assert.Equal(100u, BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(8 + 4)));  // history[1]
        Assert.Equal(60u, BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(8 + 8)));   // history[2]
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void TailCallsFollowTheProgramArray(VmEngine engine)
    {
        var (vm, c) = Open("tail_calls.bpf.o", engine);
        using var _ = vm;
        Assert.Equal(42UL, c.Programs["tail_entry"].RunPacket(Packets.Udp4(1)));
        Assert.Equal(42UL, c.Programs["tail_second"].RunPacket(Packets.Udp4(1)));
        var jt = (ProgramArrayVmMap)c.Maps["jump_table"];
        jt.Set(2, null);
        Assert.Equal(2UL, c.Programs["tail_entry"].RunPacket(Packets.Udp4(1)));
        jt.Set(1, null);
        Assert.Equal(1UL, c.Programs["tail_entry"].RunPacket(Packets.Udp4(1)));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void SubprogramsAndSocketFilterContext(VmEngine engine)
    {
        var (vm, c) = Open("subprograms.bpf.o", engine);
        using var _ = vm;
        Assert.Equal(2UL, c.Programs["sub_xdp"].RunPacket(Packets.Udp4(9)));
        var pkt = Packets.Udp4(9, payload: 10);
        uint l3 = (uint)pkt.Length - 14; // a socket filter's skb starts at the network header
        Assert.Equal((ulong)(uint)(l3 * l3 + 1), c.Programs["sub_socket"].RunPacket(pkt));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void XdpPortDropCountsVerdicts(VmEngine engine)
    {
        var (vm, c) = Open("xdp_port_drop.bpf.o", engine);
        using var _ = vm;
        var prog = c.Programs["xdp_port_drop"];
        Assert.Equal(1UL, prog.RunPacket(Packets.Udp4(9)));
        Assert.Equal(2UL, prog.RunPacket(Packets.Udp4(53)));
        Assert.Equal(Packets.Udp4(53), vm.Packet.ToArray());
        Assert.Equal(2UL, prog.RunPacket(Packets.Udp4(9, protocol: 6)));
        Assert.Equal(2UL, prog.RunPacket(Packets.Udp4(9)[..20]));
        var verdicts = c.Maps["verdicts"];
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(Value(verdicts, 1)));
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(Value(verdicts, 2)));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void TcProgramWritesSkbMark(VmEngine engine)
    {
        var (vm, c) = Open("tc_classifier.bpf.o", engine);
        using var _ = vm;
        var prog = c.Programs["tc_classify"];
        Assert.Equal(0UL, prog.RunPacket(Packets.Udp4(1)));
        Assert.Equal(0x42u, BinaryPrimitives.ReadUInt32LittleEndian(vm.Context[8..]));
        Assert.Equal(2UL, prog.RunPacket(Packets.Udp4(1, etherType: 0x86dd)));
        Assert.Equal(2UL, c.Programs["tcx_ingress"].RunPacket(Packets.Udp4(1, payload: 1000)));
        Assert.Equal(0UL, c.Programs["tcx_ingress"].RunPacket(Packets.Udp4(1, payload: 100)));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void SocketFilterPerCpuBuckets(VmEngine engine)
    {
        var (vm, c) = Open("socket_filter.bpf.o", engine);
        using var _ = vm;
        var prog = c.Programs["socket_trim"];
        Assert.Equal(64UL, prog.RunPacket(Packets.Udp4(1, payload: 300)));
        Assert.Equal(36UL, prog.RunPacket(Packets.Udp4(1, payload: 8)));
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(Value(c.Maps["buckets"], 3)));
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(Value(c.Maps["buckets"], 0)));
    }

    [Fact]
    public void UnsupportedMapTypesAreNamed()
    {
        using var vm = new BpfVm();
        var e = Assert.Throws<NotSupportedException>(() => VmCollection.Load(vm, ElfReader.ReadFile(TestData.PathOf("xdp_variants.bpf.o"))));
        Assert.Contains("DevMap", e.Message);
    }
}
