namespace SharpBpf.Interop;

/// <summary>Walks kernel object ids with BPF_{PROG,MAP,LINK,BTF}_GET_NEXT_ID.</summary>
internal static class ObjectIds
{
    public static IEnumerable<uint> Enumerate(BpfCmd getNextId)
    {
        uint id = 0;
        while (true)
        {
            var attr = new GetIdAttr { start_id = id };
            int r = Bpf.TryCall(getNextId, ref attr);
            if (r == -Errno.ENOENT) yield break;
            if (r < 0) throw new BpfException(getNextId.ToString(), -r);
            id = attr.next_id;
            yield return id;
        }
    }
}
