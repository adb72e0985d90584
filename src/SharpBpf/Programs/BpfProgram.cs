using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Asm;
using SharpBpf.Internal;
using SharpBpf.Interop;
using SharpBpf.Maps;

namespace SharpBpf.Programs;

/// <summary>
/// A loaded BPF program: owns its fd and closes it on <see cref="BpfObject.Dispose()"/> (the kernel frees the program when
/// no fd, pin or attachment holds it any more).
/// </summary>
public sealed unsafe partial class BpfProgram : BpfObject
{
    private BpfProgram(SafeBpfFd fd, ProgramType type, string name, uint id, string tag, string? verifierLog, bool verifierLogTruncated)
        : base(fd)
    {
        Type = type;
        Name = name;
        Id = id;
        Tag = tag;
        VerifierLog = verifierLog;
        VerifierLogTruncated = verifierLogTruncated;
    }

    /// <summary>Program type.</summary>
    public ProgramType Type { get; }

    /// <summary>Kernel object name.</summary>
    public string Name { get; }

    /// <summary>Kernel object id.</summary>
    public uint Id { get; }

    /// <summary>The program tag (hash of its instructions, as <c>bpftool prog</c> shows it): 16 hex digits.</summary>
    public string Tag { get; }

    /// <summary>The expected attach type the program was loaded with (links of tracing, LSM and iterator programs
    /// need it); null when none was given or the program was opened by id, pin or fd (the kernel does not report it).</summary>
    public AttachType? ExpectedAttachType { get; private set; }

    /// <summary>The verifier log, when <see cref="ProgramLoadOptions.VerifierLog"/> asked for one; otherwise null.</summary>
    public string? VerifierLog { get; }

    /// <summary>Whether <see cref="VerifierLog"/> did not fit the largest buffer (it then holds the log's end; on
    /// kernels before 6.4, which fill a fixed buffer, its start).</summary>
    public bool VerifierLogTruncated { get; }

