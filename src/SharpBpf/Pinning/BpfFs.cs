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

    internal static void Pin(SafeBpfFd fd, string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            var attr = new ObjPinAttr { pathname = (ulong)pp, bpf_fd = (uint)fd.Fd };
            int r = Bpf.TryCall(BpfCmd.BPF_OBJ_PIN, ref attr);
            if (r < 0) throw new BpfException("BPF_OBJ_PIN", -r, $"pinning at '{path}'");
        }
    }

    internal static SafeBpfFd Get(string path, uint fileFlags = 0)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            var attr = new ObjPinAttr { pathname = (ulong)pp, file_flags = fileFlags };
            int r = Bpf.TryCall(BpfCmd.BPF_OBJ_GET, ref attr);
            if (r < 0) throw new BpfException("BPF_OBJ_GET", -r, $"opening pinned object '{path}'");
            return new SafeBpfFd(r);
        }
    }

    /// <summary>Removes a pin (the object lives on while other references exist).</summary>
    public static void Unpin(string path) => File.Delete(path);
}
