using System.Net;
using System.Net.Sockets;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class LocalStorageTests
{
    [Fact]
    public void TaskStorageByPidfd()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var btf = new TestBtf();
        using var map = TaskStorageMap<Pair>.Create("t_task_st", btf.Fd, TestBtf.Int, TestBtf.Pair);
        Assert.Equal(MapFlags.NoPrealloc, map.Flags & MapFlags.NoPrealloc);
        using var pidfd = TestNative.PidfdOpen(Environment.ProcessId);
        int fd = pidfd.Fd;
        Assert.False(map.TryLookup(fd, out _));
        map.Update(fd, new Pair(5, 6));
        Assert.Equal(new Pair(5, 6), map.Lookup(fd));
        Assert.True(map.Delete(fd));
        Assert.False(map.TryLookup(fd, out _));
    }

    [Fact]
    public void SkStorageBySocketFd()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var btf = new TestBtf();
        using var map = SkStorageMap<Pair>.Create("t_sk_st", btf.Fd, TestBtf.Int, TestBtf.Pair);
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        map.Update((int)a.Handle, new Pair(1, 1));
        map.Update((int)b.Handle, new Pair(2, 2));
        Assert.Equal(new Pair(1, 1), map.Lookup((int)a.Handle));
        Assert.Equal(new Pair(2, 2), map.Lookup((int)b.Handle));
        Assert.True(map.Delete((int)a.Handle));
        Assert.False(map.TryLookup((int)a.Handle, out _));
    }

    [Fact]
    public void InodeStorageByFileFd()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var btf = new TestBtf();
        using var map = InodeStorageMap<Pair>.Create("t_inode_st", btf.Fd, TestBtf.Int, TestBtf.Pair);
        string path = Path.GetTempFileName();
        try
        {
            using var file = File.OpenHandle(path);
            using var again = File.OpenHandle(path);
            int fd = (int)file.DangerousGetHandle();
            map.Update(fd, new Pair(3, 4));
            // storage belongs to the inode, so another fd of the same file sees it
            Assert.Equal(new Pair(3, 4), map.Lookup((int)again.DangerousGetHandle()));
            Assert.True(map.Delete(fd));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CgroupStorageByCgroupFd()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("map-type:CgrpStorage");
        using var leak = new FdLeakCheck();
        using var btf = new TestBtf();
        using var map = CgroupStorageMap<Pair>.Create("t_cgrp_st", btf.Fd, TestBtf.Int, TestBtf.Pair);
        // cgroup storage keys are cgroup v2 directories: find the cgroup2 mount (pure v2 or hybrid "unified")
        string? root = File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')).FirstOrDefault(p => p.Length > 2 && p[2] == "cgroup2")?[1];
        Assert.True(root is not null, "no cgroup2 file system is mounted");
        using var cgroup = TestNative.OpenDirectory(root);
        map.Update(cgroup.Fd, new Pair(7, 8));
        Assert.Equal(new Pair(7, 8), map.Lookup(cgroup.Fd));
        Assert.True(map.Delete(cgroup.Fd));
    }

    [Fact]
    public void StorageNeedsBtfArgumentsBeforeSyscall()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TaskStorageMap<Pair>.Create("t_nobtf", 0, 1, 2));
        Assert.Throws<ArgumentException>(() => SkStorageMap<Pair>.Create("t_nobtf", 5, 0, 2));
    }
}
