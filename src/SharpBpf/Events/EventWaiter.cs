using System.Runtime.InteropServices;
using SharpBpf.Interop;

namespace SharpBpf.Events;

/// <summary>
/// An epoll instance with the readers' buffer fds plus an eventfd used to wake a waiting thread (close or
/// cancellation). Events carry the buffer's index; the eventfd carries <see cref="WakeTag"/>.
/// </summary>
internal sealed unsafe class EventWaiter : IDisposable
{
    public const ulong WakeTag = ulong.MaxValue;

    private readonly SafeBpfFd _epoll;
    private readonly SafeBpfFd _eventFd;
    private byte[] _events;
    private int _capacity;

    public EventWaiter()
    {
        int ep = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        if (ep < 0) throw new BpfException("epoll_create1", Marshal.GetLastPInvokeError());
        _epoll = new SafeBpfFd(ep);
        int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (efd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new BpfException("eventfd", errno);
        }
        _eventFd = new SafeBpfFd(efd);
        _capacity = 8;
        _events = new byte[_capacity * EpollEvent.Size];
        try
        {
            Add(efd, WakeTag, Libc.EPOLLIN);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Registers <paramref name="fd"/> with <paramref name="tag"/> (the buffer index).</summary>
    public void Add(int fd, ulong tag, uint events = Libc.EPOLLIN)
    {
        byte* ev = stackalloc byte[16];
        EpollEvent.Write(ev, events, tag);
        if (Libc.epoll_ctl(_epoll.Fd, Libc.EPOLL_CTL_ADD, fd, ev) < 0)
            throw new BpfException("epoll_ctl", Marshal.GetLastPInvokeError(), $"adding fd {fd} to the reader's epoll");
        Grow(_count + 2);
        _count++;
    }

    private int _count;

    private void Grow(int needed)
    {
        if (needed <= _capacity) return;
        int cap = Math.Max(needed, _capacity * 2);
        _events = new byte[cap * EpollEvent.Size];
        _capacity = cap;
    }

    /// <summary>Wakes the thread waiting in <see cref="Wait"/> (or the next one to wait).</summary>
    public void Wake()
    {
        ulong one = 1;
        Libc.write(_eventFd.Fd, &one, 8); // EAGAIN only when the counter is saturated: still readable then
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> (-1: forever). Returns the number of ready entries (0 on timeout);
    /// <paramref name="woken"/> tells whether the eventfd fired (its counter is reset). Ready buffer indexes are
    /// available through <see cref="ReadyTag"/>.
    /// </summary>
    public int Wait(int timeoutMs, out bool woken)
    {
        woken = false;
        int n;
        while (true)
        {
            long start = timeoutMs > 0 ? Environment.TickCount64 : 0;
            fixed (byte* events = _events)
                n = Libc.epoll_wait(_epoll.Fd, events, _capacity, timeoutMs);
            if (n >= 0) break;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new BpfException("epoll_wait", errno);
            if (timeoutMs > 0) timeoutMs = (int)Math.Max(0, timeoutMs - (Environment.TickCount64 - start));
        }
        for (int i = 0; i < n; i++)
        {
            if (ReadyTag(i) == WakeTag)
            {
                woken = true;
                ulong value;
                Libc.read(_eventFd.Fd, &value, 8);
            }
        }
        return n;
    }

    /// <summary>Tag of ready entry <paramref name="i"/> of the last <see cref="Wait"/>.</summary>
    public ulong ReadyTag(int i)
    {
        fixed (byte* events = _events)
            return EpollEvent.Data(events + i * EpollEvent.Size);
    }

    public void Dispose()
    {
        _eventFd.Dispose();
        _epoll.Dispose();
    }
}
