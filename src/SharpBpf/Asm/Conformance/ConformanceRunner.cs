namespace SharpBpf.Asm.Conformance;

/// <summary>Something that runs conformance programs: the kernel (<see cref="KernelConformanceBackend"/>) or a
/// userspace VM.</summary>
public interface IConformanceBackend
{
    /// <summary>Short name (<c>kernel</c>).</summary>
    string Name { get; }

    /// <summary>Runs <paramref name="program"/> with r1 pointing to a copy of <paramref name="memory"/> and r2 holding
    /// its length, and returns r0 at exit or why the program could not run.</summary>
    ConformanceOutcome Run(ReadOnlySpan<Instruction> program, ReadOnlySpan<byte> memory);
}

/// <summary>Result of one backend run: r0, or the reason the backend refused the program (e.g. the verifier's
/// error line).</summary>
public readonly record struct ConformanceOutcome(bool Ran, ulong R0, string? Rejection)
{
    /// <summary>The program ran and returned <paramref name="r0"/>.</summary>
    public static ConformanceOutcome Returned(ulong r0) => new(true, r0, null);

    /// <summary>The backend refused the program.</summary>
    public static ConformanceOutcome Rejected(string reason) => new(false, 0, reason);
}

/// <summary>Outcome of one conformance test.</summary>
public enum ConformanceStatus
{
    /// <summary>r0 equals the expected result.</summary>
    Pass,
    /// <summary>r0 differs from the expected result.</summary>
    Fail,
    /// <summary>The backend refused the program (<see cref="ConformanceResult.Message"/> says why).</summary>
    Rejected,
    /// <summary>The test file itself is bad (does not parse or assemble).</summary>
    Error,
}

/// <summary>One line of a conformance report.</summary>
public sealed record ConformanceResult(string Name, ConformanceStatus Status, ulong? Expected, ulong? Actual, string? Message);

/// <summary>Runs conformance test files against a backend.</summary>
public static class ConformanceRunner
{
    /// <summary>Runs one test.</summary>
    public static ConformanceResult Run(ConformanceTest test, IConformanceBackend backend)
    {
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(backend);
        Instruction[] code;
        try
        {
            code = test.Assemble();
        }
        catch (AssemblerException e)
        {
            return new ConformanceResult(test.Name, ConformanceStatus.Error, test.Result, null, e.Message);
        }
        var outcome = backend.Run(code, test.Memory);
        if (!outcome.Ran) return new ConformanceResult(test.Name, ConformanceStatus.Rejected, test.Result, null, outcome.Rejection);
        bool ok = test.Result is null || test.Result == outcome.R0;
        return new ConformanceResult(test.Name, ok ? ConformanceStatus.Pass : ConformanceStatus.Fail, test.Result, outcome.R0,
            ok ? null : $"expected 0x{test.Result:x}, got 0x{outcome.R0:x}");
    }

    /// <summary>Runs every <c>*.data</c> file of <paramref name="directory"/> (sorted by name).</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static IReadOnlyList<ConformanceResult> RunDirectory(string directory, IConformanceBackend backend)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"no such directory: {directory}");
        var results = new List<ConformanceResult>();
        foreach (var path in Directory.GetFiles(directory, "*.data").Order(StringComparer.Ordinal))
        {
            ConformanceTest test;
            try
            {
                test = ConformanceTest.Load(path);
            }
            catch (FormatException e)
            {
                results.Add(new ConformanceResult(Path.GetFileNameWithoutExtension(path), ConformanceStatus.Error, null, null, e.Message));
                continue;
            }
            results.Add(Run(test, backend));
        }
        return results;
    }
}
