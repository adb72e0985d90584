using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Events;

/// <summary>
/// Reads the kernel's trace_pipe, where <c>bpf_printk</c> (<c>bpf_trace_printk</c>) output lands, line by line.
/// trace_pipe is a consuming reader: lines this reader takes are gone for every other reader. Mounts tracefs at
/// /sys/kernel/tracing when it is not mounted (needs CAP_SYS_ADMIN). Not thread-safe, except
/// <see cref="Wake"/>.
/// </summary>
public sealed unsafe class TracePipeReader : IDisposable
{
    private const int O_NONBLOCK = 0x800;
    private const ulong PipeTag = 0;

    private readonly SafeBpfFd _fd;
    private readonly EventWaiter _waiter;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private TracePipeReader(SafeBpfFd fd, EventWaiter waiter, string path)
    {
        _fd = fd;
        _waiter = waiter;
        Path = path;
    }

    /// <summary>The trace_pipe file being read.</summary>
    public string Path { get; }

    /// <summary>Opens trace_pipe (non-blocking, polled with epoll), mounting tracefs first when needed.</summary>
    /// <exception cref="BpfException">open, mount or epoll failed (EACCES/EPERM without privileges).</exception>
    public static TracePipeReader Open()
    {
        string dir = Links.TracepointLink.EnsureTracefs();
        string path = System.IO.Path.Combine(dir, "trace_pipe");
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = bytes) fd = Libc.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) throw new BpfException("open", Marshal.GetLastPInvokeError(), path);
        var handle = new SafeBpfFd(fd);
        EventWaiter? waiter = null;
        try
        {
            waiter = new EventWaiter();
            waiter.Add(fd, PipeTag);
            return new TracePipeReader(handle, waiter, path);
        }
        catch
        {
            waiter?.Dispose();
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next complete line (without its newline), waiting up to <paramref name="timeoutMs"/> milliseconds (-1:
    /// forever) for one. False on timeout or when <see cref="Wake"/> was called.
    /// </summary>
    /// <exception cref="BpfException">read or epoll_wait failed.</exception>
    public bool TryReadLine([NotNullWhen(true)] out string? line, int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_fd.IsClosed, this);
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (TakeLine(out line)) return true;
            if (Fill()) continue;
            long left = deadline - Environment.TickCount64;
            if (left <= 0) return false;
            _waiter.Wait(timeoutMs < 0 ? -1 : (int)Math.Min(left, int.MaxValue), out bool woken);
            if (woken) return TakeLine(out line) || (Fill() && TakeLine(out line));
        }
    }

    /// <summary>Makes a waiting <see cref="TryReadLine"/> return (from any thread).</summary>
    public void Wake() => _waiter.Wake();

    private bool TakeLine([NotNullWhen(true)] out string? line)
    {
        int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
        if (nl < 0)
        {
            line = null;
            return false;
        }
        line = Encoding.UTF8.GetString(_buffer, _start, nl);
        _start += nl + 1;
        return true;
    }

    /// <summary>Reads what is available into the buffer; false when nothing was (EAGAIN).</summary>
    private bool Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            // a line longer than the buffer (the kernel caps trace lines far below this): hand it out as is
            _buffer[^1] = (byte)'\n';
            return true;
        }
        while (true)
        {
            nint got;
            fixed (byte* b = _buffer) got = Libc.read(_fd.Fd, b + _end, (nuint)(_buffer.Length - _end));
            if (got > 0)
            {
                _end += (int)got;
                return true;
            }
            if (got == 0) return false;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN) return false;
            throw new BpfException("read", errno, Path);
        }
    }

    /// <summary>Closes trace_pipe.</summary>
    public void Dispose()
    {
        _waiter.Dispose();
        _fd.Dispose();
    }
}
