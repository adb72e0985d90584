using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Interop;

namespace SharpBpf;

/// <summary>
/// A live kernel object reached through an fd: <see cref="Maps.BpfMap"/>, <see cref="Programs.BpfProgram"/>,
/// <see cref="Links.BpfLink"/>. Owns the fd; <see cref="Dispose()"/> closes it (the kernel frees the object when
/// nothing else holds it: another fd, a pin, an attachment).
/// </summary>
public abstract class BpfObject : IDisposable
{
    private readonly SafeBpfFd _fd;

    private protected BpfObject(SafeBpfFd fd) => _fd = fd;

    /// <summary>The fd (valid until disposed).</summary>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    public int Fd
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
            return _fd.Fd;
        }
    }

    internal SafeBpfFd Handle => _fd;

    /// <summary>Whether the object was disposed.</summary>
    public bool IsDisposed => _fd.IsClosed;

    /// <summary>Pins the object at <paramref name="path"/> in bpffs (BPF_OBJ_PIN): it then outlives this object
    /// and the process until the pin is removed (<see cref="Unpin"/>, <see cref="Pinning.BpfFs.Unpin"/>).</summary>
    /// <exception cref="Pinning.BpfFsPathException">The path's directory is not on a bpf filesystem.</exception>
    /// <exception cref="BpfException">The kernel refused (EEXIST: something is pinned there).</exception>
    public void Pin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
        Pinning.BpfFs.Pin(_fd, path);
        PinnedPath = path;
    }

    /// <summary>Where <see cref="Pin"/> last pinned this object (null when not pinned through this instance).</summary>
    public string? PinnedPath { get; private set; }

    /// <summary>Removes the pin made by <see cref="Pin"/> (nothing to do when not pinned through this instance).
    /// The object stays alive while this instance or anything else holds it.</summary>
    public void Unpin()
    {
        if (PinnedPath is not { } path) return;
        if (File.Exists(path)) Pinning.BpfFs.Unpin(path);
        PinnedPath = null;
    }

    /// <summary>Closes the fd.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the fd (and, in derived classes, what else they own).</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _fd.Dispose();
    }

    /// <summary>A new fd for the object behind <paramref name="fd"/> (dup); the caller keeps <paramref name="fd"/>.</summary>
    private protected static SafeBpfFd DuplicateFd(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        int dup = Libc.dup(fd);
        if (dup < 0) throw new BpfException("dup", Marshal.GetLastPInvokeError(), $"fd {fd}");
        return new SafeBpfFd(dup);
    }
}
