namespace SharpBpf.Externs;

/// <summary>An extern of a BPF object could not be resolved against the running kernel (a strong extern that is
/// missing, a value that does not fit its declared type, a kfunc prototype that differs from the kernel's ...).</summary>
public sealed class ExternException : Exception
{
    /// <summary>Creates the exception for extern <paramref name="externName"/>.</summary>
    public ExternException(string externName, string message, Exception? inner = null)
        : base($"extern '{externName}': {message}", inner)
    {
        ExternName = externName;
        Reason = message;
    }

    /// <summary>What went wrong, without the extern's name.</summary>
    public string Reason { get; }

    /// <summary>The name of the extern.</summary>
    public string ExternName { get; }
}
