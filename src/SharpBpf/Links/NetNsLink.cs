using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// A program attached to a network namespace through a netns link: sk_lookup (Linux 5.9; picks the socket for
/// incoming connections and datagrams, before the regular lookup) or flow_dissector (Linux 5.7).
/// </summary>
public sealed class NetNsLink : BpfLink
{
    internal NetNsLink(SafeBpfFd fd, uint id, AttachType attachType)
        : base(fd, LinkType.Netns, id)
    {
        AttachType = attachType;
    }

    /// <summary>SkLookup or FlowDissector.</summary>
    public AttachType AttachType { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> (SkLookup or FlowDissector) to the network namespace of the calling
    /// thread, or to the namespace file <paramref name="netnsPath"/> (e.g. <c>/run/netns/NAME</c>,
    /// <c>/proc/PID/ns/net</c>). Several sk_lookup programs may share a namespace; they run in attach order.
    /// </summary>
    /// <exception cref="ArgumentException">The program type is not SkLookup or FlowDissector.</exception>
    /// <exception cref="BpfException">Opening the namespace or BPF_LINK_CREATE failed.</exception>
    public static unsafe NetNsLink Attach(BpfProgram program, string? netnsPath = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var attachType = program.Type switch
        {
            ProgramType.SkLookup => AttachType.SkLookup,
            ProgramType.FlowDissector => AttachType.FlowDissector,
            _ => throw new ArgumentException($"program '{program.Name}' is {program.Type}, netns links need a SkLookup or FlowDissector program", nameof(program)),
        };
        string path = netnsPath ?? "/proc/thread-self/ns/net";
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        int nsFd;
        fixed (byte* b = p) nsFd = Libc.open(b, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (nsFd < 0) throw new BpfException("open", Marshal.GetLastPInvokeError(), $"opening network namespace '{path}'");
        using var ns = new SafeBpfFd(nsFd);
        var fd = CreateFd(program, (uint)ns.Fd, attachType, 0, $"to network namespace '{path}'");
        try
        {
            return new NetNsLink(fd, GetInfo(fd).Id, attachType);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"netns link {Id} ({AttachType})";
}
