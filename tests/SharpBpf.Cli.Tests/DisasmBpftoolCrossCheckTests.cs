using System.Globalization;
using System.Text.RegularExpressions;
using SharpBpf.Asm;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary>
/// Our verifier-syntax disassembly against the real bpftool: programs are loaded, <c>bpftool prog dump xlated id N
/// opcodes</c> gives the kernel's translated instructions with their bytes, and our disassembly of those bytes must
/// print exactly bpftool's lines (kernel rewrites such as the div-by-zero guards included). The installed bpftool
/// (v7.1, from Linux 6.1) predates the 6.6 instructions (sdiv/smod, movsx, bswap, ldxs*, gotol: it prints
/// <c>BUG_alu64_d7</c> or drops the sign), so those are checked against the running kernel's own printer instead:
/// the level-2 verifier log, which prints each instruction with the same <c>print_bpf_insn</c> bpftool uses.
/// </summary>
[Collection(KernelCollection.Name)]
public partial class DisasmBpftoolCrossCheckTests
{
    [GeneratedRegex(@"^\s*(\d+): (.*)$")]
    private static partial Regex TextLine();

    private static (List<string> Lines, Instruction[] Code) Xlated(uint id)
    {
        string dump = BpftoolCrossCheckTests.Bpftool("prog", "dump", "xlated", "id", id.ToString(CultureInfo.InvariantCulture), "opcodes");
        var lines = new List<string>();
        var bytes = new List<byte>();
        var all = dump.Split('\n');
        for (int i = 0; i < all.Length; i++)
        {
            var m = TextLine().Match(all[i]);
            if (!m.Success) continue;
            lines.Add($"{int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),4}: {m.Groups[2].Value.TrimEnd()}");
            bytes.AddRange(all[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(h => Convert.ToByte(h, 16)));
        }
        return (lines, Instruction.DecodeAll(bytes.ToArray()));
    }

    private static void CrossCheck(Instruction[] program, bool skipCalls = false)
    {
        using var prog = BpfProgram.Load(new ProgramSpec { Name = "xcheck_disasm", Type = ProgramType.Xdp, License = "GPL", Instructions = program });
        var (expected, xlated) = Xlated(prog.Id);
        var ours = Disassembler.Disassemble(xlated, DisassemblySyntax.Verifier).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(expected.Count >= program.Length / 2, $"bpftool printed only {expected.Count} lines");
        Assert.Equal(expected.Count, ours.Length);
        for (int i = 0; i < ours.Length; i++)
        {
            if (skipCalls && expected[i].Contains(") call ", StringComparison.Ordinal))
            {
                // helper names come from kallsyms in bpftool; the imm (#N) must still agree
                Assert.Equal(expected[i][expected[i].LastIndexOf('#')..], ours[i][ours[i].LastIndexOf('#')..]);
                continue;
            }
            Assert.Equal(expected[i], ours[i]);
        }
    }

    [GeneratedRegex(@"^(\d+): (\([0-9a-f]{2}\) .*?)(?:\s+;.*)?$")]
    private static partial Regex LogLine();

    /// <summary>Each instruction as the kernel's verifier log printed it (first occurrence of each index).</summary>
    private static Dictionary<int, string> VerifierLogInstructions(Instruction[] program)
    {
        using var prog = BpfProgram.Load(new ProgramSpec { Name = "xcheck_log", Type = ProgramType.Xdp, License = "GPL", Instructions = program },
            new ProgramLoadOptions { VerifierLog = VerifierLogLevel.Verbose });
        var printed = new Dictionary<int, string>();
        foreach (var line in prog.VerifierLog!.Split('\n'))
        {
            var m = LogLine().Match(line);
            if (m.Success) printed.TryAdd(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value.TrimEnd());
        }
        return printed;
    }

    private const string V4Program = """
        mov %r0, 0
        mov32 %r1, -1
        mov %r2, 7
        sdiv %r0, %r2
        sdiv32 %r1, -3
        smod %r0, %r2
        smod32 %r1, 3
        movsx864 %r3, %r1
        movsx1664 %r4, %r1
        movsx3264 %r5, %r1
        movsx832 %r6, %r1
        movsx1632 %r7, %r1
        bswap16 %r3
        bswap32 %r4
        bswap64 %r5
        stb [%r10-9], -8
        sth [%r10-12], -2
        stw [%r10-16], -3
        ldxsb %r8, [%r10-9]
        ldxsh %r8, [%r10-12]
        ldxsw %r8, [%r10-16]
        lock fetch xor32 [%r10-16], %r1
        lock fetch and32 [%r10-16], %r1
        gotol +0
        mov %r0, 1
        call 5
        jeq %r0, 5, +0
        lddw %r9, 0xfffffffffffffff0
        mov %r0, 2
        exit
        """;

    [Fact]
    public void NewerInstructionsMatchTheKernelsOwnPrinter()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var code = Assembler.Assemble(V4Program);
        var printed = VerifierLogInstructions(code);
        int checkedCount = 0;
        for (int i = 0; i < code.Length; i++)
        {
            if (!printed.TryGetValue(i, out string? kernel)) continue; // second lddw half, or skipped by gotol
            Assert.Equal(kernel, Disassembler.FormatInstruction(code, i, DisassemblySyntax.Verifier, out _));
            checkedCount++;
        }
        Assert.True(checkedCount >= code.Length - 3, $"only {checkedCount} of {code.Length} instructions were in the log");
    }

