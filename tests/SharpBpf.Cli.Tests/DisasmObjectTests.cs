using SharpBpf.Asm;
using SharpBpf.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>disasm OBJ</c>: programs of a clang-built object, annotated with source lines from line_info.</summary>
[Collection(KernelCollection.Name)]
public class DisasmObjectTests
{
    [Fact]
    public void ObjectListingCarriesSourceLinesAndEveryInstruction()
    {
        string obj = TestObjects.PathOf("callbacks.bpf.o");
        var r = CliRunner.Run("disasm", obj, "--syntax", "verifier");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n');
        Assert.StartsWith("callbacks: section syscall, syscall, ", lines[0]);
        // The source line comes right before the instructions it produced.
        int src = Array.FindIndex(lines, l => l.StartsWith("; bpf_loop(10, add_index, &c, 0);", StringComparison.Ordinal));
        Assert.True(src > 0, r.Stdout);
        Assert.EndsWith("[callbacks.bpf.c:34]", lines[src]);
        Assert.Contains(lines.Skip(src + 1).TakeWhile(l => !l.StartsWith(';')), l => l.Contains("call bpf_loop#181", StringComparison.Ordinal));

        // Every instruction of the linked program (subprograms included) is listed once, in order.
        var program = ElfReader.ReadFile(obj).Programs["callbacks"];
        var listed = lines.Where(l => l.Length > 5 && l[4] == ':' && char.IsDigit(l[3])).ToList();
        int expected = 0;
        for (int i = 0; i < program.Instructions.Length; i += program.Instructions[i].IsLoadImm64 ? 2 : 1) expected++;
        Assert.Equal(expected, listed.Count);
        Assert.Equal($"{program.Instructions.Length - 1,4}: (95) exit", listed[^1]);
    }

    [Fact]
    public void ConformanceSyntaxOfAnObjectReassembles()
    {
        string obj = TestObjects.PathOf("socket_filter.bpf.o");
        var program = ElfReader.ReadFile(obj).Programs.Values.First();
        var r = CliRunner.Run("disasm", obj, "--prog", program.Name);
        Assert.Equal(0, r.ExitCode);
        string asm = string.Join('\n', r.Stdout.Split('\n').Skip(1).Where(l => !l.StartsWith(';') && l.Length > 6).Select(l => l[6..]));
        Assert.Equal(program.Instructions, Assembler.Assemble(asm));
    }

    [Fact]
    public void UnknownProgramIsAOneLineFailure()
    {
        var r = CliRunner.Run("disasm", TestObjects.PathOf("callbacks.bpf.o"), "--prog", "nope");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no program 'nope' (programs: callbacks)", r.Stderr);
        var usage = CliRunner.Run("disasm", "--hex", "95 00 00 00 00 00 00 00", "--prog", "x");
        Assert.Equal(2, usage.ExitCode);
    }
}
