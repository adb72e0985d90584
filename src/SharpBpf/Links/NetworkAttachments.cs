using System.Buffers.Binary;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>An XDP program on an interface.</summary>
/// <param name="ProgramId">Program id.</param>
/// <param name="Mode">Generic, Native or Offload.</param>
public sealed record XdpAttachment(uint ProgramId, XdpAttachMode Mode);

/// <summary>A program in an interface's tcx chain.</summary>
/// <param name="Direction">Ingress or egress.</param>
/// <param name="ProgramId">Program id.</param>
/// <param name="LinkId">The tcx link holding it (0 when attached without a link).</param>
public sealed record TcxAttachment(TcDirection Direction, uint ProgramId, uint LinkId);

/// <summary>The BPF programs on one network interface (what <c>bpftool net</c> shows).</summary>
/// <param name="IfIndex">Interface index.</param>
/// <param name="Name">Interface name.</param>
/// <param name="Xdp">XDP programs, one per mode at most.</param>
/// <param name="Tcx">tcx programs: ingress chain then egress chain, each in execution order.</param>
/// <param name="TcFilters">Filters on the clsact qdisc (cls_bpf and others), ingress then egress.</param>
public sealed record InterfaceAttachments(int IfIndex, string Name, IReadOnlyList<XdpAttachment> Xdp,
    IReadOnlyList<TcxAttachment> Tcx, IReadOnlyList<TcFilterInfo> TcFilters);

/// <summary>Lists the XDP, tcx and tc programs of every interface, like <c>bpftool net</c>.</summary>
public static class NetworkAttachments
{
    private const ushort IFLA_IFNAME = 3, IFLA_XDP = 43;
    private const ushort IFLA_XDP_ATTACHED = 2, IFLA_XDP_PROG_ID = 4, IFLA_XDP_DRV_PROG_ID = 5, IFLA_XDP_SKB_PROG_ID = 6, IFLA_XDP_HW_PROG_ID = 7;
    private const byte XDP_ATTACHED_DRV = 1, XDP_ATTACHED_SKB = 2, XDP_ATTACHED_HW = 3, XDP_ATTACHED_MULTI = 4;

    /// <summary>Every interface of the calling thread's network namespace with its programs, by index.</summary>
    public static IReadOnlyList<InterfaceAttachments> List()
    {
        using var socket = NetlinkSocket.OpenRoute();
        var links = new List<(int Index, string Name, List<XdpAttachment> Xdp)>();
        var msg = new NetlinkMessage(Rtnl.RTM_GETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_DUMP).IfInfoMsg();
        socket.Request(msg, "RTM_GETLINK", "listing network interfaces", (type, payload) =>
        {
            if (type != Rtnl.RTM_NEWLINK || payload.Length < Rtnl.IfInfoMsgSize) return;
            int index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            string name = "";
            var xdp = new List<XdpAttachment>();
            foreach (var a in new NetlinkAttributes(payload[Rtnl.IfInfoMsgSize..]))
            {
                if (a.Type == IFLA_IFNAME) name = a.String();
                else if (a.Type == IFLA_XDP) ParseXdp(a.Nested(), xdp);
            }
            links.Add((index, name, xdp));
        });
        links.Sort((a, b) => a.Index.CompareTo(b.Index));
        var result = new List<InterfaceAttachments>(links.Count);
        foreach (var (index, name, xdp) in links)
        {
            var tcx = new List<TcxAttachment>();
            foreach (var d in (ReadOnlySpan<TcDirection>)[TcDirection.Ingress, TcDirection.Egress])
            {
                AttachedPrograms attached;
                try
                {
                    attached = BpfProgram.QueryAttached(index, TcxLink.AttachTypeOf(d));
                }
                catch (BpfException e) when (e.Errno == Errno.EINVAL)
                {
                    break; // kernel without tcx (before 6.6)
                }
                for (int i = 0; i < attached.ProgramIds.Length; i++)
                    tcx.Add(new TcxAttachment(d, attached.ProgramIds[i], i < attached.LinkIds.Length ? attached.LinkIds[i] : 0));
            }
            result.Add(new InterfaceAttachments(index, name, xdp, tcx, TcFilter.List(socket, index, null)));
        }
        return result;
    }

    /// <summary>The XDP programs on interface <paramref name="ifIndex"/> of the calling thread's network namespace,
    /// with their modes (one RTM_GETLINK); empty when there are none.</summary>
    /// <exception cref="BpfException">ENODEV when there is no such interface.</exception>
    public static IReadOnlyList<XdpAttachment> Xdp(int ifIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ifIndex);
        using var socket = NetlinkSocket.OpenRoute();
        var xdp = new List<XdpAttachment>();
        var msg = new NetlinkMessage(Rtnl.RTM_GETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK).IfInfoMsg(ifIndex); // ACK: a plain GET ends with no DONE
        socket.Request(msg, "RTM_GETLINK", $"reading ifindex {ifIndex}", (type, payload) =>
        {
            if (type != Rtnl.RTM_NEWLINK || payload.Length < Rtnl.IfInfoMsgSize) return;
            foreach (var a in new NetlinkAttributes(payload[Rtnl.IfInfoMsgSize..]))
                if (a.Type == IFLA_XDP) ParseXdp(a.Nested(), xdp);
        });
        return xdp;
    }

    private static void ParseXdp(NetlinkAttributes attrs, List<XdpAttachment> xdp)
    {
        byte attached = 0;
        uint single = 0, drv = 0, skb = 0, hw = 0;
        foreach (var a in attrs)
        {
            switch (a.Type)
            {
                case IFLA_XDP_ATTACHED: attached = a.Payload.IsEmpty ? (byte)0 : a.Payload[0]; break;
                case IFLA_XDP_PROG_ID: single = a.U32(); break;
                case IFLA_XDP_DRV_PROG_ID: drv = a.U32(); break;
                case IFLA_XDP_SKB_PROG_ID: skb = a.U32(); break;
                case IFLA_XDP_HW_PROG_ID: hw = a.U32(); break;
            }
        }
        switch (attached)
        {
            case XDP_ATTACHED_DRV: xdp.Add(new XdpAttachment(single, XdpAttachMode.Native)); break;
            case XDP_ATTACHED_SKB: xdp.Add(new XdpAttachment(single, XdpAttachMode.Generic)); break;
            case XDP_ATTACHED_HW: xdp.Add(new XdpAttachment(single, XdpAttachMode.Offload)); break;
            case XDP_ATTACHED_MULTI:
                if (drv != 0) xdp.Add(new XdpAttachment(drv, XdpAttachMode.Native));
                if (skb != 0) xdp.Add(new XdpAttachment(skb, XdpAttachMode.Generic));
                if (hw != 0) xdp.Add(new XdpAttachment(hw, XdpAttachMode.Offload));
                break;
        }
    }
}
