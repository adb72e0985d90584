using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf conformance --backend interp|jit</c>: the plugin protocol and the directory run on the
/// userspace VM (no kernel needed).</summary>
[Collection(KernelCollection.Name)] // Console.In/Out are process-wide: run with the other CLI tests, not beside them
public class VmConformanceCommandTests
{
    [Theory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void PluginRunsOnTheVm(string backend)
    {
        // ldxb r0, [r1+2]; add r0, r2; lsh r0, 40; exit  -> (0x33 + 4) << 40
        const string program = "71 10 02 00 00 00 00 00 0f 20 00 00 00 00 00 00 67 00 00 00 28 00 00 00 95 00 00 00 00 00 00 00";
        var r = CliRunner.RunWithStdin(program, "conformance", "--backend", backend, "11 22 33 44");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"{(0x33UL + 4) << 40:x}\n", r.Stdout);
        // callx through a register holding helper 5 (the suite's unwind helper): the VM implements it
        var callx = CliRunner.RunWithStdin("b7 01 00 00 ff ff ff ff b7 02 00 00 05 00 00 00 8d 02 00 00 00 00 00 00 b7 00 00 00 02 00 00 00 95 00 00 00 00 00 00 00",
            "conformance", "-b", backend);
        Assert.Equal(0, callx.ExitCode);
        Assert.Equal("2\n", callx.Stdout);
        // a read outside the memory is refused with pc and address
        var fault = CliRunner.RunWithStdin("79 10 08 00 00 00 00 00 95 00 00 00 00 00 00 00", "conformance", "-b", backend, "01 02");
        Assert.Equal(1, fault.ExitCode);
        Assert.StartsWith($"rejected by {backend}: run failed: pc 0: read of 8 bytes at 0x0000000500000008", fault.Stdout);
    }

    [Fact]
    public void RunOverTheSharedSuitePassesEverything()
    {
        string dir = FindConformance();
        foreach (var backend in new[] { "interp", "jit" })
        {
            var r = CliRunner.Run("conformance", "run", dir, "--backend", backend, "--json");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("\"failed\": 0", r.Stdout);
            Assert.Contains("\"rejected\": 0", r.Stdout);
        }
    }

    private static string FindConformance()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SharpBpf.slnx")))
                return Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "conformance"));
        throw new DirectoryNotFoundException("repository root not found");
    }
}
