using SharpBpf.Programs;

namespace SharpBpf.Elf;

/// <summary>How a program's attach target is resolved at load time.</summary>
public enum AttachTargetKind
{
    /// <summary>No load-time target (the target, if any, is only used when attaching: kprobe, tracepoint ...).</summary>
    None,
    /// <summary>A kernel function (fentry, fexit, fmod_ret): <c>attach_btf_id</c> of the FUNC named by the target.</summary>
    KernelFunction,
    /// <summary>A BTF-enabled tracepoint (tp_btf): the typedef <c>btf_trace_&lt;target&gt;</c>.</summary>
    BtfTracepoint,
    /// <summary>An LSM hook: the FUNC <c>bpf_lsm_&lt;target&gt;</c>.</summary>
    LsmHook,
    /// <summary>A BPF iterator: the FUNC <c>bpf_iter_&lt;target&gt;</c>.</summary>
    Iterator,
    /// <summary>A function of another BPF program (freplace): needs the target program at load time.</summary>
    ProgramFunction,
}

/// <summary>What a program section name says about the program (libbpf's <c>SEC()</c> conventions).</summary>
/// <param name="Type">The program type.</param>
/// <param name="ExpectedAttachType">The expected attach type passed at load, if the section implies one.</param>
/// <param name="Flags">Load flags the section implies (sleepable, XDP frags).</param>
/// <param name="AttachTo">The part after the prefix ("do_unlinkat" in "fentry/do_unlinkat"), or null.</param>
/// <param name="TargetKind">How <paramref name="AttachTo"/> is resolved at load time.</param>
/// <param name="Prefix">The table entry that matched ("fentry+", "xdp" ...).</param>
public sealed record ProgramSectionInfo(
    ProgramType Type, AttachType? ExpectedAttachType, ProgramFlags Flags, string? AttachTo, AttachTargetKind TargetKind, string Prefix);

/// <summary>
/// libbpf's table of program section names (libbpf 1.5 <c>section_defs</c>): an entry ending in '+' matches the
/// exact name or the name followed by '/' and a target; an entry ending in '/' needs a target; any other entry
/// matches the exact name only. Entries are tried in table order, so the more specific come first.
/// </summary>
public static class ProgramSections
{
    private readonly record struct Def(string Sec, ProgramType Type, AttachType? Attach, ProgramFlags Flags, AttachTargetKind Target = AttachTargetKind.None);

    private const ProgramFlags Sleep = ProgramFlags.Sleepable;
    private const ProgramFlags Frags = ProgramFlags.XdpHasFrags;
    private const ProgramFlags None = ProgramFlags.None;

