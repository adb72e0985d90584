using System.Text;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>A raw tracepoint program attached to a kernel tracepoint by name (BPF_RAW_TRACEPOINT_OPEN, Linux 4.17):
/// the program sees the tracepoint's raw arguments (<c>u64 args[]</c>) without the tracefs record format. Links of
/// tp_btf programs (<see cref="TracingLink"/>) are raw tracepoint links too: reopened by id or pin they come back as
/// this class.</summary>
public sealed class RawTracepointLink : BpfLink
{
    internal RawTracepointLink(SafeBpfFd fd, uint id, string name, ulong cookie)
        : base(fd, LinkType.RawTracepoint, id)
    {
        Name = name;
        Cookie = cookie;
    }

    /// <summary>The tracepoint's name, e.g. <c>sys_enter</c>.</summary>
    public string Name { get; }

    /// <summary>The BPF cookie the program reads with <c>bpf_get_attach_cookie</c> (0 when none).</summary>
    public ulong Cookie { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> (RawTracepoint or RawTracepointWritable) to the raw tracepoint
    /// <paramref name="name"/> (BPF_RAW_TRACEPOINT_OPEN).
    /// </summary>
    /// <param name="program">A loaded raw tracepoint program.</param>
    /// <param name="name">The tracepoint name without category, e.g. <c>sys_enter</c> or <c>sched_switch</c>.</param>
    /// <param name="cookie">Value for <c>bpf_get_attach_cookie</c>; a non-zero cookie needs Linux 6.10 (older kernels
    /// refuse the attr with EINVAL, or E2BIG where it exceeds their bpf_attr).</param>
    /// <exception cref="ArgumentException">The program type is wrong or the name is empty or contains NUL.</exception>
    /// <exception cref="BpfException">The kernel refused, e.g. ENOENT for an unknown tracepoint.</exception>
    public static unsafe RawTracepointLink Attach(BpfProgram program, string name, ulong cookie = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type is not (ProgramType.RawTracepoint or ProgramType.RawTracepointWritable))
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, raw tracepoint links need a RawTracepoint program", nameof(program));
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('\0')) throw new ArgumentException($"raw tracepoint name '{name}' contains NUL", nameof(name));
        byte[] cname = Encoding.UTF8.GetBytes(name + "\0");
        int fd;
        fixed (byte* p = cname)
        {
            var attr = new RawTracepointOpenAttr { name = (ulong)p, prog_fd = (uint)program.Fd, cookie = cookie };
            fd = Bpf.TryCall(BpfCmd.BPF_RAW_TRACEPOINT_OPEN, ref attr);
        }
        if (fd < 0)
            throw new BpfException("BPF_RAW_TRACEPOINT_OPEN", -fd, $"attaching program '{program.Name}' to raw tracepoint {name}"
                + (cookie != 0 && -fd is Errno.E2BIG or Errno.EINVAL ? " (a cookie needs Linux 6.10)" : ""));
        var handle = new SafeBpfFd(fd);
        try
        {
            return new RawTracepointLink(handle, GetInfo(handle).Id, name, cookie);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"raw tracepoint link {Id} on {Name}";
}
