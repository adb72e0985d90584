using System.Globalization;
using System.Text.Json;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

/// <summary><c>prog dump xlated|jited</c> on a program with BTF, a bpf-to-bpf call, helper calls and two maps,
/// cross-checked with the real bpftool where it prints the same thing.</summary>
[Collection(KernelCollection.Name)]
public class ProgDumpCommandTests
{
    private static string Id(uint id) => id.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void XlatedJsonMatchesBpftoolInstructionByInstruction()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        uint id = coll.Programs["inspect_xdp"].Id;

        var ours = CliRunner.Run("prog", "dump", "xlated", Id(id), "--json");
        Assert.True(ours.ExitCode == 0, ours.Stderr);
        using var o = JsonDocument.Parse(ours.Stdout);
        using var b = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("prog", "dump", "xlated", "id", Id(id), "-j"));
        var mine = o.RootElement.EnumerateArray().ToArray();
        var theirs = b.RootElement.EnumerateArray().ToArray();
        Assert.Equal(theirs.Length, mine.Length);
        Assert.True(mine.Length > 30);
        int sources = 0;
        for (int i = 0; i < mine.Length; i++)
        {
            // every line, helper calls named through kallsyms and bpf-to-bpf calls through the JITed symbol included;
            // bpftool 7.1 predates the 6.7 per-CPU address move (mov with off 1) and prints it as a plain mov
            string expected = theirs[i].GetProperty("disasm").GetString()!, actual = mine[i].GetProperty("disasm").GetString()!;
            if (actual.Contains("= &(void __percpu *)(", StringComparison.Ordinal))
                expected = expected.Replace("= r", "= &(void __percpu *)(r", StringComparison.Ordinal) + ")";
            Assert.Equal(expected, actual);
            Assert.Equal(theirs[i].TryGetProperty("src", out var s) ? s.GetString() : null,
                mine[i].TryGetProperty("src", out var ms) ? ms.GetString() : null);
            if (theirs[i].TryGetProperty("src", out _)) sources++;
            Assert.Equal(theirs[i].TryGetProperty("proto", out _), mine[i].TryGetProperty("function", out _));
            Assert.Equal(theirs[i].TryGetProperty("proto", out var tp) ? tp.GetString() : null,
                mine[i].TryGetProperty("proto", out var mp) ? mp.GetString() : null);
        }
        Assert.True(sources > 5);
        var functions = mine.Where(e => e.TryGetProperty("function", out _)).Select(e => e.GetProperty("function").GetString()).ToArray();
        Assert.Equal(["inspect_xdp", "bump"], functions);
        var mapRefs = mine.Where(e => e.TryGetProperty("map_id", out _)).ToArray();
        Assert.Contains(mapRefs, e => e.GetProperty("map_name").GetString() == "inspect_hash" && e.GetProperty("map_id").GetUInt32() == coll.Maps["inspect_hash"].Id);
        Assert.Contains(mapRefs, e => e.GetProperty("map_name").GetString() == "inspect_pcpu");
    }

    [Fact]
    public void XlatedTextShowsFunctionsSourceLinesAndMapNames()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        var r = CliRunner.Run("prog", "dump", "xlated", Id(coll.Programs["inspect_xdp"].Id));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("int inspect_xdp(struct xdp_md * ctx):\n", r.Stdout);
        Assert.Contains("\nint bump(struct key * k):\n", r.Stdout);
        Assert.Contains("; struct value *v = bpf_map_lookup_elem(&inspect_hash, k); [inspect.bpf.c:", r.Stdout);
        Assert.Contains($"r1 = map[id:{coll.Maps["inspect_hash"].Id}]  ; map 'inspect_hash'", r.Stdout);
        Assert.Matches(@"\(85\) call __htab_map_lookup_elem#-?\d+", r.Stdout);
        Assert.Matches(@"\(85\) call pc\+\d+#bpf_prog_[0-9a-f]{16}_bump", r.Stdout);
    }

    [Fact]
    public void JitedDisassemblesEveryFunctionWithIced()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var coll = BpfCollection.LoadFile(TestObjects.PathOf("inspect.bpf.o"));
        var prog = coll.Programs["inspect_xdp"];
        var code = prog.GetCode();
        Assert.Equal(2, code.JitedFunctionLengths.Length);
        Assert.Equal(code.Jited.Length, (int)code.JitedFunctionLengths.Sum(l => l));

        var r = CliRunner.Run("prog", "dump", "jited", Id(prog.Id), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var funcs = doc.RootElement.EnumerateArray().ToArray();
        Assert.Equal(["inspect_xdp", "bump"], funcs.Select(f => f.GetProperty("name").GetString()));
        for (int f = 0; f < 2; f++)
        {
            var insns = funcs[f].GetProperty("insns").EnumerateArray().ToArray();
            // the bytes of all decoded instructions are exactly the function's image: nothing skipped or undecodable
            int bytes = insns.Sum(i => i.GetProperty("opcodes").GetArrayLength());
            Assert.Equal((int)code.JitedFunctionLengths[f], bytes);
            Assert.DoesNotContain(insns, i => i.GetProperty("disasm").GetString() == "(bad)");
            // the epilogue returns: a ret, or a jump to the return thunk (named through kallsyms)
            string last = insns[^1].GetProperty("disasm").GetString()!;
            Assert.True(last.StartsWith("ret", StringComparison.Ordinal) || last.Contains("return_thunk", StringComparison.Ordinal), last);
            Assert.Contains(insns, i => i.TryGetProperty("src", out _));
        }
        // x86-64 prologue of a BPF program: push %rbp; mov %rsp,%rbp
        var first = funcs[0].GetProperty("insns").EnumerateArray().Select(i => i.GetProperty("disasm").GetString()).ToArray();
        Assert.Contains("push   %rbp", first);
        Assert.Contains("mov    %rsp,%rbp", first);

        var text = CliRunner.Run("prog", "dump", "jited", Id(prog.Id));
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.StartsWith("int inspect_xdp(struct xdp_md * ctx) @ 0x", text.Stdout);
        Assert.Contains("\nint bump(struct key * k) @ 0x", text.Stdout);
        Assert.Contains("; v->count++; [inspect.bpf.c:", text.Stdout);
    }

    [Fact]
    public void DumpOfUnknownProgramIsAOneLineError()
    {
        KernelTest.Require();
        var r = CliRunner.Run("prog", "dump", "xlated", "4000000000");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("sharpbpf: error: no program with id 4000000000\n", r.Stderr);
    }
}
