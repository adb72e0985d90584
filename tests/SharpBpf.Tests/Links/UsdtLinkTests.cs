using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Symbols;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

/// <summary>USDT probes of <see cref="UsdtTarget"/> read by the libbpf-style programs of testdata/usdt.bpf.c
/// (usdt.bpf.h unchanged).</summary>
[Collection(KernelCollection.Name)]
public class UsdtLinkTests
{
    // Slots of the results array in testdata/usdt.bpf.c: 0..11 the arguments, then these.
    private const uint ArgCount = 12, Hits = 13, Cookie = 14, Tgid = 15, ArgErrors = 16, GuardedHits = 17, GuardedX = 18,
        GuardedY = 19, GuardedCookie = 20;

    private static BpfCollection Load() => BpfCollection.LoadFile(TestData.PathOf("usdt.bpf.o"));

    private static long Slot(BpfCollection c, uint slot) => (long)UprobeLinkTests.Slot(c.Maps["results"], slot);

    private static long[] Arguments(BpfCollection c) => [.. Enumerable.Range(0, (int)Slot(c, ArgCount)).Select(i => Slot(c, (uint)i))];

    [Fact]
    public void EveryArgumentKindSizeAndSignIsReadByUsdtBpfH()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        string bin = UsdtTarget.Path;
        // The probe really mixes every operand kind (gcc decides; the test would prove less if it stopped doing so).
        var args = UsdtNotes.Read(bin).Single(p => p.Name == "args").ParseArguments();
        Assert.Contains(args, a => a.Kind == UsdtArgumentKind.Constant && a.Value < 0);
        Assert.Contains(args, a => a.Kind == UsdtArgumentKind.Register && a.Size == 1);
        Assert.Contains(args, a => a.Kind == UsdtArgumentKind.Register && a.Size == 4);
        Assert.Contains(args, a => a.Kind == UsdtArgumentKind.RegisterDeref && a.Value > 0);
        Assert.Contains(args, a => a.Kind == UsdtArgumentKind.RegisterDeref && a.Value == 0);
        Assert.Equal([1, 2, 4, 8], args.Select(a => a.Size).Distinct().Order());

        const int calls = 3;
        using (var link = UsdtLink.Attach(c, "on_args", bin, "sb", "args", new UsdtOptions { Cookie = 0xfeedface12345678 }))
        {
            Assert.Equal(LinkType.PerfEvent, link.Type);
            Assert.Equal(c.Programs["on_args"].Id, link.ProgramId);
            Assert.Single(link.Sites);
            Assert.Equal(link.Sites[0].Id, link.Id);
            Assert.Equal(link.Probes[0].FileOffset, link.Sites[0].FileOffset);
            Assert.NotEqual(link.Probes[0].Address, link.Probes[0].FileOffset); // non-PIE: translated
            Assert.Equal((ulong)link.SpecIds[0], link.Sites[0].Cookie);
            UsdtTarget.Run(calls);
        }
        Assert.Equal(calls, Slot(c, Hits));
        Assert.Equal(0, Slot(c, ArgErrors));
        Assert.Equal(UsdtTarget.ArgsValues, Arguments(c));
        Assert.Equal(unchecked((long)0xfeedface12345678), Slot(c, Cookie));

        // A frame-relative probe (negative offsets from %rbp, a 2-byte register, an unsigned 4-byte value).
        Assert.Contains(UsdtNotes.Read(bin).Single(p => p.Name == "stack").ParseArguments(), a => a.Kind == UsdtArgumentKind.RegisterDeref && a.Value < 0);
        using (UsdtLink.Attach(c, "on_args", bin, "sb", "stack"))
            UsdtTarget.Run(1);
        Assert.Equal(UsdtTarget.StackValues, Arguments(c));
        Assert.Equal(0, Slot(c, Cookie));
        Assert.Equal(calls + 1, Slot(c, Hits));

