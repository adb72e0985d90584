using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// Where a new tcx program goes in the interface's chain (Linux 6.6 multi-program attachment): first, last, or
/// right before/after a program or link already attached. Programs run in chain order; a program returning
/// TCX_NEXT (-1) hands the packet to the next one.
/// </summary>
public readonly struct TcxAnchor : IEquatable<TcxAnchor>
{
    internal const uint BPF_F_BEFORE = 1 << 3, BPF_F_AFTER = 1 << 4, BPF_F_ID = 1 << 5, BPF_F_LINK = 1 << 13;

    private readonly BpfObject? _relative;

    private TcxAnchor(uint flags, BpfObject? relative, uint relativeId)
    {
        Flags = flags;
        _relative = relative;
        RelativeId = relativeId;
    }

    internal uint Flags { get; }

    internal uint RelativeId { get; }

    /// <summary>Appended at the end of the chain (the default).</summary>
    public static TcxAnchor Last => new(BPF_F_AFTER, null, 0);

    /// <summary>At the head of the chain.</summary>
    public static TcxAnchor First => new(BPF_F_BEFORE, null, 0);

    /// <summary>Right before <paramref name="program"/>, which must be attached to the same hook.</summary>
    public static TcxAnchor Before(BpfProgram program) => new(BPF_F_BEFORE, Required(program), 0);

    /// <summary>Right after <paramref name="program"/>, which must be attached to the same hook.</summary>
    public static TcxAnchor After(BpfProgram program) => new(BPF_F_AFTER, Required(program), 0);

    /// <summary>Right before the program held by <paramref name="link"/>, a tcx link on the same hook.</summary>
    public static TcxAnchor Before(BpfLink link) => new(BPF_F_BEFORE | BPF_F_LINK, Required(link), 0);

    /// <summary>Right after the program held by <paramref name="link"/>, a tcx link on the same hook.</summary>
    public static TcxAnchor After(BpfLink link) => new(BPF_F_AFTER | BPF_F_LINK, Required(link), 0);

    /// <summary>Right before the attached program with kernel id <paramref name="programId"/>.</summary>
    public static TcxAnchor BeforeProgramId(uint programId) => new(BPF_F_BEFORE | BPF_F_ID, null, NonZero(programId));

    /// <summary>Right after the attached program with kernel id <paramref name="programId"/>.</summary>
    public static TcxAnchor AfterProgramId(uint programId) => new(BPF_F_AFTER | BPF_F_ID, null, NonZero(programId));

    /// <summary>Right before the program of the tcx link with kernel id <paramref name="linkId"/>.</summary>
    public static TcxAnchor BeforeLinkId(uint linkId) => new(BPF_F_BEFORE | BPF_F_ID | BPF_F_LINK, null, NonZero(linkId));

    /// <summary>Right after the program of the tcx link with kernel id <paramref name="linkId"/>.</summary>
    public static TcxAnchor AfterLinkId(uint linkId) => new(BPF_F_AFTER | BPF_F_ID | BPF_F_LINK, null, NonZero(linkId));

    /// <summary>The fd or id to put in <c>link_create.tcx.relative_fd/id</c>.</summary>
    internal uint Relative => _relative is null ? RelativeId : (uint)_relative.Fd;

    internal string Describe()
    {
        string where = (Flags & BPF_F_BEFORE) != 0 ? "before" : "after";
        string what = (Flags & BPF_F_LINK) != 0 ? "link" : "program";
        if (_relative is null && RelativeId == 0) return (Flags & BPF_F_BEFORE) != 0 ? "first" : "last";
        return _relative switch
        {
            BpfProgram p => $"{where} program '{p.Name}'",
            BpfLink l => $"{where} link {l.Id}",
            _ => $"{where} {what} id {RelativeId}",
        };
    }

    private static BpfObject Required(BpfObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        ObjectDisposedException.ThrowIf(o.IsDisposed, o);
        return o;
    }

    private static uint NonZero(uint id)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        return id;
    }

    /// <inheritdoc/>
    public bool Equals(TcxAnchor other) => Flags == other.Flags && ReferenceEquals(_relative, other._relative) && RelativeId == other.RelativeId;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TcxAnchor a && Equals(a);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Flags, _relative, RelativeId);

    /// <summary>Equality.</summary>
    public static bool operator ==(TcxAnchor left, TcxAnchor right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(TcxAnchor left, TcxAnchor right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => Describe();
}

/// <summary>
/// A tc program (SchedCls) attached to an interface's ingress or egress through a tcx link (BPF_TCX_INGRESS /
/// BPF_TCX_EGRESS, Linux 6.6): no qdisc needed, several programs per hook in a chosen order, detached when the link
/// is disposed (or its last reference goes). Returns: TCX_NEXT (-1) next program, TCX_PASS (0), TCX_DROP (2),
/// TCX_REDIRECT (7).
/// </summary>
public sealed class TcxLink : BpfLink
{
    internal TcxLink(SafeBpfFd fd, uint id, int ifIndex, TcDirection direction)
        : base(fd, LinkType.Tcx, id)
    {
        IfIndex = ifIndex;
        Direction = direction;
    }

    /// <summary>The interface index (in the attaching thread's network namespace).</summary>
    public int IfIndex { get; }

    /// <summary>Ingress or egress.</summary>
    public TcDirection Direction { get; }

    internal static AttachType AttachTypeOf(TcDirection direction) => direction switch
    {
        TcDirection.Ingress => AttachType.TcxIngress,
        TcDirection.Egress => AttachType.TcxEgress,
        _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "unknown tc direction"),
    };

    /// <summary>
    /// Attaches <paramref name="program"/> (SchedCls) to <paramref name="direction"/> of interface
    /// <paramref name="ifIndex"/> in the calling thread's network namespace.
    /// </summary>
    /// <param name="program">A SchedCls program.</param>
    /// <param name="ifIndex">Interface index.</param>
    /// <param name="direction">Ingress or egress.</param>
    /// <param name="anchor">Position in the chain; default <see cref="TcxAnchor.Last"/>.</param>
    /// <param name="expectedRevision">When non-zero the attach succeeds only if the hook's revision (see
    /// <see cref="BpfProgram.QueryAttached"/>) still equals it (ESTALE otherwise).</param>
    /// <exception cref="ArgumentException">The program is not SchedCls, or the index is invalid.</exception>
    /// <exception cref="BpfException">The kernel refused: ENOENT when the anchor is not attached there, EEXIST when the
    /// program is already in the chain, ESTALE on a revision mismatch, ENODEV for an unknown interface.</exception>
    public static TcxLink Attach(BpfProgram program, int ifIndex, TcDirection direction, TcxAnchor? anchor = null, ulong expectedRevision = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.SchedCls)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, tcx links need a SchedCls program", nameof(program));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        var attachType = AttachTypeOf(direction);
        var where = anchor ?? TcxAnchor.Last;
        var attr = new LinkCreateAttr
        {
            prog_fd = (uint)program.Fd,
            target_ifindex = (uint)ifIndex,
            attach_type = (uint)attachType,
            flags = where.Flags,
            tcx_relative_fd = where.Relative,
            tcx_expected_revision = expectedRevision,
        };
        int r = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
        if (r < 0)
            throw new BpfException("BPF_LINK_CREATE", -r,
                $"attaching program '{program.Name}' to ifindex {ifIndex} tcx {direction.ToString().ToLowerInvariant()} ({where.Describe()})");
        var fd = new SafeBpfFd(r);
        try
        {
            return new TcxLink(fd, GetInfo(fd).Id, ifIndex, direction);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Attaches <paramref name="program"/> to interface <paramref name="ifName"/> of the calling thread's
    /// network namespace (see <see cref="Attach(BpfProgram, int, TcDirection, TcxAnchor?, ulong)"/>).</summary>
    /// <exception cref="ArgumentException">There is no such interface.</exception>
    public static TcxLink Attach(BpfProgram program, string ifName, TcDirection direction, TcxAnchor? anchor = null, ulong expectedRevision = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Attach(program, SharpBpf.Internal.Interfaces.IndexOf(ifName, nameof(ifName)), direction, anchor, expectedRevision);
    }

    /// <summary>The programs attached to <paramref name="direction"/> of <paramref name="ifIndex"/> in chain order,
    /// with their link ids and the hook's revision (BPF_PROG_QUERY).</summary>
    public static AttachedPrograms Query(int ifIndex, TcDirection direction)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        return BpfProgram.QueryAttached(ifIndex, AttachTypeOf(direction));
    }

    /// <inheritdoc/>
    public override string ToString() => $"tcx link {Id} on ifindex {IfIndex} {Direction.ToString().ToLowerInvariant()}";
}