    private static readonly Def[] Table =
    [
        new("socket", ProgramType.SocketFilter, null, None),
        new("sk_reuseport/migrate", ProgramType.SkReuseport, AttachType.SkReuseportSelectOrMigrate, None),
        new("sk_reuseport", ProgramType.SkReuseport, AttachType.SkReuseportSelect, None),
        new("kprobe+", ProgramType.Kprobe, null, None),
        new("uprobe+", ProgramType.Kprobe, null, None),
        new("uprobe.s+", ProgramType.Kprobe, null, Sleep),
        new("kretprobe+", ProgramType.Kprobe, null, None),
        new("uretprobe+", ProgramType.Kprobe, null, None),
        new("uretprobe.s+", ProgramType.Kprobe, null, Sleep),
        new("kprobe.multi+", ProgramType.Kprobe, AttachType.TraceKprobeMulti, None),
        new("kretprobe.multi+", ProgramType.Kprobe, AttachType.TraceKprobeMulti, None),
        new("kprobe.session+", ProgramType.Kprobe, AttachType.TraceKprobeSession, None),
        new("uprobe.multi+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, None),
        new("uretprobe.multi+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, None),
        new("uprobe.session+", ProgramType.Kprobe, AttachType.TraceUprobeSession, None),
        new("uprobe.multi.s+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, Sleep),
        new("uretprobe.multi.s+", ProgramType.Kprobe, AttachType.TraceUprobeMulti, Sleep),
        new("uprobe.session.s+", ProgramType.Kprobe, AttachType.TraceUprobeSession, Sleep),
        new("ksyscall+", ProgramType.Kprobe, null, None),
        new("kretsyscall+", ProgramType.Kprobe, null, None),
        new("usdt+", ProgramType.Kprobe, null, None),
        new("usdt.s+", ProgramType.Kprobe, null, Sleep),
        new("tc/ingress", ProgramType.SchedCls, AttachType.TcxIngress, None),
        new("tc/egress", ProgramType.SchedCls, AttachType.TcxEgress, None),
        new("tcx/ingress", ProgramType.SchedCls, AttachType.TcxIngress, None),
        new("tcx/egress", ProgramType.SchedCls, AttachType.TcxEgress, None),
        new("netkit/primary", ProgramType.SchedCls, AttachType.NetkitPrimary, None),
        new("netkit/peer", ProgramType.SchedCls, AttachType.NetkitPeer, None),
        new("tc", ProgramType.SchedCls, null, None),
        new("classifier", ProgramType.SchedCls, null, None),
        new("action", ProgramType.SchedAct, null, None),
        new("tracepoint+", ProgramType.Tracepoint, null, None),
        new("tp+", ProgramType.Tracepoint, null, None),
        new("raw_tracepoint+", ProgramType.RawTracepoint, null, None),
        new("raw_tp+", ProgramType.RawTracepoint, null, None),
        new("raw_tracepoint.w+", ProgramType.RawTracepointWritable, null, None),
        new("raw_tp.w+", ProgramType.RawTracepointWritable, null, None),
        new("tp_btf+", ProgramType.Tracing, AttachType.TraceRawTp, None, AttachTargetKind.BtfTracepoint),
        new("fentry+", ProgramType.Tracing, AttachType.TraceFentry, None, AttachTargetKind.KernelFunction),
        new("fmod_ret+", ProgramType.Tracing, AttachType.ModifyReturn, None, AttachTargetKind.KernelFunction),
        new("fexit+", ProgramType.Tracing, AttachType.TraceFexit, None, AttachTargetKind.KernelFunction),
        new("fentry.s+", ProgramType.Tracing, AttachType.TraceFentry, Sleep, AttachTargetKind.KernelFunction),
        new("fmod_ret.s+", ProgramType.Tracing, AttachType.ModifyReturn, Sleep, AttachTargetKind.KernelFunction),
        new("fexit.s+", ProgramType.Tracing, AttachType.TraceFexit, Sleep, AttachTargetKind.KernelFunction),
        new("freplace+", ProgramType.Ext, null, None, AttachTargetKind.ProgramFunction),
        new("lsm+", ProgramType.Lsm, AttachType.LsmMac, None, AttachTargetKind.LsmHook),
        new("lsm.s+", ProgramType.Lsm, AttachType.LsmMac, Sleep, AttachTargetKind.LsmHook),
        new("lsm_cgroup+", ProgramType.Lsm, AttachType.LsmCgroup, None, AttachTargetKind.LsmHook),
        new("iter+", ProgramType.Tracing, AttachType.TraceIter, None, AttachTargetKind.Iterator),
        new("iter.s+", ProgramType.Tracing, AttachType.TraceIter, Sleep, AttachTargetKind.Iterator),
        new("syscall", ProgramType.Syscall, null, Sleep),
        new("xdp.frags/devmap", ProgramType.Xdp, AttachType.XdpDevmap, Frags),
        new("xdp/devmap", ProgramType.Xdp, AttachType.XdpDevmap, None),
        new("xdp.frags/cpumap", ProgramType.Xdp, AttachType.XdpCpumap, Frags),
        new("xdp/cpumap", ProgramType.Xdp, AttachType.XdpCpumap, None),
        new("xdp.frags", ProgramType.Xdp, AttachType.Xdp, Frags),
        new("xdp", ProgramType.Xdp, AttachType.Xdp, None),
        new("perf_event", ProgramType.PerfEvent, null, None),
        new("lwt_in", ProgramType.LwtIn, null, None),
        new("lwt_out", ProgramType.LwtOut, null, None),
        new("lwt_xmit", ProgramType.LwtXmit, null, None),
        new("lwt_seg6local", ProgramType.LwtSeg6local, null, None),
        new("sockops", ProgramType.SockOps, AttachType.CgroupSockOps, None),
        new("sk_skb/stream_parser", ProgramType.SkSkb, AttachType.SkSkbStreamParser, None),
        new("sk_skb/stream_verdict", ProgramType.SkSkb, AttachType.SkSkbStreamVerdict, None),
        new("sk_skb/verdict", ProgramType.SkSkb, AttachType.SkSkbVerdict, None),
        new("sk_skb", ProgramType.SkSkb, null, None),
        new("sk_msg", ProgramType.SkMsg, AttachType.SkMsgVerdict, None),
        new("lirc_mode2", ProgramType.LircMode2, AttachType.LircMode2, None),
        new("flow_dissector", ProgramType.FlowDissector, AttachType.FlowDissector, None),
        new("cgroup_skb/ingress", ProgramType.CgroupSkb, AttachType.CgroupInetIngress, None),
        new("cgroup_skb/egress", ProgramType.CgroupSkb, AttachType.CgroupInetEgress, None),
        new("cgroup/skb", ProgramType.CgroupSkb, null, None),
        new("cgroup/sock_create", ProgramType.CgroupSock, AttachType.CgroupInetSockCreate, None),
        new("cgroup/sock_release", ProgramType.CgroupSock, AttachType.CgroupInetSockRelease, None),
        new("cgroup/sock", ProgramType.CgroupSock, AttachType.CgroupInetSockCreate, None),
        new("cgroup/post_bind4", ProgramType.CgroupSock, AttachType.CgroupInet4PostBind, None),
        new("cgroup/post_bind6", ProgramType.CgroupSock, AttachType.CgroupInet6PostBind, None),
        new("cgroup/bind4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Bind, None),
        new("cgroup/bind6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Bind, None),
        new("cgroup/connect4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Connect, None),
        new("cgroup/connect6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Connect, None),
        new("cgroup/connect_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixConnect, None),
        new("cgroup/sendmsg4", ProgramType.CgroupSockAddr, AttachType.CgroupUdp4Sendmsg, None),
        new("cgroup/sendmsg6", ProgramType.CgroupSockAddr, AttachType.CgroupUdp6Sendmsg, None),
        new("cgroup/sendmsg_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixSendmsg, None),
        new("cgroup/recvmsg4", ProgramType.CgroupSockAddr, AttachType.CgroupUdp4Recvmsg, None),
        new("cgroup/recvmsg6", ProgramType.CgroupSockAddr, AttachType.CgroupUdp6Recvmsg, None),
        new("cgroup/recvmsg_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixRecvmsg, None),
        new("cgroup/getpeername4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Getpeername, None),
        new("cgroup/getpeername6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Getpeername, None),
        new("cgroup/getpeername_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixGetpeername, None),
        new("cgroup/getsockname4", ProgramType.CgroupSockAddr, AttachType.CgroupInet4Getsockname, None),
        new("cgroup/getsockname6", ProgramType.CgroupSockAddr, AttachType.CgroupInet6Getsockname, None),
        new("cgroup/getsockname_unix", ProgramType.CgroupSockAddr, AttachType.CgroupUnixGetsockname, None),
        new("cgroup/sysctl", ProgramType.CgroupSysctl, AttachType.CgroupSysctl, None),
        new("cgroup/getsockopt", ProgramType.CgroupSockopt, AttachType.CgroupGetsockopt, None),
        new("cgroup/setsockopt", ProgramType.CgroupSockopt, AttachType.CgroupSetsockopt, None),
        new("cgroup/dev", ProgramType.CgroupDevice, AttachType.CgroupDevice, None),
        new("struct_ops+", ProgramType.StructOps, null, None),
        new("struct_ops.s+", ProgramType.StructOps, null, Sleep),
        new("sk_lookup", ProgramType.SkLookup, AttachType.SkLookup, None),
        new("netfilter", ProgramType.Netfilter, AttachType.Netfilter, None),
    ];

    /// <summary>The table's section name patterns, in matching order.</summary>
    public static IEnumerable<string> Patterns => Table.Select(d => d.Sec);

    /// <summary>Classifies a program section name.</summary>
    /// <returns>false when no entry matches (the name is not a program section libbpf knows).</returns>
    public static bool TryClassify(string sectionName, out ProgramSectionInfo info)
    {
        ArgumentNullException.ThrowIfNull(sectionName);
        foreach (var d in Table)
        {
            string? target;
            if (d.Sec.EndsWith('+'))
            {
                var stem = d.Sec.AsSpan(0, d.Sec.Length - 1);
                if (!sectionName.AsSpan().StartsWith(stem, StringComparison.Ordinal)) continue;
                if (sectionName.Length == stem.Length) target = null;
                else if (sectionName[stem.Length] == '/') target = sectionName[(stem.Length + 1)..];
                else continue;
            }
            else if (d.Sec.EndsWith('/'))
            {
                if (!sectionName.StartsWith(d.Sec, StringComparison.Ordinal)) continue;
                target = sectionName[d.Sec.Length..];
            }
            else
            {
                if (sectionName != d.Sec) continue;
                target = null;
            }
            info = new ProgramSectionInfo(d.Type, d.Attach, d.Flags, string.IsNullOrEmpty(target) ? null : target, d.Target, d.Sec);
            return true;
        }
        info = null!;
        return false;
    }
}
