using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Pinning;

/// <summary>bpffs helpers: pin objects, open pinned objects, make sure bpffs is mounted.</summary>
public static unsafe class BpfFs
{
    /// <summary>The conventional bpffs mount point.</summary>
    public const string DefaultPath = "/sys/fs/bpf";

    private const long BPF_FS_MAGIC = 0xcafe4a11;

    /// <summary>Whether <paramref name="path"/> is on a bpf filesystem (by the mount table).</summary>
    public static bool IsMounted(string path = DefaultPath)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var parts = line.Split(' ');
            if (parts.Length > 2 && parts[2] == "bpf" && parts[1].TrimEnd('/') == full) return true;
        }
        return false;
    }

    /// <summary>Mounts bpffs at <paramref name="path"/> unless it is there already (needs CAP_SYS_ADMIN).</summary>
    public static void EnsureMounted(string path = DefaultPath)
    {
        if (IsMounted(path)) return;
        Internal.Mounts.Mount("bpf", path);
    }

    /// <summary>Whether <paramref name="path"/> (an existing file or directory) is on a bpf filesystem (statfs).</summary>
    public static bool IsOnBpfFs(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        long* buf = stackalloc long[32]; // struct statfs is 120 bytes on 64-bit Linux; f_type comes first
        fixed (byte* pp = p)
        {
            if (Libc.statfs(pp, (byte*)buf) != 0) return false;
        }
        return buf[0] == BPF_FS_MAGIC;
    }

    /// <summary>Throws <see cref="BpfFsPathException"/> unless <paramref name="path"/>'s directory is on bpffs.</summary>
    private static void RequireBpfFsDirectory(string path, string what)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir))
            throw new BpfFsPathException(path, $"{what} '{path}': directory '{dir}' does not exist (pins live in bpffs, e.g. under {DefaultPath})");
        if (!IsOnBpfFs(dir))
            throw new BpfFsPathException(path, $"{what} '{path}': '{dir}' is not on a bpf filesystem (mount one, e.g. at {DefaultPath})");
    }

    internal static void Pin(SafeBpfFd fd, string path)
    {
        RequireBpfFsDirectory(path, "pinning at");
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            var attr = new ObjPinAttr { pathname = (ulong)pp, bpf_fd = (uint)fd.Fd };
            int r = Bpf.TryCall(BpfCmd.BPF_OBJ_PIN, ref attr);
            if (r < 0) throw new BpfException("BPF_OBJ_PIN", -r, $"pinning at '{path}'" + (-r == Errno.EEXIST ? " (something is pinned there already)" : ""));
        }
    }

    internal static SafeBpfFd Get(string path, uint fileFlags = 0)
    {
        if (File.Exists(path) && !IsOnBpfFs(path))
            throw new BpfFsPathException(path, $"opening pinned object '{path}': the file is not on a bpf filesystem");
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            var attr = new ObjPinAttr { pathname = (ulong)pp, file_flags = fileFlags };
            int r = Bpf.TryCall(BpfCmd.BPF_OBJ_GET, ref attr);
            if (r < 0) throw new BpfException("BPF_OBJ_GET", -r, $"opening pinned object '{path}'");
            return new SafeBpfFd(r);
        }
    }

    /// <summary>Removes a pin (the object lives on while other references exist). Only files on bpffs are removed.</summary>
    /// <exception cref="BpfFsPathException">The path is not on a bpf filesystem.</exception>
    /// <exception cref="FileNotFoundException">Nothing is pinned there.</exception>
    public static void Unpin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"nothing is pinned at '{path}'", path);
        if (!IsOnBpfFs(path)) throw new BpfFsPathException(path, $"unpinning '{path}': the file is not on a bpf filesystem");
        File.Delete(path);
    }
}

/// <summary>A pin path that is not in a bpf filesystem (or whose directory does not exist).</summary>
public sealed class BpfFsPathException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public BpfFsPathException(string path, string message)
        : base(message, "path") => PinPath = path;

    /// <summary>The offending path.</summary>
    public string PinPath { get; }
}
