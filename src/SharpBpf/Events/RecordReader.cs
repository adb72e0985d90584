using System.Runtime.CompilerServices;
using SharpBpf.Interop;

namespace SharpBpf.Events;

/// <summary>Receives records inside a reader's consume loop (generic so the loop is specialised per use).</summary>
internal interface IRecordVisitor
{
    /// <summary>Handles one record; false stops the batch after this record (which counts as consumed).</summary>
    bool Visit(ReadOnlySpan<byte> data, int cpu, int source);
}

/// <summary>
/// Shared machinery of the kernel-backed readers (<see cref="RingBufferReader"/>, <see cref="PerfEventReader"/>):
/// one consumer at a time, waiting on an epoll set that also holds an eventfd so that <see cref="Close"/> and
/// cancellation wake a waiting thread at once; resources are released only after the reading thread has left.
/// </summary>
public abstract class RecordReader : IRecordSource
{
    private readonly Lock _lock = new();
    private int _depth;          // nesting of read operations on the thread holding _lock
    private volatile bool _closed;
    private bool _released;

    private protected RecordReader()
    {
        Waiter = new EventWaiter();
    }

    private protected EventWaiter Waiter { get; }

    /// <inheritdoc/>
    public bool IsClosed => _closed;

    /// <inheritdoc/>
    public abstract long LostRecords { get; }

    /// <summary>Visits up to <paramref name="max"/> available records; stops early when the reader is closed.</summary>
    private protected abstract int ConsumeCore<TVisitor>(ref TVisitor visitor, int max)
        where TVisitor : IRecordVisitor, allows ref struct;

    /// <summary>Unmaps buffers and closes descriptors (called once, with no reader inside).</summary>
    private protected abstract void ReleaseResources();

    /// <summary>Whether a consume loop must stop (the reader was closed from a handler or another thread).</summary>
    private protected bool StopRequested => _closed;

    /// <inheritdoc/>
    public int Consume(RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var visitor = new DelegateVisitor(handler);
        return Run(ref visitor, int.MaxValue, 0, default);
    }

    /// <inheritdoc/>
    public int Poll(RecordHandler handler, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var visitor = new DelegateVisitor(handler);
        return Run(ref visitor, int.MaxValue, ToMilliseconds(timeout), cancellationToken);
    }

    /// <inheritdoc/>
    public int Consume<THandler>(ref THandler handler) where THandler : struct, IRecordHandler
    {
        var visitor = new StructVisitor<THandler>(ref handler);
        return Run(ref visitor, int.MaxValue, 0, default);
    }

    /// <inheritdoc/>
    public int Poll<THandler>(ref THandler handler, TimeSpan timeout, CancellationToken cancellationToken = default)
        where THandler : struct, IRecordHandler
    {
        var visitor = new StructVisitor<THandler>(ref handler);
        return Run(ref visitor, int.MaxValue, ToMilliseconds(timeout), cancellationToken);
    }

