using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using System.Runtime.InteropServices;
using SharpBpf.Elf;
using SharpBpf.Vm;

namespace SharpBpf.Benchmarks;

/// <summary>
/// The userspace VM against native code: testdata/vm_compute.bpf.o's programs (checksum over a 1500-byte frame, a
/// four-round FNV hash loop, a packet parser) run on the interpreter and the IL JIT; the native peer runs the same C
/// (testdata/vm_compute.h) compiled by gcc -O2 (bench/native/vmbench.c). Each category has native as its baseline,
/// so Ratio is VM time / native time. A VM run includes what a packet run costs: copying the frame in, building
/// the context, the map update the program makes.
/// </summary>
[Config(typeof(BenchConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class VmBenchmarks
{
    private const int ParserRuns = 64;
    private static readonly nint Lib = NativeLibraries.Load("vmbench");
    private static readonly delegate* unmanaged<byte*, nuint, int, ulong> Checksum = (delegate* unmanaged<byte*, nuint, int, ulong>)NativeLibrary.GetExport(Lib, "vb_checksum");
    private static readonly delegate* unmanaged<byte*, nuint, int, ulong> HashLoop = (delegate* unmanaged<byte*, nuint, int, ulong>)NativeLibrary.GetExport(Lib, "vb_hashloop");
    private static readonly delegate* unmanaged<byte*, nuint, int, ulong> Parser = (delegate* unmanaged<byte*, nuint, int, ulong>)NativeLibrary.GetExport(Lib, "vb_parser");

    private BpfVm _interp = null!, _jit = null!;
    private VmCollection _i = null!, _j = null!;
    private VmProgram _emptyJit = null!;
    private byte[] _frame = null!;
    private byte* _native;

    [GlobalSetup]
    public void Setup()
    {
        string obj = Path.Combine(NativeLibraries.RepoRoot(), "testdata", "vm_compute.bpf.o");
        _interp = new BpfVm(new VmOptions { Engine = VmEngine.Interpreter });
        _jit = new BpfVm(new VmOptions { Engine = VmEngine.Jit });
        _i = VmCollection.Load(_interp, ElfReader.ReadFile(obj));
        _j = VmCollection.Load(_jit, ElfReader.ReadFile(obj));
        _emptyJit = VmCollection.Load(_jit, ElfReader.ReadFile(Path.Combine(NativeLibraries.RepoRoot(), "testdata", "xdp_pass.bpf.o"))).Programs["xdp_pass"];
        _frame = new byte[1500];
        new Random(1).NextBytes(_frame);
        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(12), 0x0800);
        _frame[14] = 0x45;
        _frame[20] = 0;
        _frame[21] = 0;
        _frame[23] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(_frame.AsSpan(36), 53);
        _native = (byte*)NativeMemory.AlignedAlloc(1500, 64);
        _frame.CopyTo(new Span<byte>(_native, 1500));
        foreach (var name in new[] { "vmc_checksum", "vmc_hashloop", "vmc_parser" })
            if (_i.Programs[name].RunPacket(_frame) != _j.Programs[name].RunPacket(_frame))
                throw new InvalidOperationException($"{name}: interpreter and JIT disagree");
        if (_i.Programs["vmc_checksum"].Engine != VmEngine.Interpreter || _j.Programs["vmc_checksum"].Engine != VmEngine.Jit)
            throw new InvalidOperationException("engines not as configured");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _interp.Dispose();
        _jit.Dispose();
        NativeMemory.AlignedFree(_native);
    }

    [BenchmarkCategory("checksum 1500 B"), Benchmark(Baseline = true, Description = "native gcc -O2")]
    public ulong NativeChecksum() => Checksum(_native, 1500, 1);

    [BenchmarkCategory("checksum 1500 B"), Benchmark(Description = "VM interpreter")]
    public ulong InterpChecksum() => _i.Programs["vmc_checksum"].RunPacket(_frame);

    [BenchmarkCategory("checksum 1500 B"), Benchmark(Description = "VM IL JIT")]
    public ulong JitChecksum() => _j.Programs["vmc_checksum"].RunPacket(_frame);

    [BenchmarkCategory("hash loop 4x1500 B"), Benchmark(Baseline = true, Description = "native gcc -O2")]
    public ulong NativeHash() => HashLoop(_native, 1500, 1);

    [BenchmarkCategory("hash loop 4x1500 B"), Benchmark(Description = "VM interpreter")]
    public ulong InterpHash() => _i.Programs["vmc_hashloop"].RunPacket(_frame);

    [BenchmarkCategory("hash loop 4x1500 B"), Benchmark(Description = "VM IL JIT")]
    public ulong JitHash() => _j.Programs["vmc_hashloop"].RunPacket(_frame);

    [BenchmarkCategory("parser"), Benchmark(Baseline = true, OperationsPerInvoke = ParserRuns, Description = "native gcc -O2")]
    public ulong NativeParser() => Parser(_native, 1500, ParserRuns);

    [BenchmarkCategory("parser"), Benchmark(OperationsPerInvoke = ParserRuns, Description = "VM interpreter")]
    public ulong InterpParser()
    {
        var p = _i.Programs["vmc_parser"];
        ulong r = 0;
        for (int n = 0; n < ParserRuns; n++) r += p.RunPacket(_frame);
        return r;
    }

    [BenchmarkCategory("parser"), Benchmark(OperationsPerInvoke = ParserRuns, Description = "VM IL JIT, empty XDP program (fixed cost of a 1500 B packet run)")]
    public ulong JitEmpty()
    {
        var p = _emptyJit;
        ulong r = 0;
        for (int n = 0; n < ParserRuns; n++) r += p.RunPacket(_frame);
        return r;
    }

    [BenchmarkCategory("parser"), Benchmark(OperationsPerInvoke = ParserRuns, Description = "VM IL JIT")]
    public ulong JitParser()
    {
        var p = _j.Programs["vmc_parser"];
        ulong r = 0;
        for (int n = 0; n < ParserRuns; n++) r += p.RunPacket(_frame);
        return r;
    }
}
