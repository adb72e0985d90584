using System.Text.Json;
using SharpBpf.Asm;
using SharpBpf.Cli.Commands;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class TopCommandTests
{
    [Fact]
    public async Task TopSeesTheRunsOfAProgramLoadedByTheTest()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = BpfProgram.Load(new ProgramSpec
        {
            Name = "top_target",
            Type = ProgramType.SocketFilter,
            License = "GPL",
            Instructions = [new Instruction(0xb7, 0, 0, 0, 1), new Instruction(0x95, 0, 0, 0, 0)],
        });
        using var stop = new CancellationTokenSource();
        long runs = 0;
        var runner = Task.Run(() =>
        {
            var packet = new byte[64];
            while (!stop.IsCancellationRequested)
            {
                prog.TestRun(new TestRunOptions { Data = packet, Repeat = 1000 });
                Interlocked.Add(ref runs, 1000);
            }
        }, TestContext.Current.CancellationToken);
        CliResult top;
        try
        {
            top = CliRunner.Run("top", "--json", "--interval", "0.5", "-n", "3", "--sort", "runs");
        }
        finally
        {
            stop.Cancel();
            await runner;
        }
        Assert.Equal(0, top.ExitCode);
        var snapshots = top.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, snapshots.Count);
        var mine = snapshots.SelectMany(s => s.GetProperty("programs").EnumerateArray()).Where(p => p.GetProperty("id").GetUInt32() == prog.Id).ToList();
        Assert.NotEmpty(mine);
        var last = mine[^1];
        Assert.Equal("top_target", last.GetProperty("name").GetString());
        Assert.Equal("socket_filter", last.GetProperty("type").GetString());
        Assert.True(last.GetProperty("runs_per_second").GetDouble() > 0);
        Assert.True(last.GetProperty("avg_runtime_ns").GetDouble() > 0);
        Assert.InRange(last.GetProperty("total_runs").GetInt64(), 1, Interlocked.Read(ref runs));
        // stats are on only while top runs: the kernel stops counting afterwards
        ulong after = prog.GetInfo().RunCount;
        prog.TestRun(new TestRunOptions { Data = new byte[64], Repeat = 100 });
        Assert.Equal(after, prog.GetInfo().RunCount);
    }

    [Fact]
    public void RatesAreDeltasOverTheIntervalAndSharesOfAllCpus()
    {
        var before = new Dictionary<uint, TopCommand.Sample>
        {
            [1] = new(1, "a", ProgramType.Xdp, RunCount: 100, RunTimeNs: 1_000_000),
            [2] = new(2, "b", ProgramType.Kprobe, RunCount: 10, RunTimeNs: 1_000),
            [3] = new(3, "idle", ProgramType.Kprobe, RunCount: 5, RunTimeNs: 500),
        };
        var after = new Dictionary<uint, TopCommand.Sample>
        {
            [1] = before[1] with { RunCount = 300, RunTimeNs = 201_000_000 }, // 200 runs, 200 ms
            [2] = before[2] with { RunCount = 1010, RunTimeNs = 101_000 },    // 1000 runs, 100 us
            [3] = before[3],
            [4] = new(4, "new", ProgramType.Tracepoint, RunCount: 50, RunTimeNs: 5_000), // loaded meanwhile
        };
        var rows = TopCommand.Compute(before, after, seconds: 2, cpus: 2, TopCommand.SortKey.Cpu, all: false);
        Assert.Equal([1u, 2u, 4u], rows.Select(r => r.Id)); // by CPU share: 5 %, 0.0025 %, 0.000125 %
        var a = rows.Single(r => r.Id == 1);
        Assert.Equal(100, a.RunsPerSecond);
        Assert.Equal(1_000_000, a.AvgNs);
        Assert.Equal(5.0, a.CpuPercent, 6); // 200 ms of 2 s x 2 CPUs
        Assert.DoesNotContain(rows, r => r.Id == 3);
        Assert.Equal(25, rows.Single(r => r.Id == 4).RunsPerSecond);
        Assert.Equal([2u, 1u, 4u], TopCommand.Compute(before, after, 2, 2, TopCommand.SortKey.Runs, false).Select(r => r.Id));
        Assert.Contains(TopCommand.Compute(before, after, 2, 2, TopCommand.SortKey.Id, all: true), r => r.Id == 3);
    }
}
