using System.Runtime.InteropServices;
using SharpBpf.Internal;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// A BPF link: the kernel object that keeps a program attached to a hook. Owns the link fd; disposing it
/// detaches the program unless the link is pinned (or another fd refers to it).
/// </summary>
public class BpfLink : BpfObject
{
    private const uint BPF_F_REPLACE = 1 << 2;

    private protected BpfLink(SafeBpfFd fd, LinkType type, uint id)
        : base(fd)
    {
        Type = type;
        Id = id;
    }

    /// <summary>Link type.</summary>
    public LinkType Type { get; }

    /// <summary>Kernel object id.</summary>
    public uint Id { get; }

    /// <summary>Id of the program the link holds now (read from the kernel: <see cref="Update"/> changes it).</summary>
    public uint ProgramId => GetInfo().ProgramId;

    /// <summary>Creates a link with BPF_LINK_CREATE (the typed attach methods use this).</summary>
    internal static SafeBpfFd CreateFd(BpfProgram program, uint target, AttachType attachType, uint flags, string what)
    {
        var attr = new LinkCreateAttr { prog_fd = (uint)program.Fd, target_fd = target, attach_type = (uint)attachType, flags = flags };
        int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
        if (fd < 0) throw new BpfException("BPF_LINK_CREATE", -fd, $"attaching program '{program.Name}' {what}");
        return new SafeBpfFd(fd);
    }

    /// <summary>Creates a link with BPF_LINK_CREATE and wraps it as its kind.</summary>
    internal static BpfLink Create(BpfProgram program, uint target, AttachType attachType, uint flags, string what) =>
        FromHandle(CreateFd(program, target, attachType, flags, what));

    /// <summary>Opens the link with kernel id <paramref name="id"/> (BPF_LINK_GET_FD_BY_ID) as the class of its kind:
    /// <see cref="XdpLink"/>, <see cref="TcxLink"/>, <see cref="NetNsLink"/>, <see cref="NetfilterLink"/>, <see cref="RawTracepointLink"/> (raw_tp and tp_btf), <see cref="TracingLink"/>,
    /// <see cref="IterLink"/>, <see cref="TracepointLink"/>; kinds without a class of their own as <see cref="BpfLink"/>.</summary>
    public static BpfLink FromId(uint id)
    {
        var attr = new GetIdAttr { link_id = id };
        int fd = Bpf.TryCall(BpfCmd.BPF_LINK_GET_FD_BY_ID, ref attr);
        if (fd < 0) throw new BpfException("BPF_LINK_GET_FD_BY_ID", -fd, $"link id {id}");
        return FromHandle(new SafeBpfFd(fd));
    }

    /// <summary>Opens a link pinned in bpffs (BPF_OBJ_GET), as the class of its kind (see <see cref="FromId"/>).</summary>
    /// <exception cref="ArgumentException">The pinned object is not a link.</exception>
    public static BpfLink FromPinned(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return FromHandle(Pinning.BpfFs.Get(path));
    }

    /// <summary>Ids of all links in the system (BPF_LINK_GET_NEXT_ID), ascending.</summary>
    public static IEnumerable<uint> EnumerateIds() => ObjectIds.Enumerate(BpfCmd.BPF_LINK_GET_NEXT_ID);

