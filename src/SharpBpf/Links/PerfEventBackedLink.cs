using SharpBpf.Interop;

namespace SharpBpf.Links;

/// <summary>
/// A program attached to a perf event (tracepoint, kprobe, uprobe): owns the perf event fd as well as the
/// BPF_PERF_EVENT link (Linux 5.15) and, for legacy tracefs probes, the tracefs event, and releases all of them
/// on dispose. On kernels without perf links the program is attached with PERF_EVENT_IOC_SET_BPF instead
/// (<see cref="IsIoctlAttachment"/>): then <see cref="BpfLink.Id"/> is 0 and the link cannot be pinned, updated or
/// queried, as the kernel has no link object for it.
/// </summary>
public abstract class PerfEventBackedLink : BpfLink
{
    private readonly SafeBpfFd? _perfEvent; // null for a link reopened by id or pin: the kernel holds the event
    private readonly IDisposable? _owned;

    private protected PerfEventBackedLink(SafeBpfFd handle, uint id, SafeBpfFd? perfEvent, ulong cookie, IDisposable? owned)
        : base(handle, LinkType.PerfEvent, id)
    {
        _perfEvent = perfEvent;
        _owned = owned;
        Cookie = cookie;
    }

    /// <summary>The BPF cookie the program reads with <c>bpf_get_attach_cookie</c>.</summary>
    public ulong Cookie { get; }

    /// <summary>Whether the program was attached with the PERF_EVENT_IOC_SET_BPF ioctl (kernels before 5.15) rather
    /// than a BPF link.</summary>
    public bool IsIoctlAttachment => Id == 0;

    /// <summary>The perf event fd the program is attached to (valid until disposed); -1 for a link reopened by id or
    /// pin (the kernel keeps the perf event alive through the link).</summary>
    public int PerfEventFd
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _perfEvent?.Fd ?? -1;
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _perfEvent?.Dispose();
            _owned?.Dispose(); // after the perf event is closed: a tracefs probe in use cannot be removed
        }
    }
}
