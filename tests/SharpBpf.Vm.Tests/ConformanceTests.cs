using SharpBpf.Asm.Conformance;
using SharpBpf.Vm.Conformance;

namespace SharpBpf.Vm.Tests;

/// <summary>Every bpf_conformance file passes on the interpreter and on the JIT (no rejections: the VM implements the
/// whole ISA, including what the kernel refuses such as out-of-range shift constants and callx).</summary>
public class ConformanceTests
{
    public static TheoryData<string> Names() => ConformanceData.Names();

    [Theory]
    [MemberData(nameof(Names))]
    public void PassesOnInterpreter(string name) => Check(name, VmEngine.Interpreter);

    [Theory]
    [MemberData(nameof(Names))]
    public void PassesOnJit(string name) => Check(name, VmEngine.Jit);

    private static void Check(string name, VmEngine engine)
    {
        var test = ConformanceData.Load(name);
        Assert.NotNull(test.Result);
        using var backend = new VmConformanceBackend(engine);
        var r = ConformanceRunner.Run(test, backend);
        Assert.True(r.Status == ConformanceStatus.Pass, $"{name} on {backend.Name}: {r.Status} {r.Message}");
    }

    [Fact]
    public void WholeDirectoryPassesOnBothEngines()
    {
        foreach (var engine in new[] { VmEngine.Interpreter, VmEngine.Jit })
        {
            using var backend = new VmConformanceBackend(engine);
            var results = ConformanceRunner.RunDirectory(ConformanceData.Directory.Value, backend);
            Assert.Equal(ConformanceData.Files().Count(), results.Count);
            Assert.All(results, r => Assert.True(r.Status == ConformanceStatus.Pass, $"{r.Name}: {r.Status} {r.Message}"));
        }
    }

    [Fact]
    public void WrongExpectationIsAFailure()
    {
        using var backend = new VmConformanceBackend(VmEngine.Interpreter);
        var r = ConformanceRunner.Run(ConformanceTest.Parse("-- asm\nmov %r0, 7\nexit\n-- result\n0x8\n", "wrong"), backend);
        Assert.Equal(ConformanceStatus.Fail, r.Status);
        Assert.Equal(7UL, r.Actual);
    }
}