    /// <summary>Wraps a link fd (taking ownership) as the class of its kind: <see cref="XdpLink"/>,
    /// <see cref="RawTracepointLink"/> (raw_tp and tp_btf), <see cref="TracingLink"/>, <see cref="IterLink"/>,
    /// <see cref="TracepointLink"/> (a perf event link on a tracepoint); other kinds as <see cref="BpfLink"/>.</summary>
    internal static BpfLink FromHandle(SafeBpfFd handle)
    {
        try
        {
            BpfObjectKind.Require(handle, BpfObjectKind.Link, "a BPF link");
            var info = GetInfo(handle);
            return info switch
            {
                XdpLinkInfo xdp => new XdpLink(handle, info.Id, (int)xdp.IfIndex, mode: null),
                NetNsLinkInfo netns => new NetNsLink(handle, info.Id, netns.AttachType),
                NetfilterLinkInfo nf => new NetfilterLink(handle, info.Id, nf.Family, nf.Hook, nf.Priority, nf.Flags),
                TcxLinkInfo tcx => new TcxLink(handle, info.Id, (int)tcx.IfIndex, tcx.AttachType == AttachType.TcxEgress ? TcDirection.Egress : TcDirection.Ingress),
                RawTracepointLinkInfo raw => new RawTracepointLink(handle, info.Id, raw.Name, raw.Cookie),
                TracingLinkInfo tracing => new TracingLink(handle, info.Id, tracing.AttachType, tracing.Cookie),
                IterLinkInfo iter => new IterLink(handle, info.Id, iter.TargetName),
                PerfEventLinkInfo { Kind: PerfEventKind.Tracepoint } tp => TracepointLink.Reopened(handle, info.Id, tp.Name, tp.Cookie),
                _ => new BpfLink(handle, info.Type, info.Id),
            };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Kernel info about this link (BPF_OBJ_GET_INFO_BY_FD): a <see cref="LinkInfo"/> subclass with the
    /// kind's details where the library knows them (<see cref="TracingLinkInfo"/>, <see cref="IterLinkInfo"/> ...).</summary>
    public LinkInfo GetInfo()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return GetInfo(Handle);
    }

    private const int NameBufferSize = 512;

    internal static unsafe LinkInfo GetInfo(SafeBpfFd fd)
    {
        BpfLinkInfo info = default;
        ObjectInfo.Get(fd, ref info);
        if (ProbeLinkInfo.Decode(fd, info) is { } probe) return probe;
        var type = (LinkType)info.type;
        byte* name = stackalloc byte[NameBufferSize];
        switch (type)
        {
            case LinkType.Xdp:
                return new XdpLinkInfo(info.id, info.prog_id, info.xdp_ifindex);
            case LinkType.Tcx:
                return new TcxLinkInfo(info.id, info.prog_id, info.tcx_ifindex, (AttachType)info.tcx_attach_type);
            case LinkType.Sockmap:
                return new SockMapLinkInfo(info.id, info.prog_id, info.sockmap_map_id, (AttachType)info.sockmap_attach_type);
            case LinkType.Netfilter:
                return new NetfilterLinkInfo(info.id, info.prog_id, (NetfilterFamily)info.netfilter_pf, (NetfilterHook)info.netfilter_hooknum,
                    info.netfilter_priority, (NetfilterLinkFlags)info.netfilter_flags);
            case LinkType.StructOps:
                return new StructOpsLinkInfo(info.id, info.struct_ops_map_id);
            case LinkType.Netns:
                return new NetNsLinkInfo(info.id, info.prog_id, info.netns_netns_ino, (AttachType)info.netns_attach_type);
            case LinkType.Tracing:
                return new TracingLinkInfo(info.id, info.prog_id, (AttachType)info.tracing_attach_type, info.tracing_target_obj_id,
                    info.tracing_target_btf_id, info.tracing_cookie);
            case LinkType.RawTracepoint:
                info = default;
                info.raw_tracepoint_tp_name = (ulong)name;
                info.raw_tracepoint_tp_name_len = NameBufferSize;
                ObjectInfo.Get(fd, ref info);
                return new RawTracepointLinkInfo(info.id, info.prog_id, CString(name), info.raw_tracepoint_cookie);
            case LinkType.Iter:
                info = default;
                info.iter_target_name = (ulong)name;
                info.iter_target_name_len = NameBufferSize;
                ObjectInfo.Get(fd, ref info);
                string target = CString(name);
                return new IterLinkInfo(info.id, info.prog_id, target, target is "bpf_map_elem" or "bpf_sk_storage_map" or "sockmap" ? info.iter_map_map_id : 0);
            default:
                return new LinkInfo(type, info.id, info.prog_id);
        }
    }

    private static unsafe string CString(byte* p) => System.Text.Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(p));

    /// <summary>
    /// Atomically replaces the attached program with <paramref name="newProgram"/> (BPF_LINK_UPDATE, Linux 5.7).
    /// With <paramref name="oldProgram"/> the update happens only if that program is the one attached
    /// (BPF_F_REPLACE; EPERM otherwise).
    /// </summary>
    public void Update(BpfProgram newProgram, BpfProgram? oldProgram = null)
    {
        ArgumentNullException.ThrowIfNull(newProgram);
        var attr = new LinkUpdateAttr
        {
            link_fd = (uint)Fd,
            new_prog_fd = (uint)newProgram.Fd,
            flags = oldProgram is null ? 0 : BPF_F_REPLACE,
            old_prog_fd = oldProgram is null ? 0 : (uint)oldProgram.Fd,
        };
        int r = Bpf.TryCall(BpfCmd.BPF_LINK_UPDATE, ref attr);
        if (r < 0)
            throw new BpfException("BPF_LINK_UPDATE", -r, oldProgram is null
                ? $"{Type} link {Id}: replacing the program with '{newProgram.Name}'"
                : $"{Type} link {Id}: replacing program '{oldProgram.Name}' with '{newProgram.Name}'");
    }

