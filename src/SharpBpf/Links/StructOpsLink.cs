using SharpBpf.Interop;
using SharpBpf.Maps;

namespace SharpBpf.Links;

/// <summary>
/// A registered struct_ops map (<see cref="StructOpsMap.Register"/>): for a BPF_F_LINK map the struct_ops link
/// (Linux 6.4) holds the registration, otherwise the map element does. Disposing unregisters either way.
/// </summary>
public sealed class StructOpsLink : IDisposable
{
    private const uint BPF_STRUCT_OPS = 44;
    private readonly StructOpsMap _map;
    private bool _disposed;

    private StructOpsLink(StructOpsMap map, BpfLink? link)
    {
        _map = map;
        Link = link;
    }

    /// <summary>The struct_ops link, or null when the map update itself registered (maps without BPF_F_LINK).</summary>
    public BpfLink? Link { get; }

    /// <summary>Id of the struct_ops map.</summary>
    public uint MapId => _map.Id;

    internal static unsafe StructOpsLink Register(StructOpsMap map, byte[] value)
    {
        ObjectDisposedException.ThrowIf(map.IsDisposed, map);
        uint key = 0;
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { map_fd = (uint)map.Fd, key = (ulong)&key, value = (ulong)v };
            int r = Bpf.TryCall(BpfCmd.BPF_MAP_UPDATE_ELEM, ref attr);
            // a BPF_F_LINK map takes its value once; registering it again only needs a new link (as libbpf does)
            if (r < 0 && !(map.UsesLink && r == -Errno.EBUSY)) throw new BpfException("BPF_MAP_UPDATE_ELEM", -r, $"registering struct_ops map '{map.Name}' ({map.TypeName})");
        }
        if (!map.UsesLink) return new StructOpsLink(map, null);
        var create = new LinkCreateAttr { map_fd = (uint)map.Fd, attach_type = BPF_STRUCT_OPS };
        int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref create);
        if (fd < 0) throw new BpfException("BPF_LINK_CREATE", -fd, $"registering struct_ops map '{map.Name}' ({map.TypeName}) through a link");
        return new StructOpsLink(map, BpfLink.FromHandle(new SafeBpfFd(fd)));
    }

    /// <summary>Unregisters: closes the link, or deletes the map's element (BPF_MAP_DELETE_ELEM).</summary>
    /// <exception cref="BpfException">The delete failed for a reason other than not being registered.</exception>
    public unsafe void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (Link is not null)
        {
            Link.Dispose();
            return;
        }
        if (_map.IsDisposed) return; // closing the map fd does not unregister; nothing left to do it with
        uint key = 0;
        var attr = new MapElemAttr { map_fd = (uint)_map.Fd, key = (ulong)&key };
        int r = Bpf.TryCall(BpfCmd.BPF_MAP_DELETE_ELEM, ref attr);
        if (r < 0 && r != -Errno.ENOENT)
            throw new BpfException("BPF_MAP_DELETE_ELEM", -r, $"unregistering struct_ops map '{_map.Name}' ({_map.TypeName})");
    }

    /// <inheritdoc/>
    public override string ToString() => $"struct_ops {_map.TypeName} '{_map.Name}' (map {MapId}" + (Link is null ? ")" : $", link {Link.Id})");
}