    /// <summary>
    /// Loads a program (BPF_PROG_LOAD). Without a requested log the load is first tried without one; when it
    /// fails it is retried with a level 1 log whose buffer grows on ENOSPC up to
    /// <see cref="ProgramLoadOptions.MaxLogSize"/>, and a <see cref="BpfVerifierException"/> carries it.
    /// </summary>
    /// <exception cref="ArgumentException">The spec has no instructions, a license with NUL, or bad options.</exception>
    /// <exception cref="BpfVerifierException">The kernel refused the program and said why in its log.</exception>
    /// <exception cref="BpfException">The kernel refused the program without a log (e.g. EPERM).</exception>
    public static BpfProgram Load(ProgramSpec spec, ProgramLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= ProgramLoadOptions.Default;
        options.Validate();
        if (spec.Instructions is null || spec.Instructions.Length == 0)
            throw new ArgumentException($"program '{spec.Name}' has no instructions", nameof(spec));
        ArgumentNullException.ThrowIfNull(spec.License, "spec.License");
        if (spec.License.Contains('\0'))
            throw new ArgumentException($"program '{spec.Name}': the license string contains NUL", nameof(spec));

        byte[] license = Encoding.UTF8.GetBytes(spec.License + "\0");
        var funcInfos = spec.FuncInfos ?? [];
        var lineInfos = spec.LineInfos ?? [];
        fixed (Instruction* insns = spec.Instructions)
        fixed (byte* lic = license)
        fixed (Btf.BpfFuncInfo* funcs = funcInfos)
        fixed (Btf.BpfLineInfo* lines = lineInfos)
        fixed (int* fdArray = spec.FdArray)
        {
            var attr = new ProgLoadAttr
            {
                prog_type = (uint)spec.Type,
                insn_cnt = (uint)spec.Instructions.Length,
                insns = (ulong)insns,
                license = (ulong)lic,
                kern_version = spec.KernelVersion,
                prog_flags = (uint)spec.Flags,
                prog_ifindex = spec.IfIndex,
                expected_attach_type = spec.ExpectedAttachType is { } eat ? (uint)eat : 0,
                attach_btf_id = spec.AttachBtfId,
                attach_btf_obj_fd = (uint)spec.AttachBtfObjFd,
                prog_btf_fd = (uint)spec.BtfFd,
            };
            if (spec.FdArray is { Length: > 0 }) attr.fd_array = (ulong)fdArray;
            if (spec.BtfFd > 0 && funcInfos.Length > 0)
            {
                attr.func_info_rec_size = (uint)sizeof(Btf.BpfFuncInfo);
                attr.func_info = (ulong)funcs;
                attr.func_info_cnt = (uint)funcInfos.Length;
            }
            if (spec.BtfFd > 0 && lineInfos.Length > 0)
            {
                attr.line_info_rec_size = (uint)sizeof(Btf.BpfLineInfo);
                attr.line_info = (ulong)lines;
                attr.line_info_cnt = (uint)lineInfos.Length;
            }
            ObjectName.Write(spec.Name, attr.prog_name);

            string? log = null;
            bool truncated = false;
            int fd;
            if (options.VerifierLog == VerifierLogLevel.None)
            {
                fd = Bpf.TryCallRetrying(BpfCmd.BPF_PROG_LOAD, ref attr);
                if (fd < 0)
                {
                    int errno = -fd;
                    (fd, string failureLog, bool failureTruncated, bool keptStart) = LoadWithLog(ref attr, VerifierLogLevel.Basic, options);
                    // A load that succeeds on the second attempt had a transient failure: keep the program.
                    if (fd < 0) throw Failure(spec, errno, failureLog, failureTruncated, keptStart);
                }
            }
            else
            {
                (fd, log, truncated, bool keptStart) = LoadWithLog(ref attr, options.VerifierLog, options);
                if (fd == -Errno.ENOSPC && truncated)
                {
                    // The log did not fit even the largest buffer, which fails the load: the kernel does not say
                    // whether the program itself passed, so load it again without a log.
                    attr.log_level = 0;
                    attr.log_size = 0;
                    attr.log_buf = 0;
                    fd = Bpf.TryCallRetrying(BpfCmd.BPF_PROG_LOAD, ref attr);
                }
                if (fd < 0) throw Failure(spec, -fd, log, truncated, keptStart);
            }
            var program = FromHandle(new SafeBpfFd(fd), log, truncated);
            program.ExpectedAttachType = spec.ExpectedAttachType;
            return program;
        }
    }

    /// <summary>Loads with a log at <paramref name="level"/>, growing the buffer on ENOSPC. Returns the fd or
    /// -errno, the log text, and whether it is truncated (ENOSPC at the largest size).</summary>
    /// <summary>Loads with a verifier log, growing the buffer up to MaxLogSize. KeptStart: the log was cut off at its
    /// end, which kernels before 6.4 do (they return ENOSPC without log_true_size; later kernels keep the end and report
    /// the full size).</summary>
    private static (int Result, string Log, bool Truncated, bool KeptStart) LoadWithLog(ref ProgLoadAttr attr, VerifierLogLevel level, ProgramLoadOptions options)
    {
        int size = options.LogSize;
        while (true)
        {
            byte[] buffer = GC.AllocateUninitializedArray<byte>(size);
            buffer[0] = 0;
            int r;
            fixed (byte* b = buffer)
            {
                attr.log_level = (uint)level;
                attr.log_size = (uint)size;
                attr.log_buf = (ulong)b;
                attr.log_true_size = 0;
                r = Bpf.TryCallRetrying(BpfCmd.BPF_PROG_LOAD, ref attr);
                attr.log_buf = 0;
            }
            attr.log_level = 0;
            attr.log_size = 0;
            bool full = r == -Errno.ENOSPC;
            if (full && size < options.MaxLogSize)
            {
                long wanted = attr.log_true_size > (uint)size ? attr.log_true_size : 2L * size;
                size = (int)Math.Min(wanted, options.MaxLogSize);
                continue;
            }
            int length = buffer.AsSpan().IndexOf((byte)0);
            if (length < 0) length = size;
            return (r, Encoding.UTF8.GetString(buffer, 0, length), full, full && attr.log_true_size == 0);
        }
    }

