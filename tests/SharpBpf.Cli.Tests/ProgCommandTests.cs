using System.Text.Json;
using SharpBpf.Asm;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class ProgCommandTests
{
    // r0 = 1; exit
    private static BpfProgram LoadTrivial(string name) => BpfProgram.Load(new ProgramSpec
    {
        Name = name,
        Type = ProgramType.SocketFilter,
        License = "GPL",
        Instructions = [new Instruction(0xb7, 0, 0, 0, 1), new Instruction(0x95, 0, 0, 0, 0)],
    });

    [Fact]
    public void ListAndShowSeeAProgramTheTestLoaded()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = LoadTrivial("cli_prog");

        var list = CliRunner.Run("prog", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        using (var doc = JsonDocument.Parse(list.Stdout))
        {
            var mine = doc.RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetUInt32() == prog.Id);
            Assert.Equal("socket_filter", mine.GetProperty("type").GetString());
            Assert.Equal("cli_prog", mine.GetProperty("name").GetString());
            Assert.Equal(prog.Tag, mine.GetProperty("tag").GetString());
            Assert.True(mine.GetProperty("gpl_compatible").GetBoolean());
        }

        var table = CliRunner.Run("prog", "list");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("cli_prog", table.Stdout);
        Assert.Contains(prog.Tag, table.Stdout);

        var show = CliRunner.Run("prog", "show", prog.Id.ToString());
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("socket_filter", show.Stdout);
        Assert.Contains(prog.Tag, show.Stdout);
    }

    [Fact]
    public void ShowAgreesWithBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = LoadTrivial("xcheck_prog");
        var ours = CliRunner.Run("prog", "show", prog.Id.ToString(), "--json");
        Assert.Equal(0, ours.ExitCode);
        using var o = JsonDocument.Parse(ours.Stdout);
        using var b = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("prog", "show", "id", prog.Id.ToString(), "-j"));
        foreach (var field in new[] { "type", "name", "tag" })
            Assert.Equal(b.RootElement.GetProperty(field).GetString(), o.RootElement.GetProperty(field).GetString());
        foreach (var field in new[] { "id", "bytes_xlated", "bytes_jited", "uid" })
            Assert.Equal(b.RootElement.GetProperty(field).GetUInt64(), o.RootElement.GetProperty(field).GetUInt64());
        Assert.Equal(b.RootElement.GetProperty("gpl_compatible").GetBoolean(), o.RootElement.GetProperty("gpl_compatible").GetBoolean());
        // Both derive the wall-clock load time from CLOCK_BOOTTIME; allow a second of rounding.
        Assert.InRange(o.RootElement.GetProperty("loaded_at").GetInt64() - b.RootElement.GetProperty("loaded_at").GetInt64(), -1, 1);
    }

    [Fact]
    public void UnknownProgramIdIsAFailure()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var r = CliRunner.Run("prog", "show", "4000000000");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no program with id 4000000000", r.Stderr);
    }
}
