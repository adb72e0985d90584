namespace SharpBpf.Events;

/// <summary>
/// A stream of records produced by BPF programs: a ring buffer, per-CPU perf buffers, or an emulated source.
/// One consumer thread reads; <see cref="Close"/> (or cancelling a token) from any other thread wakes it promptly.
/// </summary>
public interface IRecordSource : IDisposable
{
    /// <summary>Hands every record available now to <paramref name="handler"/> without waiting; returns how many.</summary>
    int Consume(RecordHandler handler);

    /// <summary>
    /// Hands the available records to <paramref name="handler"/>; when there are none, waits up to
    /// <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: no limit) for some. Returns the number
    /// handled: 0 on timeout or when the source was closed meanwhile.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    int Poll(RecordHandler handler, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary><see cref="Consume(RecordHandler)"/> with a value-type handler (no delegate call per record).</summary>
    int Consume<THandler>(ref THandler handler) where THandler : struct, IRecordHandler;

    /// <summary><see cref="Poll(RecordHandler, TimeSpan, CancellationToken)"/> with a value-type handler.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    int Poll<THandler>(ref THandler handler, TimeSpan timeout, CancellationToken cancellationToken = default)
        where THandler : struct, IRecordHandler;

    /// <summary>Copies the next record into <paramref name="record"/> (reusing its buffer), waiting up to
    /// <paramref name="timeout"/>. False on timeout or when the source is closed.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    bool ReadInto(ref Record record, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>The records as <typeparamref name="T"/> values (each record's first sizeof(T) bytes) until the source
    /// is closed or <paramref name="cancellationToken"/> is cancelled.</summary>
    IAsyncEnumerable<T> ReadAllAsync<T>(CancellationToken cancellationToken = default) where T : unmanaged;

    /// <summary>Records known lost so far (perf: exact per-CPU kernel counts; ring buffer: the producers'
    /// drop counters when the reader was given them).</summary>
    long LostRecords { get; }

    /// <summary>Whether <see cref="Close"/> was called.</summary>
    bool IsClosed { get; }

    /// <summary>Stops the source: a thread waiting in it returns at once (0 records / false; enumerations
    /// end), then all buffers and descriptors are released. Same as <see cref="IDisposable.Dispose"/>.</summary>
    void Close();
}
