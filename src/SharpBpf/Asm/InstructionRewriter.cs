namespace SharpBpf.Asm;

/// <summary>
/// Inserts or replaces instructions in a program while keeping every relative reference right: jump offsets,
/// <c>gotol</c> immediates, <c>call local</c> targets and <c>lddw func</c> targets of the original instructions are
/// recomputed for the new layout. A reference to a replaced instruction lands on the first instruction of its
/// replacement. Replacement sequences are copied as they are (their own jumps stay relative to themselves).
/// </summary>
public static class InstructionRewriter
{
    /// <summary>Rewrites <paramref name="code"/>: for each instruction index, <paramref name="replace"/> returns the
    /// instructions that take its place, or null to keep it (never called for the second half of a lddw).</summary>
    /// <exception cref="ArgumentException">A reference points outside the program, or no longer fits its field.</exception>
    public static Instruction[] Rewrite(ReadOnlySpan<Instruction> code, Func<int, Instruction[]?> replace)
    {
        ArgumentNullException.ThrowIfNull(replace);
        int n = code.Length;
        var replacements = new Instruction[]?[n];
        var newStart = new int[n + 1];
        int pos = 0;
        for (int i = 0; i < n; i++)
        {
            newStart[i] = pos;
            if (code[i].IsLoadImm64 && i + 1 < n)
            {
                newStart[i + 1] = pos + 1;
                pos += 2;
                i++;
                continue;
            }
            replacements[i] = replace(i);
            pos += replacements[i]?.Length ?? 1;
        }
        newStart[n] = pos;

        var result = new Instruction[pos];
        for (int i = 0; i < n; i++)
        {
            int at = newStart[i];
            if (replacements[i] is { } repl)
            {
                repl.CopyTo(result, at);
                continue;
            }
            var insn = code[i];
            if (insn.IsOffsetJump)
                insn = insn.WithOffset(checked16(i, NewRelative(i, insn.Offset)));
            else if (insn.IsLongJump || insn.IsPseudoCall || insn.IsPseudoFunc)
                insn = insn.WithImm(NewRelative(i, insn.Imm));
            result[at] = insn;
        }
        return result;

        int NewRelative(int i, int rel)
        {
            long target = (long)i + 1 + rel;
            if (target < 0 || target > n)
                throw new ArgumentException($"instruction {i} refers to {target}, outside the program (0-{n})", nameof(code));
            return newStart[(int)target] - newStart[i] - 1;
        }

        static short checked16(int i, int rel) => rel is >= short.MinValue and <= short.MaxValue
            ? (short)rel
            : throw new ArgumentException($"after rewriting, the jump at instruction {i} is {rel} away: beyond a 16-bit offset", nameof(code));
    }

    /// <summary>Index of the first instruction after the main function: the lowest target of a <c>call local</c> or
    /// <c>lddw func</c> (subprograms follow the main function), or the program length when there is none.</summary>
    public static int MainFunctionEnd(ReadOnlySpan<Instruction> code)
    {
        int end = code.Length;
        for (int i = 0; i < code.Length; i++)
        {
            if (code[i].IsPseudoCall || code[i].IsPseudoFunc)
            {
                long target = (long)i + 1 + code[i].Imm;
                if (target > 0 && target < end) end = (int)target;
            }
            if (code[i].IsLoadImm64) i++;
        }
        return end;
    }
}
