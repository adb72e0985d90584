using SharpBpf.Interop;

namespace SharpBpf.Internal;

/// <summary>What kind of bpf object an fd refers to, from its anon inode name in /proc/self/fd (BPF_OBJ_GET and
/// BPF_OBJ_GET_INFO_BY_FD accept any bpf object, so opening a pinned map as a program must be caught here).</summary>
internal static class BpfObjectKind
{
    public const string Program = "anon_inode:bpf-prog";

    public const string Map = "anon_inode:bpf-map";

    /// <summary>A new link's fd is named "bpf_link" (bpf_link_prime), one from BPF_OBJ_GET or GET_FD_BY_ID
    /// "bpf-link" (bpf_link_new_fd).</summary>
    public static readonly string[] Link = ["anon_inode:bpf_link", "anon_inode:bpf-link"];

    public static string Of(SafeBpfFd fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd.Fd}").LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="fd"/> is known not to be of <paramref name="kind"/>.</summary>
    public static void Require(SafeBpfFd fd, string kind, string what) => Require(fd, [kind], what);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="fd"/> is one of <paramref name="kinds"/>.</summary>
    public static void Require(SafeBpfFd fd, string[] kinds, string what)
    {
        string actual = Of(fd);
        // Without /proc the kind is unknown: let the kernel's own checks decide.
        if (actual.Length != 0 && Array.IndexOf(kinds, actual) < 0)
            throw new ArgumentException($"the object is not {what} (it is '{actual}')", "fd");
    }
}
