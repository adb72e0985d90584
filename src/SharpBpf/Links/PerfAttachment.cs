using System.Runtime.InteropServices;
using SharpBpf.Interop;

namespace SharpBpf.Links;

/// <summary>What a perf-event style attachment is (<c>enum bpf_task_fd_type</c>).</summary>
public enum PerfAttachmentKind : uint
{
    /// <summary>BPF_FD_TYPE_RAW_TRACEPOINT: a raw tracepoint (or tp_btf) link.</summary>
    RawTracepoint = 0,
    /// <summary>BPF_FD_TYPE_TRACEPOINT: a perf event on a tracefs tracepoint.</summary>
    Tracepoint = 1,
    /// <summary>BPF_FD_TYPE_KPROBE.</summary>
    Kprobe = 2,
    /// <summary>BPF_FD_TYPE_KRETPROBE.</summary>
    Kretprobe = 3,
    /// <summary>BPF_FD_TYPE_UPROBE.</summary>
    Uprobe = 4,
    /// <summary>BPF_FD_TYPE_URETPROBE.</summary>
    Uretprobe = 5,
}

/// <summary>A program attached through a perf event or raw tracepoint fd held by a process, as
/// BPF_TASK_FD_QUERY (Linux 4.18) reports it (what <c>bpftool perf</c> lists).</summary>
/// <param name="Pid">The process holding the fd.</param>
/// <param name="Fd">The fd in that process.</param>
/// <param name="ProgramId">The attached program.</param>
/// <param name="Kind">What the fd is.</param>
/// <param name="Name">Tracepoint name, kprobe function or uprobe file; empty when the kernel gives none (a kprobe by
/// address).</param>
/// <param name="ProbeOffset">Offset of a kprobe in its function or of a uprobe in its file.</param>
/// <param name="ProbeAddress">Address of a kprobe given by address.</param>
public sealed record PerfAttachment(int Pid, int Fd, uint ProgramId, PerfAttachmentKind Kind, string Name, ulong ProbeOffset, ulong ProbeAddress)
{
    /// <summary>Queries fd <paramref name="fd"/> of process <paramref name="pid"/> (BPF_TASK_FD_QUERY).</summary>
    /// <returns>null when the fd is not a perf event or raw tracepoint with a program attached (or is gone).</returns>
    public static unsafe PerfAttachment? TryQuery(int pid, int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        const int size = 4096;
        byte* buf = stackalloc byte[size];
        var attr = new TaskFdQueryAttr { pid = (uint)pid, fd = (uint)fd, buf = (ulong)buf, buf_len = size };
        int r = Bpf.TryCall(BpfCmd.BPF_TASK_FD_QUERY, ref attr);
        if (r < 0)
        {
            // ENOTSUPP/EINVAL/EBADF/ENOENT/ESRCH: not such an fd, or the process or fd went away meanwhile.
            return null;
        }
        string name = attr.buf_len == 0 ? "" : System.Text.Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(buf));
        return new PerfAttachment(pid, fd, attr.prog_id, (PerfAttachmentKind)attr.fd_type, name, attr.probe_offset, attr.probe_addr);
    }

    /// <summary>Every perf-event attachment of every process, found by walking <c>/proc/*/fd</c> for perf event and
    /// BPF link fds and querying each (needs CAP_SYS_ADMIN or ptrace access to other processes).</summary>
    public static List<PerfAttachment> EnumerateAll()
    {
        var result = new List<PerfAttachment>();
        IEnumerable<string> procs;
        try
        {
            procs = Directory.EnumerateDirectories("/proc");
        }
        catch (IOException)
        {
            return result;
        }
        foreach (var dir in procs)
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string[] fds;
            try
            {
                fds = Directory.GetFileSystemEntries(Path.Combine(dir, "fd"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited or not ours to see
            }
            foreach (var entry in fds)
            {
                if (!int.TryParse(Path.GetFileName(entry), out int fd)) continue;
                string target;
                try
                {
                    target = new FileInfo(entry).LinkTarget ?? "";
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                if (target is not ("anon_inode:[perf_event]" or "anon_inode:bpf_link" or "anon_inode:bpf-link")) continue;
                if (TryQuery(pid, fd) is { } a) result.Add(a);
            }
        }
        result.Sort((x, y) => x.Pid != y.Pid ? x.Pid.CompareTo(y.Pid) : x.Fd.CompareTo(y.Fd));
        return result;
    }
}
