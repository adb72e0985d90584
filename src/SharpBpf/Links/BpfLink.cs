using System.Runtime.CompilerServices;
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

    /// <summary>Opens the link with kernel id <paramref name="id"/> (BPF_LINK_GET_FD_BY_ID).</summary>
    public static BpfLink FromId(uint id)
    {
        var attr = new GetIdAttr { link_id = id };
        int fd = Bpf.TryCall(BpfCmd.BPF_LINK_GET_FD_BY_ID, ref attr);
        if (fd < 0) throw new BpfException("BPF_LINK_GET_FD_BY_ID", -fd, $"link id {id}");
        return FromHandle(new SafeBpfFd(fd));
    }

    /// <summary>Opens a link pinned in bpffs (BPF_OBJ_GET). XDP links come back as <see cref="XdpLink"/>.</summary>
    /// <exception cref="ArgumentException">The pinned object is not a link.</exception>
    public static BpfLink FromPinned(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return FromHandle(Pinning.BpfFs.Get(path));
    }

    /// <summary>Ids of all links in the system (BPF_LINK_GET_NEXT_ID), ascending.</summary>
    public static IEnumerable<uint> EnumerateIds() => ObjectIds.Enumerate(BpfCmd.BPF_LINK_GET_NEXT_ID);

    private static BpfLink FromHandle(SafeBpfFd handle)
    {
        try
        {
            BpfObjectKind.Require(handle, BpfObjectKind.Link, "a BPF link");
            var info = GetInfo(handle);
            return info switch
            {
                XdpLinkInfo xdp => new XdpLink(handle, info.Id, (int)xdp.IfIndex, mode: null),
                _ => new BpfLink(handle, info.Type, info.Id),
            };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Kernel info about this link (BPF_OBJ_GET_INFO_BY_FD).</summary>
    public LinkInfo GetInfo()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return GetInfo(Handle);
    }

    internal static LinkInfo GetInfo(SafeBpfFd fd)
    {
        BpfLinkInfo info = default;
        ObjectInfo.Get(fd, ref info);
        if (ProbeLinkInfo.Decode(fd, info) is { } probe) return probe;
        var type = (LinkType)info.type;
        return type switch
        {
            LinkType.Xdp => new XdpLinkInfo(info.id, info.prog_id, info.xdp_ifindex),
            LinkType.Tcx => new TcxLinkInfo(info.id, info.prog_id, info.tcx_ifindex, (AttachType)info.tcx_attach_type),
            _ => new LinkInfo(type, info.id, info.prog_id),
        };
    }

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
