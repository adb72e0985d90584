using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SharpBpf.Interop;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>Order in which a cgroup iterator walks (<c>enum bpf_cgroup_iter_order</c>).</summary>
public enum CgroupIterOrder : uint
{
    /// <summary>BPF_CGROUP_ITER_ORDER_UNSPEC (the kernel's default: descendants pre-order).</summary>
    Unspecified = 0,
    /// <summary>BPF_CGROUP_ITER_SELF_ONLY: only the given cgroup.</summary>
    SelfOnly = 1,
    /// <summary>BPF_CGROUP_ITER_DESCENDANTS_PRE.</summary>
    DescendantsPre = 2,
    /// <summary>BPF_CGROUP_ITER_DESCENDANTS_POST.</summary>
    DescendantsPost = 3,
    /// <summary>BPF_CGROUP_ITER_ANCESTORS_UP.</summary>
    AncestorsUp = 4,
}

/// <summary>Parameters of an iterator link (<c>union bpf_iter_link_info</c>); which ones apply depends on the
/// iterator target.</summary>
public sealed record class IterOptions
{
    /// <summary>The map to walk, for map element iterators (<c>iter/bpf_map_elem</c>, <c>iter/bpf_sk_storage_map</c>,
    /// <c>iter/sockmap</c>).</summary>
    public BpfMap? Map { get; init; }

    /// <summary>For task iterators (task, task_file, task_vma; Linux 6.1): only this thread.</summary>
    public int ThreadId { get; init; }

    /// <summary>For task iterators (Linux 6.1): only the threads of this process.</summary>
    public int ProcessId { get; init; }

    /// <summary>For cgroup iterators (Linux 6.1): the cgroup id to start from (0: the root).</summary>
    public ulong CgroupId { get; init; }

    /// <summary>For cgroup iterators: the walk order.</summary>
    public CgroupIterOrder CgroupOrder { get; init; }
}

/// <summary>
/// A BPF iterator (Linux 5.8): an iterator program (section <c>iter/TARGET</c>, Tracing type with the TraceIter
/// attach type) attached to its target. Each <see cref="Open"/> starts a new walk whose output, written by the
/// program with <c>bpf_seq_printf</c>/<c>bpf_seq_write</c>, is read like a file; pinned, the link is a file in
/// bpffs that <c>cat</c> reads.
/// </summary>
public sealed class IterLink : BpfLink
{
    internal IterLink(SafeBpfFd fd, uint id, string targetName)
        : base(fd, LinkType.Iter, id) => TargetName = targetName;

    /// <summary>The iterator target ("task", "bpf_map", "bpf_map_elem" ...).</summary>
    public string TargetName { get; }

