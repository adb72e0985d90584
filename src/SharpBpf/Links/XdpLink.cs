using System.Text;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>How an XDP program is attached (the <c>XDP_FLAGS_*_MODE</c> flags).</summary>
public enum XdpAttachMode : uint
{
    /// <summary>No mode flag: native when the driver supports it, else generic.</summary>
    Default = 0,
    /// <summary>XDP_FLAGS_SKB_MODE: generic XDP on the skb path; works on every device, slower.</summary>
    Generic = 2,
    /// <summary>XDP_FLAGS_DRV_MODE: in the driver, before skb allocation (needs driver support, e.g. veth).</summary>
    Native = 4,
    /// <summary>XDP_FLAGS_HW_MODE: offloaded to the NIC (program loaded for that ifindex).</summary>
    Offload = 8,
}

/// <summary>An XDP program attached to a network interface through a BPF link (Linux 5.9).</summary>
public sealed class XdpLink : BpfLink
{
    internal XdpLink(SafeBpfFd fd, uint id, int ifIndex, XdpAttachMode? mode)
        : base(fd, LinkType.Xdp, id)
    {
        IfIndex = ifIndex;
        Mode = mode;
    }

    /// <summary>The interface index the link was attached to (in the attaching thread's network namespace).</summary>
    public int IfIndex { get; }

    /// <summary>The mode requested at attach; null for a link opened by id or pin (the kernel does not report it).</summary>
    public XdpAttachMode? Mode { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> (of type XDP) to interface <paramref name="ifIndex"/> of the calling
    /// thread's network namespace (BPF_LINK_CREATE with BPF_XDP).
    /// </summary>
    /// <exception cref="ArgumentException">The program is not XDP, or the index or mode is invalid.</exception>
    /// <exception cref="BpfException">The kernel refused: EBUSY when another XDP program is attached, EOPNOTSUPP
    /// when the driver lacks the mode, ENODEV for an unknown interface.</exception>
    public static XdpLink Attach(BpfProgram program, int ifIndex, XdpAttachMode mode = XdpAttachMode.Default)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.Xdp)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, XDP links need an Xdp program", nameof(program));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown XDP attach mode");
        var fd = CreateFd(program, (uint)ifIndex, AttachType.Xdp, (uint)mode, $"to ifindex {ifIndex} in {mode} XDP mode");
        try
        {
            return new XdpLink(fd, GetInfo(fd).Id, ifIndex, mode);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Attaches <paramref name="program"/> to the interface named <paramref name="ifName"/> in the
    /// calling thread's network namespace.</summary>
    /// <exception cref="ArgumentException">There is no such interface.</exception>
    public static unsafe XdpLink Attach(BpfProgram program, string ifName, XdpAttachMode mode = XdpAttachMode.Default)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(ifName);
        if (ifName.Length > 15 || ifName.Contains('\0') || ifName.Contains('/'))
            throw new ArgumentException($"'{ifName}' is not a valid interface name", nameof(ifName));
        byte[] name = Encoding.UTF8.GetBytes(ifName + "\0");
        uint index;
        fixed (byte* p = name) index = Libc.if_nametoindex(p);
        if (index == 0) throw new ArgumentException($"no network interface named '{ifName}' in this network namespace", nameof(ifName));
        return Attach(program, (int)index, mode);
    }

    /// <summary>
    /// The mode the kernel reports for this link's program on its interface (IFLA_XDP of RTM_GETLINK, what
    /// <c>bpftool net</c> shows), looked up in the calling thread's network namespace: the link info has only the
    /// ifindex, so this is how a link opened by id or pin learns its mode. Null when the link is detached, or the
    /// interface (in this namespace) does not run the link's program.
    /// </summary>
    public XdpAttachMode? QueryMode()
    {
        var info = GetInfo();
        if (info is not XdpLinkInfo { IfIndex: > 0 } xdp) return null;
        IReadOnlyList<XdpAttachment> attached;
        try
        {
            attached = NetworkAttachments.Xdp((int)xdp.IfIndex);
        }
        catch (BpfException e) when (e.Errno == Errno.ENODEV)
        {
            return null;
        }
        foreach (var a in attached)
            if (a.ProgramId == info.ProgramId) return a.Mode;
        return null;
    }

    /// <inheritdoc/>
    public override string ToString() => $"XDP link {Id} on ifindex {IfIndex}" + (Mode is { } m ? $" ({m})" : "");
}
