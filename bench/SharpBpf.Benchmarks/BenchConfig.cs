using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace SharpBpf.Benchmarks;

/// <summary>In-process runs (the native peer is loaded into this process), memory diagnoser for allocated
/// bytes per operation, ratio columns against the libbpf baseline.</summary>
public class BenchConfig : ManualConfig
{
    public BenchConfig()
        : this(warmups: 3, iterations: 15)
    {
    }

    protected BenchConfig(int warmups, int iterations)
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(warmups).WithIterationCount(iterations).WithId("inproc"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(StatisticColumn.OperationsPerSecond);
        AddColumn(BaselineRatioColumn.RatioMean);
        AddColumnProvider(DefaultColumnProviders.Instance);
        WithOptions(ConfigOptions.JoinSummary);
    }
}
