using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using SharpBpf.Btf;

namespace SharpBpf.Benchmarks;

/// <summary>
/// Parse of the running kernel's BTF (/sys/kernel/btf/vmlinux): <see cref="BtfSpec.Parse"/> against libbpf's
/// <c>btf__parse</c> (file) and <c>btf__new</c> (memory) in the same run (bench/native/btfbench.c). The managed side's
/// allocated bytes come from the memory diagnoser; <see cref="NativeHeapBytes"/> prints libbpf's heap use for comparison.
/// </summary>
[MemoryDiagnoser]
public unsafe class BtfParseBenchmarks
{
    private const string Path = "/sys/kernel/btf/vmlinux";
    private static readonly byte[] PathZ = System.Text.Encoding.UTF8.GetBytes(Path + "\0");

    private byte[] _blob = [];
    private delegate* unmanaged<byte*, int> _parseFile;
    private delegate* unmanaged<byte*, uint, int> _parseMem;
    private delegate* unmanaged<byte*, long> _heapBytes;

    [GlobalSetup]
    public void Setup()
    {
        _blob = File.ReadAllBytes(Path);
        nint h = NativeLibraries.Load("btfbench");
        _parseFile = (delegate* unmanaged<byte*, int>)NativeLibrary.GetExport(h, "bb_parse_file");
        _parseMem = (delegate* unmanaged<byte*, uint, int>)NativeLibrary.GetExport(h, "bb_parse_mem");
        _heapBytes = (delegate* unmanaged<byte*, long>)NativeLibrary.GetExport(h, "bb_parse_file_heap_bytes");
        int ours = (int)BtfSpec.Parse(_blob).MaxTypeId + 1;
        int theirs = LibbpfParseFile();
        if (ours != theirs) throw new InvalidOperationException($"type counts differ: ours {ours}, libbpf {theirs}");
        long native = NativeHeapBytes();
        Console.WriteLine($"// vmlinux BTF: {_blob.Length} bytes, {ours} types; libbpf btf__parse holds {native} heap bytes ({(double)native / _blob.Length:F2}x the blob)");
    }

    /// <summary>Read the file and parse it (what <see cref="BtfSpec.LoadKernel"/> does).</summary>
    [Benchmark(Baseline = true)]
    public uint SharpBpfParseFile() => BtfSpec.Parse(File.ReadAllBytes(Path)).MaxTypeId;

    /// <summary>libbpf btf__parse: reads the file and parses it.</summary>
    [Benchmark]
    public int LibbpfParseFile()
    {
        fixed (byte* p = PathZ) return _parseFile(p);
    }

    /// <summary>Parse a blob already in memory (no copy).</summary>
    [Benchmark]
    public uint SharpBpfParseMemory() => BtfSpec.Parse(_blob).MaxTypeId;

    /// <summary>libbpf btf__new: copies the blob and parses it.</summary>
    [Benchmark]
    public int LibbpfParseMemory()
    {
        fixed (byte* p = _blob) return _parseMem(p, (uint)_blob.Length);
    }

    /// <summary>Heap bytes libbpf keeps for a parsed vmlinux BTF (not timed; printed in setup).</summary>
    public long NativeHeapBytes()
    {
        fixed (byte* p = PathZ) return _heapBytes(p);
    }
}
