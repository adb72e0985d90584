using System.Buffers.Binary;
using System.Globalization;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>Options of <see cref="TcFilter.Attach(BpfProgram, int, TcDirection, TcFilterOptions?)"/>.</summary>
public sealed record TcFilterOptions
{
    /// <summary>Default options: the kernel picks priority and handle, the name is the program's.</summary>
    public static TcFilterOptions Default { get; } = new();

    /// <summary>Filter priority (tc "pref"; lower runs first); 0 lets the kernel choose.</summary>
    public ushort Priority { get; init; }

    /// <summary>Filter handle within its priority; 0 lets the kernel choose.</summary>
    public uint Handle { get; init; }

    /// <summary>The name part of the filter's tag (<c>sharpbpf:PID:NAME</c>); default the program's name.</summary>
    public string? Name { get; init; }
}

/// <summary>A cls_bpf filter as the kernel lists it (<see cref="TcFilter.List(int, TcDirection?)"/>).</summary>
/// <param name="IfIndex">Interface index.</param>
/// <param name="Direction">Ingress or egress of the clsact qdisc.</param>
/// <param name="Priority">Priority ("pref").</param>
/// <param name="Handle">Handle within the priority.</param>
/// <param name="Kind">Classifier kind ("bpf" for BPF filters).</param>
/// <param name="Name">The filter name (TCA_BPF_NAME), null when absent.</param>
/// <param name="ProgramId">Id of the BPF program (0 for other classifiers).</param>
/// <param name="Tag">Program tag in hex, null when absent.</param>
/// <param name="DirectAction">Whether the filter is in direct-action mode.</param>
/// <param name="OwnerPid">For filters tagged by SharpBpf (<c>sharpbpf:PID:NAME</c>): the process that made them.</param>
public sealed record TcFilterInfo(int IfIndex, TcDirection Direction, ushort Priority, uint Handle, string Kind, string? Name,
    uint ProgramId, string? Tag, bool DirectAction, int? OwnerPid);

/// <summary>
/// A BPF program attached as a classic tc filter: a <c>clsact</c> qdisc (created when the interface has none) and a
/// <c>cls_bpf</c> filter in direct-action mode on its ingress or egress hook, made through rtnetlink (like
/// <c>tc filter add dev IF ingress bpf da fd N</c>). Works on every kernel since 4.5; on Linux 6.6+ prefer
/// <see cref="TcxLink"/>. Disposing deletes the filter, and the qdisc when this filter created it and no other
/// filter remains on it. The filter is named <c>sharpbpf:PID:NAME</c> so that <see cref="RemoveStale()"/> can find the
/// filters of processes that died without cleaning up (the kernel keeps tc filters until deleted).
/// </summary>
public sealed class TcFilter : IDisposable
{
    /// <summary>The prefix of the names of filters made by SharpBpf.</summary>
    public const string TagPrefix = "sharpbpf:";

    /// <summary>clsact qdiscs this process created, by (network namespace, ifindex): how many live filters of this
    /// process sit on each. The last one to go deletes the qdisc if nothing else is attached to it.</summary>
    private static readonly Dictionary<(string Ns, int IfIndex), int> OwnedQdiscs = [];

    private readonly NetlinkSocket _socket;
    private readonly (string Ns, int IfIndex)? _ownedQdisc;
    private bool _detached;

    private TcFilter(NetlinkSocket socket, (string, int)? ownedQdisc, int ifIndex, TcDirection direction, ushort priority, uint handle, string name, uint programId, bool createdQdisc)
    {
        _socket = socket;
        _ownedQdisc = ownedQdisc;
        IfIndex = ifIndex;
        Direction = direction;
        Priority = priority;
        Handle = handle;
        Name = name;
        ProgramId = programId;
        CreatedQdisc = createdQdisc;
    }

    /// <summary>Interface index (in the network namespace of the attaching thread).</summary>
    public int IfIndex { get; }

    /// <summary>Ingress or egress.</summary>
    public TcDirection Direction { get; }

    /// <summary>Priority (chosen by the kernel when 0 was requested).</summary>
    public ushort Priority { get; }

    /// <summary>Handle (chosen by the kernel when 0 was requested).</summary>
    public uint Handle { get; }

    /// <summary>The filter's name, with the ownership tag: <c>sharpbpf:PID:NAME</c>.</summary>
    public string Name { get; }

    /// <summary>Id of the attached program.</summary>
    public uint ProgramId { get; }

