using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>Protocol family of a netfilter hook (<c>NFPROTO_*</c>; BPF netfilter links take IPv4 and IPv6).</summary>
public enum NetfilterFamily : uint
{
    /// <summary>NFPROTO_IPV4.</summary>
    IPv4 = 2,
    /// <summary>NFPROTO_IPV6.</summary>
    IPv6 = 10,
}

/// <summary>The netfilter hook (<c>enum nf_inet_hooks</c>).</summary>
public enum NetfilterHook : uint
{
    /// <summary>NF_INET_PRE_ROUTING: every packet that arrives, before the routing decision.</summary>
    PreRouting = 0,
    /// <summary>NF_INET_LOCAL_IN: packets for this host.</summary>
    LocalIn = 1,
    /// <summary>NF_INET_FORWARD: packets routed through this host.</summary>
    Forward = 2,
    /// <summary>NF_INET_LOCAL_OUT: packets this host sends.</summary>
    LocalOut = 3,
    /// <summary>NF_INET_POST_ROUTING: every packet that leaves.</summary>
    PostRouting = 4,
}

/// <summary>Flags of a netfilter link.</summary>
[Flags]
public enum NetfilterLinkFlags : uint
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>BPF_F_NETFILTER_IP_DEFRAG (Linux 6.6): reassemble fragments before the program runs (priority must be
    /// above the defrag hook's, -400).</summary>
    IpDefrag = 1,
}

/// <summary>
/// A netfilter program (section <c>netfilter</c>, Linux 6.4) on a netfilter hook of the calling thread's network
/// namespace. The program returns NF_DROP (0) or NF_ACCEPT (1); it runs among the hook's other functions (iptables,
/// nftables, conntrack) in priority order.
/// </summary>
public sealed class NetfilterLink : BpfLink
{
    internal NetfilterLink(SafeBpfFd fd, uint id, NetfilterFamily family, NetfilterHook hook, int priority, NetfilterLinkFlags flags)
        : base(fd, LinkType.Netfilter, id)
    {
        Family = family;
        Hook = hook;
        Priority = priority;
        Flags = flags;
    }

    /// <summary>IPv4 or IPv6.</summary>
    public NetfilterFamily Family { get; }

    /// <summary>The hook.</summary>
    public NetfilterHook Hook { get; }

    /// <summary>Priority among the hook's functions (lower runs first).</summary>
    public int Priority { get; }

    /// <summary>Link flags.</summary>
    public NetfilterLinkFlags Flags { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> (of type Netfilter) to <paramref name="hook"/> of <paramref name="family"/>
    /// with <paramref name="priority"/> (BPF_LINK_CREATE with BPF_NETFILTER).
    /// </summary>
    /// <exception cref="ArgumentException">The program is not a netfilter program, or an argument is out of range
    /// (the priorities int.MinValue and int.MaxValue are reserved).</exception>
    /// <exception cref="BpfException">The kernel refused: EBUSY when a BPF program has this priority on the hook
    /// already, EOPNOTSUPP without netfilter links (before 6.4).</exception>
    public static NetfilterLink Attach(BpfProgram program, NetfilterFamily family, NetfilterHook hook, int priority,
        NetfilterLinkFlags flags = NetfilterLinkFlags.None)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.Netfilter)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, netfilter links need a Netfilter program", nameof(program));
        if (!Enum.IsDefined(family)) throw new ArgumentOutOfRangeException(nameof(family), family, "netfilter links take IPv4 or IPv6");
        if (!Enum.IsDefined(hook)) throw new ArgumentOutOfRangeException(nameof(hook), hook, "unknown netfilter hook");
        if (priority is int.MinValue or int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "the first and last netfilter priorities are reserved");
        if ((flags & ~NetfilterLinkFlags.IpDefrag) != 0) throw new ArgumentOutOfRangeException(nameof(flags), flags, "unknown netfilter link flags");
        var attr = new LinkCreateAttr
        {
            prog_fd = (uint)program.Fd, attach_type = (uint)AttachType.Netfilter,
            netfilter_pf = (uint)family, netfilter_hooknum = (uint)hook, netfilter_priority = priority, netfilter_flags = (uint)flags,
        };
        int r = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
        if (r < 0)
            throw new BpfException("BPF_LINK_CREATE", -r, $"attaching program '{program.Name}' to netfilter {family} {hook} at priority {priority}");
        var fd = new SafeBpfFd(r);
        try
        {
            return new NetfilterLink(fd, GetInfo(fd).Id, family, hook, priority, flags);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"netfilter link {Id} on {Family} {Hook} priority {Priority}";
}

/// <summary>Info of a netfilter link (Linux 6.4).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="Family">IPv4 or IPv6.</param>
/// <param name="Hook">The hook.</param>
/// <param name="Priority">Priority on the hook.</param>
/// <param name="Flags">Link flags.</param>
public sealed record NetfilterLinkInfo(uint Id, uint ProgramId, NetfilterFamily Family, NetfilterHook Hook, int Priority, NetfilterLinkFlags Flags)
    : LinkInfo(LinkType.Netfilter, Id, ProgramId);
