using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class ConformanceCommandTests
{
    [Fact]
    public void PluginProtocolReturnsR0InHex()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // ldxb r0, [r1+2]; add r0, r2; lsh r0, 40; exit  -> (0x33 + 4) << 40
        const string program = "71 10 02 00 00 00 00 00 0f 20 00 00 00 00 00 00 67 00 00 00 28 00 00 00 95 00 00 00 00 00 00 00";
        var r = CliRunner.RunWithStdin(program, "conformance", "--backend", "kernel", "11 22 33 44");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"{(0x33UL + 4) << 40:x}\n", r.Stdout);
    }

    [Fact]
    public void PluginWithoutMemoryAndRejectedProgram()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var ok = CliRunner.RunWithStdin("b7 00 00 00 fe ff ff ff 95 00 00 00 00 00 00 00", "conformance");
        Assert.Equal(0, ok.ExitCode);
        Assert.Equal("fffffffffffffffe\n", ok.Stdout);
        // callx: the kernel does not implement it
        var rejected = CliRunner.RunWithStdin("b7 02 00 00 05 00 00 00 8d 02 00 00 00 00 00 00 95 00 00 00 00 00 00 00", "conformance");
        Assert.Equal(1, rejected.ExitCode);
        Assert.Equal("rejected by kernel: unknown opcode 8d\n", rejected.Stdout);
        var garbage = CliRunner.RunWithStdin("b7 00 00", "conformance");
        Assert.Equal(1, garbage.ExitCode);
    }

    [Fact]
    public void RunPrintsATableAndSummary()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var dir = new TempDir();
        dir.File("a-pass.data", "-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n");
        dir.File("b-fail.data", "-- asm\nmov %r0, 3\nexit\n-- result\n0x2\n");
        dir.File("c-rejected.data", "-- asm\nmov %r1, 1\nlsh %r1, 70\nmov %r0, 1\nexit\n-- result\n0x1\n");
        dir.File("d-error.data", "-- asm\nfrob %r0\nexit\n-- result\n0x1\n");
        dir.File("e-mem.data", "-- asm\nldxh %r0, [%r1+1]\nexit\n-- mem\n01 02 03\n-- result\n0x302\n");
        var r = CliRunner.Run("conformance", "run", dir.Path);
        Assert.Equal(1, r.ExitCode); // a failure and an error
        Assert.True(r.Stdout.Contains("2 passed, 1 failed, 1 rejected by the kernel backend, 1 errors (5 files)", StringComparison.Ordinal), r.Stdout);
        Assert.Matches(@"b-fail\s+│\s+FAIL\s+│\s+0x2\s+│\s+0x3", r.Stdout);
        Assert.Matches(@"c-rejected\s+│\s+REJECTED.*invalid shift 70", r.Stdout);
        Assert.Matches(@"d-error\s+│\s+ERROR.*line 2, column 1: unknown mnemonic 'frob'", r.Stdout);

        var json = CliRunner.Run("conformance", "run", dir.Path, "--json");
        using var doc = System.Text.Json.JsonDocument.Parse(json.Stdout);
        Assert.Equal(2, doc.RootElement.GetProperty("passed").GetInt32());
        Assert.Equal("rejected", doc.RootElement.GetProperty("tests")[2].GetProperty("status").GetString());
    }

    [Fact]
    public void RunOnMissingDirectoryFails()
    {
        var r = CliRunner.Run("conformance", "run", "/nonexistent/dir");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no such directory", r.Stderr);
    }
}
