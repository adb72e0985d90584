using SharpBpf.Interop;

namespace SharpBpf.Maps;

public unsafe partial class BpfMap
{
    /// <summary>Stores a file descriptor as the value of <paramref name="key"/> (fd maps take a u32 fd, sockmaps
    /// also a u64 one); the kernel keeps a reference to the object, not the fd.</summary>
    private protected void SetFdCore<TKey>(in TKey key, int fd, UpdateFlags flags) where TKey : unmanaged
    {
        if (fd < 0) throw new ArgumentOutOfRangeException(nameof(fd), fd, "not a file descriptor");
        ulong wide = (uint)fd;
        uint narrow = (uint)fd;
        fixed (TKey* k = &key)
        {
            int r = RawUpdate(k, ValueSize == 8 ? &wide : &narrow, (ulong)flags);
            if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
        }
    }

    /// <summary>Reads a 4- or 8-byte value (an object id or a socket cookie, which the kernel returns for fd maps).</summary>
    private protected bool TryLookupScalarCore<TKey>(in TKey key, out ulong value) where TKey : unmanaged
    {
        ulong wide = 0;
        fixed (TKey* k = &key)
        {
            int r = RawLookup(k, &wide, 0);
            value = ValueSize == 8 ? wide : (uint)wide;
            if (r == 0) return true;
            value = 0;
            if (r == -Errno.ENOENT) return false;
            ThrowFailed("BPF_MAP_LOOKUP_ELEM", r);
            return false;
        }
    }
}
