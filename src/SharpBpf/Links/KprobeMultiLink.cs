using System.Runtime.InteropServices;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// One link attaching a program to many kernel functions (BPF_TRACE_KPROBE_MULTI over fprobe, Linux 5.18):
/// sections <c>kprobe.multi/PATTERN</c> and <c>kretprobe.multi/PATTERN</c>; the program must be loaded with
/// expected attach type <see cref="AttachType.TraceKprobeMulti"/>. Each function can have its own cookie (the
/// kernel sorts them with the functions).
/// </summary>
public sealed class KprobeMultiLink : BpfLink
{
    private const uint BPF_F_KPROBE_MULTI_RETURN = 1;

    private KprobeMultiLink(SafeBpfFd fd, uint id, int count, bool isReturn)
        : base(fd, LinkType.KprobeMulti, id)
    {
        Count = count;
        IsReturnProbe = isReturn;
    }

    /// <summary>Number of functions probed.</summary>
    public int Count { get; }

    /// <summary>Whether these are return probes.</summary>
    public bool IsReturnProbe { get; }

    /// <summary>Attaches <paramref name="program"/> to kernel functions <paramref name="symbols"/>.</summary>
    /// <exception cref="ArgumentException">Empty list, a cookie count that differs, or the wrong program type.</exception>
    /// <exception cref="NotSupportedByKernelException">The kernel has no kprobe_multi (before 5.18, or no CONFIG_FPROBE / CONFIG_KPROBES).</exception>
    /// <exception cref="BpfException">BPF_LINK_CREATE failed (ENOENT/ESRCH: a function does not exist).</exception>
    public static unsafe KprobeMultiLink Attach(BpfProgram program, IReadOnlyList<string> symbols, IReadOnlyList<ulong>? cookies = null, bool isReturn = false)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        Check(program, symbols.Count, cookies);
        var names = new byte[symbols.Count][];
        for (int i = 0; i < names.Length; i++)
        {
            ArgumentException.ThrowIfNullOrEmpty(symbols[i], nameof(symbols));
            names[i] = UprobeLink.NulTerminated(symbols[i]);
        }
        var handles = new GCHandle[names.Length];
        var pointers = new ulong[names.Length];
        try
        {
            for (int i = 0; i < names.Length; i++)
            {
                handles[i] = GCHandle.Alloc(names[i], GCHandleType.Pinned);
                pointers[i] = (ulong)handles[i].AddrOfPinnedObject();
            }
            fixed (ulong* syms = pointers)
                return Create(program, (ulong)syms, 0, cookies, names.Length, isReturn,
                    symbols.Count == 1 ? symbols[0] : $"{symbols.Count} functions ({symbols[0]}, ...)");
        }
        finally
        {
            foreach (var h in handles)
                if (h.IsAllocated) h.Free();
        }
    }

    /// <summary>Attaches <paramref name="program"/> at kernel <paramref name="addresses"/> (function entries from /proc/kallsyms).</summary>
    public static unsafe KprobeMultiLink AttachAddresses(BpfProgram program, IReadOnlyList<ulong> addresses, IReadOnlyList<ulong>? cookies = null, bool isReturn = false)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        Check(program, addresses.Count, cookies);
        var addrs = addresses.ToArray();
        fixed (ulong* a = addrs)
            return Create(program, 0, (ulong)a, cookies, addrs.Length, isReturn, $"{addrs.Length} address(es) (0x{addrs[0]:x}, ...)");
    }

    private static void Check(BpfProgram program, int count, IReadOnlyList<ulong>? cookies)
    {
        ArgumentNullException.ThrowIfNull(program);
        UprobeLink.RequireKprobeType(program, "kprobe_multi");
        if (count == 0) throw new ArgumentException("kprobe_multi needs at least one function");
        if (cookies is not null && cookies.Count != count)
            throw new ArgumentException($"{cookies.Count} cookies for {count} functions", nameof(cookies));
    }

    private static unsafe KprobeMultiLink Create(BpfProgram program, ulong syms, ulong addrs, IReadOnlyList<ulong>? cookies, int count, bool isReturn, string what)
    {
        var cks = cookies?.ToArray();
        what = $"{(isReturn ? "kretprobe" : "kprobe")}.multi on {what}";
        fixed (ulong* c = cks)
        {
            var attr = new LinkCreateAttr
            {
                prog_fd = (uint)program.Fd,
                attach_type = (uint)AttachType.TraceKprobeMulti,
                kprobe_multi_flags = isReturn ? BPF_F_KPROBE_MULTI_RETURN : 0,
                kprobe_multi_cnt = (uint)count,
                kprobe_multi_syms = syms,
                kprobe_multi_addrs = addrs,
                kprobe_multi_cookies = (ulong)c,
            };
            int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
            if (fd < 0)
            {
                if (-fd is Errno.EOPNOTSUPP or Errno.ENOTSUPP)
                    throw new NotSupportedByKernelException("kprobe_multi links (kernel without CONFIG_FPROBE or CONFIG_KPROBES)", "5.18",
                        new BpfException("BPF_LINK_CREATE", -fd, what));
                throw new BpfException("BPF_LINK_CREATE", -fd, -fd == Errno.EINVAL
                    ? $"{what}: the program must be loaded with expected attach type TraceKprobeMulti (section kprobe.multi) on Linux 5.18 or later"
                    : what);
            }
            var handle = new SafeBpfFd(fd);
            try
            {
                return new KprobeMultiLink(handle, GetInfo(handle).Id, count, isReturn);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{(IsReturnProbe ? "kretprobe" : "kprobe")}.multi link {Id} on {Count} function(s)";
}
