using BenchmarkDotNet.Running;

// Usage: bench/run.sh [BenchmarkDotNet args], e.g. --filter '*MapBenchmarks*'. Needs root (bpf()).
BenchmarkSwitcher.FromAssembly(typeof(SharpBpf.Benchmarks.MapBenchmarks).Assembly).Run(args);