    /// <summary>Detaches the program from its hook now, even if the link is pinned or shared (BPF_LINK_DETACH,
    /// Linux 5.9). The link object stays valid (defunct) until disposed.</summary>
    public void Detach()
    {
        var attr = new LinkDetachAttr { link_fd = (uint)Fd };
        int r = Bpf.TryCall(BpfCmd.BPF_LINK_DETACH, ref attr);
        if (r < 0) throw new BpfException("BPF_LINK_DETACH", -r, $"{Type} link {Id}");
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} link {Id}";
}

/// <summary>Kernel info of a link (<c>struct bpf_link_info</c>); subclasses add the type-specific part.</summary>
/// <param name="Type">Link type.</param>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
public record LinkInfo(LinkType Type, uint Id, uint ProgramId);

/// <summary>Info of an XDP link.</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="IfIndex">The interface (0 once detached).</param>
public sealed record XdpLinkInfo(uint Id, uint ProgramId, uint IfIndex) : LinkInfo(LinkType.Xdp, Id, ProgramId);

/// <summary>Info of a tcx link (Linux 6.6).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="IfIndex">The interface (0 once detached).</param>
/// <param name="AttachType">Ingress or egress.</param>
public sealed record TcxLinkInfo(uint Id, uint ProgramId, uint IfIndex, AttachType AttachType) : LinkInfo(LinkType.Tcx, Id, ProgramId);

/// <summary>Info of a network namespace link (sk_lookup, flow_dissector).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="NetNsInode">Inode number of the namespace (0 once it is gone).</param>
/// <param name="AttachType">SkLookup or FlowDissector.</param>
public sealed record NetNsLinkInfo(uint Id, uint ProgramId, uint NetNsInode, AttachType AttachType) : LinkInfo(LinkType.Netns, Id, ProgramId);

/// <summary>Info of a socket map link (Linux 6.10): an sk_skb/sk_msg program on a SockMap or SockHash.</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="MapId">The socket map (0 once detached).</param>
/// <param name="AttachType">SkSkbStreamParser, SkSkbStreamVerdict, SkSkbVerdict or SkMsgVerdict.</param>
public sealed record SockMapLinkInfo(uint Id, uint ProgramId, uint MapId, AttachType AttachType) : LinkInfo(LinkType.Sockmap, Id, ProgramId);

/// <summary>Info of a struct_ops link (Linux 6.4): the struct_ops map it registered.</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="MapId">The struct_ops map (0 once detached).</param>
public sealed record StructOpsLinkInfo(uint Id, uint MapId) : LinkInfo(LinkType.StructOps, Id, 0);

/// <summary>Info of a raw tracepoint link (raw_tp, and tp_btf programs, whose links are raw tracepoint links too).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="Name">The tracepoint's name.</param>
/// <param name="Cookie">The BPF cookie (Linux 6.10; 0 before).</param>
public sealed record RawTracepointLinkInfo(uint Id, uint ProgramId, string Name, ulong Cookie) : LinkInfo(LinkType.RawTracepoint, Id, ProgramId);

/// <summary>Info of a BTF tracing link (fentry, fexit, fmod_ret, LSM, freplace).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="AttachType">How the program is attached (TraceFentry, LsmMac ...).</param>
/// <param name="TargetObjectId">Id of the BTF object (vmlinux or a module) or program holding the target.</param>
/// <param name="TargetBtfId">BTF id of the target function.</param>
/// <param name="Cookie">The BPF cookie (Linux 6.6; 0 before).</param>
public sealed record TracingLinkInfo(uint Id, uint ProgramId, AttachType AttachType, uint TargetObjectId, uint TargetBtfId, ulong Cookie)
    : LinkInfo(LinkType.Tracing, Id, ProgramId);

/// <summary>Info of an iterator link.</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="TargetName">The iterator target ("task", "bpf_map", "bpf_map_elem" ...).</param>
/// <param name="MapId">For map element iterators: the map iterated over; otherwise 0.</param>
public sealed record IterLinkInfo(uint Id, uint ProgramId, string TargetName, uint MapId) : LinkInfo(LinkType.Iter, Id, ProgramId);