    /// <summary>Attaches an iterator program (BPF_LINK_CREATE with BPF_TRACE_ITER and the iterator's
    /// parameters).</summary>
    /// <param name="program">An iterator program (Tracing, loaded with the TraceIter attach type and the
    /// <c>bpf_iter_TARGET</c> BTF id, as <see cref="BpfCollection"/> does for <c>iter/TARGET</c> sections).</param>
    /// <param name="options">Target parameters: the map of a map element iterator, the task or cgroup filter.</param>
    /// <exception cref="ArgumentException">The program is not a Tracing program or the options contradict each other.</exception>
    /// <exception cref="BpfException">The kernel refused: e.g. EINVAL for a map element iterator without a map, or
    /// EACCES when the map's value size is smaller than what the program reads.</exception>
    public static unsafe IterLink Attach(BpfProgram program, IterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.Tracing || program.ExpectedAttachType is { } at && at != AttachType.TraceIter)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}" + (program.ExpectedAttachType is { } a ? $" ({a})" : "")
                + ", iterator links need an iterator program (Tracing with the TraceIter attach type)", nameof(program));
        options ??= new IterOptions();
        int given = (options.Map is null ? 0 : 1) + (options.ThreadId != 0 || options.ProcessId != 0 ? 1 : 0) + (options.CgroupId != 0 || options.CgroupOrder != 0 ? 1 : 0);
        if (given > 1) throw new ArgumentException("iterator options: give a map, a task or a cgroup, not several", nameof(options));
        if (options.ThreadId != 0 && options.ProcessId != 0)
            throw new ArgumentException("iterator options: give a thread id or a process id, not both", nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.ThreadId, "options.ThreadId");
        ArgumentOutOfRangeException.ThrowIfNegative(options.ProcessId, "options.ProcessId");

        var linkInfo = new BpfIterLinkInfo();
        if (options.Map is { } map) linkInfo.map_map_fd = (uint)map.Fd;
        else if (options.ThreadId != 0 || options.ProcessId != 0)
        {
            linkInfo.task_tid = (uint)options.ThreadId;
            linkInfo.task_pid = (uint)options.ProcessId;
        }
        else if (options.CgroupId != 0 || options.CgroupOrder != 0)
        {
            linkInfo.cgroup_order = (uint)options.CgroupOrder;
            linkInfo.cgroup_cgroup_id = options.CgroupId;
        }
        var attr = new LinkCreateAttr { prog_fd = (uint)program.Fd, attach_type = (uint)AttachType.TraceIter };
        if (given != 0)
        {
            attr.iter_info = (ulong)&linkInfo;
            attr.iter_info_len = (uint)sizeof(BpfIterLinkInfo);
        }
        int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
        if (fd < 0)
            throw new BpfException("BPF_LINK_CREATE", -fd, $"attaching iterator program '{program.Name}'"
                + (options.Map is { } m ? $" to map '{m.Name}'" : ""));
        var handle = new SafeBpfFd(fd);
        try
        {
            var info = (IterLinkInfo)GetInfo(handle);
            return new IterLink(handle, info.Id, info.TargetName);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Starts a new walk (BPF_ITER_CREATE) and returns its output as a read-only, non-seekable stream
    /// (dispose it when done). Reads run the program over the next objects.</summary>
    /// <exception cref="BpfException">The kernel refused (e.g. the link was detached).</exception>
    public Stream Open()
    {
        var attr = new IterCreateAttr { link_fd = (uint)Fd };
        int fd = Bpf.TryCall(BpfCmd.BPF_ITER_CREATE, ref attr);
        if (fd < 0) throw new BpfException("BPF_ITER_CREATE", -fd, $"iterator link {Id} ({TargetName})");
        return new IterStream(new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>Runs the iterator once and returns everything it wrote.</summary>
    public byte[] ReadAllBytes()
    {
        using var stream = Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>Runs the iterator once and returns everything it wrote as UTF-8 text.</summary>
    public string ReadAllText() => System.Text.Encoding.UTF8.GetString(ReadAllBytes());

    /// <inheritdoc/>
    public override string ToString() => $"iterator link {Id} ({TargetName})";

    /// <summary>The output of one walk: read(2) on the iterator fd (FileStream would probe it for seeking).</summary>
    private sealed unsafe class IterStream(SafeFileHandle handle) : Stream
    {
        public override bool CanRead => !handle.IsClosed;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException("an iterator's output has no length");
        public override long Position
        {
            get => throw new NotSupportedException("an iterator's output is not seekable");
            set => throw new NotSupportedException("an iterator's output is not seekable");
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            if (buffer.IsEmpty) return 0;
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                int fd = (int)handle.DangerousGetHandle();
                while (true)
                {
                    nint n;
                    fixed (byte* p = buffer) n = Libc.read(fd, p, (nuint)buffer.Length);
                    if (n >= 0) return (int)n;
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    throw new BpfException("read", errno, "reading a BPF iterator");
                }
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("an iterator's output is not seekable");
        public override void SetLength(long value) => throw new NotSupportedException("an iterator's output is read-only");
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("an iterator's output is read-only");

        protected override void Dispose(bool disposing)
        {
            if (disposing) handle.Dispose();
            base.Dispose(disposing);
        }
    }
}
