using SharpBpf.Asm;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sharpbpf-asm-").FullName;
    public string File(string name, string text)
    {
        string p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(p, text);
        return p;
    }
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>In the kernel collection although most need no kernel: the CLI writes through process-wide output
/// state, so CLI tests must not run in parallel with each other.</summary>
[Collection(KernelCollection.Name)]
public class AsmCommandTests
{
    private const string Program = "mov32 %r0, 1\nlddw %r1, 0x1122334455667788\njeq %r1, 3, +1\nexit\nexit\n";

    [Fact]
    public void AsmPrintsOneHexLinePerSlot()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("asm", dir.File("p.s", Program));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["b4 00 00 00 01 00 00 00", "18 01 00 00 88 77 66 55", "00 00 00 00 44 33 22 11",
                      "15 01 01 00 03 00 00 00", "95 00 00 00 00 00 00 00", "95 00 00 00 00 00 00 00"],
            r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AsmTakesTheAsmSectionOfAConformanceFile()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("asm", dir.File("t.data", "# c\n-- asm\nmov %r0, 2\nexit\n-- result\n0x2\n"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("b7 00 00 00 02 00 00 00\n95 00 00 00 00 00 00 00\n", r.Stdout);
    }

    [Fact]
    public void AsmErrorNamesFileLineAndColumn()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.s", "mov %r0, 1\nldxw %r0, [%q1+4]\n");
        var r = CliRunner.Run("asm", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"sharpbpf: error: {path}: line 2, column 12: expected a register %r0-%r10, found '%q1'\n", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void AsmWritesAnObject()
    {
        using var dir = new TempDir();
        string obj = Path.Combine(dir.Path, "p.o");
        var r = CliRunner.Run("asm", dir.File("p.s", Program), "-o", obj, "--section", "xdp", "--name", "p");
        Assert.Equal(0, r.ExitCode);
        byte[] elf = File.ReadAllBytes(obj);
        Assert.Equal("\u007fELF"u8.ToArray(), elf[..4]);
        Assert.Contains("xdp\0"u8.ToArray(), Enumerable.Range(0, elf.Length - 4).Select(i => elf[i..(i + 4)]));
    }

    [Theory]
    [InlineData("b4 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00")]
    [InlineData("0x00000001000000b4\n0x0000000000000095\n")]
    public void DisasmReadsHexInBothForms(string hex)
    {
        var r = CliRunner.Run("disasm", "--hex", hex);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("mov32 %r0, 1\nexit\n", r.Stdout);
        var v = CliRunner.Run("disasm", "--hex", hex, "--syntax", "verifier");
        Assert.Equal("   0: (b4) w0 = 1\n   1: (95) exit\n", v.Stdout);
    }

    [Fact]
    public void DisasmReadsRawAndHexFilesAndRoundTrips()
    {
        using var dir = new TempDir();
        var code = Assembler.Assemble(Program);
        string raw = Path.Combine(dir.Path, "p.bin");
        File.WriteAllBytes(raw, Instruction.Encode(code));
        var r = CliRunner.Run("disasm", raw);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("mov32 %r0, 1\nlddw %r1, 0x1122334455667788\njeq %r1, 3, +1\nexit\nexit\n", r.Stdout);
        var hexFile = dir.File("p.hex", CliRunner.Run("asm", dir.File("p.s", Program)).Stdout);
        Assert.Equal(r.Stdout, CliRunner.Run("disasm", hexFile).Stdout);
        Assert.Equal(code, Assembler.Assemble(r.Stdout));
        var labelled = CliRunner.Run("disasm", raw, "--labels");
        Assert.Equal("mov32 %r0, 1\nlddw %r1, 0x1122334455667788\njeq %r1, 3, L5\nexit\nL5:\nexit\n", labelled.Stdout);
    }

    [Fact]
    public void DisasmReadsTheObjectsAsmWrites()
    {
        using var dir = new TempDir();
        string obj = Path.Combine(dir.Path, "p.o");
        var code = Assembler.Assemble(Program);
        ObjectWriter.Write(obj, code, "xdp", "prog", "GPL");
        var r = CliRunner.Run("disasm", obj);
        Assert.Equal(0, r.ExitCode);
        var listing = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("prog: section xdp, xdp, " + code.Length + " instructions", listing[0]);
        Assert.Equal(code, Assembler.Assemble(string.Join('\n', listing.Skip(1).Select(l => l[6..]))));

        // A program in .text alone is a subprogram, as in libbpf: say so instead of listing nothing.
        string text = Path.Combine(dir.Path, "t.o");
        ObjectWriter.Write(text, code);
        var none = CliRunner.Run("disasm", text);
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("no programs", none.Stderr);
    }

    [Theory]
    [InlineData("disasm", "--hex", "b4 00 00")]
    [InlineData("disasm", "--hex", "zz 00")]
    [InlineData("disasm", "/nonexistent/file")]
    [InlineData("asm", "/nonexistent/file.s")]
    public void BadInputIsAOneLineFailure(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sharpbpf: error: ", r.Stderr);
    }

    [Theory]
    [InlineData("disasm")]
    [InlineData("disasm", "--syntax", "att", "--hex", "95 00 00 00 00 00 00 00")]
    public void BadUsageExitsWith2(params string[] args) => Assert.Equal(2, CliRunner.Run(args).ExitCode);
}