    /// <summary>Whether attaching this filter created the interface's clsact qdisc. The qdisc is deleted when the last
    /// filter of this process on it is detached and no other filter remains.</summary>
    public bool CreatedQdisc { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> (SchedCls) as a direct-action cls_bpf filter to <paramref name="direction"/>
    /// of interface <paramref name="ifIndex"/> in the calling thread's network namespace, creating a clsact qdisc
    /// when there is none. Return codes are tc actions: TC_ACT_OK (0), TC_ACT_SHOT (2), TC_ACT_UNSPEC (-1: next filter) ...
    /// </summary>
    /// <exception cref="ArgumentException">The program is not SchedCls, or the index or name is invalid.</exception>
    /// <exception cref="BpfException">The kernel refused (operation RTM_NEWQDISC / RTM_NEWTFILTER, with the netlink
    /// errno and the kernel's extended ack message): EEXIST when the priority and handle are taken, ENODEV for an
    /// unknown interface.</exception>
    public static TcFilter Attach(BpfProgram program, int ifIndex, TcDirection direction, TcFilterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.SchedCls)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, tc filters need a SchedCls program", nameof(program));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        bool egress = direction switch
        {
            TcDirection.Ingress => false,
            TcDirection.Egress => true,
            _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "unknown tc direction"),
        };
        options ??= TcFilterOptions.Default;
        string shortName = options.Name ?? program.Name;
        if (shortName.Length == 0 || shortName.Contains('\0') || shortName.Length > 200)
            throw new ArgumentException($"'{shortName}' is not a valid filter name (1..200 characters, no NUL)", nameof(options));
        return AttachCore(program, ifIndex, egress, options, Tag(Environment.ProcessId, shortName));
    }

    /// <summary>Attaches to the interface named <paramref name="ifName"/> in the calling thread's network namespace
    /// (see <see cref="Attach(BpfProgram, int, TcDirection, TcFilterOptions?)"/>).</summary>
    /// <exception cref="ArgumentException">There is no such interface.</exception>
    public static TcFilter Attach(BpfProgram program, string ifName, TcDirection direction, TcFilterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Attach(program, SharpBpf.Internal.Interfaces.IndexOf(ifName, nameof(ifName)), direction, options);
    }

    internal static string Tag(int pid, string name) => $"{TagPrefix}{pid.ToString(CultureInfo.InvariantCulture)}:{name}";

    /// <summary>Attach with an explicit tag (tests use it to fake the filter of a dead process).</summary>
    internal static TcFilter AttachCore(BpfProgram program, int ifIndex, bool egress, TcFilterOptions options, string name)
    {
        var direction = egress ? TcDirection.Egress : TcDirection.Ingress;
        var socket = NetlinkSocket.OpenRoute();
        bool createdQdisc = false;
        try
        {
            createdQdisc = EnsureClsact(socket, ifIndex);
            var msg = new NetlinkMessage(Rtnl.RTM_NEWTFILTER,
                    NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL | NetlinkMessage.NLM_F_ECHO)
                .TcMsg(ifIndex, options.Handle, Rtnl.ClsactParent(egress), Rtnl.FilterInfo(options.Priority, Rtnl.ETH_P_ALL))
                .String(Rtnl.TCA_KIND, "bpf");
            int opts = msg.BeginNested(Rtnl.TCA_OPTIONS);
            msg.U32(Rtnl.TCA_BPF_FD, (uint)program.Fd).String(Rtnl.TCA_BPF_NAME, name).U32(Rtnl.TCA_BPF_FLAGS, Rtnl.TCA_BPF_FLAG_ACT_DIRECT);
            msg.EndNested(opts);
            TcFilterInfo? created = null;
            socket.Request(msg, "RTM_NEWTFILTER",
                $"adding tc filter '{name}' (program '{program.Name}') to ifindex {ifIndex} {Lower(direction)}" +
                (options.Priority != 0 ? $" priority {options.Priority}" : "") + (options.Handle != 0 ? $" handle {options.Handle:x}" : ""),
                (type, payload) =>
                {
                    if (type == Rtnl.RTM_NEWTFILTER && Parse(payload, direction) is { } f && f.Name == name) created = f;
                });
            // Without an echo (not expected) fall back to what was asked for.
            var result = created ?? new TcFilterInfo(ifIndex, direction, options.Priority, options.Handle, "bpf", name, program.Id, null, true, Environment.ProcessId);
            (string, int)? owned = null;
            lock (OwnedQdiscs)
            {
                var key = (CurrentNetNs(), ifIndex);
                if (createdQdisc) OwnedQdiscs[key] = 0;
                if (OwnedQdiscs.TryGetValue(key, out int n))
                {
                    OwnedQdiscs[key] = n + 1;
                    owned = key;
                }
            }
            return new TcFilter(socket, owned, ifIndex, direction, result.Priority, result.Handle, name, program.Id, createdQdisc);
        }
        catch
        {
            if (createdQdisc) DeleteQdisc(socket, ifIndex, tolerateMissing: true);
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Adds a clsact qdisc unless one exists; returns whether it did.</summary>
    private static bool EnsureClsact(NetlinkSocket socket, int ifIndex)
    {
        var msg = new NetlinkMessage(Rtnl.RTM_NEWQDISC,
                NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .TcMsg(ifIndex, Rtnl.ClsactHandle, Rtnl.TC_H_CLSACT, 0)
            .String(Rtnl.TCA_KIND, "clsact");
        return socket.Request(msg, "RTM_NEWQDISC", $"adding a clsact qdisc to ifindex {ifIndex}", null, Errno.EEXIST) == 0;
    }

    private static void DeleteQdisc(NetlinkSocket socket, int ifIndex, bool tolerateMissing)
    {
        var msg = new NetlinkMessage(Rtnl.RTM_DELQDISC, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK)
            .TcMsg(ifIndex, Rtnl.ClsactHandle, Rtnl.TC_H_CLSACT, 0)
            .String(Rtnl.TCA_KIND, "clsact");
        if (tolerateMissing)
            socket.Request(msg, "RTM_DELQDISC", $"deleting the clsact qdisc of ifindex {ifIndex}", null, Errno.ENOENT, Errno.EINVAL, Errno.ENODEV);
        else
            socket.Request(msg, "RTM_DELQDISC", $"deleting the clsact qdisc of ifindex {ifIndex}");
    }

    private static void Delete(NetlinkSocket socket, TcFilterInfo f)
    {
        var msg = new NetlinkMessage(Rtnl.RTM_DELTFILTER, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK)
            .TcMsg(f.IfIndex, f.Handle, Rtnl.ClsactParent(f.Direction == TcDirection.Egress), Rtnl.FilterInfo(f.Priority, Rtnl.ETH_P_ALL))
            .String(Rtnl.TCA_KIND, f.Kind);
        socket.Request(msg, "RTM_DELTFILTER",
            $"deleting tc filter '{f.Name}' (priority {f.Priority}, handle {f.Handle:x}) from ifindex {f.IfIndex} {Lower(f.Direction)}",
            null, Errno.ENOENT, Errno.ENODEV);
    }

    /// <summary>The filters on the clsact hooks of interface <paramref name="ifIndex"/> (both, or one
    /// <paramref name="direction"/>) in the calling thread's network namespace, by direction then priority; empty when
    /// the interface has no clsact qdisc.</summary>
    /// <exception cref="BpfException">RTM_GETTFILTER failed (ENODEV: no such interface).</exception>
    public static IReadOnlyList<TcFilterInfo> List(int ifIndex, TcDirection? direction = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        using var socket = NetlinkSocket.OpenRoute();
        return List(socket, ifIndex, direction);
    }

    internal static List<TcFilterInfo> List(NetlinkSocket socket, int ifIndex, TcDirection? direction)
    {
        var result = new List<TcFilterInfo>();
        foreach (var d in direction is { } one ? [one] : (ReadOnlySpan<TcDirection>)[TcDirection.Ingress, TcDirection.Egress])
        {
            var msg = new NetlinkMessage(Rtnl.RTM_GETTFILTER, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_DUMP)
                .TcMsg(ifIndex, 0, Rtnl.ClsactParent(d == TcDirection.Egress), 0);
            socket.Request(msg, "RTM_GETTFILTER", $"listing tc filters of ifindex {ifIndex} {Lower(d)}", (type, payload) =>
            {
                if (type == Rtnl.RTM_NEWTFILTER && Parse(payload, d) is { } f) result.Add(f);
            }, Errno.EINVAL, Errno.ENOENT);
        }
        return result;
    }

    /// <summary>Parses an RTM_NEWTFILTER payload; null for the per-priority header entries (handle 0).</summary>
    private static TcFilterInfo? Parse(ReadOnlySpan<byte> payload, TcDirection direction)
    {
        if (payload.Length < Rtnl.TcMsgSize) return null;
        int ifIndex = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        uint handle = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]);
        if (handle == 0) return null;
        string kind = "";
        string? name = null, tag = null;
        uint programId = 0;
        bool direct = false;
        foreach (var a in new NetlinkAttributes(payload[Rtnl.TcMsgSize..]))
        {
            if (a.Type == Rtnl.TCA_KIND) kind = a.String();
            else if (a.Type == Rtnl.TCA_OPTIONS)
            {
                foreach (var o in a.Nested())
                {
                    switch (o.Type)
                    {
                        case Rtnl.TCA_BPF_NAME: name = o.String(); break;
                        case Rtnl.TCA_BPF_ID: programId = o.U32(); break;
                        case Rtnl.TCA_BPF_TAG: tag = Convert.ToHexStringLower(o.Payload); break;
                        case Rtnl.TCA_BPF_FLAGS: direct = (o.U32() & Rtnl.TCA_BPF_FLAG_ACT_DIRECT) != 0; break;
                    }
                }
            }
        }
        return new TcFilterInfo(ifIndex, direction, (ushort)(info >> 16), handle, kind, name, programId, tag, direct, OwnerOf(name));
    }

    /// <summary>The pid in a <c>sharpbpf:PID:NAME</c> filter name, or null.</summary>
    internal static int? OwnerOf(string? name)
    {
        if (name is null || !name.StartsWith(TagPrefix, StringComparison.Ordinal)) return null;
        var rest = name.AsSpan(TagPrefix.Length);
        int colon = rest.IndexOf(':');
        if (colon <= 0) return null;
        return int.TryParse(rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : null;
    }

    /// <summary>
    /// Deletes, on every interface of the calling thread's network namespace, the SharpBpf filters
    /// (<c>sharpbpf:PID:NAME</c>) whose process no longer exists, and returns them. Qdiscs are left in place (an
    /// empty clsact qdisc does nothing).
    /// </summary>
    public static IReadOnlyList<TcFilterInfo> RemoveStale()
    {
        using var socket = NetlinkSocket.OpenRoute();
        var removed = new List<TcFilterInfo>();
        foreach (var (index, _) in SharpBpf.Internal.Interfaces.List(socket))
            RemoveStale(socket, index, removed);
        return removed;
    }

    /// <summary>Like <see cref="RemoveStale()"/> for one interface.</summary>
    public static IReadOnlyList<TcFilterInfo> RemoveStale(int ifIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        using var socket = NetlinkSocket.OpenRoute();
        var removed = new List<TcFilterInfo>();
        RemoveStale(socket, ifIndex, removed);
        return removed;
    }

    private static void RemoveStale(NetlinkSocket socket, int ifIndex, List<TcFilterInfo> removed)
    {
        foreach (var f in List(socket, ifIndex, null))
        {
            if (f.OwnerPid is not { } pid || ProcessAlive(pid)) continue;
            Delete(socket, f);
            removed.Add(f);
        }
    }

    private static bool ProcessAlive(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");

    private static string Lower(TcDirection d) => d == TcDirection.Egress ? "egress" : "ingress";

    /// <summary>Deletes the filter now (and the clsact qdisc when this filter created it and it is empty), through
    /// the netlink socket opened at attach, so it works from any thread. A filter already gone is fine.</summary>
    /// <exception cref="BpfException">The kernel refused.</exception>
    public void Detach()
    {
        if (_detached) return;
        Delete(_socket, new TcFilterInfo(IfIndex, Direction, Priority, Handle, "bpf", Name, ProgramId, null, true, null));
        _detached = true;
        if (_ownedQdisc is not { } key) return;
        lock (OwnedQdiscs)
        {
            if (!OwnedQdiscs.TryGetValue(key, out int n)) return;
            if (n > 1)
            {
                OwnedQdiscs[key] = n - 1;
                return;
            }
            OwnedQdiscs.Remove(key);
        }
        if (List(_socket, IfIndex, null).Count == 0)
            DeleteQdisc(_socket, IfIndex, tolerateMissing: true);
    }

    /// <summary>The calling thread's network namespace ("net:[INODE]").</summary>
    private static string CurrentNetNs() =>
        new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? "";

    /// <summary>Detaches (see <see cref="Detach"/>) and closes the netlink socket.</summary>
    public void Dispose()
    {
        if (_socket is null) return;
        try
        {
            Detach();
        }
        finally
        {
            _detached = true;
            _socket.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"tc filter '{Name}' on ifindex {IfIndex} {Lower(Direction)} (priority {Priority}, handle {Handle:x})";
}
