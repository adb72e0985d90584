using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpBpf.Interop;

/// <summary>
/// rtnetlink (NETLINK_ROUTE) for tc: a socket bound to the network namespace of the thread that opened it, a
/// message builder, and request/ack/dump handling. Errors (NLMSG_ERROR) become <see cref="BpfException"/> with
/// the netlink errno and the kernel's extended ack message.
/// </summary>
internal sealed unsafe partial class NetlinkSocket : IDisposable
{
    private const int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_ROUTE = 0;
    private const int SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
    private const int NLMSG_ERROR = 2, NLMSG_DONE = 3;
    private const ushort NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;
    private const int NLMSGERR_ATTR_MSG = 1;
    internal const int HeaderSize = 16;

    private readonly SafeBpfFd _fd;
    private readonly byte[] _buffer = new byte[65536];
    private uint _seq;

    private NetlinkSocket(SafeBpfFd fd) => _fd = fd;

    /// <summary>Called for each data message of a reply: its type, its flags and its payload (after the header).</summary>
    public delegate void MessageHandler(ushort type, ReadOnlySpan<byte> payload);

    /// <summary>Opens a NETLINK_ROUTE socket in the calling thread's network namespace, with extended acks.</summary>
    public static NetlinkSocket OpenRoute()
    {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) throw new BpfException("socket(AF_NETLINK)", Marshal.GetLastPInvokeError(), "opening an rtnetlink socket");
        var handle = new SafeBpfFd(fd);
        int one = 1;
        // best effort: older kernels lack some of these; errors then carry no message
        Libc.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, 4);
        Libc.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, 4);
        Libc.setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, 4);
        return new NetlinkSocket(handle);
    }

    /// <summary>Sends the request in <paramref name="message"/> (its header's seq is set here) and reads replies
    /// until the ack (or, for dumps, NLMSG_DONE). Data messages go to <paramref name="onMessage"/>.</summary>
    /// <returns>0, or the negative errno of the ack when it is in <paramref name="tolerated"/>.</returns>
    /// <exception cref="BpfException">The kernel answered with an error: operation <paramref name="operation"/>.</exception>
    public int Request(NetlinkMessage message, string operation, string detail, MessageHandler? onMessage = null, params ReadOnlySpan<int> tolerated)
    {
        ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
        uint seq = ++_seq;
        var bytes = message.Finish(seq);
        fixed (byte* p = bytes)
        {
            nint sent = send(_fd.Fd, p, (nuint)bytes.Length, 0);
            if (sent < 0) throw new BpfException("send(netlink)", Marshal.GetLastPInvokeError(), $"{operation}: {detail}");
        }
        bool dump = (message.Flags & NetlinkMessage.NLM_F_DUMP) == NetlinkMessage.NLM_F_DUMP;
        while (true)
        {
            nint n;
            fixed (byte* p = _buffer) n = recv(_fd.Fd, p, (nuint)_buffer.Length, 0);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR) continue;
                throw new BpfException("recv(netlink)", errno, $"{operation}: {detail}");
            }
            var data = _buffer.AsSpan(0, (int)n);
            while (data.Length >= HeaderSize)
            {
                uint len = BinaryPrimitives.ReadUInt32LittleEndian(data);
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
                uint mseq = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
                if (len < HeaderSize || len > data.Length)
                    throw new BpfException(operation, Errno.EPROTO, $"{detail}: malformed netlink reply (length {len} of {data.Length} bytes)");
                var payload = data[HeaderSize..(int)len];
                data = data[(int)Math.Min((uint)data.Length, Align(len))..];
                if (mseq != seq) continue; // a stale reply to an earlier request
                if (type == NLMSG_DONE) return 0;
                if (type == NLMSG_ERROR)
                {
                    if (payload.Length < 4) throw new BpfException(operation, Errno.EPROTO, $"{detail}: truncated netlink error");
                    int error = BinaryPrimitives.ReadInt32LittleEndian(payload);
                    if (error == 0)
                    {
                        if (dump) continue;
                        return 0;
                    }
                    if (tolerated.Contains(-error)) return error;
                    string? ext = ExtAckMessage(payload, flags);
                    throw new BpfException(operation, -error, ext is null ? detail : $"{detail}: {ext}");
                }
                onMessage?.Invoke(type, payload);
            }
        }
    }

    /// <summary>The NLMSGERR_ATTR_MSG string after the echoed request in an error ack, if any.</summary>
    private static string? ExtAckMessage(ReadOnlySpan<byte> payload, ushort flags)
    {
        if ((flags & NLM_F_ACK_TLVS) == 0 || payload.Length < 4 + HeaderSize) return null;
        int offset = 4 + HeaderSize;
        if ((flags & NLM_F_CAPPED) == 0)
            offset = 4 + (int)Align(BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]));
        if (offset > payload.Length) return null;
        foreach (var attr in new NetlinkAttributes(payload[offset..]))
        {
            if (attr.Type == NLMSGERR_ATTR_MSG) return attr.String();
        }
        return null;
    }

    internal static uint Align(uint n) => (n + 3) & ~3u;

    public void Dispose() => _fd.Dispose();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte* buf, nuint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte* buf, nuint len, int flags);
}

/// <summary>Builds one netlink request: header, a fixed family header, attributes (nested ones too).</summary>
internal sealed class NetlinkMessage
{
    public const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_ECHO = 8, NLM_F_ROOT = 0x100, NLM_F_MATCH = 0x200,
        NLM_F_DUMP = 0x300, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private const ushort NLA_F_NESTED = 0x8000;

    private byte[] _buffer = new byte[256];
    private int _length = NetlinkSocket.HeaderSize;

