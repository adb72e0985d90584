using SharpBpf.Asm;

namespace SharpBpf.Tests.Asm;

public class InstructionRewriterTests
{
    private static readonly Instruction Nop = Assembler.Assemble("mov %r0, %r0")[0];

    [Fact]
    public void ReferencesFollowTheirTargets()
    {
        var code = Assembler.Assemble("""
            top:
            jeq %r1, 0, mid
            gotol mid
            lddw %r2, func sub
            call local sub
            mid:
            ja top
            exit
            sub:
            ja +0
            exit
            """);
        // layout: 0 jeq, 1 gotol, 2-3 lddw func, 4 call, 5 mid: ja top, 6 exit, 7 sub: ja, 8 exit
        // two instructions inserted before the gotol and before the first exit
        var rewritten = InstructionRewriter.Rewrite(code, i => i switch
        {
            1 => [Nop, Nop, code[1]],
            6 => [Nop, Nop, code[6]],
            _ => null,
        });
        // new layout: 0 jeq, 1-2 nop, 3 gotol, 4-5 lddw, 6 call, 7 mid: ja top, 8-9 nop, 10 exit, 11 sub: ja, 12 exit
        Assert.Equal(code.Length + 4, rewritten.Length);
        Assert.Equal(6, rewritten[0].Offset); // jeq → mid (5 → 7)
        Assert.Equal(code[1].Imm, rewritten[3].Imm); // instructions of a replacement are copied as they are
        Assert.True(rewritten[4].IsPseudoFunc);
        Assert.Equal(11 - 4 - 1, rewritten[4].Imm); // lddw func → sub (7 → 11)
        Assert.True(rewritten[6].IsPseudoCall);
        Assert.Equal(11 - 6 - 1, rewritten[6].Imm);
        Assert.Equal(-8, rewritten[7].Offset); // ja top
        Assert.Equal(0, rewritten[11].Offset); // sub's own ja +0 keeps pointing at its exit
        Assert.Equal(7, InstructionRewriter.MainFunctionEnd(code));
        Assert.Equal(11, InstructionRewriter.MainFunctionEnd(rewritten));
    }

    [Fact]
    public void OutOfRangeReferencesAreErrors()
    {
        Instruction[] bad = [Assembler.Assemble("ja +5")[0], Assembler.Assemble("exit")[0]];
        Assert.Throws<ArgumentException>(() => InstructionRewriter.Rewrite(bad, _ => null));
        var far = new InstructionBuilder().Ja("end").Mov64(Register.R0, 0).Label("end").Exit().Build();
        var e = Assert.Throws<ArgumentException>(() => InstructionRewriter.Rewrite(far, i => i == 1 ? Enumerable.Repeat(Nop, 40000).ToArray() : null));
        Assert.Contains("16-bit", e.Message);
    }
}