    private static BpfException Failure(ProgramSpec spec, int errno, string? log, bool truncated, bool keptStart) =>
        string.IsNullOrWhiteSpace(log)
            ? new BpfException("BPF_PROG_LOAD", errno, $"loading {spec}")
            : new BpfVerifierException(spec.Name, errno, log, truncated, keptStart);

    /// <summary>Opens the program with kernel id <paramref name="id"/> (BPF_PROG_GET_FD_BY_ID).</summary>
    public static BpfProgram FromId(uint id)
    {
        var attr = new GetIdAttr { prog_id = id };
        int fd = Bpf.TryCall(BpfCmd.BPF_PROG_GET_FD_BY_ID, ref attr);
        if (fd < 0) throw new BpfException("BPF_PROG_GET_FD_BY_ID", -fd, $"program id {id}");
        return FromHandle(new SafeBpfFd(fd), null, false);
    }

    /// <summary>Opens a program pinned in bpffs (BPF_OBJ_GET).</summary>
    /// <exception cref="ArgumentException">The pinned object is not a program.</exception>
    public static BpfProgram FromPinned(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return FromHandle(Pinning.BpfFs.Get(path), null, false);
    }

    /// <summary>Wraps a duplicate of an existing program fd; the caller keeps ownership of <paramref name="fd"/>.</summary>
    public static BpfProgram FromFd(int fd) => FromHandle(DuplicateFd(fd), null, false);

