using System.Net.Sockets;
using System.Runtime.InteropServices;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// A socket filter program attached to one socket (setsockopt SO_ATTACH_BPF, Linux 3.19). The program sees every
/// packet queued to the socket and returns how many bytes to keep (0 drops it). Dispose detaches it
/// (SO_DETACH_BPF), which removes whatever filter the socket has by then.
/// </summary>
public sealed unsafe class SocketFilter : IDisposable
{
    private readonly Socket? _socket;
    private readonly int _socketFd;
    private bool _disposed;

    private SocketFilter(Socket? socket, int socketFd, uint programId)
    {
        _socket = socket;
        _socketFd = socketFd;
        ProgramId = programId;
    }

    /// <summary>The socket's fd.</summary>
    public int SocketFd => _socketFd;

    /// <summary>Id of the attached program.</summary>
    public uint ProgramId { get; }

    /// <summary>Attaches <paramref name="program"/> (of type SocketFilter) to <paramref name="socket"/>.</summary>
    /// <exception cref="ArgumentException">The program is not a socket filter.</exception>
    /// <exception cref="ObjectDisposedException">The socket is closed.</exception>
    /// <exception cref="BpfException">setsockopt failed.</exception>
    public static SocketFilter Attach(BpfProgram program, Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        CheckProgram(program);
        var handle = socket.SafeHandle; // throws ObjectDisposedException for a closed socket
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            AttachTo(program, fd);
            return new SocketFilter(socket, fd, program.Id);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>Attaches <paramref name="program"/> to the socket with fd <paramref name="socketFd"/>; the caller
    /// keeps the socket open while the filter is in use.</summary>
    public static SocketFilter Attach(BpfProgram program, int socketFd)
    {
        CheckProgram(program);
        ArgumentOutOfRangeException.ThrowIfNegative(socketFd);
        AttachTo(program, socketFd);
        return new SocketFilter(null, socketFd, program.Id);
    }

    private static void CheckProgram(BpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.SocketFilter)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, SO_ATTACH_BPF needs a SocketFilter program", nameof(program));
    }

    private static void AttachTo(BpfProgram program, int socketFd)
    {
        int progFd = program.Fd;
        if (Libc.setsockopt(socketFd, Libc.SOL_SOCKET, Libc.SO_ATTACH_BPF, &progFd, sizeof(int)) != 0)
            throw new BpfException("setsockopt(SO_ATTACH_BPF)", Marshal.GetLastPInvokeError(), $"attaching program '{program.Name}' to socket fd {socketFd}");
    }

    /// <summary>Detaches the filter (SO_DETACH_BPF). Nothing to do when the socket was closed already.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_socket is not null)
        {
            SafeHandle handle;
            try
            {
                handle = _socket.SafeHandle;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                Detach((int)handle.DangerousGetHandle());
            }
            catch (ObjectDisposedException)
            {
                // closed meanwhile: the filter went with it
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
        else
        {
            Detach(_socketFd);
        }
    }

    private const int ENOTSOCK = 88;

    private void Detach(int fd)
    {
        int dummy = 0;
        if (Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_DETACH_BPF, &dummy, sizeof(int)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // ENOENT: no filter any more; EBADF/ENOTSOCK: the raw fd was closed (the filter went with it)
            if (errno is not (Errno.ENOENT or Errno.EBADF or ENOTSOCK))
                throw new BpfException("setsockopt(SO_DETACH_BPF)", errno, $"socket fd {fd}");
        }
    }
}
