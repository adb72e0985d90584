using SharpBpf.Interop;

namespace SharpBpf;

/// <summary>A bpf() (or related) syscall failed. <see cref="Errno"/> is the kernel's error number and
/// <see cref="Operation"/> names the command, e.g. <c>BPF_MAP_CREATE</c>.</summary>
public class BpfException : Exception
{
    /// <summary>Creates the exception for <paramref name="operation"/> failing with <paramref name="errno"/>.</summary>
    public BpfException(string operation, int errno, string? detail = null, Exception? inner = null)
        : base(Format(operation, errno, detail), inner)
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>The failing operation (bpf command name or libc call).</summary>
    public string Operation { get; }

    /// <summary>The errno the kernel returned.</summary>
    public int Errno { get; }

    /// <summary>Symbolic errno name, e.g. <c>EPERM</c>.</summary>
    public string ErrnoName => Interop.Errno.Name(Errno);

    private static string Format(string operation, int errno, string? detail) =>
        detail is null
            ? $"{operation} failed: {Interop.Errno.Describe(errno)}"
            : $"{operation} failed: {Interop.Errno.Describe(errno)}: {detail}";
}

/// <summary>The running kernel lacks a feature.</summary>
public sealed class NotSupportedByKernelException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NotSupportedByKernelException(string feature, string? minimumKernel, Exception? inner = null)
        : base(minimumKernel is null ? $"{feature} is not supported by the running kernel"
                                     : $"{feature} is not supported by the running kernel (requires Linux {minimumKernel} or later)", inner)
    {
        Feature = feature;
        MinimumKernel = minimumKernel;
    }

    /// <summary>The feature that is missing.</summary>
    public string Feature { get; }

    /// <summary>The first kernel version that has it, when known.</summary>
    public string? MinimumKernel { get; }
}
