using System.Diagnostics;
using System.Globalization;
using SharpBpf.Cli.Tests.Tools;
using SharpBpf.Events;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf tracelog</c>: a program's bpf_printk of a marker only this test knows (taken from the test
/// packet) must come out of the command, as a child process stopped by Ctrl+C and in-process with --duration.</summary>
[Collection(KernelCollection.Name)]
public class TraceLogCommandTests
{
    /// <summary>Runs printk_xdp once on a packet whose first 4 bytes are <paramref name="marker"/>.</summary>
    private static void Printk(BpfProgram prog, uint marker)
    {
        var packet = new byte[64];
        BitConverter.TryWriteBytes(packet, marker);
        var result = prog.TestRun(new TestRunOptions { Data = packet, Repeat = 1 });
        Assert.Equal(2u, result.ReturnValue); // XDP_PASS: the printk ran
    }

    private static uint NewMarker() => (uint)Random.Shared.Next(1, int.MaxValue);

    [Fact]
    public void ChildProcessPrintsTheMarkerAsJsonAndEndsOnCtrlC()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        uint marker = NewMarker();
        using var tool = ToolProcess.Start("tracelog", "--json");
        Printk(coll.Programs["printk_xdp"], marker);
        var e = tool.WaitFor(j => j.TryGetProperty("message", out var m) && m.GetString() == $"sharpbpf-marker {marker}", $"marker {marker}");
        Assert.Equal("bpf_trace_printk", e.GetProperty("event").GetString());
        // TestRun runs the program in the calling thread's context: the "pid" column is that thread's id
        Assert.True(Directory.Exists($"/proc/{Environment.ProcessId}/task/{e.GetProperty("pid").GetInt32()}"), e.ToString());
        Assert.True(e.GetProperty("timestamp").GetDouble() > 0);
        Assert.Equal(0, tool.Stop("INT"));
    }

    [Fact]
    public async Task InProcessWithDurationPrintsTheRawLineAndStopsInTime()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        uint marker = NewMarker();
        var sw = Stopwatch.StartNew();
        var run = Task.Run(() => CliRunner.Run("tracelog", "--duration", "3"));
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Printk(coll.Programs["printk_xdp"], marker);
        var r = await run;
        sw.Stop();
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains(r.Stdout.Split('\n'), l => l.EndsWith($"bpf_trace_printk: sharpbpf-marker {marker}", StringComparison.Ordinal));
        Assert.InRange(sw.Elapsed.TotalSeconds, 2.9, 15);
    }

    [Fact]
    public void ReaderWakesOnRequestAndTimesOut()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var reader = TracePipeReader.Open();
        while (reader.TryReadLine(out _, 0)) { } // drain whatever is there
        var sw = Stopwatch.StartNew();
        Assert.False(reader.TryReadLine(out _, 300));
        Assert.InRange(sw.ElapsedMilliseconds, 250, 5000);
        using var timer = new Timer(_ => reader.Wake(), null, 200, Timeout.Infinite);
        sw.Restart();
        Assert.False(reader.TryReadLine(out _, -1)); // would wait forever without the wake
        Assert.InRange(sw.ElapsedMilliseconds, 150, 5000);
    }

    [Fact]
    public void NonPositiveDurationIsAUsageError()
    {
        var r = CliRunner.Run("tracelog", "--duration", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("sharpbpf: error: --duration must be positive, got 0\n", r.Stderr);
    }
}
