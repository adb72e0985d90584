using SharpBpf.Interop;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// An sk_skb (stream parser, stream verdict, verdict) or sk_msg verdict program attached to a <see cref="SockMap"/>
/// or <see cref="SockHash{TKey}"/>: it runs for the sockets in the map (sk_skb on the data they receive, sk_msg on
/// the data they send). Made with BPF_LINK_CREATE (sockmap links, Linux 6.10), or BPF_PROG_ATTACH with the map as
/// target on older kernels or when asked; disposing detaches either way. One program per map and attach type: a
/// link holds its hook (EBUSY for anyone else), a legacy attachment is replaced by the next BPF_PROG_ATTACH. Sockets
/// keep the programs the map had when they were inserted, so attach before inserting and remove the sockets to stop.
/// </summary>
public sealed class SockMapLink : IDisposable
{
    private readonly SafeBpfFd? _map;      // legacy: our reference to the map, for PROG_DETACH
    private readonly SafeBpfFd? _program;  // legacy: our reference to the program, for PROG_DETACH
    private bool _disposed;

    private SockMapLink(uint mapId, AttachType attachType, uint programId, BpfLink? link, SafeBpfFd? map, SafeBpfFd? program)
    {
        MapId = mapId;
        AttachType = attachType;
        ProgramId = programId;
        Link = link;
        _map = map;
        _program = program;
    }

    /// <summary>Id of the socket map.</summary>
    public uint MapId { get; }

    /// <summary>The hook: SkSkbStreamParser, SkSkbStreamVerdict, SkSkbVerdict or SkMsgVerdict.</summary>
    public AttachType AttachType { get; }

    /// <summary>Id of the attached program.</summary>
    public uint ProgramId { get; }

    /// <summary>The BPF link (a <see cref="LinkType.Sockmap"/> link), or null for a legacy attachment.</summary>
    public BpfLink? Link { get; }

    /// <summary>Whether the attachment was made with BPF_PROG_ATTACH (no link).</summary>
    public bool IsLegacy => Link is null;

    /// <summary>The program type an attach type needs; null for attach types that are not socket map hooks.</summary>
    public static ProgramType? ProgramTypeFor(AttachType attachType) => attachType switch
    {
        AttachType.SkSkbStreamParser or AttachType.SkSkbStreamVerdict or AttachType.SkSkbVerdict => ProgramType.SkSkb,
        AttachType.SkMsgVerdict => ProgramType.SkMsg,
        _ => null,
    };

    /// <summary>
    /// Attaches <paramref name="program"/> to <paramref name="map"/> at <paramref name="attachType"/> (default: the
    /// program's expected attach type, which <c>sk_skb/stream_parser</c>, <c>sk_skb/stream_verdict</c>,
    /// <c>sk_skb/verdict</c> and <c>sk_msg</c> sections set). <paramref name="legacy"/> uses BPF_PROG_ATTACH even
    /// when the kernel has sockmap links.
    /// </summary>
    /// <exception cref="ArgumentException">The map is not a SockMap/SockHash, the attach type is not a socket map hook,
    /// or the program's type does not fit it.</exception>
    /// <exception cref="BpfException">The kernel refused: EBUSY when a program is attached there already, EINVAL for
    /// a stream verdict next to a verdict program.</exception>
    public static SockMapLink Attach(BpfProgram program, BpfMap map, AttachType? attachType = null, bool legacy = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(map);
        ObjectDisposedException.ThrowIf(map.IsDisposed, map);
        if (map.Type is not (MapType.SockMap or MapType.SockHash))
            throw new ArgumentException($"map '{map.Name}' is a {map.Type} map; sk_skb/sk_msg programs attach to SockMap or SockHash maps", nameof(map));
        var type = attachType ?? program.ExpectedAttachType
            ?? throw new ArgumentException($"program '{program.Name}' has no expected attach type: say which socket map hook", nameof(attachType));
        var expected = ProgramTypeFor(type) ?? throw new ArgumentException($"{type} is not a socket map attach type", nameof(attachType));
        if (program.Type != expected)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, {type} needs a {expected} program", nameof(program));

        string what = $"to {map.Type} '{map.Name}' at {type}";
        if (!legacy)
        {
            var attr = new LinkCreateAttr { prog_fd = (uint)program.Fd, target_fd = (uint)map.Fd, attach_type = (uint)type };
            int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
            if (fd >= 0) return new SockMapLink(map.Id, type, program.Id, BpfLink.FromHandle(new SafeBpfFd(fd)), null, null);
            // EINVAL: no sockmap links (before 6.10); anything else is a real refusal
            if (fd != -Errno.EINVAL) throw new BpfException("BPF_LINK_CREATE", -fd, $"attaching program '{program.Name}' {what}");
        }
        var mapRef = map.Handle.Duplicate();
        var progRef = program.Handle.Duplicate();
        try
        {
            var pa = new ProgAttachAttr { target_fd = (uint)mapRef.Fd, attach_bpf_fd = (uint)progRef.Fd, attach_type = (uint)type };
            int r = Bpf.TryCall(BpfCmd.BPF_PROG_ATTACH, ref pa);
            if (r < 0) throw new BpfException("BPF_PROG_ATTACH", -r, $"attaching program '{program.Name}' {what}");
            return new SockMapLink(map.Id, type, program.Id, null, mapRef, progRef);
        }
        catch
        {
            progRef.Dispose();
            mapRef.Dispose();
            throw;
        }
    }

    /// <summary>The program attached to <paramref name="map"/> at <paramref name="attachType"/> (BPF_PROG_QUERY,
    /// Linux 5.19): none or one id.</summary>
    public static AttachedPrograms Query(BpfMap map, AttachType attachType)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (ProgramTypeFor(attachType) is null) throw new ArgumentException($"{attachType} is not a socket map attach type", nameof(attachType));
        return BpfProgram.QueryAttached(map.Fd, attachType);
    }

    /// <summary>Detaches the program: closes the link, or BPF_PROG_DETACH for a legacy attachment.</summary>
    /// <exception cref="BpfException">BPF_PROG_DETACH failed for a reason other than the program being gone.</exception>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (Link is not null)
        {
            Link.Dispose();
            return;
        }
        try
        {
            var pa = new ProgAttachAttr { target_fd = (uint)_map!.Fd, attach_bpf_fd = (uint)_program!.Fd, attach_type = (uint)AttachType };
            int r = Bpf.TryCall(BpfCmd.BPF_PROG_DETACH, ref pa);
            if (r < 0 && r != -Errno.ENOENT)
                throw new BpfException("BPF_PROG_DETACH", -r, $"detaching program {ProgramId} from map {MapId} at {AttachType}");
        }
        finally
        {
            _program!.Dispose();
            _map!.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{AttachType} attachment of program {ProgramId} to map {MapId}" + (IsLegacy ? " (legacy)" : $" (link {Link!.Id})");
}
