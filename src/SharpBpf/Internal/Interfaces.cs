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
}