    [Fact]
    public void ClassicIsaMatchesBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        CrossCheck(Assembler.Assemble("""
            mov %r0, 0
            mov32 %r1, -1
            mov %r2, 7
            add %r0, %r2
            sub %r0, 3
            mul %r0, %r2
            div %r0, %r2
            mod %r0, 5
            or %r0, 0x10
            and %r0, %r2
            lsh %r0, 3
            rsh %r0, 1
            arsh %r0, 1
            xor32 %r1, %r2
            neg %r0
            neg32 %r1
            mov %r3, %r1
            mov %r4, %r1
            mov %r5, %r1
            mov %r7, 1
            be32 %r4
            le64 %r5
            stxdw [%r10-8], %r0
            stw [%r10-16], 5
            sth [%r10-12], 6
            stb [%r10-10], 7
            stb [%r10-9], -8
            ldxw %r6, [%r10-16]
            ldxb %r8, [%r10-10]
            lock add [%r10-8], %r6
            lock fetch or [%r10-8], %r7
            lock xchg [%r10-8], %r8
            mov %r0, 0
            lock cmpxchg [%r10-8], %r6
            lock add32 [%r10-16], %r6
            lock fetch xor32 [%r10-16], %r6
            lddw %r9, 0x1122334455667788
            jeq %r6, 1, +1
            jgt32 %r6, %r2, +1
            jsle %r6, -5, +1
            jset32 %r6, 0x80, +1
            jne %r6, %r7, +1
            mov %r0, 9
            mov %r0, 2
            exit
            """));
    }

    [Fact]
    public void MapReferencesAndHelperCallsMatchBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "xcheck_arr", Type = MapType.Array, KeySize = 4, ValueSize = 16, MaxEntries = 1 });
        var code = new InstructionBuilder()
            .LoadMapValue(Register.R6, map.Fd, 8)
            .Load(MemorySize.DWord, Register.R7, Register.R6, 0)
            .Call(5) // ktime_get_ns
            .StoreImm(MemorySize.Word, Register.R10, -4, 0)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .LoadMapFd(Register.R1, map.Fd)
            .Call(1) // map_lookup_elem: the verifier inlines it for arrays
            .Mov64(Register.R0, 2)
            .Exit()
            .Build();
        CrossCheck(code, skipCalls: true);
    }

    [Fact]
    public void ObjectWrittenByAsmLoadsWithBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var dir = new TempDir();
        string obj = Path.Combine(dir.Path, "p.o");
        var r = CliRunner.Run("asm", dir.File("p.s", "mov %r0, 1\njeq %r0, 1, +1\nmov %r0, 0\nlsh %r0, 1\nexit\n"),
            "-o", obj, "--section", "xdp", "--name", "asm_obj");
        Assert.Equal(0, r.ExitCode);
        string pin = $"/sys/fs/bpf/sharpbpf_asm_{Environment.ProcessId}";
        try
        {
            BpftoolCrossCheckTests.Bpftool("prog", "load", obj, pin);
            string dump = BpftoolCrossCheckTests.Bpftool("prog", "dump", "xlated", "pinned", pin);
            Assert.Contains("(b7) r0 = 1", dump);
            Assert.Contains("(67) r0 <<= 1", dump);
            string show = BpftoolCrossCheckTests.Bpftool("prog", "show", "pinned", pin);
            Assert.Contains("name asm_obj", show);
            Assert.Contains("gpl", show);
        }
        finally
        {
            File.Delete(pin);
        }
    }
}
