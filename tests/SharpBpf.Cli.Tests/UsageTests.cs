using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class UsageTests
{
    [Theory]
    [InlineData("map", "show", "not-a-number")]
    [InlineData("map", "frobnicate")]
    [InlineData("no-such-verb")]
    [InlineData("map", "list", "--no-such-option")]
    [InlineData]
    public void BadArgumentsGiveOneLineAndExitCode2(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("sharpbpf: error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void UnknownMapIdIsAFailureNotACrash()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var r = CliRunner.Run("map", "show", "4000000000");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no map with id 4000000000", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