        UsdtTarget.Run(2); // detached
        Assert.Equal(calls + 1, Slot(c, Hits));
    }

    [Fact]
    public void SemaphoreIsSetWhileAttachedAndTheBpfUsdtMacroReadsArguments()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        string bin = UsdtTarget.Path;
        var probe = UsdtNotes.Read(bin).Single(p => p.Name == "guarded");
        Assert.NotEqual(0ul, probe.SemaphoreAddress);
        Assert.NotEqual(0ul, probe.SemaphoreFileOffset);

        Assert.Equal((0, 0), UsdtTarget.Run(2)); // not attached: the guard is off, nothing fires
        List<uint> ids;
        // A process that runs before attaching gets its semaphore raised too.
        using var early = UsdtTarget.Start(4, wait: true);
        Thread.Sleep(200);
        using (var link = UsdtLink.Attach(c, "on_guarded", bin, "sb", "guarded", new UsdtOptions { Cookie = 77 }))
        {
            ids = [.. link.Sites.Select(s => s.Id)];
            Assert.Equal((1, 3), UsdtTarget.Run(3));
            UsdtTarget.Release(early);
            Assert.Equal((1, 4), UsdtTarget.Finish(early));
        }
        Assert.Equal(7, Slot(c, GuardedHits));
        Assert.Equal(4, Slot(c, GuardedX)); // the last probe fired: x = i + 1 of the 4-call run
        Assert.Equal(42, Slot(c, GuardedY));
        Assert.Equal(77, Slot(c, GuardedCookie));
        Assert.Equal((0, 0), UsdtTarget.Run(2)); // detached: the semaphore is back to 0
        Assert.DoesNotContain(ids, BpfLink.EnumerateIds().ToHashSet().Contains);
    }

    [Fact]
    public void PidFilterLimitsTheProbeToOneProcess()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        using var target = UsdtTarget.Start(5, wait: true);
        using (UsdtLink.Attach(c, "on_args", UsdtTarget.Path, "sb", "args", new UsdtOptions { Pid = target.Id }))
        {
            UsdtTarget.Run(3); // another process: filtered out
            Assert.Equal(0, Slot(c, Hits));
            UsdtTarget.Release(target);
            UsdtTarget.Finish(target);
        }
        Assert.Equal(5, Slot(c, Hits));
        Assert.Equal(target.Id, Slot(c, Tgid));
    }

    [Fact]
    public void AutoAttachBySectionName()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("usdt.bpf.o");
        spec.Programs["on_guarded"].SectionName = $"usdt/{UsdtTarget.Path}:sb:guarded";
        using var c = BpfCollection.Load(spec);
        using (var links = c.AttachAll())
        {
            var link = Assert.IsType<UsdtLink>(Assert.Single(links).Value);
            Assert.Equal(("sb", "guarded"), (link.Provider, link.Name));
            Assert.Equal("on_args", Assert.Single(links.Skipped).Key); // bare "usdt" does not say where
            Assert.Contains("BINARY:PROVIDER:NAME", links.Skipped[0].Value);
            Assert.Equal((1, 2), UsdtTarget.Run(2));
        }
        Assert.Equal(2, Slot(c, GuardedHits));
        Assert.Equal(2, Slot(c, GuardedX));

        // Without its collection a USDT program cannot be auto-attached (no spec map): skipped with a reason.
        Assert.Null(AutoAttach.TryAttach(c.Programs["on_guarded"], c.SectionNames["on_guarded"], out string? reason));
        Assert.Contains("collection", reason);
        using var again = AutoAttach.TryAttach(c, "on_guarded", out _);
        Assert.IsType<UsdtLink>(again);
    }

    [Fact]
    public void SpecIdsAreFreedAndErrorsNameTheProbe()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        string bin = UsdtTarget.Path;
        int first;
        using (var a = UsdtLink.Attach(c, "on_args", bin, "sb", "args"))
        using (var b = UsdtLink.Attach(c, "on_guarded", bin, "sb", "guarded"))
        {
            first = a.SpecIds[0];
            Assert.NotEqual(first, b.SpecIds[0]);
        }
        using (var again = UsdtLink.Attach(c, "on_args", bin, "sb", "args"))
            Assert.Equal(first, again.SpecIds[0]);

        var missing = Assert.Throws<SymbolNotFoundException>(() => UsdtLink.Attach(c, "on_args", bin, "sb", "nope"));
        Assert.Contains("sb:nope", missing.Message);
        Assert.Throws<KeyNotFoundException>(() => UsdtLink.Attach(c, "no_such_program", bin, "sb", "args"));
        using var other = BpfCollection.LoadFile(TestData.PathOf("uprobes.bpf.o"));
        var noMap = Assert.Throws<KeyNotFoundException>(() => UsdtLink.Attach(other, "on_entry", bin, "sb", "args"));
        Assert.Contains("__bpf_usdt_specs", noMap.Message);
        Assert.Throws<ArgumentException>(() => UsdtLink.Attach(c.Programs["on_args"], c.Maps["results"], bin, "sb", "args"));
        // A failed attach leaves no spec id taken.
        using (var after = UsdtLink.Attach(c, "on_args", bin, "sb", "args"))
            Assert.Equal(first, after.SpecIds[0]);
    }
}