    public NetlinkMessage(ushort type, ushort flags)
    {
        Flags = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(6), flags);
    }

    public ushort Flags { get; }

    /// <summary>Appends <c>struct tcmsg</c> (family, ifindex, handle, parent, info).</summary>
    public NetlinkMessage TcMsg(int ifIndex, uint handle, uint parent, uint info)
    {
        var s = Reserve(20);
        s.Clear(); // family AF_UNSPEC, padding
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], ifIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], handle);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], parent);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], info);
        return this;
    }

    /// <summary>Appends <c>struct ifinfomsg</c> (all zero: dump every link; with <paramref name="ifIndex"/>: that link).</summary>
    public NetlinkMessage IfInfoMsg(int ifIndex = 0)
    {
        var s = Reserve(16);
        s.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], ifIndex);
        return this;
    }

    public NetlinkMessage U32(ushort type, uint value)
    {
        var s = Attr(type, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(s, value);
        return this;
    }

    public NetlinkMessage String(ushort type, string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        var s = Attr(type, n + 1);
        Encoding.UTF8.GetBytes(value, s);
        s[n] = 0;
        return this;
    }

    /// <summary>Starts a nested attribute; returns the position to pass to <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        int start = _length;
        Attr((ushort)(type | NLA_F_NESTED), 0);
        return start;
    }

    public NetlinkMessage EndNested(int start)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)(_length - start));
        return this;
    }

    private Span<byte> Attr(ushort type, int payload)
    {
        var s = Reserve((int)NetlinkSocket.Align((uint)(4 + payload)));
        s.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(4 + payload));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        return s.Slice(4, payload);
    }

    private Span<byte> Reserve(int n)
    {
        if (_length + n > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        var s = _buffer.AsSpan(_length, n);
        _length += n;
        return s;
    }

    /// <summary>Sets length and sequence number; returns the bytes to send.</summary>
    internal ReadOnlySpan<byte> Finish(uint seq)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(8), seq);
        return _buffer.AsSpan(0, _length);
    }
}

/// <summary>One netlink attribute (<c>struct nlattr</c>) of a reply.</summary>
internal readonly ref struct NetlinkAttribute
{
    public NetlinkAttribute(ushort type, ReadOnlySpan<byte> payload)
    {
        Type = type;
        Payload = payload;
    }

    /// <summary>Type without the NESTED/BYTEORDER bits.</summary>
    public ushort Type { get; }

    public ReadOnlySpan<byte> Payload { get; }

    public uint U32() => Payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Payload) : 0;

    public string String()
    {
        var p = Payload;
        int nul = p.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? p[..nul] : p);
    }

    public NetlinkAttributes Nested() => new(Payload);
}

/// <summary>Iterates the attributes in a span (stops at the first malformed one).</summary>
internal readonly ref struct NetlinkAttributes
{
    private readonly ReadOnlySpan<byte> _data;

    public NetlinkAttributes(ReadOnlySpan<byte> data) => _data = data;

    public Enumerator GetEnumerator() => new(_data);

    public ref struct Enumerator
    {
        private ReadOnlySpan<byte> _rest;

        internal Enumerator(ReadOnlySpan<byte> data)
        {
            _rest = data;
            Current = default;
        }

        public NetlinkAttribute Current { get; private set; }

        public bool MoveNext()
        {
            if (_rest.Length < 4) return false;
            ushort len = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]);
            if (len < 4 || len > _rest.Length) return false;
            Current = new NetlinkAttribute((ushort)(type & 0x3fff), _rest[4..len]);
            _rest = _rest[Math.Min(_rest.Length, (int)NetlinkSocket.Align(len))..];
            return true;
        }
    }
}

/// <summary>rtnetlink message types and tc constants (linux/rtnetlink.h, pkt_sched.h, pkt_cls.h).</summary>
internal static class Rtnl
{
    public const ushort RTM_NEWLINK = 16, RTM_GETLINK = 18, RTM_NEWQDISC = 36, RTM_DELQDISC = 37, RTM_GETQDISC = 38,
        RTM_NEWTFILTER = 44, RTM_DELTFILTER = 45, RTM_GETTFILTER = 46;
    public const ushort IFLA_IFNAME = 3, IFLA_XDP = 43;
    public const ushort IFLA_XDP_ATTACHED = 2, IFLA_XDP_PROG_ID = 4, IFLA_XDP_DRV_PROG_ID = 5, IFLA_XDP_SKB_PROG_ID = 6, IFLA_XDP_HW_PROG_ID = 7;
    public const ushort TCA_KIND = 1, TCA_OPTIONS = 2;
    public const ushort TCA_BPF_FD = 6, TCA_BPF_NAME = 7, TCA_BPF_FLAGS = 8, TCA_BPF_FLAGS_GEN = 9, TCA_BPF_TAG = 10, TCA_BPF_ID = 11;
    public const uint TCA_BPF_FLAG_ACT_DIRECT = 1;
    public const uint TC_H_CLSACT = 0xFFFFFFF1, TC_H_MIN_INGRESS = 0xFFF2, TC_H_MIN_EGRESS = 0xFFF3;
    public const uint ClsactHandle = 0xFFFF0000;
    public const ushort ETH_P_ALL = 0x0003;

    /// <summary>TC_H_MAKE(TC_H_CLSACT, minor): the parent of ingress or egress filters.</summary>
    public static uint ClsactParent(bool egress) => (TC_H_CLSACT & 0xFFFF0000) | (egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);

    /// <summary>tcm_info of a filter: priority in the high half, protocol (network order) in the low.</summary>
    public static uint FilterInfo(ushort priority, ushort protocol) => ((uint)priority << 16) | BinaryPrimitives.ReverseEndianness(protocol);

    public const int TcMsgSize = 20, IfInfoMsgSize = 16;
}
