namespace SharpBpf.Interop;

/// <summary>errno values the library reacts to, and their symbolic names for messages.</summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, E2BIG = 7, EBADF = 9, EAGAIN = 11,
        ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EINVAL = 22,
        ENOSPC = 28, ERANGE = 34, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, EOPNOTSUPP = 95, ENOBUFS = 105, EPROTO = 71, ESTALE = 116, ENOTSUPP = 524;

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM", ENOENT => "ENOENT", ESRCH => "ESRCH", EINTR => "EINTR", EIO => "EIO", E2BIG => "E2BIG",
        EBADF => "EBADF", EAGAIN => "EAGAIN", ENOMEM => "ENOMEM", EACCES => "EACCES", EFAULT => "EFAULT",
        EBUSY => "EBUSY", EEXIST => "EEXIST", ENODEV => "ENODEV", ENOTDIR => "ENOTDIR", EINVAL => "EINVAL",
        ENOSPC => "ENOSPC", ERANGE => "ERANGE", ENOSYS => "ENOSYS", ENOTEMPTY => "ENOTEMPTY", ELOOP => "ELOOP",
        EOPNOTSUPP => "EOPNOTSUPP", ENOTSUPP => "ENOTSUPP", 6 => "ENXIO", 24 => "EMFILE", EPROTO => "EPROTO",
        ENOBUFS => "ENOBUFS", ESTALE => "ESTALE", 93 => "EPROTONOSUPPORT", 90 => "EMSGSIZE",
        _ => $"errno {errno}",
    };

    public static string Describe(int errno) => errno == ENOTSUPP
        ? "ENOTSUPP (operation not supported by the kernel)"
        : $"{Name(errno)} ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)})";
}
