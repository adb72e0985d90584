using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Internal;

/// <summary>Mounting the pseudo filesystems the library needs (bpffs, tracefs); needs CAP_SYS_ADMIN.</summary>
internal static unsafe class Mounts
{
    /// <summary>Mounts a <paramref name="fsType"/> filesystem (source named like the type) at <paramref name="target"/>,
    /// creating the directory first.</summary>
    public static void Mount(string fsType, string target)
    {
        Directory.CreateDirectory(target);
        byte[] fs = Encoding.UTF8.GetBytes(fsType + "\0"), dir = Encoding.UTF8.GetBytes(target + "\0");
        fixed (byte* f = fs)
        fixed (byte* d = dir)
        {
            if (Libc.mount(f, d, f, 0, null) != 0)
                throw new BpfException("mount", Marshal.GetLastPInvokeError(), $"mounting {fsType} at {target}");
        }
    }
}
