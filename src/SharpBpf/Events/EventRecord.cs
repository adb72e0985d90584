using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpBpf.Events;

/// <summary>
/// One record as a reader hands it to a <see cref="RecordHandler"/>: a view of the bytes in the shared buffer
/// (no copy; valid only during the handler call) and where it came from.
/// </summary>
public readonly ref struct EventRecord
{
    internal EventRecord(ReadOnlySpan<byte> data, int cpu, int source)
    {
        Data = data;
        Cpu = cpu;
        Source = source;
    }

    /// <summary>The record's bytes. For perf buffers this is the raw sample as the kernel stored it: the bytes the
    /// program emitted followed by up to 7 bytes of padding (the kernel pads the 4-byte size plus the data to a
    /// multiple of 8).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The CPU whose perf buffer held the record; -1 for ring buffers (shared by all CPUs).</summary>
    public int Cpu { get; }

    /// <summary>Which buffer of the reader the record came from: the index <see cref="RingBufferReader.Add"/>
    /// returned, or the position of the CPU in <see cref="PerfEventReader.Cpus"/>.</summary>
    public int Source { get; }

    /// <summary>The first sizeof(<typeparamref name="T"/>) bytes as a <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidDataException">The record is shorter than <typeparamref name="T"/>.</exception>
    public T Read<T>() where T : unmanaged => RecordBytes.Read<T>(Data, Cpu, Source);
}

/// <summary>
/// A record handler as a value type, for <see cref="IRecordSource.Consume{THandler}(ref THandler)"/> and
/// <see cref="IRecordSource.Poll{THandler}(ref THandler, TimeSpan, CancellationToken)"/>: the reader's loop is
/// specialised for the handler type, so the call is inlined instead of going through a delegate. State kept in the
/// struct is updated in place (it is passed by reference).
/// </summary>
public interface IRecordHandler
{
    /// <summary>Handles one record (a view of the shared buffer, valid only during the call).</summary>
    void Handle(EventRecord record);
}

/// <summary>Receives records from <see cref="IRecordSource.Poll"/> and <see cref="IRecordSource.Consume"/>.
/// <paramref name="record"/> views the shared buffer: copy what must outlive the call.</summary>
public delegate void RecordHandler(EventRecord record);

/// <summary>
/// A record copied out of a buffer by <see cref="IRecordSource.ReadInto"/>. Reuse one instance across reads: its
/// buffer grows to the largest record seen and is never reallocated for smaller ones, so steady-state reading
/// allocates nothing.
/// </summary>
public struct Record
{
    private byte[]? _buffer;

    /// <summary>Length of the record in bytes.</summary>
    public int Length { get; private set; }

    /// <summary>The CPU of the perf buffer that held the record; -1 for ring buffers.</summary>
    public int Cpu { get; private set; }

    /// <summary>The buffer of the reader the record came from (see <see cref="EventRecord.Source"/>).</summary>
    public int Source { get; private set; }

    /// <summary>The record's bytes (valid until the next read into this record).</summary>
    public readonly ReadOnlySpan<byte> Data => _buffer is null ? default : new ReadOnlySpan<byte>(_buffer, 0, Length);

    /// <summary>Capacity of the reused buffer.</summary>
    public readonly int Capacity => _buffer?.Length ?? 0;

    /// <summary>The first sizeof(<typeparamref name="T"/>) bytes as a <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidDataException">The record is shorter than <typeparamref name="T"/>.</exception>
    public readonly T Read<T>() where T : unmanaged => RecordBytes.Read<T>(Data, Cpu, Source);

    internal void Set(ReadOnlySpan<byte> data, int cpu, int source)
    {
        if (_buffer is null || _buffer.Length < data.Length)
            _buffer = new byte[Math.Max(64, (int)BitOperations.RoundUpToPowerOf2((uint)data.Length))];
        data.CopyTo(_buffer);
        Length = data.Length;
        Cpu = cpu;
        Source = source;
    }
}

internal static class RecordBytes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe T Read<T>(ReadOnlySpan<byte> data, int cpu, int source) where T : unmanaged
    {
        if (data.Length < sizeof(T)) ThrowShort(data.Length, sizeof(T), typeof(T), cpu, source);
        return MemoryMarshal.Read<T>(data);
    }

    private static void ThrowShort(int length, int size, Type type, int cpu, int source) =>
        throw new InvalidDataException(
            $"a {length}-byte record (source {source}{(cpu >= 0 ? $", CPU {cpu}" : "")}) is shorter than {type.Name} ({size} bytes)");
}
