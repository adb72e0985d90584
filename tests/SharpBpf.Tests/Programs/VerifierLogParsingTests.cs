using SharpBpf.Programs;

namespace SharpBpf.Tests.Programs;

/// <summary>Log parsing of <see cref="BpfVerifierException"/> on synthetic logs (no kernel needed).</summary>
public class VerifierLogParsingTests
{
    [Fact]
    public void MessageIsTheLastErrorLineBeforeTheStatistics()
    {
        const string log = "func#0 @0\n0: R1=ctx() R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\n"
            + "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
            + "verification time 7 usec\nstack depth 0\n\n";
        var ex = new BpfVerifierException("p", 13, log);
        Assert.Equal("R2 !read_ok", ex.Message);
        Assert.Equal(7, ex.Lines.Count);
        Assert.Equal("stack depth 0", ex.Lines[^1]);
        Assert.Equal(13, ex.Errno);
        Assert.Contains("EACCES", ex.Failure);
        Assert.Contains("'p'", ex.Failure);
    }

    [Fact]
    public void ALogWithoutAnErrorLineFallsBackToTheFailure()
    {
        var ex = new BpfVerifierException("q", 22, "processed 3 insns (limit 1000000)\n");
        Assert.Equal(ex.Failure, ex.Message);
    }

    [Fact]
    public void ToStringShowsTheTailAndCountsTheRest()
    {
        var lines = Enumerable.Range(1, 50).Select(i => $"line {i}").Append("the error").ToList();
        var ex = new BpfVerifierException("r", 13, string.Join('\n', lines) + "\n", truncated: true);
        string text = ex.ToString();
        Assert.Contains("(31 lines omitted)", text);
        Assert.Contains("line 32", text);
        Assert.DoesNotContain("line 31\n", text);
        Assert.Contains("the error", text);
        Assert.Contains("truncated", text);
        Assert.StartsWith("SharpBpf.Programs.BpfVerifierException: BPF_PROG_LOAD failed", text);
    }

    [Fact]
    public void ALogThatKeptItsStartDoesNotPassAnInstructionOffAsTheError()
    {
        // Kernels before 6.4 fill a fixed log buffer from the start: its last line is just where the buffer ended.
        const string log = "func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n84: (07) r0 += 1\n";
        var ex = new BpfVerifierException("s", 13, log, truncated: true, keptStart: true);
        Assert.True(ex.TruncatedKeptStart);
        Assert.Equal($"the verifier's error is past the end of its truncated log ({log.Length} bytes: this kernel, before 6.4, keeps the log's start; raise ProgramLoadOptions.MaxLogSize)", ex.Message);
        Assert.Contains("(truncated: only its start fitted the buffer)", ex.ToString());
        Assert.Equal(log, ex.Log);

        // Not truncated: keptStart has no meaning and the last line is the error.
        var whole = new BpfVerifierException("s", 13, log, truncated: false, keptStart: true);
        Assert.False(whole.TruncatedKeptStart);
        Assert.Equal("84: (07) r0 += 1", whole.Message);
    }
}
