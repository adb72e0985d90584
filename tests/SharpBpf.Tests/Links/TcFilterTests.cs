using System.Diagnostics;
using SharpBpf.Links;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class TcFilterTests
{
    private static string Tc(NetNs ns, string args)
    {
        var psi = new ProcessStartInfo("tc") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(ns.Name);
        foreach (var a in args.Split(' ')) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    [Fact]
    public void IngressCountsEgressDropsAndDisposeRemovesFilterAndQdisc()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];
        var count = c.Programs["count_udp9"];

        using (var filter = net.B.Run(() => TcFilter.Attach(count, "vb", TcDirection.Ingress)))
        {
            Assert.True(filter.CreatedQdisc);
            Assert.Equal($"sharpbpf:{Environment.ProcessId}:count_udp9", filter.Name);
            Assert.NotEqual(0, filter.Priority);   // chosen by the kernel
            Assert.NotEqual(0u, filter.Handle);
            var listed = Assert.Single(net.B.Run(() => TcFilter.List(net.IfB)));
            Assert.Equal(new TcFilterInfo(net.IfB, TcDirection.Ingress, filter.Priority, filter.Handle, "bpf", filter.Name, count.Id,
                listed.Tag, true, Environment.ProcessId), listed);
            Assert.Equal(count.Tag, listed.Tag);
            // iproute2 sees the same filter
            string shown = Tc(net.B, "filter show dev vb ingress");
            Assert.Contains(filter.Name, shown);
            Assert.Contains("direct-action", shown);
            Assert.Contains($"id {count.Id}", shown);
            Assert.Contains($"pref {filter.Priority}", shown);
            Assert.Contains("clsact", Tc(net.B, "qdisc show dev vb"));

            net.SendAndReceive(5);
            Assert.Equal(5ul, TcPrograms.Read(counts, TcPrograms.Counted));

            using var drop = net.A.Run(() => TcFilter.Attach(c.Programs["drop_udp9"], net.IfA, TcDirection.Egress, new TcFilterOptions { Priority = 7, Handle = 3 }));
            Assert.Equal((ushort)7, drop.Priority);
            Assert.Equal(3u, drop.Handle);
            Assert.Empty(net.A.Run(() => TcFilter.List(net.IfA, TcDirection.Ingress)));
            Assert.Equal(TcDirection.Egress, Assert.Single(net.A.Run(() => TcFilter.List(net.IfA))).Direction);
            net.SendDropped(3, counts);
            Assert.Equal(5ul, TcPrograms.Read(counts, TcPrograms.Counted)); // dropped before reaching B
        }
        Assert.DoesNotContain("clsact", Tc(net.B, "qdisc show dev vb"));
        Assert.DoesNotContain("clsact", Tc(net.A, "qdisc show dev va"));
        Assert.Empty(net.B.Run(() => TcFilter.List(net.IfB)));
        net.SendAndReceive(2);
        Assert.Equal(5ul, TcPrograms.Read(counts, TcPrograms.Counted));
    }

    [Fact]
    public void PrioritiesOrderFiltersAndConflictsCarryTheNetlinkError()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];
        using var second = net.B.Run(() => TcFilter.Attach(c.Programs["order_b"], net.IfB, TcDirection.Ingress, new TcFilterOptions { Priority = 20, Handle = 1 }));
        using var first = net.B.Run(() => TcFilter.Attach(c.Programs["order_a"], net.IfB, TcDirection.Ingress, new TcFilterOptions { Priority = 10, Handle = 1, Name = "first" }));
        Assert.True(second.CreatedQdisc);
        Assert.False(first.CreatedQdisc);
        Assert.Equal($"sharpbpf:{Environment.ProcessId}:first", first.Name);
        Assert.Equal([(ushort)10, (ushort)20], net.B.Run(() => TcFilter.List(net.IfB)).Select(f => f.Priority));
        net.SendAndReceive(1);
        Assert.Equal(12ul, TcPrograms.Read(counts, TcPrograms.Order));

        var taken = Assert.Throws<BpfException>(() => net.B.Run(() =>
            TcFilter.Attach(c.Programs["order_c"], net.IfB, TcDirection.Ingress, new TcFilterOptions { Priority = 10, Handle = 1 })));
        Assert.Equal("EEXIST", taken.ErrnoName);
        Assert.Equal("RTM_NEWTFILTER", taken.Operation);
        Assert.Contains("priority 10", taken.Message);
        Assert.Contains("already exists", taken.Message); // the kernel's extended ack

        var noDevice = Assert.Throws<BpfException>(() => net.B.Run(() => TcFilter.Attach(c.Programs["order_c"], 4242, TcDirection.Egress)));
        Assert.Equal("ENODEV", noDevice.ErrnoName);
        Assert.Equal("RTM_NEWQDISC", noDevice.Operation);

        // the qdisc's creator goes first: the qdisc stays for the other filter, and goes with it
        second.Dispose();
        Assert.Contains("clsact", Tc(net.B, "qdisc show dev vb"));
        TcPrograms.Reset(counts, TcPrograms.Order);
        net.SendAndReceive(1);
        Assert.Equal(1ul, TcPrograms.Read(counts, TcPrograms.Order));
        first.Dispose();
        Assert.DoesNotContain("clsact", Tc(net.B, "qdisc show dev vb"));
    }

    [Fact]
    public void RemoveStaleDeletesFiltersOfDeadProcessesOnly()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];
        int deadPid;
        using (var sleeper = Process.Start("sleep", "60"))
        {
            deadPid = sleeper.Id;
            sleeper.Kill();
            sleeper.WaitForExit();
        }
        using var live = net.B.Run(() => TcFilter.Attach(c.Programs["count_udp9"], net.IfB, TcDirection.Ingress));
        using var ghost = net.B.Run(() => TcFilter.AttachCore(c.Programs["drop_udp9"], net.IfB, egress: false,
            new TcFilterOptions(), TcFilter.Tag(deadPid, "ghost")));
        Assert.Equal(deadPid, net.B.Run(() => TcFilter.List(net.IfB)).Single(f => f.Name!.EndsWith(":ghost", StringComparison.Ordinal)).OwnerPid);
        net.SendDropped(1, counts);

        var removed = net.B.Run(() => TcFilter.RemoveStale());
        var gone = Assert.Single(removed);
        Assert.Equal(ghost.Name, gone.Name);
        Assert.Equal(deadPid, gone.OwnerPid);
        Assert.Equal(live.Name, Assert.Single(net.B.Run(() => TcFilter.List(net.IfB))).Name);
        Assert.Empty(net.B.Run(() => TcFilter.RemoveStale(net.IfB)));
        net.SendAndReceive(2);
        ghost.Dispose(); // already deleted: fine
    }

    [Fact]
    public void BadInputFailsBeforeAnySyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_not_cls");
        using var c = TcPrograms.Load();
        Assert.Contains("SchedCls", Assert.Throws<ArgumentException>(() => TcFilter.Attach(xdp, 1, TcDirection.Ingress)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TcFilter.Attach(c.Programs["count_udp9"], -1, TcDirection.Ingress));
        Assert.Throws<ArgumentOutOfRangeException>(() => TcFilter.Attach(c.Programs["count_udp9"], 1, (TcDirection)9));
        Assert.Throws<ArgumentException>(() => TcFilter.Attach(c.Programs["count_udp9"], 1, TcDirection.Ingress, new TcFilterOptions { Name = "" }));
        Assert.Throws<ArgumentException>(() => TcFilter.Attach(c.Programs["count_udp9"], "sb-nope", TcDirection.Ingress));
        Assert.Null(TcFilter.OwnerOf("sharpbpf:x:y"));
        Assert.Null(TcFilter.OwnerOf("other"));
        Assert.Equal(12, TcFilter.OwnerOf("sharpbpf:12:a:b"));
    }
}
