namespace SharpBpf.Asm;

/// <summary>Bad assembler input: <see cref="Exception.Message"/> names the line and column (1-based) and what was
/// expected there.</summary>
public sealed class AssemblerException : Exception
{
    /// <summary>Creates the error for a position in the source.</summary>
    public AssemblerException(int line, int column, string problem)
        : base($"line {line}, column {column}: {problem}")
    {
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>Line of the error (1-based).</summary>
    public int Line { get; }

    /// <summary>Column of the error (1-based).</summary>
    public int Column { get; }

    /// <summary>The problem without the position.</summary>
    public string Problem { get; }
}
