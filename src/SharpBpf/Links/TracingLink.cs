using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// A BTF-typed tracing program attached where its load-time target says: tp_btf (a BTF tracepoint), fentry, fexit,
/// fmod_ret (a kernel function), LSM (a security hook) or freplace (a function of another BPF program). The target
/// was fixed when the program was loaded (<see cref="ProgramSpec.AttachBtfId"/>, resolved from the section name by
/// <see cref="BpfCollection"/>), so attaching needs nothing but the program.
/// </summary>
/// <remarks>fentry/fexit/fmod_ret/LSM/freplace links are of type <see cref="LinkType.Tracing"/>; tp_btf links are
/// raw tracepoint links in the kernel (<see cref="LinkType.RawTracepoint"/>), and come back as
/// <see cref="RawTracepointLink"/> when reopened by id or pin.</remarks>
public sealed class TracingLink : BpfLink
{
    internal TracingLink(SafeBpfFd fd, uint id, AttachType? attachType, ulong cookie, LinkType type = LinkType.Tracing)
        : base(fd, type, id)
    {
        AttachType = attachType;
        Cookie = cookie;
    }

    /// <summary>How the program is attached (TraceFentry, TraceRawTp, LsmMac ...); null when not known (a program
    /// opened by id attached through BPF_RAW_TRACEPOINT_OPEN).</summary>
    public AttachType? AttachType { get; }

    /// <summary>The BPF cookie the program reads with <c>bpf_get_attach_cookie</c> (0 when none).</summary>
    public ulong Cookie { get; }

    /// <summary>
    /// Attaches a loaded Tracing (not iterator), LSM or Ext program at the target it was loaded for: BPF_LINK_CREATE
    /// with the program's expected attach type (Linux 5.13 for tracing links), falling back to
    /// BPF_RAW_TRACEPOINT_OPEN without a name (Linux 5.5) when the kernel refuses that or the attach type is not
    /// known (a program opened by id or pin).
    /// </summary>
    /// <param name="program">A Tracing, Lsm or Ext program loaded with its target BTF id.</param>
    /// <param name="cookie">Value for <c>bpf_get_attach_cookie</c>: fentry/fexit/LSM cookies need Linux 6.6, tp_btf
    /// cookies 6.10 (the kernel says E2BIG or EINVAL before).</param>
    /// <exception cref="ArgumentException">The program is of another type, or an iterator (use <see cref="IterLink"/>).</exception>
    /// <exception cref="BpfException">The kernel refused (EPERM under lockdown, ENOTSUPP without trampolines ...).</exception>
    public static unsafe TracingLink Attach(BpfProgram program, ulong cookie = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type is not (ProgramType.Tracing or ProgramType.Lsm or ProgramType.Ext))
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, tracing links need a Tracing, Lsm or Ext program", nameof(program));
        var attachType = program.ExpectedAttachType;
        if (attachType == Programs.AttachType.TraceIter)
            throw new ArgumentException($"program '{program.Name}' is an iterator: attach it with IterLink.Attach", nameof(program));
        if (program.Type == ProgramType.Ext) attachType = null; // freplace links take no attach type

        int fd = -Errno.EINVAL;
        string operation = "BPF_LINK_CREATE";
        if (attachType is { } at)
        {
            var attr = new LinkCreateAttr { prog_fd = (uint)program.Fd, attach_type = (uint)at, tracing_cookie = cookie };
            fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
        }
        bool rawTp = attachType == Programs.AttachType.TraceRawTp;
        if (fd == -Errno.EINVAL && (cookie == 0 || rawTp || attachType is null))
        {
            // Older kernels (or an unknown attach type): the kernel attaches a tracing program to its load-time
            // target when BPF_RAW_TRACEPOINT_OPEN gets no name.
            var attr = new RawTracepointOpenAttr { name = 0, prog_fd = (uint)program.Fd, cookie = cookie };
            int r = Bpf.TryCall(BpfCmd.BPF_RAW_TRACEPOINT_OPEN, ref attr);
            if (r >= 0 || attachType is null)
            {
                fd = r;
                operation = "BPF_RAW_TRACEPOINT_OPEN";
            }
        }
        if (fd < 0)
            throw new BpfException(operation, -fd, $"attaching {program.Type} program '{program.Name}'"
                + (attachType is { } a ? $" ({a})" : "") + (cookie != 0 ? " with a cookie" : "")
                + (-fd == Errno.EPERM ? " (tracing attachments are refused under kernel lockdown)" : ""));
        var handle = new SafeBpfFd(fd);
        try
        {
            var info = GetInfo(handle);
            var reported = info is TracingLinkInfo t ? t.AttachType : rawTp ? Programs.AttachType.TraceRawTp : attachType;
            return new TracingLink(handle, info.Id, reported, cookie, info.Type);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"tracing link {Id}" + (AttachType is { } a ? $" ({a})" : "");
}
