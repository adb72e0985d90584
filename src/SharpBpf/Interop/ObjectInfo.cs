namespace SharpBpf.Interop;

/// <summary>BPF_OBJ_GET_INFO_BY_FD for any info struct.</summary>
internal static unsafe class ObjectInfo
{
    /// <summary>Fills <paramref name="info"/> (its pointer fields must already point at caller buffers, if any).
    /// Returns the length the kernel filled.</summary>
    public static uint Get<T>(SafeBpfFd fd, ref T info) where T : unmanaged
    {
        fixed (T* p = &info)
        {
            var attr = new InfoByFdAttr { bpf_fd = (uint)fd.Fd, info_len = (uint)sizeof(T), info = (ulong)p };
            Bpf.Call(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, ref attr);
            return attr.info_len;
        }
    }
}
