using System.Diagnostics;
using System.Text.Json;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Pinning;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary>Objects pinned by another process (the CLI run as a child <c>dotnet</c>) outlive it.</summary>
[Collection(KernelCollection.Name)]
public class PinSurvivalTests
{
    private static string RunChild(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(SharpBpf.Cli.Cli).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "the child sharpbpf did not finish in 60 s");
        Assert.True(p.ExitCode == 0, $"sharpbpf {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }

    [Fact]
    public void ProgramsAndALinkPinnedByAnExitedProcessKeepCountingIntoTheirMap()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = Path.Combine(BpfFs.DefaultPath, "sharpbpf-survive-" + Guid.NewGuid().ToString("N")[..12]);
        uint linkId = 0;
        try
        {
            // Child 1 loads the object and pins its programs; child 2 attaches one through a pinned link. Both exit.
            RunChild("prog", "load", TestObjects.PathOf("tracepoints.bpf.o"), "--pin", dir);
            uint progId;
            using (var prog = BpfProgram.FromPinned(Path.Combine(dir, "tp_sys_enter")))
                progId = prog.Id;
            RunChild("prog", "attach", progId.ToString(), "tracepoint", "raw_syscalls/sys_enter", "--pin", Path.Combine(dir, "link"));

            using var link = Assert.IsType<TracepointLink>(BpfLink.FromPinned(Path.Combine(dir, "link")));
            linkId = link.Id;
            Assert.Equal(progId, link.ProgramId);
            Assert.Equal("sys_enter", link.Name);
            using var bpftool = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("link", "show", "pinned", Path.Combine(dir, "link"), "-j"));
            Assert.Equal(linkId, bpftool.RootElement.GetProperty("id").GetUInt32());

            // The program's map (created by child 1, held only by the pinned program) keeps counting syscalls.
            uint mapId;
            using (var prog = BpfProgram.FromPinned(Path.Combine(dir, "tp_sys_enter")))
                mapId = Assert.Single(prog.GetInfo().MapIds);
            using var map = BpfMap.FromId(mapId);
            ulong Total()
            {
                ulong sum = 0;
                var keys = new List<byte[]>();
                foreach (var key in map.EnumerateKeyBytes()) keys.Add(key.ToArray());
                var value = new byte[map.ValueBufferSize]; // per-CPU: one 8-byte counter per possible CPU
                foreach (var key in keys)
                {
                    if (!map.TryLookup(key, value)) continue;
                    for (int off = 0; off + 8 <= value.Length; off += 8) sum += BitConverter.ToUInt64(value, off);
                }
                return sum;
            }
            ulong before = Total();
            for (int i = 0; i < 100; i++) _ = File.Exists("/nonexistent-sharpbpf");
            Assert.True(Total() >= before + 100, $"syscall count went from {before} to {Total()}");
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                foreach (var f in Directory.GetFiles(dir)) BpfFs.Unpin(f);
                Directory.Delete(dir);
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (BpfLink.EnumerateIds().Contains(linkId) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.DoesNotContain(linkId, BpfLink.EnumerateIds());
    }
}
