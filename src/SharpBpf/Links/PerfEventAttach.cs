using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// Attaching a program to an open perf event, shared by tracepoint, kprobe, uprobe and perf_event links:
/// BPF_LINK_CREATE with BPF_PERF_EVENT (Linux 5.15, carries the cookie), falling back to
/// PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE on kernels without perf links (then the perf event fd itself
/// holds the program and no cookie can be given).
/// </summary>
internal static class PerfEventAttach
{
    /// <summary>Tests set this to exercise the ioctl path on a kernel that has perf links.</summary>
    internal static bool ForceIoctl;

    /// <summary>Attaches <paramref name="program"/> to <paramref name="perfFd"/>. Returns the link fd, or null when the
    /// program was attached with the ioctl (the perf event fd then owns the attachment).</summary>
    /// <exception cref="BpfException">Attaching failed.</exception>
    /// <exception cref="NotSupportedByKernelException">A cookie was asked for on a kernel without perf links.</exception>
    public static SafeBpfFd? Attach(BpfProgram program, SafeBpfFd perfFd, ulong cookie, string what)
    {
        if (!ForceIoctl)
        {
            var attr = new LinkCreateAttr
            {
                prog_fd = (uint)program.Fd,
                target_fd = (uint)perfFd.Fd,
                attach_type = (uint)AttachType.PerfEvent,
                perf_event_bpf_cookie = cookie,
            };
            int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
            if (fd >= 0) return new SafeBpfFd(fd);
            // Kernels before 5.15 reject BPF_PERF_EVENT with EINVAL; anything else is a real failure.
            if (-fd != Errno.EINVAL) throw new BpfException("BPF_LINK_CREATE", -fd, $"attaching program '{program.Name}' to {what}");
            if (cookie != 0)
                throw new NotSupportedByKernelException($"BPF cookie on {what} (perf_event links)", "5.15",
                    new BpfException("BPF_LINK_CREATE", -fd, $"attaching program '{program.Name}' to {what}"));
        }
        else if (cookie != 0)
        {
            throw new NotSupportedByKernelException($"BPF cookie on {what} (perf_event links)", "5.15");
        }
        if (Libc.ioctl(perfFd.Fd, PerfIoctl.PERF_EVENT_IOC_SET_BPF, program.Fd) < 0)
            throw new BpfException("ioctl(PERF_EVENT_IOC_SET_BPF)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"attaching program '{program.Name}' to {what}");
        if (Libc.ioctl(perfFd.Fd, PerfIoctl.PERF_EVENT_IOC_ENABLE, 0) < 0)
            throw new BpfException("ioctl(PERF_EVENT_IOC_ENABLE)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), what);
        return null;
    }

    /// <summary>
    /// Opens a perf event and attaches <paramref name="program"/>. On success returns (handle, id) where handle is the
    /// link fd (id its kernel id) or, after the ioctl fallback, the perf event fd itself (id 0); the perf event fd is
    /// returned in <paramref name="perfFd"/> either way. On failure both are closed.
    /// </summary>
    public static (SafeBpfFd Handle, uint Id) Attach(BpfProgram program, int rawPerfFd, ulong cookie, string what, out SafeBpfFd perfFd)
    {
        perfFd = new SafeBpfFd(rawPerfFd);
        try
        {
            var link = Attach(program, perfFd, cookie, what);
            if (link is null) return (perfFd, 0);
            try
            {
                return (link, BpfLink.GetInfo(link).Id);
            }
            catch
            {
                link.Dispose();
                throw;
            }
        }
        catch
        {
            perfFd.Dispose();
            throw;
        }
    }
}

/// <summary>The dynamic perf PMUs "kprobe" and "uprobe": their type and config bits from sysfs.</summary>
internal static class ProbePmu
{
    private const string Devices = "/sys/bus/event_source/devices";

    /// <summary>The PMU's type, or -1 when absent.</summary>
    public static int Type(string pmu) => PerfEvent.DynamicPmuType(pmu);

    /// <summary>The config bit of a one-bit format field such as "retprobe" ("config:0"), or -1 when absent.</summary>
    public static int FormatBit(string pmu, string field)
    {
        var range = FormatRange(pmu, field);
        return range is (int lo, _) ? lo : -1;
    }

    /// <summary>The config bit range of a format field ("config:32-63" → (32, 63)), or null.</summary>
    public static (int Low, int High)? FormatRange(string pmu, string field)
    {
        string text;
        try
        {
            text = File.ReadAllText($"{Devices}/{pmu}/format/{field}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return ParseFormat(text);
    }

    /// <summary>Parses a PMU format file ("config:0", "config:32-63"): only fields in <c>config</c>.</summary>
    internal static (int Low, int High)? ParseFormat(string text)
    {
        var t = text.AsSpan().Trim();
        if (!t.StartsWith("config:")) return null;
        t = t["config:".Length..];
        int dash = t.IndexOf('-');
        if (dash < 0) return int.TryParse(t, out int bit) && bit is >= 0 and < 64 ? (bit, bit) : null;
        return int.TryParse(t[..dash], out int lo) && int.TryParse(t[(dash + 1)..], out int hi) && lo >= 0 && hi < 64 && lo <= hi
            ? (lo, hi) : null;
    }

    /// <summary>The perf config of a probe: the retprobe bit (read from sysfs; bit 0 on every kernel so far)
    /// and, for uprobes, the reference counter (semaphore) offset in its field (config:32-63).</summary>
    internal static ulong Config(bool retprobe, int retprobeBit, ulong refCtrOffset, int refCtrShift)
    {
        ulong config = retprobe ? 1ul << retprobeBit : 0;
        if (refCtrOffset != 0) config |= refCtrOffset << refCtrShift;
        return config;
    }
}
