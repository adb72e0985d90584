using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Internal;

/// <summary>Network interface names and indexes in the calling thread's network namespace.</summary>
internal static unsafe class Interfaces
{
    /// <summary>The index of interface <paramref name="ifName"/>.</summary>
    /// <exception cref="ArgumentException">The name is invalid or there is no such interface.</exception>
    public static int IndexOf(string ifName, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(ifName, paramName);
        if (ifName.Length > 15 || ifName.Contains('\0') || ifName.Contains('/'))
            throw new ArgumentException($"'{ifName}' is not a valid interface name", paramName);
        byte[] name = Encoding.UTF8.GetBytes(ifName + "\0");
        uint index;
        fixed (byte* p = name) index = Libc.if_nametoindex(p);
        if (index == 0) throw new ArgumentException($"no network interface named '{ifName}' in this network namespace", paramName);
        return (int)index;
    }

    /// <summary>Every interface (index, name) of the socket's network namespace (RTM_GETLINK dump), by index.</summary>
    public static List<(int Index, string Name)> List(NetlinkSocket socket)
    {
        var result = new List<(int, string)>();
        var msg = new NetlinkMessage(Rtnl.RTM_GETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_DUMP).IfInfoMsg();
        socket.Request(msg, "RTM_GETLINK", "listing network interfaces", (type, payload) =>
        {
            if (type != Rtnl.RTM_NEWLINK || payload.Length < Rtnl.IfInfoMsgSize) return;
            int index = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            string name = "";
            foreach (var a in new NetlinkAttributes(payload[Rtnl.IfInfoMsgSize..]))
                if (a.Type == Rtnl.IFLA_IFNAME) name = a.String();
            result.Add((index, name));
        });
        result.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return result;
    }
}
