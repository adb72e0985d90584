using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Symbols;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class UprobeLinkTests
{
    // Slots of the results array in testdata/uprobes.bpf.c.
    private const uint EntryCount = 0, EntryArg = 1, EntryCookie = 2, ReturnCount = 3, ReturnValue = 4, ReturnCookie = 5,
        EntryTgid = 6, SleepableCount = 7;

    internal static ulong Slot(BpfMap map, uint slot)
    {
        Span<byte> value = stackalloc byte[8];
        map.Lookup(BitConverter.GetBytes(slot), value);
        return BitConverter.ToUInt64(value);
    }

    internal static ulong HashValue(BpfMap map, ulong key)
    {
        Span<byte> value = stackalloc byte[8];
        return map.TryLookup(BitConverter.GetBytes(key), value) ? BitConverter.ToUInt64(value) : 0;
    }

    private static BpfCollection Load() => BpfCollection.LoadFile(TestData.PathOf("uprobes.bpf.o"));

    [Fact]
    public void UprobeAndUretprobeSeeArgumentReturnValueAndCookies()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var results = c.Maps["results"];
        string bin = ProbeTarget.Path;
        const int calls = 5;
        using (var entry = UprobeLink.Attach(c.Programs["on_entry"], bin, "sb_target", new UprobeOptions { Cookie = 0xc0ffee }))
        using (var exit = UprobeLink.Attach(c.Programs["on_return"], bin, "sb_target", new UprobeOptions { Return = true, Cookie = 0xbeef }))
        {
            Assert.Equal(LinkType.PerfEvent, entry.GetInfo().Type);
            Assert.Equal(c.Programs["on_entry"].Id, entry.ProgramId);
            Assert.False(entry.IsIoctlAttachment);
            Assert.True(exit.IsReturnProbe);
            Assert.Equal(bin, entry.BinaryPath);
            Assert.Contains(entry.Id, BpfLink.EnumerateIds());
            var info = Assert.IsType<PerfEventLinkInfo>(entry.GetInfo());
            Assert.Equal(PerfEventKind.Uprobe, info.Kind);
            Assert.Equal(bin, info.Name);
            Assert.Equal(entry.FileOffset, info.Offset);
            Assert.Equal(0xc0ffeeul, info.Cookie);
            PerfEventLinkInfo exitInfo;
            using (var byId = BpfLink.FromId(exit.Id)) // info through a plain BpfLink opened by id
                exitInfo = Assert.IsType<PerfEventLinkInfo>(byId.GetInfo());
            Assert.Equal(PerfEventKind.Uretprobe, exitInfo.Kind);
            Assert.Equal(0xbeeful, exitInfo.Cookie);

            var (_, sum) = ProbeTarget.Run(41, calls);
            Assert.Equal(calls * (41 * 3 + 1 + 40), sum);
        }
        Assert.Equal((ulong)calls, Slot(results, EntryCount));
        Assert.Equal(41ul, Slot(results, EntryArg));
        Assert.Equal(0xc0ffeeul, Slot(results, EntryCookie));
        Assert.Equal((ulong)calls, Slot(results, ReturnCount));
        Assert.Equal(124ul, Slot(results, ReturnValue));
        Assert.Equal(0xbeeful, Slot(results, ReturnCookie));

        // Detached: nothing counts any more.
        ProbeTarget.Run(2, 3);
        Assert.Equal((ulong)calls, Slot(results, EntryCount));
        Assert.Equal((ulong)calls, Slot(results, ReturnCount));
    }

    [Fact]
    public void FileOffsetIsTranslatedFromTheVirtualAddress()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var table = ElfSymbolTable.Read(ProbeTarget.Path);
        ulong address = table.ResolveAddress("sb_target");
        ulong offset = table.ResolveFileOffset("sb_target");
        Assert.NotEqual(address, offset); // non-PIE: text at 0x401000, file offset 0x1000
        // Attaching at the raw file offset (the USDT path) behaves like attaching by symbol.
        using (UprobeLink.AttachAtOffset(c.Programs["on_entry"], ProbeTarget.Path, offset, new UprobeOptions { Cookie = 7 }))
            ProbeTarget.Run(9, 2);
        Assert.Equal(2ul, Slot(c.Maps["results"], EntryCount));
        Assert.Equal(9ul, Slot(c.Maps["results"], EntryArg));
        Assert.Equal(7ul, Slot(c.Maps["results"], EntryCookie));
    }

    [Fact]
    public void PidFilterSeesOnlyThatProcess()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var results = c.Maps["results"];
        using var watched = ProbeTarget.Start(11, 4, wait: true);
        using var other = ProbeTarget.Start(22, 6, wait: true);
        try
        {
            using (var link = UprobeLink.Attach(c.Programs["on_entry"], ProbeTarget.Path, "sb_target", new UprobeOptions { Pid = watched.Id }))
            {
                Assert.Equal(watched.Id, link.Pid);
                ProbeTarget.Release(other);
                ProbeTarget.Finish(other);
                ProbeTarget.Release(watched);
                ProbeTarget.Finish(watched);
            }
        }
        finally
        {
            if (!watched.HasExited) watched.Kill();
            if (!other.HasExited) other.Kill();
        }
        Assert.Equal(4ul, Slot(results, EntryCount));
        Assert.Equal(11ul, Slot(results, EntryArg));
        Assert.Equal((ulong)watched.Id, Slot(results, EntryTgid));
    }

    [Fact]
    public void LibcFunctionByShortLibraryNameAndVersionedSymbol()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var results = c.Maps["results"];
        using var child = ProbeTarget.Start(1, 8, wait: true);
        try
        {
            // "c" is found in the child's own maps (pid given) as libc.so.6; the second probe names the version.
            using var plain = UprobeLink.Attach(c.Programs["on_entry"], "c", "getpid", new UprobeOptions { Pid = child.Id, Cookie = 1 });
            using var versioned = UprobeLink.Attach(c.Programs["on_return"], "libc.so.6", "getpid@@GLIBC_2.2.5",
                new UprobeOptions { Pid = child.Id, Return = true, Cookie = 2 });
            Assert.Contains("libc.so.6", plain.BinaryPath);
            Assert.Equal(plain.FileOffset, versioned.FileOffset);
            ProbeTarget.Release(child);
            ProbeTarget.Finish(child);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
        }
        Assert.Equal(8ul, Slot(results, EntryCount));
        Assert.Equal((ulong)child.Id, Slot(results, EntryTgid));
        Assert.Equal(1ul, Slot(results, EntryCookie));
        Assert.Equal(8ul, Slot(results, ReturnCount));
        Assert.Equal((ulong)child.Id, Slot(results, ReturnValue)); // getpid returns the child's pid
        Assert.Equal(2ul, Slot(results, ReturnCookie));
    }

    [Fact]
    public void SleepableUprobeRuns()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        using (UprobeLink.Attach(c.Programs["on_entry_sleepable"], ProbeTarget.Path, "sb_target"))
            ProbeTarget.Run(5, 3);
        Assert.Equal(3ul, Slot(c.Maps["results"], SleepableCount));
        Assert.Equal(5ul, Slot(c.Maps["results"], EntryArg));
    }

    [Fact]
    public void ReferenceCounterSemaphoreIsRaisedWhileAttached()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var table = ElfSymbolTable.Read(ProbeTarget.Path);
        var sem = Assert.Single(table.Symbols, s => s.Name == "sb_semaphore");
        Assert.Equal(SymbolKind.Object, sem.Kind);
        ulong semOffset = table.AddressToFileOffset(sem.Address);
        ulong offset = table.ResolveFileOffset("sb_guarded"); // no other test probes it (see ProbeTarget)

        Assert.Equal(0, ProbeTarget.Run(1, 1).Semaphore);
        using (UprobeLink.AttachAtOffset(c.Programs["on_entry"], ProbeTarget.Path, offset, new UprobeOptions { ReferenceCounterOffset = semOffset }))
            Assert.Equal(1, ProbeTarget.Run(1, 1).Semaphore);
        Assert.Equal(0, ProbeTarget.Run(1, 1).Semaphore);
    }

    [Fact]
    public void IoctlFallbackAttachesWithoutALink()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        PerfEventAttach.ForceIoctl = true;
        try
        {
            using (var link = UprobeLink.Attach(c.Programs["on_entry"], ProbeTarget.Path, "sb_target"))
            {
                Assert.True(link.IsIoctlAttachment);
                Assert.Equal(0u, link.Id);
                Assert.Equal(link.Fd, link.PerfEventFd);
                ProbeTarget.Run(3, 2);
            }
            Assert.Equal(2ul, Slot(c.Maps["results"], EntryCount));
            var e = Assert.Throws<NotSupportedByKernelException>(() =>
                UprobeLink.Attach(c.Programs["on_entry"], ProbeTarget.Path, "sb_target", new UprobeOptions { Cookie = 1 }));
            Assert.Equal("5.15", e.MinimumKernel);
        }
        finally
        {
            PerfEventAttach.ForceIoctl = false;
        }
        ProbeTarget.Run(3, 2);
        Assert.Equal(2ul, Slot(c.Maps["results"], EntryCount));
    }

    [Fact]
    public void UprobeMultiSeesPerFunctionCookies()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var hits = c.Maps["multi_hits"];
        using (var link = UprobeMultiLink.Attach(c.Programs["on_multi"], ProbeTarget.Path, ["sb_target", "sb_second"], cookies: [100, 200]))
        {
            var info = Assert.IsType<UprobeMultiLinkInfo>(link.GetInfo());
            Assert.Equal(LinkType.UprobeMulti, info.Type);
            Assert.Equal(ProbeTarget.Path, info.Path);
            var table = ElfSymbolTable.Read(ProbeTarget.Path);
            Assert.Equal([table.ResolveFileOffset("sb_target"), table.ResolveFileOffset("sb_second")], info.Offsets);
            Assert.Equal([100ul, 200ul], info.Cookies);
            Assert.False(info.IsReturn);
            Assert.Equal(0, info.Pid);
            Assert.Equal(2, link.Count);
            ProbeTarget.Run(1, 6);
        }
        Assert.Equal(6ul, HashValue(hits, 100));
        Assert.Equal(6ul, HashValue(hits, 200));
        ProbeTarget.Run(1, 6);
        Assert.Equal(6ul, HashValue(hits, 100));
    }

    [Fact]
    public void UprobeMultiPidFilterAndReturn()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var hits = c.Maps["multi_hits"];
        using var watched = ProbeTarget.Start(1, 3, wait: true);
        try
        {
            using (UprobeMultiLink.Attach(c.Programs["on_multi"], ProbeTarget.Path, ["sb_target"], cookies: [5], isReturn: true, pid: watched.Id))
            {
                ProbeTarget.Run(1, 10); // another process: not counted
                ProbeTarget.Release(watched);
                ProbeTarget.Finish(watched);
            }
        }
        finally
        {
            if (!watched.HasExited) watched.Kill();
        }
        Assert.Equal(3ul, HashValue(hits, 5));
    }

    [Fact]
    public void PinnedUprobeLinkOutlivesItsObjectUntilUnpinned()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var results = c.Maps["results"];
        string pin = Path.Combine(SharpBpf.Pinning.BpfFs.DefaultPath, $"sb_uprobe_pin_{Environment.ProcessId}");
        uint id;
        using (var link = UprobeLink.Attach(c.Programs["on_entry"], ProbeTarget.Path, "sb_target", new UprobeOptions { Cookie = 9 }))
        {
            id = link.Id;
            link.Pin(pin);
        }
        try
        {
            ProbeTarget.Run(4, 2); // still attached through the pin
            Assert.Equal(2ul, Slot(results, EntryCount));
            using (var reopened = BpfLink.FromPinned(pin))
            {
                Assert.Equal(id, reopened.Id);
                var info = Assert.IsType<PerfEventLinkInfo>(reopened.GetInfo());
                Assert.Equal(ProbeTarget.Path, info.Name);
                Assert.Equal(9ul, info.Cookie);
            }
        }
        finally
        {
            SharpBpf.Pinning.BpfFs.Unpin(pin);
        }
        // The last reference goes with the bpffs inode, which the kernel frees after an RCU grace period: the link
        // is released shortly after Unpin returns, not during it.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (BpfLink.EnumerateIds().Contains(id) && sw.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(10);
        Assert.DoesNotContain(id, BpfLink.EnumerateIds());
        ProbeTarget.Run(4, 2);
        Assert.Equal(2ul, Slot(results, EntryCount));
    }

    [Fact]
    public void MissingSymbolOrBinaryIsATypedErrorNamingIt()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var e = Assert.Throws<SymbolNotFoundException>(() => UprobeLink.Attach(c.Programs["on_entry"], ProbeTarget.Path, "sb_no_such_function"));
        Assert.Equal("sb_no_such_function", e.Symbol);
        Assert.Equal(ProbeTarget.Path, e.Binary);
        Assert.Contains(ProbeTarget.Path, e.Message);
        var nf = Assert.Throws<LibraryNotFoundException>(() => UprobeLink.Attach(c.Programs["on_entry"], "sharpbpf_no_such_library", "f"));
        Assert.Contains("sharpbpf_no_such_library", nf.Message);
        var ns = Assert.Throws<SymbolResolutionException>(() => UprobeLink.Attach(c.Programs["on_entry"], ProbeTarget.Path, "sb_semaphore"));
        Assert.Contains("not a function", ns.Message);
        Assert.Throws<SymbolNotFoundException>(() => UprobeMultiLink.Attach(c.Programs["on_multi"], ProbeTarget.Path, ["sb_target", "nope"]));
        Assert.Throws<ArgumentException>(() => UprobeMultiLink.Attach(c.Programs["on_multi"], ProbeTarget.Path, ["sb_target"], cookies: [1, 2]));
    }
}
