using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>Flags of a legacy cgroup attachment (BPF_PROG_ATTACH): how programs of descendant cgroups combine.</summary>
[Flags]
public enum CgroupAttachFlags : uint
{
    /// <summary>Exclusive: one program, descendants may not attach their own.</summary>
    None = 0,
    /// <summary>BPF_F_ALLOW_OVERRIDE: a descendant's program replaces this one for the descendant.</summary>
    AllowOverride = 1,
    /// <summary>BPF_F_ALLOW_MULTI: several programs here, descendants' programs run too (what links always do).</summary>
    AllowMulti = 2,
}

/// <summary>Options of <see cref="CgroupLink.Attach"/>.</summary>
public sealed record CgroupAttachOptions
{
    /// <summary>Default: a BPF link, falling back to BPF_PROG_ATTACH with <see cref="CgroupAttachFlags.AllowMulti"/>.</summary>
    public static CgroupAttachOptions Default { get; } = new();

    /// <summary>Use BPF_PROG_ATTACH even when the kernel has cgroup links (Linux 5.7).</summary>
    public bool Legacy { get; init; }

    /// <summary>Flags for BPF_PROG_ATTACH (ignored by links, which are always multi).</summary>
    public CgroupAttachFlags Flags { get; init; } = CgroupAttachFlags.AllowMulti;
}

/// <summary>
/// A program attached to a cgroup v2 directory (<see cref="CgroupFs"/>): skb ingress/egress, sock_create/release,
/// sock_ops, bind/connect/sendmsg/recvmsg/getpeername/getsockname 4/6/unix, post_bind, getsockopt/setsockopt,
/// sysctl, device. Made with BPF_LINK_CREATE (Linux 5.7), or BPF_PROG_ATTACH on older kernels or when asked;
/// disposing detaches either way. The program runs for the processes in the cgroup and its descendants.
/// </summary>
public sealed class CgroupLink : IDisposable
{
    private readonly SafeBpfFd? _cgroup;   // legacy: the cgroup directory, for PROG_DETACH
    private readonly SafeBpfFd? _program;  // legacy: our reference to the program, for PROG_DETACH
    private bool _disposed;

    private CgroupLink(string path, AttachType attachType, uint programId, BpfLink? link, SafeBpfFd? cgroup, SafeBpfFd? program, CgroupAttachFlags flags)
    {
        CgroupPath = path;
        AttachType = attachType;
        ProgramId = programId;
        Link = link;
        _cgroup = cgroup;
        _program = program;
        Flags = flags;
    }

    /// <summary>The cgroup directory.</summary>
    public string CgroupPath { get; }

    /// <summary>The hook.</summary>
    public AttachType AttachType { get; }

    /// <summary>Id of the attached program.</summary>
    public uint ProgramId { get; }

    /// <summary>The BPF link (pin it to keep the attachment past this process), or null for a legacy attachment.</summary>
    public BpfLink? Link { get; }

    /// <summary>Whether the attachment was made with BPF_PROG_ATTACH (no link).</summary>
    public bool IsLegacy => Link is null;

    /// <summary>The BPF_PROG_ATTACH flags of a legacy attachment (<see cref="CgroupAttachFlags.AllowMulti"/> for links).</summary>
    public CgroupAttachFlags Flags { get; }

    /// <summary>The program type each cgroup attach type needs; null for attach types that are not cgroup hooks.</summary>
    public static ProgramType? ProgramTypeFor(AttachType attachType) => attachType switch
    {
        AttachType.CgroupInetIngress or AttachType.CgroupInetEgress => ProgramType.CgroupSkb,
        AttachType.CgroupInetSockCreate or AttachType.CgroupInetSockRelease or AttachType.CgroupInet4PostBind
            or AttachType.CgroupInet6PostBind => ProgramType.CgroupSock,
        AttachType.CgroupInet4Bind or AttachType.CgroupInet6Bind or AttachType.CgroupInet4Connect or AttachType.CgroupInet6Connect
            or AttachType.CgroupUdp4Sendmsg or AttachType.CgroupUdp6Sendmsg or AttachType.CgroupUdp4Recvmsg or AttachType.CgroupUdp6Recvmsg
            or AttachType.CgroupInet4Getpeername or AttachType.CgroupInet6Getpeername or AttachType.CgroupInet4Getsockname
            or AttachType.CgroupInet6Getsockname or AttachType.CgroupUnixConnect or AttachType.CgroupUnixSendmsg
            or AttachType.CgroupUnixRecvmsg or AttachType.CgroupUnixGetpeername or AttachType.CgroupUnixGetsockname => ProgramType.CgroupSockAddr,
        AttachType.CgroupSockOps => ProgramType.SockOps,
        AttachType.CgroupDevice => ProgramType.CgroupDevice,
        AttachType.CgroupSysctl => ProgramType.CgroupSysctl,
        AttachType.CgroupGetsockopt or AttachType.CgroupSetsockopt => ProgramType.CgroupSockopt,
        _ => null,
    };