    private static BpfProgram FromHandle(SafeBpfFd handle, string? log, bool truncated)
    {
        try
        {
            BpfObjectKind.Require(handle, BpfObjectKind.Program, "a BPF program");
            BpfProgInfo info = default;
            ObjectInfo.Get(handle, ref info);
            return new BpfProgram(handle, (ProgramType)info.type, ObjectName.Read(info.name), info.id, FormatTag(info.tag), log, truncated);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static string FormatTag(byte* tag8) => Convert.ToHexStringLower(new ReadOnlySpan<byte>(tag8, 8));

    /// <summary>Ids of all programs in the system (BPF_PROG_GET_NEXT_ID), ascending.</summary>
    public static IEnumerable<uint> EnumerateIds() => ObjectIds.Enumerate(BpfCmd.BPF_PROG_GET_NEXT_ID);

    /// <summary>Kernel info about this program (BPF_OBJ_GET_INFO_BY_FD), including its map ids and, when
    /// <see cref="BpfStats"/> are enabled, run count and time.</summary>
    public ProgramInfo GetInfo()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        BpfProgInfo info = default;
        ObjectInfo.Get(Handle, ref info);
        uint[] mapIds = [];
        while (info.nr_map_ids > 0)
        {
            var ids = new uint[info.nr_map_ids];
            fixed (uint* p = ids)
            {
                info = default;
                info.nr_map_ids = (uint)ids.Length;
                info.map_ids = (ulong)p;
                ObjectInfo.Get(Handle, ref info);
                info.map_ids = 0;
            }
            if (info.nr_map_ids <= ids.Length)
            {
                mapIds = info.nr_map_ids == ids.Length ? ids : ids[..(int)info.nr_map_ids];
                break;
            }
            // a map was bound in between: ask again with the larger count
        }
        return new ProgramInfo(
            (ProgramType)info.type, info.id, FormatTag(info.tag), ObjectName.Read(info.name), info.jited_prog_len,
            info.xlated_prog_len, TimeSpan.FromTicks((long)(info.load_time / 100)), info.created_by_uid, mapIds,
            info.run_time_ns, info.run_cnt, info.recursion_misses, info.verified_insns, (info.gpl_compatible & 1) != 0,
            info.btf_id, info.ifindex);
    }

    /// <summary>Binds <paramref name="map"/> to this program so it lives as long as the program, although no
    /// instruction references it (BPF_PROG_BIND_MAP, Linux 5.10).</summary>
    public void BindMap(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var attr = new ProgBindMapAttr { prog_fd = (uint)Fd, map_fd = (uint)map.Fd };
        int r = Bpf.TryCall(BpfCmd.BPF_PROG_BIND_MAP, ref attr);
        if (r < 0) throw new BpfException("BPF_PROG_BIND_MAP", -r, $"binding map '{map.Name}' to program '{Name}'");
    }

    /// <summary>
    /// The programs (and, for tcx/netkit, links) attached at a hook (BPF_PROG_QUERY). <paramref name="target"/> is
    /// a cgroup directory fd for cgroup attach types, or an interface index for tcx/netkit (Linux 6.6).
    /// </summary>
    /// <param name="target">cgroup fd or ifindex.</param>
    /// <param name="attachType">The hook.</param>
    /// <param name="effective">cgroups: include programs inherited from ancestors (BPF_F_QUERY_EFFECTIVE).</param>
    public static AttachedPrograms QueryAttached(int target, AttachType attachType, bool effective = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        bool withLinks = attachType is AttachType.TcxIngress or AttachType.TcxEgress or AttachType.NetkitPrimary or AttachType.NetkitPeer;
        var attr = new ProgQueryAttr { target_fd = (uint)target, attach_type = (uint)attachType, query_flags = effective ? 1u : 0u };
        while (true)
        {
            int r = Bpf.TryCall(BpfCmd.BPF_PROG_QUERY, ref attr);
            if (r < 0) throw new BpfException("BPF_PROG_QUERY", -r, $"{attachType} at {target}");
            uint count = attr.prog_cnt;
            var progIds = new uint[count];
            var linkIds = new uint[withLinks ? count : 0];
            if (count == 0) return new AttachedPrograms(progIds, linkIds, attr.attach_flags, attr.revision);
            fixed (uint* p = progIds)
            fixed (uint* l = linkIds)
            {
                attr = new ProgQueryAttr
                {
                    target_fd = (uint)target, attach_type = (uint)attachType, query_flags = effective ? 1u : 0u,
                    prog_ids = (ulong)p, prog_cnt = count, link_ids = withLinks ? (ulong)l : 0,
                };
                r = Bpf.TryCall(BpfCmd.BPF_PROG_QUERY, ref attr);
                attr.prog_ids = 0;
                attr.link_ids = 0;
            }
            if (r == -Errno.ENOSPC) continue; // more programs were attached in between
            if (r < 0) throw new BpfException("BPF_PROG_QUERY", -r, $"{attachType} at {target}");
            int n = (int)Math.Min(attr.prog_cnt, count);
            return new AttachedPrograms(progIds[..n], withLinks ? linkIds[..n] : linkIds, attr.attach_flags, attr.revision);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} program '{Name}' (id {Id}, tag {Tag})";
}

/// <summary>Result of <see cref="BpfProgram.QueryAttached"/>.</summary>
/// <param name="ProgramIds">Attached program ids, in execution order.</param>
/// <param name="LinkIds">For tcx/netkit: the link id of each program (0 when attached without a link).</param>
/// <param name="AttachFlags">cgroups: the attach flags (BPF_F_ALLOW_OVERRIDE / ALLOW_MULTI).</param>
/// <param name="Revision">tcx/netkit: the hook's revision counter.</param>
public sealed record AttachedPrograms(uint[] ProgramIds, uint[] LinkIds, uint AttachFlags, ulong Revision);
