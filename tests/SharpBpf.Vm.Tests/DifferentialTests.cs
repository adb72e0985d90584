using System.Buffers.Binary;
using CsCheck;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Vm.Tests;

/// <summary>
/// Differential tests: test-runnable programs from testdata run in the kernel (BPF_PROG_TEST_RUN) and in the VM (both
/// engines) on thousands of generated frames: same return value, same packet out, same context fields written, and
/// the same map contents after every run.
/// </summary>
[Collection(KernelCollection.Name)]
public class DifferentialTests(ITestOutputHelper output)
{
    private const int Iterations = 1500;

    /// <summary>Frames with structure: Ethernet (plain, one or two VLAN tags, odd ethertypes), IPv4 with varied IHL,
    /// fragment bits, TTL and protocol, IPv6, TCP/UDP ports around 22/53/1024, random payload and truncation.</summary>
    private static readonly Gen<byte[]> Frames =
        Gen.Select(Gen.Int[14, 1514], Gen.Int[0, 7], Gen.Int[0, 5], Gen.Int[0, 6], Gen.Int[0, 4], Gen.ULong)
            .Select(t => Frame(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6));

    private static byte[] Frame(int length, int l2, int proto, int port, int ipShape, ulong seed)
    {
        var rng = new Random((int)seed ^ (int)(seed >> 32));
        var p = new byte[length];
        rng.NextBytes(p);
        int at = 12;
        void Put16(int value)
        {
            if (at + 2 <= p.Length) BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(at), (ushort)value);
            at += 2;
        }
        bool v6 = l2 is 1 or 5;
        switch (l2)
        {
            case 2: Put16(0x8100); at += 2; Put16(0x0800); break;
            case 3: Put16(0x88a8); at += 2; Put16(0x8100); at += 2; Put16(0x0800); break;
            case 5: Put16(0x8100); at += 2; Put16(0x86dd); break;
            case 6: Put16(rng.Next(0x10000)); break;
            case 7: Put16(0x0806); break;
            default: Put16(v6 ? 0x86dd : 0x0800); break;
        }
        int ip = at;
        byte protocol = proto switch { 0 or 1 => 17, 2 or 3 => 6, 4 => 1, _ => (byte)rng.Next(256) };
        int l4;
        if (!v6)
        {
            if (ip + 20 > p.Length) return p;
            int ihl = ipShape switch { 0 => 4, 1 => 6, 2 => 15, _ => 5 };
            p[ip] = (byte)(0x40 | ihl);
            p[ip + 6] = ipShape == 4 ? (byte)rng.Next(256) : (byte)(p[ip + 6] & 0x40);
            if (ipShape != 4) p[ip + 7] = 0;
            p[ip + 8] = (byte)(ipShape == 0 ? rng.Next(3) : 64);
            p[ip + 9] = protocol;
            l4 = ip + ihl * 4;
        }
        else
        {
            if (ip + 40 > p.Length) return p;
            p[ip] = 0x60;
            p[ip + 6] = protocol;
            l4 = ip + 40;
        }
        if (l4 + 4 <= p.Length)
        {
            int dport = port switch { 0 => 22, 1 => 53, 2 => 9, 3 => 1023, 4 => 1024, _ => rng.Next(65536) };
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(l4 + 2), (ushort)dport);
        }
        return p;
    }

    public static TheoryData<string, string> Programs() => new()
    {
        { "vm_compute.bpf.o", "vmc_checksum" },
        { "vm_compute.bpf.o", "vmc_hashloop" },
        { "vm_compute.bpf.o", "vmc_parser" },
        { "vm_compute.bpf.o", "vmc_rewrite" },
        { "vm_compute.bpf.o", "vmc_tc" },
        { "vm_compute.bpf.o", "vmc_socket" },
        { "xdp_port_drop.bpf.o", "xdp_port_drop" },
        { "net_tc.bpf.o", "count_udp9" },
        { "tc_classifier.bpf.o", "tc_classify" },
        { "subprograms.bpf.o", "sub_socket" },
        { "global_data.bpf.o", "global_data" },
    };

    [Theory]
    [MemberData(nameof(Programs))]
    public void KernelAndVmAgree(string file, string program)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = ElfReader.ReadFile(TestData.PathOf(file));
        foreach (var p in spec.Programs.Values) p.AutoLoad = p.Name == program;
        using var kernel = BpfCollection.Load(spec);
        var kprog = kernel.Programs[program];
        using var interpVm = new BpfVm(new VmOptions { Engine = VmEngine.Interpreter });
        using var jitVm = new BpfVm(new VmOptions { Engine = VmEngine.Jit });
        var vms = new[] { interpVm, jitVm };
        var colls = vms.Select(vm => VmCollection.Load(vm, ElfReader.ReadFile(TestData.PathOf(file)), n => n == program)).ToArray();
        bool skb = kprog.Type is ProgramType.SchedCls or ProgramType.SocketFilter;
        var dataOut = new byte[2048];
        var ctxOut = new byte[192];
        int runs = 0;
        Frames.Sample(frame =>
        {
            TestRunResult k;
            try
            {
                k = kprog.TestRun(new TestRunOptions { Data = frame, DataOut = dataOut, ContextOut = skb ? ctxOut : default });
            }
            catch (BpfException e) when (e.Errno == 22)
            {
                // both refuse the same frames (IPv4/IPv6 frames shorter than their network header, for skb programs)
                foreach (var c in colls)
                    Assert.Throws<ArgumentException>(() => c.Programs[program].RunPacket(frame));
                runs++;
                return;
            }
            for (int v = 0; v < vms.Length; v++)
            {
                ulong r0 = colls[v].Programs[program].RunPacket(frame);
                string engine = vms[v].Options.Engine.ToString();
                Assert.True(k.ReturnValue == (uint)r0, $"{engine}: return {(uint)r0} vs kernel {k.ReturnValue} on {Convert.ToHexString(frame)}");
                Assert.True(dataOut.AsSpan(0, k.DataOutLength).SequenceEqual(vms[v].Packet), $"{engine}: packet out differs ({k.DataOutLength} vs {vms[v].Packet.Length}: {Convert.ToHexString(dataOut.AsSpan(0, k.DataOutLength))} vs {Convert.ToHexString(vms[v].Packet)}) on {Convert.ToHexString(frame)}");
                if (skb)
                {
                    // mark and priority (tc writes them); cb[] and the rest the kernel resets or does not copy out
                    Assert.Equal(BitConverter.ToUInt32(ctxOut, 8), BitConverter.ToUInt32(vms[v].Context[8..12]));
                    Assert.Equal(BitConverter.ToUInt32(ctxOut, 32), BitConverter.ToUInt32(vms[v].Context[32..36]));
                }
                AssertSameMaps(kernel, colls[v], engine);
            }
            runs++;
        }, iter: Iterations, threads: 1);
        Assert.Equal(Iterations, runs);
        output.WriteLine($"{program}: {runs} frames, kernel = interpreter = JIT");
    }

    private static void AssertSameMaps(BpfCollection kernel, VmCollection vm, string engine)
    {
        foreach (var (name, vmMap) in vm.Maps)
        {
            if (name.EndsWith(".rodata", StringComparison.Ordinal) || vmMap.Type is MapType.ProgramArray) continue;
            var kmap = kernel.Maps[name];
            var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
            var value = new byte[vmMap.HostValueSize];
            foreach (var key in kmap.EnumerateKeyBytes())
            {
                var k = key.ToArray();
                if (kmap.TryLookup(k, value)) expected[Convert.ToHexString(k)] = Convert.ToHexString(value);
            }
            var actual = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in vmMap.Entries()) actual[Convert.ToHexString(k)] = Convert.ToHexString(v);
            Assert.True(expected.SequenceEqual(actual), $"{engine}: map '{name}' differs from the kernel's");
        }
    }
}