    /// <summary>
    /// Attaches <paramref name="program"/> to the cgroup v2 directory <paramref name="cgroupPath"/> at
    /// <paramref name="attachType"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The attach type is not a cgroup hook, or the program's type does not fit it.</exception>
    /// <exception cref="DirectoryNotFoundException">No such directory.</exception>
    /// <exception cref="BpfException">The kernel refused (BPF_LINK_CREATE / BPF_PROG_ATTACH): EBADF when the path is not
    /// a cgroup v2 directory, EPERM when an exclusive or override program blocks the hook.</exception>
    public static CgroupLink Attach(BpfProgram program, string cgroupPath, AttachType attachType, CgroupAttachOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(cgroupPath);
        var expected = ProgramTypeFor(attachType)
            ?? throw new ArgumentException($"{attachType} is not a cgroup attach type", nameof(attachType));
        if (program.Type != expected)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, {attachType} needs a {expected} program", nameof(program));
        options ??= CgroupAttachOptions.Default;
        if ((options.Flags & ~(CgroupAttachFlags.AllowMulti | CgroupAttachFlags.AllowOverride)) != 0
            || options.Flags == (CgroupAttachFlags.AllowMulti | CgroupAttachFlags.AllowOverride))
            throw new ArgumentException($"invalid cgroup attach flags {options.Flags} (AllowMulti and AllowOverride exclude each other)", nameof(options));
        if (!Directory.Exists(cgroupPath)) throw new DirectoryNotFoundException($"cgroup directory '{cgroupPath}' does not exist");

        var cgroup = OpenDirectory(cgroupPath);
        try
        {
            string what = $"to cgroup '{cgroupPath}' at {attachType}";
            if (!options.Legacy)
            {
                var attr = new LinkCreateAttr { prog_fd = (uint)program.Fd, target_fd = (uint)cgroup.Fd, attach_type = (uint)attachType };
                int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
                if (fd >= 0)
                {
                    var link = BpfLink.FromHandle(new SafeBpfFd(fd));
                    cgroup.Dispose();
                    return new CgroupLink(cgroupPath, attachType, program.Id, link, null, null, CgroupAttachFlags.AllowMulti);
                }
                // EINVAL: no cgroup links (before 5.7); anything else is a real refusal
                if (fd != -Errno.EINVAL) throw new BpfException("BPF_LINK_CREATE", -fd, $"attaching program '{program.Name}' {what}");
            }
            var progRef = program.Handle.Duplicate();
            try
            {
                var pa = new ProgAttachAttr
                {
                    target_fd = (uint)cgroup.Fd, attach_bpf_fd = (uint)progRef.Fd, attach_type = (uint)attachType, attach_flags = (uint)options.Flags,
                };
                int r = Bpf.TryCall(BpfCmd.BPF_PROG_ATTACH, ref pa);
                if (r < 0) throw new BpfException("BPF_PROG_ATTACH", -r, $"attaching program '{program.Name}' {what} with flags {options.Flags}");
                return new CgroupLink(cgroupPath, attachType, program.Id, null, cgroup, progRef, options.Flags);
            }
            catch
            {
                progRef.Dispose();
                throw;
            }
        }
        catch
        {
            cgroup.Dispose();
            throw;
        }
    }

    /// <summary>The programs attached to <paramref name="cgroupPath"/> at <paramref name="attachType"/> (BPF_PROG_QUERY),
    /// with <paramref name="effective"/> those inherited from ancestors too, in execution order.</summary>
    public static AttachedPrograms Query(string cgroupPath, AttachType attachType, bool effective = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(cgroupPath);
        if (ProgramTypeFor(attachType) is null) throw new ArgumentException($"{attachType} is not a cgroup attach type", nameof(attachType));
        if (!Directory.Exists(cgroupPath)) throw new DirectoryNotFoundException($"cgroup directory '{cgroupPath}' does not exist");
        using var cgroup = OpenDirectory(cgroupPath);
        return BpfProgram.QueryAttached(cgroup.Fd, attachType, effective);
    }

    private static unsafe SafeBpfFd OpenDirectory(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* b = p) fd = Libc.open(b, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0) throw new BpfException("open", Marshal.GetLastPInvokeError(), $"opening cgroup directory '{path}'");
        return new SafeBpfFd(fd);
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
            var pa = new ProgAttachAttr { target_fd = (uint)_cgroup!.Fd, attach_bpf_fd = (uint)_program!.Fd, attach_type = (uint)AttachType };
            int r = Bpf.TryCall(BpfCmd.BPF_PROG_DETACH, ref pa);
            if (r < 0 && r != -Errno.ENOENT)
                throw new BpfException("BPF_PROG_DETACH", -r, $"detaching program {ProgramId} from cgroup '{CgroupPath}' at {AttachType}");
        }
        finally
        {
            _program!.Dispose();
            _cgroup!.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"cgroup {AttachType} attachment of program {ProgramId} to '{CgroupPath}'" + (IsLegacy ? $" (legacy, {Flags})" : $" (link {Link!.Id})");
}