    /// <summary><see cref="Poll(RecordHandler, TimeSpan, CancellationToken)"/> with a timeout in milliseconds
    /// (-1: no limit, 0: do not wait).</summary>
    public int Poll(RecordHandler handler, int timeoutMilliseconds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMilliseconds, -1);
        var visitor = new DelegateVisitor(handler);
        return Run(ref visitor, int.MaxValue, timeoutMilliseconds, cancellationToken);
    }

    /// <inheritdoc/>
    public bool ReadInto(ref Record record, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var visitor = new CopyVisitor(ref record);
        return Run(ref visitor, 1, ToMilliseconds(timeout), cancellationToken) == 1;
    }

    /// <summary>Copies the next record into <paramref name="record"/> without waiting; false when none is available.</summary>
    public bool TryRead(ref Record record)
    {
        var visitor = new CopyVisitor(ref record);
        return Run(ref visitor, 1, 0, default) == 1;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<T> ReadAllAsync<T>([EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        var batch = new T[256];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var visitor = new TypedVisitor<T>(batch);
            Run(ref visitor, batch.Length, 0, default);
            if (visitor.Count == 0 && visitor.Error is null)
            {
                if (_closed) yield break;
                // Block on a pool thread; Close or cancellation wakes it through the eventfd.
                var state = (this, batch, cancellationToken);
                visitor = await Task.Factory.StartNew(static s =>
                {
                    var (reader, items, token) = ((RecordReader, T[], CancellationToken))s!;
                    var v = new TypedVisitor<T>(items);
                    reader.Run(ref v, items.Length, -1, token);
                    return v;
                }, state, cancellationToken, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).ConfigureAwait(false);
            }
            for (int i = 0; i < visitor.Count; i++) yield return batch[i];
            if (visitor.Error is not null) throw visitor.Error;
            if (visitor.Count == 0 && _closed) yield break;
        }
    }

    /// <inheritdoc/>
    public void Close()
    {
        if (_closed) return;
        _closed = true;
        Waiter.Wake();
        _lock.Enter();
        try
        {
            if (_depth == 0) Release(); // otherwise the read operation on this thread releases when it returns
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (_released) return;
        _released = true;
        ReleaseResources();
        Waiter.Dispose();
    }

    /// <summary>Runs one read operation under the reader lock: consume; if nothing and allowed, wait and retry.</summary>
    private protected int Run<TVisitor>(ref TVisitor visitor, int max, int timeoutMs, CancellationToken cancellationToken)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        cancellationToken.ThrowIfCancellationRequested();
        _lock.Enter();
        _depth++;
        try
        {
            if (_closed) return 0;
            int n = ConsumeCore(ref visitor, max);
            if (n > 0 || timeoutMs == 0) return n;
            return WaitAndConsume(ref visitor, max, timeoutMs, cancellationToken);
        }
        finally
        {
            if (--_depth == 0 && _closed) Release();
            _lock.Exit();
        }
    }

    private int WaitAndConsume<TVisitor>(ref TVisitor visitor, int max, int timeoutMs, CancellationToken cancellationToken)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static w => ((EventWaiter)w!).Wake(), Waiter)
            : default;
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            int remaining = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            Waiter.Wait(remaining, out _);
            if (_closed) return 0;
            cancellationToken.ThrowIfCancellationRequested();
            int n = ConsumeCore(ref visitor, max);
            if (n > 0) return n;
            if (timeoutMs >= 0 && Environment.TickCount64 >= deadline) return 0;
            // a stale wake-up (an earlier cancellation) or a readiness with nothing to read: wait again
        }
    }

    private static int ToMilliseconds(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan) return -1;
        if (timeout < TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be Timeout.InfiniteTimeSpan or between 0 and int.MaxValue milliseconds");
        return (int)Math.Ceiling(timeout.TotalMilliseconds);
    }

    private readonly struct DelegateVisitor(RecordHandler handler) : IRecordVisitor
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Visit(ReadOnlySpan<byte> data, int cpu, int source)
        {
            handler(new EventRecord(data, cpu, source));
            return true;
        }
    }

    private ref struct StructVisitor<THandler>(ref THandler handler) : IRecordVisitor where THandler : struct, IRecordHandler
    {
        private ref THandler _handler = ref handler;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Visit(ReadOnlySpan<byte> data, int cpu, int source)
        {
            _handler.Handle(new EventRecord(data, cpu, source));
            return true;
        }
    }

    private ref struct CopyVisitor(ref Record record) : IRecordVisitor
    {
        private ref Record _record = ref record;

        public bool Visit(ReadOnlySpan<byte> data, int cpu, int source)
        {
            _record.Set(data, cpu, source);
            return true;
        }
    }

    private struct TypedVisitor<T>(T[] items) : IRecordVisitor where T : unmanaged
    {
        public int Count;
        public InvalidDataException? Error;

        public unsafe bool Visit(ReadOnlySpan<byte> data, int cpu, int source)
        {
            if (data.Length < sizeof(T))
            {
                // the batch ends here: the records before it are delivered, then the enumeration throws
                Error = new InvalidDataException(
                    $"a {data.Length}-byte record (source {source}{(cpu >= 0 ? $", CPU {cpu}" : "")}) is shorter than {typeof(T).Name} ({sizeof(T)} bytes)");
                return false;
            }
            items[Count++] = System.Runtime.InteropServices.MemoryMarshal.Read<T>(data);
            return true;
        }
    }
}
