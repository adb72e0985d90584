using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Btf;

/// <summary>
/// BTF loaded into the kernel (an fd from BPF_BTF_LOAD or BPF_BTF_GET_FD_BY_ID): what programs and maps reference for
/// func/line info and key/value types. Owns the fd; <see cref="BpfObject.Dispose()"/> closes it.
/// </summary>
public sealed unsafe class BtfHandle : BpfObject
{
    private const int MinLogSize = 64 * 1024;
    private const int MaxLogSize = 16 * 1024 * 1024;

    private BtfHandle(SafeBpfFd fd)
        : base(fd)
    {
    }

    /// <summary>Loads <paramref name="spec"/>'s raw blob into the kernel (BPF_BTF_LOAD, Linux 4.18).</summary>
    /// <exception cref="BtfLoadException">The kernel refused it; the message names the problem from its log.</exception>
    public static BtfHandle Load(BtfSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Load(spec.RawData.Span);
    }

    /// <summary>Loads a raw BTF blob into the kernel (BPF_BTF_LOAD). Tries without a log first; on failure loads again
    /// with a log (growing the buffer on ENOSPC) to say why.</summary>
    /// <exception cref="BtfLoadException">The kernel refused the blob.</exception>
    /// <exception cref="BpfException">The load failed without a log explaining it (e.g. EPERM).</exception>
    public static BtfHandle Load(ReadOnlySpan<byte> blob)
    {
        var fd = TryLoadRaw(blob, out int errno, out _, wantLog: false);
        if (fd is not null) return new BtfHandle(fd);
        if (errno is Errno.EPERM or Errno.EACCES or Errno.ENOMEM) throw new BpfException("BPF_BTF_LOAD", errno);
        fd = TryLoadRaw(blob, out errno, out string log, wantLog: true);
        if (fd is not null) return new BtfHandle(fd); // loaded on the second try: nothing to report
        if (log.Length == 0) throw new BpfException("BPF_BTF_LOAD", errno);
        throw new BtfLoadException(errno, log);
    }

    /// <summary>BPF_BTF_LOAD; returns the fd or null with errno and (when asked) the kernel's log.</summary>
    internal static SafeBpfFd? TryLoadRaw(ReadOnlySpan<byte> blob, out int errno, out string log, bool wantLog = true)
    {
        log = "";
        fixed (byte* b = blob)
        {
            var attr = new BtfLoadAttr { btf = (ulong)b, btf_size = (uint)blob.Length };
            if (!wantLog)
            {
                int r0 = Bpf.TryCall(BpfCmd.BPF_BTF_LOAD, ref attr);
                errno = r0 < 0 ? -r0 : 0;
                return r0 < 0 ? null : new SafeBpfFd(r0);
            }
            for (int size = MinLogSize; ; size *= 4)
            {
                var buffer = new byte[size];
                int r;
                fixed (byte* l = buffer)
                {
                    attr.btf_log_buf = (ulong)l;
                    attr.btf_log_size = (uint)size;
                    attr.btf_log_level = 1;
                    r = Bpf.TryCall(BpfCmd.BPF_BTF_LOAD, ref attr);
                    attr.btf_log_buf = 0;
                }
                if (r >= 0)
                {
                    errno = 0;
                    return new SafeBpfFd(r);
                }
                errno = -r;
                int len = buffer.AsSpan().IndexOf((byte)0);
                log = Encoding.UTF8.GetString(buffer, 0, len < 0 ? buffer.Length : len);
                if (errno != Errno.ENOSPC || size >= MaxLogSize) return null;
            }
        }
    }

    /// <summary>Opens the kernel BTF object with id <paramref name="id"/> (BPF_BTF_GET_FD_BY_ID, Linux 5.0).</summary>
    public static BtfHandle FromId(uint id)
    {
        var attr = new GetIdAttr { btf_id = id };
        return new BtfHandle(Bpf.CallFd(BpfCmd.BPF_BTF_GET_FD_BY_ID, ref attr));
    }

    /// <summary>Ids of all BTF objects in the kernel (vmlinux, modules, loaded objects), ascending (BPF_BTF_GET_NEXT_ID).</summary>
    public static IEnumerable<uint> EnumerateIds() => ObjectIds.Enumerate(BpfCmd.BPF_BTF_GET_NEXT_ID);

    /// <summary>Id, name, size and whether it is kernel (vmlinux/module) BTF (BPF_OBJ_GET_INFO_BY_FD).</summary>
    public BtfObjectInfo GetInfo()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var name = stackalloc byte[256];
        var info = new BpfBtfInfo { name = (ulong)name, name_len = 256 };
        ObjectInfo.Get(Handle, ref info);
        int len = new ReadOnlySpan<byte>(name, 256).IndexOf((byte)0);
        string n = Encoding.UTF8.GetString(name, len < 0 ? 255 : len);
        return new BtfObjectInfo(info.id, n, info.btf_size, info.kernel_btf != 0);
    }

    /// <summary>The raw BTF blob as the kernel holds it (BPF_OBJ_GET_INFO_BY_FD with a buffer).</summary>
    public byte[] ReadRaw()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var info = new BpfBtfInfo();
        ObjectInfo.Get(Handle, ref info);
        // The blob cannot change, but ask again if the kernel reports a larger size.
        while (true)
        {
            uint size = info.btf_size;
            var blob = new byte[size];
            fixed (byte* b = blob)
            {
                info = new BpfBtfInfo { btf = (ulong)b, btf_size = size };
                ObjectInfo.Get(Handle, ref info);
            }
            if (info.btf_size <= size) return info.btf_size == size ? blob : blob[..(int)info.btf_size];
        }
    }

    /// <summary>Reads the kernel's blob and parses it. Module BTF is split BTF on top of vmlinux and cannot be
    /// parsed stand-alone yet.</summary>
    /// <exception cref="BtfFormatException">The blob is not stand-alone BTF.</exception>
    public BtfSpec ReadSpec() => BtfSpec.Parse(ReadRaw());
}

/// <summary>What the kernel reports about a BTF object.</summary>
/// <param name="Id">Kernel id.</param>
/// <param name="Name">"vmlinux", a module name, or empty for BTF loaded by a program.</param>
/// <param name="Size">Size of the raw blob in bytes.</param>
/// <param name="IsKernel">Whether it is the kernel's or a module's own BTF (kernel_btf, Linux 5.11).</param>
public readonly record struct BtfObjectInfo(uint Id, string Name, uint Size, bool IsKernel);

/// <summary>BPF_BTF_LOAD refused a blob. <see cref="Exception.Message"/> names the problem (the log's last lines);
/// <see cref="Log"/> is the kernel's full BTF verifier log.</summary>
public sealed class BtfLoadException : BpfException
{
    /// <summary>Creates the exception for errno <paramref name="errno"/> and kernel log <paramref name="log"/>.</summary>
    public BtfLoadException(int errno, string log) : base("BPF_BTF_LOAD", errno, Tail(log))
    {
        Log = log;
    }

    /// <summary>The kernel's log.</summary>
    public string Log { get; }

    /// <summary>The last lines of the log, the kernel's complaint: it prints the offending type then the reason.</summary>
    private static string Tail(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length switch
        {
            0 => "(empty log)",
            1 => lines[0],
            _ => lines[^2] + " " + lines[^1],
        };
    }
}
