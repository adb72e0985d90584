using System.Net;
using System.Net.Sockets;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class FdMapTests
{
    [Fact]
    public void ProgramArraySetReadBackClear()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var progs = ProgramArray.Create("t_progs", 4);
        using var prog = TestNative.LoadTrivialSocketFilter();
        progs.Set(2, prog.Fd);
        Assert.True(progs.TryGetProgramId(2, out uint id));
        Assert.NotEqual(0u, id);
        Assert.False(progs.TryGetProgramId(1, out _));
        Assert.True(progs.Clear(2));
        Assert.False(progs.Clear(2));
        // a map fd is not a program
        using var notProg = ArrayMap<uint>.Create("t_np", 1);
        Assert.Throws<BpfException>(() => progs.Set(0, notProg.Fd));
    }

    [Fact]
    public void PerfEventArrayDefaultsToOneSlotPerCpu()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var arr = PerfEventArray.Create("t_perf");
        Assert.Equal((uint)Internal.Platform.PossibleCpus, arr.MaxEntries);
        Assert.False(arr.Clear(0));
        using (var perf = TestNative.OpenBpfOutputEvent(cpu: 0))
        {
            arr.Set(0, perf.Fd);
            Assert.True(arr.Clear(0));
        }
        // only perf event fds are accepted
        using var notPerf = ArrayMap<uint>.Create("t_np2", 1);
        Assert.Throws<BpfException>(() => arr.Set(0, notPerf.Fd));
    }

    [Fact]
    public void SockMapAndSockHashHoldSocketsAndReturnCookies()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var sock = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sock.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        ulong cookie = TestNative.SocketCookie(sock);

        using var map = SockMap.Create("t_sockmap", 4);
        map.Set(1, (int)sock.Handle);
        Assert.True(map.TryGetCookie(1, out ulong got));
        Assert.Equal(cookie, got);
        Assert.False(map.TryGetCookie(0, out _));
        Assert.True(map.Clear(1));

        using var hash = SockHash<uint>.Create("t_sockhash", 4);
        hash.Set(0xabcd, (int)sock.Handle);
        Assert.True(hash.TryGetCookie(0xabcd, out got));
        Assert.Equal(cookie, got);
        var keys = new List<uint>();
        foreach (uint k in hash.Keys) keys.Add(k);
        Assert.Equal([0xabcdu], keys);
        Assert.True(hash.Delete(0xabcd));

        using var narrow = new SockMap(BpfMap.Create(new MapSpec { Name = "t_sock4", Type = MapType.SockMap, KeySize = 4, ValueSize = 4, MaxEntries = 2 }));
        narrow.Set(0, (int)sock.Handle);
        Assert.Throws<InvalidOperationException>(() => narrow.TryGetCookie(0, out _));
    }

    [Fact]
    public void DevMapAndCpuMapValues()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var dev = DevMap.Create("t_devmap", 4);
        dev.Set(0, 1); // lo
        Assert.Equal(1u, dev.Lookup(0).IfIndex);
        Assert.Equal(0u, dev.Lookup(0).ProgramId);
        Assert.False(dev.TryLookup(1, out _));
        Assert.True(dev.Delete(0));

        using var devHash = DevMapHash.Create("t_devhash", 4);
        devHash.Set(1000, 1);
        Assert.Equal(1u, devHash.Lookup(1000).IfIndex);
        var keys = new List<uint>();
        foreach (uint k in devHash.Keys) keys.Add(k);
        Assert.Equal([1000u], keys);

        using var cpus = CpuMap.Create("t_cpumap");
        Assert.True(cpus.MaxEntries >= 1);
        cpus.Update(0, new CpuMapValue(192));
        Assert.Equal(192u, cpus.Lookup(0).QueueSize);
        Assert.True(cpus.Delete(0));
    }
}
